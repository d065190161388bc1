"""The engines behind one interface: each gives one recognition result, from which ALTO, hOCR,
text and PDF are written; routing per language and per line; provenance; rare characters."""

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from lxml import etree

from kernel.namespaces import ALTO
from metadata.validate import validate
from ocr import ppocr, routing
from ocr.alto import to_alto
from ocr.hocr import parse_hocr, to_hocr
from ocr.pdf import build_pdf
from ocr.result import Block, Line, PageResult, Word, normalize_words, page_text
from ocr.text import CJK_CHAR
from ocr_helpers import pdftotext, pikepdf_text

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is needed")
ENGINES = "zh-Hans=ppocr; zh-Hant=ppocr; ar=tesseract; en=tesseract"
ARABIC = re.compile(r"[\u0621-\u064a]")
HAN = re.compile(r"[\u4e00-\u9fff]")
CJK_SPACE = re.compile(rf"{CJK_CHAR}[^\S\n]+{CJK_CHAR}")


def _first_page(batch_dir: Path, item_id: str) -> Path:
    return sorted((batch_dir / item_id).iterdir())[0]


def _read(batch_dir: Path, item_id: str, languages: list[str], work: Path,
          direction: str = "ltr") -> PageResult:
    plan = routing.plan(languages, direction, ENGINES, tessdata_dir=None, timeout=600)
    return routing.recognize_page(plan, _first_page(batch_dir, item_id), work)


@pytest.fixture(scope="module")
def results(sample_batch, tmp_path_factory) -> dict[str, PageResult]:
    """One page per engine and one bilingual page, each recognised once."""
    batch_dir, _ = sample_batch
    work = tmp_path_factory.mktemp("engines")
    return {
        "ppocr": _read(batch_dir, "zh-hans-book-001", ["zh-Hans"], work / "zh"),
        "tesseract": _read(batch_dir, "ar-book-001", ["ar"], work / "ar", "rtl"),
        "bilingual": _read(batch_dir, "ar-zh-bilingual-001", ["ar", "zh-Hans"], work / "bi"),
    }


def _alto_lines(alto: bytes) -> list[tuple[etree._Element, str]]:
    """(TextLine, its text joined as a reader would: CONTENT, a space per SP)."""
    out = []
    for line in etree.fromstring(alto).iter(f"{{{ALTO}}}TextLine"):
        text = "".join(el.get("CONTENT") if etree.QName(el).localname == "String" else " "
                       for el in line if etree.QName(el).localname in ("String", "SP"))
        out.append((line, text))
    return out


@pytest.mark.parametrize("engine", ["ppocr", "tesseract"])
def test_each_engine_writes_alto_hocr_text_and_pdf_from_one_recognition(engine, results,
                                                                       sample_batch, tmp_path):
    result = results[engine]
    assert result.engines() == [engine] and len(result.lines) >= 5
    text = page_text(result)
    alto = to_alto(result, 1, [(engine, "x", "")])
    assert validate(alto, "alto") == []
    root = etree.fromstring(alto)
    assert root.find(f".//{{{ALTO}}}Page").get("PHYSICAL_IMG_NR") == "1"
    for el in root.iter(f"{{{ALTO}}}String", f"{{{ALTO}}}TextLine", f"{{{ALTO}}}TextBlock"):
        assert float(el.get("WIDTH")) >= 0 and float(el.get("HEIGHT")) >= 0
    # ALTO, hOCR and text spell the same lines.
    assert [t for _, t in _alto_lines(alto)] == [ln for ln in text.splitlines() if ln]
    again = parse_hocr(to_hocr(result, engine), "page.hocr")
    assert page_text(again) == text
    pdf = build_pdf([(_first_page(sample_batch[0], result.image and
                                  ("zh-hans-book-001" if engine == "ppocr" else "ar-book-001")),
                      result)], tmp_path / "p.pdf")
    layer = "".join(pikepdf_text(pdf)[0])
    for line in text.splitlines()[:3]:
        for word in line.split():
            assert word in layer


def test_no_space_between_two_cjk_characters_in_any_output(results, tmp_path, sample_batch):
    for name in ("ppocr", "bilingual"):
        result = results[name]
        text = page_text(result)
        assert len(HAN.findall(text)) > 50 and not CJK_SPACE.search(text)
        alto = to_alto(result, 1, [])
        assert not any(CJK_SPACE.search(t) for _, t in _alto_lines(alto))
        hocr = etree.fromstring(to_hocr(result, "x"))
        for line in hocr.iter("{*}span"):
            if line.get("class") == "ocr_line":
                assert not CJK_SPACE.search("".join(line.itertext()))
        image = _first_page(sample_batch[0], "zh-hans-book-001" if name == "ppocr"
                            else "ar-zh-bilingual-001")
        layer = pdftotext(build_pdf([(image, result)], tmp_path / f"{name}.pdf"))
        assert not re.search(rf"{CJK_CHAR} {CJK_CHAR}", layer)


