"""`cadl run` and `cadl status`: clients of the scheduler, never a second way of running stages.

A batch's runs have ids `cadl__<batch>__<n>`. `cadl run` attaches to the batch's run that is
still queued or running, or triggers the next `n`; two `cadl run` racing for the same `n` end
on one run, because Airflow refuses a second run with the same id (409) and the loser attaches.
Following a run polls the API and the items' `state.json` in the work folder (what the report is
made from) and shows stage, items done, pages per minute, elapsed time and each item failure as
it happens. Ctrl-C or a closed terminal (SIGHUP) only detaches: the run goes on in Airflow.
"""

import hashlib
import json
import logging
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kernel.errors import PipelineError
from kernel.settings import Settings, get_settings

log = logging.getLogger(__name__)

DAG_ID = "ingest_batch"
FINAL_ITEM = ("published", "preserved", "held", "quarantined", "failed", "invalid")
STAGE_ORDER = ("validate", "units", "ocr", "describe", "package", "deposit", "publish",
               "catalogue", "report", "release", "outcome")


class Detached(Exception):
    """The user pressed Ctrl-C or closed the terminal while following a run."""


def run_prefix(batch_id: str) -> str:
    """`cadl__<batch>__`: the batch id made safe for a run id (a hash keeps it unique)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", batch_id)
    if safe != batch_id:
        safe += "-" + hashlib.sha256(batch_id.encode()).hexdigest()[:8]
    return f"cadl__{safe}__"


def batch_runs(api, batch_id: str) -> list[dict]:
    """The batch's `cadl run` runs, newest attempt first."""
    prefix = run_prefix(batch_id)
    found = [r for r in api.runs(DAG_ID, prefix, limit=1000)
             if r["dag_run_id"].startswith(prefix) and r["dag_run_id"][len(prefix):].isdigit()]
    return sorted(found, key=lambda r: int(r["dag_run_id"][len(prefix):]), reverse=True)


def start_or_attach(api, batch_dir: Path) -> tuple[str, bool]:
    """(run_id, started): the batch's unfinished run, or a new one triggered now."""
    api.unpause(DAG_ID)
    for _ in range(10):
        runs = batch_runs(api, batch_dir.name)
        active = [r for r in runs if r["state"] in ("queued", "running")]
        if active:
            return active[0]["dag_run_id"], False
        n = int(runs[0]["dag_run_id"].rsplit("__", 1)[1]) + 1 if runs else 1
        run_id = f"{run_prefix(batch_dir.name)}{n}"
        if api.trigger(DAG_ID, run_id, {"batch_dir": str(batch_dir)}) is not None:
            return run_id, True
        # Another cadl triggered this id first: attach to it (the loop finds it active), or
        # it has already finished and the next attempt number is free.
        run = api.run(DAG_ID, run_id)
        if run is not None and run["state"] in ("queued", "running"):
            return run_id, False
    raise RuntimeError(f"could not start a run of {batch_dir.name}: run ids keep colliding")


def public_state(airflow_state: str | None) -> str:
    return {"queued": "queued", "success": "success", "failed": "failed"}.get(
        airflow_state or "queued", "running")


# --- what a run is doing -------------------------------------------------------------------

@dataclass
class Snapshot:
    run_id: str
    batch_id: str
    batch_dir: str
    state: str
    elapsed: float
    stage: str = "waiting"
    units: str = ""
    items_total: int = 0
    items_done: int = 0
    pages_total: int = 0
    pages_read: int = 0
    items: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    report_json: str | None = None

    @property
    def pages_per_minute(self) -> float:
        return self.pages_read / self.elapsed * 60 if self.elapsed > 0 else 0.0

    def line(self) -> str:
        return (f"{self.run_id}: {self.state}, stage {self.stage}{self.units}, items "
                f"{self.items_done}/{self.items_total}, pages {self.pages_read}/"
                f"{self.pages_total} ({self.pages_per_minute:.1f}/min), "
                f"{_clock(self.elapsed)} elapsed")

    def as_json(self) -> dict:
        return {"run_id": self.run_id, "batch_id": self.batch_id, "state": self.state,
                "items": self.items, "report_json": self.report_json}


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _time(value: str | None) -> float | None:
    import datetime as dt

    return dt.datetime.fromisoformat(value).timestamp() if value else None


