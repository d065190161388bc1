"""
### Ingest one scanner batch

validate → OCR → describe → package → deposit → publish → catalogue → report

Start it with the folder of a batch in the landing zone (it must hold `manifest.csv`, one
folder per item and the `READY` marker). Each item runs through the stages on its own (mapped
tasks), so one bad item never holds back the others. The last task writes the batch report
(`report.json`, `report.txt`) under the reports folder, whatever happened before it.
The code behind every task lives in `cadl.pipeline`; this file only wires it.
"""

import datetime as dt

from airflow.sdk import Param, dag, task

from cadl.alerts import deadline_alerts, task_failed
from cadl.retries import retry_policy
from cadl.task_docs import TASK_DOCS


@dag(
    dag_id="ingest_batch",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=4,
    tags=["ingest", "ocr", "preservation", "batch-report"],
    default_args={"owner": "digitization", "retries": 2,
                  "retry_delay": dt.timedelta(seconds=30), "retry_exponential_backoff": True,
                  "retry_policy": retry_policy(), "on_failure_callback": task_failed},
    deadline=deadline_alerts(),  # "batch not preserved within N hours" (config/alerts.json)
    params={"batch_dir": Param(type="string", title="Batch folder",
                               description="Absolute path of the batch in the landing zone"),
            "release": Param(False, type="boolean", title="Release the batch",
                             description="Move the batch to processed/ (or failed/) once "
                             "every item is preserved or quarantined")},
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

    @task(doc_md=TASK_DOCS["ocr"], pool="ocr")
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

    @task(trigger_rule="all_done", retries=0)
    def release(params=None, run_id=None) -> dict:
        """Move the batch out of the landing zone, if asked and custody is complete."""
        from cadl.pipeline import release

        return release(params["batch_dir"], run_id, params.get("release", False))

    plan = validate()
    described = describe.expand(unit=ocr.expand(unit=units(plan)))
    published = publish.expand(unit=deposit.expand(unit=package.expand(unit=described)))
    catalogue(published) >> report(plan) >> release()


ingest_batch()
