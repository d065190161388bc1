"""Reviews past their deadline: an alert each, never an automatic publication.

`ingest_batch`'s review task alerts when its own deadline passes (`cadl.review_task`), but only
while a run waits. Items held by `cadl run` (which has no review task) and items held again
after a re-OCR wait in `cadl review list` with no task at all. The hourly `review_overdue` DAG
sweeps every held item with `overdue_reviews(only_new=True)`: one alert per item and held
version, whichever of the two raised it first.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kernel.settings import Settings, get_settings


def overdue_reviews(settings: Settings | None = None, now: dt.datetime | None = None,
                    batch_id: str | None = None, only_new: bool = False) -> list[dict]:
    """Reviews waiting longer than CADL_REVIEW_DEADLINE_HOURS; each gets one alert.

    `only_new` (the hourly `review_overdue` sweep) leaves out items already alerted about since
    they were held, by the sweep or by their review task's deadline, so a forgotten item
    alerts once, not every hour. Never publishes anything: an undecided review stays held until
    a person decides.
    """
    from cadl.alerts import Alert, record_alert
    from cadl.review import review_queue

    settings = settings or get_settings()
    late = [e for e in review_queue(settings, now, batch_id) if e["overdue"]]
    if only_new:
        told = _overdue_alerts(settings)
        late = [e for e in late if not any(
            message.startswith(f"{e['item_id']} (batch {e['batch_id']})") and at >= since
            for at, message in told for since in [dt.datetime.fromisoformat(e["held_since"])])]
    for entry in late:
        record_alert(Alert(
            kind="review_overdue", dag_id="ingest_batch", run_id=entry["batch_id"],
            batch_dir=str(Path(settings.landing_dir) / entry["batch_id"]),
            message=f"{entry['item_id']} (batch {entry['batch_id']}) has waited "
                    f"{entry['age_hours']:g} hours for a review decision, more than the "
                    f"{settings.review_deadline_hours:g} allowed; it stays held, unpublished. "
                    f"Held for: {entry['reason']}. Report: {entry['report']}"),
            reports_dir=settings.reports_dir)
    return late


def _overdue_alerts(settings: Settings) -> list[tuple[dt.datetime, str]]:
    """(time, message) of every review_overdue alert in alerts.jsonl."""
    from cadl.alerts import read_alerts

    return [(dt.datetime.fromisoformat(a["at"]), a.get("message", ""))
            for a in read_alerts(settings.reports_dir)
            if a.get("kind") == "review_overdue" and a.get("at")]
