"""The per-batch report: what happened to every item, for technicians, archivists and scripts.

Built only from files in the work folder (the plan's items' `state.json`, `validation.json`),
never from task results, so it is complete even when some tasks failed.
"""

import datetime as dt
import json
import logging
import re
from pathlib import Path

from cadl.report_html import html_report
from kernel.ids import check_id
from kernel.paths import inside
from kernel.settings import Settings
from kernel.text import terminal_safe
from ingest.models import where

log = logging.getLogger(__name__)

STAGES = ("ocr", "describe", "package", "deposit", "publish")


def _item_entry(batch_work: Path, item: dict) -> dict:
    state_path = inside(batch_work, check_id(item["item_id"], "item_id"), "state.json")
    state = json.loads(state_path.read_text("utf-8")) if state_path.exists() else {}
    status = state.get("status", "failed")
    entry = {
        "item_id": item["item_id"],
        "status": status,
        "title": item["title"],
        "languages": item["languages"],
        "reading_direction": item["reading_direction"],
        "rights": item["rights"],
        "portals": item["portals"],
        "bag": state.get("bag"),
        "access": state.get("access"),
        "quarantine": state.get("quarantine"),  # copy of an invalid item, with its report
        "version": (state.get("deposit") or {}).get("version"),
        "new_version": (state.get("deposit") or {}).get("new"),
        "problems": state.get("problems", []),
        "stages": state.get("stages", {}),
        "reviews": state.get("reviews", []),  # archivists' decisions (cadl.review)
        "pages": state.get("pages") or [
            {"seq": p["seq"], "original_name": p["original_name"], "master": None, "text": None,
             "alto": None, "hocr": None, "confidence": None} for p in item["pages"]],
    }
    # Issue 18: the catalogue record the item was described from, where each field came from,
    # and where the item sits in a serial or multi-volume work.
    record = item.get("catalogue_record")
    if record:
        entry["record"] = {"control_number": record["control_number"],
                           "format": record["format"], "source": record["source"]}
        entry["sources"] = item.get("sources") or {}
    if item.get("parent") or item.get("is_container"):
        entry["hierarchy"] = {
            "parent": item.get("parent"), "volume": item.get("volume"),
            "issue": item.get("issue"), "part": item.get("part"),
            "sequence": item.get("sequence"), "container": item.get("is_container", False),
            "ancestors": [{"item_id": a["item_id"], "type": a["type"], "title": a["title"]}
                          for a in item.get("ancestors") or []]}
    if status in ("planned", "failed") and state.get("failed_stage"):
        entry["status"] = "failed"  # run_stage recorded the stage and the error as a problem
    elif status in ("planned", "failed"):
        # The task died without recording (killed, or an upstream task failed): the first
        # stage not done is where the item stopped.
        done = [s for s in STAGES if s in entry["stages"]]
        failed_at = next((s for s in STAGES if s not in done), "publish")
        entry["status"] = "failed"
        entry["problems"].append({"severity": "error", "file": "", "item_id": item["item_id"],
                                  "row": None, "message": f"stopped at stage {failed_at!r}: "
                                  "see that task's log in Airflow"})
    return entry


def build_report(plan: dict | None, validation: dict, batch: dict | None, run_id: str,
                 settings: Settings, finished: dt.datetime) -> dict:
    batch_id = check_id(Path(validation["batch_dir"]).name, "batch_id")
    batch_work = inside(settings.work_dir, batch_id)
    items = [_item_entry(batch_work, item) for item in (batch or {}).get("items", [])]
    counts = {s: sum(i["status"] == s for i in items)
              for s in ("published", "held", "preserved", "quarantined", "invalid", "failed")}
    containers_file = batch_work / "containers.json"  # titles and volumes (cadl.serials)
    containers = (json.loads(containers_file.read_text("utf-8"))
                  if containers_file.exists() else [])
    for container in containers:  # a title or volume row: its package is the serials task's
        for item in items:
            if item["item_id"] == container["item_id"]:
                item.update(bag=container.get("bag"), access=container.get("access"),
                            version=container["version"], new_version=container["new"])
    quarantine_file = batch_work / "quarantine.json"  # the whole batch, when unreadable
    quarantine = (json.loads(quarantine_file.read_text("utf-8"))["quarantine"]
                  if quarantine_file.exists() else None)
    rows_file = batch_work / "rows_quarantined.json"  # rows whose item_id is no id
    rows = json.loads(rows_file.read_text("utf-8")) if rows_file.exists() else []
    return {
        "batch_id": batch_id,
        "batch_dir": validation["batch_dir"],
        "run_id": run_id,
        "started": (plan or {}).get("started"),
        "finished": finished.isoformat(),
        "summary": {"items": len(items), **counts,
                    "pages": sum(len(i["pages"]) for i in items)},
        "problems": [p for p in validation["problems"] if not p.get("item_id")],
        "quarantine": quarantine,
        "rows_quarantined": rows,
        "catalogue": settings.access_url.rstrip("/") + "/catalogue.json",
        "items": items,
        "containers": containers,
    }


