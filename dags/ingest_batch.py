"""
### Ingest one scanner batch

validate → per work unit (OCR → describe → package → deposit → publish) → serials →
catalogue → report → review → release → outcome

Start it with the folder of a batch in the landing zone (it must hold `manifest.csv`, one
folder per item and the `READY` marker). Each item runs through the stages on its own (mapped
tasks), so one bad item never holds back the others. The last task writes the batch report
(`report.json`, `report.txt`) under the reports folder, whatever happened before it.
Items the OCR quality check holds wait in a **review** task each (Airflow's human-in-the-loop
operator, under "Required actions"): the archivist publishes, re-OCRs or returns the item, with
their name and a comment; undecided past `CADL_REVIEW_DEADLINE_HOURS`, it alerts and stays held.
The last task, `outcome`, decides the run's state (Airflow takes it from the leaf tasks): the
run fails when `validate` did not succeed or any item failed, and succeeds when every item was
published, preserved, held or quarantined.
The code behind every task lives in `cadl.pipeline` and `cadl.review_task`; this file only
wires it.
"""

import datetime as dt
import os

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param, dag, task, task_group

from cadl.airflow_env import ocr_processes
from cadl.alerts import deadline_alerts, task_failed
from cadl.retries import retry_policy
from cadl.review_task import OPTIONS, review_params, review_timed_out
from cadl.task_docs import TASK_DOCS, review_deadline


@dag(
    dag_id="ingest_batch",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=4,
    tags=["ingest", "ocr", "preservation", "batch-report"],
    default_args={"owner": "digitization", "retries": 2,
                  "retry_delay": dt.timedelta(seconds=30), "retry_exponential_backoff": True,
                  "retry_policy": retry_policy(), "on_failure_callback": task_failed,
                  # A hung tool or storage call ends as a failed (retried) task, not a run
                  # that never finishes; per-unit stages of CADL_UNIT_PAGES pages fit well in it.
                  "execution_timeout": dt.timedelta(hours=2)},
    deadline=deadline_alerts(),  # "batch not preserved within N hours" (config/alerts.json)
    params={"batch_dir": Param(type="string", title="Batch folder",
                               description="Absolute path of the batch in the landing zone"),
            "release": Param(False, type="boolean", title="Release the batch",
                             description="Move the batch to processed/ (or failed/) once "
                             "every item is preserved or quarantined"),
            "review": Param(True, type="boolean", title="Review held items",
                            description="Wait for an archivist's decision on each item the "
                            "OCR quality check holds (off: held items wait in `cadl review "
                            "list`)")},
    doc_md=__doc__,
)
def ingest_batch():
    @task(doc_md=TASK_DOCS["validate"], retries=0)
    def validate(params=None, run_id=None) -> dict:
        """Check the batch against the landing-zone contract and plan the items."""
        from cadl.pipeline import validate

        return validate(params["batch_dir"], run_id)

    @task(doc_md=TASK_DOCS["units"])
    def units(plan: dict) -> list[dict]:
        return plan["work_units"]

    # Each OCR task starts `ocr_processes()` tesseract processes and takes as many pool slots.
    @task(doc_md=TASK_DOCS["ocr"], pool="ocr",
          pool_slots=min(ocr_processes(), os.cpu_count() or 1))
    def ocr(unit: dict) -> dict:
        """Recognise every page of one item with tesseract."""
        from cadl.pipeline import run_stage

        return run_stage("ocr", unit)

    @task(doc_md=TASK_DOCS["describe"])
    def describe(unit: dict) -> dict:
        """Write and validate the item's METS/MODS/PREMIS."""
        from cadl.pipeline import run_stage

        return run_stage("describe", unit)

    @task(doc_md=TASK_DOCS["package"])
    def package(unit: dict) -> dict:
        """Build and validate the item's BagIt bag."""
        from cadl.pipeline import run_stage

        return run_stage("package", unit)

    @task(doc_md=TASK_DOCS["deposit"])
    def deposit(unit: dict) -> dict:
        """Upload the bag to preservation storage and verify it there."""
        from cadl.pipeline import run_stage

        return run_stage("deposit", unit)

    @task(doc_md=TASK_DOCS["publish"])
    def publish(unit: dict) -> dict:
        """Publish the access package, if the item's rights allow it."""
        from cadl.pipeline import run_stage

        return run_stage("publish", unit)

    @task(doc_md=TASK_DOCS["serials"], trigger_rule="all_done")
    def serials(plan: dict, published: list[dict]) -> list[dict]:
        """Write, preserve and publish the METS and IIIF Collection of titles and volumes."""
        from cadl.pipeline import serials

        return serials(plan)

    @task(doc_md=TASK_DOCS["catalogue"], trigger_rule="all_done")
    def catalogue(published: list[dict]) -> str:
        """Rebuild the portals' catalogue."""
        from cadl.pipeline import catalogue

        return catalogue()

    @task(doc_md=TASK_DOCS["report"], trigger_rule="all_done", retries=0)
    def report(plan: dict, run_id=None) -> dict:
        """Write the batch report, whatever happened to each item."""
        from cadl.pipeline import report

        return report(plan, run_id)

    @task(doc_md=TASK_DOCS["held"], trigger_rule="all_done", retries=0)
    def held(plan: dict, params=None) -> list[dict]:
        """The held items waiting for review; tells the reviewers."""
        from cadl.review_task import held_items

        return held_items((plan or {}).get("batch_id"), params.get("review", True))

    @task_group(group_id="review")
    def review(ask: dict):
        @task(doc_md=TASK_DOCS["ask"], multiple_outputs=True, retries=0)
        def ask_for(ask: dict) -> dict:
            return ask

        question = ask_for.override(task_id="ask")(ask)
        answer = HITLOperator(
            task_id="decide", doc_md=TASK_DOCS["decide"], subject=question["subject"],
            body=question["body"], options=OPTIONS, params=review_params(),
            response_timeout=review_deadline(), retries=0,
            on_failure_callback=[task_failed, review_timed_out])

        @task(doc_md=TASK_DOCS["apply"], retries=0)
        def apply(ask: dict, answer: dict) -> dict:
            from cadl.review_task import apply_answer

            return apply_answer(ask, answer)

        question >> answer
        apply(ask, answer.output)

    @task(trigger_rule="all_done", retries=0)
    def release(params=None, run_id=None) -> dict:
        """Move the batch out of the landing zone, if asked and custody is complete."""
        from cadl.pipeline import release

        return release(params["batch_dir"], run_id, params.get("release", False))

    @task(doc_md=TASK_DOCS["outcome"], trigger_rule="all_done", retries=0,
          execution_timeout=dt.timedelta(minutes=5))
    def outcome(params=None, run_id=None, ti=None) -> dict:
        """Fail the run when validate did not succeed or an item failed (this is the leaf)."""
        from cadl.outcome import outcome

        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=["validate"], run_ids=[run_id])
        return outcome(params["batch_dir"], run_id, states.get(run_id, {}).get("validate"))

    # One mapped group per work unit: unit i's describe starts as soon as its own OCR is done,
    # while the OCR of the next units goes on, so the stages after OCR overlap with it instead
    # of all waiting for the last page of the batch.
    @task_group(group_id="unit")
    def unit_stages(unit: dict):
        return publish(deposit(package(describe(ocr(unit)))))

    plan = validate()
    published = unit_stages.expand(unit=units(plan))
    reported = catalogue(serials(plan, published)) >> report(plan)
    asks = held(plan)
    reported >> asks
    review.expand(ask=asks) >> release() >> outcome()


ingest_batch()
