"""Deposits: verified before marked, idempotent, versioned, resumable, never rewriting history."""

import datetime as dt
import hashlib
import json

import pytest

from kernel.errors import BagInvalid, DepositVerificationFailed, StorageUnavailable
from preservation.bag import build_bag
from preservation.deposit import deposit_bag
from preservation.s3 import S3Storage
from preservation.versions import latest_version, list_versions

from .conftest import new_bucket

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
LATER = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.timezone.utc)
ITEM = "b001-0001"


def make_bag(tmp_path, name="b001-0001", pages=3, variant=b""):
    src = tmp_path / f"src-{name}-{variant.hex()}"
    src.mkdir()
    payload = []
    for n in range(1, pages + 1):
        path = src / f"page{n}.tif"
        path.write_bytes(b"II*\x00" + bytes([n]) * (5000 + n) + variant)
        payload.append((path, f"masters/p{n:04d}.tif"))
    (src / "mets.xml").write_bytes(b"<mets/>" + variant)
    payload.append((src / "mets.xml", "mets.xml"))
    bag_dir = tmp_path / f"bags-{variant.hex()}" / name
    return build_bag(bag_dir, payload, {"External-Description": "ديوان 诗集"},
                     bagging_date=NOW.date())


def snapshot(storage, prefix):
    """key → sha512 of every object under prefix, read back from the storage."""
    return {key: storage.sha512(key) for key in storage.list(prefix)}


def test_deposit_uploads_verifies_and_marks_the_first_version(storage, tmp_path):
    bag = make_bag(tmp_path)
    deposit = deposit_bag(bag, storage, ITEM, "fp-1", NOW)
    # 10 objects: 4 payload files, bagit.txt, bag-info.txt, sha512 and sha256 manifests and
    # tag manifests.
    assert (deposit.version, deposit.new, deposit.objects) == (1, True, 10)
    assert deposit.prefix == f"items/{ITEM}/v0001/" and deposit.uploaded == 10
    assert deposit.uri == storage.uri(f"items/{ITEM}/v0001")

    keys = list(storage.list(f"items/{ITEM}/"))
    assert f"items/{ITEM}/v0001/DEPOSITED.json" in keys
    assert f"items/{ITEM}/v0001/b001-0001/data/masters/p0001.tif" in keys
    assert f"items/{ITEM}/v0001/b001-0001/tagmanifest-sha512.txt" in keys
    for path in bag.rglob("*"):
        if path.is_file():
            key = f"items/{ITEM}/v0001/b001-0001/{path.relative_to(bag).as_posix()}"
            assert storage.sha512(key) == hashlib.sha512(path.read_bytes()).hexdigest()

    marker = latest_version(storage, ITEM)
    assert marker["fingerprint"] == "fp-1" and marker["bag"] == "b001-0001"
    assert (marker["version"], marker["prefix"]) == (1, f"items/{ITEM}/v0001/")
    assert marker["deposited"] == NOW.isoformat() and marker["count"] == 10
    assert sum(o["size"] for o in marker["objects"]) == marker["bytes"] == deposit.bytes
    assert {o["key"] for o in marker["objects"]} == {
        k[len(f"items/{ITEM}/v0001/"):] for k in keys
        if not k.endswith("DEPOSITED.json") and "/events/" not in k
    }
    # the deposit is an "accession" event of the package history, beside the version
    events = [k for k in keys if "/events/" in k]
    assert len(events) == 1 and "-deposit-" in events[0]


def test_marker_is_the_last_object_written(storage, recording, tmp_path):
    store = recording(storage)
    deposit_bag(make_bag(tmp_path), store, ITEM, "fp-1", NOW)
    # the marker is the last object of the version; the accession event comes after, beside it
    bag_writes = [k for k in store.writes if "/events/" not in k]
    assert bag_writes[-1] == f"items/{ITEM}/v0001/DEPOSITED.json"
    assert store.writes.index(bag_writes[-1]) < store.writes.index(
        next(k for k in store.writes if "/events/" in k))
    assert store.writes.count(f"items/{ITEM}/v0001/DEPOSITED.json") == 1
    assert store.deletes == []


def test_same_fingerprint_again_uploads_nothing_and_returns_the_first_version(
    storage, recording, tmp_path
):
    bag = make_bag(tmp_path)
    first = deposit_bag(bag, storage, ITEM, "fp-1", NOW)
    before = snapshot(storage, "items/")
    marker_before = storage.get_bytes(f"items/{ITEM}/v0001/DEPOSITED.json")

    store = recording(storage)
    again = deposit_bag(bag, store, ITEM, "fp-1", LATER)
    assert again.new is False and again.uploaded == 0
    assert (again.version, again.prefix, again.objects, again.bytes) == (
        first.version, first.prefix, first.objects, first.bytes
    )
    assert store.writes == [] and store.deletes == []
    assert snapshot(storage, "items/") == before
    assert storage.get_bytes(f"items/{ITEM}/v0001/DEPOSITED.json") == marker_before


