"""`cadl serve`: OAI-PMH at /oai and the access location's files, over HTTP.

A small WSGI application on waitress, a production HTTP server: the portals' harvesters and a
developer's IIIF viewer need an endpoint, not a framework, but the endpoint faces the network, so
the standard library's `http.server` (no timeouts, one thread per connection, unbounded reads)
is not enough. waitress reads every request fully on its own I/O loop before a worker thread
sees it, so a slow or idle client holds a socket, never a thread; it closes connections idle for
CADL_SERVE_IDLE_TIMEOUT seconds, runs at most CADL_SERVE_THREADS worker threads and
CADL_SERVE_CONNECTIONS connections, and answers 400 to a malformed Content-Length and 413 to a
body or header block over the limits below (docs/decisions.md, "Issue 12").

It reads the access location from the same settings as the pipeline (CADL_ACCESS_URL, a folder
or S3), holds no state of its own, and binds to 127.0.0.1 unless told otherwise; put a reverse
proxy in front of it to publish it, and set CADL_PUBLIC_BASE_URL to the URL the world uses, which
is what OAI-PMH answers carry (never the bind address or the request's Host header). Files are
served only from the public prefixes, and from a folder only if they resolve inside it (a
symlink out of the access folder is not followed). Requests are logged to stderr.
"""

from __future__ import annotations

import ipaddress
import logging
import mimetypes
from pathlib import Path
from urllib.parse import parse_qs

from kernel.errors import ConfigError, UnsafePath
from kernel.paths import inside
from kernel.settings import Settings
from publication.oai import Repository
from publication.portal_files import base_url
from preservation.backends import open_storage
from preservation.folder import FolderStorage
from preservation.storage import Storage, validate_key

log = logging.getLogger(__name__)

# What is served besides /oai: what the portals read, never anything else of the location.
PUBLIC_PREFIXES = ("items/", "feeds/", "portals/", "partners/", "profiles/")
PUBLIC_FILES = ("catalogue.json",)
_TYPES = {".json": "application/json", ".jsonl": "application/jsonl", ".xml": "application/xml",
          ".hocr": "text/vnd.hocr+html", ".txt": "text/plain; charset=utf-8",
          ".jpg": "image/jpeg", ".pdf": "application/pdf"}
# An OAI-PMH POST is a short form; nothing else accepts a body.
MAX_BODY_BYTES = 64 * 1024
# Request line and headers together; an OAI-PMH GET with every argument fits in a few hundred.
MAX_HEADER_BYTES = 16 * 1024
_CHUNK = 256 * 1024
_STATUS = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found",
           405: "405 Method Not Allowed"}


def public_url(settings: Settings, host: str, port: int) -> str:
    """The URL the world reaches this server at: CADL_PUBLIC_BASE_URL, without a final slash.

    Unset is allowed only on a loopback address (a developer's machine), where the bind address
    is the public URL; anywhere else ConfigError, because an OAI-PMH baseURL of 0.0.0.0 or of an
    internal address sends every harvester astray.
    """
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConfigError(f"cadl serve binds {host}, which is not a loopback address: set "
                          "CADL_PUBLIC_BASE_URL to the public URL harvesters use (e.g. "
                          "https://library.example.org), which OAI-PMH answers carry")
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def _inside(root: Path, key: str) -> Path | None:
    """The file for `key` in the folder `root`, or None if missing or not inside it.

    kernel.paths.inside resolves symbolic links: one leading out of the access folder is
    refused here, not followed.
    """
    try:
        path = inside(root, key)
    except UnsafePath as exc:
        log.warning("refused %r: %s", key, exc)
        return None
    except (OSError, RuntimeError):  # a symlink loop
        return None
    return path if path.is_file() else None


