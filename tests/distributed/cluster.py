"""A real distributed Airflow on 127.0.0.1: Postgres, Redis, api-server, scheduler, dag-processor
and N Celery workers, each a separate process, for `make test-distributed`.

Every process is started in its own session and stopped (process group, SIGTERM then SIGKILL)
when the cluster closes, whatever happened in between; `cadl.procs` does both, for this cluster
and for the embedded Airflow that `cadl` starts.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cadl.procs import (create_database, free_port, init_postgres, pg_bin, start_postgres,
                        stop_group, wait_for_port)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class Cluster:
    """Start with `with Cluster(base, workers=2, env=...) as c:`; `c.airflow(...)` runs the CLI."""

    def __init__(self, base: Path, workers: int = 2, env: dict[str, str] | None = None):
        self.base = base
        self.n_workers = workers
        self.procs: dict[str, subprocess.Popen] = {}
        self.killed: set[str] = set()  # stopped on purpose, not crashed
        self.logs = base / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pg_port, self.redis_port, self.api_port = free_port(), free_port(), free_port()
        db = f"postgresql+psycopg2://airflow:airflow@127.0.0.1:{self.pg_port}/airflow"
        self.env = dict(os.environ if env is None else env)
        self.env.update({
            "AIRFLOW_HOME": str(base / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL":
                f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "cadl.worker.hostname",
            # A worker killed with -9 stops heartbeating; notice it in seconds, not minutes.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        })

    # --- processes -----------------------------------------------------------------------------

    def _start(self, name: str, args: list[str], env: dict | None = None, **kw) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env or self.env,
                                start_new_session=True, **kw)
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill a process and everything it forked (its process group)."""
        proc = self.procs[name]
        self.killed.add(name)
        stop_group(proc.pid, timeout=15, sig=sig)
        proc.wait()

    def _start_postgres(self) -> None:
        # As root, Postgres runs as the postgres user: its files live in a folder of their own
        # that this user can reach (pytest's tmp folders are private to root).
        self.pg_root = Path(tempfile.mkdtemp(prefix="cadl-pg-"))
        os.chmod(self.pg_root, 0o755)
        init_postgres(self.pg_root / "data", "airflow", "airflow")
        self.procs["postgres"] = start_postgres(self.pg_root / "data", self.pg_port,
                                                self.logs / "postgres.log", fsync=False)
        create_database(self.pg_port, "airflow", "airflow", "airflow")

    def _start_redis(self) -> None:
        self._start("redis", ["redis-server", "--port", str(self.redis_port), "--bind",
                              "127.0.0.1", "--save", "", "--appendonly", "no"])
        wait_for_port(self.redis_port, 30, "redis", self.procs["redis"])

    def airflow(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        proc = subprocess.run([str(BIN / "airflow"), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        return proc.stdout

    def start_worker(self, name: str) -> None:
        env = dict(self.env, CADL_WORKER_NAME=name)
        self._start(name, [str(BIN / "airflow"), "celery", "worker", "--concurrency", "1",
                           "--celery-hostname", f"{name}@%h", "--without-mingle",
                           "--without-gossip"], env=env)

    def __enter__(self) -> "Cluster":
        try:
            self._start_postgres()
            self._start_redis()
            self.airflow("db", "migrate", timeout=600)
            # One OCR slot per worker process, as a site sizes the pool to its workers' cores.
            self.airflow("pools", "set", "ocr", str(self.n_workers), "OCR work units")
            self._start("api-server", [str(BIN / "airflow"), "api-server", "--port",
                                       str(self.api_port), "--host", "127.0.0.1"])
            wait_for_port(self.api_port, 120, "api-server", self.procs["api-server"])
            self._start("scheduler", [str(BIN / "airflow"), "scheduler"])
            self._start("dag-processor", [str(BIN / "airflow"), "dag-processor"])
            for i in range(1, self.n_workers + 1):
                self.start_worker(f"worker{i}")
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        for name in reversed(list(self.procs)):
            if self.procs[name].poll() is None:
                self.kill(name, signal.SIGTERM)
        if getattr(self, "pg_root", None):
            shutil.rmtree(self.pg_root, ignore_errors=True)

    def __exit__(self, *exc) -> None:
        self.close()

    # --- queries -------------------------------------------------------------------------------

    def sql(self, query: str) -> list[list[str]]:
        env = dict(self.env, PGPASSWORD="airflow")
        out = subprocess.run([str(pg_bin() / "psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "airflow",
                              "-d", "airflow", "-At", "-F", "\t", "-c", query], env=env,
                             capture_output=True, text=True, check=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def check_alive(self) -> None:
        """Fail fast, with its log, when a component died on its own."""
        for name, proc in self.procs.items():
            if proc.poll() is not None and name not in self.killed:
                log = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log}")

    def wait_for_dag(self, dag_id: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            rows = self.sql(f"SELECT dag_id FROM dag WHERE dag_id = '{dag_id}'")
            if rows:
                return
            time.sleep(2)
        raise RuntimeError(f"{dag_id} was not parsed within {timeout:.0f}s")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            rows = self.sql(f"SELECT state FROM dag_run WHERE dag_id = '{dag_id}' "
                            f"AND run_id = '{run_id}'")
            if rows and rows[0][0] in ("success", "failed"):
                return rows[0][0]
            time.sleep(2)
        raise TimeoutError(f"run {run_id} of {dag_id} did not finish within {timeout:.0f}s")

    def task_instances(self, run_id: str) -> list[dict]:
        rows = self.sql("SELECT task_id, map_index, state, hostname, try_number FROM "
                        f"task_instance WHERE run_id = '{run_id}' ORDER BY task_id, map_index")
        return [dict(zip(("task_id", "map_index", "state", "hostname", "try_number"), r))
                for r in rows]

    def task_tries(self, run_id: str) -> list[dict]:
        """Every try of every task of the run: earlier tries (task_instance_history) included."""
        rows = self.sql("SELECT task_id, map_index, state, hostname, try_number FROM "
                        f"task_instance_history WHERE run_id = '{run_id}' UNION ALL "
                        "SELECT task_id, map_index, state, hostname, try_number FROM "
                        f"task_instance WHERE run_id = '{run_id}'")
        return [dict(zip(("task_id", "map_index", "state", "hostname", "try_number"), r))
                for r in rows]

    def trigger(self, dag_id: str, conf: dict, run_id: str) -> None:
        self.airflow("dags", "unpause", dag_id)
        self.airflow("dags", "trigger", dag_id, "--run-id", run_id, "-c", json.dumps(conf))
