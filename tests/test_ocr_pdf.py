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


def test_item_pdf_claims_pdfa_2b_with_language_xmp_and_right_to_left_direction(page, tmp_path):
    import pikepdf

    from ocr.pdf import PdfInfo

    info = PdfInfo(title="رحلة ابن بطوطة", language="ar", creators=("ابن بطوطة", "马金鹏"),
                   languages=("ar", "zh-Hans"), right_to_left=True)
    out = build_pdf([page, page], tmp_path / "item.pdf", info)
    with pikepdf.open(out) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"  # pikepdf reads the XMP's pdfaid claim
        assert meta["dc:title"] == "رحلة ابن بطوطة"
        assert meta["dc:creator"] == ["ابن بطوطة", "马金鹏"]
        assert str(pdf.Root.Lang) == "ar"
        assert pdf.Root.ViewerPreferences.Direction == pikepdf.Name.R2L
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == pikepdf.Name.GTS_PDFA1 and intent.DestOutputProfile.N == 3
        assert str(pdf.docinfo.Title) == "رحلة ابن بطوطة"  # Info dictionary in step with XMP
        assert pdf.is_encrypted is False
        assert pdf.pdf_version >= "1.7" and pdf.trailer.ID  # PDF/A-2: 1.7 base, a file ID
    again = build_pdf([page, page], tmp_path / "again.pdf", info)
    assert again.read_bytes() == out.read_bytes()  # still deterministic


def test_a_left_to_right_item_pdf_has_no_direction_preference(page, tmp_path):
    import pikepdf

    from ocr.pdf import PdfInfo

    out = build_pdf([page], tmp_path / "item.pdf",
                    PdfInfo(title="丝绸之路", language="zh-Hans"))
    with pikepdf.open(out) as pdf:
        assert "/ViewerPreferences" not in pdf.Root and str(pdf.Root.Lang) == "zh-Hans"


def _claimed(page, tmp_path):
    from ocr.pdf import PdfInfo

    info = PdfInfo(title="丝绸之路 — طريق الحرير", language="zh-Hans",
                   creators=("马可·波罗", "ابن بطوطة"), languages=("zh-Hans", "ar"))
    return build_pdf([page, page], tmp_path / "item.pdf", info)


def test_the_pdfa_checks_pikepdf_can_make_find_nothing_wrong_with_our_pdf(page, tmp_path):
    from ocr.pdfa import check_pdfa

    report = check_pdfa(_claimed(page, tmp_path))
    assert report.problems == [] and report.is_valid
    assert "veraPDF" in report.not_checked  # an empty list is not a conformance verdict


@pytest.mark.parametrize("tamper, expected", [
    (lambda pdf: pdf.Root.OutputIntents[0].DestOutputProfile.write(b"not an icc profile"),
     "not an ICC profile"),
    (lambda pdf: delattr(pdf.Root, "OutputIntents"), "0 GTS_PDFA1 output intents"),
    (lambda pdf: pdf.Root.Names.__setattr__("JavaScript", pikepdf.Dictionary())
     if "/Names" in pdf.Root else pdf.Root.__setattr__(
         "Names", pikepdf.Dictionary(JavaScript=pikepdf.Dictionary())), "JavaScript"),
    (lambda pdf: pdf.pages[0].Resources.Font.F1.DescendantFonts[0].FontDescriptor.__delattr__(
        "FontFile2"), "is not embedded"),
    (lambda pdf: pdf.pages[1].obj.__setattr__("Group", pikepdf.Dictionary(
        S=pikepdf.Name.Transparency)), "page 2: transparency group"),
    (lambda pdf: pdf.docinfo.__setitem__("/Title", pikepdf.String("另一个标题")),
     "differs from XMP dc:title"),
])
def test_each_broken_pdfa_rule_is_reported_naming_where(page, tmp_path, tamper, expected):
    from ocr.pdfa import check_pdfa

    out = _claimed(page, tmp_path)
    with pikepdf.open(out) as pdf:
        tamper(pdf)
        pdf.save(tmp_path / "broken.pdf")
    problems = check_pdfa(tmp_path / "broken.pdf").problems
    assert any(expected in p for p in problems), problems


def test_an_xmp_claim_of_another_part_and_encryption_are_reported(page, tmp_path):
    from ocr.pdfa import check_pdfa

    out = _claimed(page, tmp_path)
    with pikepdf.open(out) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["pdfaid:part"] = "1"
        pdf.save(tmp_path / "part1.pdf", encryption=pikepdf.Encryption(owner="o", user=""))
    problems = " | ".join(check_pdfa(tmp_path / "part1.pdf").problems)
    assert "pdfaid part '1'" in problems and "encrypt" in problems


def test_an_lzw_tiff_master_is_embedded_losslessly_at_its_size(page, tmp_path):
    """img2pdf would re-encode an LZW TIFF slowly; build_pdf hands it a fast PNG instead, whose
    pixels, page size and resolution are the master's."""
    from pikepdf import PdfImage

    _, hocr = page
    master = tmp_path / "0001.tif"
    pixels = Image.linear_gradient("L").resize((600, 400))
    pixels.save(master, compression="tiff_lzw", dpi=(150, 150))
    out = build_pdf([(master, hocr)], tmp_path / "tif.pdf")
    with pikepdf.open(out) as pdf:
        pdf_page = pdf.pages[0]
        # 600 × 400 pixels at 150 dpi
        assert [round(float(v)) for v in pdf_page.mediabox] == [0, 0, 288, 192]
        (image,) = pdf_page.get_images().values()
        embedded = PdfImage(image).as_pil_image()
    assert embedded.size == (600, 400)
    assert list(embedded.convert("L").getdata()) == list(pixels.getdata())
