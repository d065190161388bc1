"""Storage backend for any S3-compatible server (`s3://bucket/prefix`), in plain boto3.

Plain S3 only, no vendor SDK: the same code talks to SeaweedFS, Garage, Ceph RGW or AWS. Three
client settings make that work:

- path-style addressing (`http://host/bucket/key`), because self-hosted servers rarely have
  wildcard DNS for `bucket.host`;
- `request_checksum_calculation` / `response_checksum_validation` set to "when_required":
  botocore does not compute checksums of its own; this module sends the one `CADL_S3_CHECKSUM`
  names (`preservation.checksums`), computed from the chunks it hashes anyway;
- botocore "standard" retries (exponential backoff with jitter), so a brief outage or throttling
  is absorbed before it surfaces as `StorageUnavailable`, which Airflow retries later.

Uploads read the source once: each chunk feeds the SHA-512 (checked against the bag manifest) and
the upload checksum. By default that is a full-object CRC64NVME (`x-amz-checksum-crc64nvme`, on
each part and on the whole object of a multipart upload), which the server verifies (refusing
bytes damaged on the way with BadDigest) and reports back: the object is `server_verified` when
the reported value is the one computed here. With `CADL_S3_CHECKSUM=md5` it is Content-MD5 and the
ETag (the MD5, or for multipart uploads the MD5 of the part MD5s), for servers that know no
flexible checksum; a server that rejects the checksum header gets a ConfigError naming the
setting. Files above the multipart threshold go up in parts, a few in flight at once, so memory
stays bounded by (in-flight parts + 1) × part size.

Object lock: when `lock_mode` ("GOVERNANCE" or "COMPLIANCE") and `lock_days` are given, every
object is written with that retention, and opening the storage fails unless the bucket was created
with object lock enabled (an archive that believes it is locked but is not is worse than one that
knows it is not).

Credentials come from the standard AWS environment variables / config files, or, when
`settings.aws_conn_id` is set, from that Airflow connection (login = access key, password = secret,
extra may hold `endpoint_url` and `region_name`). Keys written into the endpoint URL
(`http://key:secret@host`) are taken out of it before botocore sees it and used as the
credentials unless others are given. Credentials are never logged.

Over 400 lines on purpose: the module is one class, the S3 side of the `Storage` interface, and
its parts (the error mapping every call goes through, the single-pass MD5/SHA-512 multipart
upload, object lock, listings) all share the client and its error context; split across modules
they would have to pass that state around, and reading one backend would mean reading several
files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import os
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator
from urllib.parse import urlsplit

import boto3
from boto3.exceptions import RetriesExceededError, S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError as BotoConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from kernel.errors import (
    ConfigError,
    DepositVerificationFailed,
    StorageUnavailable,
    redact,
    split_credentials,
)
from preservation import checksums
from preservation.storage import (
    CHUNK,
    ObjectInfo,
    stream_sha512,
    validate_key,
    validate_prefix,
)

if TYPE_CHECKING:
    from kernel.settings import Settings

log = logging.getLogger(__name__)

# Codes an S3 server uses for "busy, try again": mapped to StorageUnavailable (retryable).
_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalError",
    "503",
    "500",
}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_DENIED_CODES = {
    "AccessDenied",
    "403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
}

MULTIPART_THRESHOLD = 8 * 1024 * 1024  # above this, a file goes up in parts of this size
MIN_PART = 5 * 1024 * 1024  # S3's smallest allowed part (except the last)
PARTS_IN_FLIGHT = 8  # parts uploading at once: throughput on fast links, bounded memory
MAX_ATTEMPTS = 5
# The server says the bytes it received do not have the checksum sent with them.
_DAMAGED_CODES = {"BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch"}
LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")


def multipart_etag(part_md5s: list[bytes]) -> str:
    """The ETag S3 servers give a multipart object: MD5 of the parts' MD5s, dash, part count."""
    joined = hashlib.md5(b"".join(part_md5s), usedforsecurity=False).hexdigest()
    return f"{joined}-{len(part_md5s)}"


def _client_error_code(error: ClientError) -> tuple[str, int]:
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


