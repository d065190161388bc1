"""Fixity audits: damage named, repaired from the intact copy, recorded as PREMIS, never hidden."""

import datetime as dt
import uuid

import pytest
from lxml import etree

from kernel.errors import DepositVerificationFailed
from metadata.validate import validate
from preservation.audit import audit, audit_item, day_slice, item_slice, list_items
from preservation.backends import open_storage
from preservation.deposit import deposit_bag
from preservation.folder import FolderStorage
from preservation.replica import replicate_version
from preservation.versions import list_versions

from .conftest import new_bucket, s3_settings
from .test_deposit import ITEM, LATER, NOW, make_bag

PREMIS_NS = {"premis": "http://www.loc.gov/premis/v3"}
MASTER = "b001-0001/data/masters/p0002.tif"


@pytest.fixture
def replica(storage, tmp_path, request):
    """A second location of the same kind as `storage`: another folder, or another bucket."""
    if isinstance(storage, FolderStorage):
        return FolderStorage(tmp_path / "replica")
    endpoint = request.getfixturevalue("moto_endpoint")
    return open_storage(f"s3://{new_bucket()}/copy", s3_settings(endpoint), create_bucket=True)


def flip_byte(storage, key):
    data = bytearray(storage.get_bytes(key))
    data[len(data) // 2] ^= 0x01
    storage.put_bytes(key, bytes(data))


def events_of(storage, prefix):
    """(event type, outcome, outcome detail) of every PREMIS event the audit stored beside a
    version (the deposit's own accession and replication records are test_deposit's)."""
    found = []
    for key in storage.list(prefix + "events/"):
        if "-deposit-" in key or "-replica-" in key:
            continue
        doc = storage.get_bytes(key)
        assert validate(doc, "premis") == [], key
        root = etree.fromstring(doc)
        for event in root.iterfind("premis:event", PREMIS_NS):
            found.append((event.findtext("premis:eventType", namespaces=PREMIS_NS),
                          event.findtext("premis:eventOutcomeInformation/premis:eventOutcome",
                                         namespaces=PREMIS_NS),
                          event.findtext(".//premis:eventOutcomeDetailNote",
                                         namespaces=PREMIS_NS) or ""))
    return found


def bag_objects(storage, prefix):
    return {k: storage.sha512(k) for k in storage.list(prefix) if "/events/" not in k}


def test_intact_archive_passes_and_gets_one_premis_fixity_event_per_package(storage, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    deposit_bag(make_bag(tmp_path, variant=b"\x01"), storage, ITEM, "fp-2", LATER)
    before = bag_objects(storage, f"items/{ITEM}/")

    report = audit(storage, [ITEM], LATER, scope="test")
    assert report.ok and [v.version for v in report.versions] == [1, 2]
    assert report.summary()["objects"] == 2 * report.versions[0].objects
    for version in (1, 2):
        prefix = f"items/{ITEM}/v{version:04d}/"
        assert events_of(storage, prefix) == [("fixity check", "success", "")]
    # The bags and markers are untouched; the events are new objects beside them.
    assert bag_objects(storage, f"items/{ITEM}/") == before
    assert [(v.number, v.complete) for v in list_versions(storage, ITEM)] == [(1, True), (2, True)]


def test_byte_flipped_is_named_by_package_and_file_and_repaired_from_the_replica(
    storage, replica, tmp_path
):
    bag = make_bag(tmp_path)
    deposit_bag(bag, storage, ITEM, "fp-1", NOW, replica=replica)
    good = storage.sha512(f"items/{ITEM}/v0001/{MASTER}")
    flip_byte(storage, f"items/{ITEM}/v0001/{MASTER}")

    report = audit(storage, [ITEM], LATER, scope="test", replica=replica)
    assert not report.ok
    [problem] = report.problems
    assert (problem.location, problem.key, problem.kind, problem.repaired) == (
        "primary", MASTER, "altered", True)
    assert ITEM in problem.uri and problem.uri.endswith("p0002.tif")
    assert report.versions[0].status == "repaired"
    assert storage.sha512(f"items/{ITEM}/v0001/{MASTER}") == good
    events = events_of(storage, f"items/{ITEM}/v0001/")
    assert ("recovery", "success") in [e[:2] for e in events]
    [fixity] = [e for e in events if e[0] == "fixity check"]
    assert fixity[1] == "failure" and "p0002.tif" in fixity[2] and "repaired" in fixity[2]
    assert events_of(replica, f"items/{ITEM}/v0001/") == [("fixity check", "success", "")]

    assert audit(storage, [ITEM], LATER, scope="again", replica=replica).ok


def test_damaged_replica_is_repaired_from_the_primary(storage, replica, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW, replica=replica)
    flip_byte(replica, f"items/{ITEM}/v0001/b001-0001/bag-info.txt")
    [version] = audit_item(storage, ITEM, LATER, replica=replica)
    [problem] = version.problems
    assert (problem.location, problem.key, problem.repaired) == (
        "replica", "b001-0001/bag-info.txt", True)
    assert (replica.get_bytes(f"items/{ITEM}/v0001/b001-0001/bag-info.txt")
            == storage.get_bytes(f"items/{ITEM}/v0001/b001-0001/bag-info.txt"))


def test_deleted_object_is_detected_and_without_a_replica_stays_unrepaired(storage, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    storage.delete(f"items/{ITEM}/v0001/{MASTER}")  # a test's stand-in for a lost object
    report = audit(storage, [ITEM], LATER, scope="test")
    [problem] = report.problems
    assert (problem.key, problem.kind, problem.repaired) == (MASTER, "missing", False)
    assert report.versions[0].status == "damaged"
    [fixity] = events_of(storage, f"items/{ITEM}/v0001/")
    assert fixity[:2] == ("fixity check", "failure") and "missing" in fixity[2]


def test_deleted_object_is_restored_from_the_replica(storage, replica, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW, replica=replica)
    storage.delete(f"items/{ITEM}/v0001/{MASTER}")
    [version] = audit_item(storage, ITEM, LATER, replica=replica)
    assert [(p.kind, p.repaired) for p in version.problems] == [("missing", True)]
    assert storage.sha512(f"items/{ITEM}/v0001/{MASTER}") == replica.sha512(
        f"items/{ITEM}/v0001/{MASTER}")


def test_same_file_damaged_in_both_copies_is_not_repaired(storage, replica, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW, replica=replica)
    flip_byte(storage, f"items/{ITEM}/v0001/{MASTER}")
    flip_byte(replica, f"items/{ITEM}/v0001/{MASTER}")
    [version] = audit_item(storage, ITEM, LATER, replica=replica)
    assert sorted((p.location, p.repaired) for p in version.problems) == [
        ("primary", False), ("replica", False)]
    assert version.status == "damaged"


def test_version_missing_from_the_replica_is_replicated_and_recorded(storage, replica, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)  # replica added later
    [version] = audit_item(storage, ITEM, LATER, replica=replica)
    assert [(p.location, p.kind, p.repaired) for p in version.problems] == [
        ("replica", "version", True)]
    prefix = f"items/{ITEM}/v0001/"
    assert bag_objects(replica, prefix) == bag_objects(storage, prefix)
    assert ("replication", "success") in [e[:2] for e in events_of(replica, f"items/{ITEM}/v0001/")]


def test_unexpected_object_in_a_version_is_reported_and_left_alone(storage, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    stray = f"items/{ITEM}/v0001/b001-0001/data/extra.txt"
    storage.put_bytes(stray, "ملف إضافي 额外文件".encode())
    [version] = audit_item(storage, ITEM, LATER)
    assert [(p.key, p.kind) for p in version.problems] == [("b001-0001/data/extra.txt",
                                                             "unexpected")]
    assert storage.head(stray) is not None


def test_manifest_disagreeing_with_the_marker_is_reported(storage, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    key = f"items/{ITEM}/v0001/b001-0001/manifest-sha512.txt"
    text = storage.get_bytes(key).decode()
    first = text.split()[0]
    storage.put_bytes(key, text.replace(first, "0" * 128, 1).encode())
    [version] = audit_item(storage, ITEM, LATER, record=False)
    kinds = {(p.key, p.kind) for p in version.problems}
    assert ("b001-0001/manifest-sha512.txt", "altered") in kinds
    assert any(kind == "manifest" for _, kind in kinds)


def test_interrupted_deposit_is_not_audited_and_gets_no_event(storage, recording, tmp_path):
    crashing = recording(storage, fail_after_puts=2)
    with pytest.raises(crashing.Crash):
        deposit_bag(make_bag(tmp_path), crashing, ITEM, "fp-1", NOW)
    assert audit_item(storage, ITEM, LATER) == []
    assert list(storage.list(f"items/{ITEM}/v0001/events/")) == []


def test_unknown_item_is_a_problem_not_a_silent_pass(storage):
    report = audit(storage, ["no-such-item"], LATER, scope="test")
    assert not report.ok and report.problems[0].kind == "version"


def test_replica_that_diverged_is_refused(storage, replica, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    deposit_bag(make_bag(tmp_path, variant=b"\x05"), replica, ITEM, "fp-other", NOW)
    with pytest.raises(DepositVerificationFailed, match="diverged"):
        replicate_version(storage, replica, ITEM, 1)


def test_events_use_injected_ids_and_are_valid_premis(storage, tmp_path):
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    ids = iter(uuid.UUID(int=n) for n in range(1, 100))
    [version] = audit_item(storage, ITEM, LATER, id_factory=lambda: next(ids))
    [uri] = version.events
    assert uri.endswith("events/20260401T120000Z-00000000-0000-0000-0000-000000000002.xml")


def test_slices_are_deterministic_and_cover_every_item_once():
    ids = [f"ar-book-{n:03d}" for n in range(200)] + [f"zh-hant-{n:03d}" for n in range(100)]
    slices = 30
    groups = {s: [i for i in ids if item_slice(i, slices) == s] for s in range(slices)}
    assert sorted(i for g in groups.values() for i in g) == sorted(ids)
    assert all(groups[s] for s in range(slices))  # 300 ids: no slice is empty
    assert item_slice("ar-book-007", slices) == item_slice("ar-book-007", slices)
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=n) for n in range(slices)]
    assert sorted(day_slice(d, slices) for d in days) == list(range(slices))


def test_list_items_finds_every_item(storage, tmp_path):
    for item in ("b1", "b10", "zh-2"):
        deposit_bag(make_bag(tmp_path, name=item), storage, item, "fp", NOW)
    assert list_items(storage) == ["b1", "b10", "zh-2"]