def snapshot(api, run_id: str, settings: Settings | None = None) -> Snapshot:
    """What the run is doing now: from Airflow (run and task states) and the work folder."""
    from cadl.outcome import run_report_path

    settings = settings or get_settings()
    run = api.run(DAG_ID, run_id)
    if run is None:
        raise LookupError(run_id)
    batch_dir = (run.get("conf") or {}).get("batch_dir", "")
    batch_id = Path(batch_dir).name
    start = _time(run.get("start_date")) or _time(run.get("queued_at")) or time.time()
    end = _time(run.get("end_date")) or time.time()
    snap = Snapshot(run_id, batch_id, batch_dir, public_state(run["state"]), max(0, end - start))
    tis = api.task_instances(DAG_ID, run_id)
    active = [t for t in tis if t["state"] in ("running", "queued", "scheduled",
                                              "up_for_retry", "deferred")]
    def stage_of(ti: dict) -> str:
        return ti["task_id"].split(".")[-1]  # "unit.ocr": the ocr stage of a work unit

    if active:
        stage = max((stage_of(t) for t in active),
                    key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 0)
        running = sorted({stage_of(t) for t in active}, key=lambda s: STAGE_ORDER.index(s)
                         if s in STAGE_ORDER else 0)
        mine = [t for t in tis if stage_of(t) == stage]
        snap.stage = "+".join(running) if len(running) > 1 else stage
        if len(mine) > 1:
            done = sum(t["state"] in ("success", "failed", "skipped") for t in mine)
            snap.units = f" ({done}/{len(mine)} units)"
    elif snap.state in ("success", "failed"):
        snap.stage = "finished"
    validated = any(t["task_id"] == "validate" and t["state"] == "success" for t in tis)
    if validated and batch_id:
        _read_items(snap, Path(settings.work_dir) / batch_id)
    try:
        report = run_report_path(batch_id, run_id, settings) if batch_id else None
    except PipelineError:  # not a valid batch id: that run cannot have written a report
        report = None
    if report is not None and report.exists():
        snap.report_json = str(report)
        data = json.loads(report.read_text("utf-8"))
        snap.items = {k: v for k, v in data["summary"].items()
                      if k not in ("items", "pages") and v}
        snap.failures = [(i["item_id"], (i["problems"] or [{}])[-1].get("message", ""))
                         for i in data["items"] if i["status"] == "failed"]
        snap.items_done = snap.items_total = data["summary"]["items"]
    return snap


def _read_items(snap: Snapshot, batch_work: Path) -> None:
    """Items' progress from their `state.json` (written by this run's validate and stages)."""
    batch_file = batch_work / "batch.json"
    if not batch_file.exists():
        return
    batch = json.loads(batch_file.read_text("utf-8"))
    counts: dict[str, int] = {}
    for item in batch["items"]:
        snap.items_total += 1
        snap.pages_total += len(item["pages"])
        path = batch_work / item["item_id"] / "state.json"
        try:
            state = json.loads(path.read_text("utf-8")) if path.exists() else {}
        except ValueError:
            state = {}
        status = "failed" if state.get("failed_stage") else state.get("status", "planned")
        if status == "planned" and state.get("stages"):
            status = "in progress"
        counts[status] = counts.get(status, 0) + 1
        if status in FINAL_ITEM:
            snap.items_done += 1
        if "ocr" in state.get("stages", {}):
            snap.pages_read += state["stages"]["ocr"].get("pages", 0)
        if status == "failed":
            message = (state.get("problems") or [{}])[-1].get("message", "")
            snap.failures.append((item["item_id"], message))
    snap.items = counts


# --- following ---------------------------------------------------------------------------------

def follow(api, run_id: str, interval: float = 2.0, out=None) -> Snapshot:
    """Show the run's progress until it ends; raises Detached on Ctrl-C or SIGHUP.

    Every look (`snapshot`) costs the api-server and Postgres a run, a task-instance list and
    a JWT check, on the same cores as the batch: every 2 s rather than every second
    (docs/decisions.md, "Issue 14: speed").

    On a terminal: a live display (rich). Otherwise: one plain line each time something other
    than the clock changes, and one line per item failure.
    """
    out = out or sys.stderr
    previous = signal.signal(signal.SIGHUP, _hangup)
    try:
        if out.isatty():
            return _follow_live(api, run_id, interval, out)
        return _follow_plain(api, run_id, interval, out)
    except KeyboardInterrupt:
        raise Detached(run_id) from None
    finally:
        signal.signal(signal.SIGHUP, previous)


def _hangup(signum, frame):
    raise KeyboardInterrupt


def _follow_plain(api, run_id: str, interval: float, out) -> Snapshot:
    last, reported = None, set()
    while True:
        snap = snapshot(api, run_id)
        for item_id, message in snap.failures:
            if item_id not in reported:
                reported.add(item_id)
                _safe_print(f"{run_id}: item {item_id} FAILED: {message}", out)
        key = (snap.state, snap.stage, snap.units, snap.items_done, snap.pages_read)
        if key != last:
            last = key
            _safe_print(snap.line(), out)
        if snap.state in ("success", "failed"):
            return snap
        time.sleep(interval)


