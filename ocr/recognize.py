"""OCR stage: recognise every page of an item and write ALTO, hOCR, text and a searchable PDF.

This module only orchestrates: tesseract is called through its wrapper, the OCR copy is made by
`ocr.preprocess`, text cleanup lives in `ocr.text`, the PDF in `ocr.pdf`, page checks in
`ocr.quality`, search variants in `ocr.search`. Each page is recognised exactly once: tesseract
writes ALTO, hOCR and text in one run, and the item's PDF text layer is built from that hOCR.
Pages run in parallel, one single-threaded tesseract per worker (see `ocr.tesseract` for why),
and everything is written into a staging folder that is renamed to `out_dir` at the end, so a
killed task never leaves a folder that looks finished.
"""

import hashlib
import logging
import os
import shutil
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


from kernel.paths import inside
from kernel.languages import tesseract_models
from kernel.settings import Settings
from ingest.images import use_pixel_limit
from ingest.models import Item, Page
from ocr import pdf as item_pdf
from ocr import alto, preprocess, quality, search, tesseract
from ocr.models import ItemOcr, ModelUsed, PageOcr
from ocr.text import clean_text

log = logging.getLogger(__name__)

OCR_RECORD = "ocr.json"


def sha512_file(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _nfc_file(src: Path, dst: Path) -> None:
    """Copy a UTF-8 file NFC-normalised (tesseract's ALTO/hOCR are otherwise left as written)."""
    dst.write_text(unicodedata.normalize("NFC", src.read_text(encoding="utf-8")), encoding="utf-8")


def preprocess_steps(settings: Settings, languages: list[str]) -> list[str]:
    """The `ocr.preprocess` steps for an item in `languages` (see `preprocess.steps_for`)."""
    return preprocess.steps_for(settings.ocr_preprocess, languages)


def _ocr_page(page: Page, image: Path, staging: Path, models: list[str], psm: int,
              settings: Settings, item: Item, steps: list[str]) -> tuple[PageOcr, Path]:
    raw_dir = staging / ".raw" / page.stem
    raw_dir.mkdir(parents=True)
    log.info("OCR item %s page %s (%s) with %s", item.item_id, page.seq, page.path,
             "+".join(models))
    copy, scale = preprocess.ocr_copy(image, raw_dir, steps)
    raw = tesseract.recognize(copy, raw_dir / page.stem, models,
                              tessdata_dir=settings.tessdata_dir,
                              timeout=settings.tesseract_timeout, psm=psm,
                              outputs=("alto", "hocr", "txt"),
                              config=preprocess.engine_config(steps))
    names = {"text": f"{page.stem}.txt", "alto": f"{page.stem}.alto.xml",
             "hocr": f"{page.stem}.hocr"}
    text = clean_text(raw["txt"].read_text(encoding="utf-8"))
    (staging / names["text"]).write_text(text, encoding="utf-8")
    # ALTO 4.4 with right-to-left (or top-to-bottom) lines marked, NFC like the other files.
    raw["alto"].write_bytes(alto.with_base_direction(raw["alto"].read_bytes(),
                                                     psm == tesseract.PSM_VERTICAL))
    _nfc_file(raw["alto"], staging / names["alto"])
    _nfc_file(raw["hocr"], staging / names["hocr"])
    check = quality.assess(
        text, quality.alto_confidences((staging / names["alto"]).read_bytes()), item.languages,
        min_confidence=settings.ocr_min_confidence,
        max_low_share=settings.ocr_max_low_confidence_share)
    if check.flags:
        log.warning("OCR item %s page %s (%s) flagged: %s", item.item_id, page.seq, page.path,
                    ", ".join(check.flags))
    variant = search.search_text(text, item.languages)
    search_name = f"{page.stem}.search.txt" if variant is not None else None
    if search_name:
        (staging / search_name).write_text(variant, encoding="utf-8")
    return PageOcr(seq=page.seq, stem=page.stem, mean_confidence=check.mean_confidence,
                   word_count=check.word_count, low_confidence_share=check.low_confidence_share,
                   scripts=check.scripts, script_match=check.script_match, flags=check.flags,
                   review=bool(check.flags), search=search_name, ocr_scale=round(scale, 6),
                   **names), staging / names["hocr"]


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
    (built from the hOCR, see `ocr.pdf`) and `ocr.json` (the returned ItemOcr, with each page's
    quality flags). Raises ToolMissing, ToolFailed, ToolTimeout from the wrappers, naming the
    page that failed, ValueError for an unknown preprocessing step; on any error `out_dir` is
    left as it was.
    """
    batch_dir, out_dir = Path(batch_dir), Path(out_dir)
    use_pixel_limit(settings.max_image_pixels)  # the OCR copy and the PDF read what validation took
    if not item.pages:
        raise ValueError(f"item {item.item_id} has no pages to OCR")
    models = tesseract_models(item.languages, item.reading_direction)
    psm = tesseract.page_segmentation(models)
    steps = preprocess_steps(settings, item.languages)
    used = [ModelUsed(name=m, sha512=sha512_file(tesseract.model_file(m, settings.tessdata_dir)))
            for m in models]
    engine_version = tesseract.version()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}")
    (staging / ".raw").mkdir(parents=True)
    try:
        workers = settings.ocr_workers or os.cpu_count() or 1
        pages = sorted(item.pages, key=lambda p: p.seq)
        with ThreadPoolExecutor(max_workers=min(workers, len(pages))) as pool:
            results = list(pool.map(
                lambda p: _ocr_page(p, inside(batch_dir, p.path), staging, models, psm, settings,
                                    item, steps),
                pages,
            ))
        pdf_name = f"{item.item_id}.pdf"
        item_pdf.build_pdf([(inside(batch_dir, p.path), hocr)
                            for p, (_, hocr) in zip(pages, results)], staging / pdf_name)
        shutil.rmtree(staging / ".raw")
        record = ItemOcr(item_id=item.item_id, engine_version=engine_version, models=used,
                         page_segmentation=psm, pages=[page for page, _ in results], pdf=pdf_name,
                         preprocess=steps, min_confidence=settings.ocr_min_confidence,
                         max_low_confidence_share=settings.ocr_max_low_confidence_share)
        (staging / OCR_RECORD).write_text(record.model_dump_json(indent=2) + "\n",
                                          encoding="utf-8")
        _commit(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("OCR item %s: %d pages into %s", item.item_id, len(record.pages), out_dir)
    return record
