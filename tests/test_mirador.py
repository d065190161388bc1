"""Mirador (the IIIF viewer, from the npm registry) opens our manifests in headless Chromium.

Each manifest of the sample items (an Arabic book right to left, a vertically set Traditional
Chinese book, a Simplified Chinese one) is published with its display images and thumbnails,
served on 127.0.0.1, and opened in Mirador 4 with its interface in Arabic, Simplified Chinese or
English. Mirador must lay the pages out in the item's direction (thumbnail of page 1 right of
page 2 for right-to-left books) and show the metadata block in the chosen language.

Mirador is installed by `make viewers` into tests/viewers/node_modules (not in git); the test
skips, saying so, where it is absent.
"""

import json
import shutil
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

import package_samples as samples
from browser import chromium, require_chromium
from publication.iiif import build_manifest
from test_iiif_manifest import entry_for

MIRADOR = Path(__file__).parent / "viewers" / "node_modules" / "mirador" / "dist" / \
    "mirador.min.js"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>mirador</title>
<style>body{margin:0} #viewer{position:absolute;inset:0}</style></head><body>
<div id="viewer"></div><script src="mirador.min.js"></script><script>
const q = new URLSearchParams(location.search);
window.mirador = Mirador.viewer({id: "viewer", language: q.get("lang"),
  windows: [{manifestId: q.get("manifest"), thumbnailNavigationPosition: "far-bottom",
             sideBarOpen: true, sideBarPanel: "info"}],
  window: {allowClose: false}, workspaceControlPanel: {enabled: false}});
</script></body></html>"""
def _simplified_two_pages():
    item = samples.simplified_item()
    second = item.pages[0].model_copy(update={"seq": 2, "original_name": "第二页.tif",
                                              "path": "zh-hans-003/第二页.tif"})
    return item.model_copy(update={"pages": [item.pages[0], second]})


ITEMS = {"ar-amal-001": samples.arabic_item, "zh-hant-002": samples.traditional_item,
         "zh-hans-003": _simplified_two_pages}
# Mirador's interface language → the label our metadata block gives "Title" in it, and the key
# of our language maps it should show.
LANGUAGES = {"ar": ("العنوان", "ar"), "zh-CN": ("题名", "zh-Hans"), "en": ("Title", "en")}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _publish(item, root: Path, base: str) -> None:
    entry = entry_for(item)
    folder = root / "items" / item.item_id
    for number, page in enumerate(entry["pages"], start=1):
        for key, size in (("display", page["display_size"]), ("thumbnail",
                                                              page["thumbnail_size"])):
            image = Image.new("RGB", tuple(size), (250, 250, 245))
            ImageDraw.Draw(image).rectangle([10, 10, size[0] - 10, size[1] // (number + 1)],
                                            fill=(40 * number, 60, 90))
            (folder / page[key]).parent.mkdir(parents=True, exist_ok=True)
            image.save(folder / page[key], "JPEG")
    manifest = build_manifest(item, entry, base)
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_chromium()
    if not MIRADOR.exists():
        pytest.skip(f"{MIRADOR} is absent: `make viewers` installs Mirador from the npm registry")
    root = tmp_path_factory.mktemp("mirador")
    shutil.copy(MIRADOR, root / "mirador.min.js")
    (root / "viewer.html").write_text(PAGE, "utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for make in ITEMS.values():
        _publish(make(), root, base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with chromium(1400, 1000) as driver:
            yield {"base": base, "driver": driver}
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _open(site, item_id: str, lang: str):
    driver = site["driver"]
    driver.get(f"{site['base']}/viewer.html?lang={lang}&manifest={site['base']}/items/"
               f"{item_id}/manifest.json")
    deadline = time.monotonic() + 60  # a wait for rendering, not an assertion on speed
    while time.monotonic() < deadline:
        thumbs = driver.execute_script(
            "return [...document.querySelectorAll('[class*=\"thumbnail-nav-canvas-\"]')]"
            ".map(e => [e.className, e.getBoundingClientRect().x])")
        text = driver.execute_script("return document.body.innerText")
        if thumbs and _label(lang) in text:
            return thumbs, text
        time.sleep(0.5)
    pytest.fail(f"Mirador did not show {item_id} in {lang} within a minute; page text: "
                f"{driver.execute_script('return document.body.innerText')[:500]!r}")


def _label(lang: str) -> str:
    return LANGUAGES[lang][0]


def _x_of(thumbs, index: int) -> float:
    return next(x for name, x in thumbs if f"mirador-thumbnail-nav-canvas-{index}" in name.split())


@pytest.mark.parametrize("item_id", sorted(ITEMS))
def test_mirador_lays_the_pages_out_in_the_items_direction(site, item_id):
    thumbs, _ = _open(site, item_id, "en")
    item = ITEMS[item_id]()
    if len(item.pages) < 2:
        pytest.skip(f"{item_id} has one page: no direction to see")
    first, second = _x_of(thumbs, 0), _x_of(thumbs, 1)
    if item.reading_direction in ("rtl", "ttb"):  # ttb: a vertical book turns right to left
        assert first > second, thumbs
    else:
        assert first < second, thumbs


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
@pytest.mark.parametrize("item_id", sorted(ITEMS))
def test_mirador_shows_the_metadata_in_the_chosen_language(site, item_id, lang):
    _, text = _open(site, item_id, lang)
    item = ITEMS[item_id]()
    manifest = build_manifest(item, entry_for(item), site["base"])
    key = LANGUAGES[lang][1]
    title = manifest["label"].get(key) or manifest["label"].get("en") or \
        next(iter(manifest["label"].values()))
    assert _label(lang) in text
    assert title[0] in text
