"""OCR stage: recognise every page of an item and write ALTO, hOCR, text and a searchable PDF.

This module only orchestrates: tesseract and qpdf are called through their wrappers, text cleanup
lives in `ocr.text`. Pages run in parallel, one single-threaded tesseract per worker (see
`ocr.tesseract` for why), and everything is written into a staging folder that is renamed to
`out_dir` at the end, so a killed task never leaves a folder that looks finished.
"""

import hashlib
import logging
import os
import shutil
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lxml import etree

from cadl.languages import tesseract_models
from cadl.settings import Settings
from ingest.models import Item, Page
from ocr import qpdf, tesseract
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


def alto_word_stats(alto: Path) -> tuple[float | None, int]:
    """(mean word confidence 0–100, word count) from an ALTO file's <String WC="0.93">."""
    tree = etree.parse(str(alto))
    confidences = []
    words = 0
    for string in tree.iter("{*}String"):
        words += 1
        if string.get("WC") is not None:
            confidences.append(float(string.get("WC")) * 100)
    mean = round(sum(confidences) / len(confidences), 2) if confidences else None
    return mean, words


def _nfc_file(src: Path, dst: Path) -> None:
    """Copy a UTF-8 file NFC-normalised (tesseract's ALTO/hOCR are otherwise left as written)."""
    dst.write_text(unicodedata.normalize("NFC", src.read_text(encoding="utf-8")), encoding="utf-8")


def _ocr_page(page: Page, image: Path, staging: Path, models: list[str], psm: int,
              settings: Settings, item_id: str) -> tuple[PageOcr, Path]:
    raw_dir = staging / ".raw"
    log.info("OCR item %s page %s (%s) with %s", item_id, page.seq, page.path, "+".join(models))
    raw = tesseract.recognize(image, raw_dir / page.stem, models,
                              tessdata_dir=settings.tessdata_dir,
                              timeout=settings.tesseract_timeout, psm=psm)
    names = {"text": f"{page.stem}.txt", "alto": f"{page.stem}.alto.xml",
             "hocr": f"{page.stem}.hocr"}
    (staging / names["text"]).write_text(
        clean_text(raw["txt"].read_text(encoding="utf-8")), encoding="utf-8"
    )
    _nfc_file(raw["alto"], staging / names["alto"])
    _nfc_file(raw["hocr"], staging / names["hocr"])
    mean, words = alto_word_stats(staging / names["alto"])
    return PageOcr(seq=page.seq, stem=page.stem, mean_confidence=mean, word_count=words,
                   **names), raw["pdf"]


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

    Writes per page `<stem>.txt` (clean UTF-8 NFC text), `<stem>.alto.xml`, `<stem>.hocr`, per
    item `<item_id>.pdf` and `ocr.json` (the returned ItemOcr). Raises ToolMissing, ToolFailed,
    ToolTimeout from the wrappers, naming the page that failed; on any error `out_dir` is left
    as it was.
    """
    batch_dir, out_dir = Path(batch_dir), Path(out_dir)
    if not item.pages:
        raise ValueError(f"item {item.item_id} has no pages to OCR")
    models = tesseract_models(item.languages, item.reading_direction)
    psm = tesseract.page_segmentation(models)
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
                lambda p: _ocr_page(p, batch_dir / p.path, staging, models, psm, settings,
                                    item.item_id),
                pages,
            ))
        pdf_name = f"{item.item_id}.pdf"
        qpdf.merge([pdf for _, pdf in results], staging / pdf_name)
        shutil.rmtree(staging / ".raw")
        record = ItemOcr(item_id=item.item_id, engine_version=engine_version, models=used,
                         page_segmentation=psm, pages=[page for page, _ in results], pdf=pdf_name)
        (staging / OCR_RECORD).write_text(record.model_dump_json(indent=2) + "\n",
                                          encoding="utf-8")
        _commit(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("OCR item %s: %d pages into %s", item.item_id, len(record.pages), out_dir)
    return record
