"""`cadl serve` against hostile HTTP clients: every request gets an answer, none gets more.

A real waitress server on 127.0.0.1 (a free port) over an access folder the test lays out;
requests go through raw sockets, so malformed Content-Length values and silent clients can be
sent as an attacker would. Every OAI-PMH answer is validated against the official OAI-PMH XSD
(metadata/schemas/oai-pmh-2.0.xsd). Client loops are bounded in count, and every socket has a
timeout, so a server that misbehaves fails the test instead of hanging it.
"""

from __future__ import annotations

import base64
import socket
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from lxml import etree

from cadl.serve import MAX_BODY_BYTES, make_server
from kernel.errors import ConfigError
from kernel.settings import Settings

OAI = "{http://www.openarchives.org/OAI/2.0/}"
XSD = Path(__file__).resolve().parents[2] / "metadata" / "schemas" / "oai-pmh-2.0.xsd"
PUBLIC = "https://library.example.org/cadl"
IDLE_TIMEOUT = 2  # seconds; the server closes a silent connection within 1.5 × this
WAIT = 30  # seconds any socket waits before the test fails rather than hangs


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture
def site(tmp_path):
    """(server, access folder, a folder outside it) with the server running in a thread."""
    access = tmp_path / "access"
    outside = tmp_path / "outside"
    (access / "items" / "ar-001").mkdir(parents=True)
    outside.mkdir()
    (access / "items" / "ar-001" / "title.txt").write_text("كتاب الأغاني · 诗经\n", "utf-8")
    (outside / "secret.txt").write_text("not for the portals\n", "utf-8")
    settings = Settings(access_url=access.as_uri(), public_base_url=PUBLIC, serve_threads=2,
                        serve_idle_timeout=IDLE_TIMEOUT, serve_connections=50)
    server = make_server(settings, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server, access, outside
    finally:
        server.close()
        thread.join(WAIT)
        assert not thread.is_alive()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sock.settimeout(WAIT)
    return sock


def _exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes; (status, headers, body)."""
    chunks = []
    with _connect(port) as sock:
        try:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            # A server refusing a request closes without reading the rest of it; the kernel
            # then resets the connection, after the answer already received here.
            pass
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _get(port: int, target: str, host: str = "127.0.0.1") -> tuple[int, dict, bytes]:
    return _exchange(port, f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                     .encode())


def _oai(port: int, query: str, schema) -> etree._Element:
    status, headers, body = _get(port, f"/oai?{query}")
    assert status == 200 and headers["content-type"] == "text/xml; charset=utf-8"
    root = etree.fromstring(body)
    assert schema.validate(root), schema.error_log
    return root


def _error(root: etree._Element) -> tuple[str, str]:
    error = root.find(f"{OAI}error")
    return error.get("code"), error.text


# -- the public URL ----------------------------------------------------------------------------

def test_base_url_comes_from_the_setting_not_the_bind_address_or_host_header(site, schema):
    server, _, _ = site
    status, _, body = _get(server.port, "/oai?verb=Identify", host="evil.example:666")
    assert status == 200
    root = etree.fromstring(body)
    assert schema.validate(root), schema.error_log
    assert root.findtext(f"{OAI}Identify/{OAI}baseURL") == f"{PUBLIC}/oai"
    assert root.findtext(f"{OAI}request") == f"{PUBLIC}/oai"
    assert b"evil.example" not in body and b"127.0.0.1" not in body


def test_serving_beyond_loopback_without_a_public_url_is_refused(tmp_path):
    settings = Settings(access_url=(tmp_path / "access").as_uri(), public_base_url=None)
    with pytest.raises(ConfigError) as caught:
        make_server(settings, "0.0.0.0", 0)
    assert str(caught.value) == (
        "cadl serve binds 0.0.0.0, which is not a loopback address: set CADL_PUBLIC_BASE_URL "
        "to the public URL harvesters use (e.g. https://library.example.org), which OAI-PMH "
        "answers carry")


def test_a_public_url_with_credentials_is_refused(tmp_path):
    with pytest.raises(ValueError) as caught:
        Settings(public_base_url="https://user:hunter2@library.example.org")
    assert "public_base_url" in str(caught.value) and "hunter2" not in str(caught.value)


# -- OAI-PMH arguments -------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:cadl.example.org:%1b%5b2J",
    "verb=ListRecords&metadataPrefix=oai_dc%00",
    "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-01-01%0d",
    "verb=ListRecords&metadataPrefix=oai_dc&set=zh%c2%85",
    "verb=Identify&%07bell=1",
], ids=["escape-in-identifier", "nul-in-prefix", "cr-in-from", "c1-in-set", "bell-in-name"])
def test_an_argument_with_a_control_character_is_a_bad_argument(site, schema, query):
    server, _, _ = site
    root = _oai(server.port, query, schema)
    code, text = _error(root)
    assert code == "badArgument"
    assert "control character" in text
    request = root.find(f"{OAI}request")
    assert request.attrib == {} and request.text == f"{PUBLIC}/oai"


def test_an_overlong_argument_is_a_bad_argument(site, schema):
    server, _, _ = site
    root = _oai(server.port, "verb=GetRecord&metadataPrefix=oai_dc&identifier=" + "x" * 2000,
                schema)
    assert _error(root) == ("badArgument", "argument 'identifier' is longer than 1024 characters")
    assert root.find(f"{OAI}request").attrib == {}


def test_an_invalid_argument_is_never_echoed_into_request(site, schema):
    server, _, _ = site
    # A malformed date: badArgument, only the base URL in <request>.
    root = _oai(server.port, "verb=ListRecords&metadataPrefix=oai_dc&from=yesterday", schema)
    assert _error(root)[0] == "badArgument"
    assert root.find(f"{OAI}request").attrib == {}
    # A prefix the schema's pattern refuses: the answer names the error, the attribute is left
    # out (echoing it would make the whole answer schema-invalid), the valid ones stay.
    root = _oai(server.port, "verb=ListRecords&metadataPrefix=oai%20dc%20%D8%B9%D8%B1%D8%A8%D9"
                "%8A&set=zh", schema)
    assert _error(root)[0] == "cannotDisseminateFormat"
    assert root.find(f"{OAI}request").attrib == {"verb": "ListRecords", "set": "zh"}


def _token(depth: int) -> str:
    return base64.urlsafe_b64encode(b'{"a":' + b"[" * depth + b"]" * depth + b',"o":0}'
                                    ).decode().rstrip("=")


def test_a_deeply_nested_resumption_token_is_a_bad_resumption_token(site, schema):
    server, _, _ = site
    # Short enough for a URL: nested a few hundred levels deep.
    root = _oai(server.port, f"verb=ListRecords&resumptionToken={_token(300)}", schema)
    code, text = _error(root)
    assert code == "badResumptionToken"
    assert text.endswith("is not a resumptionToken of this repository")
    # Nested 20,000 levels deep (past the JSON parser's recursion limit), as an OAI-PMH POST form.
    form = f"verb=ListRecords&resumptionToken={_token(20_000)}".encode()
    assert len(form) < MAX_BODY_BYTES
    status, _, body = _exchange(server.port, (
        f"POST /oai HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/"
        f"x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n\r\n").encode() + form)
    assert status == 200
    root = etree.fromstring(body)
    assert schema.validate(root), schema.error_log
    code, text = _error(root)
    assert code == "badResumptionToken"
    assert text.endswith("… is longer than any resumptionToken of this repository")


def test_a_token_nested_past_the_recursion_limit_is_a_bad_token_even_uncapped(monkeypatch,
                                                                             tmp_path, schema):
    """The length cap stops deep tokens first; without it the parser's RecursionError is
    still a badResumptionToken, not a dropped connection."""
    import publication.oai as oai
    from preservation.folder import FolderStorage

    monkeypatch.setattr(oai, "MAX_ARGUMENT", 10**6)
    repository = oai.Repository(FolderStorage(tmp_path), PUBLIC, f"{PUBLIC}/oai",
                                "cadl.example.org", "a@example.org")
    root = etree.fromstring(repository.handle({"verb": ["ListRecords"],
                                               "resumptionToken": [_token(20_000)]}))
    assert schema.validate(root), schema.error_log
    code, text = _error(root)
    assert code == "badResumptionToken" and text.endswith("is not a resumptionToken of this "
                                                          "repository")


# -- HTTP framing ------------------------------------------------------------------------------

@pytest.mark.parametrize("length, status", [
    ("abc", 400), ("-1", 400), ("1e3", 400), ("+12", 400),
    (str(MAX_BODY_BYTES + 1), 413), ("99999999999999999999999", 413),
], ids=["letters", "negative", "float", "plus", "one-over", "huge"])
def test_a_bad_or_huge_content_length_is_answered_400_or_413(site, length, status):
    server, _, _ = site
    answer, _, _ = _exchange(server.port, (
        f"POST /oai HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {length}\r\n"
        "\r\nverb=Identify").encode())
    assert answer == status


def test_two_content_lengths_are_refused(site):
    server, _, _ = site
    answer, _, _ = _exchange(server.port, (
        "POST /oai HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 12\r\n"
        "Content-Length: 13\r\n\r\nverb=Identify").encode())
    assert answer == 400


def test_an_oversized_header_block_is_refused(site):
    server, _, _ = site
    answer, _, _ = _exchange(server.port, (
        "GET /oai?verb=Identify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
        + "a" * 17_000 + "\r\n\r\n").encode())
    assert answer == 431


def test_other_methods_are_not_allowed(site):
    server, _, _ = site
    status, headers, _ = _exchange(server.port, b"DELETE /items/ar-001/title.txt HTTP/1.1\r\n"
                                   b"Host: x\r\nConnection: close\r\n\r\n")
    assert status == 405 and headers["allow"] == "GET, HEAD"


# -- slow and idle clients ---------------------------------------------------------------------

def test_an_idle_half_request_is_closed_and_holds_no_worker_thread(site):
    server, _, _ = site
    silent = []
    try:
        for _ in range(5):  # more silent clients than the server has threads (2)
            sock = _connect(server.port)
            sock.sendall(b"GET /oai?verb=Identify HTTP/1.1\r\nHost: x\r\n")  # never finished
            silent.append(sock)
        # Meanwhile an honest client is answered: the silent ones hold sockets, not threads.
        status, _, body = _get(server.port, "/oai?verb=Identify")
        assert status == 200 and b"<Identify>" in body
        # And each silent one is closed by the server (recv returns b"" before WAIT runs out).
        for sock in silent:
            assert sock.recv(1024) == b""
    finally:
        for sock in silent:
            sock.close()


def test_the_worker_threads_are_bounded_by_the_setting(site):
    server, _, _ = site
    for _ in range(6):
        assert _get(server.port, "/oai?verb=Identify")[0] == 200
    workers = [t for t in threading.enumerate() if t.name.startswith("waitress-")]
    assert len(workers) == 2


# -- files -------------------------------------------------------------------------------------

def test_a_file_inside_the_access_folder_is_served(site):
    server, _, _ = site
    status, headers, body = _get(server.port, "/items/ar-001/title.txt")
    assert status == 200 and headers["content-type"] == "text/plain; charset=utf-8"
    assert body.decode("utf-8") == "كتاب الأغاني · 诗经\n"


def test_a_symlink_out_of_the_access_folder_is_not_followed(site):
    server, access, outside = site
    (access / "items" / "ar-001" / "secret.txt").symlink_to(outside / "secret.txt")
    (access / "items" / "zh-002").symlink_to(outside, target_is_directory=True)
    (access / "catalogue.json").symlink_to("/etc/hostname")
    for target in ("/items/ar-001/secret.txt", "/items/zh-002/secret.txt", "/catalogue.json"):
        status, _, body = _get(server.port, target)
        assert (status, body) == (404, b"not found\n"), target
    # A symlink that stays inside the folder is still served.
    (access / "items" / "ar-001" / "alias.txt").symlink_to("title.txt")
    assert _get(server.port, "/items/ar-001/alias.txt")[0] == 200


@pytest.mark.parametrize("target", [
    "/items/../../outside/secret.txt", "/items/%2e%2e/%2e%2e/outside/secret.txt",
    "/" + quote("items/كتاب/../../../outside/secret.txt"), "//etc/passwd", "/work/x",
])
def test_paths_leaving_the_public_prefixes_are_not_found(site, target):
    server, _, _ = site
    assert _get(server.port, target)[0] == 404
