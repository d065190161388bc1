"""Deposit a bag into preservation storage as a new, verified, immutable version of an item.

The layout of versions and their completion markers (DEPOSITED.json, written last) is in
`preservation.versions`; a version with a marker is a verified copy.

Each bag file is read once: the SHA-512 compared with the manifest, the checksum the S3 server
checks (CADL_S3_CHECKSUM: a full-object CRC64NVME by default, Content-MD5 for servers without
flexible checksums) and the upload all come from the same chunks. The SHA-512 is not a repeat of
the one computed when the bag was made: it is what proves that the bytes sent are still the bytes
the manifest lists, and the server's checksum proves it stored the bytes sent. Verification then
lists the version (one request per thousand objects) and accepts an object when its size
matches, the server reported the checksum we computed, and the listed ETag is still the one its
upload answered with; anything else, and every object on a folder (a disk reports no checksum),
is read back and its SHA-512 compared. `reread=True` reads everything back whatever the server
says.

With a replica (a second location), the same version goes there under the same keys with the
same DEPOSITED.json, after the primary copy is complete (`preservation.replica`).

Both are recorded in the item's package history (`preservation.history`), as PREMIS events
beside the version: an "accession" event once the primary copy is verified and complete, and a
"replication" event once the replica is; each linked to this code (a software agent with its
version) and to the agents the caller names (the partner library, the library that keeps the
copies, the operator). The replica gets the same records under the same keys, so either copy
carries the whole history a re-ingest reads.

Objects of a complete version are never overwritten or deleted (this module never calls
`Storage.delete`). A version without a marker is the remains of an
interrupted deposit and is resumed by the next call.

The caller computes the fingerprint that identifies the content deposited (for instance a hash of
the payload manifest plus the metadata that matters). It must change whenever the content
changes: an unchanged fingerprint is taken to mean "already deposited" and nothing is uploaded.
Deposits of one item must not run concurrently (the DAG runs one deposit task per item).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

import bagit

from kernel.errors import BagInvalid
from preservation.bag import (
    MANIFEST,
    TAGMANIFEST,
    assert_valid_bag,
    payload_manifest,
    tag_manifest,
)
from preservation.history import write_record
from preservation.replica import replicate_version
from preservation.storage import Storage, file_sha512, validate_key
from preservation.versions import (
    MARKER,
    StoredFile,
    VersionInfo,
    check_item_id,
    list_versions,
    marker_bytes,
    read_marker_at,
    store_version,
    version_prefix,
)

log = logging.getLogger(__name__)



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


def _bag_files(bag_dir: Path) -> list[StoredFile]:
    """Every file of the bag with the digest it must have in storage; payload first."""
    expected = {**payload_manifest(bag_dir), **tag_manifest(bag_dir)}
    files = []
    for path in sorted(p for p in bag_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(bag_dir).as_posix()
        validate_key(rel)
        digest = expected.get(rel) or file_sha512(path)
        files.append(StoredFile(rel, path, digest, path.stat().st_size))
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


def deposit_bag(
    bag_dir: Path,
    storage: Storage,
    item_id: str,
    fingerprint: str,
    now: datetime,
    *,
    replica: Storage | None = None,
    reread: bool = False,
    agents: Sequence = (),
    software_version: str | None = None,
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

    - The accession (and replication) are PREMIS events in the package history, linked to
      `agents` (metadata.premis.Agent: partner, library, operator) besides this code.

    Raises BagInvalid if the local bag is incomplete or a file no longer matches its manifest,
    DepositVerificationFailed naming every object that does not match (no marker is written;
    retrying resumes), StorageUnavailable when a storage cannot be reached, ValueError for an
    unsafe item id, bag name or empty fingerprint.
    """
    bag_dir = Path(bag_dir)
    check_item_id(item_id)
    if not fingerprint or not isinstance(fingerprint, str):
        raise ValueError("fingerprint must be a non-empty string identifying the content")
    bag_name = validate_key(bag_dir.name)
    if "/" in bag_name:
        raise ValueError(f"bag name {bag_name!r} must be a single path segment")

    versions = list_versions(storage, item_id)
    complete = [v for v in versions if v.complete]
    result: Deposit | None = None
    if complete:
        marker = read_marker_at(storage, complete[-1].prefix)
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
        in_version = [StoredFile(f"{bag_name}/{f.rel}", f.path, f.sha512, f.size) for f in files]
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
        _record(storage, result, "accession", now, agents, software_version,
                f"deposited as {prefix} in {storage.url}: {len(files)} objects, {total} bytes, "
                f"each verified against the bag's SHA-512 manifest "
                f"({'read back' if reread else 'server checksum or read back'}); "
                "DEPOSITED.json written last")

    if replica is not None:
        fresh = replica.head(result.prefix + MARKER) is None
        copied = replicate_version(storage, replica, item_id, result.version,
                                   local_bag=bag_dir, reread=reread)
        result.replica_uri = replica.uri(result.prefix.rstrip("/"))
        result.replica_uploaded = copied
        if fresh:  # replicate_version copied the accession record; now the replication's
            for target in (storage, replica):
                _record(target, result, "replication", now, agents, software_version,
                        f"version {result.prefix} copied to the replica {replica.url}: "
                        f"{copied} objects uploaded, every object SHA-512 verified there, "
                        "the same DEPOSITED.json written last")
    return result


DEPOSIT_EVENT_NAMESPACE = uuid.UUID("0d9c5e61-3f1b-4a8e-b6f2-7c4d2e9a1b53")


def _record(storage: Storage, result: Deposit, kind: str, now: datetime, agents: Sequence,
            software_version: str | None, detail: str) -> str:
    """One PREMIS event (`kind`: accession or replication) in the package history beside the
    version; its id derives from the version, kind and time, so a retry writes the same
    record under the same key."""
    from kernel import __version__
    from metadata.agents import software_premis_agent
    from metadata.premis import Event, package_event_record

    software = software_premis_agent("preservation.deposit", software_version or __version__)
    agents = [software, *[a for a in agents if a.id_value != software.id_value]]
    package = result.prefix.rstrip("/")
    event_id = uuid.uuid5(DEPOSIT_EVENT_NAMESPACE, f"{package}/{kind}/{now.isoformat()}")
    event = Event(kind, now, "success", detail, [a.id_value for a in agents], [package],
                  id_value=str(event_id))
    body = package_event_record(package, [event], agents)
    return write_record(storage, result.item_id, result.version, body,
                        "deposit" if kind == "accession" else "replica", now, lambda: event_id)
