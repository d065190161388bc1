"""A decision taken with `cadl review decide` answers the item's waiting review task, if any.

While `ingest_batch` waits in a review task for an item (Airflow's human-in-the-loop task,
"Required actions" in the UI), deciding behind its back would leave that task waiting until the
deadline and then raise a false "overdue" alert. So the command line answers the task through
Airflow's REST API, exactly as the UI's form does, and the task's `apply` step calls
`cadl.review.decide`: each decision goes through `decide` once, whichever way it was taken.
Without a running embedded Airflow, or without a task waiting for the item (a batch run with
`cadl run --dags-test`, which does not wait; a deadline that passed), `decide` is called
directly.
"""

from __future__ import annotations

import logging
import sys
import time

from kernel.errors import PipelineError, UsageError
from kernel.settings import Settings

log = logging.getLogger(__name__)

DAG_ID = "ingest_batch"
WAITING = ("awaiting_input", "deferred")
DONE = ("success", "failed", "upstream_failed", "skipped", "removed")


def subject_prefix(item_id: str) -> str:
    """How every review task's subject starts (`cadl.review_task.held_items` writes it)."""
    return f"Review {item_id} (batch "


def waiting_task(item_id: str, env: dict | None = None):
    """(api, hitl detail) of the review task waiting for `item_id`, or None."""
    from cadl.airflow_api import Api
    from cadl.embedded import running

    # Only an Airflow working on this command's stores: another one's tasks are other items.
    embedded = running(env, same_settings=True)
    if embedded is None:
        return None
    api = Api(embedded)
    prefix = subject_prefix(item_id)
    for hitl in api.hitl_details(DAG_ID, response_received=False, subject_search=prefix):
        if (hitl["subject"].startswith(prefix)
                and hitl["task_instance"]["state"] in WAITING):
            return api, hitl
    return None


def decide_anywhere(item_id: str, decision: str, by: str, comment: str, *,
                    engine: str | None = None, preprocess: str | None = None,
                    tessdata: str | None = None, settings: Settings | None = None,
                    timeout: float = 3600, env: dict | None = None) -> dict:
    """Take the decision through the waiting review task, or directly; returns `decide`'s
    result plus `via` (where it was taken). Raises UsageError for a decision `decide` would
    refuse, before any task is answered, and PipelineError when the answered task failed."""
    from cadl.review import check_decision, decide

    options = {"engine": engine, "preprocess": preprocess, "tessdata": tessdata}
    check_decision(decision, by, comment, options)
    found = waiting_task(item_id, env)
    if found is None:
        return decide(item_id, decision, by, comment, engine=engine, preprocess=preprocess,
                      tessdata=tessdata, settings=settings) | {"via": "cadl review decide"}
    api, hitl = found
    ti = hitl["task_instance"]
    run_id, map_index = ti["dag_run_id"], ti["map_index"]
    from cadl.airflow_api import ApiError

    try:
        api.answer_hitl(DAG_ID, run_id, ti["task_id"], map_index, [decision],
                        {"by": by, "comment": comment} | options)
    except ApiError as exc:
        if exc.status == 409:
            raise UsageError(f"{item_id}: its review task in run {run_id} was answered "
                             "meanwhile (in the Airflow UI?); see `cadl review list`") from None
        raise
    print(f"cadl: answered the review task of {item_id} in run {run_id} (map index "
          f"{map_index}); waiting for it to apply the decision", file=sys.stderr, flush=True)
    result = wait_applied(api, run_id, map_index, timeout)
    return result | {"via": f"Airflow review task {run_id} [{map_index}]"}


def wait_applied(api, run_id: str, map_index: int, timeout: float) -> dict:
    """The result of the review group's `apply` task once it has run."""
    deadline = time.monotonic() + timeout
    while True:
        ti = api.task_instance(DAG_ID, run_id, "review.apply", map_index)
        state = (ti or {}).get("state")
        if state == "success":
            return api.xcom(DAG_ID, run_id, "review.apply", map_index=map_index)
        if state in DONE:
            raise PipelineError(f"the review task of run {run_id} (map index {map_index}) "
                                f"took the answer but applying it ended {state}: see the log "
                                "of review.apply in the Airflow UI; the item stays held")
        if time.monotonic() > deadline:
            raise PipelineError(f"the review task of run {run_id} (map index {map_index}) "
                                f"has not applied the decision within {timeout:.0f}s (state "
                                f"{state}); it goes on: see `cadl review list` later")
        time.sleep(1)
