"""Keys written into CADL_S3_ENDPOINT_URL (`http://key:secret@host`) never reach a log or error.

Against the real moto S3 server of tests/conftest.py: the keys are taken out of the URL before
botocore sees it, used as the S3 credentials, and every log record (all loggers, DEBUG and up),
every error message and its whole traceback chain, the settings' repr and the CLI's stderr are
searched for them.
"""

from __future__ import annotations

import logging
import socket
import traceback
import uuid
from urllib.parse import urlsplit

import pytest

from cadl.cli import main
from kernel.errors import ConfigError, StorageUnavailable, redact, split_credentials
from kernel.settings import Settings, get_settings
from preservation.backends import open_storage

KEY = "AKIACADLTESTKEY"
SECRET = "s3cr3t/وثيقة+书"  # a '/' and non-ASCII: percent-encoded in the URL
SECRET_IN_URL = "s3cr3t%2F%D9%88%D8%AB%D9%8A%D9%82%D8%A9%2B%E4%B9%A6"


def _with_keys(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{KEY}:{SECRET_IN_URL}@{parts.netloc}{parts.path}"


def _leaks(text: str) -> list[str]:
    return [s for s in (SECRET, SECRET_IN_URL, "s3cr3t", f"{KEY}:") if s in text]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redact_masks_the_user_and_password_of_every_url():
    text = f"PUT failed at {_with_keys('http://127.0.0.1:9000/b')} (also ftp://u:p@h/x)"
    assert redact(text) == "PUT failed at http://***@127.0.0.1:9000/b (also ftp://***@h/x)"
    assert split_credentials(_with_keys("http://127.0.0.1:9000")) == \
        ("http://127.0.0.1:9000", KEY, SECRET)
    assert split_credentials("http://127.0.0.1:9000") == ("http://127.0.0.1:9000", None, None)


def test_keys_in_the_endpoint_url_are_used_and_never_logged(moto_endpoint, caplog):
    settings = Settings(s3_endpoint_url=_with_keys(moto_endpoint))
    caplog.set_level(logging.DEBUG)  # botocore and urllib3 log every request at DEBUG
    store = open_storage(f"s3://cadl-redact-{uuid.uuid4().hex[:8]}/pres", settings,
                         create_bucket=True)
    store.put_bytes("items/ar-001/title.txt", "كتاب · 书".encode())
    assert store.get_bytes("items/ar-001/title.txt") == "كتاب · 书".encode()
    credentials = store._client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == (KEY, SECRET)
    assert store.endpoint_url == moto_endpoint
    assert caplog.records, "botocore logged nothing at DEBUG: the test would prove nothing"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert _leaks(logged) == []
    assert _leaks(repr(store)) == [] and _leaks(repr(settings)) == []
    assert "s3_endpoint_url='http://***@127.0.0.1" in repr(settings)


def test_an_unreachable_endpoint_error_carries_no_keys(caplog):
    caplog.set_level(logging.DEBUG)
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    settings = Settings(s3_endpoint_url=_with_keys(endpoint))
    from preservation.s3 import S3Storage

    with pytest.raises(StorageUnavailable) as caught:
        S3Storage.from_url("s3://cadl-redact-down", settings)  # retries, then gives up
    message = str(caught.value)
    assert message.startswith(f"checking bucket s3://cadl-redact-down: S3 server {endpoint} "
                              "unreachable (")
    chain = "".join(traceback.format_exception(caught.value))
    assert _leaks(message) == [] and _leaks(chain) == []
    assert _leaks("\n".join(r.getMessage() for r in caplog.records)) == []


def test_a_missing_bucket_error_on_the_cli_carries_no_keys(moto_endpoint, monkeypatch, capsys,
                                                            caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CADL_S3_ENDPOINT_URL", _with_keys(moto_endpoint))
    monkeypatch.setenv("CADL_PRESERVATION_URL", "s3://cadl-no-such-bucket/archive")
    get_settings.cache_clear()
    try:
        assert main(["versions", "ar-001"]) == ConfigError.exit_code
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith(f"cadl: S3 bucket 'cadl-no-such-bucket' does not exist at "
                          f"{moto_endpoint}")
    assert _leaks(err) == []
    assert _leaks("\n".join(r.getMessage() for r in caplog.records)) == []
