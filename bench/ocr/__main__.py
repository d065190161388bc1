"""Time and score three ways of OCRing the same pages, in one run, and write BENCHMARKS.md.

    .venv/bin/python -m bench.ocr [--real N] [--preprocess-variants] [--no-write]

(a) plain `tesseract` CLI, one process per page, `nproc` at a time (OMP_THREAD_LIMIT=1), text
    only, with the item's routed models and tesseract's default page segmentation;
(b) OCRmyPDF (PyPI) `--jobs nproc --output-type pdf --sidecar`, one run per language group;
(c) this pipeline's OCR stage (`ocr.recognize.ocr_item`): ALTO, hOCR, text, search variants,
    quality flags and the item PDF, with the configured preprocessing.

Pages: see `bench.ocr.pages`. Reported: pages/minute (wall clock), CPU seconds per page (this
process and its children), CER per page group, the ratios (c)/(a) and (c)/(b), and the
machine's load (`uptime`) before and after, since the machine is shared.
"""

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import img2pdf
from PIL import Image
from rapidfuzz.distance.Levenshtein import distance as levenshtein

from bench.markdown import write_section
from bench.ocr.pages import ROOT, BenchPage, generated_pages, real_pages
from kernel.languages import tesseract_models
from kernel.settings import Settings
from ingest.models import Item, Page
from ocr.cer import normalize_for_cer
from ocr.recognize import ocr_item
from ocr.tesseract import PSM_HORIZONTAL

COMMAND = ".venv/bin/python -m bench.ocr"


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _language_key(page: BenchPage) -> str:
    return "+".join(page.languages)


def run_a(pages: list[BenchPage], work: Path, jobs: int) -> dict[Path, str]:
    env = {"PATH": os.environ["PATH"], "OMP_THREAD_LIMIT": "1", "LC_ALL": "C.UTF-8"}

    def one(i_page):
        i, page = i_page
        models = tesseract_models(list(page.languages), page.reading_direction)
        out = work / f"a{i:04d}"
        subprocess.run(["tesseract", str(page.image), str(out), "-l", "+".join(models), "txt"],
                       env=env, check=True, capture_output=True)
        return page.image, (out.with_suffix(".txt")).read_text("utf-8")

    with ThreadPoolExecutor(jobs) as pool:
        return dict(pool.map(one, enumerate(pages)))


def _groups(pages: list[BenchPage]) -> dict[tuple, list[BenchPage]]:
    groups: dict[tuple, list[BenchPage]] = defaultdict(list)
    for page in pages:
        groups[(page.languages, page.reading_direction)].append(page)
    return groups


def run_b(pages: list[BenchPage], work: Path, jobs: int) -> dict[Path, str]:
    texts = {}
    for n, ((languages, direction), group) in enumerate(_groups(pages).items()):
        models = tesseract_models(list(languages), direction)
        src, out, sidecar = work / f"b{n}-in.pdf", work / f"b{n}-out.pdf", work / f"b{n}.txt"
        src.write_bytes(img2pdf.convert([str(p.image) for p in group]))
        subprocess.run([str(Path(sys.executable).with_name("ocrmypdf")), "--jobs", str(jobs),
                        "-l", "+".join(models), "--output-type", "pdf", "--sidecar",
                        str(sidecar), "--quiet", str(src), str(out)],
                       check=True, capture_output=True)
        for page, text in zip(group, sidecar.read_text("utf-8").split("\f")):
            texts[page.image] = text
    return texts


def _item(item_id: str, languages, direction: str, group: list[BenchPage], root: Path) -> Item:
    pages = []
    for seq, bench_page in enumerate(group, start=1):
        with Image.open(bench_page.image) as im:
            dpi = im.info.get("dpi", (None,))[0]
            pages.append(Page(seq=seq, original_name=bench_page.image.name,
                              path=os.path.relpath(bench_page.image, root),
                              sha512=hashlib.sha512(bench_page.image.read_bytes()).hexdigest(),
                              size=bench_page.image.stat().st_size, format=im.format,
                              mimetype=Image.MIME[im.format], width=im.width,
                              height=im.height, dpi=float(dpi) if dpi else None))
    return Item(item_id=item_id, row=2, languages=list(languages), title=item_id,
                reading_direction=direction, pages=pages)


def run_c(pages: list[BenchPage], work: Path, jobs: int, preprocess: str | None) -> dict[Path, str]:
    settings = Settings(ocr_workers=jobs,
                        **({"ocr_preprocess": preprocess} if preprocess is not None else {}))
    texts = {}
    for n, ((languages, direction), group) in enumerate(_groups(pages).items()):
        item = _item(f"bench-{n}", languages, direction, group, Path("/"))
        record = ocr_item(item, Path("/"), work / item.item_id, settings)
        for page, result in zip(group, record.pages):
            texts[page.image] = (work / item.item_id / result.text).read_text("utf-8")
    return texts


