"""File names and links: control characters, Unicode twins, symlinks and paths leaving the batch."""

import os
import unicodedata

from batchmaker import make_batch, page_bytes

from ingest.validate import validate_batch

AR = {"item_id": "ar-1", "languages": "ar", "title": "كتاب الأدب"}
ZH = {"item_id": "zh-1", "languages": "zh-Hans", "title": "文学史"}


def by_file(report):
    return {p.file: p for p in report.problems}


def test_control_characters_and_bidi_overrides_in_names_are_errors(tmp_path):
    batch = make_batch(tmp_path, [AR, ZH], pages={
        "ar-1": {"صفحة\x07١.png": page_bytes(), "صفحة\u202e٢.png": page_bytes(),
                 "صفحة\u200c٣.png": page_bytes()},  # ZWNJ is ordinary Persian/Urdu spelling
        "zh-1": {"第1页\n.png": page_bytes(), "第2页.png": page_bytes()},
    })
    report = validate_batch(batch)
    problems = by_file(report)
    assert "control character(s) U+0007" in problems["ar-1/صفحة\x07١.png"].message
    assert "U+202E" in problems["ar-1/صفحة\u202e٢.png"].message
    assert "ar-1/صفحة\u200c٣.png" not in problems
    assert "U+000A" in problems["zh-1/第1页\n.png"].message
    assert [p.original_name for p in report.batch.item("zh-1").pages] == ["第2页.png"]
    assert report.item_errors("ar-1") and report.item_errors("zh-1")


def test_nfc_and_nfd_twins_are_both_named(tmp_path):
    nfc = unicodedata.normalize("NFC", "مُقدّمة-é.png")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    batch = make_batch(tmp_path, [AR], pages={"ar-1": {nfc: page_bytes(), nfd: page_bytes(),
                                                       "0002.png": page_bytes()}})
    report = validate_batch(batch)
    twins = [p for p in report.errors if "different Unicode normalizations" in p.message]
    assert {p.file for p in twins} == {f"ar-1/{nfc}", f"ar-1/{nfd}"}
    assert "(NFC)" in twins[0].message and "(NFD)" in twins[0].message


def test_a_lone_nfd_name_is_fine(tmp_path):
    nfd = unicodedata.normalize("NFD", "résumé-文.png")
    report = validate_batch(make_batch(tmp_path, [ZH], pages={"zh-1": {nfd: page_bytes()}}))
    assert report.is_valid, report.problems


def test_symlinks_inside_and_outside_the_batch_are_refused(tmp_path):
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(page_bytes())
    batch = make_batch(tmp_path / "landing", [AR, ZH])
    os.symlink(outside, batch / "ar-1" / "0003.png")
    os.symlink(batch / "zh-1" / "0001.png", batch / "zh-1" / "0003.png")
    report = validate_batch(batch)
    problems = by_file(report)
    assert "symbolic link" in problems["ar-1/0003.png"].message
    assert str(outside) in problems["ar-1/0003.png"].message
    assert "symbolic link" in problems["zh-1/0003.png"].message
    assert report.item_errors("ar-1") and report.item_errors("zh-1")


def test_symlinked_item_folder_and_manifest_are_never_followed(tmp_path):
    real = make_batch(tmp_path / "real", [AR, ZH])
    batch = make_batch(tmp_path / "landing", [AR, ZH], pages={"zh-1": None})
    os.symlink(real / "zh-1", batch / "zh-1")
    report = validate_batch(batch)
    assert "symbolic link" in by_file(report)["zh-1"].message
    assert report.item_errors("zh-1") and not report.item_errors("ar-1")
    assert report.batch.item("zh-1").pages == []
    (batch / "manifest.csv").unlink()
    os.symlink(real / "manifest.csv", batch / "manifest.csv")
    report = validate_batch(batch)
    assert "symbolic link" in by_file(report)["manifest.csv"].message
    assert report.batch.items == []


def test_fifo_in_an_item_folder_is_refused_without_blocking(tmp_path):
    batch = make_batch(tmp_path, [ZH])
    os.mkfifo(batch / "zh-1" / "0003.png")
    report = validate_batch(batch)
    assert "not a regular file" in by_file(report)["zh-1/0003.png"].message
