"""The landing-zone contract: every problem of a batch reported at once, with file and row."""

import json
import unicodedata

import pytest
from batchmaker import make_batch, page_bytes

from cadl.cli import main
from ingest.validate import natural_key, validate_batch

AR = {"item_id": "ar-1", "languages": "ar", "title": "كتاب الأدب"}
ZH = {"item_id": "zh-1", "languages": "zh-Hans;ar", "title": "文学史"}
TW = {"item_id": "tw-1", "languages": "zh-Hant", "title": "文學史", "reading_direction": "ttb"}


def messages(report):
    return [(p.severity, p.file, p.row, p.message) for p in report.problems]


def test_valid_batch_of_all_three_scripts(tmp_path):
    batch = make_batch(tmp_path, [AR, ZH, TW])
    report = validate_batch(batch)
    assert report.is_valid, messages(report)
    items = {i.item_id: i for i in report.batch.items}
    assert items["ar-1"].reading_direction == "rtl"  # default from the primary language
    assert items["zh-1"].reading_direction == "ltr"
    assert items["zh-1"].languages == ["zh-Hans", "ar"]
    assert items["tw-1"].reading_direction == "ttb"
    assert items["ar-1"].title == "كتاب الأدب"
    assert [p.seq for p in items["ar-1"].pages] == [1, 2]
    assert len(items["ar-1"].pages[0].sha512) == 128


def test_every_problem_is_reported_in_one_pass(tmp_path):
    rows = [
        {"item_id": "a1", "languages": "fr", "title": "x"},
        {"item_id": "a2", "languages": "ar", "title": "", "rights": "secret"},
        {"item_id": "a2", "languages": "ar", "title": "dup"},
        {"item_id": "a3", "languages": "ar", "title": "t", "date": "1906-13",
         "reading_direction": "up"},
        {"item_id": "no-folder", "languages": "ar", "title": "t"},
    ]
    batch = make_batch(tmp_path, rows, pages={"no-folder": None})
    (batch / "stray").mkdir()
    report = validate_batch(batch)
    text = "\n".join(p.message for p in report.errors)
    assert "unknown language tag 'fr'" in text
    assert "required value 'title' is empty" in text
    assert "bad rights value 'secret'" in text
    assert "item_id 'a2' is used twice (rows 3 and 4)" in text
    assert "bad date '1906-13'" in text
    assert "bad reading_direction 'up'" in text
    assert "no folder no-folder/" in text
    assert any(p.file == "stray/" and "no row in manifest.csv" in p.message
               for p in report.errors)
    assert {p.row for p in report.errors if p.file == "manifest.csv"} >= {2, 3, 4, 5, 6}


def test_missing_and_non_utf8_manifest(tmp_path):
    batch = make_batch(tmp_path, [AR])
    (batch / "manifest.csv").write_bytes("item_id,languages,title\nar-1,ar,كتاب\n"
                                         .encode("cp1256"))
    report = validate_batch(batch)
    assert [p.message for p in report.errors][0].startswith("manifest.csv is not UTF-8")
    (batch / "manifest.csv").unlink()
    assert "manifest.csv is missing" in validate_batch(batch).errors[0].message


def test_bom_is_tolerated_and_unknown_columns_kept(tmp_path):
    batch = make_batch(tmp_path, [dict(ZH, shelfmark="善本 123")])
    data = (batch / "manifest.csv").read_bytes()
    (batch / "manifest.csv").write_bytes(b"\xef\xbb\xbf" + data)
    report = validate_batch(batch)
    assert report.is_valid, messages(report)
    assert report.batch.items[0].extra == {"shelfmark": "善本 123"}


def test_bad_pages_are_named(tmp_path):
    good = page_bytes("TIFF")
    batch = make_batch(tmp_path, [AR, ZH], pages={
        "ar-1": {"0001.tif": good, "0002.tif": good[: len(good) // 2], "0003.png": b"",
                 "0004.jpg": page_bytes("PNG"), "notes.docx": b"x", ".DS_Store": b"x"},
        "zh-1": {},
    })
    report = validate_batch(batch)
    by_file = {p.file: p for p in report.problems}
    assert "not a readable TIFF" in by_file["ar-1/0002.tif"].message
    assert "0 bytes" in by_file["ar-1/0003.png"].message
    assert "content is PNG" in by_file["ar-1/0004.jpg"].message
    assert "unsupported file type '.docx'" in by_file["ar-1/notes.docx"].message
    assert by_file["ar-1/.DS_Store"].severity == "notice"
    assert "no page images" in by_file["zh-1/"].message
    assert report.item_errors("ar-1") and report.item_errors("zh-1")


def test_unicode_page_names_sorted_naturally_and_shown_nfc(tmp_path):
    names = {"第10页.png": page_bytes(), "第2页.png": page_bytes(),
             unicodedata.normalize("NFD", "résumé-1.png"): page_bytes()}
    batch = make_batch(tmp_path, [ZH], pages={"zh-1": names})
    report = validate_batch(batch)
    assert report.is_valid, messages(report)
    pages = report.batch.items[0].pages
    assert [p.original_name for p in pages] == ["résumé-1.png", "第2页.png", "第10页.png"]
    assert all(unicodedata.is_normalized("NFC", p.original_name) for p in pages)
    assert (batch / pages[0].path).exists()  # the on-disk (NFD) name is kept for reading
    assert natural_key("p2") < natural_key("p10")


def test_cli_validate_exit_codes_and_json(tmp_path, capsys):
    good = make_batch(tmp_path / "g", [AR])
    assert main(["validate", str(good)]) == 0
    bad = make_batch(tmp_path / "b", [dict(AR, languages="xx")])
    capsys.readouterr()
    assert main(["validate", str(bad), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["is_valid"] is False
    assert out["problems"][0]["row"] == 2
    with pytest.raises(SystemExit) as exc:
        main(["validate"])
    assert exc.value.code == 2
    assert main(["validate", str(tmp_path / "missing")]) == 2
