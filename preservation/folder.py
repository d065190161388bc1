"""Storage backend for a folder on a local or mounted disk (`file:///abs/folder`).

Every write goes to a temporary file in the destination folder, is fsynced and then renamed over
the final name, and the folder entry is fsynced too: a crash or a full disk never leaves a half
file under a real key, which matters because deposit verification and the catalogue trust what
they find under a key.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterator

from preservation.storage import (
    CHUNK,
    ObjectInfo,
    stream_sha512,
    validate_key,
    validate_prefix,
)

# Temporary files are hidden from `list`; the random part makes them impossible to mistake for,
# or collide with, a key written by the pipeline.
_TEMP = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")


def _temp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_copy(source: BinaryIO, final: Path, digest=None) -> int:
    """Write `source` to `final` via a fsynced temporary file and a rename; return bytes written.

    `digest` (a hashlib object), if given, is fed every chunk: the source is read only once.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(final)
    size = 0
    try:
        with open(temp, "wb") as out:
            while chunk := source.read(CHUNK):
                if digest is not None:
                    digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)
    return size


class FolderStorage:
    """`Storage` on a folder; see `preservation.storage.Storage` for the contract."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = self.root.as_uri()

    def __repr__(self) -> str:
        return f"FolderStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no object {self.uri(key)}")
        return path

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        final = self._path(key)
        digest = hashlib.sha512()
        with open(path, "rb") as source:
            size = atomic_copy(source, final, digest)
        # The digest is of the bytes read from the source, in the same pass as the copy; a disk
        # gives no checksum of its own, so deposit verifies the copy by re-reading it.
        return ObjectInfo(key, size, self._mtime(final), digest.hexdigest())

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        final = self._path(key)
        size = atomic_copy(io.BytesIO(data), final)
        return ObjectInfo(key, size, self._mtime(final), hashlib.sha512(data).hexdigest())

    def get_bytes(self, key: str) -> bytes:
        return self._existing(key).read_bytes()

    def download(self, key: str, dest: Path) -> None:
        with open(self._existing(key), "rb") as source:
            atomic_copy(source, Path(dest))

    def open(self, key: str) -> BinaryIO:
        return open(self._existing(key), "rb")

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        if not path.is_file():
            return None
        return ObjectInfo(key, path.stat().st_size, self._mtime(path))

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        # Walk only below the deepest folder the prefix names, then filter by string prefix, so
        # "items/b1" matches "items/b1/…" and "items/b10/…" just as S3 would.
        start = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        keys = []
        if start.is_dir():
            for dirpath, _dirnames, filenames in os.walk(start):
                for name in filenames:
                    if _TEMP.match(name):
                        continue
                    key = (Path(dirpath) / name).relative_to(self.root).as_posix()
                    if key.startswith(prefix):
                        keys.append(key)
        return iter(sorted(keys))

    def list_info(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for key in self.list(prefix):
            path = self.root / key
            try:
                yield ObjectInfo(key, path.stat().st_size, self._mtime(path))
            except FileNotFoundError:
                continue  # deleted between listing and stat

    def abort_incomplete_uploads(self, prefix: str) -> int:
        validate_prefix(prefix)
        start = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        removed = 0
        if start.is_dir():
            for dirpath, _dirnames, filenames in os.walk(start):
                for name in filenames:
                    path = Path(dirpath) / name
                    key = path.relative_to(self.root).as_posix()
                    if _TEMP.match(name) and key.startswith(prefix):
                        path.unlink(missing_ok=True)
                        removed += 1
        return removed

    def sha512(self, key: str) -> str:
        with open(self._existing(key), "rb") as stream:
            return stream_sha512(stream)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Remove folders left empty, so a withdrawn item leaves no trace in listings of folders.
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    @staticmethod
    def _mtime(path: Path) -> datetime:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)

