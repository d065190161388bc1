"""
### Alert about reviews past their deadline

Hourly. Every item the OCR quality check holds waits for an archivist's decision (publish,
re-OCR, return: `cadl review decide`, or the review task of `ingest_batch` under "Required
actions"). An item still undecided `CADL_REVIEW_DEADLINE_HOURS` after it was held raises one
`review_overdue` alert (alerts.jsonl and the configured notifiers), even when no run waits for
it: held by `cadl run`, or held again after a re-OCR. Nothing is ever published by default.
The code lives in `cadl.review_overdue`.
"""

import datetime as dt

from airflow.sdk import dag, task


@dag(
    dag_id="review_overdue",
    schedule="@hourly",
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["review", "alerts"],
    default_args={"owner": "digitization", "retries": 2,
                  "retry_delay": dt.timedelta(minutes=5)},
    doc_md=__doc__,
)
def review_overdue():
    @task
    def sweep() -> list[str]:
        """Alert once about each held item past its review deadline."""
        from cadl.review_overdue import overdue_reviews

        return [e["item_id"] for e in overdue_reviews(only_new=True)]

    sweep()


review_overdue()
