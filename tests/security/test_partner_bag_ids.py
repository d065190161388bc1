"""A partner's bag (an outside party) with item ids that are paths: refused, nothing touched.

The bag itself is valid BagIt — its own manifests list only safe paths — but its payload's
`manifest.csv` names items `../../victim` and `/abs/…`, which before issue 12 reached the
work folder's `rmtree` and the quarantine's copy exactly as a landing-zone batch's did.
"""

import json
import shutil
import unicodedata

import bagit
import pytest
from batchmaker import make_batch, page_bytes

from cadl import pipeline
from ingest.partner import receive_partner_bag
from kernel.errors import InvalidId
from security.hostile import fingerprint, make_sandbox

RULE = "1–64 characters of A-Z a-z 0-9 . _ - (and may not start with a dot)"


def _partner_bag(root, settings, name="partner-001"):
    """A bag made by bagit-python around a batch with two good items and three hostile rows."""
    staging = root / "partner-staging"
    rows = [{"item_id": "ar-1", "languages": "ar", "title": "مخطوطة عربية"},
            {"item_id": "zh-1", "languages": "zh-Hant", "title": "古籍",
             "reading_direction": "ttb"},
            {"item_id": "../../victim", "languages": "ar", "title": "x"},
            {"item_id": str(root / "created-by-partner"), "languages": "ar", "title": "x"},
            {"item_id": "..", "languages": "zh-Hans", "title": "x"}]
    pages = {"ar-1": {unicodedata.normalize("NFD", "صفحة-١-é.png"): page_bytes()},
             "zh-1": {unicodedata.normalize("NFC", "第1頁.png"): page_bytes()},
             "../../victim": None, str(root / "created-by-partner"): None, "..": None}
    batch = make_batch(staging, rows, pages=pages, batch_id=name, ready=False)
    bag = settings.landing_dir / name
    shutil.move(str(batch), bag)
    bagit.make_bag(str(bag), {"Source-Organization": "中华书局"}, checksums=["sha512"])
    (bag / "READY").touch()
    return bag


def test_hostile_ids_in_a_partner_bag_are_rows_in_quarantine_and_touch_nothing(tmp_path):
    settings = make_sandbox(tmp_path)
    bag = _partner_bag(tmp_path, settings)
    (tmp_path / "work" / "partner-001").mkdir(parents=True)
    before = fingerprint(tmp_path)
    bag_before = fingerprint(bag, configured=())
    plan = pipeline.validate(str(bag), "r1", settings)
    assert [(u["item_id"], u["action"]) for u in plan["units"]] == [
        ("ar-1", "process"), ("zh-1", "process")]
    validation = json.loads((tmp_path / "work" / "partner-001" / "validation.json").read_text())
    errors = [(p["row"], p["message"]) for p in validation["problems"] if p["severity"] == "error"]
    assert errors == [
        (4, f"item_id '../../victim' is not {RULE}; the row is not processed"),
        (5, f"item_id {str(tmp_path / 'created-by-partner')!r} is not {RULE}; the row is not "
            "processed"),
        (6, f"item_id '..' is not {RULE}; the row is not processed")]
    rows = json.loads((tmp_path / "work" / "partner-001" / "rows_quarantined.json").read_text())
    assert [r["quarantine"] for r in rows] == [
        str(tmp_path / "quarantine" / "partner-001" / "_rows" / f"line-0000{n}") for n in (4, 5, 6)]
    batch = json.loads((tmp_path / "work" / "partner-001" / "batch.json").read_text())
    names = [p["original_name"] for i in batch["items"] for p in i["pages"]]
    assert names == [unicodedata.normalize("NFC", "صفحة-١-é.png"), "第1頁.png"]
    assert fingerprint(tmp_path) == before  # bait untouched, nothing created beside it
    assert fingerprint(bag, configured=()) == bag_before  # the partner's bag is never changed
    assert not (tmp_path / "created-by-partner").exists()


def test_a_partner_bag_whose_folder_name_is_no_batch_id_is_not_read(tmp_path):
    settings = make_sandbox(tmp_path)
    bag = _partner_bag(tmp_path, settings, name="شريك-١")
    before = fingerprint(tmp_path)
    with pytest.raises(InvalidId, match="batch_id 'شريك-١' is not"):
        receive_partner_bag(bag, tmp_path / "work" / ".partner")
    assert fingerprint(tmp_path) == before
    assert not (tmp_path / "work").exists()
