"""The review step of `ingest_batch`: what its human-in-the-loop tasks ask and do with the answer.

For a batch with held items, `held_items` lists them (and tells the reviewers, through Airflow's
notifiers); the DAG maps one task group over that list: Airflow's `HITLOperator` shows the
archivist, in the Airflow UI ("Required actions"), why the item was held (pages, flags,
confidence) and a link to its section of the batch report, and asks for a decision (publish,
reocr, return) with their name and a comment; `apply_answer` passes it to `cadl.review.decide`,
the same function `cadl review decide` calls (which, while such a task waits, answers it through
Airflow's API instead: `cadl.review_answer`). The HITL task waits at most
CADL_REVIEW_DEADLINE_HOURS and has no default answer: past the deadline it fails, and
`deadline_passed` (its failure callback) raises an alert. Nothing is ever published by default.
"""

from __future__ import annotations

import logging
import sys

from kernel.errors import UsageError
from kernel.settings import Settings, get_settings

log = logging.getLogger(__name__)

OPTIONS = ["publish", "reocr", "return"]


def review_params() -> dict:
    """The form the archivist fills in beside the options (Airflow Params, JSON schema)."""
    from airflow.sdk import Param

    # No value until the archivist types one: Airflow validates a task's params when the task
    # starts, so a required field without a default would fail the task before it could ask.
    # `decide` refuses an empty comment; an empty name falls back to the responding user.
    return {
        "by": Param(None, type=["null", "string"], minLength=1, title="Your name",
                    description="Recorded as the PREMIS agent (a person) of the decision."),
        "comment": Param(None, type=["null", "string"], minLength=1, title="Comment",
                         description="Why. For return, the reason the scanner station reads "
                         "in the next pre-flight report."),
        "engine": Param(None, type=["null", "string"], title="reocr: engine",
                        description="tesseract or ppocr, for every language of the item"),
        "preprocess": Param(None, type=["null", "string"], title="reocr: preprocessing",
                            description="Steps for the OCR copy, as CADL_OCR_PREPROCESS, "
                            "e.g. rescale or rescale,denoise,binarize."),
        "tessdata": Param(None, type=["null", "string"], title="reocr: tessdata folder",
                          description="Another folder of tesseract models on the workers."),
    }


def review_body(entry: dict) -> str:
    """The Markdown the HITL task shows: the item, why it was held, the link to its report."""
    lines = [f"**{entry['item_id']}** (batch `{entry['batch_id']}`, version "
             f"{entry['version']}) — “{entry['title']}”", "",
             "Held by the OCR quality check:", ""]
    for page in entry["pages"]:
        conf = page.get("confidence")
        lines.append(f"- page {page['seq']} ({page.get('original_name')}): "
                     f"{', '.join(page['flags'])}"
                     + (f", mean confidence {conf:.1f}" if isinstance(conf, (int, float))
                        else ""))
    lines += ["", f"[The item in the batch report]({entry['report']})", "",
              "Choose **publish** (as is), **reocr** (with the engine or preprocessing below; "
              "a new version, checked again) or **return** (to the scanner station, with your "
              "comment as the reason). Your name and a comment are required."]
    # The body is rendered as a Jinja template by Airflow: no braces may reach it unescaped.
    return "\n".join(lines).replace("{", "(").replace("}", ")")