def test_ppocr_chinese_alto_has_a_string_per_character_with_confidence(results):
    result = results["ppocr"]
    words = result.words
    assert sum(len(w.text) == 1 for w in words) > 0.9 * len(words)
    assert all(0 < w.confidence <= 1 for w in words)
    # Full-width punctuation exactly as in the text.
    assert "，" in page_text(result) and "," not in page_text(result)


def test_arabic_lines_are_rtl_in_logical_order(results, sample_batch):
    _, gt_dir = sample_batch
    truth = (gt_dir / "ar-book-001" / f"{_first_page(sample_batch[0], 'ar-book-001').stem}.txt"
             ).read_text("utf-8").split()
    for name in ("tesseract", "bilingual"):
        alto = to_alto(results[name], 1, [])
        arabic = [(line, t) for line, t in _alto_lines(alto) if ARABIC.search(t)]
        assert arabic
        for line, text in arabic:
            assert line.get("BASEDIRECTION") == "rtl" and line.get("LANG") == "ar"
            assert "\u200e" not in text and "\u200f" not in text
    first = _alto_lines(to_alto(results["tesseract"], 1, []))[0][1].split()
    assert first[0] == truth[0]  # the first word written is the first word stored


def test_bilingual_page_arabic_lines_read_by_tesseract_chinese_by_ppocr(results):
    lines = results["bilingual"].lines
    arabic = [ln for ln in lines if ARABIC.search(ln.text)]
    chinese = [ln for ln in lines if HAN.search(ln.text)]
    assert len(arabic) >= 2 and len(chinese) >= 2
    assert {(ln.engine, ln.model, ln.language) for ln in arabic} == {("tesseract", "ara", "ar")}
    assert {(ln.engine, ln.model, ln.language) for ln in chinese} == \
        {("ppocr", ppocr.REC_MODEL, "zh-Hans")}
    # No line mixes the scripts: neither engine read the other's line.
    assert not [ln for ln in lines if ARABIC.search(ln.text) and HAN.search(ln.text)]


def test_engine_setting_routes_per_language_and_direction():
    assert routing.engine_for("zh-Hant", "ttb", "zh-Hant=ppocr; zh-Hant/ttb=tesseract") == \
        "tesseract"
    assert routing.engine_for("zh-Hant", "ltr", "zh-Hant=ppocr; zh-Hant/ttb=tesseract") == "ppocr"
    assert routing.engine_for("ar", "rtl", "zh-Hans=ppocr") == "tesseract"
    with pytest.raises(ValueError, match="unknown engine 'paddle'"):
        routing.engine_for("ar", "rtl", "ar=paddle")
    with pytest.raises(ValueError, match="xx"):
        routing.parse_engines("xx=ppocr")
    plan = routing.plan(["ar", "zh-Hans"], "rtl", ENGINES, tessdata_dir=None, timeout=60)
    assert plan.per_line and plan.tesseract.model_names == ("ara",)


def test_ppocr_models_come_from_the_wheel_and_nothing_is_downloaded(monkeypatch, sample_batch):
    import rapidocr.utils.download_file as download

    def refuse(*args, **kwargs):
        raise AssertionError("rapidocr tried to download a model")

    monkeypatch.setattr(download.DownloadFile, "run", classmethod(refuse))
    files = ppocr.model_files()
    assert all(Path(p).is_relative_to(Path(__import__("rapidocr").__file__).parent)
               for p in files.values())
    engine = ppocr._instance.__wrapped__()  # a fresh instance, built under the patch
    assert engine.cfg.Det.model_path == str(files[ppocr.DET_MODEL])
    assert engine.cfg.EngineConfig.onnxruntime.intra_op_num_threads == 1
    assert ppocr.instance() is ppocr.instance()  # one per process
    models = ppocr.models()
    assert [m.sha256 for m in models] == [hashlib.sha256(files[m.name].read_bytes()).hexdigest()
                                          for m in models]


def _rare_page() -> PageResult:
    words = normalize_words([Word("𠀀", (20, 20, 60, 60), 0.9), Word("𪚥字", (60, 20, 140, 60), 0.9),
                             Word(",", (140, 50, 146, 60), 0.8), Word("经", (150, 20, 190, 60), 0.9)])
    arabic = normalize_words([Word("\u200fالمكتبة", (480, 100, 580, 150), 0.9),
                              Word("الوطنية\u200f", (330, 100, 460, 150), 0.9)])
    return PageResult("p.png", 600, 400, [Block([
        Line(words, (20, 20, 190, 60), "ltr", "ppocr", ppocr.REC_MODEL, "zh-Hant"),
        Line(arabic, (330, 100, 580, 150), "rtl", "tesseract", "ara", "ar")])])


