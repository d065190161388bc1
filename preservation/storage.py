"""The one storage interface the preservation and access code talks to.

Two backends satisfy it: a folder on a local or mounted disk (`file:///abs/folder`, see
`preservation.folder`) and any S3-compatible server (`s3://bucket/prefix`, see `preservation.s3`).
This module knows neither: both import it, and `preservation.backends.open_storage` chooses one by
the URL's scheme, so the interface never imports its implementations. Code above never knows
which one it has, so the same deposit and publish logic runs
against a laptop folder in development and SeaweedFS / Garage / Ceph / AWS in production.

Keys are plain ASCII paths (`items/b001-0001/v0001/bag/data/masters/p0001.tif`). The original,
often Chinese or Arabic, file names are recorded in METS and never used as keys: object stores and
file systems disagree about Unicode normalisation, and a key that changes form between writing and
reading is an object lost.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol, runtime_checkable

CHUNK = 1024 * 1024  # bytes read at a time when hashing or copying: memory stays bounded

_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
MAX_KEY_LENGTH = 1024  # S3's own limit on key length, in bytes


@dataclass(frozen=True)
class ObjectInfo:
    """What the storage knows about one object.

    `sha512` is the digest of the bytes sent, filled in by `put_file`/`put_bytes`; `head` leaves
    it None because it does not re-read the object. To check what is really stored, call
    `Storage.sha512`, which streams the object back.
    """

    key: str
    size: int
    modified: datetime | None = None
    sha512: str | None = None
    # What the server says it holds (S3 ETag). Comparing the ETag a listing reports with the one
    # the upload answered shows an object was not replaced since; None on the folder backend.
    etag: str | None = None
    # True when the server reported the checksum (CRC64NVME, CRC32C, CRC32 or the MD5 ETag) we
    # computed while reading the source in the same pass as the SHA-512: the server confirmed it
    # stored exactly the bytes we hashed.
    server_verified: bool = False


@runtime_checkable
class Storage(Protocol):
    """A flat namespace of immutable-by-convention objects addressed by safe ASCII keys.

    Every method validates its key (see `validate_key`) and raises ValueError for an unsafe one.
    Reading a key that does not exist raises FileNotFoundError naming its URI. Backends raise
    `StorageUnavailable` (retryable) when the server cannot be reached or is overloaded, and
    `ConfigError` when the location or the credentials are wrong.

    `delete` exists only so that the access location can withdraw an item whose rights no longer
    allow publication. Preservation code (`preservation.deposit`) never calls it: a deposited
    version is never removed or rewritten.
    """

    url: str

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        """Store the file at `path` under `key`, streaming it (memory stays bounded)."""
        ...

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        """Store `data` under `key` in one atomic write (readers never see half of it)."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """Return the whole object; only for small objects such as JSON markers."""
        ...

    def download(self, key: str, dest: Path) -> None:
        """Copy the object to the local file `dest` (written under a temporary name first)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Return a readable binary stream of the object; the caller closes it (`with` works)."""
        ...

    def head(self, key: str) -> ObjectInfo | None:
        """Return size and modification time of the object, or None when it does not exist."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield every key starting with `prefix`, sorted; `prefix` is a string prefix."""
        ...

    def list_info(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Like `list`, with size and (S3) the ETag of each object, in one listing pass."""
        ...

    def abort_incomplete_uploads(self, prefix: str) -> int:
        """Discard unfinished writes under `prefix` left by a killed process; return how many.

        They are invisible to readers already (S3 multipart uploads, hidden temporary files);
        this only frees their space. Call it only when no other writer works under `prefix`.
        """
        ...

    def sha512(self, key: str) -> str:
        """Return the hex SHA-512 of the stored object, re-reading it from the storage."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object if present. Used only to withdraw access copies, never preservation."""
        ...

    def uri(self, key: str) -> str:
        """Return a URI a script can open: `file:///…/key` or `s3://bucket/prefix/key`."""
        ...


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a safe storage key, else raise ValueError saying why.

    Safe means: segments of `[A-Za-z0-9._-]` joined by single slashes, no leading or trailing
    slash, no `.` or `..` anywhere as a path step and no `..` at all, at most 1024 characters.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"storage key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"storage key is longer than {MAX_KEY_LENGTH} characters: {key[:80]!r}…")
    if key.startswith("/"):
        raise ValueError(f"storage key {key!r} must not start with '/'")
    if ".." in key:
        raise ValueError(f"storage key {key!r} must not contain '..'")
    for segment in key.split("/"):
        if not segment:
            raise ValueError(f"storage key {key!r} has an empty path segment ('//' or a trailing '/')")
        if segment == ".":
            raise ValueError(f"storage key {key!r} must not contain a '.' segment")
        if not _SEGMENT.match(segment):
            raise ValueError(
                f"storage key {key!r} may only use ASCII letters, digits and . _ - / "
                "(keep original Unicode names in METS, not in keys)"
            )
    return key


def validate_prefix(prefix: str) -> str:
    """Return `prefix` if it is empty or a safe key optionally ending in '/', else ValueError."""
    if prefix == "":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def stream_sha512(stream: BinaryIO) -> str:
    """Hex SHA-512 of everything left in `stream`, read in bounded chunks."""
    digest = hashlib.sha512()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def file_sha512(path: Path) -> str:
    """Hex SHA-512 of a local file, read in bounded chunks."""
    with open(path, "rb") as stream:
        return stream_sha512(stream)
