"""Pages the OCR quality check flags hold their item for review: preserved, not published.

Runs the item stages of `cadl.pipeline` (the functions the DAG's tasks call) on a two-item
batch, without Airflow: the DAG wiring itself is covered by the end-to-end tests.
"""

import json
import shutil

import pytest

from batchmaker import make_batch
from cadl import pipeline
from kernel.settings import Settings

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is needed")


def _settings(tmp_path, **extra) -> Settings:
    return Settings(landing_dir=tmp_path / "landing", work_dir=tmp_path / "work",
                    reports_dir=tmp_path / "reports",
                    preservation_url=(tmp_path / "preservation").as_uri(),
                    access_url=(tmp_path / "access").as_uri(),
                    allow_file_urls=True, **extra)


def test_flagged_item_is_held_preserved_and_reported_while_a_good_one_is_published(
        sample_batch, sample_items, tmp_path):
    batch_dir, _ = sample_batch
    ar_page = (batch_dir / sample_items["ar-book-001"].pages[0].path).read_bytes()
    zh_page = (batch_dir / sample_items["zh-hans-book-001"].pages[0].path).read_bytes()
    settings = _settings(tmp_path)
    # A Chinese page in an item the manifest says is Arabic: read with the Arabic model.
    batch = make_batch(settings.landing_dir, [
        {"item_id": "ar-good", "languages": "ar", "title": "كتاب"},
        {"item_id": "ar-garbled", "languages": "ar", "title": "كتاب آخر"},
    ], pages={"ar-good": {"0001.tif": ar_page}, "ar-garbled": {"0001.png": zh_page}})
    plan = pipeline.validate(str(batch), "test-run", settings)
    for unit in plan["units"]:
        for stage in (pipeline.ocr, pipeline.describe, pipeline.package, pipeline.deposit,
                      pipeline.publish):
            stage(unit, settings)
    pipeline.report(plan, "test-run", settings)

    report = json.loads((settings.reports_dir / "batch-001" / "report.json").read_text())
    items = {i["item_id"]: i for i in report["items"]}
    assert items["ar-good"]["status"] == "published"
    assert items["ar-good"]["pages"][0]["flags"] == []
    held = items["ar-garbled"]
    assert held["status"] == "held" and held["access"] is None
    assert "low_confidence" in held["pages"][0]["flags"]
    assert report["summary"]["held"] == 1 and report["summary"]["published"] == 1
    text = (settings.reports_dir / "batch-001" / "report.txt").read_text()
    assert "ar-garbled: HELD" in text and "OCR flags: low_confidence" in text
    assert "1 published, 1 held for review" in text

    access = tmp_path / "access" / "items"
    assert (access / "ar-good" / "search" / "p0001.txt").is_file()
    assert not (access / "ar-garbled").exists()
    bags = {p.parent.name: p for p in (tmp_path / "preservation").rglob("mets.xml")}
    assert set(bags) == {"ar-good", "ar-garbled"}
    mets = (bags["ar-garbled"]).read_text("utf-8")
    assert "held for review: page(s) 1" in mets and ">warning<" in mets
    assert "ocr/p0001.search.txt" in mets and 'USE="ocr-search"' in mets
    assert ">success<" in (bags["ar-good"]).read_text("utf-8")


def test_holding_can_be_switched_off(sample_batch, sample_items, tmp_path):
    batch_dir, _ = sample_batch
    zh_page = (batch_dir / sample_items["zh-hans-book-001"].pages[0].path).read_bytes()
    settings = _settings(tmp_path, ocr_hold_for_review=False)
    batch = make_batch(settings.landing_dir, [
        {"item_id": "ar-garbled", "languages": "ar", "title": "كتاب"}],
        pages={"ar-garbled": {"0001.png": zh_page}})
    plan = pipeline.validate(str(batch), "test-run", settings)
    unit = plan["units"][0]
    for stage in (pipeline.ocr, pipeline.describe, pipeline.package, pipeline.deposit,
                  pipeline.publish):
        stage(unit, settings)
    state = json.loads((settings.work_dir / "batch-001" / "ar-garbled" / "state.json").read_text())
    assert state["status"] == "published"
    assert "low_confidence" in state["pages"][0]["flags"]
