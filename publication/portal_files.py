"""The files a published item carries for the portals beyond its preserved files.

Per page a display image (JPEG, longest side `CADL_DISPLAY_PX`, default 1600 px: sharp on a
desktop screen, a fraction of the master's size); per item the IIIF manifest and one
search document per portal that may show it. Made from the masters and OCR text that
`publication.access` has just fetched from the verified preserved copy.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from kernel.deployment import access_base, is_development, require_published
from kernel.errors import ConfigError
from kernel.paths import inside
from kernel.settings import Settings
from ingest.images import use_pixel_limit
from ingest.models import Item
from publication.iiif import MANIFEST, build_manifest
from publication.publish import make_thumbnail
from publication.search import search_document


def base_url(settings: Settings) -> str:
    """Public base URL of the access location: CADL_ACCESS_BASE_URL, else CADL_ACCESS_URL."""
    return access_base(settings)


def check_published_values(settings: Settings) -> None:
    """Refuse, in a real deployment (kernel.deployment), to publish a placeholder: a partner
    URL of the partners file (CADL_PARTNERS_FILE) or the contact address (CADL_CONTACT_EMAIL).
    Raises ConfigError naming the setting, the partner and the field."""
    from publication.iiif import load_partners

    if is_development(settings):
        return
    for key, entry in load_partners(settings.partners_file).items():
        for field in ("homepage", "logo", "item_page"):
            require_published(entry[field], f"{field!r} of partner {key!r} in the partners file "
                              f"CADL_PARTNERS_FILE names (now {settings.partners_file})",
                              settings, f"{field.replace('_', ' ')} URL of partner {key}")
    require_published(settings.contact_email, "CADL_CONTACT_EMAIL", settings,
                      "contact e-mail address (the BagIt profile's Contact-Email)")


def public_base_url(settings: Settings) -> str:
    """The base URL publication writes into manifests and feeds: `base_url`, which must be
    http(s) unless CADL_ALLOW_FILE_URLS says this is a development run.

    Raises ConfigError naming CADL_ACCESS_BASE_URL otherwise: a file:// id is invalid IIIF and
    means nothing on any other machine, so publishing one silently breaks every portal; and,
    from a real deployment, naming the setting of any placeholder it would publish
    (`check_published_values`).
    """
    base = base_url(settings)
    if base.startswith(("http://", "https://")) or settings.allow_file_urls:
        check_published_values(settings)
        return base
    raise ConfigError(
        f"the access location's public URL is {base!r}, which no portal or IIIF viewer can "
        "open: set CADL_ACCESS_BASE_URL to the http(s) URL the access location is served at "
        "(e.g. http://127.0.0.1:8800 for `cadl serve`), or CADL_ALLOW_FILE_URLS=true for a "
        "development run that will not be published")


def is_current(entry: dict, portals: list[str], settings: Settings) -> bool:
    """True when a published entry already has the portal files for these portals and base URL
    (else the item is republished: an embargo lifted on one portal, a new public URL)."""
    return (entry.get("portals") == portals and entry.get("base_url") == base_url(settings)
            and entry.get("display_px") == settings.display_px)


def _size(path: Path) -> list[int]:
    with Image.open(path) as image:
        return [image.width, image.height]


def _write_json(path: Path, value: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    "utf-8")
    return path


def add_portal_files(item: Item, entry: dict, pages: list[dict], scratch: Path,
                     settings: Settings, portals: list[str]) -> list[tuple[Path, str]]:
    """Make display images, the IIIF manifest and per-portal search documents in `scratch`.

    `pages` are access.py's page records (stem, seq, master, text paths under `scratch`);
    `portals` are those that may show the item now. Adds `display`, `display_size`,
    `thumbnail_size` and `size` to each page of `entry`, and `manifest` and `search` to
    `entry` itself. Returns (local file, key in the item folder) pairs to publish.
    """
    files: list[tuple[Path, str]] = []
    texts: dict[int, str] = {}
    use_pixel_limit(settings.max_image_pixels)  # display images of every page validation took
    for page, record, source in zip(pages, entry["pages"], item.pages, strict=True):
        display = make_thumbnail(inside(scratch, page["master"]),
                                 scratch / "display" / f"{page['stem']}.jpg", settings.display_px)
        files.append((display, f"display/{page['stem']}.jpg"))
        record.update(display=f"display/{page['stem']}.jpg", display_size=_size(display),
                      thumbnail_size=_size(scratch / "thumbnails" / f"{page['stem']}.jpg"),
                      size=[source.width, source.height])
        texts[page["seq"]] = (scratch / page["text"]).read_text("utf-8")
    base = public_base_url(settings)
    entry.update(base_url=base, display_px=settings.display_px, manifest=MANIFEST)
    entry["search"] = {portal: f"search/{portal}.json" for portal in portals}
    from publication.iiif import load_partners

    manifest = build_manifest(item, entry, base, load_partners(settings.partners_file))
    if item.parent:  # issue 18: an issue or volume is part of its title's IIIF Collection
        from publication.collections import part_of

        manifest["partOf"] = part_of(item.parent, base)
    files.append((_write_json(scratch / MANIFEST, manifest), MANIFEST))
    for portal in portals:
        doc = search_document(item, entry, portal, texts, base)
        files.append((_write_json(scratch / "search" / f"{portal}.json", doc),
                      f"search/{portal}.json"))
    return files
