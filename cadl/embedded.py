"""The embedded Airflow: a real local Airflow that `cadl` starts on first use and reuses.

api-server, scheduler, dag-processor and triggerer, each a detached process on 127.0.0.1, with
the LocalExecutor and a PostgreSQL metadata database (Debian's, its cluster in `postgres/`), all
under `$AIRFLOW_HOME` (default `var/airflow`): `embedded.json` records the ports, the process
ids and the `CADL_*` settings the components were started with; their own logs are in `logs/`
(task logs in Airflow's tree below it). A lock file serialises starting and stopping, so two `cadl` commands started at
once end with one Airflow. The REST API is reached as the generated local user `cadl`, whose
password is in `passwords.json` (0600), read by `cadl` to get a JWT. See docs/decisions.md
("Issue 14") for why PostgreSQL and why a generated user.
"""

import hashlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cadl.airflow_env import _airflow, airflow_env, ensure_db
from cadl.procs import (alive, create_database, free_port, init_postgres, start_detached,
                        start_postgres, stop_group, wait_for_port)
from kernel.errors import ConfigError
from kernel.locks import held

log = logging.getLogger(__name__)

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
USER = "cadl"
START_TIMEOUT = 300.0


@dataclass
class Embedded:
    """A running embedded Airflow: where its API is and how to authenticate to it."""

    home: Path
    api_url: str
    pids: dict[str, int]
    password: str

    @property
    def logs(self) -> Path:
        return self.home / "logs"


def home_of(env: dict[str, str] | None = None) -> Path:
    return Path(airflow_env(env)["AIRFLOW_HOME"]).absolute()


def _settings_key(env: dict[str, str]) -> dict[str, str]:
    """The settings the pipeline reads in task processes (inherited from the scheduler)."""
    return {k: v for k, v in sorted(env.items())
            if k.startswith(("CADL_", "AWS_")) and k != "AWS_SECRET_ACCESS_KEY"} | (
        {"AWS_SECRET_ACCESS_KEY#sha256": hashlib.sha256(
            env["AWS_SECRET_ACCESS_KEY"].encode()).hexdigest()}
        if "AWS_SECRET_ACCESS_KEY" in env else {})


def _secrets(home: Path) -> dict[str, str]:
    """JWT and session secrets and the `cadl` user's password, made once per home (0600)."""
    path = home / "secrets.json"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        data = {"jwt_secret": secrets.token_hex(32), "secret_key": secrets.token_hex(32),
                "password": secrets.token_urlsafe(18), "db_password": secrets.token_hex(16)}
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        path.with_suffix(".tmp").replace(path)
    return json.loads(path.read_text())


def embedded_env(port: int, db_port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the embedded components (and of the tasks they run)."""
    env = airflow_env(base)
    home = Path(env["AIRFLOW_HOME"]).absolute()
    env["AIRFLOW_HOME"] = str(home)
    sec = _secrets(home)
    passwords = home / "passwords.json"
    if not passwords.exists():
        fd = os.open(passwords, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({USER: sec["password"]}, fh)
    cores = os.cpu_count() or 1
    db = f"postgresql+psycopg2://airflow:{sec['db_password']}@127.0.0.1:{db_port}/airflow"
    env.update({
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # One LocalExecutor worker (a forked process, ~45 MB of its own) per task that can
        # usefully run at once: one OCR task fills the `ocr` pool and its cores, and the later
        # stages of earlier units (about a quarter of OCR's time) keep up in one slot beside
        # it; more only adds workers and task processes holding memory and contending for the
        # same cores (docs/decisions.md, "Issue 14: speed").
        "AIRFLOW__CORE__PARALLELISM": str(max(2, cores)),
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": sec["secret_key"],
        "AIRFLOW__API__WORKERS": "1",
        # New DAG files are seen within seconds; runs start without waiting for a slow loop.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        # A handful of DAG files that change only when the project is upgraded, and a changed
        # file is re-parsed at once whatever this says: one parsing process, and unchanged
        # files re-parsed every 5 minutes instead of every 30 s (each parse is a process).
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
        "PYTHONUNBUFFERED": "1",
        # Task processes call the api-server; on a busy 2-core machine an answer can take
        # longer than the 5 s default, and a task whose calls time out is killed.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
    })
    return env


def _locked(home: Path, timeout: float = START_TIMEOUT + 60):
    """Hold `embedded.lock` (one `cadl` starts or stops the embedded Airflow at a time)."""
    return held(home / "embedded.lock", timeout,
                f"starting or stopping Airflow (is it stuck starting? see {home / 'logs'})")


def _read_state(home: Path) -> dict | None:
    path = home / "embedded.json"
    return json.loads(path.read_text()) if path.exists() else None


def _healthy(state: dict) -> bool:
    from cadl.airflow_api import health

    return (all(alive(pid) and _is_airflow(pid, b"postgres" if name == "postgres" else
                                           b"airflow")
                for name, pid in state["pids"].items())
            and health(state["api_url"]))


def _is_airflow(pid: int, what: bytes = b"airflow") -> bool:
    """Guard against a recycled pid: the process must be one of our `airflow` commands."""
    try:
        return what in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def running(env: dict[str, str] | None = None, same_settings: bool = False) -> Embedded | None:
    """The embedded Airflow of this home if it is up, else None (nothing is started).

    `same_settings`: only if it runs with this environment's `CADL_*` settings (the same
    folders and stores), else None too.
    """
    home = home_of(env)
    state = _read_state(home)
    if state is None or not _healthy(state):
        return None
    if same_settings and state.get("settings") != _settings_key(
            dict(os.environ if env is None else env)):
        return None
    return Embedded(home, state["api_url"], state["pids"], _secrets(home)["password"])


def ensure_running(base: dict[str, str] | None = None) -> Embedded:
    """Reuse the embedded Airflow of this home, or start it (and wait until it serves the
    `ingest_batch` DAG). Raises ConfigError when it runs with other `CADL_*` settings than
    this command's, since its task processes would then read and write other folders."""
    base = dict(os.environ if base is None else base)
    home = home_of(base)
    key = _settings_key(base)
    with _locked(home):
        state = _read_state(home)
        if state is not None and _healthy(state):
            if state.get("settings") != key:
                differ = sorted(set(state.get("settings", {}).items()) ^ set(key.items()))
                names = sorted({k for k, _ in differ})
                raise ConfigError(f"the embedded Airflow in {home} runs with other settings "
                                  f"({', '.join(names)}); stop it with `cadl down` and run "
                                  "again, or use the same settings")
            return Embedded(home, state["api_url"], state["pids"], _secrets(home)["password"])
        if state is not None:
            log.info("embedded Airflow in %s is not (fully) running; restarting it", home)
            _stop_pids(state["pids"])
            (home / "embedded.json").unlink(missing_ok=True)
        return _start(home, base, key)


