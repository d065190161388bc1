"""
### Lift embargoes and apply rights changes

Daily. Every item preserved by `ingest_batch` has a publication record; this DAG compares the
portals each item may be shown on today (manifest rights, per-portal `rights_zh`/`rights_ar`,
and `config/rights-overrides.json`) with those it was last published on. Items whose embargo
ended are published, items whose rights no longer allow a portal are withdrawn from it; the
catalogues, change feeds and OAI-PMH follow. Run it for another day with
`airflow dags test lift_embargoes YYYY-MM-DD`. The code lives in `cadl.pipeline`.
"""

import datetime as dt

from airflow.sdk import dag, task


@dag(
    dag_id="lift_embargoes",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["preservation", "portals"],
    default_args={"owner": "digitization", "retries": 2,
                  "retry_delay": dt.timedelta(minutes=5)},
    doc_md=__doc__,
)
def lift_embargoes():
    @task
    def lift(logical_date=None) -> dict:
        """Republish or withdraw items whose portals changed; rebuild catalogues and feeds."""
        from cadl.pipeline import lift_embargoes

        today = logical_date.date() if logical_date is not None else None
        result = lift_embargoes(today)
        return {"checked": result["checked"], "changed": result["changed"]}

    lift()


lift_embargoes()
