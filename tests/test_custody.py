"""Custody of a landing-zone batch: quarantine copies, release only when every item is settled."""

import datetime as dt
import json
import os

import pytest
from batchmaker import make_batch, page_bytes

from kernel.errors import BatchNotReady
from kernel.settings import Settings
from ingest import custody, validate as validate_mod
from ingest.validate import validate_batch

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
AR = {"item_id": "ar-1", "languages": "ar", "title": "كتاب"}
ZH = {"item_id": "zh-1", "languages": "zh-Hans", "title": "文学史"}


@pytest.fixture
def settings(tmp_path):
    return Settings(landing_dir=tmp_path / "landing", work_dir=tmp_path / "work",
                    reports_dir=tmp_path / "reports", quarantine_dir=tmp_path / "quarantine")


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
            for p in sorted(root.rglob("*"))}


def test_quarantine_copies_never_moves_and_never_duplicates(tmp_path, settings):
    batch = make_batch(tmp_path / "landing", [AR], pages={"ar-1": {"صفحة.png": page_bytes()}})
    before = _tree(batch)
    problems = [{"severity": "error", "file": "ar-1/صفحة.png", "message": "bad"}]
    where = custody.quarantine_item(batch, {"item_id": "ar-1"}, problems, settings, NOW)
    assert _tree(batch) == before
    assert (where / "files" / "صفحة.png").read_bytes() == before["ar-1/صفحة.png"]
    assert "ar-1/صفحة.png: bad" in (where / "report.txt").read_text("utf-8")
    again = custody.quarantine_item(batch, {"item_id": "ar-1"}, problems, settings, NOW)
    assert again == where and not list(where.parent.glob("*~*"))
    (batch / "ar-1" / "صفحة.png").write_bytes(b"rescanned")
    third = custody.quarantine_item(batch, {"item_id": "ar-1"}, problems, settings, NOW)
    assert third.name == "ar-1~2"  # a different copy never overwrites the first


def _report(statuses, run_id="r1"):
    return {"run_id": run_id, "items": [{"item_id": f"i{n}", "status": s}
                                        for n, s in enumerate(statuses)]}


def test_release_waits_until_every_item_is_settled(tmp_path, settings):
    batch = make_batch(tmp_path / "landing", [AR, ZH])
    before = _tree(batch)
    kept = custody.release_batch(batch, _report(["published", "failed"]), settings, NOW)
    assert kept["decision"] == "kept" and "i1" in kept["reason"]
    assert _tree(batch) == before
    done = custody.release_batch(batch, _report(["published", "quarantined"]), settings, NOW)
    assert done["decision"] == "processed"
    moved = tmp_path / "processed" / batch.name
    assert done["moved_to"] == str(moved) and _tree(moved) == before and not batch.exists()
    record = json.loads((tmp_path / "reports" / batch.name / "custody.json").read_text())
    assert record["decision"] == "processed"


def test_unreadable_batch_goes_to_failed_after_quarantine(tmp_path, settings):
    batch = make_batch(tmp_path / "landing", [AR])
    (batch / "manifest.csv").unlink()
    report = {"run_id": "r", "items": []}
    assert custody.release_batch(batch, report, settings, NOW)["decision"] == "kept"
    where = custody.quarantine_batch(batch, [{"severity": "error", "file": "manifest.csv",
                                              "message": "missing"}], settings, NOW)
    decision = custody.release_batch(batch, dict(report, quarantine=str(where)), settings, NOW)
    assert decision["decision"] == "failed"
    assert (tmp_path / "failed" / batch.name / "READY").exists()


def test_a_second_delivery_of_the_same_batch_id_does_not_overwrite(tmp_path, settings):
    for n in range(2):
        batch = make_batch(tmp_path / "landing", [AR])
        custody.release_batch(batch, _report(["published"]), settings, NOW + dt.timedelta(n))
    names = sorted(p.name for p in (tmp_path / "processed").iterdir())
    assert names == ["batch-001", "batch-001@20260302T000000Z"]


def test_retention_deletes_only_when_configured_and_only_released_batches(tmp_path, settings):
    batch = make_batch(tmp_path / "landing", [AR])
    custody.release_batch(batch, _report(["published"]), settings, NOW)
    later = NOW + dt.timedelta(days=400)
    assert custody.purge_expired(settings, later) == []  # default: keep for ever
    keep = settings.model_copy(update={"retention_days": 500})
    assert custody.purge_expired(keep, later) == []
    purge = settings.model_copy(update={"retention_days": 365})
    assert custody.purge_expired(purge, later) == [str(tmp_path / "processed" / "batch-001")]
    assert not (tmp_path / "processed" / "batch-001").exists()


def test_files_changing_while_read_leave_the_batch_for_later(tmp_path, settings, monkeypatch):
    """Fault injection: a scanner station still copying pages while the batch is read."""
    batch = make_batch(tmp_path / "landing", [AR, ZH])
    real = validate_mod.characterize

    def still_copying(path, *args):
        page = real(path, *args)
        with open(batch / "zh-1" / "0002.png", "ab") as fh:
            fh.write(b"more bytes arriving")
        return page

    monkeypatch.setattr(validate_mod, "characterize", still_copying)
    report = validate_batch(batch, settings)
    assert report.changed_files == ["zh-1/0002.png"]
    notice = [p for p in report.problems if p.file == "zh-1/0002.png" and p.severity == "notice"]
    assert "left for a later run" in notice[0].message

    from cadl import pipeline

    with pytest.raises(BatchNotReady, match="files changed while the batch was read"):
        pipeline.validate(str(batch), "run-1", settings)
    record = json.loads((tmp_path / "reports" / batch.name / "custody.json").read_text())
    assert record["decision"] == "deferred"
    assert not (tmp_path / "quarantine").exists()


def test_batch_without_ready_is_never_touched(tmp_path, settings):
    from cadl import pipeline

    batch = make_batch(tmp_path / "landing", [AR], ready=False)
    before = {p: os.stat(p).st_mtime_ns for p in batch.rglob("*")}
    with pytest.raises(BatchNotReady):
        pipeline.validate(str(batch), "run-1", settings)
    assert {p: os.stat(p).st_mtime_ns for p in batch.rglob("*")} == before
    assert not (tmp_path / "work").exists()
