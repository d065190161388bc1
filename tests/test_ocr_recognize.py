"""OCR of the sample batch with the real tesseract: accuracy per language, clean text, outputs."""

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from kernel.errors import ToolFailed
from kernel.settings import Settings
from ocr import tesseract
from ocr.cer import cer
from ocr.models import ItemOcr
from ocr.recognize import OCR_RECORD, ocr_item
from ocr.text import CJK_CHAR
from ocr_helpers import ground_truth, pdftotext, pikepdf_text

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is needed")

MAX_CER = 0.05
LANGUAGE_ITEMS = {
    "Arabic": ["ar-book-001", "ar-restricted-001"],
    "Simplified Chinese": ["zh-hans-book-001"],
    "Traditional Chinese": ["zh-hant-book-001"],
    "Arabic + Chinese": ["ar-zh-bilingual-001"],
}
ARABIC_WORD = re.compile(r"[\u0600-\u06ff]{3,}")
ARABIC_LETTERS = re.compile(r"[\u0621-\u064a]{3,}")  # words without their punctuation


@pytest.fixture(scope="session")
def ocr_settings() -> Settings:
    """Settings from the environment (CADL_TESSDATA_DIR picks the model set under test)."""
    return Settings()


@pytest.fixture(scope="session")
def ocr_results(sample_batch, sample_items, ocr_settings, tmp_path_factory):
    """Every sample item OCR'd once: {item_id: (out_dir, ItemOcr)}."""
    batch_dir, _ = sample_batch
    root = tmp_path_factory.mktemp("ocr")
    return {item_id: (root / item_id, ocr_item(item, batch_dir, root / item_id, ocr_settings))
            for item_id, item in sample_items.items()}


@pytest.mark.parametrize("language", list(LANGUAGE_ITEMS))
def test_character_error_rate_is_under_five_percent(language, ocr_results, sample_items,
                                                     sample_batch):
    _, gt_dir = sample_batch
    errors = chars = 0
    for item_id in LANGUAGE_ITEMS[language]:
        out_dir, record = ocr_results[item_id]
        for page, result in zip(sample_items[item_id].pages, record.pages):
            reference = ground_truth(gt_dir, sample_items[item_id], page)
            hypothesis = (out_dir / result.text).read_text(encoding="utf-8")
            errors += cer(reference, hypothesis) * len(reference)
            chars += len(reference)
    assert errors / chars < MAX_CER, f"{language}: CER {errors / chars:.2%}"


def test_stored_chinese_text_has_no_spaces_between_characters(ocr_results):
    for item_id in ("zh-hans-book-001", "zh-hant-book-001", "ar-zh-bilingual-001"):
        out_dir, record = ocr_results[item_id]
        for page in record.pages:
            text = (out_dir / page.text).read_text(encoding="utf-8")
            assert not re.search(rf"{CJK_CHAR}[ \t]+{CJK_CHAR}", text), (item_id, page.text)


def test_arabic_text_is_in_logical_order_with_word_spaces(ocr_results, sample_items, sample_batch):
    _, gt_dir = sample_batch
    out_dir, record = ocr_results["ar-book-001"]
    page = sample_items["ar-book-001"].pages[0]
    reference = ground_truth(gt_dir, sample_items["ar-book-001"], page).splitlines()[0]
    hypothesis = (out_dir / record.pages[0].text).read_text(encoding="utf-8").splitlines()[0]
    # The first word read is the first word written (rightmost on the page), not the last.
    assert hypothesis.split()[0] == reference.split()[0]
    assert cer(reference, hypothesis) < cer(reference, hypothesis[::-1])
    assert len(hypothesis.split()) > 5


def test_stored_files_are_nfc_and_named_after_page_stems(ocr_results):
    for out_dir, record in ocr_results.values():
        expected = {OCR_RECORD, record.pdf}
        for page in record.pages:
            assert (page.text, page.alto, page.hocr) == (
                f"{page.stem}.txt", f"{page.stem}.alto.xml", f"{page.stem}.hocr")
            expected |= {page.text, page.alto, page.hocr, page.search}
            assert page.search == f"{page.stem}.search.txt"
            for name in (page.text, page.alto, page.hocr, page.search):
                assert unicodedata.is_normalized("NFC", (out_dir / name).read_text("utf-8"))
        assert {p.name for p in out_dir.iterdir()} == expected
        assert not [p for p in out_dir.parent.iterdir() if ".partial-" in p.name]


