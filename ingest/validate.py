"""Validation and characterization of a batch against the landing-zone contract (docs/batch-format.md).

One pass finds every problem, so a technician fixes a batch once instead of once per error.
Each page is opened and fully decoded here, and its sha512 recorded as received: later stages
trust these facts instead of re-reading the scanner's files.
"""

import datetime as dt
import hashlib
import logging
import os
import re
import stat
import unicodedata
from pathlib import Path

from kernel.errors import UnsafePath
from kernel.ids import ID_RULE, is_valid_id
from kernel.paths import inside
from kernel.settings import Settings, get_settings
from ingest.catalogue import RECORD_FILES, attach_records
from ingest.characterize import characterize_file
from ingest.manifest import MANIFEST, read_manifest
from ingest.serials import check_hierarchy
from ingest.models import Batch, Item, Page, ValidationReport

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
# Bidi embeddings, overrides and isolates: they reorder how a name is displayed.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


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


def name_problem(name: str) -> str | None:
    """What is wrong with a file or folder name, or None when it is acceptable.

    Any script is welcome (Arabic, Chinese, ZWJ/ZWNJ for Persian and Urdu shaping), but not
    control characters, which terminals and XML cannot show, nor bidi overrides, which make
    a name display as something it is not.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "name is not valid UTF-8: rename it on the scanner station (UTF-8 names only)"
    bad = [ch for ch in name if unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS]
    if bad:
        codes = ", ".join(sorted({f"U+{ord(ch):04X}" for ch in bad}))
        return f"name contains control character(s) {codes}: rename the file"
    return None


def _entry_problem(entry: Path, batch_dir: Path) -> str | None:
    """Symlinks, special files and anything resolving outside the batch are refused."""
    if entry.is_symlink():
        return (f"is a symbolic link (to {os.readlink(entry)!r}): copy the real file into the "
                "batch instead")
    try:
        entry.resolve(strict=True).relative_to(batch_dir.resolve())
    except (ValueError, OSError):
        return "resolves outside the batch folder: copy the real file into the batch"
    mode = entry.lstat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "is not a regular file (a device, pipe or socket): remove it from the batch"
    return None


def characterize(path: Path, rel: str, seq: int, report: ValidationReport,
                 item_id: str, settings: Settings) -> Page | None:
    """Identify and fully decode one page image; None (with the problem reported) when unusable."""
    kind = IMAGE_FORMATS.get(path.suffix.lower())
    if kind is None:
        report.add("error", rel, f"unsupported file type {path.suffix or '(no extension)'!r}: "
                   "pages must be TIFF, JPEG, PNG or JPEG 2000", item_id=item_id)
        return None
    result = characterize_file(path, settings.max_image_pixels)
    if isinstance(result, str):
        report.add("error", rel, result, item_id=item_id)
        return None
    if result.format != kind[0]:
        report.add("error", rel, f"file name says {kind[0]} but the content is {result.format}: "
                   "rename it or convert it", item_id=item_id)
        return None
    dpi = min(filter(None, (result.x_resolution, result.y_resolution)), default=None)
    if dpi is None:
        report.add(settings.low_dpi_severity, rel, "no resolution recorded in the file: set "
                   f"the scanner to write it (at least {settings.min_dpi:g} ppi)",
                   item_id=item_id)
    elif dpi < settings.min_dpi:
        report.add(settings.low_dpi_severity, rel, f"resolution {dpi:g} ppi is under the "
                   f"minimum of {settings.min_dpi:g} ppi (CADL_MIN_DPI): rescan at a higher "
                   "resolution", item_id=item_id)
    return Page(
        seq=seq,
        original_name=unicodedata.normalize("NFC", path.name),
        path=rel,
        sha512=result.sha512,
        size=result.size,
        format=result.format,
        mimetype=result.mimetype,
        width=result.width,
        height=result.height,
        dpi=result.x_resolution,
        bits_per_sample=result.bits_per_sample,
        samples_per_pixel=result.samples_per_pixel,
        color_space=result.color_space,
        byte_order=result.byte_order,
        icc_profile=result.icc_profile,
        compression=result.compression,
        md5=result.md5,
        puid=result.puid,
        x_resolution=result.x_resolution,
        y_resolution=result.y_resolution,
    )


def _read_pages(batch_dir: Path, item: Item, report: ValidationReport,
                settings: Settings) -> None:
    folder = inside(batch_dir, item.item_id)
    names = []
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    by_nfc: dict[str, list[str]] = {}
    for entry in entries:
        by_nfc.setdefault(unicodedata.normalize("NFC", entry.name), []).append(entry.name)
    for entry in entries:
        rel = f"{item.item_id}/{entry.name}"
        twins = by_nfc[unicodedata.normalize("NFC", entry.name)]
        if is_ignored(entry.name):
            report.add("notice", rel, "system or hidden file ignored", item_id=item.item_id)
        elif problem := name_problem(entry.name) or _entry_problem(entry, batch_dir):
            report.add("error", rel, problem, item_id=item.item_id)
        elif len(twins) > 1:
            forms = " and ".join(f"{n!r} ({_form(n)})" for n in twins)
            report.add("error", rel, f"two files have the same name in different Unicode "
                       f"normalizations: {forms}; they look identical but are different files: "
                       "keep one", item_id=item.item_id)
        elif entry.is_dir():
            report.add("error", rel, "sub-folders are not allowed inside an item folder: "
                       "put the page images directly in it", item_id=item.item_id)
        else:
            names.append(entry.name)
    if not names:
        if not report.item_errors(item.item_id):
            report.add("error", item.item_id + "/", "item folder has no page images",
                       item_id=item.item_id)
        return
    for seq, name in enumerate(sorted(names, key=natural_key), start=1):
        page = characterize(inside(folder, name), f"{item.item_id}/{name}", seq, report,
                            item.item_id, settings)
        if page is not None:
            item.pages.append(page)


def _form(name: str) -> str:
    return "NFC" if unicodedata.is_normalized("NFC", name) else (
        "NFD" if unicodedata.is_normalized("NFD", name) else "mixed")


def snapshot(batch_dir: Path) -> dict[str, tuple[int, int, int]]:
    """(size, mtime_ns, inode) of every entry under the batch, symlinks not followed.

    Taken before and after reading: any difference means a copy into the batch is still
    running, and what was read cannot be trusted.
    """
    facts = {}
    for root, dirs, files in os.walk(batch_dir):
        for name in dirs + files:
            path = Path(root, name)
            st = path.lstat()
            facts[str(path.relative_to(batch_dir))] = (
                st.st_size if not stat.S_ISDIR(st.st_mode) else 0, st.st_mtime_ns, st.st_ino)
    return facts


def _returned_items(items: list, report: ValidationReport, settings: Settings) -> None:
    """Tell the technician, in the pre-flight report, why an archivist returned an item."""
    from ingest.custody import returned_notices

    notices = returned_notices({item.item_id for item in items}, settings)
    for item in items:
        for notice in notices.get(item.item_id, []):
            report.add("warning", MANIFEST, f"{item.item_id} was returned to the scanner "
                       f"station from review by {notice['by']} on {notice['at'][:10]} (batch "
                       f"{notice['batch_id']}): {notice['reason']} — fix this before the item "
                       "is ingested again", row=item.row, item_id=item.item_id)


def validate_batch(batch_dir: Path, settings: Settings | None = None) -> ValidationReport:
    """Check a batch folder against the contract and characterize every page.

    Returns a report listing every problem (errors, warnings, notices) and the parsed batch.
    Never raises for bad content and never writes to the batch folder. When files changed
    while they were read, `report.changed_files` names them (with a notice): the caller leaves
    the batch for a later run.
    """
    settings = settings or get_settings()
    batch_dir = Path(batch_dir).absolute()
    report = ValidationReport(batch_dir=str(batch_dir))
    if batch_dir.is_symlink() or not batch_dir.is_dir():
        report.add("error", "", f"batch folder {batch_dir} does not exist or is a symbolic link")
        return report
    if batch_dir.name in ("", ".", ".."):
        # "landing/x/.." is the landing zone itself: nothing under it is read as a batch.
        report.add("error", "", f"batch path {str(batch_dir)!r} does not name a batch folder "
                   "(it ends in '..'): give the path of the batch folder itself")
        return report
    before = snapshot(batch_dir)
    batch_id_ok = is_valid_id(batch_dir.name)
    if not batch_id_ok:
        report.add("error", "", f"batch folder name {batch_dir.name!r} is not a valid batch_id: "
                   f"{ID_RULE}; rename the folder")
    if not (batch_dir / READY).is_file():
        report.add("warning", READY, "no READY marker: the pipeline will not take this batch "
                   "until an empty READY file is written, last")
    manifest = batch_dir / MANIFEST
    manifest_problem = (_entry_problem(manifest, batch_dir)
                        if manifest.is_symlink() or manifest.exists() else None)
    if manifest_problem:
        report.add("error", MANIFEST, manifest_problem)
        items = []
    else:
        items = read_manifest(batch_dir, report)
    listed = {item.item_id for item in items}
    for entry in sorted(batch_dir.iterdir(), key=lambda p: p.name):
        if entry.name in (MANIFEST, READY) or (entry.name in RECORD_FILES and entry.is_file()
                                                and not entry.is_symlink()):
            continue
        if is_ignored(entry.name):
            report.add("notice", entry.name, "system or hidden file ignored")
        elif problem := name_problem(entry.name) or _entry_problem(entry, batch_dir):
            report.add("error", entry.name, problem,
                       item_id=entry.name if entry.name in listed else None)
        elif entry.is_dir() and entry.name not in listed and not is_valid_id(entry.name):
            report.add("error", entry.name + "/", f"folder name is not a valid item_id: "
                       f"{ID_RULE}; rename the folder and its manifest row", item_id=None)
        elif entry.is_dir() and entry.name not in listed:
            report.add("error", entry.name + "/", "folder has no row in manifest.csv: add a "
                       "row for it or move it out of the batch", item_id=None)
        elif not entry.is_dir():
            report.add("warning", entry.name, "unexpected file at the top of the batch; "
                       "it is not part of any item and is ignored")
    attach_records(batch_dir, items, report,
                   {"zh": settings.catalogue_sru_url_zh, "ar": settings.catalogue_sru_url_ar},
                   settings.catalogue_sru_index, settings.catalogue_timeout)
    check_hierarchy(items, report)
    for item in items:
        folder = batch_dir / item.item_id  # a valid id is one plain name: never outside
        if folder.is_symlink():
            continue  # reported above; never followed
        if item.is_container:
            if folder.is_dir() and any(not is_ignored(p.name) for p in folder.iterdir()):
                report.add("error", item.item_id + "/", f"{item.item_id} is a title or volume "
                           "(other rows name it as parent), which has no pages of its own: move "
                           "these pages to an item of their own", item_id=item.item_id)
            continue
        if not folder.is_dir():
            report.add("error", MANIFEST, f"no folder {item.item_id}/ for this row",
                       row=item.row, item_id=item.item_id)
            continue
        try:
            _read_pages(batch_dir, item, report, settings)
        except UnsafePath as exc:  # a name resolving outside the batch: refused, reported
            report.add("error", item.item_id + "/", str(exc), item_id=item.item_id)
    _returned_items(items, report, settings)
    manifest_sha512 = sha512_file(manifest) if manifest.is_file() and not manifest_problem else ""
    after = snapshot(batch_dir)
    report.changed_files = sorted(k for k in before.keys() | after.keys()
                                  if before.get(k) != after.get(k))
    for rel in report.changed_files:
        report.add("notice", rel, "changed while the batch was being read (size, time or "
                   "presence differ): the batch is left for a later run")
    if not batch_id_ok:
        # A Batch cannot hold an id that is not one: the batch is refused as a whole.
        log.info("batch folder %r refused: not a valid batch_id", batch_dir.name)
        return report
    report.batch = Batch(
        batch_id=batch_dir.name,
        path=str(batch_dir),
        received_at=dt.datetime.now(dt.timezone.utc),
        manifest_sha512=manifest_sha512,
        items=items,
    )
    log.info("validated batch %s: %d items, %d errors", batch_dir.name, len(items),
             len(report.errors))
    return report
