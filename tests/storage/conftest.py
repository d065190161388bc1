"""Fixtures for the storage tests: a real S3 server process (moto's standalone server) and a
`storage` fixture that runs each contract test against both backends.

The S3 server is a separate process spoken to over HTTP, like SeaweedFS or Garage in production,
not moto's in-process mocks: that way botocore's retry, checksum and addressing settings are
exercised for real, and a killed server really refuses connections.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kernel.settings import Settings
from preservation.folder import FolderStorage
from preservation.backends import open_storage
from preservation.storage import ObjectInfo, Storage
from s3server import MotoServer


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
