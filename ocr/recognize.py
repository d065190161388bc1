"""OCR stage: recognise every page of an item and write ALTO, hOCR, text and a searchable PDF.

This module only orchestrates: `ocr.routing` decides which engine reads which page or line
(tesseract through `ocr.engines`, PP-OCR through `ocr.ppocr`), the OCR copy is made by
`ocr.preprocess`, and every output is written from the page's one recognition result
(`ocr.result`): text (`page_text`), ALTO (`ocr.alto`), hOCR (`ocr.hocr`) and the item PDF's
text layer (`ocr.pdf`). Page checks are in `ocr.quality`, search variants in `ocr.search`.
Pages run in parallel threads, `CADL_OCR_WORKERS` of them: each runs one single-threaded
tesseract process, or calls the process's one PP-OCR instance (see `ocr.ppocr` for why one
instance serves all threads). Everything is written into a staging folder renamed to `out_dir`
at the end, so a killed task never leaves a folder that looks finished.
"""

import logging
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


from kernel.paths import inside
from kernel.settings import Settings
from ingest.images import use_pixel_limit
from ingest.models import Item, Page
from ocr import pdf as item_pdf
from ocr import preprocess, quality, routing, search
from ocr.alto import to_alto
from ocr.hocr import to_hocr
from ocr.models import ItemOcr, PageOcr
from ocr.result import PageResult, page_text

log = logging.getLogger(__name__)

OCR_RECORD = "ocr.json"


def preprocess_steps(settings: Settings, languages: list[str]) -> list[str]:
    """The `ocr.preprocess` steps for an item in `languages` (see `preprocess.steps_for`)."""
    return preprocess.steps_for(settings.ocr_preprocess, languages)


def item_plan(item: Item, settings: Settings, steps: list[str]) -> routing.Plan:
    """How the item's pages are read (engines per language and direction, tesseract models)."""
    return routing.plan(item.languages, item.reading_direction, settings.ocr_engines,
                        tessdata_dir=settings.tessdata_dir, timeout=settings.tesseract_timeout,
                        config=preprocess.engine_config(steps))


def _ocr_page(page: Page, image: Path, staging: Path, plan: routing.Plan, software,
              settings: Settings, item: Item, steps: list[str]) -> tuple[PageOcr, PageResult]:
    raw_dir = staging / ".raw" / page.stem
    raw_dir.mkdir(parents=True)
    log.info("OCR item %s page %s (%s) with %s", item.item_id, page.seq, page.path,
             "+".join(plan.engine_names))
    copy, scale = preprocess.ocr_copy(image, raw_dir, steps)
    result = routing.recognize_page(plan, copy, raw_dir)
    names = {"text": f"{page.stem}.txt", "alto": f"{page.stem}.alto.xml",
             "hocr": f"{page.stem}.hocr"}
    text = page_text(result)
    (staging / names["text"]).write_text(text, encoding="utf-8")
    used = result.engines() or plan.engine_names[:1]
    (staging / names["alto"]).write_bytes(
        to_alto(result, page.seq, [s for s in software if s[0] in {_SOFTWARE[e] for e in used}]))
    (staging / names["hocr"]).write_bytes(
        to_hocr(result, "; ".join(f"{n} {v}" for n, v, _ in software)))
    confidences = [100 * w.confidence for w in result.words if w.confidence is not None]
    check = quality.assess(text, confidences, item.languages,
                           min_confidence=settings.ocr_min_confidence,
                           max_low_share=settings.ocr_max_low_confidence_share)
    if check.flags:
        log.warning("OCR item %s page %s (%s) flagged: %s", item.item_id, page.seq, page.path,
                    ", ".join(check.flags))
    variant = search.search_text(text, item.languages)
    search_name = f"{page.stem}.search.txt" if variant is not None else None
    if search_name:
        (staging / search_name).write_text(variant, encoding="utf-8")
    by_engine: dict[str, int] = {}
    for line in result.lines:
        by_engine[line.engine] = by_engine.get(line.engine, 0) + 1
    return PageOcr(seq=page.seq, stem=page.stem, mean_confidence=check.mean_confidence,
                   word_count=check.word_count, low_confidence_share=check.low_confidence_share,
                   scripts=check.scripts, script_match=check.script_match, flags=check.flags,
                   review=bool(check.flags), search=search_name, ocr_scale=round(scale, 6),
                   lines_by_engine=by_engine, **names), result


# Engine name → the software name written in ALTO's Description.
_SOFTWARE = {"tesseract": "tesseract", "ppocr": "rapidocr"}


