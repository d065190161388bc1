"""A page validation accepts can be processed; one it cannot process, it refuses clearly.

- A multi-page TIFF would lose every page but the first: refused, with its frame count.
- A 16-bit page (a TIFF and a PNG, as high-end scanners write them) gets an 8-bit OCR copy
  scaled by its brightest value; the master is preserved as scanned. Real tesseract reads it.
- A page larger than Pillow's own decompression-bomb limit but within CADL_MAX_IMAGE_PIXELS
  is read by OCR, thumbnails and the PDF: the setting is the single limit. (Pillow's limit is
  lowered for the test rather than a 200-megapixel page being made on a 2-core CI machine;
  the code path is the same.)
"""

import array
import io

import pytest
from batchmaker import make_batch
from PIL import Image, ImageDraw, ImageFont

from ingest.images import to_8bit
from ingest.validate import validate_batch
from kernel.settings import Settings
from ocr import preprocess
from ocr.recognize import ocr_item
from publication.publish import make_thumbnail

AR = {"item_id": "ar-1", "languages": "ar", "title": "كتاب"}
EN = {"item_id": "en-1", "languages": "en", "title": "Deep"}


def _tiff_pages(n: int) -> bytes:
    frames = [Image.new("L", (60, 80), 255) for _ in range(n)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:],
                   dpi=(300, 300))
    return buf.getvalue()


def _deep(width: int, height: int, values: list[int]) -> Image.Image:
    """A 16-bit grayscale image from sample values (little-endian, as mode I;16 stores them)."""
    samples = array.array("H", values)
    if samples.itemsize != 2 or array.array("H", [1]).tobytes() != b"\x01\x00":
        samples.byteswap()
    return Image.frombytes("I;16", (width, height), samples.tobytes())


def _text_page(fmt: str) -> bytes:
    """A 16-bit page with dark text in the top 4 bits only (as a 12-bit scanner writes)."""
    page = Image.new("L", (900, 240), 255)
    draw = ImageDraw.Draw(page)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 64)
    except OSError:
        font = ImageFont.load_default(size=64)
    draw.text((30, 70), "HELLO WORLD", fill=0, font=font)
    # Scale 0..255 to 0..4095: convert("L") would clip the whole page to white.
    deep = _deep(page.width, page.height, [v * 16 for v in page.getdata()])
    buf = io.BytesIO()
    deep.save(buf, format=fmt, dpi=(300, 300))
    return buf.getvalue()


def test_a_multi_page_tiff_is_refused_with_its_frame_count(tmp_path):
    batch = make_batch(tmp_path, [AR], pages={"ar-1": {"0001.tif": _tiff_pages(3),
                                                       "0002.tif": _tiff_pages(1)}})
    report = validate_batch(batch)
    assert [(p.file, p.item_id, p.message) for p in report.errors] == [
        ("ar-1/0001.tif", "ar-1", "TIFF holds 3 pages (frames); the pipeline takes one page "
         "per file: export each page as a file of its own")]


@pytest.mark.parametrize("fmt, name", [("TIFF", "0001.tif"), ("PNG", "0001.png")])
def test_a_16_bit_page_is_accepted_and_ocred_from_an_8_bit_copy(tmp_path, fmt, name):
    master = _text_page(fmt)
    batch = make_batch(tmp_path, [EN], pages={"en-1": {name: master}})
    report = validate_batch(batch)
    assert report.is_valid, report.errors
    page = report.batch.item("en-1").pages[0]
    assert page.bits_per_sample == 16
    copy, scale = preprocess.ocr_copy(batch / page.path, tmp_path / "copy", [])
    assert copy != batch / page.path and scale == 1.0
    with Image.open(copy) as im:
        assert im.mode == "L" and im.getextrema() == (0, 255)  # rescaled, not clipped
    settings = Settings(ocr_workers=1, work_dir=tmp_path / "work")
    record = ocr_item(report.batch.item("en-1"), batch, tmp_path / "ocr", settings)
    text = (tmp_path / "ocr" / record.pages[0].text).read_text("utf-8")
    assert "HELLO" in text and "WORLD" in text
    assert (tmp_path / "ocr" / record.pdf).stat().st_size > 0
    assert (batch / page.path).read_bytes() == master  # the master is as scanned


def test_to_8bit_scales_by_the_brightest_value():
    deep = _deep(3, 1, [0, 2048, 4095])
    assert list(to_8bit(deep).getdata()) == [0, 127, 255]


def test_a_page_over_pillows_limit_but_within_the_setting_is_processed(tmp_path, monkeypatch):
    page = _text_page("PNG")
    batch = make_batch(tmp_path, [EN], pages={"en-1": {"0001.png": page}})
    # Pillow's built-in limit stands in lower than the page (900×240 = 216,000 pixels).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)
    settings = Settings(ocr_workers=1, work_dir=tmp_path / "work", max_image_pixels=300_000)
    report = validate_batch(batch, settings)
    assert report.is_valid, report.errors
    item = report.batch.item("en-1")
    record = ocr_item(item, batch, tmp_path / "ocr", settings)
    assert "HELLO" in (tmp_path / "ocr" / record.pages[0].text).read_text("utf-8")
    thumb = make_thumbnail(batch / item.pages[0].path, tmp_path / "t.jpg", 100)
    assert thumb.is_file()
    # Over the setting it is refused at validation, naming the setting.
    small = Settings(max_image_pixels=200_000)
    errors = validate_batch(batch, small).errors
    assert [p.message for p in errors] == [
        "image is 900×240 = 216,000 pixels, over the limit of 200,000 (CADL_MAX_IMAGE_PIXELS): "
        "a decompression bomb or a wrong scan setting"]
