"""The DAG folder imports cleanly and ingest_batch is wired as documented."""

import re
from pathlib import Path

DAGS = Path(__file__).resolve().parents[1] / "dags"


def _bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dag_folder_imports_without_errors():
    bag = _bag()
    assert bag.import_errors == {}
    assert {"ingest_batch", "review_overdue"} <= set(bag.dag_ids)


def test_ingest_batch_stages_in_order():
    dag = _bag().dags["ingest_batch"]
    order = ["validate", "units", "unit.ocr", "unit.describe", "unit.package", "unit.deposit",
             "unit.publish", "serials", "catalogue", "report", "held", "review.ask", "review.decide",
             "review.apply", "release", "outcome"]
    assert {t.task_id for t in dag.tasks} == set(order)
    for upstream, downstream in zip(order, order[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids, (upstream, downstream)
    assert dag.get_task("report").trigger_rule == "all_done"
    assert dag.get_task("release").trigger_rule == "all_done"
    # The run's state comes from its leaves: `outcome` is the only one, and runs whatever
    # happened, so it can fail the run.
    assert [t.task_id for t in dag.leaves] == ["outcome"]
    assert dag.get_task("outcome").trigger_rule == "all_done"


def test_every_task_has_an_execution_timeout_and_ocr_takes_a_slot_per_process():
    import os

    from cadl.airflow_env import ocr_processes

    dag = _bag().dags["ingest_batch"]
    for task in dag.tasks:
        assert task.execution_timeout is not None, task.task_id
    ocr = dag.get_task("unit.ocr")
    assert ocr.pool == "ocr"
    assert ocr.pool_slots == min(ocr_processes(), os.cpu_count() or 1)
    assert "batch_dir" in dag.params
    assert dag.doc_md and "ingest" in dag.tags


def test_held_items_wait_for_a_person_and_nothing_is_decided_by_default():
    """The review task is Airflow's HITL operator: no default answer, the deadline as timeout,
    its failure (a passed deadline) alerts; review can be switched off per run."""
    import datetime as dt

    from airflow.providers.standard.operators.hitl import HITLOperator
    from kernel.settings import get_settings

    dag = _bag().dags["ingest_batch"]
    decide = dag.get_task("review.decide")
    assert isinstance(decide, HITLOperator)
    assert decide.options == ["publish", "reocr", "return"] and decide.defaults is None
    assert decide.response_timeout == dt.timedelta(hours=get_settings().review_deadline_hours)
    assert set(decide.params) == {"by", "comment", "engine", "preprocess", "tessdata"}
    # Airflow validates a task's params when it starts: a field the person fills in later must
    # accept "nothing yet", or the task fails before it can ask (it did, on the scheduler).
    for name in decide.params:
        decide.params.get_param(name).resolve(suppress_exception=False)
    assert decide.on_failure_callback
    assert dag.get_task("held").trigger_rule == "all_done"
    assert dag.params["review"] is True


def test_dag_files_hold_no_pipeline_logic():
    """DAG files only wire tasks: task bodies call cadl.pipeline, never the stage packages."""
    stage_import = re.compile(r"^\s*(from|import)\s+(ingest|ocr|metadata|preservation)\b", re.M)
    for path in DAGS.glob("*.py"):
        source = path.read_text("utf-8")
        assert not stage_import.search(source), path.name
        assert "subprocess" not in source and "open(" not in source, path.name
