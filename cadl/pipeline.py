"""The tasks of `ingest_batch`, one function per DAG task, each taking and returning small JSON.

This module only orchestrates: it plans the batch (`validate`), groups items into work units,
runs a per-item stage over a unit (`run_stage`, the stages themselves are in `cadl.stages`),
rebuilds the catalogue, writes the report and releases the batch. The work itself lives in
`ingest`, `ocr`, `metadata`, `preservation` and `publication`. Each per-item stage records what
it did in the item's `state.json` in the work folder, so the report can tell what happened to
every item even when a task failed and left no XCom behind.

An item whose latest verified version in preservation storage has the same fingerprint (same
pages, same manifest row, same OCR engine and models) is not processed again: a rerun of a
batch creates no duplicate and leaves the first result intact.
"""

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kernel import __version__
from kernel.errors import BatchInvalid, BatchNotReady, InvalidId, ItemsFailed
from kernel.ids import check_id
from kernel.paths import inside
from kernel.settings import Settings, get_settings
from ingest.models import Item, ValidationReport, where
from cadl.records import describe_from_records  # noqa: F401 - also cadl.cli's entry
from cadl.units import unit_size, work_units
from cadl.stages import (
    Unit,
    deposit,
    describe,
    now,
    ocr,
    package,
    publish,
    read_json,
    write_json,
)

log = logging.getLogger(__name__)

ROWS_QUARANTINED = "rows_quarantined.json"


# --- validate ----------------------------------------------------------------------------------

def processing_profile(settings: Settings) -> dict:
    """What, besides the input, determines the package: our version and the OCR engine and models."""
    from ocr import ppocr, tesseract

    models = sorted({m for lang in ("ar", "zh-Hans", "zh-Hant", "en")
                     for m in _all_models(lang)})
    return {
        "cadl": __version__,
        "tesseract": tesseract.version(),
        "models": {m: _sha512(tesseract.model_file(m, settings.tessdata_dir)) for m in models},
        # PP-OCR (Chinese): rapidocr and onnxruntime versions, the models' sha256.
        "ppocr": {"version": ppocr.version(),
                  "models": {m.name: m.sha256 for m in ppocr.models()}},
        # The engine per language, the OCR copy's preprocessing and the review thresholds
        # change the outputs too.
        "ocr": [settings.ocr_engines, settings.ocr_preprocess, settings.ocr_min_confidence,
                settings.ocr_max_low_confidence_share, settings.ocr_hold_for_review],
    }


def _all_models(tag: str) -> list[str]:
    from kernel.languages import language

    lang = language(tag)
    return [lang.model] + ([lang.vertical_model] if lang.vertical_model else [])


