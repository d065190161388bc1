"""Deposit a bag into preservation storage as a new, verified, immutable version of an item.

Layout in the preservation storage (keys, see `preservation.storage`):

    items/<item_id>/v0001/<bag name>/bagit.txt
    items/<item_id>/v0001/<bag name>/bag-info.txt
    items/<item_id>/v0001/<bag name>/manifest-sha512.txt
    items/<item_id>/v0001/<bag name>/tagmanifest-sha512.txt
    items/<item_id>/v0001/<bag name>/data/…
    items/<item_id>/v0001/DEPOSITED.json      ← completion marker, written last
    items/<item_id>/v0002/…                   ← a later deposit with different content

A version is *complete* once its DEPOSITED.json exists; that file is written only after every
object has been verified in the storage against the bag's manifests, so a version with a marker
is a verified copy.

Each bag file is read once: the SHA-512 compared with the manifest, the MD5 the S3 server checks
(Content-MD5) and the upload all come from the same chunks. Verification then lists the version
(one request per thousand objects) and accepts an object when its size matches and the server's
ETag is the one its upload answered with and that ETag equals the MD5 we computed; anything else,
and every object on a folder (a disk reports no checksum), is read back and its SHA-512 compared.
`reread=True` reads everything back whatever the server says.

With a replica (a second location), the same version goes there under the same keys with the
same DEPOSITED.json, after the primary copy is complete.

Objects of a complete version are never overwritten or deleted (this module never calls
`Storage.delete`). A version without a marker is the remains of an
interrupted deposit and is resumed by the next call.

The caller computes the fingerprint that identifies the content deposited (for instance a hash of
the payload manifest plus the metadata that matters). It must change whenever the content
changes: an unchanged fingerprint is taken to mean "already deposited" and nothing is uploaded.
Deposits of one item must not run concurrently (the DAG runs one deposit task per item).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

import bagit

from kernel.errors import BagInvalid, DepositVerificationFailed
from kernel.ids import check_id
from kernel.paths import inside
from preservation.bag import (
    MANIFEST,
    TAGMANIFEST,
    assert_valid_bag,
    payload_manifest,
    tag_manifest,
)
from preservation.storage import ObjectInfo, Storage, file_sha512, validate_key

log = logging.getLogger(__name__)

MARKER = "DEPOSITED.json"
_VERSION = re.compile(r"^v(\d{4,})$")


class Deposit(BaseModel):
    """Outcome of `deposit_bag`; small and JSON-serialisable so it can travel in XCom."""

    item_id: str
    version: int
    prefix: str  # key prefix of the version, ending in "/"
    uri: str  # URI of the version folder
    objects: int  # number of objects in the version (bag files; the marker not counted)
    bytes: int  # total size of those objects
    new: bool  # False when an identical deposit already existed and nothing was uploaded
    uploaded: int = 0  # objects written by this call (fewer than `objects` when resuming)
    replica_uri: str | None = None  # the same version in the replica, when one is configured
    replica_uploaded: int = 0  # objects written to the replica by this call


@dataclass(frozen=True)
class VersionInfo:
    number: int
    prefix: str  # "items/<item_id>/v0001/"
    complete: bool  # True when DEPOSITED.json exists


def _check_item_id(item_id: str) -> None:
    """Raise InvalidId (a ValueError) unless `item_id` is an id (kernel.ids): it names keys."""
    check_id(item_id, "item id")


def version_prefix(item_id: str, number: int) -> str:
    """Key prefix of version `number` of `item_id`, e.g. "items/b1-0001/v0001/"."""
    _check_item_id(item_id)
    return f"items/{item_id}/v{number:04d}/"


def list_versions(storage: Storage, item_id: str) -> list[VersionInfo]:
    """Every version of `item_id` present in `storage`, complete or not, oldest first."""
    _check_item_id(item_id)
    root = f"items/{item_id}/"
    numbers: dict[int, bool] = {}
    for key in storage.list(root):
        parts = key[len(root) :].split("/")
        match = _VERSION.match(parts[0])
        if not match or len(parts) < 2:
            continue
        number = int(match.group(1))
        numbers[number] = numbers.get(number, False) or parts[1:] == [MARKER]
    return [VersionInfo(n, version_prefix(item_id, n), numbers[n]) for n in sorted(numbers)]


def _read_marker(storage: Storage, prefix: str) -> dict:
    key = prefix + MARKER
    try:
        return json.loads(storage.get_bytes(key).decode("utf-8"))
    except ValueError as exc:
        raise ValueError(f"deposit marker {storage.uri(key)} is not valid JSON: {exc}") from exc


def latest_version(storage: Storage, item_id: str) -> dict | None:
    """The marker (DEPOSITED.json content) of the newest complete version, or None.

    Keys: item_id, version, prefix, bag, fingerprint, deposited (ISO 8601), count, bytes and
    objects ([{key (relative to prefix), sha512, size}], sorted by key).
    """
    complete = [v for v in list_versions(storage, item_id) if v.complete]
    return _read_marker(storage, complete[-1].prefix) if complete else None


def _check_bag_structure(bag_dir: Path) -> None:
    """Raise BagInvalid unless the bag is structurally complete (no checksum pass).

    bagit-python's `completeness_only` check: bagit.txt, manifests, every listed file present,
    nothing unlisted, Payload-Oxum. Contents are checked against the manifests while uploading,
    so each file is read only once.
    """
    try:
        bagit.Bag(str(bag_dir)).validate(completeness_only=True)
    except bagit.BagError:
        # Rare, so afford the full validation now: its report names every file at fault,
        # where Payload-Oxum only says the totals differ.
        assert_valid_bag(bag_dir)
        raise BagInvalid(f"bag {bag_dir} is incomplete (bagit completeness check failed)") from None


@dataclass(frozen=True)
class _BagFile:
    rel: str  # path inside the bag, e.g. "data/masters/p0001.tif"
    path: Path
    sha512: str  # what the bag's manifests say (the local digest for files no manifest covers)
    size: int


def _bag_files(bag_dir: Path) -> list[_BagFile]:
    """Every file of the bag with the digest it must have in storage; payload first."""
    expected = {**payload_manifest(bag_dir), **tag_manifest(bag_dir)}
    files = []
    for path in sorted(p for p in bag_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(bag_dir).as_posix()
        validate_key(rel)
        digest = expected.get(rel) or file_sha512(path)
        files.append(_BagFile(rel, path, digest, path.stat().st_size))
    # Payload first, tag files after, the tag manifest last: what a human looking at a listing of
    # an interrupted deposit sees mirrors how a bag is read.
    order = {TAGMANIFEST: 2, MANIFEST: 1}
    return sorted(files, key=lambda f: (not f.rel.startswith("data/"), order.get(f.rel, 0), f.rel))


def _target_version(
    versions: list[VersionInfo], storage: Storage, wanted: set[str]
) -> tuple[int, set[str]]:
    """Version number to write and the keys already in it (non-empty only when resuming).

    `wanted` holds the bag's keys relative to a version prefix ("<bag name>/data/…").
    """
    if not versions:
        return 1, set()
    last = versions[-1]
    if last.complete:
        return last.number + 1, set()
    existing = set(storage.list(last.prefix))
    if {key[len(last.prefix) :] for key in existing} <= wanted:
        log.info("resuming interrupted deposit %s (%d objects present)", last.prefix, len(existing))
        return last.number, existing
    # The interrupted attempt holds objects this bag does not have (another bag name or file
    # set). Preservation code never deletes, so leave it alone and start a fresh version.
    log.warning(
        "interrupted deposit %s holds objects not in this bag; depositing as a new version",
        last.prefix,
    )
    return last.number + 1, set()


def _verified_put(storage: Storage, key: str, f: "_BagFile") -> ObjectInfo:
    """Upload one bag file (one read) and check the digest of what was read against the bag."""
    info = storage.put_file(key, f.path)
    if info.sha512 != f.sha512:
        raise BagInvalid(
            f"{f.path} changed after bagging: sha512 {info.sha512[:16]}…, the bag's manifest "
            f"says {f.sha512[:16]}…; rebuild the bag (no deposit marker was written)"
        )
    return info


def store_version(storage: Storage, prefix: str, files: list["_BagFile"], *,
                  reread: bool = False) -> int:
    """Put `files` under `prefix` (resuming: only what is missing or wrong), then verify all.

    Returns the number of objects uploaded. Raises DepositVerificationFailed naming every
    object that is missing or differs after upload, BagInvalid when a local file no longer
    matches its manifest digest.
    """
    storage.abort_incomplete_uploads(prefix)  # leftovers of a killed process: invisible anyway
    present = {info.key: info for info in storage.list_info(prefix)}
    uploads: dict[str, ObjectInfo] = {}
    for f in files:
        key = prefix + f.rel
        if key in present and present[key].size == f.size and storage.sha512(key) == f.sha512:
            continue  # left by an interrupted attempt and intact: re-read just now
        uploads[key] = _verified_put(storage, key, f)

    listed = {info.key: info for info in storage.list_info(prefix)}
    mismatches = []
    for f in files:
        key = prefix + f.rel
        now = listed.get(key)
        if now is None:
            mismatches.append(f"{storage.uri(key)} is missing")
            continue
        if now.size != f.size:
            mismatches.append(f"{storage.uri(key)} has {now.size} bytes, bag says {f.size}")
            continue
        put = uploads.get(key)
        if (put is not None and not reread and put.server_verified and put.etag
                and now.etag == put.etag):
            continue  # the server reported the MD5 of the bytes we hashed, and still does
        if put is None and not reread:
            continue  # an object kept from an interrupted attempt was re-read above
        try:
            found = storage.sha512(key)
        except FileNotFoundError:
            mismatches.append(f"{storage.uri(key)} is missing")
            continue
        if found != f.sha512:
            mismatches.append(f"{storage.uri(key)} has sha512 {found[:16]}…, "
                              f"bag says {f.sha512[:16]}…")
    if mismatches:
        raise DepositVerificationFailed(
            f"deposit to {storage.uri(prefix.rstrip('/'))} not verified, no marker written; "
            "retry to re-upload: " + "; ".join(mismatches)
        )
    return len(uploads)


def deposit_bag(
    bag_dir: Path,
    storage: Storage,
    item_id: str,
    fingerprint: str,
    now: datetime,
    *,
    replica: Storage | None = None,
    reread: bool = False,
) -> Deposit:
    """Deposit the bag at `bag_dir` as a version of `item_id`, verify it, then mark it complete.

    - If the newest complete version has the same `fingerprint`, nothing is uploaded and that
      version is returned with `new=False`.
    - Otherwise the bag goes to the version after the highest present; if the highest has no
      marker (an interrupted deposit) it is resumed instead: only objects missing or differing
      from the bag are uploaded.
    - Every object is then verified in storage against the bag's manifests (see the module
      docstring); only when all match is DEPOSITED.json written.
    - With `replica`, the (new or unchanged) version is then made complete there too, under the
      same keys, with the same marker (see `preservation.replica.replicate_version`).

    Raises BagInvalid if the local bag is incomplete or a file no longer matches its manifest,
    DepositVerificationFailed naming every object that does not match (no marker is written;
    retrying resumes), StorageUnavailable when a storage cannot be reached, ValueError for an
    unsafe item id, bag name or empty fingerprint.
    """
    bag_dir = Path(bag_dir)
    _check_item_id(item_id)
    if not fingerprint or not isinstance(fingerprint, str):
        raise ValueError("fingerprint must be a non-empty string identifying the content")
    bag_name = validate_key(bag_dir.name)
    if "/" in bag_name:
        raise ValueError(f"bag name {bag_name!r} must be a single path segment")

    versions = list_versions(storage, item_id)
    complete = [v for v in versions if v.complete]
    result: Deposit | None = None
    if complete:
        marker = _read_marker(storage, complete[-1].prefix)
        if marker.get("fingerprint") == fingerprint:
            log.info("item %s unchanged since %s: nothing deposited", item_id, complete[-1].prefix)
            result = Deposit(
                item_id=item_id,
                version=complete[-1].number,
                prefix=complete[-1].prefix,
                uri=storage.uri(complete[-1].prefix.rstrip("/")),
                objects=marker["count"],
                bytes=marker["bytes"],
                new=False,
            )

    if result is None:
        _check_bag_structure(bag_dir)
        files = _bag_files(bag_dir)
        wanted = {f"{bag_name}/{f.rel}" for f in files}
        version, _existing = _target_version(versions, storage, wanted)
        prefix = version_prefix(item_id, version)
        in_version = [_BagFile(f"{bag_name}/{f.rel}", f.path, f.sha512, f.size) for f in files]
        uploaded = store_version(storage, prefix, in_version, reread=reread)

        total = sum(f.size for f in files)
        marker = {
            "item_id": item_id,
            "version": version,
            "prefix": prefix,
            "bag": bag_name,
            "fingerprint": fingerprint,
            "deposited": now.isoformat(),
            "count": len(files),
            "bytes": total,
            "objects": [
                {"key": f"{bag_name}/{f.rel}", "sha512": f.sha512, "size": f.size}
                for f in sorted(files, key=lambda f: f.rel)
            ],
        }
        storage.put_bytes(prefix + MARKER, marker_bytes(marker))
        log.info(
            "deposited item %s as %s: %d objects, %d bytes, %d uploaded",
            item_id, prefix, len(files), total, uploaded,
        )
        result = Deposit(
            item_id=item_id,
            version=version,
            prefix=prefix,
            uri=storage.uri(prefix.rstrip("/")),
            objects=len(files),
            bytes=total,
            new=True,
            uploaded=uploaded,
        )

    if replica is not None:
        from preservation.replica import replicate_version

        copied = replicate_version(storage, replica, item_id, result.version,
                                   local_bag=bag_dir, reread=reread)
        result.replica_uri = replica.uri(result.prefix.rstrip("/"))
        result.replica_uploaded = copied
    return result


def marker_bytes(marker: dict) -> bytes:
    """DEPOSITED.json as written: UTF-8 JSON, sorted keys, so both copies are byte-identical."""
    return (json.dumps(marker, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def read_marker(storage: Storage, item_id: str, version: int) -> dict:
    """The DEPOSITED.json of one version; FileNotFoundError when that version is not complete."""
    return _read_marker(storage, version_prefix(item_id, version))


def download_version(storage: Storage, item_id: str, version: int, dest: Path) -> Path:
    """Copy the bag of a complete version to `dest/<bag name>`; return that folder.

    Every version stays readable: this is how an older one is read back. Raises
    FileNotFoundError when the version is not complete.
    """
    marker = read_marker(storage, item_id, version)
    prefix = version_prefix(item_id, version)
    bag = inside(dest, marker["bag"])
    for obj in marker["objects"]:
        storage.download(prefix + obj["key"], inside(dest, obj["key"]))
    return bag
