"""Names, titles and OCR text cannot drive the technician's terminal.

A file name with an ESC sequence could clear the screen or move the cursor up over a warning; a
bidi override could make a name read backwards. `cadl validate`, report.txt and the CLI show
such characters escaped (`\\x1b`, `<U+202E>`), while Arabic and Chinese print as themselves.
"""

from __future__ import annotations

import datetime as dt
import json

from batchmaker import make_batch, page_bytes

from cadl.cli import main
from cadl.report import render_text
from kernel.text import terminal_json, terminal_safe

CLEAR = "\x1b[2J\x1b[1A"  # erase the screen, cursor one line up
TITLE_SET = "\x1b]0;owned\x07"  # set the terminal window title
RLO, LRI, PDI = "\u202e", "\u2066", "\u2069"


def test_terminal_safe_escapes_controls_and_bidi_overrides_only():
    assert terminal_safe(f"صفحة{CLEAR}١.png") == "صفحة\\x1b[2J\\x1b[1A١.png"
    assert terminal_safe(f"第{RLO}gpj.exe") == "第<U+202E>gpj.exe"
    assert terminal_safe(f"{LRI}كتاب{PDI}") == "<U+2066>كتاب<U+2069>"
    assert terminal_safe("ok\rFAKE OK\n\t\x7f\x9b") == "ok\\x0dFAKE OK\\x0a\\x09\\x7f\\x9b"
    assert terminal_safe("line one\nline two\r", keep_newlines=True) == \
        "line one\nline two\\x0d"
    assert terminal_safe("bad-\udcff.png") == "bad-\\xff.png"  # os.fsdecode of a non-UTF-8 byte
    for text in ("كتاب الأغاني للأصفهاني", "红楼梦 · 紅樓夢", "文\u200c字", "ａ", "مُقدّمة"):
        assert terminal_safe(text) == text  # letters, marks, ZWNJ and full-width forms stay


def test_cadl_validate_shows_hostile_names_escaped(tmp_path, capsys):
    rows = [{"item_id": "ar-1", "languages": "ar", "title": "كتاب الأدب"},
            {"item_id": "zh-1", "languages": "zh-Hans", "title": "文学史"}]
    batch = make_batch(tmp_path, rows, pages={
        "ar-1": {f"صفحة{CLEAR}١.png": page_bytes(), "صفحة٢.png": page_bytes()},
        "zh-1": {f"第{RLO}gnp.1页.png": page_bytes(), "第2页.png": page_bytes()},
    })
    capsys.readouterr()
    assert main(["validate", str(batch)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and RLO not in out
    lines = out.splitlines()
    assert any(line.startswith("ERROR    ar-1/صفحة\\x1b[2J\\x1b[1A١.png: ") for line in lines), out
    assert any(line.startswith("ERROR    zh-1/第<U+202E>gnp.1页.png: ") for line in lines), out


def test_cadl_validate_json_escapes_bidi_controls_and_keeps_the_values(tmp_path, capsys):
    rows = [{"item_id": "zh-1", "languages": "zh-Hans", "title": "文学史"}]
    name = f"第{RLO}gnp.1页{CLEAR}.png"
    batch = make_batch(tmp_path, rows, pages={"zh-1": {name: page_bytes()}})
    capsys.readouterr()
    assert main(["validate", str(batch), "--json"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and RLO not in out and "第" in out and "页" in out
    files = {p["file"] for p in json.loads(out)["problems"]}
    assert f"zh-1/{name}" in files  # the JSON still means the real name
    assert terminal_json({"t": f"{RLO}كتاب"}) == '{\n  "t": "\\u202eكتاب"\n}'


def _report(title: str, page_name: str, message: str) -> dict:
    return {
        "batch_id": "batch-001", "batch_dir": "/landing/batch-001", "run_id": "manual__1",
        "finished": dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc).isoformat(),
        "summary": {"items": 1, "pages": 1, "published": 0, "held": 1, "preserved": 0,
                    "quarantined": 0, "failed": 0},
        "problems": [], "quarantine": None, "catalogue": "file:///access/catalogue.json",
        "items": [{"item_id": "ar-1", "status": "held", "title": title, "languages": ["ar"],
                   "reading_direction": "rtl", "rights": "open", "bag": None, "access": None,
                   "version": None, "new_version": None, "quarantine": None,
                   "problems": [{"severity": "warning", "file": f"ar-1/{page_name}", "row": None,
                                 "message": message}],
                   "pages": [{"seq": 1, "original_name": page_name, "confidence": 71.5,
                              "flags": ["script_mismatch"]}]}],
    }


def test_report_txt_shows_titles_names_and_ocr_text_escaped():
    title = f"كتاب {TITLE_SET}الأغاني{RLO} · 诗经"
    page = f"صفحة{CLEAR}١.png"
    ocr = f"OCR read “{LRI}漢字\x08\x08\x08{PDI}” where Arabic was expected"
    text = render_text(_report(title, page, ocr))
    assert "\x1b" not in text and "\x07" not in text and "\x08" not in text
    assert not any(c in text for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    lines = text.splitlines()
    assert "ar-1: HELD  “كتاب \\x1b]0;owned\\x07الأغاني<U+202E> · 诗经”  [ar, rtl, open]" in lines
    assert "    page   1  صفحة\\x1b[2J\\x1b[1A١.png  confidence 71.5  OCR flags: " \
        "script_mismatch" in lines
    assert ("    [warning] ar-1/صفحة\\x1b[2J\\x1b[1A١.png: OCR read “<U+2066>漢字\\x08\\x08\\x08"
            "<U+2069>” where Arabic was expected") in lines


def test_a_newline_in_a_name_cannot_forge_a_report_line():
    text = render_text(_report("文学史", "p.png\n    [ok] everything is fine", "m"))
    assert "    [ok] everything is fine" not in text.splitlines()
    assert "p.png\\x0a    [ok] everything is fine" in text


def test_cadl_bag_validate_shows_hostile_payload_names_escaped(tmp_path, capsys):
    import bagit

    bag = tmp_path / "bag"
    bag.mkdir()
    (bag / "كتاب.txt").write_text("x", "utf-8")
    bagit.make_bag(str(bag), checksums=["sha512"])
    (bag / "data" / f"书{CLEAR}{RLO}txt.exe").write_text("y", "utf-8")  # not in the manifest
    capsys.readouterr()
    assert main(["bag", "validate", str(bag)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and RLO not in out
    assert "ERROR    data/书\\x1b[2J\\x1b[1A<U+202E>txt.exe exists on filesystem but is not in " \
        "the manifest" in out.splitlines()
