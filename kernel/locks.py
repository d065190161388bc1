"""`held(path)`: an exclusive advisory lock on a file, for read-modify-write of shared files.

Two processes on one machine that update the same JSON file (the embedded Airflow's state, a
batch report that two review decisions patch at once) must not interleave: the second would
overwrite the first's change, or find its temporary file gone. `flock` is released by the
kernel when its holder dies, so a crashed task never leaves a stale lock behind. It serialises
processes of one machine (or of one shared file system that honours flock); that is where the
files it guards live.
"""

import fcntl
import time
from contextlib import contextmanager
from pathlib import Path

from kernel.errors import ConfigError


@contextmanager
def held(path: Path, timeout: float, what: str):
    """Hold an exclusive lock on `path` (created if missing) for the `with` block. Raises
    ConfigError naming `path` and `what` is waiting when another process holds it longer than
    `timeout` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConfigError(f"another process has held {path} for more than "
                                      f"{timeout:.0f}s; {what} waited for it") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