def _sha512(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha512").hexdigest()


def fingerprint(item: Item, profile: dict) -> str:
    """A digest of everything a package is made from; equal fingerprints mean equal content."""
    # Where a catalogue record was fetched (records.xml, an SRU URL) is not content: the same
    # record from another place gives the same package.
    basis = {"item": item.model_dump(mode="json", exclude={"row": True,
                                                           "catalogue_record": {"source"}}),
             "profile": profile}
    for page in basis["item"]["pages"]:
        page.pop("path")  # where the batch was mounted is not content
    return hashlib.sha512(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def validate(batch_dir: str, run_id: str = "manual", settings: Settings | None = None) -> dict:
    """Validate the batch and plan the run: which items to process, which are unchanged.

    Raises BatchNotReady for a batch without READY (it is not touched) and BatchInvalid when
    nothing in it can be processed (no readable manifest). Item-level problems do not stop the
    batch: those items are reported as invalid and the others proceed.
    """
    from ingest.validate import READY
    from preservation.versions import latest_version
    from preservation.backends import open_storage

    settings = settings or get_settings()
    path = Path(batch_dir).absolute()
    try:  # before any path is built from it: the folder's name names work and quarantine
        check_id(path.name, "batch_id")
    except InvalidId as exc:
        raise BatchInvalid(f"batch {path} cannot be processed: {exc}; give the path of a "
                           "batch folder named by a valid batch id (nothing was written)") \
            from None
    if not (path / READY).is_file():
        raise BatchNotReady(f"{path} has no READY marker; it is left untouched until the "
                            "scanner station writes one")
    batch_work = inside(settings.work_dir, path.name)
    batch_work.mkdir(parents=True, exist_ok=True)
    report = _validate_batch_or_bag(path, batch_work, settings)
    batch = report.batch
    if report.changed_files:
        from ingest.custody import record_deferred

        record_deferred(path, run_id, report.changed_files, settings, now())
        raise BatchNotReady(f"{path}: files changed while the batch was read "
                            f"({', '.join(report.changed_files[:5])}); it is left for a "
                            "later run, once the copy into the landing zone is complete")
    write_json(batch_work / "validation.json", report.model_dump(mode="json"))
    quarantine_record = batch_work / "quarantine.json"
    quarantine_record.unlink(missing_ok=True)
    if batch is not None:
        write_json(batch_work / "batch.json", batch.model_dump(mode="json"))
    if batch is None or not batch.items:
        from cadl.report import write_report
        from ingest.custody import quarantine_batch

        where = quarantine_batch(path, [p.model_dump() for p in report.problems], settings,
                                 now())
        write_json(quarantine_record, {"quarantine": str(where)})

        write_report(None, run_id, settings, finished=now(), batch_id=path.name)
        raise BatchInvalid(_summary(report), report)
    _quarantine_rows(path, batch_work, report, settings)

    profile = processing_profile(settings)
    preservation = open_storage(settings.preservation_url, settings)
    if any(item.parent for item in batch.items):
        from cadl.serials import resolve_preserved_parents

        resolve_preserved_parents(batch, report, preservation)
        write_json(batch_work / "batch.json", batch.model_dump(mode="json"))
    units = []
    for item in batch.items:
        unit = {"batch_id": batch.batch_id, "item_id": item.item_id}
        if item.is_container and not report.item_errors(item.item_id):
            # A title or volume has no pages to process: its METS is written by the
            # `serials` task once its children are published (cadl.serials).
            write_json(batch_work / item.item_id / "state.json",
                        {"status": "container", "problems": [
                            p.model_dump() for p in report.problems
                            if p.item_id == item.item_id]})
            continue
        problems = [p.model_dump() for p in report.problems if p.item_id == item.item_id]
        if report.item_errors(item.item_id):
            from ingest.custody import quarantine_item

            unit["action"] = "skip"
            where = quarantine_item(Path(batch.path), item.model_dump(mode="json"), problems,
                                    settings, now())
            state = {"status": "quarantined", "quarantine": str(where), "problems": problems}
        else:
            fp = fingerprint(item, profile)
            latest = latest_version(preservation, item.item_id)
            unchanged = latest is not None and latest.get("fingerprint") == fp
            unit["action"] = "reuse" if unchanged else "process"
            state = {"status": "planned", "fingerprint": fp, "problems": problems}
            if unchanged:
                state["deposit"] = {"version": latest["version"], "prefix": latest["prefix"],
                                    "new": False}
        item_dir = inside(batch_work, item.item_id)
        if item_dir.exists():
            shutil.rmtree(item_dir)  # leftovers of an earlier run of the same batch
        write_json(item_dir / "state.json", state)
        units.append(unit)
    log.info("batch %s planned: %s", batch.batch_id,
             {a: sum(u["action"] == a for u in units) for a in ("process", "reuse", "skip")})
    return {"batch_id": batch.batch_id, "batch_dir": str(path), "started": now().isoformat(),
            "units": units,
            "work_units": work_units(batch, units, unit_size(batch, units, settings.unit_pages)),
            "containers": [i.item_id for i in batch.items if i.is_container]}


def _quarantine_rows(path: Path, batch_work: Path, report: ValidationReport,
                     settings: Settings) -> None:
    """Quarantine (report only) each manifest row that is no item: its item_id is not an id.

    The row cannot be an Item, so it never reaches the stages; its record in the quarantine
    keeps custody honest (the batch is released with every row either an item or in
    quarantine) and `rows_quarantined.json` lets the batch report list where each went.
    """
    from ingest.custody import quarantine_row

    rows = []
    for line in report.rejected_rows:
        problems = [p.model_dump() for p in report.problems if p.row == line]
        where_to = quarantine_row(path, line, problems, settings, now())
        rows.append({"row": line, "quarantine": str(where_to)})
    write_json(batch_work / ROWS_QUARANTINED, rows)


def _validate_batch_or_bag(path: Path, batch_work: Path, settings: Settings) -> ValidationReport:
    """Validate a batch folder, or a partner's bag: strictly as a bag first, then its payload.

    A valid bag's payload is validated as a batch from its verified copy in the work area
    (`Batch.path` points there), so later stages never read the partner's bag itself.
    """
    from ingest.partner import is_partner_bag, receive_partner_bag
    from ingest.validate import validate_batch

    if not is_partner_bag(path):
        return describe_from_records(validate_batch(path, settings))
    received, bag_report = receive_partner_bag(path, inside(batch_work, ".partner"))
    if received is None:
        report = ValidationReport(batch_dir=str(path))
        for problem in bag_report.errors:
            report.add("error", "", f"partner bag rejected: {problem}")
        return report
    report = validate_batch(received, settings)
    for warning in bag_report.warnings:
        report.add("warning", "", f"partner bag: {warning}")
    return describe_from_records(report)


def _summary(report: ValidationReport) -> str:
    lines = [f"batch {report.batch_dir} cannot be processed:"]
    lines += [f"  {where(p.file, p.row)}: {p.message}"
              for p in report.errors]
    return "\n".join(lines)


STAGES = {"ocr": ocr, "describe": describe, "package": package, "deposit": deposit,
          "publish": publish}


def run_stage(stage: str, work_unit: dict, settings: Settings | None = None) -> dict:
    """Run one stage over every item of a work unit; what a mapped DAG task calls.

    One item's failure never stops the others: a permanent error is recorded in that item's
    state (the report shows it, later stages skip it) and the task carries on. A transient
    error (storage down, a timeout) is raised after the other items are done, so Airflow
    retries the task; items that already finished this stage are not redone by the retry.
    OCR runs several items at once when the unit holds more items than one needs cores for.
    """
    settings = settings or get_settings()
    fn = STAGES[stage]
    todo = [u for u in work_unit["items"]
            if not u.get("failed") and stage not in Unit(u, settings).state().get("stages", {})]
    transient: list[Exception] = []

    def one(unit_data: dict, item_settings: Settings) -> None:
        try:
            fn(unit_data, item_settings)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, none is lost
            if getattr(exc, "retryable", False):
                transient.append(exc)
                return
            log.exception("item %s failed at %s", unit_data["item_id"], stage)
            unit_data["failed"] = stage
            unit = Unit(unit_data, settings)
            state = unit.state()
            state.setdefault("problems", []).append({
                "severity": "error", "file": "", "row": None, "item_id": unit.item_id,
                "message": f"stopped at stage {stage!r}: {type(exc).__name__}: {exc}"})
            state["failed_stage"] = stage
            write_json(unit.state_path, state)

    busy = [u for u in todo if u["action"] == "process"] if stage == "ocr" else []
    if len(busy) > 1:
        cores = settings.ocr_workers or os.cpu_count() or 1
        per_item = settings.model_copy(update={"ocr_workers": max(1, cores // len(busy))})
        with ThreadPoolExecutor(max_workers=min(cores, len(busy))) as pool:
            list(pool.map(lambda u: one(u, per_item), todo))
    else:
        for unit_data in todo:
            one(unit_data, settings)
    if transient:
        raise transient[0]
    return work_unit


# --- batch -------------------------------------------------------------------------------------

def catalogue(settings: Settings | None = None) -> str:
    """Rebuild the portals' catalogue from every published item's entry."""
    from publication.publish import write_catalogue
    from preservation.backends import open_storage

    from publication.feed import refresh
    from publication.portal_files import public_base_url

    settings = settings or get_settings()
    base = public_base_url(settings)  # before writing anything: refuse file:// links up front
    access = open_storage(settings.access_url, settings)
    uri = write_catalogue(access, now())
    refresh(access, now(), base, settings)  # per-portal catalogues and change feeds
    return uri


def serials(plan: dict, settings: Settings | None = None) -> list[dict]:
    """Write, preserve (a new version when changed) and publish the METS and IIIF Collection of
    every title and volume the batch touched (cadl.serials); [] for a batch without any."""
    if not plan:  # validate failed: nothing was planned, so no title to update
        return []
    settings = settings or get_settings()
    batch_json = Path(settings.work_dir) / plan["batch_id"] / "batch.json"
    if not batch_json.exists() or not any(
            i.get("parent") or i.get("is_container")
            for i in read_json(batch_json)["items"]):
        return []
    from cadl.serials import update_containers

    return update_containers(plan, settings)


def lift_embargoes(today: dt.date | None = None, settings: Settings | None = None) -> dict:
    """Republish items whose embargo ended and withdraw those whose rights changed, then
    rebuild the catalogues and feeds (DAG `lift_embargoes`); returns what changed."""
    from publication.embargo import lift_embargoes as lift

    settings = settings or get_settings()
    today = today or now().date()
    scratch = Path(settings.work_dir) / "lift-embargoes" / today.isoformat()
    result = lift(settings, today, scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    result["catalogue"] = catalogue(settings)
    if result["failed"]:
        from kernel.errors import PipelineError

        raise PipelineError("lift_embargoes could not republish: " + "; ".join(
            f"{f['item_id']}: {f['error']}" for f in result["failed"]))
    return result


def report(plan: dict, run_id: str, settings: Settings | None = None) -> dict:
    """Write the batch report (JSON and text) from every item's state; returns where it went."""
    from cadl.report import write_report

    settings = settings or get_settings()
    written = write_report(plan, run_id, settings, finished=now())
    failed = written["summary"].get("failed", 0)
    if failed:
        raise ItemsFailed(f"{failed} item(s) of batch {plan['batch_id']} failed; the report "
                          f"says where each stopped: {written['report_text']}")
    return written


def release(batch_dir: str, run_id: str, requested: bool = False,
            settings: Settings | None = None) -> dict:
    """Move the batch out of the landing zone if this run completed its custody.

    Only when `requested` (the landing-zone watch asks for it; `cadl run` does not), and only
    when this run's report shows every item preserved or quarantined; otherwise the batch
    stays untouched for a rerun. Returns the custody decision.
    """
    from ingest.custody import release_batch

    settings = settings or get_settings()
    path = Path(batch_dir).absolute()
    report_path = inside(settings.reports_dir, check_id(path.name, "batch_id"), "report.json")
    report_data = read_json(report_path) if report_path.exists() else {}
    if not requested:
        return {"decision": "kept", "reason": "release not requested for this run"}
    if report_data.get("run_id") != run_id:
        return {"decision": "kept", "reason": f"no report of run {run_id} for {path.name}"}
    return release_batch(path, report_data, settings, now())

