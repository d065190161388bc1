"""ingest_batch on a real distributed Airflow: CeleryExecutor, Postgres, Redis, two workers.

Run with `make test-distributed`. One worker is killed with SIGKILL while it runs an OCR task;
the batch must still complete on the other worker, with nothing duplicated and nothing lost.
"""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from ingest.scaled_sample import write_scaled_sample

from .cluster import Cluster

pytestmark = pytest.mark.distributed

PAGES = 36
UNIT_PAGES = 6  # small work units, so the batch spreads over both workers
RUN_ID = "distributed-1"


def _missing_tools() -> list[str]:
    need = ["redis-server", "psql", "/usr/lib/postgresql/15/bin/postgres"]
    return [t for t in need if shutil.which(t) is None and not Path(t).exists()]


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    missing = _missing_tools()
    if missing:
        pytest.fail(f"make test-distributed installs postgresql and redis-server; missing: "
                    f"{', '.join(missing)}")
    base = tmp_path_factory.mktemp("dist")
    batch, _ = write_scaled_sample(base / "landing", "dist-batch", PAGES)
    env = dict(os.environ, CADL_WORK_DIR=str(base / "work"),
               CADL_REPORTS_DIR=str(base / "reports"),
               CADL_PRESERVATION_URL=(base / "preservation").as_uri(),
               CADL_ACCESS_URL=(base / "access").as_uri(), CADL_ALLOW_FILE_URLS="true", CADL_OCR_WORKERS="1",
               CADL_UNIT_PAGES=str(UNIT_PAGES))
    with Cluster(base / "cluster", workers=2, env=env) as cluster:
        cluster.wait_for_dag("ingest_batch", 180)
        cluster.trigger("ingest_batch", {"batch_dir": str(batch)}, RUN_ID)
        victim = _kill_worker_during_ocr(cluster, "worker1", timeout=600)
        state = cluster.wait_for_run("ingest_batch", RUN_ID, 1500)
        tis = cluster.task_instances(RUN_ID)
        tries = cluster.task_tries(RUN_ID)
    return {"base": base, "batch": batch, "state": state, "tis": tis, "tries": tries,
            "victim": victim}


def _kill_worker_during_ocr(cluster: Cluster, worker: str, timeout: float) -> dict:
    """SIGKILL `worker` (and its task processes) as soon as it is running an OCR task."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.check_alive()
        running = [ti for ti in cluster.task_instances(RUN_ID)
                   if ti["task_id"] == "unit.ocr" and ti["state"] == "running"
                   and ti["hostname"] == worker]
        if running:
            time.sleep(0.5)  # inside tesseract, not at the task's first line
            cluster.kill(worker)
            return running[0]
        time.sleep(0.2)
    raise TimeoutError(f"{worker} never ran an OCR task")


def test_batch_completes_after_a_worker_is_killed(cluster_run):
    assert cluster_run["state"] == "success"
    report = json.loads((cluster_run["base"] / "reports" / "dist-batch" / "report.json")
                        .read_text("utf-8"))
    statuses = {i["item_id"]: i["status"] for i in report["items"]}
    assert len(statuses) >= 10
    assert set(statuses.values()) <= {"published", "preserved"}, statuses


def test_ocr_ran_on_both_workers(cluster_run):
    hosts = {ti["hostname"] for ti in cluster_run["tries"] if ti["task_id"] == "unit.ocr"}
    assert {"worker1", "worker2"} <= hosts
    units = {ti["map_index"] for ti in cluster_run["tis"] if ti["task_id"] == "unit.ocr"}
    assert len(units) >= 4  # the batch was split into several work units


def test_the_killed_task_was_retried_on_the_other_worker(cluster_run):
    victim = cluster_run["victim"]
    final = next(ti for ti in cluster_run["tis"]
                 if ti["task_id"] == "unit.ocr" and ti["map_index"] == victim["map_index"])
    assert final["state"] == "success"
    assert int(final["try_number"]) >= 2
    assert final["hostname"] == "worker2"


def test_nothing_duplicated_and_nothing_lost(cluster_run):
    items = cluster_run["base"] / "preservation" / "items"
    batch_items = sorted(p.name for p in cluster_run["batch"].iterdir() if p.is_dir())
    assert sorted(p.name for p in items.iterdir()) == batch_items
    for item in items.iterdir():
        versions = sorted(p.name for p in item.iterdir())
        assert versions == ["v0001"], (item.name, versions)
        assert (item / "v0001" / "DEPOSITED.json").exists()
    leftovers = [p for p in cluster_run["base"].joinpath("preservation").rglob("*")
                 if ".partial" in p.name or p.name.endswith(".tmp")]
    assert leftovers == []
    catalogue = json.loads((cluster_run["base"] / "access" / "catalogue.json").read_text())
    ids = [e["item_id"] for e in catalogue["items"]]
    assert len(ids) == len(set(ids))
    assert not any(i.startswith("ar-restricted") for i in ids)
