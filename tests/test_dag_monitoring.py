"""ingest_batch is wired for monitoring: docs on every task, alerts, a deadline, owners and tags."""

from pathlib import Path

from cadl.alerts import deadline_hours, task_failed

DAGS = Path(__file__).resolve().parents[1] / "dags"


def _dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS)).dags["ingest_batch"]


def _attr(task, name):
    """A task attribute, also for mapped tasks (which keep theirs in partial_kwargs)."""
    partial = getattr(task, "partial_kwargs", None)
    return partial.get(name) if partial is not None else getattr(task, name)


def test_every_task_has_docs_an_owner_and_the_failure_alert():
    dag = _dag()
    for task in dag.tasks:
        assert _attr(task, "doc_md"), task.task_id
        assert task.owner == "digitization", task.task_id
        callbacks = _attr(task, "on_failure_callback")
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert task_failed in callbacks, task.task_id
        assert _attr(task, "retry_policy") is not None, task.task_id
    assert {"ingest", "batch-report"} <= set(dag.tags)


def test_deadline_alert_fires_after_the_configured_hours():
    import datetime as dt

    (alert,) = _dag().deadline
    assert alert.interval == dt.timedelta(hours=deadline_hours())
    assert alert.callback.path == "cadl.alerts.deadline_missed"
