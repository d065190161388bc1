"""Versions of an item in preservation storage: their keys, completion markers, verified stores.

Layout in the preservation storage (keys, see `preservation.storage`):

    items/<item_id>/v0001/<bag name>/bagit.txt
    items/<item_id>/v0001/<bag name>/bag-info.txt
    items/<item_id>/v0001/<bag name>/manifest-sha512.txt
    items/<item_id>/v0001/<bag name>/tagmanifest-sha512.txt
    items/<item_id>/v0001/<bag name>/data/…
    items/<item_id>/v0001/DEPOSITED.json      ← completion marker, written last
    items/<item_id>/v0002/…                   ← a later deposit with different content

A version is *complete* once its DEPOSITED.json exists; that file is written only after every
object has been verified in the storage, so a version with a marker is a verified copy.

`store_version` puts a set of files under a version prefix and verifies them; both a deposit
(`preservation.deposit`, from a local bag) and a replica copy (`preservation.replica`, from the
primary location) use it. It lives here, below both, so that deposit can hand a finished version
to the replica without the two modules importing each other.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from kernel.errors import BagInvalid, DepositVerificationFailed
from kernel.ids import check_id
from kernel.paths import inside
from preservation.storage import ObjectInfo, Storage

log = logging.getLogger(__name__)

MARKER = "DEPOSITED.json"
_VERSION = re.compile(r"^v(\d{4,})$")


@dataclass(frozen=True)
class VersionInfo:
    number: int
    prefix: str  # "items/<item_id>/v0001/"
    complete: bool  # True when DEPOSITED.json exists


def check_item_id(item_id: str) -> None:
    """Raise InvalidId (a ValueError) unless `item_id` is an id (kernel.ids): it names keys."""
    check_id(item_id, "item id")


def version_prefix(item_id: str, number: int) -> str:
    """Key prefix of version `number` of `item_id`, e.g. "items/b1-0001/v0001/"."""
    check_item_id(item_id)
    return f"items/{item_id}/v{number:04d}/"


def list_versions(storage: Storage, item_id: str) -> list[VersionInfo]:
    """Every version of `item_id` present in `storage`, complete or not, oldest first."""
    check_item_id(item_id)
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


def read_marker_at(storage: Storage, prefix: str) -> dict:
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
    return read_marker_at(storage, complete[-1].prefix) if complete else None


@dataclass(frozen=True)
class StoredFile:
    """One file of a version: its key below the version prefix, the local copy, its digest."""

    rel: str  # path inside the bag, e.g. "data/masters/p0001.tif"
    path: Path
    sha512: str  # what the bag's manifests say (the local digest for files no manifest covers)
    size: int


def _verified_put(storage: Storage, key: str, f: "StoredFile") -> ObjectInfo:
    """Upload one bag file (one read) and check the digest of what was read against the bag."""
    info = storage.put_file(key, f.path)
    if info.sha512 != f.sha512:
        raise BagInvalid(
            f"{f.path} changed after bagging: sha512 {info.sha512[:16]}…, the bag's manifest "
            f"says {f.sha512[:16]}…; rebuild the bag (no deposit marker was written)"
        )
    return info


def store_version(storage: Storage, prefix: str, files: list["StoredFile"], *,
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
            continue  # the server confirmed the checksum of the bytes we hashed; not replaced
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


def marker_bytes(marker: dict) -> bytes:
    """DEPOSITED.json as written: UTF-8 JSON, sorted keys, so both copies are byte-identical."""
    return (json.dumps(marker, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def read_marker(storage: Storage, item_id: str, version: int) -> dict:
    """The DEPOSITED.json of one version; FileNotFoundError when that version is not complete."""
    return read_marker_at(storage, version_prefix(item_id, version))


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