def _safe_print(text: str, out) -> None:
    from kernel.text import terminal_safe

    try:
        print(terminal_safe(text), file=out, flush=True)
    except OSError:
        pass  # the terminal is gone; the run goes on regardless


def _follow_live(api, run_id: str, interval: float, out) -> Snapshot:
    from rich.console import Console, Group
    from rich.live import Live
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    from kernel.text import terminal_safe

    console = Console(file=out)
    reported: list[tuple[str, str]] = []

    def render(snap: Snapshot):
        table = Table.grid(padding=(0, 2))
        table.add_row("run", f"{snap.run_id}  [{snap.state}]")
        table.add_row("stage", f"{snap.stage}{snap.units}")
        table.add_row("items", Group(
            ProgressBar(total=max(snap.items_total, 1), completed=snap.items_done, width=40),
            Text(f"{snap.items_done}/{snap.items_total} done  "
                 + "  ".join(f"{k} {v}" for k, v in sorted(snap.items.items())))))
        table.add_row("pages", f"{snap.pages_read}/{snap.pages_total} read, "
                               f"{snap.pages_per_minute:.1f} pages/min")
        table.add_row("elapsed", _clock(snap.elapsed))
        lines = [table] + [Text(terminal_safe(f"item {i} FAILED: {m}"), style="red")
                           for i, m in reported]
        return Group(*lines)

    snap = snapshot(api, run_id)
    with Live(render(snap), console=console, refresh_per_second=4, transient=False) as live:
        while True:
            for failure in snap.failures:
                if failure[0] not in {i for i, _ in reported}:
                    reported.append(failure)
            live.update(render(snap))
            if snap.state in ("success", "failed"):
                return snap
            time.sleep(interval)
            snap = snapshot(api, run_id)


def resolve(api, what: str) -> str:
    """A run id, or the latest `cadl run` run of a batch id; raises LookupError."""
    if api.run(DAG_ID, what) is not None:
        return what
    runs = batch_runs(api, what)
    if runs:
        return runs[0]["dag_run_id"]
    raise LookupError(what)


def airflow_log_dir(home: Path, run_id: str) -> Path:
    return home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"


def follow_and_report(api, embedded, run_id: str, as_json: bool) -> int:
    """Follow a run to its end and print its report; detach on Ctrl-C or SIGHUP."""
    from kernel.text import terminal_json, terminal_safe
    from cadl.outcome import run_report_path

    try:
        snap = follow(api, run_id)
    except Detached:
        try:  # the terminal may be gone (SIGHUP): the run goes on whatever happens here
            snap = snapshot(api, run_id)
            print(f"\ncadl: detached; run {run_id} goes on in Airflow. Follow it again with "
                  f"`cadl status {run_id} --follow`", file=sys.stderr, flush=True)
            if as_json:
                print(terminal_json(snap.as_json()))
        except (OSError, PipelineError):
            pass
        return 130
    logs = airflow_log_dir(embedded.home, run_id)
    path = run_report_path(snap.batch_id, run_id)
    if not path.exists():
        problems = [{"severity": "error", "message": f"run {run_id} ended {snap.state} before "
                     f"writing a report; see the task logs in {logs}"}]
        if as_json:
            print(terminal_json({"batch_id": snap.batch_id, "run_id": run_id,
                                 "state": snap.state, "problems": problems,
                                 "airflow_logs": str(logs)}))
        else:
            print(f"ingest_batch run {run_id} ended {snap.state} before writing a report; "
                  f"see the task logs in {logs}", file=sys.stderr)
        return 1
    report = json.loads(path.read_text("utf-8"))
    if as_json:
        print(terminal_json({**report, "run_id": run_id, "state": snap.state,
                             "airflow_logs": str(logs)}))
    else:
        print(terminal_safe(Path(report["report_text"]).read_text("utf-8"), keep_newlines=True),
              end="")
        print(terminal_safe(f"Report:    {report['report_json']}"))
        print(f"Run:       {run_id} {snap.state.upper()} in {_clock(snap.elapsed)}; "
              f"Airflow UI {embedded.api_url}/dags/{DAG_ID}/runs/{run_id}")
        print(f"Task logs: {logs}")
    s = report["summary"]
    failed = snap.state != "success"
    return 1 if failed or s["failed"] or s["invalid"] or s.get("quarantined") else 0