def _software(engines) -> list[tuple[str, str, str]]:
    """(name, version, settings) per engine, for ALTO Processing and the hOCR ocr-system."""
    out = []
    for engine in engines:
        models = ", ".join(m.name for m in engine.models)
        if engine.name == "ppocr":
            out.append(("rapidocr", engine.version.split(",")[0].split()[-1],
                        f"PP-OCR ({engine.version}); models {models}"))
        else:
            out.append(("tesseract", engine.version, f"models {models}"))
    return out


def _commit(staging: Path, out_dir: Path) -> None:
    """Replace `out_dir` by `staging` (an earlier result is removed only once the new is whole)."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
        out_dir.rename(old)
    staging.rename(out_dir)
    if old is not None:
        shutil.rmtree(old)


def ocr_item(item: Item, batch_dir: Path, out_dir: Path, settings: Settings) -> ItemOcr:
    """OCR all pages of `item` (images at `batch_dir / page.path`) into `out_dir`.

    Writes per page `<stem>.txt` (clean UTF-8 NFC text), `<stem>.alto.xml`, `<stem>.hocr`,
    the search variant `<stem>.search.txt` (see `ocr.search`), per item `<item_id>.pdf`
    (see `ocr.pdf`) and `ocr.json` (the returned ItemOcr, with each page's quality flags and
    the engines and models that read it). Raises ToolMissing, ToolFailed, ToolTimeout from the
    engines, naming the page that failed, ValueError for an unknown preprocessing step or a bad
    engine setting; on any error `out_dir` is left as it was.
    """
    batch_dir, out_dir = Path(batch_dir), Path(out_dir)
    use_pixel_limit(settings.max_image_pixels)  # the OCR copy and the PDF read what validation took
    if not item.pages:
        raise ValueError(f"item {item.item_id} has no pages to OCR")
    steps = preprocess_steps(settings, item.languages)
    plan = item_plan(item, settings, steps)
    engines = routing.engines_used(plan)
    software = _software(engines)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}")
    (staging / ".raw").mkdir(parents=True)
    try:
        workers = settings.ocr_workers or os.cpu_count() or 1
        pages = sorted(item.pages, key=lambda p: p.seq)
        with ThreadPoolExecutor(max_workers=min(workers, len(pages))) as pool:
            results = list(pool.map(
                lambda p: _ocr_page(p, inside(batch_dir, p.path), staging, plan, software, settings,
                                    item, steps),
                pages,
            ))
        pdf_name = f"{item.item_id}.pdf"
        item_pdf.build_pdf([(inside(batch_dir, p.path), result)
                            for p, (_, result) in zip(pages, results)], staging / pdf_name,
                           _pdf_info(item))
        shutil.rmtree(staging / ".raw")
        pdfa = _check_pdfa(staging / pdf_name, item.item_id)
        record = ItemOcr(
            item_id=item.item_id, engine="+".join(e.name for e in engines),
            engine_version="+".join(e.version for e in engines),
            models=[m for e in engines for m in e.models],
            page_segmentation=plan.tesseract.psm if plan.tesseract else None,
            engines=engines, pages=[page for page, _ in results], pdf=pdf_name,
            preprocess=steps, min_confidence=settings.ocr_min_confidence,
            max_low_confidence_share=settings.ocr_max_low_confidence_share,
            pdfa_problems=pdfa.problems, pdfa_checker=_pdfa_checker())
        (staging / OCR_RECORD).write_text(record.model_dump_json(indent=2) + "\n",
                                          encoding="utf-8")
        _commit(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("OCR item %s: %d pages into %s", item.item_id, len(record.pages), out_dir)
    return record


def _check_pdfa(path: Path, item_id: str):
    """The item PDF's PDF/A-2b claim checked as far as pikepdf can (ocr.pdfa); a problem is
    logged as a warning and recorded in ocr.json, from which the METS's PREMIS records it."""
    from ocr.pdfa import check_pdfa

    report = check_pdfa(path)
    for problem in report.problems:
        log.warning("item %s: the PDF claims PDF/A-2b but %s", item_id, problem)
    return report


def _pdfa_checker() -> str:
    import pikepdf

    return f"pikepdf {pikepdf.__version__} (qpdf {pikepdf.__libqpdf_version__})"


def _pdf_info(item) -> "item_pdf.PdfInfo":
    """The item PDF's language, direction and XMP facts, from the manifest row."""
    return item_pdf.PdfInfo(
        title=item.title, language=item.primary_language,
        creators=tuple(c.strip() for c in (item.creator or "").split(";") if c.strip()),
        languages=tuple(item.languages),
        right_to_left=item.reading_direction in ("rtl", "ttb"))
