"""
### Watch the landing zone

Every few minutes: find batches with `READY` in the landing zone and start one `ingest_batch`
run for each (`release` on, so a finished batch moves to `processed/`). A batch is never run
twice at once: each attempt has its own run id, claimed before it is triggered. A failed batch
is tried again only when a person writes `RETRY` into its folder (or as
`CADL_WATCH_AUTO_RETRIES` allows). The logic lives in `cadl.watch`; this file only wires it.
"""

import datetime as dt

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, task


@dag(
    dag_id="watch_landing",
    schedule=dt.timedelta(minutes=5),
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # two scans at once could both claim the same batch
    tags=["ingest", "landing-zone"],
    default_args={"owner": "digitization", "retries": 0},
    doc_md=__doc__,
)
def watch_landing():
    @task
    def discover() -> list[dict]:
        """Claim an attempt for every batch that should run now."""
        from cadl.watch import discover

        return discover()

    TriggerDagRunOperator.partial(
        task_id="trigger_ingest",
        trigger_dag_id="ingest_batch",
        skip_when_already_exists=True,
        wait_for_completion=False,
    ).expand_kwargs(discover())


watch_landing()
