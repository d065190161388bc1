"""Long-running helper processes on 127.0.0.1: start detached, wait until they listen, stop them.

Shared by the embedded Airflow that `cadl` starts (cadl/embedded.py) and the distributed test
cluster (tests/distributed/cluster.py), so both start and stop processes the same way: each in a
session of its own (a closed terminal or Ctrl-C in `cadl` never reaches it), stopped as a
process group (SIGTERM, then SIGKILL), so what it forked (task processes, tesseract) goes too.
"""

import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float, what: str, proc=None) -> None:
    """Wait until something listens on 127.0.0.1:`port`; fail early when `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        if listening(port):
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def start_detached(args: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start `args` in a new session with stdout and stderr appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def stop_group(pid: int, timeout: float = 30, sig: int = signal.SIGTERM) -> None:
    """Stop the process group led by `pid`: `sig`, then SIGKILL after `timeout` seconds."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid) and not _group_alive(pid):
            return
        time.sleep(0.2)
    log.warning("process group %s did not stop within %.0fs; killing it", pid, timeout)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for _ in range(50):
        _reap(pid)
        if not _group_alive(pid):
            return
        time.sleep(0.1)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _group_alive(pgid: int) -> bool:
    """True while any live process is in group `pgid`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


# --- PostgreSQL (Debian's), for the embedded Airflow and the distributed test cluster ---------

def pg_bin() -> Path:
    """The newest Debian PostgreSQL's bin folder; ConfigError-free callers get RuntimeError."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian package `postgresql`; "
                           "`make demo` and `make test` install it)")
    return found[-1].parent


def _as_postgres() -> list[str]:
    # Postgres refuses to run as root: as root, run it as the `postgres` user.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def init_postgres(data: Path, user: str, password: str) -> None:
    """Create a cluster in `data` (once) with superuser `user`, md5 password auth."""
    if (data / "PG_VERSION").exists():
        return
    import shutil

    as_user = _as_postgres()
    data.mkdir(parents=True, exist_ok=True)
    pwfile = data.parent / f".{data.name}.pw"
    pwfile.write_text(password + "\n")
    os.chmod(pwfile, 0o600)
    if as_user:
        for path in (data, pwfile):
            shutil.chown(path, "postgres")
        probe = subprocess.run(as_user + ["test", "-w", str(data)])
        if probe.returncode:
            pwfile.unlink()
            raise RuntimeError(f"the postgres user cannot reach {data} (a parent folder is "
                               "private to root); use a folder others may traverse")
    try:
        made = subprocess.run(as_user + [str(pg_bin() / "initdb"), "-D", str(data), "-U", user,
                                         "--pwfile", str(pwfile), "-A", "md5", "-E", "UTF8"],
                              capture_output=True, text=True)
    finally:
        pwfile.unlink(missing_ok=True)
    if made.returncode:
        raise RuntimeError(f"initdb {data} failed: {made.stderr[-2000:]}")


def start_postgres(data: Path, port: int, log_path: Path, fsync: bool = True) -> subprocess.Popen:
    """Start the cluster in `data` on 127.0.0.1:`port` (its socket in `data`)."""
    args = _as_postgres() + [
        str(pg_bin() / "postgres"), "-D", str(data), "-p", str(port),
        "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}",
        "-c", "max_connections=200", "-c", f"fsync={'on' if fsync else 'off'}"]
    proc = start_detached(args, log_path, dict(os.environ))
    wait_for_port(port, 60, "postgres", proc)
    return proc


def create_database(port: int, user: str, password: str, name: str) -> None:
    """CREATE DATABASE `name` unless it exists (retried while Postgres finishes starting)."""
    env = dict(os.environ, PGPASSWORD=password)
    psql = [str(pg_bin() / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d",
            "postgres", "-At", "-c"]
    for _ in range(30):
        found = subprocess.run(psql + [f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                               env=env, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == "1":
            return
        if found.returncode == 0:
            made = subprocess.run(psql + [f"CREATE DATABASE {name}"], env=env,
                                  capture_output=True, text=True)
            if made.returncode == 0:
                return
        time.sleep(1)
    raise RuntimeError(f"could not create database {name} on 127.0.0.1:{port}: "
                       f"{found.stderr.strip()}")
