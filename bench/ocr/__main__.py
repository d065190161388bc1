"""Time and score three ways of OCRing the same pages, in one run, and write BENCHMARKS.md.

    .venv/bin/python -m bench.ocr [--pages N] [--real N] [--preprocess-variants] [--no-write]

(a) plain `tesseract` CLI, one process per page, `nproc` at a time (OMP_THREAD_LIMIT=1), text
    only, with the language's tesseract models and tesseract's default page segmentation;
(b) OCRmyPDF (PyPI) `--jobs nproc --output-type pdf --sidecar`, one run per page group;
(c) this pipeline's OCR stage (`ocr.recognize.ocr_item`): the configured engines (PP-OCR for
    Chinese, tesseract for Arabic, per line on bilingual pages), ALTO, hOCR, text, search
    variants, quality flags and the item PDF, with the configured preprocessing;
(c') the pipeline with vertical Chinese on tesseract's `_vert` models instead, for the routing
    decision of vertical books.

Pages: see `bench.ocr.pages`: per language (Simplified, Traditional, vertical Traditional,
Arabic, bilingual Arabic + Chinese) clean and degraded renderings, plus real Arabic scans.
Every run is measured per page group, so CER and CPU seconds per page (this process and its
children: all threads and all tesseract processes) are side by side for each kind of page.
The machine is shared: the load (`uptime`) before and after is reported, and the comparison
that holds is between runs of the same group in the same run.
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
from bench.ocr.pages import ROOT, BenchPage, generated_pages, real_pages, vertical_pages
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


def run_c(pages: list[BenchPage], work: Path, jobs: int, preprocess: str | None,
          engines: str | None = None) -> dict[Path, str]:
    settings = Settings(ocr_workers=jobs,
                        **({"ocr_preprocess": preprocess} if preprocess is not None else {}),
                        **({"ocr_engines": engines} if engines is not None else {}))
    texts = {}
    for n, ((languages, direction), group) in enumerate(_groups(pages).items()):
        item = _item(f"bench-{n}", languages, direction, group, Path("/"))
        record = ocr_item(item, Path("/"), work / item.item_id, settings)
        for page, result in zip(group, record.pages):
            texts[page.image] = (work / item.item_id / result.text).read_text("utf-8")
    return texts


def measure(name: str, run, pages: list[BenchPage]) -> dict:
    """Run `run` on each page group separately; CER, CPU s/page and wall time per group."""
    out = {"name": name, "pages": len(pages), "groups": {}}
    groups: dict[str, list[BenchPage]] = defaultdict(list)
    for page in pages:
        groups[page.group].append(page)
    for group, members in groups.items():
        with tempfile.TemporaryDirectory(prefix=f"bench-ocr-{name}-") as tmp:
            cpu0, wall0 = _cpu(), time.perf_counter()
            texts = run(members, Path(tmp))
            wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
        errors = chars = 0
        for page in members:
            ref, hyp = normalize_for_cer(page.truth), normalize_for_cer(texts[page.image])
            errors += levenshtein(ref, hyp)
            chars += len(ref)
        out["groups"][group] = {"pages": len(members), "cer": round(errors / chars, 4),
                                "cpu_s_per_page": round(cpu / len(members), 2),
                                "wall_s": round(wall, 2)}
        print(f"  ({name}) {group}: CER {errors / chars:.4f}, CPU {cpu / len(members):.2f} "
              "s/page", file=sys.stderr)
    total_cpu = sum(g["cpu_s_per_page"] * g["pages"] for g in out["groups"].values())
    out["cpu_s_per_page"] = round(total_cpu / len(pages), 2)
    out["cer"] = {g: v["cer"] for g, v in out["groups"].items()}
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render(results: list[dict], variants: list[dict], load_before: str, load_after: str,
           jobs: int, tesseract_version: str, args: argparse.Namespace) -> str:
    from ocr import ppocr

    a, b, c, v = results
    settings = Settings()
    lines = [
        f"Run on this machine ({jobs} cores shared with other work, tesseract "
        f"{tesseract_version}, {ppocr.version()}, tesseract models: "
        f"{os.environ.get('CADL_TESSDATA_DIR') or 'Debian packages (fast)'}), {a['pages']} "
        f"pages. Load (`uptime`) before: `{load_before}`; after: `{load_after}`.",
        "",
        f"(c) is the pipeline as configured: `CADL_OCR_ENGINES={settings.ocr_engines}`, "
        f"`CADL_OCR_PREPROCESS={settings.ocr_preprocess}`; (c') the same with "
        "`zh-Hant/ttb=tesseract` (vertical books on `chi_tra_vert`). (a) and (b) run tesseract "
        f"with the language's models and its defaults (page segmentation {PSM_HORIZONTAL}, Otsu). "
        "CPU s/page counts this process and its children (threads, tesseract processes), per "
        "page group; the machine was loaded by other work, so compare columns of one row.",
        "",
        f"Reproduce: `{COMMAND} --pages {args.pages}"
        f"{f' --real {args.real}' if args.real is not None else ''}"
        f"{' --preprocess-variants' if args.preprocess_variants else ''}`",
        "",
        "| page group | pages | (a) tesseract CER | (a) CPU s/p | (b) OCRmyPDF CER | "
        "(b) CPU s/p | (c) pipeline CER | (c) CPU s/p | (c') vertical on `_vert` CER |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for group, ga in a["groups"].items():
        gb, gc = b["groups"][group], c["groups"][group]
        gv = v["groups"].get(group)
        lines.append(f"| {group} | {ga['pages']} | {_pct(ga['cer'])} | {ga['cpu_s_per_page']} | "
                     f"{_pct(gb['cer'])} | {gb['cpu_s_per_page']} | **{_pct(gc['cer'])}** | "
                     f"{gc['cpu_s_per_page']} | {_pct(gv['cer']) if gv else ''} |")
    lines += ["", f"All pages, CPU s/page: (a) {a['cpu_s_per_page']}, (b) {b['cpu_s_per_page']}, "
              f"(c) {c['cpu_s_per_page']}."]
    if variants:
        lines += ["", "Preprocessing of the OCR copy, CER of (c) per setting of "
                  "`CADL_OCR_PREPROCESS` (same pages):", "",
                  "| group | " + " | ".join(f"`{v['preprocess'] or '(none)'}`" for v in variants)
                  + " |", "|---|" + "---:|" * len(variants)]
        for group in a["cer"]:
            lines.append(f"| {group} | " + " | ".join(_pct(v["cer"][group]) for v in variants)
                         + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=int, default=None,
                        help="use only the first N real scans of ../shared/ocr-gt (default all)")
    parser.add_argument("--pages", type=int, default=2,
                        help="generated pages per language and kind (default 2)")
    parser.add_argument("--preprocess-variants", action="store_true",
                        help="also run (c) with each preprocessing setting, for CER per step")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args(argv)
    from ocr import tesseract
    for tool in ("tesseract", "ocrmypdf" if shutil.which("ocrmypdf") else None):
        if tool and shutil.which(tool) is None:
            parser.error(f"{tool} is not installed")
    jobs = os.cpu_count() or 1
    vertical_engines = Settings().ocr_engines + "; zh-Hant/ttb=tesseract; zh-Hans/ttb=tesseract"
    with tempfile.TemporaryDirectory(prefix="bench-ocr-pages-") as tmp:
        pages = (generated_pages(Path(tmp), args.pages) + vertical_pages(Path(tmp), args.pages)
                 + real_pages(args.real))
        vertical = [p for p in pages if p.reading_direction == "ttb"]
        print(f"{len(pages)} pages; running (a), (b), (c), (c') with {jobs} jobs", file=sys.stderr)
        load_before = _uptime()
        results = [
            measure("a", lambda ps, w: run_a(ps, w, jobs), pages),
            measure("b", lambda ps, w: run_b(ps, w, jobs), pages),
            measure("c", lambda ps, w: run_c(ps, w, jobs, None), pages),
            measure("v", lambda ps, w: run_c(ps, w, jobs, None, vertical_engines), vertical),
        ]
        load_after = _uptime()
        variants = []
        if args.preprocess_variants:
            for setting in ("", "rescale", "rescale,denoise", "rescale,binarize",
                            "rescale,denoise,binarize"):
                result = measure("c", lambda ps, w: run_c(ps, w, jobs, setting), pages)
                variants.append({**result, "preprocess": setting})
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
