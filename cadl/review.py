"""Archivists decide about held items: publish as is, re-OCR with other settings, or return.

An item whose OCR the quality check flagged is `held`: preserved, not published. `decide` is
the one function through which a person acts on it, whether from the Airflow review task of
`ingest_batch` or from `cadl review decide`:

- publish: the preserved version is published as is (catalogue, IIIF, OAI-PMH);
- reocr: the preserved masters go through the pipeline's own stages again with another engine,
  model set or preprocessing; the result is a new version, checked again (published when clean,
  held again when not);
- return: the item goes back to the scanner station: quarantined with the archivist's reason,
  which the next pre-flight report (`cadl validate`) of a batch holding it shows.

Every decision needs the person's name and a comment and becomes a PREMIS review event beside
the version decided on (`preservation.history`), which publication carries to the portals and
the batch report shows. The queue is derived from per-item state (the publication records in
preservation storage and the items' event history), never kept in a second database.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from pathlib import Path

from kernel import __version__
from kernel.errors import PipelineError, UsageError
from kernel.ids import check_id
from kernel.locks import held
from kernel.paths import inside
from kernel.settings import Settings, get_settings

log = logging.getLogger(__name__)

DECISIONS = ("publish", "reocr", "return")
LOCK_SECONDS = 3600.0  # a re-OCR holds its item's lock while it reads the pages again


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _reason(pages: list[dict]) -> str:
    """Why an item was held, one phrase per flagged page: 'page 1 (0001.png): low_confidence,
    confidence 31.2'."""
    parts = []
    for p in pages:
        conf = p.get("confidence")
        parts.append(f"page {p['seq']} ({p.get('original_name')}): {', '.join(p['flags'])}"
                     + (f", confidence {conf:.1f}" if isinstance(conf, (int, float)) else ""))
    return "; ".join(parts) or "no flagged page recorded"


def _report_link(settings: Settings, batch_id: str, item_id: str) -> str:
    """Where the item's section of its batch report is: served (CADL_REPORTS_BASE_URL) or a file."""
    if settings.reports_base_url:
        return f"{settings.reports_base_url.rstrip('/')}/{batch_id}/report.html#item-{item_id}"
    return (Path(settings.reports_dir) / batch_id / "report.html").as_uri() + f"#item-{item_id}"


def _held(preservation, settings: Settings, now: dt.datetime) -> list[dict]:
    """Every held item whose held version is still its latest, with its decisions so far."""
    from preservation.versions import latest_version
    from preservation.history import reviews
    from publication.rights import read_records

    found = []
    for record in read_records(preservation):
        held = record.get("held")
        if not held:
            continue
        item_id = record["item"]["item_id"]
        marker = latest_version(preservation, item_id)
        if marker is None or marker["version"] != held["version"]:
            continue  # a later version was made since (re-OCR, or a corrected batch)
        since = dt.datetime.fromisoformat(held["since"])
        age = (now - since).total_seconds() / 3600
        decided = [r for r in reviews(preservation, item_id) if r["version"] == held["version"]]
        found.append({
            "item_id": item_id, "batch_id": record["batch_id"], "version": held["version"],
            "title": record["item"]["title"], "languages": record["item"]["languages"],
            "reading_direction": record["item"]["reading_direction"],
            "held_since": held["since"], "age_hours": round(age, 1),
            "overdue": age > settings.review_deadline_hours,
            "reason": _reason(held["pages"]), "pages": held["pages"],
            "report": _report_link(settings, record["batch_id"], item_id),
            "decisions": decided, "record": record,
        })
    return sorted(found, key=lambda e: (e["held_since"], e["item_id"]))


def review_queue(settings: Settings | None = None, now: dt.datetime | None = None,
                 batch_id: str | None = None) -> list[dict]:
    """Items waiting for a decision, oldest first (optionally of one batch).

    Each: item_id, batch_id, version, title, languages, reading_direction, held_since,
    age_hours, overdue (older than CADL_REVIEW_DEADLINE_HOURS), reason (pages and flags), pages,
    report (link to the item's section of the batch report).
    """
    from preservation.backends import open_storage

    settings = settings or get_settings()
    preservation = open_storage(settings.preservation_url, settings)
    queue = []
    for entry in _held(preservation, settings, now or _now()):
        if entry.pop("decisions") or (batch_id and entry["batch_id"] != batch_id):
            continue
        entry.pop("record")
        queue.append(entry)
    return queue


