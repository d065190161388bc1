"""A real S3 server for tests: moto's standalone server as a separate process on 127.0.0.1.

Tests speak HTTP to it exactly as production speaks to SeaweedFS, Garage or AWS, so botocore's
retry, checksum and addressing settings are exercised for real, and a killed server really
refuses connections.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

STARTUP_TIMEOUT = 30  # seconds for moto_server to accept connections
STOP_TIMEOUT = 10  # seconds to exit after SIGTERM before we SIGKILL it


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """One moto_server process on a free port of 127.0.0.1; `stop()` always reaps it."""

    def __init__(self, log_path: Path, env: dict[str, str] | None = None, *,
                 check_checksums: bool = False, flexible_checksums: bool = True):
        """`env` adds variables for the server, e.g. INITIAL_NO_AUTH_ACTION_COUNT, which makes
        moto check credentials (signatures) after that many requests, as a real server does.
        `check_checksums` runs it behind `s3verify` (upload checksums checked as AWS does);
        `flexible_checksums=False` makes that a server that knows only Content-MD5."""
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")
        if check_checksums:
            command = [sys.executable, str(Path(__file__).with_name("s3verify.py")),
                       str(self.port)] + ([] if flexible_checksums
                                          else ["--no-flexible-checksums"])
        else:
            command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                       str(self.port)]
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            self._wait_until_listening(log_path)
        except BaseException:
            self.stop()
            raise

    def _wait_until_listening(self, log_path: Path) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"moto_server exited with {self.process.returncode}: "
                    + log_path.read_text(errors="replace")[-2000:]
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"moto_server did not listen on port {self.port} in {STARTUP_TIMEOUT}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
