"""Fixtures for the storage tests: a real S3 server process (moto's standalone server) and a
`storage` fixture that runs each contract test against both backends.

The S3 server is a separate process spoken to over HTTP, like SeaweedFS or Garage in production,
not moto's in-process mocks: that way botocore's retry, checksum and addressing settings are
exercised for real, and a killed server really refuses connections.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cadl.settings import Settings
from preservation.folder import FolderStorage
from preservation.storage import ObjectInfo, Storage, open_storage

STARTUP_TIMEOUT = 30  # seconds for moto_server to accept connections
STOP_TIMEOUT = 10  # seconds to exit after SIGTERM before we SIGKILL it


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """One moto_server process on a free port of 127.0.0.1; `stop()` always reaps it."""

    def __init__(self, log_path: Path):
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
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


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path_factory):
    """Dummy credentials, and no chance of picking up a real profile or instance metadata."""
    empty = tmp_path_factory.getbasetemp() / "no-aws-config"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """Endpoint URL of a moto_server shared by the session's tests (each uses its own bucket)."""
    server = MotoServer(tmp_path_factory.mktemp("moto") / "server.log")
    yield server.endpoint
    server.stop()


@pytest.fixture
def private_moto(tmp_path):
    """A moto_server of this test's own, which the test may stop (to simulate an outage)."""
    server = MotoServer(tmp_path / "moto.log")
    yield server
    server.stop()


def s3_settings(endpoint: str) -> Settings:
    return Settings(s3_endpoint_url=endpoint, s3_region="us-east-1", aws_conn_id=None)


def new_bucket() -> str:
    return f"test-{uuid.uuid4().hex[:20]}"


@pytest.fixture(params=["folder", "s3"])
def storage(request, tmp_path) -> Storage:
    """The same contract, run against a folder and against an S3 server."""
    if request.param == "folder":
        return FolderStorage(tmp_path / "store")
    endpoint = request.getfixturevalue("moto_endpoint")
    return open_storage(f"s3://{new_bucket()}/cadl", s3_settings(endpoint), create_bucket=True)


class SimulatedCrash(Exception):
    """Raised by RecordingStorage to stand for a task killed mid-deposit."""


class RecordingStorage:
    """Delegates to a real storage and records every write and delete, in order.

    `fail_after_puts` raises after that many successful put_file calls (a crashed task);
    `corrupt` maps keys whose stored bytes are replaced right after upload (a bad disk/server).
    """

    Crash = SimulatedCrash

    def __init__(self, inner: Storage, fail_after_puts: int | None = None, corrupt=()):
        self.inner = inner
        self.url = inner.url
        self.writes: list[str] = []
        self.deletes: list[str] = []
        self.fail_after_puts = fail_after_puts
        self.corrupt = set(corrupt)

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        if self.fail_after_puts is not None and len(self.writes) >= self.fail_after_puts:
            raise SimulatedCrash(f"simulated crash before uploading {key}")
        info = self.inner.put_file(key, path)
        self.writes.append(key)
        if key in self.corrupt:
            data = bytearray(Path(path).read_bytes())
            data[len(data) // 2] ^= 0xFF
            self.inner.put_bytes(key, bytes(data))
        return info

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        self.writes.append(key)
        return self.inner.put_bytes(key, data)

    def delete(self, key: str) -> None:
        self.deletes.append(key)
        self.inner.delete(key)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def recording():
    """The RecordingStorage class, for tests that inject faults or check write order."""
    return RecordingStorage