def check_decision(decision: str, by: str, comment: str, options: dict) -> None:
    """Refuse a decision that `decide` would refuse before touching anything (UsageError)."""
    if decision not in DECISIONS:
        raise UsageError(f"unknown decision {decision!r}: use publish, reocr or return")
    if not (by or "").strip():
        raise UsageError("every decision needs the name of the person taking it (--by NAME)")
    if not (comment or "").strip():
        raise UsageError("every decision needs a comment saying why (--comment TEXT)")
    if decision != "reocr" and any(options.values()):
        raise UsageError("--engine, --preprocess and --tessdata apply to reocr only")
    if decision == "reocr":
        if not any(options.values()):
            raise UsageError("reocr needs other OCR settings than the held version's: give "
                             "--engine, --preprocess or --tessdata")
        from ocr.routing import ENGINES

        if options.get("engine") and options["engine"] not in ENGINES:
            raise UsageError(f"unknown OCR engine {options['engine']!r}; available: "
                             + ", ".join(ENGINES))


def decide(item_id: str, decision: str, by: str, comment: str, *, engine: str | None = None,
           preprocess: str | None = None, tessdata: str | None = None,
           settings: Settings | None = None, now: dt.datetime | None = None) -> dict:
    """Apply an archivist's decision about a held item; returns what was done.

    Returns {item_id, batch_id, decision, by, comment, version, event, status, access,
    quarantine, new_version}. Raises UsageError for a missing name or comment, an unknown
    decision or engine, an item that is not waiting for review (never held, already decided,
    superseded), or re-OCR settings identical to the held version's.
    """
    from preservation.backends import open_storage

    options = {"engine": engine, "preprocess": preprocess, "tessdata": tessdata}
    check_decision(decision, by, comment, options)
    check_id(item_id)
    settings = settings or get_settings()
    now = now or _now()
    preservation = open_storage(settings.preservation_url, settings)
    # One decision per item at a time (the UI and the command line may answer together), and
    # one patch of a batch's report at a time (decisions on its items apply in parallel tasks).
    with held(_lock(settings, f"item-{item_id}"), LOCK_SECONDS, f"the decision on {item_id}"):
        return _decide_locked(item_id, decision, by, comment, options, settings, now,
                              preservation)


def _lock(settings: Settings, name: str) -> Path:
    return inside(settings.reports_dir, ".review-locks", f"{name}.lock")


def _decide_locked(item_id, decision, by, comment, options, settings, now, preservation):
    entry = next((e for e in _held(preservation, settings, now) if e["item_id"] == item_id),
                 None)
    if entry is None:
        raise UsageError(f"{item_id} is not waiting for review (see `cadl review list`): it "
                         "was never held, was published or returned, or has a newer version")
    if entry["decisions"]:
        last = entry["decisions"][-1]
        raise UsageError(f"{item_id} version {entry['version']} was already decided: "
                         f"{last['decision']} by {last['by']} on {last['at']}")
    by, comment = by.strip(), comment.strip()
    if decision == "publish":
        result = _publish(entry, by, comment, settings, now, preservation)
    elif decision == "return":
        result = _return(entry, by, comment, settings, now, preservation)
    else:
        result = _reocr(entry, by, comment, options, settings, now, preservation)
    result.update(item_id=item_id, batch_id=entry["batch_id"], decision=decision, by=by,
                  comment=comment)
    with held(_lock(settings, f"batch-{entry['batch_id']}"), LOCK_SECONDS,
              f"the report of batch {entry['batch_id']}"):
        _update_batch(entry, result, settings, now)
    log.info("review of %s v%d: %s by %s → %s", item_id, entry["version"], decision, by,
             result["status"])
    return result


