"""The collection view for archivists: the whole collection above any single batch.

`collection_view` gathers, from what the pipeline already writes (no database of its own):
batches and their state (the batch reports), items by status per portal (the latest batch
report naming each item, corrected by review decisions), the review queue with ages
(`cadl.review`), the last fixity audit per item (the audit reports), recent alerts
(`alerts.jsonl`) and stored bytes and versions per portal (the deposit markers).
`render_collection` lays it out as one page (autoescaped Jinja, lang and dir on every title,
a phone-width layout); the Airflow plugin in `plugins/cadl_collection.py` and `cadl serve`
serve that page.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter, defaultdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from kernel.settings import Settings, get_settings

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE = "collection.html.j2"
STATUSES = ("published", "preserved", "held", "quarantined", "failed")
PORTALS = ("zh", "ar")
RECENT_ALERTS = 20


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        log.error("skipped %s: %s", path, exc)
        return None


def _title_view(title: str, languages: list[str], direction: str) -> dict:
    from kernel.languages import language

    tag = languages[0] if languages else None
    try:
        text_dir = language(tag).direction if tag else "auto"
    except (KeyError, ValueError):
        text_dir = "auto"
    return {"text": title, "lang": tag, "dir": text_dir, "reading_direction": direction}


def _batches(settings: Settings) -> tuple[list[dict], dict[str, dict]]:
    """Every batch report, newest first, and each item's latest entry across them."""
    reports = []
    for path in Path(settings.reports_dir).glob("*/report.json"):
        report = _read(path)
        if report and "items" in report:
            reports.append(report)
    reports.sort(key=lambda r: r.get("finished") or "")
    latest: dict[str, dict] = {}
    for report in reports:
        for item in report["items"]:
            latest[item["item_id"]] = {**item, "batch_id": report["batch_id"]}
    batches = []
    for report in reversed(reports):
        s = report["summary"]
        custody = _read(Path(settings.reports_dir) / report["batch_id"] / "custody.json") \
            if (Path(settings.reports_dir) / report["batch_id"] / "custody.json").exists() else None
        state = ("failed" if s.get("failed") else "waiting for review" if s.get("held")
                 else "quarantined" if s.get("quarantined") and not s.get("published")
                 and not s.get("preserved") else "done")
        batches.append({"batch_id": report["batch_id"], "finished": report.get("finished"),
                        "state": state, "summary": s,
                        "custody": (custody or {}).get("decision"),
                        "report": _report_url(settings, report["batch_id"])})
    return batches, latest


def _report_url(settings: Settings, batch_id: str) -> str:
    if settings.reports_base_url:
        return f"{settings.reports_base_url.rstrip('/')}/{batch_id}/report.html"
    return (Path(settings.reports_dir) / batch_id / "report.html").as_uri()


def _audits(settings: Settings) -> dict[str, dict]:
    """The last fixity audit of each item: when, status, problems found and repaired."""
    last: dict[str, dict] = {}
    for path in sorted((Path(settings.reports_dir) / "audits").glob("*/audit.json")):
        report = _read(path)
        if not report:
            continue
        per_item: dict[str, list] = defaultdict(list)
        for version in report.get("versions", []):
            per_item[version["item_id"]].append(version)
        for item_id, versions in per_item.items():
            problems = [p for v in versions for p in v.get("problems", [])]
            status = ("damaged" if any(v["status"] == "damaged" for v in versions)
                      else "repaired" if problems else "ok")
            last[item_id] = {"at": report.get("started"), "status": status,
                             "versions": len(versions), "problems": len(problems),
                             "repaired": sum(bool(p.get("repaired")) for p in problems),
                             "details": [f"v{v['version']:04d} {p['location']} {p['key']}: "
                                         f"{p['kind']}{' (repaired)' if p.get('repaired') else ''}"
                                         for v in versions for p in v.get("problems", [])][:5],
                             "report": path.with_name("audit.txt").as_uri()}
    return last


def _alerts(settings: Settings) -> list[dict]:
    from cadl.alerts import read_alerts

    return list(reversed(read_alerts(settings.reports_dir)[-RECENT_ALERTS:]))


def _storage(settings: Settings, items: dict[str, dict]) -> dict:
    """Preserved versions and bytes per portal (an item shown on both counts in both)."""
    from preservation.audit import list_items
    from preservation.versions import list_versions, read_marker
    from preservation.backends import open_storage

    storage = open_storage(settings.preservation_url, settings)
    per_portal = {p: {"items": 0, "versions": 0, "bytes": 0} for p in (*PORTALS, "all")}
    per_item = {}
    for item_id in list_items(storage):
        versions = [v for v in list_versions(storage, item_id) if v.complete]
        size = sum(read_marker(storage, item_id, v.number)["bytes"] for v in versions)
        per_item[item_id] = {"versions": len(versions), "bytes": size}
        portals = (items.get(item_id) or {}).get("portals") or []
        for portal in [p for p in portals if p in PORTALS] + ["all"]:
            per_portal[portal]["items"] += 1
            per_portal[portal]["versions"] += len(versions)
            per_portal[portal]["bytes"] += size
    return {"per_portal": per_portal, "per_item": per_item}


def collection_view(settings: Settings | None = None, now: dt.datetime | None = None) -> dict:
    """Everything the collection page shows, as plain JSON-ready data (see the module doc)."""
    from cadl.review import review_queue

    settings = settings or get_settings()
    now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    batches, latest = _batches(settings)
    queue = review_queue(settings, now)
    audits = _audits(settings)
    storage = _storage(settings, latest)
    counts = {p: Counter() for p in (*PORTALS, "all")}
    items = []
    for item_id, item in sorted(latest.items()):
        status = item["status"] if item["status"] in STATUSES else "failed"
        portals = [p for p in item.get("portals") or [] if p in PORTALS]
        for portal in portals + ["all"]:
            counts[portal][status] += 1
        items.append({"item_id": item_id, "batch_id": item["batch_id"], "status": status,
                      "portals": portals, "version": item.get("version"),
                      "title": _title_view(item.get("title") or "", item.get("languages") or [],
                                           item.get("reading_direction") or "ltr"),
                      "audit": audits.get(item_id),
                      "stored": storage["per_item"].get(item_id),
                      "reviews": item.get("reviews") or []})
    for entry in queue:
        entry["title_view"] = _title_view(entry["title"], entry["languages"],
                                          entry["reading_direction"])
    return {
        "generated": now.isoformat(),
        "batches": batches,
        "statuses": list(STATUSES),
        "counts": {p: {s: counts[p].get(s, 0) for s in STATUSES} for p in counts},
        "queue": queue,
        "review_deadline_hours": settings.review_deadline_hours,
        "items": items,
        "alerts": _alerts(settings),
        "storage": storage["per_portal"],
    }


def render_collection(view: dict) -> str:
    """The collection page; every value is escaped by the template engine (autoescape)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["bytes"] = _human_bytes
    return env.get_template(TEMPLATE).render(**view)


def _human_bytes(n: int | None) -> str:
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
