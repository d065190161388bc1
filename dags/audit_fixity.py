"""
### Fixity audit of preservation storage

Daily. Each run re-reads one slice of the archive (every item once per `CADL_AUDIT_CYCLE_DAYS`
days; the slice of an item is fixed by a hash of its id) from preservation storage and from the
replica if one is configured, compares every object with the bag manifests and DEPOSITED.json,
repairs a damaged or missing copy from the intact one, and records a PREMIS fixity event per
package beside it (`items/<id>/v0001/events/`). The report goes to
`<reports>/audits/<stamp>-<scope>/audit.txt`; when anything was found the `audit` task fails and
its failure callback alerts the archivists.

Run it by hand with `items` (a list of item ids), `slice` ("N/M") or `all` set, or use
`cadl audit [ITEM…]`. The code lives in `cadl.fixity` and `preservation.audit`.
"""

import datetime as dt

from airflow.sdk import Param, dag, task

from cadl.alerts import task_failed


@dag(
    dag_id="audit_fixity",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["preservation", "fixity"],
    default_args={"owner": "preservation", "retries": 2,
                  "retry_delay": dt.timedelta(minutes=10), "retry_exponential_backoff": True,
                  "on_failure_callback": task_failed},
    params={
        "items": Param([], type="array", title="Items",
                       description="Audit only these item ids (default: today's slice)"),
        "slice": Param("", type="string", title="Slice",
                       description="Audit slice N of M, written N/M (default: today's)"),
        "all": Param(False, type="boolean", title="Whole archive"),
        "repair": Param(True, type="boolean", title="Repair from the intact copy"),
    },
    doc_md=__doc__,
)
def audit_fixity():
    @task
    def select(params=None, logical_date=None) -> dict:
        """Choose today's slice of the archive, or the items asked for."""
        from cadl.fixity import plan

        return plan(params.get("items") or None, logical_date=logical_date,
                    slice_spec=params.get("slice") or None, all_items=bool(params.get("all")))

    @task(retries=0)
    def audit(audit_plan: dict, params=None) -> dict:
        """Re-read, compare, repair, record PREMIS events, write the report; fail on damage."""
        from cadl.fixity import run

        return run(audit_plan, repair=bool(params.get("repair", True)))

    audit(select())


audit_fixity()
