"""One exception tree for the whole pipeline.

Every error carries an exit code (for `cadl`) and a `retryable` flag: Airflow retries only the
transient ones (storage down, a tool timing out); bad input fails at once, because running it
again cannot help and would only hide the report the technician needs.

Error text must never carry a secret: `redact` removes the user:password part of any URL in a
message (an S3 endpoint written `http://key:secret@host`), and `split_credentials` takes it out
of such a URL at the door, so what is logged or raised afterwards never had it.
"""

import re
from urllib.parse import unquote, urlsplit, urlunsplit

# scheme://userinfo@ — userinfo is anything up to the first @ before the host, without / or space
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")
REDACTED = "***"


def redact(text: str) -> str:
    """`text` with the credentials of every `scheme://user:password@host` URL in it masked."""
    return _USERINFO.sub(rf"\1{REDACTED}@", text)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(`url` without user:password, user, password), percent-decoded; (url, None, None) if none.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, unquote(user) or None, unquote(password) or None


class PipelineError(Exception):
    exit_code = 1
    retryable = False


class UsageError(PipelineError):
    """The command was called wrongly (missing folder, bad option)."""

    exit_code = 2


class ConfigError(PipelineError):
    """A setting is missing or malformed; the message names the setting."""

    exit_code = 3


class BatchInvalid(PipelineError):
    """The batch breaks the landing-zone contract; `report` lists every problem found."""

    exit_code = 1

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class InvalidId(PipelineError, ValueError):
    """A value that should be an item or batch id is not one (kernel.ids); it is never used.

    A ValueError too, so a pydantic field of type ItemId/BatchId reports it as a validation
    error of that field.
    """

    exit_code = 1


class UnsafePath(PipelineError, ValueError):
    """A path built from an id or a name would leave its base folder (kernel.paths.inside).

    Refused before anything is read, written or removed there; the message names both.
    """

    exit_code = 1


class BatchNotReady(PipelineError):
    """The batch has no READY marker, or its files changed while being read: leave it for later."""

    exit_code = 4
    retryable = True


class ToolMissing(PipelineError):
    """An external program (tesseract, qpdf, …) or one of its models is not installed."""

    exit_code = 5


class ToolFailed(PipelineError):
    """An external program exited with an error on a given input."""

    exit_code = 5


class ToolTimeout(ToolFailed):
    """An external program ran past its time limit; the machine may just be busy."""

    retryable = True


class MetadataInvalid(PipelineError):
    """A METS/MODS/PREMIS/ALTO document we built does not validate against its schema."""

    exit_code = 7


class BagInvalid(PipelineError):
    """A bag failed BagIt validation (missing file, checksum mismatch, bad tag file)."""

    exit_code = 8


class StorageUnavailable(PipelineError):
    """The storage server did not answer or refused the request; retry later."""

    exit_code = 6
    retryable = True


class DepositVerificationFailed(PipelineError):
    """An object read back from storage does not match the bag manifest."""

    exit_code = 6
    retryable = True


class FixityFailed(PipelineError):
    """A fixity audit found objects missing or altered in preservation storage.

    Raised after the audit report and PREMIS events are written, so the failure (and the
    failure callback's alert) points at a complete record. Not retryable: auditing again
    finds the same damage. `report_text` is the path of the audit's text report.
    """

    exit_code = 9

    def __init__(self, message: str, report_text: str | None = None):
        super().__init__(message)
        self.report_text = report_text


class ItemsFailed(PipelineError):
    """Some items of a batch stopped at a stage; raised after the batch report is written.

    Failing the report task makes the whole run show as failed in Airflow, so an archivist
    watching the DAG sees it; the report names each item and the stage it stopped at.
    """