def held_items(batch_id: str | None, enabled: bool = True,
               settings: Settings | None = None) -> list[dict]:
    """The held items of `batch_id` waiting for a decision, one small dict per HITL task.

    Tells the reviewers (config/alerts.json `reviewers`) when there is any. Returns [] when
    review is switched off for the run (`cadl run`, whose `airflow dags test` cannot wait) or
    when there is no batch (`validate` failed, so the task gets no plan).
    """
    from cadl.alerts import record_alert, Alert, reviewer_notifiers, send
    from cadl.review import review_queue
    from cadl.review_answer import subject_prefix

    if not enabled or not batch_id:
        return []
    if sys.argv[1:3] == ["dags", "test"]:
        # `airflow dags test` runs a waiting task inline and would block until the deadline.
        log.warning("review of batch %s skipped under `airflow dags test`: its held items wait "
                    "in `cadl review list`", batch_id)
        return []
    settings = settings or get_settings()
    queue = review_queue(settings, batch_id=batch_id)
    asks = [{"item_id": e["item_id"], "batch_id": batch_id,
             "subject": f"{subject_prefix(e['item_id'])}{batch_id}): held by the OCR check",
             "body": review_body(e)} for e in queue]
    if asks:
        subject = f"[cadl] {len(asks)} item(s) of batch {batch_id} wait for review"
        body = "\n\n".join(f"{a['subject']}\n{review_body(e)}" for a, e in zip(asks, queue))
        record_alert(Alert(kind="review_needed", dag_id="ingest_batch", run_id=batch_id,
                           message=subject), _no_channels(),
                     reports_dir=settings.reports_dir)
        for notifier in reviewer_notifiers(subject, body):
            try:
                send(notifier)
            except Exception as exc:  # noqa: BLE001 - a notice must never fail the batch
                log.warning("reviewers not notified through %s: %s", type(notifier).__name__,
                            type(exc).__name__)
    return asks


def _no_channels():
    """An alert config sending nowhere: review_needed goes to the reviewers, not to alerts."""
    from cadl.alerts import AlertConfig

    return AlertConfig()


def apply_answer(ask: dict, answer: dict, settings: Settings | None = None) -> dict:
    """Apply the HITL answer (chosen option, form input, responding user) through `decide`.

    The name typed in the form wins; the Airflow user who answered is used when it is empty.
    An item decided meanwhile with `cadl review decide` is left as it was (returned as
    {"status": "decided elsewhere"}).
    """
    from cadl.review import decide

    chosen = (answer.get("chosen_options") or [None])[0]
    form = answer.get("params_input") or {}
    user = answer.get("responded_by_user") or {}
    by = (form.get("by") or "").strip() or (user.get("name") if isinstance(user, dict) else "")
    try:
        return decide(ask["item_id"], chosen, by, form.get("comment") or "",
                      engine=form.get("engine") or None,
                      preprocess=form.get("preprocess") or None,
                      tessdata=form.get("tessdata") or None, settings=settings)
    except UsageError as exc:
        if "already decided" in str(exc) or "not waiting for review" in str(exc):
            log.warning("%s: %s", ask["item_id"], exc)
            return {"item_id": ask["item_id"], "status": "decided elsewhere",
                    "detail": str(exc)}
        raise


def deadline_passed(item_id: str, batch_id: str, settings: Settings | None = None) -> bool:
    """Alert that `item_id` was not decided within the deadline; never publishes anything.

    Returns False (no alert) when the item was decided meanwhile by `cadl review decide`.
    """
    from cadl.alerts import Alert, record_alert
    from cadl.review import review_queue

    settings = settings or get_settings()
    entry = next((e for e in review_queue(settings, batch_id=batch_id)
                  if e["item_id"] == item_id), None)
    if entry is None:
        return False
    record_alert(Alert(
        kind="review_overdue", dag_id="ingest_batch", run_id=batch_id, task_id="review.decide",
        message=f"{item_id} (batch {batch_id}) was not decided within "
                f"{settings.review_deadline_hours:g} hours; it stays held, unpublished. Held "
                f"for: {entry['reason']}. Report: {entry['report']}"),
        reports_dir=settings.reports_dir)
    return True


def review_timed_out(context) -> None:
    """Failure callback of the HITL task: past the deadline, alert for its item.

    Any other failure (the task died after an answer, say) is no passed deadline: the common
    `task_failed` alert tells about it, and the item waits in `cadl review list`.
    """
    exc = context.get("exception")
    if exc is not None and type(exc).__name__ != "HITLTimeoutError":
        log.error("review task failed, not timed out: %s", type(exc).__name__)
        return
    ti = context.get("ti")
    ask = ti.xcom_pull(task_ids="review.ask", map_indexes=ti.map_index) if ti else None
    if not ask:
        log.error("review task failed without its item: %s", context.get("exception"))
        return
    deadline_passed(ask["item_id"], ask["batch_id"])
