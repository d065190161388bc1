"""Text cleanup and CER: the rules stored OCR text and the acceptance figure depend on."""

import unicodedata

import pytest

from ocr.cer import cer, normalize_for_cer
from ocr.text import clean_line, clean_text, squeeze_cjk_spaces


def test_spaces_between_chinese_characters_are_removed():
    assert clean_line("造 纸 术 是 中国  古代 的 发明 。") == "造纸术是中国古代的发明。"


def test_spaces_between_arabic_and_latin_words_are_kept():
    assert clean_line("طريق  الحرير  Silk Road") == "طريق الحرير Silk Road"


def test_space_between_chinese_and_latin_is_kept():
    assert squeeze_cjk_spaces("使用 Tesseract 识别") == "使用 Tesseract 识别"


def test_ascii_punctuation_after_chinese_becomes_full_width():
    assert clean_line("明朝永樂三年 , 鄭和奉命") == "明朝永樂三年，鄭和奉命"


def test_latin_comma_after_arabic_becomes_arabic_comma():
    assert clean_line("سلام عليك, أما بعد") == "سلام عليك، أما بعد"


def test_latin_comma_between_digits_is_untouched():
    assert clean_line("1,000 كتاب") == "1,000 كتاب"


def test_bidi_marks_are_removed_and_order_kept():
    assert clean_line("من \u200e一\u200f زرع") == "من 一 زرع"


def test_text_is_nfc():
    decomposed = unicodedata.normalize("NFD", "café آ")
    assert clean_line(decomposed) == unicodedata.normalize("NFC", "café آ")


def test_clean_text_drops_form_feed_and_collapses_blank_lines():
    assert clean_text("سطر أول\n\n\n\nسطر ثان\n\f") == "سطر أول\n\nسطر ثان\n"


def test_cer_counts_insertions_deletions_and_substitutions_per_code_point():
    assert cer("kitten", "sitting") == pytest.approx(3 / 6)
    assert cer("abc", "") == 1.0
    assert cer("丝绸之路", "丝稠之") == pytest.approx(2 / 4)  # 绸→稠, 路 lost
    assert cer("مَكتبة", "مكتبة") == pytest.approx(1 / 6)  # a lost fatha is one error


def test_cer_ignores_whitespace_between_cjk_but_not_between_words():
    assert cer("造纸术\n是发明", "造 纸 术 是 发 明") == 0
    assert cer("طريق الحرير", "طريقالحرير") == pytest.approx(1 / 11)


def test_cer_of_reversed_arabic_is_high():
    line = "كان طريق الحرير شبكة واسعة"
    assert cer(line, line[::-1]) > 0.5


def test_cer_normalises_nfc_and_line_breaks():
    assert normalize_for_cer("a\n\n  b\t c") == "a b c"
    assert cer("آ", unicodedata.normalize("NFD", "آ")) == 0


def test_cer_of_empty_reference_is_refused():
    with pytest.raises(ValueError):
        cer("  ", "x")
