"""The access location the portals read: item files, per-item entries and the catalogue.

Layout in the access storage (keys, see `preservation.storage`):

    items/<item_id>/<relative key>   ← files given to publish_item (PDF, thumbnails, IIIF, …)
    items/<item_id>/item.json        ← the item's catalogue entry, written after its files
    catalogue.json                   ← every item.json's entry, sorted by item id

Ordering is what keeps readers safe: an item.json appears only once every file it lists is in
place, and on withdrawal it disappears before the files do, so a portal following item.json never
meets a missing file. catalogue.json is rebuilt from the item.json files and written in one PUT
(or one rename on a folder), so it is never seen half-written.

Whether an item may be published is the caller's decision (rights, embargo); this module only
does what it is told.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, features

from kernel.errors import ToolMissing
from kernel.ids import check_id
from ingest.images import to_8bit
from preservation.storage import Storage, validate_key

log = logging.getLogger(__name__)

ITEM_JSON = "item.json"
CATALOGUE = "catalogue.json"
_ITEM_JSON_KEY = re.compile(r"^items/([^/]+)/item\.json$")
JPEG_QUALITY = 85


def _check_item_id(item_id: str) -> None:
    """Raise InvalidId (a ValueError) unless `item_id` is an id (kernel.ids): it names keys."""
    check_id(item_id, "item id")


def make_thumbnail(src: Path, dest: Path, px: int) -> Path:
    """Write a JPEG of `src` whose longest side is at most `px` pixels; return `dest`.

    Reads TIFF (8/16-bit, grayscale, bilevel, multi-page: first page), PNG, JPEG and JPEG 2000
    through Pillow, applies the EXIF orientation, and writes via a temporary file and a rename.
    Raises ValueError for px < 1, ToolMissing for JPEG 2000 when Pillow lacks OpenJPEG, and
    Pillow's own errors (UnidentifiedImageError, OSError) for a file it cannot decode.
    """
    if px < 1:
        raise ValueError(f"thumbnail size must be at least 1 pixel, got {px}")
    src, dest = Path(src), Path(dest)
    if src.suffix.lower() in (".jp2", ".j2k", ".jpf", ".jpx") and not features.check("jpg_2000"):
        raise ToolMissing(f"cannot read {src}: this Pillow has no OpenJPEG (JPEG 2000) support")
    with Image.open(src) as image:
        image.draft(None, (px, px))  # JPEG/JPEG 2000 decode at reduced size: much less memory
        image = ImageOps.exif_transpose(image)
        image = to_8bit(image)
        image.thumbnail((px, px), Image.Resampling.LANCZOS)
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = dest.with_name(f".{dest.name}.partial")
        try:
            image.save(temp, "JPEG", quality=JPEG_QUALITY, optimize=True)
            os.replace(temp, dest)
        finally:
            temp.unlink(missing_ok=True)
    return dest


def _json_bytes(value: dict) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def publish_item(
    storage: Storage, item_id: str, files: list[tuple[Path, str]], entry: dict
) -> str:
    """Publish an item's files and its catalogue entry; return the URI of the item's folder.

    `files` pairs a local file with its key inside the item (e.g. "thumbs/p0001.jpg"). They are
    uploaded first, then `items/<item_id>/item.json` = `entry` + "item_id" + "files" (key, size,
    sha512, sorted). Files left from an earlier publication of the item but not in `files` are
    removed after the new item.json is in place. Raises ValueError for an unsafe id or key, a
    duplicate key, or an `entry` that sets "item_id"/"files" itself.
    """
    _check_item_id(item_id)
    for reserved in ("item_id", "files"):
        if reserved in entry:
            raise ValueError(f"entry must not set {reserved!r}: publish_item fills it in")
    root = f"items/{item_id}/"
    keys = [validate_key(rel) for _, rel in files]
    if ITEM_JSON in keys:
        raise ValueError(f"{ITEM_JSON} is written by publish_item; do not pass it as a file")
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate file keys for item {item_id}: {sorted(keys)}")

    previous = set(storage.list(root))
    listed = []
    for path, rel in sorted(files, key=lambda pair: pair[1]):
        info = storage.put_file(root + rel, Path(path))
        listed.append({"key": rel, "size": info.size, "sha512": info.sha512})
    storage.put_bytes(root + ITEM_JSON, _json_bytes({**entry, "item_id": item_id, "files": listed}))
    for stale in sorted(previous - {root + rel for rel in keys} - {root + ITEM_JSON}):
        storage.delete(stale)
    log.info("published item %s: %d files", item_id, len(listed))
    return storage.uri(root.rstrip("/"))


def withdraw_item(storage: Storage, item_id: str) -> int:
    """Remove an item from the access location, item.json first; return objects deleted.

    For items whose rights no longer allow publication. Rebuild the catalogue afterwards
    (`write_catalogue`). Withdrawing an item that is not published deletes nothing.
    """
    _check_item_id(item_id)
    root = f"items/{item_id}/"
    keys = list(storage.list(root))
    if root + ITEM_JSON in keys:
        storage.delete(root + ITEM_JSON)  # first: readers stop following the item at once
    for key in keys:
        if key != root + ITEM_JSON:
            storage.delete(key)
    log.info("withdrew item %s: %d objects deleted", item_id, len(keys))
    return len(keys)


def write_catalogue(storage: Storage, now: datetime) -> str:
    """Rebuild catalogue.json from every items/*/item.json; return its URI.

    Each catalogue entry is the item's entry without its file list (portals read item.json for
    that, which keeps the catalogue small) plus "item_json", the key of the full entry. An
    item.json that is not valid JSON is logged and left out rather than blocking every other item.
    """
    entries = []
    for key in storage.list("items/"):
        match = _ITEM_JSON_KEY.match(key)
        if not match:
            continue
        try:
            item = json.loads(storage.get_bytes(key).decode("utf-8"))
        except FileNotFoundError:
            continue  # withdrawn between listing and reading
        except ValueError as exc:
            log.error("left %s out of the catalogue: not valid JSON (%s)", storage.uri(key), exc)
            continue
        item.pop("files", None)
        item["item_id"] = match.group(1)
        item["item_json"] = key
        entries.append(item)
    entries.sort(key=lambda item: item["item_id"])
    storage.put_bytes(CATALOGUE, _json_bytes({"generated": now.isoformat(), "items": entries}))
    log.info("wrote catalogue with %d items", len(entries))
    return storage.uri(CATALOGUE)
