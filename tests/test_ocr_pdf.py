"""The item PDF's text layer built from hOCR (ocr/pdf.py), on a hand-written hOCR page."""

import re

import pytest
from PIL import Image

from kernel.errors import ToolFailed
from ocr.pdf import build_pdf
from ocr_helpers import pdftotext, pikepdf_text

pikepdf = pytest.importorskip("pikepdf")

# Tesseract's way of writing it: Chinese one "word" per character or two, a Latin comma after
# Chinese, an extension-B character (outside the BMP), Arabic words right to left on the page.
HOCR = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><body>
<div class='ocr_page' id='page_1' title='image "p.png"; bbox 0 0 600 400; ppageno 0'>
 <span class='ocr_line' title="bbox 20 20 300 60; baseline 0 -8">
  <span class='ocrx_word' title='bbox 20 20 60 60; x_wconf 95'>造纸</span>
  <span class='ocrx_word' title='bbox 64 20 84 60; x_wconf 95'>术</span>
  <span class='ocrx_word' title='bbox 86 50 90 60; x_wconf 80'>,</span>
  <span class='ocrx_word' title='bbox 100 20 140 60; x_wconf 90'>𠀀字</span>
 </span>
 <span class='ocr_line' title="bbox 200 100 580 150; baseline 0 -10">
  <span class='ocrx_word' title='bbox 480 100 580 150; x_wconf 93'>المكتبة</span>
  <span class='ocrx_word' title='bbox 330 100 460 150; x_wconf 93'>الوطنية</span>
 </span>
</div></body></html>
"""


@pytest.fixture
def page(tmp_path):
    image = tmp_path / "页.png"
    Image.new("L", (600, 400), 255).save(image, dpi=(150, 150))
    hocr = tmp_path / "p.hocr"
    hocr.write_text(HOCR, encoding="utf-8")
    return image, hocr


def test_text_layer_is_logical_unspaced_and_keeps_characters_outside_the_bmp(page, tmp_path):
    out = build_pdf([page, page], tmp_path / "item.pdf")
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 2
        assert [float(v) for v in pdf.pages[0].mediabox] == [0, 0, 288, 192]  # 600 px at 150 dpi
    parts = pikepdf_text(out)[0]
    assert "造纸术，𠀀字" in parts
    assert "المكتبة الوطنية" in "".join(parts)
    text = pdftotext(out)
    assert "造纸术，𠀀字" in text
    line = next(line for line in text.splitlines() if "المكتبة" in line)
    assert re.sub("[\u202a-\u202e]", "", line).strip() == "المكتبة الوطنية"


def test_same_input_gives_the_same_pdf(page, tmp_path):
    first = build_pdf([page], tmp_path / "a.pdf").read_bytes()
    assert build_pdf([page], tmp_path / "b.pdf").read_bytes() == first


def test_broken_hocr_is_a_clear_error_naming_the_file(page, tmp_path):
    image, hocr = page
    hocr.write_text("<html><body><div class='ocr_page'>", encoding="utf-8")
    with pytest.raises(ToolFailed, match="p.hocr"):
        build_pdf([(image, hocr)], tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()