def test_record_names_engines_models_with_digests_and_page_statistics(ocr_results, ocr_settings):
    import hashlib

    from ocr import ppocr
    out_dir, record = ocr_results["ar-zh-bilingual-001"]
    # A bilingual item: Chinese lines read by PP-OCR, Arabic lines by tesseract.
    assert record.engine == "ppocr+tesseract"
    assert [e.name for e in record.engines] == ["ppocr", "tesseract"]
    pp, tess = record.engines
    assert tess.version == tesseract.version() and pp.version == ppocr.version()
    assert [m.name for m in tess.models] == ["ara"]
    assert [m.name for m in pp.models] == [ppocr.DET_MODEL, ppocr.REC_MODEL]
    files = {**ppocr.model_files(), "ara": tesseract.model_file("ara", ocr_settings.tessdata_dir)}
    for model in record.models:
        data = files[model.name].read_bytes()
        assert re.fullmatch(r"[0-9a-f]{128}", model.sha512)
        assert model.sha512 == hashlib.sha512(data).hexdigest()
        assert model.sha256 == hashlib.sha256(data).hexdigest()
    assert [p.seq for p in record.pages] == [1, 2]
    for page in record.pages:
        assert 50 < page.mean_confidence <= 100
        assert page.word_count > 20
        assert page.lines_by_engine["ppocr"] >= 2 and page.lines_by_engine["tesseract"] >= 2
    assert ItemOcr.model_validate_json((out_dir / OCR_RECORD).read_text()) == record
    _, chinese = ocr_results["zh-hans-book-001"]
    assert chinese.engine == "ppocr" and chinese.page_segmentation is None
    _, arabic = ocr_results["ar-book-001"]
    assert arabic.engine == "tesseract" and [m.name for m in arabic.models] == ["ara"]


def test_item_pdf_has_one_page_per_image_and_a_text_layer(ocr_results):
    pikepdf = pytest.importorskip("pikepdf")
    out_dir, record = ocr_results["zh-hans-book-001"]
    with pikepdf.open(out_dir / record.pdf) as pdf:
        assert len(pdf.pages) == len(record.pages)
    text = pdftotext(out_dir / record.pdf)
    assert "造纸" in text or "纸张" in text


def test_pdf_text_layer_keeps_arabic_in_logical_order(ocr_results):
    out_dir, record = ocr_results["ar-book-001"]
    layer = pdftotext(out_dir / record.pdf)
    stored = (out_dir / record.pages[0].text).read_text(encoding="utf-8")
    words = [w for w in ARABIC_WORD.findall(stored)][:20]
    found = sum(w in layer for w in words)
    reversed_found = sum(w[::-1] in layer for w in words)
    assert found > reversed_found and found >= len(words) // 2, (found, reversed_found)


def test_failed_page_leaves_no_output_folder(sample_batch, sample_items, ocr_settings, tmp_path):
    batch_dir, _ = sample_batch
    item = sample_items["ar-restricted-001"].model_copy(deep=True)
    item.pages[1].path = "ar-restricted-001/missing.jpg"
    out_dir = tmp_path / "ocr" / item.item_id
    with pytest.raises(ToolFailed, match="missing.jpg"):
        ocr_item(item, batch_dir, out_dir, ocr_settings)
    assert not out_dir.exists()
    assert list((tmp_path / "ocr").iterdir()) == []


def test_pdf_text_layer_has_no_spaces_between_chinese_characters(ocr_results):
    for item_id in ("zh-hans-book-001", "zh-hant-book-001", "ar-zh-bilingual-001"):
        out_dir, record = ocr_results[item_id]
        layer = pdftotext(out_dir / record.pdf)
        assert len(re.findall(CJK_CHAR, layer)) > 100, item_id
        assert not re.search(rf"{CJK_CHAR} {CJK_CHAR}", layer), item_id


