"""A partner library's BagIt bag in place of a batch folder: validated strictly, then ingested.

The bag's payload follows the batch layout (data/manifest.csv, data/<item_id>/…); bagit-python
makes it, as a partner's own tool would. An invalid bag is rejected with every reason and
nothing of it is processed; the partner's bag in the landing zone is never touched.
"""

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import pytest

from cadl import pipeline
from kernel.errors import BatchInvalid
from kernel.settings import Settings

CADL = str(Path(sys.executable).with_name("cadl"))
ITEMS = ("ar-book-001", "zh-hans-book-001")  # Arabic, and Chinese page names (第1页.png)


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha512(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def make_partner_bag(sample: Path, landing: Path, name: str) -> Path:
    """A bag of two sample items, made by bagit-python (sha512), READY written last."""
    bag = landing / name
    bag.mkdir(parents=True)
    rows = list(csv.DictReader(io.StringIO((sample / "manifest.csv").read_text("utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(r for r in rows if r["item_id"] in ITEMS)
    (bag / "manifest.csv").write_text(out.getvalue(), "utf-8")
    for item in ITEMS:
        shutil.copytree(sample / item, bag / item)
    bagit.make_bag(str(bag), {"Source-Organization": "مكتبة الملك فهد الوطنية"},
                   checksums=["sha512"])
    (bag / "READY").touch()
    return bag


@pytest.fixture
def settings(tmp_path):
    return Settings(work_dir=tmp_path / "work", reports_dir=tmp_path / "reports",
                    preservation_url=(tmp_path / "pres").as_uri(),
                    access_url=(tmp_path / "access").as_uri(), allow_file_urls=True,
                    quarantine_dir=tmp_path / "quarantine")


def test_a_valid_bag_is_received_and_planned_from_its_verified_copy(sample_batch, tmp_path,
                                                                     settings):
    bag = make_partner_bag(sample_batch[0], tmp_path / "landing", "partner-001")
    before = _tree(bag)
    plan = pipeline.validate(str(bag), "run-1", settings)
    assert [u["item_id"] for u in plan["units"]] == list(ITEMS)
    assert all(u["action"] == "process" for u in plan["units"])
    batch = pipeline.Unit(plan["units"][0], settings).batch()
    assert batch.batch_id == "partner-001"
    assert Path(batch.path).is_relative_to(settings.work_dir)  # reads the copy, not the bag
    names = [p.original_name for p in batch.item("zh-hans-book-001").pages]
    assert names == ["第1页.png", "第2页.png", "第3页.png"]
    assert _tree(bag) == before


def test_a_tampered_bag_is_rejected_with_the_file_named(sample_batch, tmp_path, settings):
    bag = make_partner_bag(sample_batch[0], tmp_path / "landing", "partner-002")
    page = bag / "data" / "ar-book-001" / "0002.tif"
    data = bytearray(page.read_bytes())
    data[len(data) // 2] ^= 0xFF
    page.write_bytes(bytes(data))
    (bag / "data" / "stowaway.txt").write_text("not in the manifest")
    before = _tree(bag)
    with pytest.raises(BatchInvalid) as exc:
        pipeline.validate(str(bag), "run-1", settings)
    message = str(exc.value)
    assert "partner bag rejected" in message
    assert "data/ar-book-001/0002.tif" in message and "stowaway.txt" in message
    report = json.loads((settings.reports_dir / "partner-002" / "report.json").read_text())
    assert any("0002.tif" in p["message"] for p in report["problems"])
    assert not list((settings.work_dir / "partner-002").glob(".partner/partner-002/*"))
    assert _tree(bag) == before


@pytest.mark.slow
def test_cadl_run_preserves_and_publishes_a_partner_bag(sample_batch, tmp_path):
    bag = make_partner_bag(sample_batch[0], tmp_path / "landing", "partner-003")
    env = dict(os.environ, CADL_WORK_DIR=str(tmp_path / "work"),
               CADL_REPORTS_DIR=str(tmp_path / "reports"),
               CADL_PRESERVATION_URL=(tmp_path / "pres").as_uri(),
               CADL_ACCESS_URL=(tmp_path / "access").as_uri(), CADL_ALLOW_FILE_URLS="true",
               CADL_QUARANTINE_DIR=str(tmp_path / "quarantine"))
    proc = subprocess.run([CADL, "run", str(bag), "--json", "--dags-test"], env=env, capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout)
    assert {i["item_id"]: i["status"] for i in report["items"]} == \
        {item: "published" for item in ITEMS}
    for item in report["items"]:
        masters = sorted((Path(item["bag"].removeprefix("file://")) / "data" / "masters")
                         .iterdir())
        originals = sorted((bag / "data" / item["item_id"]).iterdir())
        assert [hashlib.sha512(p.read_bytes()).hexdigest() for p in masters] == \
            [hashlib.sha512(p.read_bytes()).hexdigest() for p in originals]
