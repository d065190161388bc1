"""Three good items and three bad ones, through Airflow: the good are preserved, the bad
quarantined with a report naming every problem; a run killed half-way resumes without
redoing verified items or duplicating anything; only then does the batch leave the landing zone.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batchmaker import make_batch, page_bytes

from cadl.airflow_env import airflow_env, ensure_db

pytestmark = pytest.mark.slow
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
GOOD = [{"item_id": "good-ar", "languages": "ar", "title": "كتاب الأدب"},
        {"item_id": "good-zh", "languages": "zh-Hans", "title": "文学史"},
        {"item_id": "good-tw", "languages": "zh-Hant", "title": "文學史",
         "reading_direction": "ttb"}]
BAD = [{"item_id": "bad-corrupt", "languages": "ar", "title": "مخطوطة"},
       {"item_id": "bad-link", "languages": "zh-Hans", "title": "链接"},
       {"item_id": "bad-names", "languages": "zh-Hant", "title": "名稱"}]


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink()
                                       else os.readlink(p) if p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    tif = page_bytes("TIFF", size=(400, 300))
    batch = make_batch(root / "landing", GOOD + BAD, batch_id="mixed-001", pages={
        "good-ar": {"صفحة-١.tif": tif, "صفحة-٢.png": page_bytes()},
        "good-zh": {"第1页.png": page_bytes()},
        "good-tw": {"第1頁.tif": tif},
        "bad-corrupt": {"0001.tif": tif, "0002.tif": tif[: len(tif) // 3]},
        "bad-link": {"0001.png": page_bytes()},
        "bad-names": {"第1頁\x07.png": page_bytes(), "é.png": page_bytes(),
                      "e\u0301.png": page_bytes()},
    })
    os.symlink("/etc/hostname", batch / "bad-link" / "0002.png")
    env = airflow_env(dict(
        os.environ, CADL_LANDING_DIR=str(root / "landing"), CADL_WORK_DIR=str(root / "work"),
        CADL_REPORTS_DIR=str(root / "reports"), CADL_QUARANTINE_DIR=str(root / "quarantine"),
        CADL_PRESERVATION_URL=(root / "preservation").as_uri(),
        CADL_ACCESS_URL=(root / "access").as_uri(), CADL_ALLOW_FILE_URLS="true",
        # The good items' pages are blank: the OCR review hold (issue 4) would keep them back.
        CADL_OCR_HOLD_FOR_REVIEW="false"))
    ensure_db(env)
    before = _tree(batch)
    conf = json.dumps({"batch_dir": str(batch), "release": True})
    cmd = [AIRFLOW, "dags", "test", "ingest_batch", "-c", conf]

    # Run 1: killed as soon as the first item's deposit is verified (its marker exists).
    with open(root / "run1.log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 900
        while not list((root / "preservation").glob("items/*/v0001/DEPOSITED.json")):
            assert proc.poll() is None, (root / "run1.log").read_text()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    after_crash = {
        "landing": _tree(batch),
        "deposited": sorted(p.parts[-3] for p in
                            (root / "preservation").glob("items/*/v0001/DEPOSITED.json"))}
    # Run 2: resumes.
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-5000:]
    report = json.loads((root / "reports" / "mixed-001" / "report.json").read_text("utf-8"))
    return {"root": root, "batch": batch, "before": before, "after_crash": after_crash,
            "report": report, "items": {i["item_id"]: i for i in report["items"]},
            "custody": json.loads((root / "reports" / "mixed-001" / "custody.json")
                                  .read_text("utf-8"))}


def test_the_crash_left_the_landing_batch_untouched(mixed):
    assert mixed["after_crash"]["landing"] == mixed["before"]
    assert mixed["after_crash"]["deposited"]  # the kill came after at least one deposit


def test_three_good_items_are_preserved_once(mixed):
    items = mixed["items"]
    for item_id in ("good-ar", "good-zh", "good-tw"):
        assert items[item_id]["status"] == "published", items[item_id]
        versions = sorted(p.name for p in
                          (mixed["root"] / "preservation" / "items" / item_id).iterdir())
        assert versions == ["v0001"], item_id
    for item_id in mixed["after_crash"]["deposited"]:
        assert items[item_id]["new_version"] is False, item_id  # resumed, not redone
    assert mixed["report"]["summary"]["published"] == 3
    assert mixed["report"]["summary"]["quarantined"] == 3


def test_three_bad_items_are_quarantined_with_every_problem(mixed):
    items = mixed["items"]
    expected = {"bad-corrupt": ["bad-corrupt/0002.tif: not a readable TIFF"],
                "bad-link": ["bad-link/0002.png: is a symbolic link"],
                "bad-names": ["control character(s) U+0007",
                              "different Unicode normalizations"]}
    text = Path(mixed["report"]["report_text"]).read_text("utf-8")
    for item_id, needles in expected.items():
        item = items[item_id]
        assert item["status"] == "quarantined"
        where = Path(item["quarantine"])
        assert where == mixed["root"] / "quarantine" / "mixed-001" / item_id
        own = (where / "report.txt").read_text("utf-8")
        for needle in needles:
            assert needle in own or any(needle in f"{p['file']}: {p['message']}"
                                        for p in item["problems"]), (item_id, needle)
            assert needle.split(": ")[-1] in text
        assert f"quarantine  {where}" in text
        assert not (where.parent / f"{item_id}~2").exists()  # the rerun made no second copy
    copies = mixed["root"] / "quarantine" / "mixed-001"
    assert (copies / "bad-corrupt" / "files" / "0002.tif").read_bytes() == \
        mixed["before"]["bad-corrupt/0002.tif"]
    record = json.loads((copies / "bad-link" / "report.json").read_text("utf-8"))
    assert record["skipped"] == ["0002.png"]  # the link is listed, never followed


def test_batch_released_to_processed_unchanged(mixed):
    assert mixed["custody"]["decision"] == "processed"
    moved = Path(mixed["custody"]["moved_to"])
    assert moved == mixed["root"] / "processed" / "mixed-001"
    assert not mixed["batch"].exists()
    assert _tree(moved) == mixed["before"]
