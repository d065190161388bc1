"""Ids that could be paths never become paths (issue 12).

Each test builds its hostile batch itself, in a sandbox with bait folders exactly where the
hostile id would lead (`<root>/victim` is `<work>/<batch>/../../victim` and
`<quarantine>/<batch>/../../victim` and `<landing>/<batch>/../../victim`), and asserts the
message a technician sees and that nothing outside the configured folders changed.
"""

import json
import unicodedata
from pathlib import Path

import pytest
from batchmaker import make_batch, page_bytes
from pydantic import ValidationError

from cadl import pipeline, stages
from cadl.report import write_report
from ingest import custody
from ingest.models import Batch, Item, Page
from ingest.validate import validate_batch
from kernel.errors import BatchInvalid, InvalidId, UnsafePath
from kernel.paths import inside
from security.hostile import fingerprint, make_sandbox

NOW = stages.now()
RULE = "1–64 characters of A-Z a-z 0-9 . _ - (and may not start with a dot)"
GOOD_AR = {"item_id": "ar-1", "languages": "ar", "title": "كتاب الأدب"}
GOOD_ZH = {"item_id": "zh-1", "languages": "zh-Hans", "title": "文学史"}
NFC = unicodedata.normalize("NFC", "صفحة-é.png")
NFD = unicodedata.normalize("NFD", "第1页-é.png")


def _row(item_id: str, title: str = "عنوان") -> dict:
    return {"item_id": item_id, "languages": "ar", "title": title}


def hostile_ids(root: Path) -> list[str]:
    """Ids that name places outside the batch, plus ids in the two scripts (not ids either)."""
    return ["../../victim", "../outside", "..", "a/b", str(root / "absolute-target"),
            "كتاب-١", "书-1", "x\\..\\..\\victim"]


def _batch_with_hostile_rows(root: Path, settings) -> Path:
    ids = hostile_ids(root)
    rows = [GOOD_AR, GOOD_ZH] + [_row(i) for i in ids]
    pages = {"ar-1": {NFC: page_bytes()}, "zh-1": {NFD: page_bytes()}}
    pages.update({i: None for i in ids})  # never create folders from the hostile ids
    return make_batch(settings.landing_dir, rows, pages=pages, batch_id="b-001")


def test_a_path_id_is_a_row_error_and_never_an_item(tmp_path):
    settings = make_sandbox(tmp_path)
    batch = _batch_with_hostile_rows(tmp_path, settings)
    before = fingerprint(tmp_path)
    report = validate_batch(batch, settings)
    assert [i.item_id for i in report.batch.items] == ["ar-1", "zh-1"]
    assert not report.item_errors("ar-1") and not report.item_errors("zh-1")
    messages = {(p.row, p.message) for p in report.errors}
    for row, bad in enumerate(hostile_ids(tmp_path), start=4):
        assert (row, f"item_id {bad!r} is not {RULE}; the row is not processed") in messages
    assert report.rejected_rows == list(range(4, 4 + len(hostile_ids(tmp_path))))
    assert all(p.item_id is None for p in report.errors)
    # The scanned names keep their normalisation on disk and are shown NFC.
    names = [p.original_name for i in report.batch.items for p in i.pages]
    assert names == [NFC, unicodedata.normalize("NFC", NFD)]
    assert fingerprint(tmp_path) == before
    assert not (tmp_path / "absolute-target").exists()


@pytest.mark.parametrize("bad", ["../../victim", "..", ".", "", "a/b", "/etc", "x\n", "é-1",
                                 "书-1", "a" * 65, ".hidden"])
def test_an_item_or_batch_cannot_hold_a_bad_id(bad):
    with pytest.raises(ValidationError, match="is not 1–64 characters"):
        Item(item_id=bad, row=2, languages=["ar"], title="t")
    with pytest.raises(ValidationError, match="batch_id"):
        Batch(batch_id=bad, path="/x", received_at=NOW, manifest_sha512="", items=[])
    item = Item(item_id="ok-1", row=2, languages=["ar"], title="t")
    with pytest.raises(ValidationError):
        item.item_id = bad  # assignment is validated too