def _conn_credentials(conn_id: str) -> dict:
    """Read S3 credentials from an Airflow connection; only imported when configured."""
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception as exc:  # the SDK raises several types; all mean "cannot use it"
        raise ConfigError(
            f"cannot read Airflow connection {conn_id!r} (CADL_AWS_CONN_ID): "
            f"{type(exc).__name__}; create it or unset the setting to use AWS_* variables"
        ) from None
    extra = conn.extra_dejson or {}
    return {
        "aws_access_key_id": conn.login or None,
        "aws_secret_access_key": conn.password or None,
        "endpoint_url": extra.get("endpoint_url"),
        "region_name": extra.get("region_name"),
    }


class _S3Reader(io.RawIOBase):
    """A readable binary stream over a GetObject body, mapping network failures to our errors."""

    def __init__(self, body, uri: str):
        self._body = body
        self._uri = uri

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._body.read(len(buffer))
        except (BotoCoreError, OSError) as exc:
            raise StorageUnavailable(f"reading {self._uri} failed: {redact(str(exc))}") from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3Storage:
    """`Storage` on an S3 bucket, optionally under a key prefix; see `preservation.storage`."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        create_bucket: bool = False,
        max_attempts: int = MAX_ATTEMPTS,
        connect_timeout: float = 10,
        read_timeout: float = 60,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        parts_in_flight: int = PARTS_IN_FLIGHT,
        lock_mode: str | None = None,
        lock_days: int = 0,
        checksum: str = "crc64nvme",
    ):
        if not bucket:
            raise ConfigError("S3 storage URL has no bucket name: use s3://bucket/prefix")
        self.bucket = bucket
        self.checksum = checksums.check_name(checksum)
        self.prefix = prefix.strip("/")
        if self.prefix:
            validate_key(self.prefix)
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        if endpoint_url:
            # http://key:secret@host: the keys leave the URL here, so neither botocore nor any
            # message or log line below ever sees them.
            endpoint_url, user, password = split_credentials(endpoint_url)
            if user and not aws_access_key_id:
                aws_access_key_id, aws_secret_access_key = user, password
        self.endpoint_url = endpoint_url
        config = Config(
            region_name=region,
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = boto3.session.Session(
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            region_name=region,
        )
        self._client = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._client.meta.events.register("needs-retry.s3", self._log_retry)
        self.max_attempts = max_attempts
        self.part_size = max(multipart_threshold, MIN_PART)
        self.parts_in_flight = max(1, parts_in_flight)
        self._transfer = TransferConfig(
            multipart_threshold=self.part_size,
            multipart_chunksize=self.part_size,
            max_concurrency=self.parts_in_flight,
        )
        if lock_mode is not None:
            lock_mode = lock_mode.upper()
            if lock_mode not in LOCK_MODES or lock_days < 1:
                raise ConfigError(
                    f"object lock for {self.url}: mode must be one of {', '.join(LOCK_MODES)} "
                    f"(got {lock_mode!r}) and days at least 1 (got {lock_days}); "
                    "see CADL_OBJECT_LOCK_MODE and CADL_OBJECT_LOCK_DAYS"
                )
        self.lock_mode = lock_mode
        self.lock_days = lock_days
        self._check_bucket(create_bucket, region)
        if lock_mode:
            self._check_object_lock()

    @classmethod
    def from_url(
        cls,
        url: str,
        settings: "Settings",
        *,
        create_bucket: bool = False,
        lock_mode: str | None = None,
        lock_days: int = 0,
    ) -> "S3Storage":
        """Build from `s3://bucket/prefix` and the settings (endpoint, region, connection)."""
        parts = urlsplit(url)
        credentials: dict = {}
        endpoint_url = settings.s3_endpoint_url
        region = settings.s3_region
        if settings.aws_conn_id:
            conn = _conn_credentials(settings.aws_conn_id)
            endpoint_url = endpoint_url or conn["endpoint_url"]
            region = conn["region_name"] or region
            credentials = {
                "aws_access_key_id": conn["aws_access_key_id"],
                "aws_secret_access_key": conn["aws_secret_access_key"],
            }
        return cls(
            parts.netloc,
            parts.path,
            endpoint_url=endpoint_url,
            region=region,
            create_bucket=create_bucket,
            lock_mode=lock_mode,
            lock_days=lock_days,
            checksum=settings.s3_checksum,
            **credentials,
        )

    def __repr__(self) -> str:
        return f"S3Storage({self.url!r}, endpoint_url={self.endpoint_url!r})"

    # -- error mapping ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, action: str, key: str | None = None):
        """Translate boto3/botocore failures into the pipeline's exception tree."""
        where = self.uri(key) if key else self.url
        try:
            yield
        except S3UploadFailedError as exc:
            # boto3 wraps the ClientError of a failed upload; look at the original.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError):
                self._raise_client_error(cause, action, where)
            raise StorageUnavailable(f"{action} {where} failed: {redact(str(exc))}") from exc
        except RetriesExceededError as exc:
            raise StorageUnavailable(
                f"{action} {where} failed after retries: {redact(str(exc))}") from exc
        except ClientError as exc:
            self._raise_client_error(exc, action, where)
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise ConfigError(
                f"{action} {where}: no usable S3 credentials; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY or CADL_AWS_CONN_ID"
            ) from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            raise StorageUnavailable(
                f"{action} {where}: S3 server {self.endpoint_url or 'AWS'} unreachable "
                f"({redact(str(exc))})"
            ) from exc

    def _raise_client_error(self, exc: ClientError, action: str, where: str):
        code, status = _client_error_code(exc)
        if code in _MISSING_CODES or status == 404 and code != "NoSuchBucket":
            raise FileNotFoundError(f"no object {where}") from exc
        if code == "NoSuchBucket":
            raise ConfigError(
                f"S3 bucket {self.bucket!r} does not exist at {self.endpoint_url or 'AWS'}: "
                "create it or fix the storage URL setting"
            ) from exc
        if code in _DAMAGED_CODES:
            raise DepositVerificationFailed(
                f"{action} {where}: the server refused the bytes it received ({code}): their "
                f"{self.checksum} is not the one computed while reading them, so they were "
                "damaged on the way; nothing was stored, retry"
            ) from exc
        message = str(exc.response.get("Error", {}).get("Message", ""))
        said = f"{code} {message}".lower()
        if self.checksum != "md5" and ("checksum" in said or "crc" in said):
            raise ConfigError(
                f"{action} {where}: the S3 server {self.endpoint_url or 'AWS'} rejects the "
                f"{self.checksum} checksum header ({code}: {message}); set "
                f"{checksums.SETTING} to one it supports (crc64nvme, crc32c, crc32, or md5 for "
                "servers without flexible checksums)"
            ) from exc
        if code in _TRANSIENT_CODES or status >= 500 or status == 429:
            raise StorageUnavailable(f"{action} {where}: server answered {code or status}") from exc
        if code in _DENIED_CODES or status == 403:
            raise ConfigError(
                f"{action} {where}: access denied ({code}); check the S3 credentials and the "
                "bucket policy"
            ) from exc
        raise exc

    def _log_retry(self, attempts=None, response=None, caught_exception=None, operation=None,
                   **_ignored):
        """Make botocore's retries visible in task logs (it retries silently otherwise)."""
        if caught_exception is not None:
            why = type(caught_exception).__name__
        else:
            parsed = (response or (None, {}))[1] or {}
            status = parsed.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if not status or status < 500 and status != 429:
                return None
            why = f"HTTP {status}"
        name = getattr(operation, "name", "request")
        if attempts is not None and attempts < self.max_attempts:
            log.warning("S3 %s on %s failed (%s), attempt %d of %d; retrying with backoff",
                        name, self.endpoint_url or "AWS", why, attempts, self.max_attempts)
        return None  # leave the decision (and the backoff delay) to botocore's retry handler

    def _check_object_lock(self) -> None:
        try:
            with self._errors("checking object lock on"):
                config = self._client.get_object_lock_configuration(Bucket=self.bucket)
        except FileNotFoundError:  # ObjectLockConfigurationNotFoundError is a 404
            config = {}
        enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
        if not enabled:
            raise ConfigError(
                f"S3 bucket {self.bucket!r} has no object lock, but CADL_OBJECT_LOCK_MODE asks for "
                "it: create the bucket with object lock enabled, or unset the setting if the "
                "server does not support it"
            )

    def _lock_args(self) -> dict:
        if not self.lock_mode:
            return {}
        until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=self.lock_days)
        return {"ObjectLockMode": self.lock_mode, "ObjectLockRetainUntilDate": until}

    def _check_bucket(self, create: bool, region: str) -> None:
        try:
            with self._errors("checking bucket"):
                self._client.head_bucket(Bucket=self.bucket)
            return
        except FileNotFoundError:
            pass  # head_bucket answers a bare 404 for a missing bucket
        if not create:
            raise ConfigError(
                f"S3 bucket {self.bucket!r} does not exist at {self.endpoint_url or 'AWS'}: "
                "create it (with the retention policy you want) or fix the storage URL setting"
            )
        kwargs = {}
        if self.lock_mode:
            kwargs["ObjectLockEnabledForBucket"] = True
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with self._errors("creating bucket"):
            self._client.create_bucket(Bucket=self.bucket, **kwargs)
        log.info("created S3 bucket %s", self.bucket)

    # -- the Storage contract --------------------------------------------------------------------

    def _key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        """Upload in one read of the file: SHA-512, checksum and upload from the same chunks."""
        sha = hashlib.sha512()
        with open(path, "rb") as source:
            first = source.read(self.part_size)
            sha.update(first)
            if len(first) < self.part_size:
                return self._put_single(key, first, sha.hexdigest())
            return self._put_multipart(key, first, source, sha)

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        return self._put_single(key, data, hashlib.sha512(data).hexdigest())

    def _checksum_args(self, digest: checksums.Digest) -> dict:
        """The request parameters that carry `digest`: Content-MD5, or the flexible checksum
        with its algorithm named (servers such as moto read the algorithm header to know which
        x-amz-checksum-* header to take)."""
        if self.checksum == "md5":
            return {"ContentMD5": digest.b64()}
        name = self.checksum.upper()
        return {"ChecksumAlgorithm": name, f"Checksum{name}": digest.b64()}

    def _confirmed(self, response: dict, digest: checksums.Digest) -> bool:
        """Whether the server reported, for what it stored, the checksum computed here."""
        if self.checksum == "md5":
            return str(response.get("ETag", "")).strip('"') == digest.digest().hex()
        return response.get(f"Checksum{self.checksum.upper()}") == digest.b64()

    def _put_single(self, key: str, data: bytes, sha512: str) -> ObjectInfo:
        digest = checksums.of(self.checksum, data)
        with self._errors("writing", key):
            response = self._client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data,
                **self._checksum_args(digest), **self._lock_args(),
            )
        etag = str(response.get("ETag", "")).strip('"')
        return ObjectInfo(key, len(data), None, sha512, etag=etag or None,
                          server_verified=self._confirmed(response, digest))

    def _put_multipart(self, key: str, first: bytes, source, sha) -> ObjectInfo:
        full = self._key(key)
        crc = self.checksum != "md5"
        # A full-object CRC of the whole file, from the chunks this thread reads anyway; each
        # part also carries its own, so a damaged part is refused when it arrives.
        whole = checksums.Digest(self.checksum) if crc else None
        kind = {"ChecksumAlgorithm": self.checksum.upper(), "ChecksumType": "FULL_OBJECT"} \
            if crc else {}
        with self._errors("uploading", key):
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=full, **kind, **self._lock_args()
            )["UploadId"]
        parts: list[dict] = []
        size = 0
        try:
            with ThreadPoolExecutor(self.parts_in_flight, thread_name_prefix="s3-part") as pool:
                pending: set[Future] = set()
                chunk, number = first, 1
                while chunk:
                    size += len(chunk)
                    if whole is not None:
                        whole.update(chunk)
                    # Bounded memory: at most parts_in_flight parts queued or sending at once.
                    while len(pending) >= self.parts_in_flight:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        parts += [future.result() for future in done]
                    # The part's checksum is computed by the worker, so that this thread's
                    # SHA-512 of the next chunk, the checksums and the sending all overlap
                    # (hashlib and awscrt release the GIL).
                    pending.add(pool.submit(self._upload_part, key, upload_id, number, chunk))
                    chunk = source.read(self.part_size)
                    sha.update(chunk)
                    number += 1
                parts += [future.result() for future in pending]
            parts.sort(key=lambda p: p["PartNumber"])
            listed = [{k: v for k, v in p.items() if k not in ("digest", "confirmed")}
                      for p in parts]
            final = {"ChecksumType": "FULL_OBJECT",
                     f"Checksum{self.checksum.upper()}": whole.b64()} if whole else {}
            with self._errors("uploading", key):
                response = self._client.complete_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload_id,
                    MultipartUpload={"Parts": listed}, **final,
                )
        except BaseException:
            # A killed process cannot get here; its upload stays invisible until the next
            # deposit of the version calls abort_incomplete_uploads.
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=full,
                                                    UploadId=upload_id)
            raise
        etag = str(response.get("ETag", "")).strip('"')
        if whole is not None:
            if f"Checksum{self.checksum.upper()}" not in response:
                # Some servers (moto) leave the full-object checksum they computed from the
                # stored parts out of CompleteMultipartUpload's answer; HeadObject gives it.
                with self._errors("inspecting", key):
                    response = {**response, **self._client.head_object(
                        Bucket=self.bucket, Key=full, ChecksumMode="ENABLED")}
            verified = (all(p["confirmed"] for p in parts)
                        and self._confirmed(response, whole))
        else:
            verified = etag == multipart_etag([p["digest"].digest() for p in parts])
        return ObjectInfo(key, size, None, sha.hexdigest(), etag=etag or None,
                          server_verified=verified)

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> dict:
        digest = checksums.of(self.checksum, data)
        with self._errors(f"uploading part {number} of", key):
            response = self._client.upload_part(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload_id, PartNumber=number,
                Body=data, **self._checksum_args(digest),
            )
        part = {"PartNumber": number, "ETag": response["ETag"], "digest": digest,
                "confirmed": self._confirmed(response, digest)}
        if self.checksum != "md5":
            part[f"Checksum{self.checksum.upper()}"] = digest.b64()
        return part

    def get_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def download(self, key: str, dest: Path) -> None:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        try:
            with self._errors("downloading", key):
                self._client.download_file(
                    self.bucket, self._key(key), str(temp), Config=self._transfer
                )
            os.replace(temp, dest)
        finally:
            temp.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        with self._errors("reading", key):
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
        return io.BufferedReader(_S3Reader(response["Body"], self.uri(key)), CHUNK)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            with self._errors("inspecting", key):
                response = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except FileNotFoundError:
            return None
        return ObjectInfo(key, int(response["ContentLength"]), response.get("LastModified"))

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys = []
        with self._errors("listing", None):
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(item["Key"][strip:] for item in page.get("Contents", []))
        # Servers list in UTF-8 byte order, which for our ASCII keys is sorted order; sorting
        # again costs little and keeps the contract for a server that does otherwise.
        return iter(sorted(keys))

    def list_info(self, prefix: str = "") -> Iterator[ObjectInfo]:
        validate_prefix(prefix)
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        infos = []
        with self._errors("listing", None):
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                infos.extend(
                    ObjectInfo(item["Key"][strip:], int(item["Size"]), item.get("LastModified"),
                               etag=str(item.get("ETag", "")).strip('"') or None)
                    for item in page.get("Contents", [])
                )
        return iter(sorted(infos, key=lambda info: info.key))

    def abort_incomplete_uploads(self, prefix: str) -> int:
        validate_prefix(prefix)
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        aborted = 0
        with self._errors("listing unfinished uploads in", None):
            paginator = self._client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for upload in page.get("Uploads", []):
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        if aborted:
            log.info("aborted %d unfinished multipart upload(s) under %s", aborted, full)
        return aborted

    def sha512(self, key: str) -> str:
        with self.open(key) as stream:
            return stream_sha512(stream)

    def delete(self, key: str) -> None:
        with self._errors("deleting", key):
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"
