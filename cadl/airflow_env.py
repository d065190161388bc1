"""Run the project's DAGs through a real, embedded Airflow (SQLite), as `cadl run` and tests do.

The scheduler path and this path run the same DAG file; only the executor differs.
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

from kernel.errors import ConfigError
from kernel.settings import ROOT, VAR

log = logging.getLogger(__name__)

OCR_POOL = "ocr"


def airflow_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for `airflow` commands: project DAGs, no examples, home under var/."""
    env = dict(os.environ if base is None else base)
    env.setdefault("AIRFLOW_HOME", str(VAR / "airflow"))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # The archivists' collection view and served batch reports (plugins/cadl_collection.py).
    env.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(ROOT / "plugins"))
    env.setdefault("AIRFLOW__API__HOST", "127.0.0.1")
    # Items of a batch are independent; a few may be mapped at once without hurting OCR speed,
    # which parallelises pages itself.
    env.setdefault("AIRFLOW__CORE__MAX_MAP_LENGTH", "4096")
    return env


def ocr_processes() -> int:
    """Tesseract processes one OCR task starts (CADL_OCR_WORKERS, default one per core): the
    `ocr` pool slots the task takes, so the pool (one slot per core) bounds the processes."""
    from kernel.settings import get_settings

    return max(1, get_settings().ocr_workers or os.cpu_count() or 1)


def _airflow() -> str:
    exe = Path(sys.executable).with_name("airflow")
    if not exe.exists():
        raise ConfigError(f"airflow is not installed beside {sys.executable}: run `make demo` "
                          "or `pip install -e .` in the virtualenv")
    return str(exe)


def ensure_db(env: dict[str, str], out=None) -> None:
    """Create or upgrade the embedded metadata database once per Airflow home.

    Airflow is not imported here: importing it reconfigures logging onto stdout, which must
    stay clean for `cadl run --json`.
    """
    from importlib.metadata import version

    home = Path(env["AIRFLOW_HOME"])
    marker = home / f".migrated-{version('apache-airflow')}-pools"
    if marker.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    log.info("initialising Airflow metadata database in %s", home)
    out = out or sys.stderr
    subprocess.run([_airflow(), "db", "migrate"], env=env, check=True, stdout=out, stderr=out)
    # OCR tasks run in the `ocr` pool, one slot per core, and each takes as many slots as it
    # starts tesseract processes, so the scheduler never runs more of them than there are cores.
    subprocess.run([_airflow(), "pools", "set", OCR_POOL, str(os.cpu_count() or 1),
                    "OCR work units: one slot per core"], env=env, check=True,
                   stdout=out, stderr=out)
    marker.touch()


def dags_test(dag_id: str, conf: dict, env: dict[str, str] | None = None) -> int:
    """Run one DAG run in-process with `airflow dags test`; returns its exit code (0 = success)."""
    import json

    env = airflow_env(env)
    ensure_db(env)
    proc = subprocess.run([_airflow(), "dags", "test", dag_id, "-c", json.dumps(conf)],
                          env=env, stdout=sys.stderr, stderr=sys.stderr)
    return proc.returncode