@pytest.mark.parametrize("path", ["../x.png", "a/../../x.png", "/etc/passwd", "a//b", "./a"])
def test_a_page_path_must_stay_inside_the_batch(path):
    with pytest.raises(ValidationError, match="must be a relative path inside the batch"):
        Page(seq=1, original_name="x", path=path, sha512="0", size=1, format="PNG",
             mimetype="image/png", width=1, height=1)


def test_inside_refuses_every_way_out(tmp_path):
    base = tmp_path / "work"
    base.mkdir()
    (tmp_path / "victim").mkdir()
    (base / "link").symlink_to(tmp_path / "victim")
    for parts in [("..",), ("../victim",), ("a", "..", ".."), ("/etc",), ("",), (".",),
                  ("a\x00b",), ("link",), ("link", "x"), ("a/../..",), ()]:
        with pytest.raises(UnsafePath):
            inside(base, *parts)
    # Unicode names in both scripts and both normalisations are plain names: accepted.
    for name in (NFC, NFD, "كتاب-١", "书-1", "a/../b"):
        assert inside(base, name) == base / name


def test_the_pipeline_plans_good_items_and_quarantines_path_rows_as_rows(tmp_path):
    settings = make_sandbox(tmp_path)
    batch = _batch_with_hostile_rows(tmp_path, settings)
    # What the old code would have removed, copied from and into: it exists, and must stay.
    (tmp_path / "work" / "b-001").mkdir(parents=True)
    before = fingerprint(tmp_path)
    plan = pipeline.validate(str(batch), "r1", settings)
    assert [u["item_id"] for u in plan["units"]] == ["ar-1", "zh-1"]
    assert {u["action"] for u in plan["units"]} == {"process"}
    rows = json.loads((tmp_path / "work" / "b-001" / "rows_quarantined.json").read_text())
    assert [r["row"] for r in rows] == list(range(4, 4 + len(hostile_ids(tmp_path))))
    first = Path(rows[0]["quarantine"])
    assert first == tmp_path / "quarantine" / "b-001" / "_rows" / "line-00004"
    text = (first / "report.txt").read_text("utf-8")
    assert ("[error] manifest.csv line 4: item_id '../../victim' is not "
            f"{RULE}; the row is not processed") in text
    assert not (first / "files").exists()  # nothing is copied for a row that names no folder
    written = write_report(plan, "r1", settings, finished=NOW)
    text = Path(written["report_text"]).read_text("utf-8")
    assert (f"  [error] manifest.csv line 5: item_id '../outside' is not {RULE}; the row is not "
            "processed") in text
    assert f"  manifest.csv line 4 is not an item; quarantined: {first}" in text
    assert fingerprint(tmp_path) == before
    assert not (tmp_path / "absolute-target").exists()


def test_a_batch_path_ending_in_dotdot_is_a_batch_level_error(tmp_path):
    settings = make_sandbox(tmp_path)
    batch = make_batch(settings.landing_dir, [GOOD_AR], batch_id="b-001")
    (settings.landing_dir / "READY").touch()  # as if the landing zone itself were a batch
    before = fingerprint(tmp_path)
    with pytest.raises(BatchInvalid) as caught:
        pipeline.validate(str(batch) + "/..", "r1", settings)
    assert str(caught.value) == (
        f"batch {batch}/.. cannot be processed: batch_id '..' is not {RULE}; give the path of "
        "a batch folder named by a valid batch id (nothing was written)")
    report = validate_batch(Path(str(batch) + "/.."), settings)
    assert [p.message for p in report.errors] == [
        f"batch path {str(batch) + '/..'!r} does not name a batch folder (it ends in '..'): "
        "give the path of the batch folder itself"]
    assert report.batch is None
    assert fingerprint(tmp_path) == before
    assert not (tmp_path / "work").exists() and not (tmp_path / "quarantine").exists()


