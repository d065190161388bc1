"""`cadl serve`: OAI-PMH at /oai and the access location's files, over HTTP.

A small threaded HTTP server of the standard library: the portals' harvesters and a developer's
IIIF viewer need an endpoint, not a framework. It reads the access location from the same
settings as the pipeline (CADL_ACCESS_URL, a folder or S3), holds no state of its own, and binds
to 127.0.0.1 unless told otherwise; put a reverse proxy in front of it to publish it.
Requests are logged to stderr.
"""

from __future__ import annotations

import logging
import mimetypes
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from kernel.settings import Settings
from publication.oai import Repository
from publication.portal_files import base_url
from preservation.storage import Storage, open_storage, validate_key

log = logging.getLogger(__name__)

# What is served besides /oai: what the portals read, never anything else of the location.
PUBLIC_PREFIXES = ("items/", "feeds/", "portals/", "partners/")
PUBLIC_FILES = ("catalogue.json",)
_TYPES = {".json": "application/json", ".jsonl": "application/jsonl", ".xml": "application/xml",
          ".hocr": "text/vnd.hocr+html", ".txt": "text/plain; charset=utf-8",
          ".jpg": "image/jpeg", ".pdf": "application/pdf"}


def make_handler(access: Storage, repository: Repository):
    class Handler(BaseHTTPRequestHandler):
        server_version = "cadl-serve"

        def log_message(self, fmt, *args):  # stderr through logging, not print
            log.info("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")  # IIIF viewers run elsewhere
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _oai(self, params: dict[str, list[str]]) -> None:
            self._send(200, repository.handle(params), "text/xml; charset=utf-8")

        def do_GET(self):  # noqa: N802 - http.server's naming
            parts = urlsplit(self.path)
            if parts.path == "/oai":
                return self._oai(parse_qs(parts.query, keep_blank_values=True))
            key = parts.path.lstrip("/")
            try:
                validate_key(key)
            except ValueError:
                return self._send(404, b"not found\n", "text/plain")
            if not (key.startswith(PUBLIC_PREFIXES) or key in PUBLIC_FILES):
                return self._send(404, b"not found\n", "text/plain")
            try:
                body = access.get_bytes(key)
            except FileNotFoundError:
                return self._send(404, b"not found\n", "text/plain")
            suffix = "." + key.rsplit(".", 1)[-1] if "." in key else ""
            self._send(200, body, _TYPES.get(suffix) or mimetypes.guess_type(key)[0]
                       or "application/octet-stream")

        do_HEAD = do_GET

        def do_POST(self):  # noqa: N802 - OAI-PMH allows POST with a form body
            if urlsplit(self.path).path != "/oai":
                return self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"", "text/plain")
            length = int(self.headers.get("Content-Length") or 0)
            form = self.rfile.read(length).decode("utf-8", "replace")
            self._oai(parse_qs(form, keep_blank_values=True))

    return Handler


def make_server(settings: Settings, host: str = "127.0.0.1", port: int = 8800
                ) -> ThreadingHTTPServer:
    """The HTTP server (not yet serving); port 0 picks a free port (see server_address)."""
    access = open_storage(settings.access_url, settings)
    server = ThreadingHTTPServer((host, port), None)
    actual = server.server_address[1]
    oai_url = f"http://{host}:{actual}/oai"
    repository = Repository(access, base_url(settings), oai_url, settings.oai_repository_id,
                            settings.oai_admin_email, settings.oai_page_size)
    server.RequestHandlerClass = make_handler(access, repository)
    return server