def _record(entry: dict, decision: str, by: str, comment: str, now: dt.datetime,
            preservation, settings: Settings, action: str | None = None) -> dict:
    """The PREMIS review event beside the decided version, in both preservation copies."""
    from metadata.events import review_record
    from preservation.history import write_record
    from preservation.backends import open_replica

    package = f"items/{entry['item_id']}/v{entry['version']:04d}"
    import uuid

    from metadata.agents import item_premis_agents

    # the partner that holds the item and the library, beside the reviewer and the code
    organizations = [a for a in item_premis_agents(_item(entry), settings)
                     if a.type == "organization"]
    body, event_id = review_record(package, decision, by, comment, now, entry["reason"],
                                   __version__, action, organizations=organizations)
    key = write_record(preservation, entry["item_id"], entry["version"], body, "review", now,
                       lambda: uuid.UUID(event_id))
    replica = open_replica(settings)
    if replica is not None:
        try:  # the same record under the same key: either copy holds the whole history
            write_record(replica, entry["item_id"], entry["version"], body, "review", now,
                         lambda: uuid.UUID(event_id))
        except (PipelineError, ValueError, OSError) as exc:  # the audit replicates it later
            log.warning("review event of %s not written to the replica: %s", entry["item_id"],
                        exc)
    return {"event_id": event_id, "version": entry["version"], "decision": decision, "by": by,
            "comment": comment, "reason": entry["reason"], "at": now.isoformat(),
            "record": preservation.uri(key)}


def _item(entry: dict):
    from ingest.models import Item

    return Item.model_validate(entry["record"]["item"])


def _publish(entry: dict, by: str, comment: str, settings: Settings, now: dt.datetime,
             preservation) -> dict:
    from cadl.pipeline import catalogue
    from publication.access import publish_preserved

    event = _record(entry, "publish", by, comment, now, preservation, settings)
    record = entry["record"]
    scratch = Path(settings.work_dir) / "_review" / f"{entry['item_id']}-{now:%Y%m%dT%H%M%S}"
    try:
        outcome = publish_preserved(_item(entry), record["batch_id"], record["deposit"],
                                    record["fingerprint"], scratch, settings, now.date())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    catalogue(settings)
    return {"event": event, "status": outcome["status"], "access": outcome.get("access"),
            "pages": outcome["pages"], "version": entry["version"], "new_version": False}


def _download_masters(entry: dict, dest: Path, preservation) -> Path:
    """The preserved masters of the held version, at their batch paths under `dest`, verified."""
    from preservation.versions import latest_version
    from preservation.storage import file_sha512

    marker = latest_version(preservation, entry["item_id"])
    bag = f"{marker['prefix']}{marker['bag']}/"
    for page in _item(entry).pages:
        target = dest / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        preservation.download(f"{bag}data/masters/{page.master_name}", target)
        if file_sha512(target) != page.sha512:
            raise PipelineError(f"{entry['item_id']}: preserved master {page.master_name} does "
                                "not match its recorded sha512; run `cadl audit "
                                f"{entry['item_id']}` before deciding")
    return dest