def test_characters_outside_the_bmp_survive_every_output(tmp_path):
    from PIL import Image

    from ingest.models import Item
    from publication.search import search_document

    result = _rare_page()
    text = page_text(result)
    assert text == "𠀀𪚥字，经\nالمكتبة الوطنية\n"  # no bidi marks, Chinese comma
    alto = to_alto(result, 3, [])
    assert validate(alto, "alto") == []
    assert [t for _, t in _alto_lines(alto)] == text.splitlines()
    assert page_text(parse_hocr(to_hocr(result, "x"), "p.hocr")) == text
    image = tmp_path / "p.png"
    Image.new("L", (600, 400), 255).save(image, dpi=(150, 150))
    pdf = build_pdf([(image, result)], tmp_path / "item.pdf")
    assert "𠀀𪚥字，经" in pdftotext(pdf)
    item = Item(item_id="rare-001", row=2, languages=["zh-Hant", "ar"], title="t",
                reading_direction="ltr", pages=[])
    doc = search_document(item, {"pages": [], "pdf": "rare-001.pdf"}, "zh", {1: text},
                          "http://127.0.0.1/")
    assert "𠀀𪚥字" in doc["text"] and "𠀀𪚥字" in json.dumps(doc, ensure_ascii=False)
    assert "𠀀𪚥字" in str(doc)


def test_ocr_agents_in_premis_carry_versions_and_model_checksums():
    from metadata.describe import _ocr_agents
    from metadata.premis import Event, Object, build_premis
    import datetime as dt

    summary = {"engine_version": "x", "models": [], "engines": [
        {"name": "ppocr", "version": ppocr.version(),
         "models": [m.model_dump() for m in ppocr.models()]},
        {"name": "tesseract", "version": "5.3.0",
         "models": [{"name": "ara", "sha512": "a" * 128, "sha256": "b" * 64}]}]}
    agents = _ocr_agents(summary)
    premis = build_premis(
        [Object(id_value="text-p0001", original_name="ocr/p0001.txt", size=1,
                format_name="Plain text", sha512="c" * 128)],
        [Event("creation", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "success", "OCR",
               [a.id_value for a in agents], ["text-p0001"], id_value="0f5b7a4e-8f4e-4f8a-9a57-0d5c2a8f7e11")], agents)
    assert validate(premis, "premis") == []
    xml = etree.tostring(premis, encoding="unicode")
    assert ppocr.version() in xml and "5.3.0" in xml
    for model in ppocr.models():
        assert model.sha256 in xml and model.name in xml


def _gs_version() -> str:
    import subprocess
    if shutil.which("gs") is None:
        return ""
    return subprocess.run(["gs", "--version"], capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("gs") is None, reason="ghostscript is needed for PDF/A")
@pytest.mark.xfail(_gs_version() == "10.00.0", strict=True,
                   reason="Ghostscript 10.00's PDF interpreter corrupts the low surrogate of "
                   "ToUnicode entries (U+20000 → U+FFFD U+4000) and drops ActualText; see "
                   "docs/decisions.md, issue 15")
def test_characters_outside_the_bmp_survive_pdfa_conversion(tmp_path):
    import subprocess

    from PIL import Image

    image = tmp_path / "p.png"
    Image.new("L", (600, 400), 255).save(image, dpi=(150, 150))
    pdf = build_pdf([(image, _rare_page())], tmp_path / "item.pdf")
    pdfa = tmp_path / "pdfa.pdf"
    subprocess.run(["gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pdfwrite",
                    "-dPDFA=2", "-dPDFACompatibilityPolicy=1", "-sColorConversionStrategy=RGB",
                    f"-sOutputFile={pdfa}", str(pdf)], check=True, capture_output=True,
                   timeout=120)
    after = pdftotext(pdfa)
    assert "经" in after  # the BMP characters survive in any case
    assert "𠀀𪚥字，经" in after


def test_skewed_bilingual_page_lines_are_straightened_and_read_by_their_engines(sample_batch,
                                                                                 tmp_path):
    """A poor scan (1.5–3° skew, blur, noise, JPEG 25) of the bilingual page: the Arabic lines
    are cut along the detector's rotated boxes, so tesseract reads them whole."""
    import random

    from PIL import Image

    from bench.ocr.pages import degrade
    from ocr.cer import cer

    batch_dir, gt_dir = sample_batch
    page = _first_page(batch_dir, "ar-zh-bilingual-001")
    with Image.open(page) as im:
        data = degrade(im.convert("L"), random.Random(15))
    scan = tmp_path / "skewed.jpg"
    scan.write_bytes(data)
    plan = routing.plan(["ar", "zh-Hans"], "rtl", ENGINES, tessdata_dir=None, timeout=600)
    result = routing.recognize_page(plan, scan, tmp_path / "work")
    truth = (gt_dir / "ar-zh-bilingual-001" / f"{page.stem}.txt").read_text("utf-8")
    assert cer(truth, page_text(result)) < 0.03
    for line in result.lines:
        assert line.engine == ("tesseract" if ARABIC.search(line.text) else "ppocr"), line.text
