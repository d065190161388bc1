"""One storage contract, checked against both backends (folder and S3 over HTTP)."""

import hashlib
import io
import json
import os
import time

import pytest

from kernel.errors import ConfigError, StorageUnavailable
from kernel.settings import Settings
from preservation.folder import FolderStorage, atomic_copy
from preservation.s3 import S3Storage
from preservation.backends import open_storage
from preservation.storage import Storage, validate_key

from .conftest import new_bucket, s3_settings


def sha(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def test_backend_satisfies_the_protocol(storage):
    assert isinstance(storage, Storage)


def test_put_bytes_then_get_bytes_returns_the_same_bytes(storage):
    data = "نص عربي 中文文本\n".encode("utf-8")
    info = storage.put_bytes("items/a/item.json", data)
    assert (info.key, info.size, info.sha512) == ("items/a/item.json", len(data), sha(data))
    assert storage.get_bytes("items/a/item.json") == data


def test_put_file_streams_and_every_read_path_agrees(storage, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "p0001.tif"
    source.write_bytes(data)
    info = storage.put_file("items/a/masters/p0001.tif", source)
    assert info.size == len(data) and info.sha512 == sha(data)

    assert storage.sha512("items/a/masters/p0001.tif") == sha(data)
    with storage.open("items/a/masters/p0001.tif") as stream:
        assert stream.read() == data
    dest = tmp_path / "out" / "copy.tif"
    storage.download("items/a/masters/p0001.tif", dest)
    assert dest.read_bytes() == data
    assert [p.name for p in dest.parent.iterdir()] == ["copy.tif"]  # no temp file left


def test_put_replaces_an_existing_object(storage):
    storage.put_bytes("k.txt", b"first")
    storage.put_bytes("k.txt", b"second")
    assert storage.get_bytes("k.txt") == b"second"


def test_head_reports_size_or_none_when_missing(storage):
    assert storage.head("nothing/here.txt") is None
    storage.put_bytes("dir/file.bin", b"12345")
    info = storage.head("dir/file.bin")
    assert info is not None and info.key == "dir/file.bin" and info.size == 5


def test_list_is_sorted_and_uses_string_prefixes(storage):
    for key in ["items/b10/x", "items/b1/z", "items/b1/a/deep", "items/b2/y", "catalogue.json"]:
        storage.put_bytes(key, b".")
    assert list(storage.list("items/b1/")) == ["items/b1/a/deep", "items/b1/z"]
    assert list(storage.list("items/b1")) == ["items/b1/a/deep", "items/b1/z", "items/b10/x"]
    assert list(storage.list()) == sorted(
        ["items/b10/x", "items/b1/z", "items/b1/a/deep", "items/b2/y", "catalogue.json"]
    )
    assert list(storage.list("nothing/")) == []


@pytest.mark.parametrize("read", ["get_bytes", "sha512", "open"])
def test_reading_a_missing_key_raises_file_not_found_naming_it(storage, read):
    with pytest.raises(FileNotFoundError, match="missing/key.bin"):
        getattr(storage, read)("missing/key.bin")


def test_download_of_a_missing_key_leaves_no_file(storage, tmp_path):
    with pytest.raises(FileNotFoundError):
        storage.download("missing/key.bin", tmp_path / "dl" / "x.bin")
    assert not (tmp_path / "dl" / "x.bin").exists()


def test_delete_removes_and_is_idempotent(storage):
    storage.put_bytes("items/a/item.json", b"{}")
    storage.delete("items/a/item.json")
    storage.delete("items/a/item.json")
    assert storage.head("items/a/item.json") is None
    assert list(storage.list("items/")) == []


def test_uri_names_the_backend_location(storage):
    uri = storage.uri("items/a/item.json")
    if isinstance(storage, FolderStorage):
        assert uri == (storage.root / "items/a/item.json").as_uri()
    else:
        assert uri == f"s3://{storage.bucket}/cadl/items/a/item.json"


BAD_KEYS = ["", "/abs", "a/../b", "..", "a//b", "a/", "./a", "a/./b", "名字.tif", "ملف.tif",
            "a b", "a\\b", "café.tif", "a:b"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_unsafe_keys_are_refused_by_every_method(storage, key):
    with pytest.raises(ValueError):
        validate_key(key)
    with pytest.raises(ValueError):
        storage.put_bytes(key, b"x")
    with pytest.raises(ValueError):
        storage.head(key)


@pytest.mark.parametrize("url", ["http://example.org/x", "file://host/x", "ftp://x/y", "/plain/path"])
def test_open_storage_refuses_unsupported_urls(url):
    with pytest.raises(ConfigError):
        open_storage(url, Settings())


def test_open_storage_on_a_file_url_creates_the_folder(tmp_path):
    store = open_storage((tmp_path / "new" / "pres").as_uri(), Settings())
    assert isinstance(store, FolderStorage) and (tmp_path / "new" / "pres").is_dir()


# -- folder backend: atomic writes --------------------------------------------------------------


class _BrokenStream(io.RawIOBase):
    """Yields one chunk, then fails like a disk or network read error."""

    def __init__(self):
        self.calls = 0

    def readable(self):
        return True

    def read(self, size=-1):
        self.calls += 1
        if self.calls == 1:
            return b"x" * 1000
        raise OSError("simulated read error")


def test_folder_write_interrupted_midway_leaves_nothing_under_the_key(tmp_path):
    store = FolderStorage(tmp_path / "store")
    with pytest.raises(OSError):
        atomic_copy(_BrokenStream(), store.root / "items" / "a" / "p.tif")
    assert store.head("items/a/p.tif") is None
    assert list((store.root / "items" / "a").iterdir()) == []


def test_folder_temp_files_are_not_listed(tmp_path):
    store = FolderStorage(tmp_path / "store")
    store.put_bytes("a/real.txt", b"1")
    (store.root / "a" / f".real.txt.{'0' * 32}.tmp").write_bytes(b"half")
    assert list(store.list()) == ["a/real.txt"]


# -- S3 backend -----------------------------------------------------------------------------------


def test_s3_missing_bucket_is_a_config_error_naming_it(moto_endpoint):
    bucket = new_bucket()
    with pytest.raises(ConfigError, match=bucket):
        open_storage(f"s3://{bucket}/x", s3_settings(moto_endpoint))


def test_s3_large_file_goes_multipart_and_round_trips(moto_endpoint, tmp_path):
    store = S3Storage(
        new_bucket(), "p", endpoint_url=moto_endpoint, create_bucket=True,
        multipart_threshold=5 * 1024 * 1024,
    )
    data = os.urandom(12 * 1024 * 1024 + 3)
    source = tmp_path / "big.tif"
    source.write_bytes(data)
    store.put_file("big.tif", source)
    head = store._client.head_object(Bucket=store.bucket, Key="p/big.tif")
    assert head["ETag"].strip('"').endswith("-3")  # three parts: it really was multipart
    assert store.sha512("big.tif") == sha(data)


def test_s3_server_down_raises_storage_unavailable_quickly(private_moto):
    store = S3Storage(
        new_bucket(), endpoint_url=private_moto.endpoint, create_bucket=True,
        max_attempts=2, connect_timeout=1,
    )
    store.put_bytes("k", b"v")
    private_moto.stop()
    started = time.monotonic()
    for call in (lambda: store.get_bytes("k"), lambda: store.put_bytes("k", b"w"),
                 lambda: list(store.list("")), lambda: store.head("k")):
        with pytest.raises(StorageUnavailable) as info:
            call()
        assert info.value.retryable
    assert time.monotonic() - started < 30


def test_s3_open_storage_with_server_down_raises_storage_unavailable(private_moto):
    endpoint = private_moto.endpoint
    private_moto.stop()
    with pytest.raises(StorageUnavailable, match="unreachable"):
        S3Storage(new_bucket(), endpoint_url=endpoint, max_attempts=1, connect_timeout=1)


def test_s3_credentials_and_endpoint_from_an_airflow_connection(moto_endpoint, monkeypatch):
    conn = {"conn_type": "aws", "login": "conn-key", "password": "conn-secret",
            "extra": {"endpoint_url": moto_endpoint}}
    monkeypatch.setenv("AIRFLOW_CONN_CADL_TEST_S3", json.dumps(conn))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    settings = Settings(s3_endpoint_url=None, aws_conn_id="cadl_test_s3")
    store = open_storage(f"s3://{new_bucket()}/x", settings, create_bucket=True)
    assert store.endpoint_url == moto_endpoint
    store.put_bytes("k", b"v")
    assert store._client._request_signer._credentials.access_key == "conn-key"
    assert "conn-secret" not in repr(store)


def test_s3_unknown_airflow_connection_is_a_config_error(monkeypatch):
    settings = Settings(s3_endpoint_url="http://127.0.0.1:9", aws_conn_id="cadl_no_such_conn")
    with pytest.raises(ConfigError, match="cadl_no_such_conn"):
        open_storage(f"s3://{new_bucket()}/x", settings)
