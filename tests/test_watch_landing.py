"""The landing-zone watch: one ingest_batch run per READY batch, never two, retries on request."""

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batchmaker import make_batch

from cadl.airflow_env import airflow_env, ensure_db
from kernel.settings import Settings
from cadl.watch import discover

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
AR = {"item_id": "ar-1", "languages": "ar", "title": "كتاب"}


def _settings(root: Path, **kw) -> Settings:
    return Settings(landing_dir=root / "landing", work_dir=root / "work",
                    reports_dir=root / "reports", **kw)


def _custody(root: Path, batch_id: str, run_id: str, decision: str) -> None:
    path = root / "reports" / batch_id / "custody.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run_id": run_id, "decision": decision}))


def test_discover_claims_each_batch_once_and_retries_only_when_told(tmp_path):
    settings = _settings(tmp_path)
    make_batch(tmp_path / "landing", [AR], batch_id="b-ar")
    make_batch(tmp_path / "landing", [AR], batch_id="b-wait", ready=False)
    runs = discover(settings)
    assert [r["trigger_run_id"] for r in runs] == ["watch__b-ar__1"]
    assert runs[0]["conf"] == {"batch_dir": str(tmp_path / "landing" / "b-ar"), "release": True}
    assert discover(settings) == []  # running or finished: never a second run
    _custody(tmp_path, "b-ar", "watch__b-ar__1", "kept")
    assert discover(settings) == []  # failed: waits for a person
    time.sleep(0.01)
    (tmp_path / "landing" / "b-ar" / "RETRY").touch()
    assert [r["trigger_run_id"] for r in discover(settings)] == ["watch__b-ar__2"]
    assert discover(settings) == []  # the same RETRY is not read twice


def test_deferred_batches_and_configured_automatic_retries(tmp_path):
    make_batch(tmp_path / "landing", [AR], batch_id="b1")
    settings = _settings(tmp_path, watch_auto_retries=1)
    discover(settings)
    _custody(tmp_path, "b1", "watch__b1__1", "deferred")  # files were still arriving
    assert [r["trigger_run_id"] for r in discover(settings)] == ["watch__b1__2"]
    _custody(tmp_path, "b1", "watch__b1__2", "kept")
    assert discover(settings) == []  # one automatic retry allowed, already used


def _list_runs(env) -> list[str]:
    out = subprocess.run([AIRFLOW, "dags", "list-runs", "ingest_batch", "-o", "json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith(("[{", "[]"))), "[]")
    return sorted(r["run_id"] for r in json.loads(line))


@pytest.mark.slow
def test_watch_landing_dag_triggers_ingest_batch_once_per_batch(tmp_path):
    env = airflow_env(dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"),
                           CADL_LANDING_DIR=str(tmp_path / "landing"),
                           CADL_WORK_DIR=str(tmp_path / "work"),
                           CADL_REPORTS_DIR=str(tmp_path / "reports")))
    ensure_db(env)
    make_batch(tmp_path / "landing", [AR], batch_id="b-one")
    make_batch(tmp_path / "landing", [AR], batch_id="b-two")
    make_batch(tmp_path / "landing", [AR], batch_id="b-wip", ready=False)

    def scan():
        proc = subprocess.run([AIRFLOW, "dags", "test", "watch_landing"], env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]

    scan()
    assert _list_runs(env) == ["watch__b-one__1", "watch__b-two__1"]
    _custody(tmp_path, "b-one", "watch__b-one__1", "kept")
    (tmp_path / "landing" / "b-one" / "RETRY").touch()
    scan()
    assert _list_runs(env) == ["watch__b-one__1", "watch__b-one__2", "watch__b-two__1"]
