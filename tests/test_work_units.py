"""Work units: items grouped by pages, one item's failure never stops the others in its unit."""

import datetime as dt
import json

import pytest

from cadl import pipeline, stages
from kernel.errors import ItemsFailed, StorageUnavailable, ToolFailed
from kernel.settings import Settings
from ingest.models import Batch, Item, Page


def _item(item_id: str, pages: int) -> Item:
    return Item(item_id=item_id, row=2, languages=["ar"], title="عنوان", pages=[
        Page(seq=n, original_name=f"{n}.png", path=f"{item_id}/{n}.png", sha512="0" * 128,
             size=1, format="PNG", mimetype="image/png", width=1, height=1)
        for n in range(1, pages + 1)])


def _batch(sizes: dict[str, int]) -> Batch:
    return Batch(batch_id="b-1", path="/nowhere", received_at=dt.datetime.now(dt.timezone.utc),
                 manifest_sha512="0" * 128, items=[_item(i, n) for i, n in sizes.items()])


def test_items_are_grouped_to_about_unit_pages_and_never_split():
    batch = _batch({"a": 10, "b": 10, "c": 25, "d": 3, "e": 60, "f": 2})
    units = [{"batch_id": "b-1", "item_id": i.item_id, "action": "process"} for i in batch.items]
    groups = pipeline.work_units(batch, units, unit_pages=20)
    assert [[u["item_id"] for u in g["items"]] for g in groups] == \
        [["a", "b"], ["c"], ["d"], ["e"], ["f"]]
    assert pipeline.work_units(batch, units, unit_pages=1000)[0]["items"] == units


def test_quarantined_items_ride_along_without_counting(tmp_path):
    batch = _batch({"a": 30, "bad": 30, "c": 15})
    units = [{"batch_id": "b-1", "item_id": "a", "action": "process"},
             {"batch_id": "b-1", "item_id": "bad", "action": "skip"},
             {"batch_id": "b-1", "item_id": "c", "action": "process"}]
    groups = pipeline.work_units(batch, units, unit_pages=40)
    assert [[u["item_id"] for u in g["items"]] for g in groups] == [["a", "bad"], ["c"]]


@pytest.fixture
def unit(tmp_path, monkeypatch):
    settings = Settings(work_dir=tmp_path / "work", reports_dir=tmp_path / "reports",
                        ocr_workers=1)
    items = [{"batch_id": "b-1", "item_id": i, "action": "process"} for i in ("ar-1", "zh-1",
                                                                               "tw-1")]
    for u in items:
        stages.write_json(stages.Unit(u, settings).state_path, {"status": "planned"})
    return {"batch_id": "b-1", "items": items}, settings


def test_a_permanent_failure_is_recorded_and_the_others_go_on(unit, monkeypatch):
    work_unit, settings = unit
    done = []

    def stage(unit_data, _settings):
        if unit_data["item_id"] == "zh-1":
            raise ToolFailed("tesseract could not read 第1页.png")
        done.append(unit_data["item_id"])
        stages.Unit(unit_data, settings).record("describe", stages.now())

    monkeypatch.setitem(pipeline.STAGES, "describe", stage)
    out = pipeline.run_stage("describe", work_unit, settings)
    assert done == ["ar-1", "tw-1"]
    failed = next(u for u in out["items"] if u["item_id"] == "zh-1")
    assert failed["failed"] == "describe"
    state = stages.Unit(failed, settings).state()
    assert "第1页.png" in state["problems"][0]["message"]
    # the next stage skips the failed item
    seen = []
    monkeypatch.setitem(pipeline.STAGES, "package", lambda u, s: seen.append(u["item_id"]))
    pipeline.run_stage("package", out, settings)
    assert seen == ["ar-1", "tw-1"]


def test_a_transient_failure_is_raised_after_the_others_and_the_retry_skips_them(unit,
                                                                                 monkeypatch):
    work_unit, settings = unit
    calls = []

    def stage(unit_data, _settings):
        calls.append(unit_data["item_id"])
        if unit_data["item_id"] == "ar-1" and calls.count("ar-1") == 1:
            raise StorageUnavailable("S3 server did not answer")
        stages.Unit(unit_data, settings).record("deposit", stages.now())

    monkeypatch.setitem(pipeline.STAGES, "deposit", stage)
    with pytest.raises(StorageUnavailable):
        pipeline.run_stage("deposit", work_unit, settings)
    assert calls == ["ar-1", "zh-1", "tw-1"]
    pipeline.run_stage("deposit", work_unit, settings)  # Airflow's retry
    assert calls == ["ar-1", "zh-1", "tw-1", "ar-1"]


def test_report_fails_the_run_after_writing_when_an_item_failed(tmp_path, monkeypatch):
    settings = Settings(work_dir=tmp_path / "work", reports_dir=tmp_path / "reports")
    written = {"summary": {"failed": 1}, "report_text": str(tmp_path / "report.txt")}
    monkeypatch.setattr("cadl.report.write_report", lambda *a, **k: written)
    with pytest.raises(ItemsFailed, match="1 item"):
        pipeline.report({"batch_id": "b-1"}, "run-1", settings)
    written["summary"]["failed"] = 0
    assert pipeline.report({"batch_id": "b-1"}, "run-1", settings) is written
    assert json.dumps(written)


def test_the_report_names_a_recorded_failure_once(unit, monkeypatch):
    from cadl.report import _item_entry

    work_unit, settings = unit

    def stage(unit_data, _settings):
        raise ToolFailed("tesseract could not read 0001.tif")

    monkeypatch.setitem(pipeline.STAGES, "ocr", stage)
    pipeline.run_stage("ocr", {"batch_id": "b-1", "items": work_unit["items"][:1]}, settings)
    item = {"item_id": "ar-1", "title": "عنوان", "languages": ["ar"], "reading_direction": "rtl",
            "rights": "open", "portals": ["zh", "ar"], "pages": []}
    entry = _item_entry(settings.work_dir / "b-1", item)
    assert entry["status"] == "failed"
    assert [p["message"] for p in entry["problems"]] == \
        ["stopped at stage 'ocr': ToolFailed: tesseract could not read 0001.tif"]