def measure(name: str, run, pages: list[BenchPage]) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-ocr-{name}-") as tmp:
        cpu0, wall0 = _cpu(), time.perf_counter()
        texts = run(Path(tmp))
        wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    scores: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for page in pages:
        ref, hyp = normalize_for_cer(page.truth), normalize_for_cer(texts[page.image])
        scores[page.group][0] += levenshtein(ref, hyp)
        scores[page.group][1] += len(ref)
    return {"name": name, "pages": len(pages), "wall_s": round(wall, 2),
            "pages_per_min": round(60 * len(pages) / wall, 1),
            "cpu_s_per_page": round(cpu / len(pages), 2),
            "cer": {g: round(e / n, 4) for g, (e, n) in sorted(scores.items())}}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render(results: list[dict], variants: list[dict], load_before: str, load_after: str,
           jobs: int, tesseract_version: str, args: argparse.Namespace) -> str:
    a, b, c = results
    lines = [
        f"Run on this machine ({jobs} cores, tesseract {tesseract_version}, "
        f"models: {os.environ.get('CADL_TESSDATA_DIR') or 'Debian packages'}), "
        f"{a['pages']} pages. Load (`uptime`) before: `{load_before}`; after: `{load_after}`.",
        "",
        f"(c) used `CADL_OCR_PREPROCESS={Settings().ocr_preprocess}` and page segmentation "
        f"mode {PSM_HORIZONTAL}; (a) and (b) tesseract's defaults (mode 3, Otsu), same models.",
        "",
        f"Reproduce: `{COMMAND}{f' --real {args.real}' if args.real is not None else ''}"
        f"{' --preprocess-variants' if args.preprocess_variants else ''}`",
        "",
        "| run | pages/min | CPU s/page | wall s |",
        "|---|---:|---:|---:|",
    ]
    labels = {"a": "(a) tesseract CLI, text only", "b": "(b) OCRmyPDF, PDF + sidecar",
              "c": "(c) OCR stage, all outputs"}
    for r in results:
        lines.append(f"| {labels[r['name']]} | {r['pages_per_min']} | {r['cpu_s_per_page']} | "
                     f"{r['wall_s']} |")
    lines += ["", f"(c)/(a) pages/min: **{c['pages_per_min'] / a['pages_per_min']:.2f}**; "
              f"(c)/(b): **{c['pages_per_min'] / b['pages_per_min']:.2f}**; "
              f"CPU s/page (c)/(a): {c['cpu_s_per_page'] / a['cpu_s_per_page']:.2f}.", "",
              "| CER by page group | (a) | (b) | (c) | (c)/(a) |", "|---|---:|---:|---:|---:|"]
    for group in a["cer"]:
        ratio = c["cer"][group] / a["cer"][group] if a["cer"][group] else float("nan")
        lines.append(f"| {group} | {_pct(a['cer'][group])} | {_pct(b['cer'][group])} | "
                     f"{_pct(c['cer'][group])} | {ratio:.2f} |")
    if variants:
        lines += ["", "Preprocessing of the OCR copy, CER of (c) per setting of "
                  "`CADL_OCR_PREPROCESS` (same pages):", "",
                  "| group | " + " | ".join(f"`{v['preprocess'] or '(none)'}`" for v in variants)
                  + " |", "|---|" + "---:|" * len(variants)]
        for group in a["cer"]:
            lines.append(f"| {group} | " + " | ".join(_pct(v["cer"][group]) for v in variants)
                         + " |")
        lines += ["", "| pages/min | " + " | ".join(str(v["pages_per_min"]) for v in variants)
                  + " |"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=int, default=None,
                        help="use only the first N real scans of ../shared/ocr-gt (default all)")
    parser.add_argument("--preprocess-variants", action="store_true",
                        help="also run (c) with each preprocessing setting, for CER per step")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args(argv)
    from ocr import tesseract
    for tool in ("tesseract", "ocrmypdf" if shutil.which("ocrmypdf") else None):
        if tool and shutil.which(tool) is None:
            parser.error(f"{tool} is not installed")
    jobs = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-ocr-pages-") as tmp:
        pages = generated_pages(Path(tmp)) + real_pages(args.real)
        print(f"{len(pages)} pages; running (a), (b), (c) with {jobs} jobs", file=sys.stderr)
        load_before = _uptime()
        results = [
            measure("a", lambda w: run_a(pages, w, jobs), pages),
            measure("b", lambda w: run_b(pages, w, jobs), pages),
            measure("c", lambda w: run_c(pages, w, jobs, None), pages),
        ]
        load_after = _uptime()
        variants = []
        if args.preprocess_variants:
            for setting in ("", "rescale", "rescale,denoise", "rescale,binarize",
                            "rescale,denoise,binarize"):
                result = measure("c", lambda w: run_c(pages, w, jobs, setting), pages)
                variants.append({**result, "preprocess": setting})
                print(f"  preprocess {setting!r}: {result['cer']}", file=sys.stderr)
    section = render(results, variants, load_before, load_after, jobs, tesseract.version(), args)
    print(section)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ocr.json").write_text(json.dumps({"results": results, "variants": variants,
                                              "load_before": load_before,
                                              "load_after": load_after}, indent=2))
    if not args.no_write:
        write_section("ocr", "OCR", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
