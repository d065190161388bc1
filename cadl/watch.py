"""The landing-zone watch: which batches `watch_landing` should hand to `ingest_batch` now.

A short scheduled scan (simpler to reason about than a file-system watcher, and idempotent):
every batch folder with `READY` gets one `ingest_batch` run per *attempt*. Each attempt is
claimed in a state record under `<work_dir>/.watch/` before it is triggered, and its run id is
derived from it (`watch__<batch_id>__<n>`), so a second scan, or a second trigger of the same
attempt, never starts a second run of a batch.

A run ends in one of three ways, read from `<reports>/<batch_id>/custody.json`:
- released (the batch left the landing zone): nothing more to do;
- deferred (files were still changing): a new attempt at the next scan, automatically;
- kept (some item failed) or no record at all (crashed, or still running): the batch waits
  until a person writes `RETRY` into its folder (newer than the last attempt), or while
  `CADL_WATCH_AUTO_RETRIES` allows more automatic attempts.
"""

import datetime as dt
import json
import logging
from pathlib import Path

from kernel.paths import inside
from kernel.settings import Settings, get_settings

log = logging.getLogger(__name__)

READY, RETRY = "READY", "RETRY"


def _state_path(settings: Settings, batch_id: str) -> Path:
    # ".watch" cannot clash with a batch: batch ids never start with a dot.
    return inside(settings.work_dir, ".watch", f"{batch_id}.json")


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
    tmp.replace(path)


def run_id_for(batch_id: str, attempt: int) -> str:
    return f"watch__{batch_id}__{attempt}"


def _why_start(batch: Path, state: dict | None, settings: Settings) -> str | None:
    """Why a new attempt should start now, or None to leave the batch alone."""
    if state is None:
        return "new batch"
    last = state["attempts"][-1]
    custody = _read(inside(settings.reports_dir, batch.name, "custody.json")) or {}
    outcome = custody.get("decision") if custody.get("run_id") == last["run_id"] else None
    if outcome == "deferred":
        return "files were still changing at the last attempt"
    retry = batch / RETRY
    if retry.is_file() and retry.stat().st_mtime > dt.datetime.fromisoformat(
            last["claimed"]).timestamp():
        return "RETRY written by a person"
    if outcome == "kept" and len(state["attempts"]) <= settings.watch_auto_retries:
        return f"automatic retry {len(state['attempts'])} of {settings.watch_auto_retries}"
    return None


def discover(settings: Settings | None = None, now: dt.datetime | None = None) -> list[dict]:
    """Claim a new attempt for every batch that should run now; return the runs to trigger.

    Each entry is `{"trigger_run_id", "conf": {"batch_dir", "release": True}}`, ready for
    TriggerDagRunOperator. Also deletes released batches past their retention time, if set.
    """
    from ingest.custody import purge_expired

    settings = settings or get_settings()
    now = now or dt.datetime.now(dt.timezone.utc)
    landing = Path(settings.landing_dir)
    runs = []
    for batch in sorted(landing.iterdir()) if landing.is_dir() else []:
        if batch.is_symlink() or not batch.is_dir() or not (batch / READY).is_file():
            continue
        path = _state_path(settings, batch.name)
        state = _read(path)
        reason = _why_start(batch, state, settings)
        if reason is None:
            continue
        state = state or {"batch_id": batch.name, "attempts": []}
        attempt = len(state["attempts"]) + 1
        run_id = run_id_for(batch.name, attempt)
        state["attempts"].append({"run_id": run_id, "claimed": now.isoformat(),
                                  "reason": reason})
        _write(path, state)
        log.info("batch %s: attempt %d (%s)", batch.name, attempt, reason)
        runs.append({"trigger_run_id": run_id,
                     "conf": {"batch_dir": str(batch.absolute()), "release": True}})
    purge_expired(settings, now)
    return runs
