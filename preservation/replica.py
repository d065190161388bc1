"""The optional second preservation location (CADL_REPLICA_URL): copies and repairs.

A replica holds the same keys as the primary location: `items/<id>/v0001/<bag>/…` and the same,
byte-identical DEPOSITED.json, written last there too. So either copy can serve, be audited with
the same code, and repair the other one object at a time.

Copies between locations are streamed through a local scratch file (bounded memory, any pair of
backends: folder ↔ S3, one S3 server ↔ another) and checked against the SHA-512 the marker
records, on the way out of the source and again in the target; a damaged source is never copied.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from kernel.errors import DepositVerificationFailed
from preservation.bag import payload_manifest, tag_manifest
from preservation.storage import ObjectInfo, Storage, file_sha512
from preservation.versions import (
    MARKER,
    StoredFile,
    read_marker,
    store_version,
    version_prefix,
)

log = logging.getLogger(__name__)


def fetch_verified(source: Storage, key: str, sha512: str, dest: Path) -> Path:
    """Download `key` to `dest` and check its SHA-512; DepositVerificationFailed if it differs."""
    source.download(key, dest)
    found = file_sha512(dest)
    if found != sha512:
        dest.unlink(missing_ok=True)
        raise DepositVerificationFailed(
            f"{source.uri(key)} is damaged (sha512 {found[:16]}…, expected {sha512[:16]}…); "
            "it cannot serve as the source of a copy"
        )
    return dest


def copy_object(source: Storage, target: Storage, key: str, sha512: str,
                scratch: Path) -> ObjectInfo:
    """Copy one object whose good digest is `sha512` from `source` to `target`, verified both ends.

    Raises DepositVerificationFailed when the source copy is itself damaged or the target does not
    hold the right bytes afterwards.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    local = fetch_verified(source, key, sha512, scratch / "copy.tmp")
    try:
        info = target.put_file(key, local)
    finally:
        local.unlink(missing_ok=True)
    if target.sha512(key) != sha512:
        raise DepositVerificationFailed(f"copy of {key} to {target.uri(key)} does not verify")
    return info


def _local_sources(local_bag: Path | None, bag_name: str) -> dict[str, tuple[Path, str]]:
    """Bag-relative key ("<bag>/data/…") → (local file, manifest digest) of a local bag."""
    if local_bag is None or not Path(local_bag).is_dir() or Path(local_bag).name != bag_name:
        return {}
    local_bag = Path(local_bag)
    digests = {**payload_manifest(local_bag), **tag_manifest(local_bag)}
    return {f"{bag_name}/{rel}": (local_bag / rel, digest) for rel, digest in digests.items()
            if (local_bag / rel).is_file()}


def replicate_version(
    primary: Storage,
    replica: Storage,
    item_id: str,
    version: int,
    *,
    local_bag: Path | None = None,
    reread: bool = False,
) -> int:
    """Make version `version` of `item_id` complete in `replica`, as it is in `primary`.

    Files come from `local_bag` when its manifest digest is the one the primary's marker records
    (no download), otherwise from the primary, checked on the way. Resumes an interrupted copy;
    does nothing if the replica already holds the same marker. The version's event records
    (`events/`) are copied after the marker. Returns the objects uploaded (bag files).
    Raises DepositVerificationFailed when the replica holds a different complete version under
    that number, or when an object cannot be copied intact.
    """
    prefix = version_prefix(item_id, version)
    marker = read_marker(primary, item_id, version)
    body = primary.get_bytes(prefix + MARKER)  # copied as is: both markers byte-identical
    if replica.head(prefix + MARKER) is not None:
        theirs = replica.get_bytes(prefix + MARKER)
        if theirs == body or _same_marker(theirs, marker):
            return 0
        raise DepositVerificationFailed(
            f"{replica.uri(prefix + MARKER)} describes another deposit than "
            f"{primary.uri(prefix + MARKER)}; the replica has diverged: compare them by hand"
        )
    local = _local_sources(local_bag, marker["bag"])
    present = {info.key: info for info in replica.list_info(prefix)}
    with tempfile.TemporaryDirectory(prefix="cadl-replica-") as scratch:
        files = []
        for n, obj in enumerate(marker["objects"]):
            key = prefix + obj["key"]
            source = local.get(obj["key"])
            if source and source[1] == obj["sha512"]:
                path = source[0]
            else:
                path = Path(scratch) / f"{n:06d}"
                intact = (key in present and present[key].size == obj["size"]
                          and replica.sha512(key) == obj["sha512"])
                if not intact:
                    fetch_verified(primary, key, obj["sha512"], path)
            files.append(StoredFile(obj["key"], path, obj["sha512"], obj["size"]))
        uploaded = store_version(replica, prefix, files, reread=reread)
    replica.put_bytes(prefix + MARKER, body)
    # The package history beside the version (PREMIS event records, preservation.history)
    # goes along, so a re-ingest from the replica reads the same history.
    for key in primary.list(prefix + "events/"):
        if replica.head(key) is None:
            replica.put_bytes(key, primary.get_bytes(key))
    log.info("replicated %s to %s: %d objects uploaded", prefix, replica.url, uploaded)
    return uploaded


def _same_marker(raw: bytes, marker: dict) -> bool:
    import json

    try:
        return json.loads(raw.decode("utf-8")) == marker
    except ValueError:
        return False
