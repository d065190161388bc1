"""Open a storage location by its URL: the folder backend for `file://`, S3 for `s3://`.

The choice of backend lives here, above the interface (`preservation.storage`) and both
backends (`preservation.folder`, `preservation.s3`), so the interface never imports its
implementations and neither backend imports the other. A third backend is one more branch here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from kernel.errors import ConfigError
from kernel.settings import Settings
from preservation.folder import FolderStorage
from preservation.storage import Storage

# preservation.s3 is imported where an s3:// URL is opened: it loads boto3 (about half a second),
# which folder-only runs and DAG parsing need not pay. The architecture test counts such imports
# like any other; this one points down.


def open_replica(settings: Settings, *, create_bucket: bool = False) -> Storage | None:
    """The optional second preservation location (CADL_REPLICA_URL), or None when unset.

    The replica gets the same object lock as the preservation location: it is a preservation
    copy too.
    """
    url = settings.replica_url
    if not url:
        return None
    if url == settings.preservation_url:
        raise ConfigError("CADL_REPLICA_URL is the same location as CADL_PRESERVATION_URL; "
                          "a replica must be another bucket, endpoint or folder")
    if urlsplit(url).scheme != "s3":
        return open_storage(url, settings, create_bucket=create_bucket)
    own = settings.model_copy(update={
        "s3_endpoint_url": settings.replica_endpoint_url or settings.s3_endpoint_url,
        "aws_conn_id": settings.replica_aws_conn_id or settings.aws_conn_id,
    })
    from preservation.s3 import S3Storage

    return S3Storage.from_url(url, own, create_bucket=create_bucket,
                              lock_mode=settings.object_lock_mode,
                              lock_days=settings.object_lock_days
                              if settings.object_lock_mode else 0)


def open_storage(url: str, settings: Settings, *, create_bucket: bool = False) -> Storage:
    """Open the storage at `url` (`file:///abs/folder` or `s3://bucket/prefix`).

    A folder is created if missing, so a fresh checkout runs without setup. An S3 bucket is not:
    a missing bucket raises ConfigError naming it, because creating buckets is an
    administrator's decision (policies, versioning, object lock); `create_bucket=True` is for tests
    and development servers only. Raises ConfigError for any other URL.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"storage URL {url!r}: use file:///absolute/folder (no host name)")
        folder = Path(unquote(parts.path))
        if not folder.is_absolute():
            raise ConfigError(f"storage URL {url!r}: the folder must be an absolute path")
        return FolderStorage(folder)
    if parts.scheme == "s3":
        from preservation.s3 import S3Storage

        # Object lock applies to the preservation location only: the access location must let
        # publish replace and withdraw files.
        locked = url == settings.preservation_url and bool(settings.object_lock_mode)
        return S3Storage.from_url(
            url, settings, create_bucket=create_bucket,
            lock_mode=settings.object_lock_mode if locked else None,
            lock_days=settings.object_lock_days if locked else 0,
        )
    raise ConfigError(
        f"storage URL {url!r} is not supported: use file:///absolute/folder or s3://bucket/prefix"
    )