def render_text(report: dict) -> str:
    """The report as a technician reads it: one block per item, every problem with its file."""
    s = report["summary"]
    out = [f"Batch {report['batch_id']}  ({report['batch_dir']})",
           f"Run {report['run_id']}, finished {report['finished']}",
           f"{s['items']} items, {s['pages']} pages: {s['published']} published, "
           f"{s['held']} held for review, "
           f"{s['preserved']} preserved only, {s['quarantined']} quarantined, "
           f"{s['failed']} failed", ""]
    if report.get("quarantine"):
        out.append(f"  the whole batch is quarantined: {report['quarantine']}")
    for p in report["problems"]:
        out.append(f"  [{p['severity']}] {where(p['file'], p.get('row'))}: {p['message']}")
    for r in report.get("rows_quarantined", []):
        out.append(f"  manifest.csv line {r['row']} is not an item; quarantined: "
                   f"{r['quarantine']}")
    for item in report["items"]:
        out.append(f"{item['item_id']}: {item['status'].upper()}  “{item['title']}”  "
                   f"[{';'.join(item['languages'])}, {item['reading_direction']}, "
                   f"{item['rights']}]")
        if item["bag"]:
            out.append(f"    bag     {item['bag']}  (version {item['version']}"
                       f"{', new' if item['new_version'] else ', already preserved'})")
        if item["access"]:
            out.append(f"    access  {item['access']}")
        if item.get("quarantine"):
            out.append(f"    quarantine  {item['quarantine']}")
        if item.get("record"):
            rec = item["record"]
            fields = ", ".join(f"{k} ({v})" for k, v in sorted(item.get("sources", {}).items()))
            out.append(f"    record  {rec['control_number']} ({rec['format']}, {rec['source']})"
                       f": {fields}")
        if (item.get("hierarchy") or {}).get("parent"):
            h = item["hierarchy"]
            out.append(f"    part of {h['parent']}" + "".join(
                f", {k} {h[k]}" for k in ("volume", "issue", "part") if h.get(k)))
        for p in item["problems"]:
            out.append(f"    [{p['severity']}] {where(p['file'], p.get('row'), item['item_id'])}: "
                       f"{p['message']}")
        for page in item["pages"]:
            conf = page.get("confidence")
            out.append(f"    page {page['seq']:>3}  {page['original_name']}"
                       + (f"  confidence {conf:.1f}" if conf is not None else "")
                       + (f"  OCR flags: {', '.join(page['flags'])}"
                          if page.get("flags") else ""))
    out += ["", f"Catalogue: {report['catalogue']}"]
    for c in report.get("containers") or []:
        out.append(f"{c['item_id']}: {c['type'].upper()} package version {c['version']} "
                   f"({'new' if c['new'] else 'unchanged'}), {len(c['children'])} part(s) in "
                   f"order: {', '.join(c['children'])}")
    # Names, titles and OCR-derived messages come from outside: each line is shown with its
    # control, escape and bidi-override characters escaped (and a newline in a name cannot
    # start a fake line).
    return "\n".join(terminal_safe(line) for line in out) + "\n"


def write_report(plan: dict | None, run_id: str, settings: Settings, finished: dt.datetime,
                 batch_id: str | None = None) -> dict:
    """Write report.json, report.txt and report.html for the batch (latest, and a copy per run)."""
    batch_id = check_id(batch_id or plan["batch_id"], "batch_id")
    batch_work = inside(settings.work_dir, batch_id)
    validation = json.loads((batch_work / "validation.json").read_text("utf-8"))
    batch_file = batch_work / "batch.json"
    batch = json.loads(batch_file.read_text("utf-8")) if batch_file.exists() else None
    report = build_report(plan, validation, batch, run_id, settings, finished)
    out = inside(settings.reports_dir, batch_id)
    run_dir = out / "runs" / re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    report["report_json"] = str(out / "report.json")
    report["report_text"] = str(out / "report.txt")
    report["report_html"] = str(out / "report.html")
    text = render_text(report)
    html = html_report(report, batch, settings)
    data = json.dumps(report, ensure_ascii=False, indent=2)
    for folder in (run_dir, out):
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in (("report.json", data), ("report.txt", text),
                              ("report.html", html)):
            tmp = folder / (name + ".tmp")
            tmp.write_text(content, "utf-8")
            tmp.replace(folder / name)
    log.info("batch report for %s: %s", batch_id, Path(report["report_html"]).as_uri())
    return {"report_json": report["report_json"], "report_text": report["report_text"],
            "report_html": report["report_html"], "summary": report["summary"]}
