"""Page quality without ground truth: confidence, empty pages and the script check."""

import shutil

import pytest
from PIL import Image

from kernel.settings import Settings
from ocr import quality
from ocr.recognize import ocr_item

ARABIC = "العلم في الصغر كالنقش على الحجر، فمن تعلم وهو صغير بقي علمه معه طول عمره"
SIMPLIFIED = "造纸术是中国古代最重要的发明之一，纸张沿着丝绸之路一步一步向西传播，后来传到了欧洲"
TRADITIONAL = "造紙術是中國古代最重要的發明之一，紙張沿著絲綢之路一步一步向西傳播，後來傳到了歐洲"
GOOD = [92.0] * 30


def _assess(text, confidences, languages):
    return quality.assess(text, confidences, languages, min_confidence=60,
                          max_low_share=0.5)


def test_clean_arabic_and_chinese_pages_raise_no_flag():
    assert _assess(ARABIC, GOOD, ["ar"]).flags == []
    assert _assess(SIMPLIFIED, GOOD, ["zh-Hans"]).flags == []
    assert _assess(TRADITIONAL, GOOD, ["zh-Hant"]).flags == []
    both = _assess(f"{ARABIC}\n{SIMPLIFIED}", GOOD, ["ar", "zh-Hans"])
    assert both.flags == [] and both.script_match is True
    assert both.scripts["Arab"] > 40 and both.scripts["Hani"] > 30


def test_page_in_another_script_than_the_manifest_is_flagged():
    assert _assess(SIMPLIFIED, GOOD, ["ar"]).flags == ["script_mismatch"]
    assert _assess(ARABIC, GOOD, ["zh-Hant"]).flags == ["script_mismatch"]


def test_traditional_page_of_a_simplified_item_is_flagged_and_the_reverse():
    assert _assess(TRADITIONAL, GOOD, ["zh-Hans"]).flags == ["script_mismatch"]
    assert _assess(SIMPLIFIED, GOOD, ["zh-Hant"]).flags == ["script_mismatch"]


def test_empty_and_low_confidence_pages_are_flagged():
    empty = _assess("", [], ["ar"])
    assert empty.flags == ["empty"] and empty.mean_confidence is None
    low = _assess(ARABIC, [40.0] * 10 + [70.0] * 5, ["ar"])
    assert low.flags == ["low_confidence", "many_low_confidence_words"]
    assert low.low_confidence_share == pytest.approx(10 / 15, abs=1e-4)
    # Too few letters to judge the script: no verdict rather than a false alarm.
    assert _assess("٣ ١٢", [90.0, 90.0], ["zh-Hans"]).script_match is None


@pytest.mark.skipif(shutil.which("tesseract") is None or shutil.which("pdftotext") is None,
                    reason="tesseract and poppler are needed")
def test_real_ocr_holds_a_blank_page_and_a_chinese_page_routed_as_arabic(sample_batch,
                                                                         sample_items, tmp_path):
    batch_dir, _ = sample_batch
    root = tmp_path / "batch"
    root.mkdir()
    Image.new("L", (1748, 2480), 255).save(root / "空白.png", dpi=(300, 300))
    zh = sample_items["zh-hans-book-001"]
    shutil.copyfile(batch_dir / zh.pages[0].path, root / "page.png")
    empty = zh.pages[0].model_copy(update={"seq": 1, "path": "空白.png",
                                           "original_name": "空白.png"})
    page = zh.pages[0].model_copy(update={"seq": 2, "path": "page.png"})
    item = zh.model_copy(update={"item_id": "wrongly-routed", "languages": ["ar"],
                                 "pages": [empty, page]})
    record = ocr_item(item, root, tmp_path / "ocr", Settings())
    blank_page, chinese_page = record.pages
    assert blank_page.flags == ["empty"] and blank_page.review
    # The Arabic model reads Chinese as Arabic-looking garbage: the letters are Arabic (the
    # script count cannot tell), but its confidence gives it away.
    assert "low_confidence" in chinese_page.flags and chinese_page.review
    assert record.held_pages == [1, 2]
    assert (tmp_path / "ocr" / "wrongly-routed.pdf").is_file()


def test_preprocessing_steps_follow_the_item_languages():
    from ocr.preprocess import steps_for
    setting = "rescale,binarize; zh-Hant=rescale,denoise,binarize;ar+zh-Hans=rescale"
    assert steps_for(setting, ["zh-Hant"]) == ["rescale", "denoise", "binarize"]
    assert steps_for(setting, ["ar", "zh-Hans"]) == ["rescale"]
    assert steps_for(setting, ["ar"]) == ["rescale", "binarize"]
    assert steps_for("", ["ar"]) == []
    with pytest.raises(ValueError, match="deskew"):
        steps_for("rescale,deskew", ["ar"])
    with pytest.raises(ValueError, match="LANGS=steps"):
        steps_for("rescale; zh-Hant", ["ar"])