def _return(entry: dict, by: str, comment: str, settings: Settings, now: dt.datetime,
            preservation) -> dict:
    from ingest.custody import return_item

    item = _item(entry)
    scratch = Path(settings.work_dir) / "_review" / f"{entry['item_id']}-{now:%Y%m%dT%H%M%S}"
    landing = Path(settings.landing_dir) / entry["batch_id"] / item.item_id
    try:
        if landing.is_dir() and not landing.is_symlink():
            source = landing  # the scanner's own files, still in custody
        else:
            source = _download_masters(entry, scratch / "masters", preservation) / item.item_id
        event = _record(entry, "return", by, comment, now, preservation, settings)
        where = return_item(item.model_dump(mode="json"), entry["batch_id"], source, comment,
                            by, settings, now, version=entry["version"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"event": event, "status": "quarantined", "quarantine": str(where),
            "version": entry["version"], "new_version": False}


def _reocr(entry: dict, by: str, comment: str, options: dict, settings: Settings,
           now: dt.datetime, preservation) -> dict:
    """Run the pipeline's stages on the preserved masters with other OCR settings."""
    from cadl import pipeline
    from cadl.stages import write_json
    from ingest.models import Batch
    from ocr.recognize import preprocess_steps

    item = _item(entry)
    update: dict = {}
    if options.get("preprocess"):
        update["ocr_preprocess"] = options["preprocess"]
    if options.get("engine"):  # every language of the item read by that engine (ocr.routing)
        from ocr.routing import engine_for

        changed = [tag for tag in item.languages if engine_for(
            tag, item.reading_direction, settings.ocr_engines) != options["engine"]]
        if changed:  # unchanged routing keeps the setting, so the fingerprint tells
            update["ocr_engines"] = "; ".join(
                [settings.ocr_engines] + [f"{tag}={options['engine']}" for tag in changed])
    if options.get("tessdata"):
        folder = Path(options["tessdata"])
        if not folder.is_dir():
            raise UsageError(f"--tessdata {folder}: no such folder of .traineddata models")
        update["tessdata_dir"] = folder
    root = Path(settings.work_dir) / "_review" / f"{item.item_id}-{now:%Y%m%dT%H%M%S}"
    update["work_dir"] = root
    local = settings.model_copy(update=update)
    try:
        preprocess_steps(local, item.languages)
    except ValueError as exc:
        raise UsageError(f"--preprocess {options.get('preprocess')!r}: {exc}") from None
    fingerprint = pipeline.fingerprint(item, pipeline.processing_profile(local))
    if fingerprint == entry["record"]["fingerprint"]:
        raise UsageError(f"{item.item_id} version {entry['version']} was made with these very "
                         "OCR settings; choose another engine, model set or preprocessing")
    try:
        masters = _download_masters(entry, root / "_masters", preservation)
        batch = Batch(batch_id=entry["batch_id"], path=str(masters), received_at=now,
                      manifest_sha512="", items=[item])
        unit = {"batch_id": entry["batch_id"], "item_id": item.item_id, "action": "process"}
        work = root / entry["batch_id"]
        write_json(work / "batch.json", batch.model_dump(mode="json"))
        write_json(work / item.item_id / "state.json",
                             {"status": "planned", "fingerprint": fingerprint, "problems": []})
        for stage in ("ocr", "describe", "package", "deposit"):
            pipeline.STAGES[stage](unit, local)
        state = pipeline.Unit(unit, local).state()
        new = state["deposit"]["version"]
        action = (f"re-OCR as version {new} with "
                  + ", ".join(f"{k}={v}" for k, v in options.items() if v))
        event = _record(entry, "reocr", by, comment, now, preservation, settings, action)
        pipeline.publish(unit, local)  # checked again: published if clean, else held again
        state = pipeline.Unit(unit, local).state()
        pipeline.catalogue(settings)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"event": event, "status": state["status"], "access": state.get("access"),
            "bag": state.get("bag"), "pages": state.get("pages"), "version": new,
            "new_version": True, "deposit": state["deposit"], "fingerprint": fingerprint,
            "stages": state.get("stages", {})}


def _update_batch(entry: dict, result: dict, settings: Settings, now: dt.datetime) -> None:
    """Show the decision in the batch report (and in the item's work state, if still there).

    The work state feeds a later `report` task of the same run (the review task sits before
    it); the written report is patched and re-rendered for a decision taken after the run.
    """
    from cadl.report import html_report, render_text

    review = result["event"]
    changes = {"status": result["status"]}
    for key in ("access", "quarantine", "bag", "pages"):
        if result.get(key) is not None:
            changes[key] = result[key]
    state_path = Path(settings.work_dir) / entry["batch_id"] / entry["item_id"] / "state.json"
    if state_path.exists():
        state = json.loads(state_path.read_text("utf-8"))
        state.update(changes)
        if result.get("deposit"):
            state["deposit"] = result["deposit"]
            state["fingerprint"] = result["fingerprint"]
        state.setdefault("reviews", []).append(review)
        _write(state_path, json.dumps(state, ensure_ascii=False, indent=2))
    folder = Path(settings.reports_dir) / entry["batch_id"]
    report_path = folder / "report.json"
    if not report_path.exists():
        return
    report = json.loads(report_path.read_text("utf-8"))
    for item in report["items"]:
        if item["item_id"] == entry["item_id"]:
            item.update(changes)
            item["version"] = result["version"]
            item["new_version"] = result["new_version"]
            item.setdefault("reviews", []).append(review)
    statuses = [i["status"] for i in report["items"]]
    for status in ("published", "held", "preserved", "quarantined", "invalid", "failed"):
        report["summary"][status] = statuses.count(status)
    batch_file = Path(settings.work_dir) / entry["batch_id"] / "batch.json"
    batch = json.loads(batch_file.read_text("utf-8")) if batch_file.exists() else None
    _write(report_path, json.dumps(report, ensure_ascii=False, indent=2))
    _write(folder / "report.txt", render_text(report))
    _write(folder / "report.html", html_report(report, batch, settings))


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(path)
