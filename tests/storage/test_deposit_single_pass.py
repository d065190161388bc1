"""Deposit reads each file once, verifies by the server's checksum or a re-read, writes replicas,
and keeps every version readable."""

import hashlib

import bagit
import pytest

from kernel.errors import BagInvalid, StorageUnavailable
from preservation.backends import open_storage
from preservation.deposit import deposit_bag
from preservation.folder import FolderStorage
from preservation.s3 import S3Storage, multipart_etag
from preservation.versions import MARKER, download_version, latest_version, list_versions

from .conftest import new_bucket, s3_settings
from .test_deposit import ITEM, LATER, NOW, make_bag


class CountingStorage:
    """Counts the re-reads (`sha512`, `open`, `download`) deposit makes of stored objects."""

    def __init__(self, inner):
        self.inner, self.url, self.rereads = inner, inner.url, []

    def sha512(self, key):
        self.rereads.append(key)
        return self.inner.sha512(key)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_s3_deposit_is_verified_by_server_checksums_without_downloading(moto_endpoint, tmp_path):
    storage = open_storage(f"s3://{new_bucket()}/a", s3_settings(moto_endpoint), create_bucket=True)
    counting = CountingStorage(storage)
    deposit = deposit_bag(make_bag(tmp_path), counting, ITEM, "fp-1", NOW)
    assert deposit.uploaded == deposit.objects and counting.rereads == []
    assert latest_version(storage, ITEM) is not None


def test_reread_mode_and_folders_read_every_object_back(storage, tmp_path):
    counting = CountingStorage(storage)
    deposit = deposit_bag(make_bag(tmp_path), counting, ITEM, "fp-1", NOW,
                          reread=not isinstance(storage, FolderStorage))
    assert len(counting.rereads) == deposit.objects


def test_put_file_reports_the_digest_of_the_bytes_read_and_the_server_confirms_them(
    moto_endpoint, tmp_path
):
    store = S3Storage(new_bucket(), endpoint_url=moto_endpoint, create_bucket=True,
                      multipart_threshold=5 * 1024 * 1024)
    for size in (0, 1000, 11 * 1024 * 1024 + 5):
        source = tmp_path / f"f{size}"
        data = (b"\xd8\xa7\xe4\xb8\xad" * (size // 5 + 1))[:size]
        source.write_bytes(data)
        info = store.put_file(f"k{size}", source)
        assert info.sha512 == hashlib.sha512(data).hexdigest() and info.server_verified
        listed = {i.key: i for i in store.list_info("")}
        assert listed[f"k{size}"].etag == info.etag and listed[f"k{size}"].size == size
    assert info.etag.endswith("-3") and multipart_etag([b"x" * 16]).endswith("-1")


def test_file_changed_after_bagging_with_the_same_size_is_caught_and_no_marker_written(
    storage, tmp_path
):
    bag = make_bag(tmp_path)
    page = bag / "data" / "masters" / "p0002.tif"
    data = bytearray(page.read_bytes())
    data[100] ^= 0xFF  # same size: only the digest read in the upload pass can tell
    page.write_bytes(bytes(data))
    with pytest.raises(BagInvalid, match="p0002.tif"):
        deposit_bag(bag, storage, ITEM, "fp-1", NOW)
    assert latest_version(storage, ITEM) is None


def test_deposit_writes_the_replica_too_with_a_byte_identical_marker(storage, tmp_path):
    replica = FolderStorage(tmp_path / "replica")
    deposit = deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW, replica=replica)
    assert deposit.replica_uri == replica.uri(f"items/{ITEM}/v0001")
    assert deposit.replica_uploaded == deposit.objects
    prefix = f"items/{ITEM}/v0001/"
    assert replica.get_bytes(prefix + MARKER) == storage.get_bytes(prefix + MARKER)
    assert {k: replica.sha512(k) for k in replica.list(prefix)} == {
        k: storage.sha512(k) for k in storage.list(prefix)}

    (tmp_path / "again").mkdir()
    again = deposit_bag(make_bag(tmp_path / "again"), storage, ITEM, "fp-1", LATER,
                        replica=replica)
    assert (again.new, again.uploaded, again.replica_uploaded) == (False, 0, 0)


def test_replica_down_fails_the_deposit_and_the_rerun_completes_it(private_moto, tmp_path):
    primary = FolderStorage(tmp_path / "primary")
    replica = S3Storage(new_bucket(), "copy", endpoint_url=private_moto.endpoint,
                        create_bucket=True, max_attempts=2, connect_timeout=1)
    bag = make_bag(tmp_path)
    private_moto.stop()
    with pytest.raises(StorageUnavailable):
        deposit_bag(bag, primary, ITEM, "fp-1", NOW, replica=replica)
    # The primary copy is complete; the replica is caught up by the retry of the task.
    assert latest_version(primary, ITEM)["version"] == 1
    second = FolderStorage(tmp_path / "second-replica")
    retry = deposit_bag(bag, primary, ITEM, "fp-1", LATER, replica=second)
    assert (retry.new, retry.replica_uploaded) == (False, retry.objects)


def test_every_version_stays_listable_and_readable(storage, tmp_path):
    for n, variant in enumerate((b"", b"\x01", b"\x02"), start=1):
        deposit_bag(make_bag(tmp_path, variant=variant), storage, ITEM, f"fp-{n}", NOW)
    assert [(v.number, v.complete) for v in list_versions(storage, ITEM)] == [
        (1, True), (2, True), (3, True)]
    assert latest_version(storage, ITEM)["version"] == 3
    for number, variant in ((1, b""), (2, b"\x01"), (3, b"\x02")):
        bag = download_version(storage, ITEM, number, tmp_path / f"read-v{number}")
        bagit.Bag(str(bag)).validate()
        assert (bag / "data" / "mets.xml").read_bytes() == b"<mets/>" + variant
        assert "ديوان 诗集" in (bag / "bag-info.txt").read_text("utf-8")
