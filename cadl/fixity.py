"""The tasks of `audit_fixity` and `cadl audit`: pick the items, audit them, report, alert.

Orchestration only; the audit itself is `preservation.audit`. Two functions, each taking and
returning small JSON, so the DAG passes nothing but item ids between tasks:

- `plan` decides what a run audits: the items named (a manual run, `cadl audit ITEM…`), or the
  slice of the archive due on the run's day (CADL_AUDIT_CYCLE_DAYS slices, one per day, chosen
  by a hash of the item id, so every item is audited once per cycle whatever gets added);
- `run` audits them in preservation storage and in the replica, repairs what it can, writes
  `<reports>/audits/<stamp>-<scope>/audit.json` and `audit.txt`, and raises FixityFailed when
  anything was found, repaired or not, so that the task fails and its failure callback
  (`cadl.alerts.task_failed`) alerts the archivists.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

from kernel.errors import FixityFailed, UsageError
from kernel.settings import Settings, get_settings

log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _day(logical_date) -> dt.date:
    if logical_date is None:
        return _now().date()
    if isinstance(logical_date, dt.datetime):
        return logical_date.astimezone(dt.timezone.utc).date()
    if isinstance(logical_date, dt.date):
        return logical_date
    return dt.datetime.fromisoformat(str(logical_date)).astimezone(dt.timezone.utc).date()


def plan(items: list[str] | None = None, *, logical_date=None, slice_spec: str | None = None,
         all_items: bool = False, settings: Settings | None = None) -> dict:
    """What to audit: {"scope": str, "items": [ids]}.

    `items` wins; else `slice_spec` ("N/M": slice N of M); else `all_items`; else the slice of
    `logical_date`'s day in a cycle of CADL_AUDIT_CYCLE_DAYS. Raises UsageError for a malformed
    slice.
    """
    from preservation.audit import day_slice, item_slice, list_items
    from preservation.backends import open_storage

    settings = settings or get_settings()
    if items:
        return {"scope": "items " + ", ".join(items), "items": list(dict.fromkeys(items))}
    known = list_items(open_storage(settings.preservation_url, settings))
    if all_items:
        return {"scope": "all items", "items": known}
    if slice_spec:
        match = re.fullmatch(r"(\d+)/(\d+)", slice_spec.strip())
        if not match or not 0 <= int(match[1]) < int(match[2]):
            raise UsageError(f"slice {slice_spec!r}: use N/M with 0 ≤ N < M, e.g. 3/30")
        index, slices = int(match[1]), int(match[2])
    else:
        slices = settings.audit_cycle_days
        index = day_slice(_day(logical_date), slices)
    chosen = [i for i in known if item_slice(i, slices) == index]
    return {"scope": f"slice {index} of {slices}", "items": chosen}


def audit_agents(settings: Settings) -> list:
    """Who audits besides the code: the library keeping the copies (CADL_SOURCE_ORGANIZATION)
    and, when CADL_OPERATOR names one, the person running the audit."""
    from metadata.agents import library_premis_agent, person_premis_agent

    agents = [library_premis_agent(settings.source_organization)]
    if (settings.operator or "").strip():
        agents.append(person_premis_agent(settings.operator, note="operator (technician)"))
    return agents


def _refresh_published_histories(report, primary, settings: Settings) -> None:
    """The audit events just recorded reach the portals: each published item's history.xml and
    item.json `history` (publication.history). The audit's result does not depend on it."""
    from kernel.errors import PipelineError
    from preservation.backends import open_storage
    from publication.history import refresh_history

    try:
        access = open_storage(settings.access_url, settings)
        for item_id in sorted({v.item_id for v in report.versions}):
            refresh_history(access, primary, item_id)
    except (PipelineError, OSError, ValueError) as exc:
        log.warning("audit events not yet in the portals' history.xml: %s", exc)


def run(audit_plan: dict, *, repair: bool = True, settings: Settings | None = None) -> dict:
    """Audit the planned items; returns {"ok", "summary", "report_json", "report_text", …}.

    Raises FixityFailed (after the report and the PREMIS events are written) when any object was
    missing, altered or unexpected.
    """
    from preservation.audit import audit, write_report
    from preservation.backends import open_replica, open_storage

    settings = settings or get_settings()
    started = _now()
    primary = open_storage(settings.preservation_url, settings)
    report = audit(primary, audit_plan["items"], started, scope=audit_plan["scope"],
                   replica=open_replica(settings), repair=repair, clock=_now,
                   agents=audit_agents(settings))
    _refresh_published_histories(report, primary, settings)
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", audit_plan["scope"])[:60].strip("-")
    folder = Path(settings.reports_dir) / "audits" / f"{started:%Y%m%dT%H%M%SZ}-{label}"
    json_path, text_path = write_report(report, folder)
    result = {"ok": report.ok, "scope": report.scope, "summary": report.summary(),
              "report_json": str(json_path), "report_text": str(text_path)}
    log.info("fixity audit of %s: %s; report %s", report.scope, result["summary"], text_path)
    if not report.ok:
        s = report.summary()
        named = "; ".join(f"{v.item_id} v{v.version:04d} {p.location} {p.key}: {p.kind}"
                          f"{' (repaired)' if p.repaired else ''}"
                          for v in report.versions for p in v.problems)
        raise FixityFailed(f"fixity audit found {s['problems']} problem(s), {s['repaired']} "
                           f"repaired, {s['unrepaired']} not: {named[:2000]}; report: {text_path}",
                           report_text=str(text_path))
    return result


def versions(item_id: str, settings: Settings | None = None) -> list[dict]:
    """Every version of an item in preservation storage, oldest first, with its marker facts."""
    from preservation.versions import list_versions, read_marker
    from preservation.backends import open_storage

    settings = settings or get_settings()
    storage = open_storage(settings.preservation_url, settings)
    out = []
    for v in list_versions(storage, item_id):
        entry = {"version": v.number, "complete": v.complete,
                 "uri": storage.uri(v.prefix.rstrip("/"))}
        if v.complete:
            marker = read_marker(storage, item_id, v.number)
            entry.update(bag=storage.uri(v.prefix + marker["bag"]), deposited=marker["deposited"],
                         objects=marker["count"], bytes=marker["bytes"],
                         fingerprint=marker["fingerprint"])
        out.append(entry)
    return out
