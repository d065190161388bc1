"""Deposit throughput against hashing and raw uploading of the same bytes, in one run.

    .venv/bin/python -m bench.storage [--files 8] [--mb 32] [--repeat 3] [--endpoint URL]
                                      [--no-write]

One bag of random payload files is built, then, `--repeat` times, interleaved so that the shared
machine's load hits all alike:

(a) `sha512sum` of the bag's files (what hashing alone costs: one read);
(b) a raw boto3 upload of the same files (`upload_file`, boto3's default transfer settings:
    8 MiB parts, 10 threads), no hashing, no verification;
(c) the pipeline's `deposit_bag` of the bag: one read per file feeding SHA-512, the upload
    checksum (CADL_S3_CHECKSUM's default, a full-object CRC64NVME) and the upload, multipart,
    verification by the checksums the server reports, marker written last;
(d) the same with `CADL_S3_CHECKSUM=md5` (Content-MD5 and the ETags), the path for servers
    without flexible checksums;
(e) the same as (c) with `reread=True` (every object downloaded again and hashed).

Rates are MB/s of bag bytes (wall clock; best of the repeats, the median is printed too).
The target: (c) ≥ 80% of (b). Without `--endpoint` a moto S3 server is started on 127.0.0.1 (the
tests' stand-in, a single Python process: absolute rates are far below a real server's, the
ratios are what the benchmark is for); with `--endpoint` credentials come from the AWS_*
variables and a bucket `cadl-bench-<random>` is created and emptied afterwards.
"""

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import psutil

from bench.markdown import write_section
from preservation.bag import build_bag
from preservation.deposit import deposit_bag
from preservation.s3 import S3Storage

ROOT = Path(__file__).resolve().parents[2]
MB = 1_000_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def make_bag(root: Path, files: int, size: int) -> Path:
    src = root / "src"
    src.mkdir(parents=True)
    payload = []
    for n in range(1, files + 1):
        path = src / f"{n}.tif"
        with open(path, "wb") as out:
            out.write(os.urandom(size))
        payload.append((path, f"masters/p{n:04d}.tif"))
    bag = build_bag(root / "bag" / "bench-item", payload,
                    {"External-Description": "مخطوطة 手稿 benchmark"})
    shutil.rmtree(src)
    return bag


def bag_files(bag: Path) -> list[Path]:
    return sorted(p for p in bag.rglob("*") if p.is_file())


