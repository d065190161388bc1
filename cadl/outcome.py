"""The run's verdict: what `ingest_batch`'s last task, `outcome`, decides, and where each run's
own report is kept (so `cadl run` and `cadl status` read the report of *their* run)."""

import json
import logging
from pathlib import Path

from kernel.errors import ItemsFailed
from kernel.ids import check_id
from kernel.paths import inside
from kernel.settings import Settings, get_settings

log = logging.getLogger(__name__)


def run_report_path(batch_id: str, run_id: str, settings: Settings | None = None) -> Path:
    """Where the report of one run of a batch is kept (`report.json` beside it is the latest)."""
    import re

    settings = settings or get_settings()
    return inside(settings.reports_dir, check_id(batch_id, "batch_id"), "runs",
                  re.sub(r"[^A-Za-z0-9._-]", "_", run_id), "report.json")


def outcome(batch_dir: str, run_id: str, validate_state: str | None,
            settings: Settings | None = None) -> dict:
    """Decide the run's state: what the DAG's last task calls (Airflow takes a run's state from
    its leaf tasks, and the tasks before it run whatever happened, so they cannot decide it).

    Raises PipelineError when `validate` did not succeed (invalid or unready batch, or a crash)
    and ItemsFailed when any item of this run's report ended `failed`. Quarantined items are a
    correct outcome: a run whose items all ended published, preserved, held or quarantined
    succeeds. Returns the report's summary.
    """
    from kernel.errors import PipelineError

    settings = settings or get_settings()
    path = Path(batch_dir).absolute()
    report_path = run_report_path(path.name, run_id, settings)
    if validate_state != "success":
        where_ = f"; the batch report is {report_path}" if report_path.exists() else ""
        raise PipelineError(f"validate ended {validate_state or 'without a state'} for batch "
                            f"{path}: nothing was processed (see the validate task's log{where_})")
    if not report_path.exists():
        raise PipelineError(f"run {run_id} of batch {path.name} wrote no report ({report_path}); "
                            "see the report task's log")
    summary = json.loads(report_path.read_text('utf-8'))["summary"]
    if summary.get("failed"):
        raise ItemsFailed(f"{summary['failed']} item(s) of batch {path.name} failed; the report "
                          f"says where each stopped: {report_path.with_suffix('.txt')}")
    log.info("run %s of batch %s succeeded: %s", run_id, path.name, summary)
    return summary
