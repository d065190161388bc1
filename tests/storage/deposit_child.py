"""A deposit in a process of its own, for the kill -9 test: `python deposit_child.py SPEC.json`.

SPEC: {"bag": path, "url": storage URL, "endpoint": S3 endpoint or null, "item": id,
"fingerprint": str, "pause_file": path or null, "part_size": bytes}. With `pause_file`, the
process writes that file at a point in the middle of an upload (S3: while sending the second
part of the second file's multipart upload; folder: with a file written to its temporary name,
before the rename) and then waits, so that the test can kill it there with SIGKILL.
"""

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from preservation.deposit import deposit_bag  # noqa: E402
from preservation.folder import FolderStorage  # noqa: E402
from preservation.s3 import S3Storage  # noqa: E402


def pause(pause_file: str) -> None:
    Path(pause_file).write_text(str(os.getpid()))
    time.sleep(600)  # killed long before this ends


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    pause_file = spec.get("pause_file")
    if spec["url"].startswith("s3://"):
        bucket, _, prefix = spec["url"][5:].partition("/")
        storage = S3Storage(bucket, prefix, endpoint_url=spec["endpoint"],
                            multipart_threshold=spec["part_size"], parts_in_flight=1)
        if pause_file:
            seen = []

            def on_part(params, **_):
                if params.get("PartNumber") == 2:
                    seen.append(params["Key"])
                    if len(seen) == 2:  # second file: the first is complete, this one half sent
                        pause(pause_file)
            storage._client.meta.events.register("before-parameter-build.s3.UploadPart", on_part)
    else:
        storage = FolderStorage(Path(spec["url"].removeprefix("file://")))
        if pause_file:
            real_fsync, calls = os.fsync, []

            def fsync(fd):
                real_fsync(fd)
                calls.append(fd)
                if len(calls) == 3:  # third object: written under its temporary name
                    pause(pause_file)
            os.fsync = fsync
    result = deposit_bag(Path(spec["bag"]), storage, spec["item"], spec["fingerprint"],
                         dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))
    print(result.model_dump_json())


if __name__ == "__main__":
    main(sys.argv[1])
