"""moto's S3 server, checking upload checksums as AWS, MinIO and Ceph RGW do.

    python tests/s3verify.py PORT [--no-flexible-checksums]

moto 5.2.5 stores the `x-amz-checksum-*` value a client sends without computing it, and ignores
`Content-MD5`; a real server recomputes both over the bytes it received and refuses a mismatch
with `400 BadDigest`. This runs moto's own server application (the same objects, the same HTTP)
behind that one check, so the tests can show what the pipeline does when a server refuses bytes
damaged on the way. `--no-flexible-checksums` answers `400 InvalidArgument` to any request that
carries an `x-amz-checksum-*` header, as a server that knows only Content-MD5 does.
"""

import base64
import hashlib
import io
import os
import sys
import zlib

from werkzeug.serving import run_simple

from moto.moto_server.threaded_moto_server import (  # the objects `python -m moto.server` uses
    DomainDispatcherApplication,
    create_backend_app,
)


def _crc(name: str, body: bytes) -> bytes:
    if name == "crc32":
        return zlib.crc32(body).to_bytes(4, "big")
    from awscrt import checksums

    value = getattr(checksums, name)(body)
    return value.to_bytes(8 if name == "crc64nvme" else 4, "big")


def _error(start_response, code: str, message: str):
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()
    start_response("400 Bad Request", [("Content-Type", "application/xml"),
                                       ("Content-Length", str(len(body)))])
    return [body]


def checking(app, flexible: bool):
    def wrapped(environ, start_response):
        names = [k for k in environ if k.startswith("HTTP_X_AMZ_CHECKSUM_")
                 and k not in ("HTTP_X_AMZ_CHECKSUM_TYPE", "HTTP_X_AMZ_CHECKSUM_MODE",
                               "HTTP_X_AMZ_CHECKSUM_ALGORITHM")]
        if names and not flexible:
            return _error(start_response, "InvalidArgument",
                          f"{names[0][5:].replace('_', '-').lower()} is not supported")
        if environ["REQUEST_METHOD"] == "PUT":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            sent_md5 = environ.get("HTTP_CONTENT_MD5")
            if sent_md5 and base64.b64decode(sent_md5) != hashlib.md5(body).digest():
                return _error(start_response, "BadDigest",
                              "The Content-MD5 you specified did not match what we received.")
            for key in names:
                name = key[len("HTTP_X_AMZ_CHECKSUM_"):].lower()
                if name in ("crc32", "crc32c", "crc64nvme") and \
                        base64.b64decode(environ[key]) != _crc(name, body):
                    return _error(start_response, "BadDigest",
                                  f"The {name.upper()} you specified did not match the "
                                  "calculated checksum.")
        return app(environ, start_response)
    return wrapped


def main(argv: list[str]) -> None:
    port = int(argv[0])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, checking(app, "--no-flexible-checksums" not in argv),
               threaded=True)


if __name__ == "__main__":
    main(sys.argv[1:])
