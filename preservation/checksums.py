"""The checksum an S3 upload carries, which the server verifies and reports back.

`CADL_S3_CHECKSUM` chooses it:

- `crc64nvme` (default): AWS's own default; full-object checksum of single and multipart
  uploads. Computed by `awscrt` (the package botocore itself uses for it) at ≈ 0.04 CPU s/GB,
  against ≈ 1.6 s/GB for MD5, which was what made deposit slower than a plain upload.
- `crc32c`: also full-object, also `awscrt`; for servers that know CRC32C but not CRC64NVME.
- `crc32`: Python's zlib, no extra package; the oldest of S3's flexible checksums.
- `md5`: `Content-MD5` and the ETag, for servers that know no flexible checksum.

A CRC only stands in for MD5 as a transfer check: both catch bytes damaged between this process
and the server, neither resists a forger (MD5 no longer does either). What ties the uploaded bytes
to the bag's manifest is the SHA-512 computed from the same chunks (see `preservation.s3`).
"""

from __future__ import annotations

import base64
import hashlib
import zlib

from kernel.errors import ConfigError

NAMES = ("crc64nvme", "crc32c", "crc32", "md5")
SETTING = "CADL_S3_CHECKSUM"


class Digest:
    """An incremental checksum of one of `NAMES`; `b64()` is what S3 headers carry."""

    def __init__(self, name: str):
        self.name = name
        self._value = 0
        if name == "md5":
            self._md5 = hashlib.md5(usedforsecurity=False)
        elif name in ("crc64nvme", "crc32c"):
            self._crt = getattr(_awscrt_checksums(name), name)

    def update(self, data: bytes) -> None:
        if self.name == "md5":
            self._md5.update(data)
        elif self.name == "crc32":
            self._value = zlib.crc32(data, self._value)
        else:
            self._value = self._crt(data, self._value)

    def digest(self) -> bytes:
        if self.name == "md5":
            return self._md5.digest()
        return self._value.to_bytes(8 if self.name == "crc64nvme" else 4, "big")

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


def _awscrt_checksums(name: str):
    try:
        from awscrt import checksums
    except ImportError:
        raise ConfigError(
            f"{SETTING}={name} needs the awscrt package (pip install 'boto3[crt]'); install it, "
            f"or set {SETTING}=crc32 (or md5 for servers without flexible checksums)"
        ) from None
    return checksums


def check_name(name: str) -> str:
    """The lower-case checksum name; ConfigError naming the setting when it is unknown or its
    library is missing (found when the storage is opened, not at the first upload)."""
    name = (name or "").lower()
    if name not in NAMES:
        raise ConfigError(f"{SETTING}={name!r} is not one of {', '.join(NAMES)}")
    Digest(name)
    return name


def of(name: str, data: bytes) -> Digest:
    digest = Digest(name)
    digest.update(data)
    return digest