def _read_file(path: Path):
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def make_app(access: Storage, repository: Repository):
    """The WSGI application: /oai, and GET/HEAD of the public files of `access`."""
    folder = access.root if isinstance(access, FolderStorage) else None

    def respond(start_response, status: int, body: bytes, content_type: str,
                head: bool = False, extra: tuple = ()):
        start_response(_STATUS[status], [
            ("Content-Type", content_type), ("Content-Length", str(len(body))),
            ("Access-Control-Allow-Origin", "*"),  # IIIF viewers run elsewhere
            *extra])
        return [] if head else [body]

    def not_found(start_response, head):
        return respond(start_response, 404, b"not found\n", "text/plain", head)

    def app(environ, start_response):
        method = environ["REQUEST_METHOD"]
        head = method == "HEAD"
        try:  # WSGI hands the path over as latin-1; URLs carry UTF-8
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
        except UnicodeError:
            return not_found(start_response, head)
        if method not in ("GET", "HEAD", "POST") or (method == "POST" and path != "/oai"):
            return respond(start_response, 405, b"method not allowed\n", "text/plain", head,
                           (("Allow", "GET, HEAD, POST" if path == "/oai" else "GET, HEAD"),))
        if path == "/oai":
            if method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)  # checked by waitress
                query = environ["wsgi.input"].read(length).decode("utf-8", "replace")
            else:
                query = environ.get("QUERY_STRING", "")
            body = repository.handle(parse_qs(query, keep_blank_values=True))
            return respond(start_response, 200, body, "text/xml; charset=utf-8", head)
        key = path.lstrip("/")
        try:
            validate_key(key)
        except ValueError:
            return not_found(start_response, head)
        if not (key.startswith(PUBLIC_PREFIXES) or key in PUBLIC_FILES):
            return not_found(start_response, head)
        suffix = "." + key.rsplit(".", 1)[-1] if "." in key else ""
        content_type = _TYPES.get(suffix) or mimetypes.guess_type(key)[0] \
            or "application/octet-stream"
        headers = [("Content-Type", content_type), ("Access-Control-Allow-Origin", "*")]
        if folder is not None:
            file = _inside(folder, key)
            if file is None:
                return not_found(start_response, head)
            start_response(_STATUS[200], [*headers,
                                          ("Content-Length", str(file.stat().st_size))])
            return [] if head else _read_file(file)
        try:
            body = access.get_bytes(key)
        except FileNotFoundError:
            return not_found(start_response, head)
        return respond(start_response, 200, body, content_type, head)

    def logged(environ, start_response):
        def start(status, headers, exc_info=None):
            # %r: a hostile path or query shows escaped in the log, never as terminal control
            log.info("%s %s %r %s", environ.get("REMOTE_ADDR", "-"), environ["REQUEST_METHOD"],
                     environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"]
                                                     if environ.get("QUERY_STRING") else ""),
                     status.split()[0])
            return start_response(status, headers, exc_info)
        return app(environ, start)

    return logged


class Server:
    """waitress serving the application; `run()` blocks until `close()` from another thread."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8800):
        from waitress.server import create_server

        public_url(settings, host, port)  # refuses a non-loopback bind without the setting
        access = open_storage(settings.access_url, settings)
        from kernel.deployment import require_published

        admin = require_published(settings.oai_admin_email or settings.contact_email,
                                  "CADL_OAI_ADMIN_EMAIL" if settings.oai_admin_email
                                  else "CADL_CONTACT_EMAIL", settings,
                                  "e-mail address harvesters write to (OAI-PMH adminEmail)")
        # oai:<this>:<item_id> names every record for good: a harvester keeps it.
        repository_id = require_published(settings.oai_repository_id, "CADL_OAI_REPOSITORY_ID",
                                          settings, "OAI-PMH repository identifier")
        self._repository = Repository(access, base_url(settings), "", repository_id, admin,
                                      settings.oai_page_size)
        timeout = settings.serve_idle_timeout
        self._server = create_server(
            make_app(access, self._repository), host=host, port=port,
            threads=settings.serve_threads, connection_limit=settings.serve_connections,
            channel_timeout=timeout,
            # Idle connections are looked for at this pace, so one is closed between `timeout`
            # and 1.5 × `timeout` seconds after its last byte.
            cleanup_interval=max(1, min(30, int(timeout / 2))),
            max_request_body_size=MAX_BODY_BYTES, max_request_header_size=MAX_HEADER_BYTES,
            ident="cadl-serve", expose_tracebacks=False, clear_untrusted_proxy_headers=True)
        self.host, self.port = host, self._server.effective_port
        self.public_url = public_url(settings, host, self.port)
        self._repository.oai_url = f"{self.public_url}/oai"

    @property
    def oai_url(self) -> str:
        return self._repository.oai_url

    def run(self) -> None:
        self._server.run()

    def close(self) -> None:
        self._server.close()
        self._server.task_dispatcher.shutdown()


def make_server(settings: Settings, host: str = "127.0.0.1", port: int = 8800) -> Server:
    """The HTTP server, listening but not yet serving; port 0 picks a free port (`.port`).

    Raises OSError when the address cannot be bound, ConfigError when CADL_PUBLIC_BASE_URL is
    needed and unset.
    """
    return Server(settings, host, port)