def test_pdf_text_layer_read_with_pikepdf_is_logical_order_without_chinese_spaces(ocr_results):
    pytest.importorskip("pikepdf")
    out_dir, record = ocr_results["ar-zh-bilingual-001"]
    pages = pikepdf_text(out_dir / record.pdf)
    assert len(pages) == len(record.pages)
    for page, parts in zip(record.pages, pages):
        stored = (out_dir / page.text).read_text(encoding="utf-8")
        # The layer's strings, in stream order, spell the stored words in logical order.
        stream = "".join(parts)
        for word in ARABIC_LETTERS.findall(stored)[:15]:
            assert word in stream and (word == word[::-1] or word[::-1] not in stream), word
        chinese = [p for p in parts if re.search(CJK_CHAR, p)]
        assert chinese and not any(re.search(rf"{CJK_CHAR}\s+{CJK_CHAR}", p) for p in chinese)
        assert max(chinese, key=len) in stored


def _pdfa(src: Path, out: Path) -> Path:
    """PDF/A-2b with Ghostscript, the converter OCRmyPDF and most peers use for PDF/A."""
    subprocess.run(["gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pdfwrite",
                    "-dPDFA=2", "-dPDFACompatibilityPolicy=1", "-sColorConversionStrategy=RGB",
                    f"-sOutputFile={out}", str(src)], check=True, capture_output=True,
                   timeout=120)
    return out


@pytest.mark.skipif(shutil.which("gs") is None, reason="ghostscript is needed for PDF/A")
def test_pdf_text_layer_survives_pdfa_conversion(ocr_results, tmp_path):
    """Ghostscript's PDF/A conversion keeps both scripts' text layer, fonts and all."""
    pikepdf = pytest.importorskip("pikepdf")
    out_dir, record = ocr_results["ar-zh-bilingual-001"]
    pdfa = _pdfa(out_dir / record.pdf, tmp_path / "pdfa.pdf")
    with pikepdf.open(pdfa) as pdf:
        assert "pdfaid" in str(pdf.open_metadata())
        fonts = [f for page in pdf.pages for f in page.Resources.get("/Font", {}).values()]
        assert fonts and all("/ToUnicode" in f for f in fonts)
    after = pdftotext(pdfa)
    assert len(re.findall(CJK_CHAR, after)) > 100
    assert not re.search(rf"{CJK_CHAR} {CJK_CHAR}", after)
    for page, text in zip(record.pages, after.split("\f")):
        stored = (out_dir / page.text).read_text(encoding="utf-8")
        words = ARABIC_LETTERS.findall(stored)[:15]
        assert sum(w in text for w in words) == len(words)
        assert sum(w[::-1] in text for w in words if w != w[::-1]) == 0


def test_search_variants_beside_untouched_text(ocr_results):
    from ocr.search import normalize_arabic, to_other_chinese_script
    out_dir, record = ocr_results["ar-zh-bilingual-001"]
    for page in record.pages:
        text = (out_dir / page.text).read_text(encoding="utf-8")
        variant = (out_dir / page.search).read_text(encoding="utf-8")
        assert variant == normalize_arabic(to_other_chinese_script(text, "zh-Hans"))
        assert variant != text
    out_dir, record = ocr_results["zh-hant-book-001"]
    text = (out_dir / record.pages[0].text).read_text(encoding="utf-8")
    assert (out_dir / record.pages[0].search).read_text("utf-8") == \
        to_other_chinese_script(text, "zh-Hant")


def test_clean_sample_pages_pass_the_quality_check(ocr_results):
    for item_id, (_, record) in ocr_results.items():
        for page in record.pages:
            assert page.flags == [] and not page.review, (item_id, page.seq, page.flags)
            assert page.script_match is True and page.low_confidence_share < 0.2


def test_alto_is_4_4_with_arabic_lines_right_to_left(ocr_results):
    from lxml import etree

    from metadata.validate import validate
    out_dir, record = ocr_results["ar-zh-bilingual-001"]
    for page in record.pages:
        data = (out_dir / page.alto).read_bytes()
        assert validate(data, "alto") == []
        lines = list(etree.fromstring(data).iter("{http://www.loc.gov/standards/alto/ns-v4#}TextLine"))
        for line in lines:
            words = " ".join(s.get("CONTENT") for s in line.iter("{*}String"))
            if ARABIC_LETTERS.search(words):
                assert line.get("BASEDIRECTION") == "rtl", words
            elif re.search(CJK_CHAR, words):
                assert line.get("BASEDIRECTION") is None, words
        assert any(line.get("BASEDIRECTION") == "rtl" for line in lines)
