"""The HTML batch report, rendered from report dicts without Airflow: language and direction
markup, escaping, quarantine reasons, page flags, and nothing that reaches the network."""

import re
from html.parser import HTMLParser

from cadl.report_html import render_html, stage_times, text_blocks, text_language


def _report(**item_overrides) -> dict:
    item = {
        "item_id": "ar-zh-001", "status": "published", "title": "مختارات من الأمثال",
        "languages": ["ar", "zh-Hant"], "reading_direction": "rtl", "rights": "open",
        "portals": ["zh", "ar"], "bag": "file:///p/items/ar-zh-001/v0001/ar-zh-001",
        "access": "file:///a/items/ar-zh-001", "version": 1, "new_version": True,
        "problems": [], "stages": {
            "ocr": {"started": "2026-01-01T10:00:00+00:00", "finished": "2026-01-01T10:01:30+00:00"},
            "describe": {"started": "2026-01-01T10:01:30+00:00",
                         "finished": "2026-01-01T10:01:32+00:00"}},
        "pages": [{"seq": 1, "original_name": "第1页.png", "master": None, "text": None,
                   "alto": None, "hocr": None, "confidence": 91.25}],
    }
    item.update(item_overrides)
    return {"batch_id": "b-1", "batch_dir": "/landing/b-1", "run_id": "manual__x",
            "started": "2026-01-01T10:00:00+00:00", "finished": "2026-01-01T10:05:00+00:00",
            "summary": {"items": 1, "pages": 1}, "problems": [], "catalogue": "file:///a/c.json",
            "report_json": "/r/b-1/report.json", "items": [item]}


def _batch() -> dict:
    return {"batch_id": "b-1", "path": "/nonexistent/b-1", "items": [{
        "item_id": "ar-zh-001", "titles": {"ar": "مختارات من الأمثال", "zh": "諺語選",
                                          "en": "Proverbs"},
        "creator": "王麗", "date": "2021", "subjects": [], "extra": {},
        "pages": [{"seq": 1, "original_name": "第1页.png", "path": "ar-zh-001/第1页.png",
                   "sha512": "ab" * 64, "size": 1234, "format": "PNG"}]}]}


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []  # (tag, attrs, text)

    def handle_starttag(self, tag, attrs):
        self.elements.append([tag, dict(attrs), ""])

    def handle_data(self, data):
        if self.elements:
            self.elements[-1][2] += data


def _elements(html: str):
    parser = _Collect()
    parser.feed(html)
    return parser.elements


def test_arabic_text_is_marked_rtl_and_chinese_gets_the_items_script():
    assert text_language("مختارات من الأمثال العربية", ["ar"]) == ("ar", "rtl")
    assert text_language("鄭和下西洋", ["zh-Hant"]) == ("zh-Hant", "ltr")
    assert text_language("丝绸之路", ["ar", "zh-Hans"]) == ("zh-Hans", "ltr")
    assert text_language("丝绸之路", ["ar"]) == ("zh-Hans", "ltr")  # as MODS parallel titles
    assert text_language("12 / 3", ["ar"]) == (None, None)


def test_bilingual_page_text_is_split_into_blocks_per_language():
    text = "الأمثال مرآة الشعوب\nولكل أمة حكمتها\n\n千里之行，始于足下\n\nالصبر مفتاح الفرج\n"
    blocks = text_blocks(text, ["ar", "zh-Hans"])
    assert [(b.lang, b.dir) for b in blocks] == [("ar", "rtl"), ("zh-Hans", "ltr"), ("ar", "rtl")]
    assert blocks[0].text == "الأمثال مرآة الشعوب\nولكل أمة حكمتها"
    assert blocks[1].text == "千里之行，始于足下"


def test_metadata_values_carry_lang_and_dir():
    html = render_html(_report(), _batch(), fetcher=None)
    cells = {text.strip(): attrs for tag, attrs, text in _elements(html) if tag == "td"}
    assert cells["مختارات من الأمثال"] == {"lang": "ar", "dir": "rtl"}
    assert cells["諺語選"] == {"lang": "zh-Hant", "dir": "ltr"}
    assert cells["王麗"]["lang"] == "zh-Hant"
    assert '<html lang="en">' in html


def test_every_value_is_escaped():
    evil = '<script>alert("x")</script><img src=http://evil.example/x>'
    report = _report(title=evil, problems=[{"severity": "error", "file": "a/<b>.tif",
                                            "row": 3, "message": evil}])
    html = render_html(report, _batch(), fetcher=None)
    assert "<script>alert" not in html and "<img src=http" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_quarantined_item_shows_its_reason_and_location():
    report = _report(status="quarantined", bag=None, access=None,
                     quarantine="/var/quarantine/b-1/ar-zh-001",
                     problems=[{"severity": "error", "file": "ar-zh-001/第1页.png", "row": None,
                                "message": "truncated PNG: the file ends before its last chunk"}])
    html = render_html(report, _batch(), fetcher=None)
    assert "Why this item was not preserved" in html
    assert "truncated PNG: the file ends before its last chunk" in html
    assert "/var/quarantine/b-1/ar-zh-001" in html
    assert re.search(r'class="badge s-quarantined">Quarantined<', html)


def test_page_flags_and_held_status_are_shown_in_any_recorded_shape():
    pages = [{"seq": 1, "original_name": "1.png", "confidence": 31.0, "text": None,
              "flags": ["low_confidence", "script_mismatch"], "review": True},
             {"seq": 2, "original_name": "2.png", "confidence": 0.0, "text": None,
              "flags": [{"code": "empty", "message": "no word recognised"}]}]
    html = render_html(_report(status="held", pages=pages), _batch(), fetcher=None)
    flags = [attrs["data-flag"] for tag, attrs, _ in _elements(html) if "data-flag" in attrs]
    assert flags == ["low_confidence", "script_mismatch", "held", "empty"]
    assert ">Held for review<" in html and "no word recognised" in html


def test_stage_times_are_summed_per_stage():
    rows = stage_times(_report())
    assert [(r["stage"], r["count"], r["total"]) for r in rows] == [("ocr", 1, "1 min 30 s"),
                                                                    ("describe", 1, "2 s")]


def test_report_makes_no_network_request():
    html = render_html(_report(), _batch(), fetcher=None)
    for tag, attrs, _ in _elements(html):
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert value.startswith(("data:", "#")) or not value, (tag, attrs)
    assert "@import" not in html and "url(" not in html
    assert "Content-Security-Policy" in html
