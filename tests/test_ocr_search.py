"""Search variants: Chinese in the other script, Arabic search normalisation."""

import unicodedata

from ocr.search import normalize_arabic, search_text, to_other_chinese_script


def test_arabic_normalisation_folds_alef_forms_maksura_ta_marbuta_and_drops_marks():
    assert normalize_arabic("أحمد إلى آخر ٱلكتاب") == "احمد الي اخر الكتاب"
    assert normalize_arabic("مدرسة") == "مدرسه"
    assert normalize_arabic("مُحَمَّدٌ") == "محمد"
    assert normalize_arabic("كتـــاب") == "كتاب"
    # A hamza written as a combining mark (NFD) folds like the precomposed letter.
    assert normalize_arabic(unicodedata.normalize("NFD", "أ")) == "ا"
    assert normalize_arabic("造纸 abc ١٢٣") == "造纸 abc ١٢٣"


def test_chinese_gets_the_other_script_and_other_text_is_untouched():
    assert to_other_chinese_script("造纸术传到了欧洲", "zh-Hans") == "造紙術傳到了歐洲"
    assert to_other_chinese_script("造紙術傳到了歐洲", "zh-Hant") == "造纸术传到了欧洲"
    assert search_text("纸张 الورقة", ["zh-Hans"]) == "紙張 الورقة"


def test_bilingual_page_gets_both_foldings_in_one_variant():
    assert search_text("المكتبة 图书馆", ["ar", "zh-Hans"]) == "المكتبه 圖書館"
    assert search_text("圖書館 إلى", ["zh-Hant", "ar"]) == "图书馆 الي"
    assert search_text("library", ["en"]) is None
