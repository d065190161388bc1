"""The batch report of a real run, opened in a real headless Chromium: Arabic laid out right to
left, every image loads, a bad item shows why it was set aside, readable on a phone and in print.

The batch is the generated sample batch plus one item whose first page is not an image at all,
run through Airflow with `cadl run --json` as tests/test_end_to_end.py does.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from browser import chromium, full_page_screenshot, require_chromium

pytestmark = pytest.mark.slow
CADL = str(Path(sys.executable).with_name("cadl"))
BAD = "zh-hant-damaged-001"


@pytest.fixture(scope="module")
def report(sample_batch, tmp_path_factory):
    """(report JSON of `cadl run --json`, artifacts folder) for the sample batch + one bad item."""
    require_chromium()
    batch_src, _ = sample_batch
    root = tmp_path_factory.mktemp("report-browser")
    batch = root / "landing" / batch_src.name
    shutil.copytree(batch_src, batch)
    (batch / BAD).mkdir()
    (batch / BAD / "0001.tif").write_bytes(b"this scan was never an image")
    shutil.copy(next((batch / "zh-hant-book-001").iterdir()), batch / BAD / "0002.jpg")
    with (batch / "manifest.csv").open("a", encoding="utf-8") as fh:
        header = (batch / "manifest.csv").read_text("utf-8").splitlines()[0].split(",")
        row = {"item_id": BAD, "languages": "zh-Hant", "title": "損壞的掃描", "rights": "open",
               "portals": "zh", "reading_direction": "ltr"}
        fh.write(",".join(row.get(col, "") for col in header) + "\n")
    env = dict(os.environ, CADL_LANDING_DIR=str(root / "landing"),
               CADL_WORK_DIR=str(root / "work"), CADL_REPORTS_DIR=str(root / "reports"),
               CADL_PRESERVATION_URL=(root / "preservation").as_uri(),
               CADL_ACCESS_URL=(root / "access").as_uri(), CADL_ALLOW_FILE_URLS="true")
    proc = subprocess.run([CADL, "run", str(batch), "--json", "--dags-test"], env=env, capture_output=True,
                          text=True, timeout=1800)
    assert proc.stdout.strip(), proc.stderr[-5000:]  # exit 1 is expected: one item is bad
    artifacts = root / "artifacts"
    artifacts.mkdir()
    return json.loads(proc.stdout), artifacts


@pytest.fixture(scope="module")
def page(report):
    """A Chromium showing the report; shared by the tests of this module."""
    data, _ = report
    with chromium() as driver:
        driver.get(Path(data["report_html"]).as_uri())
        yield driver


def test_report_html_is_in_the_run_json_and_written_per_run(report):
    data, _ = report
    html = Path(data["report_html"])
    assert html.name == "report.html" and html.is_file()
    runs = list((html.parent / "runs").glob("*/report.html"))
    assert len(runs) == 1 and runs[0].read_bytes() == html.read_bytes()


def test_arabic_blocks_are_laid_out_right_to_left(page, report):
    data, _ = report
    found = page.execute_script("""
        const out = [];
        for (const el of document.querySelectorAll('[lang="ar"]')) {
          const style = getComputedStyle(el);
          const box = el.getBoundingClientRect();
          const range = document.createRange();
          range.selectNodeContents(el);
          const lines = [...range.getClientRects()].filter(r => r.width > 0);
          const contentRight = box.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
          out.push({cls: el.className, dir: style.direction, text: el.textContent.trim(),
                    gapRight: Math.min(...lines.map(r => contentRight - r.right)),
                    gapLeft: Math.min(...lines.map(r => r.left - box.left))});
        }
        return out;""")
    assert any(f["cls"] == "" and f["text"] for f in found), "no Arabic metadata cell"
    for f in found:
        assert f["dir"] == "rtl", f
        assert abs(f["gapRight"]) <= 2, f  # the first line ends at the right edge
    short = [f for f in found if len(f["text"]) < 40]
    assert short and all(f["gapLeft"] > 100 for f in short), short  # and leaves the left empty
    if data["summary"]["published"]:  # OCR text is shown once items got through OCR
        assert any(f["cls"] == "ocr" for f in found), "no Arabic OCR text block"


def test_chinese_text_carries_its_script(page):
    tags = page.execute_script(
        "return [...document.querySelectorAll('#item-zh-hant-book-001 [lang^=zh]')]"
        ".map(e => e.lang)")
    assert tags and set(tags) == {"zh-Hant"}
    tags = page.execute_script(
        "return [...document.querySelectorAll('#item-zh-hans-book-001 [lang^=zh]')]"
        ".map(e => e.lang)")
    assert tags and set(tags) == {"zh-Hans"}


def test_every_image_loads(page, report):
    data, _ = report
    images = page.execute_script(
        "return [...document.images].map(i => ({alt: i.alt, complete: i.complete, "
        "w: i.naturalWidth, src: i.src.slice(0, 11)}))")
    good_pages = sum(len(i["pages"]) for i in data["items"] if i["item_id"] != BAD)
    assert len(images) >= good_pages
    for image in images:
        assert image["complete"] and image["w"] > 0, image
        assert image["src"] == "data:image/", image  # inline: no request leaves the file


def test_bad_item_shows_why_it_was_set_aside(page):
    article = page.find_element("css selector", f"#item-{BAD}")
    assert article.get_attribute("data-status") in ("invalid", "quarantined")
    reason = article.find_element("css selector", ".reason")
    assert reason.is_displayed()
    assert "Why this item was not preserved" in reason.text
    assert "0001.tif" in reason.text and "[error]" in reason.text


def test_screenshots_for_desk_phone_and_print(page, report):
    _, artifacts = report
    shot = full_page_screenshot(page, artifacts / "report-desktop.png")
    assert shot.stat().st_size > 10_000
    page.set_window_size(390, 844)  # a phone
    assert page.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    stacked = page.execute_script("""
        const p = document.querySelector('.page');
        return p.children[1].getBoundingClientRect().top >= p.children[0].getBoundingClientRect().bottom;""")
    assert stacked, "page image and text should stack on a phone"
    page.save_screenshot(str(artifacts / "report-phone.png"))
    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert page.execute_script(
            "return getComputedStyle(document.querySelector('nav')).display") == "none"
    finally:
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        page.set_window_size(1280, 900)