def _start(home: Path, base: dict[str, str], key: dict[str, str]) -> Embedded:
    from cadl.airflow_api import Api, health

    port, db_port = free_port(), free_port()
    env = embedded_env(port, db_port, base)
    print(f"cadl: starting the embedded Airflow on http://127.0.0.1:{port} "
          f"(state and logs in {home})", file=sys.stderr, flush=True)
    logs = home / "logs"
    procs = {}
    try:
        password = _secrets(home)["db_password"]
        try:
            init_postgres(home / "postgres", "airflow", password)
            procs["postgres"] = start_postgres(home / "postgres", db_port,
                                               logs / "postgres.log")
            create_database(db_port, "airflow", password, "airflow")
        except RuntimeError as exc:
            raise ConfigError(f"the embedded Airflow's database: {exc}") from None
        with open(logs / "db-migrate.log", "ab") as out:
            ensure_db(env, out=out)
        procs["api-server"] = start_detached(
            [_airflow(), "api-server", "--host", "127.0.0.1", "--port", str(port)],
            logs / "api-server.log", env)
        for name in COMPONENTS[1:]:
            # Task logs are files in this home, read by the api-server from disk: no log
            # server, which would listen on every interface.
            extra = ["--skip-serve-logs"] if name in ("scheduler", "triggerer") else []
            procs[name] = start_detached([_airflow(), name, *extra], logs / f"{name}.log", env)
        wait_for_port(port, START_TIMEOUT, "the Airflow api-server", procs["api-server"])
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while not health(url):
            if time.monotonic() > deadline:
                raise ConfigError(f"the Airflow api-server on {url} is not healthy; see "
                                  f"{logs / 'api-server.log'}")
            time.sleep(0.5)
        # The api-server builds its Execution API app on the first request, blocking every
        # request meanwhile (a minute on a busy machine): pay that now, not in the first task.
        _warm_up(url, deadline - time.monotonic())
        embedded = Embedded(home, url, {n: p.pid for n, p in procs.items()},
                            _secrets(home)["password"])
        Api(embedded).wait_for_dag("ingest_batch", START_TIMEOUT, procs)
        state = {"api_url": url, "port": port, "pids": embedded.pids, "settings": key,
                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        tmp = home / "embedded.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(home / "embedded.json")
        return embedded
    except BaseException:
        _stop_pids({n: p.pid for n, p in procs.items()})
        raise


def _warm_up(url: str, timeout: float) -> None:
    import httpx

    try:
        httpx.get(f"{url}/execution/health", timeout=max(timeout, 30))
    except httpx.HTTPError as exc:
        raise ConfigError(f"the Airflow api-server on {url} does not answer its Execution API "
                          f"({exc}); see the api-server log") from None


def _stop_pids(pids: dict[str, int]) -> None:
    # The scheduler first: it stops handing out tasks; the api-server last, since running
    # tasks report their state through it.
    for name in ("scheduler", "triggerer", "dag-processor", "api-server"):
        pid = pids.get(name)
        if pid and alive(pid) and _is_airflow(pid):
            stop_group(pid)
    pid = pids.get("postgres")
    if pid and alive(pid) and _is_airflow(pid, b"postgres"):
        stop_group(pid, sig=signal.SIGINT)  # "fast" shutdown: no waiting for clients


def stop(env: dict[str, str] | None = None) -> bool:
    """Stop the embedded Airflow of this home; False when none was running."""
    home = home_of(env)
    with _locked(home):
        state = _read_state(home)
        if state is None:
            return False
        _stop_pids(state["pids"])
        (home / "embedded.json").unlink(missing_ok=True)
        return True