def test_new_fingerprint_makes_v0002_and_leaves_v0001_untouched(storage, recording, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    v1 = snapshot(storage, f"items/{ITEM}/v0001/")

    store = recording(storage)
    second = deposit_bag(make_bag(tmp_path, variant=b"\x01"), store, ITEM, "fp-2", LATER)
    assert (second.version, second.new) == (2, True)
    assert all(key.startswith(f"items/{ITEM}/v0002/") for key in store.writes)
    assert snapshot(storage, f"items/{ITEM}/v0001/") == v1
    assert [(v.number, v.complete) for v in list_versions(storage, ITEM)] == [(1, True), (2, True)]
    assert latest_version(storage, ITEM)["fingerprint"] == "fp-2"


def test_returning_to_an_older_fingerprint_is_a_new_version(storage, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    deposit_bag(make_bag(tmp_path, variant=b"\x01"), storage, ITEM, "fp-2", NOW)
    third = deposit_bag(make_bag(tmp_path, variant=b"\x02"), storage, ITEM, "fp-1", LATER)
    assert (third.version, third.new) == (3, True)


def test_crashed_deposit_is_resumed_uploading_only_the_missing_objects(
    storage, recording, tmp_path
):
    bag = make_bag(tmp_path)
    crashing = recording(storage, fail_after_puts=3)
    with pytest.raises(crashing.Crash):
        deposit_bag(bag, crashing, ITEM, "fp-1", NOW)
    assert latest_version(storage, ITEM) is None
    assert [(v.number, v.complete) for v in list_versions(storage, ITEM)] == [(1, False)]
    already = set(crashing.writes)
    assert len(already) == 3

    store = recording(storage)
    deposit = deposit_bag(bag, store, ITEM, "fp-1", LATER)
    assert (deposit.version, deposit.new, deposit.objects, deposit.uploaded) == (1, True, 10, 7)
    assert already.isdisjoint(store.writes)
    assert [k for k in store.writes if "/events/" not in k][-1] == f"items/{ITEM}/v0001/DEPOSITED.json"
    assert [(v.number, v.complete) for v in list_versions(storage, ITEM)] == [(1, True)]


def test_resume_replaces_a_partial_object_whose_digest_differs(storage, tmp_path):
    bag = make_bag(tmp_path)
    key = f"items/{ITEM}/v0001/b001-0001/data/masters/p0001.tif"
    storage.put_bytes(key, b"truncated upload")
    deposit = deposit_bag(bag, storage, ITEM, "fp-1", NOW)
    assert deposit.version == 1 and deposit.uploaded == 10
    assert storage.get_bytes(key) == (bag / "data/masters/p0001.tif").read_bytes()


def test_interrupted_version_with_foreign_objects_is_left_alone(storage, tmp_path):
    stray = f"items/{ITEM}/v0001/other-bag/bagit.txt"
    storage.put_bytes(stray, b"BagIt-Version: 1.0\n")
    deposit = deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    assert deposit.version == 2
    assert storage.get_bytes(stray) == b"BagIt-Version: 1.0\n"


def test_object_corrupted_in_storage_fails_verification_and_writes_no_marker(
    storage, recording, tmp_path
):
    bag = make_bag(tmp_path)
    bad = f"items/{ITEM}/v0001/b001-0001/data/masters/p0002.tif"
    store = recording(storage, corrupt=[bad])
    with pytest.raises(DepositVerificationFailed, match="p0002.tif") as info:
        deposit_bag(bag, store, ITEM, "fp-1", NOW)
    assert info.value.retryable
    assert "p0001.tif" not in str(info.value)
    assert storage.head(f"items/{ITEM}/v0001/DEPOSITED.json") is None
    assert latest_version(storage, ITEM) is None

    # The retry resumes: it re-uploads just the corrupted object and completes.
    retry = deposit_bag(bag, recording(storage), ITEM, "fp-1", LATER)
    assert (retry.version, retry.uploaded) == (1, 1)
    assert storage.sha512(bad) == hashlib.sha512((bag / "data/masters/p0002.tif").read_bytes()).hexdigest()


def test_invalid_local_bag_is_refused_before_any_upload(storage, recording, tmp_path):
    bag = make_bag(tmp_path)
    (bag / "data" / "masters" / "p0001.tif").write_bytes(b"changed after bagging")
    store = recording(storage)
    with pytest.raises(BagInvalid, match="p0001.tif"):
        deposit_bag(bag, store, ITEM, "fp-1", NOW)
    assert store.writes == [] and list(storage.list("items/")) == []


@pytest.mark.parametrize("item_id", ["../x", "a/b", ".hidden", "名字", ""])
def test_unsafe_item_ids_are_refused(storage, tmp_path, item_id):
    with pytest.raises(ValueError):
        deposit_bag(make_bag(tmp_path), storage, item_id, "fp", NOW)


def test_empty_fingerprint_is_refused(storage, tmp_path):
    with pytest.raises(ValueError, match="fingerprint"):
        deposit_bag(make_bag(tmp_path), storage, ITEM, "", NOW)


def test_items_with_a_common_prefix_do_not_see_each_others_versions(storage, tmp_path):
    deposit_bag(make_bag(tmp_path, name="b1"), storage, "b1", "fp", NOW)
    deposit_bag(make_bag(tmp_path, name="b10"), storage, "b10", "fp", NOW)
    assert [v.number for v in list_versions(storage, "b1")] == [1]
    assert latest_version(storage, "b2") is None


def test_s3_server_killed_mid_pipeline_raises_storage_unavailable(private_moto, tmp_path):
    store = S3Storage(new_bucket(), "pres", endpoint_url=private_moto.endpoint,
                      create_bucket=True, max_attempts=2, connect_timeout=1)
    bag = make_bag(tmp_path)
    deposit_bag(bag, store, ITEM, "fp-1", NOW)
    private_moto.stop()
    with pytest.raises(StorageUnavailable) as info:
        deposit_bag(make_bag(tmp_path, variant=b"\x01"), store, ITEM, "fp-2", LATER)
    assert info.value.retryable and info.value.exit_code == 6


def test_marker_is_utf8_json_with_sorted_objects(storage, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "指纹-بصمة", NOW)
    raw = storage.get_bytes(f"items/{ITEM}/v0001/DEPOSITED.json")
    marker = json.loads(raw.decode("utf-8"))
    assert marker["fingerprint"] == "指纹-بصمة" and "指纹".encode() in raw
    keys = [o["key"] for o in marker["objects"]]
    assert keys == sorted(keys)