def test_a_batch_folder_with_an_arabic_name_is_refused_whole(tmp_path):
    settings = make_sandbox(tmp_path)
    batch = make_batch(settings.landing_dir, [GOOD_AR], batch_id="دفعة-١")
    before = fingerprint(tmp_path)
    report = validate_batch(batch, settings)
    assert report.batch is None
    assert [p.message for p in report.errors] == [
        f"batch folder name 'دفعة-١' is not a valid batch_id: {RULE}; rename the folder"]
    with pytest.raises(BatchInvalid, match="batch_id 'دفعة-١' is not"):
        pipeline.validate(str(batch), "r1", settings)
    assert fingerprint(tmp_path) == before
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize("stage", sorted(pipeline.STAGES))
@pytest.mark.parametrize("unit", [{"batch_id": "b-001", "item_id": "../../victim"},
                                  {"batch_id": "..", "item_id": "victim"},
                                  {"batch_id": "b-001", "item_id": "/abs"}])
def test_stage_functions_refuse_a_forged_unit(tmp_path, stage, unit):
    settings = make_sandbox(tmp_path)
    (tmp_path / "work" / "b-001").mkdir(parents=True)
    before = fingerprint(tmp_path)
    forged = dict(unit, action="process")
    with pytest.raises(InvalidId, match="is not 1–64 characters"):
        pipeline.STAGES[stage](forged, settings)
    with pytest.raises(InvalidId):
        pipeline.run_stage(stage, {"batch_id": unit["batch_id"], "items": [forged]}, settings)
    assert fingerprint(tmp_path) == before


def test_a_symlinked_item_work_folder_is_never_removed_through(tmp_path):
    settings = make_sandbox(tmp_path)
    batch = make_batch(settings.landing_dir, [GOOD_AR], batch_id="b-001")
    (tmp_path / "work" / "b-001").mkdir(parents=True)
    (tmp_path / "work" / "b-001" / "ar-1").symlink_to(tmp_path / "victim")
    before = fingerprint(tmp_path)
    with pytest.raises(UnsafePath, match="outside"):
        pipeline.validate(str(batch), "r1", settings)
    assert fingerprint(tmp_path) == before


def test_custody_refuses_ids_that_are_paths(tmp_path):
    settings = make_sandbox(tmp_path)
    batch = make_batch(settings.landing_dir, [GOOD_AR], batch_id="b-001")
    before = fingerprint(tmp_path)
    problems = [{"severity": "error", "file": "", "message": "bad"}]
    for bad in ("../../victim", "..", str(tmp_path / "outside"), "a/b"):
        with pytest.raises(InvalidId, match=f"item_id {bad!r} is not"):
            custody.quarantine_item(batch, {"item_id": bad}, problems, settings, NOW)
    with pytest.raises(InvalidId, match="batch_id '..' is not"):
        custody.quarantine_batch(Path(str(batch) + "/.."), problems, settings, NOW)
    with pytest.raises(InvalidId, match="batch_id '..' is not"):
        custody.quarantine_item(Path(str(batch) + "/.."), {"item_id": "ar-1"}, problems,
                                settings, NOW)
    with pytest.raises(InvalidId):
        custody.release_batch(Path(str(batch) + "/.."), {"items": []}, settings, NOW)
    assert fingerprint(tmp_path) == before
    assert not (tmp_path / "quarantine").exists()
    # A valid item in both scripts' file names is quarantined inside the quarantine only.
    (batch / "ar-1" / NFD).write_bytes(page_bytes())
    where = custody.quarantine_item(batch, {"item_id": "ar-1"}, problems, settings, NOW)
    assert where == tmp_path / "quarantine" / "b-001" / "ar-1"
    assert (where / "files" / NFD).is_file()
    assert fingerprint(tmp_path) == before


def test_a_forged_release_record_never_deletes_the_area_or_beyond(tmp_path):
    settings = make_sandbox(tmp_path.joinpath("r"))
    root = tmp_path / "r"
    processed = Path(settings.processed_dir)
    processed.mkdir()
    record = root / "reports" / "b-001" / "custody.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"decision": "processed", "at": "2020-01-01T00:00:00+00:00",
                                  "moved_to": str(processed) + "/.."}))
    before = fingerprint(root)
    s = settings.model_copy(update={"retention_days": 1})
    assert custody.purge_expired(s, NOW) == []
    assert fingerprint(root) == before and processed.is_dir()
