"""Validation and characterization of a batch against the landing-zone contract (docs/batch-format.md).

One pass finds every problem, so a technician fixes a batch once instead of once per error.
Each page is opened and fully decoded here, and its sha512 recorded as received: later stages
trust these facts instead of re-reading the scanner's files.
"""

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ingest.manifest import MANIFEST, read_manifest
from ingest.models import ID_PATTERN, Batch, Item, Page, ValidationReport

log = logging.getLogger(__name__)

READY = "READY"
IMAGE_FORMATS = {  # extension → (format name, MIME type)
    ".tif": ("TIFF", "image/tiff"),
    ".tiff": ("TIFF", "image/tiff"),
    ".jpg": ("JPEG", "image/jpeg"),
    ".jpeg": ("JPEG", "image/jpeg"),
    ".png": ("PNG", "image/png"),
    ".jp2": ("JPEG2000", "image/jp2"),
    ".j2k": ("JPEG2000", "image/jp2"),
}
SYSTEM_FILES = {"thumbs.db", "desktop.ini", ".ds_store"}


def natural_key(name: str) -> list:
    """Sort key that puts page2 before page10, as a person numbering pages expects."""
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r"(\d+)", unicodedata.normalize("NFC", name))]


def sha512_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha512").hexdigest()


def is_ignored(name: str) -> bool:
    """Operating-system clutter (Finder, Explorer) that scanners' copies drag along."""
    return name.startswith(".") or name.lower() in SYSTEM_FILES


def characterize(path: Path, rel: str, seq: int, report: ValidationReport,
                 item_id: str) -> Page | None:
    """Open and fully decode one page image; None (with the problem reported) when unusable."""
    kind = IMAGE_FORMATS.get(path.suffix.lower())
    if kind is None:
        report.add("error", rel, f"unsupported file type {path.suffix or '(no extension)'!r}: "
                   "pages must be TIFF, JPEG, PNG or JPEG 2000", item_id=item_id)
        return None
    size = path.stat().st_size
    if size == 0:
        report.add("error", rel, "file is empty (0 bytes): copy the page again from the scanner",
                   item_id=item_id)
        return None
    try:
        with Image.open(path) as img:
            fmt, width, height = img.format, img.width, img.height
            dpi = img.info.get("dpi", (None,))[0]
            img.load()  # decodes every pixel: truncated files fail here, not in OCR
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        report.add("error", rel, f"not a readable {kind[0]} image ({exc}): rescan or re-export "
                   "the page", item_id=item_id)
        return None
    expected = "JPEG2000" if kind[0] == "JPEG2000" else kind[0]
    if fmt != expected:
        report.add("error", rel, f"file name says {kind[0]} but the content is {fmt}: "
                   "rename it or convert it", item_id=item_id)
        return None
    return Page(
        seq=seq,
        original_name=unicodedata.normalize("NFC", path.name),
        path=rel,
        sha512=sha512_file(path),
        size=size,
        format=kind[0],
        mimetype=kind[1],
        width=width,
        height=height,
        dpi=float(dpi) if dpi else None,
    )


def _read_pages(batch_dir: Path, item: Item, report: ValidationReport) -> None:
    folder = batch_dir / item.item_id
    names = []
    for entry in folder.iterdir():
        rel = f"{item.item_id}/{entry.name}"
        if is_ignored(entry.name):
            report.add("notice", rel, "system or hidden file ignored", item_id=item.item_id)
        elif entry.is_dir():
            report.add("error", rel, "sub-folders are not allowed inside an item folder: "
                       "put the page images directly in it", item_id=item.item_id)
        else:
            names.append(entry.name)
    if not names:
        report.add("error", item.item_id + "/", "item folder has no page images",
                   item_id=item.item_id)
        return
    for seq, name in enumerate(sorted(names, key=natural_key), start=1):
        page = characterize(folder / name, f"{item.item_id}/{name}", seq, report, item.item_id)
        if page is not None:
            item.pages.append(page)


def validate_batch(batch_dir: Path) -> ValidationReport:
    """Check a batch folder against the contract and characterize every page.

    Returns a report listing every problem (errors, warnings, notices) and the parsed batch.
    Never raises for bad content and never writes to the batch folder.
    """
    batch_dir = Path(batch_dir).absolute()
    report = ValidationReport(batch_dir=str(batch_dir))
    if not batch_dir.is_dir():
        report.add("error", "", f"batch folder {batch_dir} does not exist")
        return report
    if not ID_PATTERN.match(batch_dir.name):
        report.add("error", "", f"batch folder name {batch_dir.name!r} is not a valid batch_id: "
                   "1–64 characters of A-Z a-z 0-9 . _ - (not starting with a dot)")
    if not (batch_dir / READY).is_file():
        report.add("warning", READY, "no READY marker: the pipeline will not take this batch "
                   "until an empty READY file is written, last")
    items = read_manifest(batch_dir, report)
    listed = {item.item_id for item in items}
    for entry in sorted(batch_dir.iterdir(), key=lambda p: p.name):
        if entry.name in (MANIFEST, READY):
            continue
        if is_ignored(entry.name):
            report.add("notice", entry.name, "system or hidden file ignored")
        elif entry.is_dir() and entry.name not in listed:
            report.add("error", entry.name + "/", "folder has no row in manifest.csv: add a "
                       "row for it or move it out of the batch", item_id=None)
        elif not entry.is_dir():
            report.add("warning", entry.name, "unexpected file at the top of the batch; "
                       "it is not part of any item and is ignored")
    for item in items:
        if not (batch_dir / item.item_id).is_dir():
            report.add("error", MANIFEST, f"no folder {item.item_id}/ for this row",
                       row=item.row, item_id=item.item_id)
        elif ID_PATTERN.match(item.item_id):
            _read_pages(batch_dir, item, report)
    manifest = batch_dir / MANIFEST
    report.batch = Batch(
        batch_id=batch_dir.name,
        path=str(batch_dir),
        received_at=dt.datetime.now(dt.timezone.utc),
        manifest_sha512=sha512_file(manifest) if manifest.is_file() else "",
        items=items,
    )
    log.info("validated batch %s: %d items, %d errors", batch_dir.name, len(items),
             len(report.errors))
    return report