def empty(client, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn, server=None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of this process and its children, CPU seconds of the server)."""
    def server_cpu() -> float:
        if server is None:
            return 0.0
        times = psutil.Process(server.pid).cpu_times()
        return times.user + times.system

    cpu, srv, started = _cpu(), server_cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - started, _cpu() - cpu, server_cpu() - srv


def load() -> str:
    return open("/proc/loadavg").read().split(" ", 3)[:3].__str__() if os.path.exists(
        "/proc/loadavg") else "?"


def run(files: int, mb: float, repeat: int, endpoint: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="cadl-bench-storage-") as tmp:
        tmp = Path(tmp)
        server = None
        if endpoint is None:
            server, endpoint = start_moto(tmp / "moto.log")
            creds = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
        else:
            creds = {}
        try:
            bag = make_bag(tmp, files, int(mb * MB))
            paths = bag_files(bag)
            total = sum(p.stat().st_size for p in paths)
            bucket = f"cadl-bench-{os.urandom(4).hex()}"
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **creds)
            client.create_bucket(Bucket=bucket)
            store = S3Storage(bucket, "pipeline", endpoint_url=endpoint, **creds)
            md5_store = S3Storage(bucket, "pipeline-md5", endpoint_url=endpoint,
                                  checksum="md5", **creds)
            times: dict[str, list[tuple[float, float, float]]] = {
                                             "sha512sum": [], "raw boto3 upload": [],
                                             "pipeline deposit": [],
                                             "pipeline deposit, md5": [],
                                             "pipeline deposit, reread": []}
            load_before = load()
            now = dt.datetime.now(dt.timezone.utc)
            for rep in range(repeat):
                times["sha512sum"].append(timed(lambda: subprocess.run(
                    ["sha512sum", *map(str, paths)], check=True, stdout=subprocess.DEVNULL),
                    server))
                times["raw boto3 upload"].append(timed(lambda: [
                    client.upload_file(str(p), bucket, f"raw/{rep}/{p.relative_to(bag)}")
                    for p in paths], server))
                empty(client, bucket)
                times["pipeline deposit"].append(timed(lambda: deposit_bag(
                    bag, store, f"bench-{rep}", "fp", now), server))
                empty(client, bucket)
                times["pipeline deposit, md5"].append(timed(lambda: deposit_bag(
                    bag, md5_store, f"bench-m{rep}", "fp", now), server))
                empty(client, bucket)
                times["pipeline deposit, reread"].append(timed(lambda: deposit_bag(
                    bag, store, f"bench-r{rep}", "fp", now, reread=True), server))
                empty(client, bucket)
            client.delete_bucket(Bucket=bucket)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
    gb = total / 1e9
    rates = {name: {"best_mb_s": round(total / MB / min(t[0] for t in ts), 1),
                    "median_mb_s": round(total / MB / statistics.median(t[0] for t in ts), 1),
                    "client_cpu_s_per_gb": round(statistics.median(t[1] for t in ts) / gb, 2),
                    "server_cpu_s_per_gb": round(statistics.median(t[2] for t in ts) / gb, 2)}
             for name, ts in times.items()}
    raw = rates["raw boto3 upload"]
    return {
        "bytes": total, "files": len(paths), "repeat": repeat,
        "server": "moto_server (local process)" if server is not None else endpoint,
        "cores": os.cpu_count(), "load_before": load_before, "load_after": load(),
        "rates": rates,
        "ratio_deposit_to_raw": round(rates["pipeline deposit"]["best_mb_s"] / raw["best_mb_s"], 2),
        "ratio_deposit_to_raw_median": round(
            rates["pipeline deposit"]["median_mb_s"] / raw["median_mb_s"], 2),
        "ratio_md5_to_raw": round(
            rates["pipeline deposit, md5"]["best_mb_s"] / raw["best_mb_s"], 2),
        "ratio_reread_to_raw": round(
            rates["pipeline deposit, reread"]["best_mb_s"] / raw["best_mb_s"], 2),
        "date": dt.date.today().isoformat(),
    }


def markdown(result: dict) -> str:
    lines = [
        f"`python -m bench.storage` on {result['date']}: one bag of {result['files']} files, "
        f"{result['bytes'] / MB:.0f} MB, against {result['server']}, {result['repeat']} "
        f"interleaved repeats, {result['cores']} cores (shared; load "
        f"{result['load_before']} → {result['load_after']}).",
        "",
        "| what | MB/s (best) | MB/s (median) | client CPU s/GB | server CPU s/GB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rate in result["rates"].items():
        lines.append(f"| {name} | {rate['best_mb_s']} | {rate['median_mb_s']} | "
                     f"{rate['client_cpu_s_per_gb']} | {rate['server_cpu_s_per_gb'] or '–'} |")
    lines += ["", f"Pipeline deposit / raw upload: **{result['ratio_deposit_to_raw']:.0%}** "
              f"(best), {result['ratio_deposit_to_raw_median']:.0%} (median); target ≥ 80%. "
              f"With `CADL_S3_CHECKSUM=md5`: {result['ratio_md5_to_raw']:.0%}. "
              f"With every object read back (`CADL_DEPOSIT_VERIFY=reread`): "
              f"{result['ratio_reread_to_raw']:.0%}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8, help="payload files in the bag")
    parser.add_argument("--mb", type=float, default=32, help="size of each file, MB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--endpoint", help="a real S3 server instead of a local moto_server")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args(argv)
    result = run(args.files, args.mb, args.repeat, args.endpoint)
    print(json.dumps(result, indent=2))
    section = markdown(result)
    print(section)
    if not args.no_write:
        write_section("storage", "Storage", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
