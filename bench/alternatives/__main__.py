"""Measure two libraries the pipeline does not use against what it uses instead (issue 13).

    pip install --target /tmp/alternatives pytesseract==0.3.13 minio==7.2.20
    .venv/bin/python -m bench.alternatives --extra-path /tmp/alternatives [--repeat 5]

(a) pytesseract against our wrapper `ocr.tesseract.recognize`, on one real Arabic scan of
    ../shared/ocr-gt (rescaled to 300 dpi, as the OCR stage does), same model and page
    segmentation mode: text only (one process each), and all three outputs the OCR stage needs
    (ALTO, hOCR, text): our wrapper runs tesseract once with three renderers; pytesseract's
    `run_and_get_multiple_output` takes no page segmentation mode, so the three-output
    comparison calls `image_to_alto_xml`, `image_to_pdf_or_hocr` and `image_to_string`.
    Figures are CPU seconds of this process and its children per call (the median over
    `--repeat` interleaved calls), which the machine's load disturbs less than wall time.
(b) the MinIO Python client against boto3, uploading the same files to the tests' moto S3
    server on 127.0.0.1, each with its default transfer settings; MB/s wall (best and median of the
    repeats) and the client's CPU seconds per GB.

Neither library is a dependency: they are installed into a scratch folder given by
`--extra-path`, appended to sys.path so that the project's own pillow and urllib3 still win.
The numbers are recorded in docs/decisions.md ("Issue 13: layers and installs"), not here.
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCAN = ROOT.parent / "shared" / "ocr-gt" / "ar-muqtabas" / "images"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measure(fn, repeat: int) -> dict:
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = _cpu(), time.perf_counter()
        fn()
        cpu.append(_cpu() - c0)
        wall.append(time.perf_counter() - w0)
    return {"cpu_median": statistics.median(cpu), "wall_median": statistics.median(wall)}


def tesseract_calls(repeat: int, work: Path) -> dict:
    import pytesseract
    from PIL import Image

    from ocr.tesseract import PSM_HORIZONTAL, recognize

    source = sorted(SCAN.glob("*.tif"))[0]
    page = work / "page.png"
    with Image.open(source) as image:
        image.resize((image.width // 2, image.height // 2)).save(page, dpi=(300, 300))
    config = f"--psm {PSM_HORIZONTAL}"
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # what our wrapper sets, for a fair comparison

    def ours(outputs):
        return lambda: recognize(page, work / "ours", ["ara"], tessdata_dir=None, timeout=300,
                                 psm=PSM_HORIZONTAL, outputs=outputs)

    def theirs_text():
        pytesseract.image_to_string(str(page), lang="ara", config=config)

    def theirs_three():
        pytesseract.image_to_alto_xml(str(page), lang="ara", config=config)
        pytesseract.image_to_pdf_or_hocr(str(page), lang="ara", config=config, extension="hocr")
        pytesseract.image_to_string(str(page), lang="ara", config=config)

    runs = {"ours, text": ours(("txt",)), "pytesseract, text": theirs_text,
            "ours, ALTO+hOCR+text": ours(("alto", "hocr", "txt")),
            "pytesseract, ALTO+hOCR+text": theirs_three}
    ours(("txt",))()  # warm the page cache and the model files
    results: dict[str, list[dict]] = {name: [] for name in runs}
    for _ in range(repeat):  # interleaved, so load changes hit every variant alike
        for name, fn in runs.items():
            results[name].append(_measure(fn, 1))
    return {"page": f"{source.name} at 300 dpi",
            **{name: {"cpu_s": round(statistics.median(r["cpu_median"] for r in rs), 3),
                      "wall_s": round(statistics.median(r["wall_median"] for r in rs), 3)}
               for name, rs in results.items()}}


def s3_clients(repeat: int, work: Path, files: int, mb: int) -> dict:
    import boto3
    from minio import Minio

    sys.path.insert(0, str(ROOT / "tests"))
    from s3server import MotoServer

    paths = []
    for n in range(files):
        path = work / f"f{n}.bin"
        path.write_bytes(os.urandom(mb * 1024 * 1024))
        paths.append(path)
    total = files * mb * 1024 * 1024
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    server = MotoServer(work / "moto.log")
    try:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        client = Minio(server.endpoint.removeprefix("http://"), access_key="bench",
                       secret_key="bench", secure=False, region="us-east-1")
        uploads = {
            "boto3 upload_file": lambda key, path: s3.upload_file(str(path), "bench", key),
            "minio fput_object": lambda key, path: client.fput_object("bench", key, str(path)),
        }
        rates: dict[str, list[float]] = {name: [] for name in uploads}
        cpu: dict[str, list[float]] = {name: [] for name in uploads}
        for attempt in range(repeat):  # interleaved, so load changes hit both alike
            for name, upload in uploads.items():
                own = resource.getrusage(resource.RUSAGE_SELF)
                c0, w0 = own.ru_utime + own.ru_stime, time.perf_counter()
                for path in paths:
                    upload(f"{name.split()[0]}/{attempt}/{path.name}", path)
                wall = time.perf_counter() - w0
                own = resource.getrusage(resource.RUSAGE_SELF)
                rates[name].append(total / wall / 1e6)
                cpu[name].append((own.ru_utime + own.ru_stime - c0) / (total / 1e9))
    finally:
        server.stop()
    return {"bytes": total, "files": files,
            **{name: {"best_mb_s": round(max(r), 1), "median_mb_s": round(statistics.median(r), 1),
                      "client_cpu_s_per_gb": round(statistics.median(cpu[name]), 2)}
               for name, r in rates.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-path", type=Path, required=True,
                        help="folder holding pytesseract and minio (pip install --target)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mb", type=int, default=16)
    args = parser.parse_args(argv)
    sys.path.append(str(args.extra_path))
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cadl-bench-alt-") as tmp:
        work = Path(tmp)
        print("load average before:", load, file=sys.stderr)
        print("tesseract:", tesseract_calls(args.repeat, work))
        print("s3:", s3_clients(min(args.repeat, 3), work, args.files, args.mb))
    print("load average after:", os.getloadavg(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
