"""Manifest cells XML and bag-info.txt cannot hold are refused at intake, by row and column.

Before issue 12, a control character in a title passed validation and made `describe` fail
after the item's OCR ("All strings must be XML compatible"), a line break inside a cell (Excel's
Alt+Enter) broke `bag-info.txt` in `package`, and a 200,000-character cell ended validation
with a csv traceback and no report at all.
"""

import csv

import pytest
from batchmaker import make_batch

from cadl import pipeline
from ingest.manifest import MAX_CELL_CHARS
from ingest.validate import validate_batch
from security.hostile import fingerprint, make_sandbox

AR = {"item_id": "ar-1", "languages": "ar", "title": "كتاب الأدب"}
ZH = {"item_id": "zh-1", "languages": "zh-Hans", "title": "文学史"}
CONTROL = ("the cell contains control character(s) {codes}, which XML and bag-info.txt cannot "
           "hold: retype the value")
BREAK = "the cell contains a line break (Alt+Enter in Excel): put the value on one line"


@pytest.mark.parametrize("column, value, codes", [
    ("title", "كتاب\x00الأدب", "U+0000"),
    ("creator", "\x01ابن خلدون", "U+0001"),
    ("title_zh", "文学\x1b[31m史", "U+001B"),
    ("notes", "批注\x07\x7f", "U+0007, U+007F"),  # an unknown column, kept in Item.extra
])
def test_control_characters_are_reported_with_row_and_column(tmp_path, column, value, codes):
    batch = make_batch(tmp_path, [ZH, dict(AR, **{column: value})])
    report = validate_batch(batch)
    errors = [(p.file, p.row, p.item_id, p.message) for p in report.errors]
    assert errors == [("manifest.csv", 3, "ar-1",
                       f"column {column!r}: " + CONTROL.format(codes=codes))]
    assert not report.item_errors("zh-1")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\u2028"])
def test_a_line_break_inside_a_cell_is_reported_at_the_rows_first_line(tmp_path, newline):
    batch = make_batch(tmp_path, [ZH, dict(AR, title=f"كتاب{newline}الأدب"), dict(
        ZH, item_id="zh-2")])
    report = validate_batch(batch)
    assert [(p.row, p.item_id, p.message) for p in report.errors] == [
        (3, "ar-1", f"column 'title': {BREAK}")]
    assert [i.row for i in report.batch.items] == [2, 3, 4 + (newline in "\r\n\r\n")]


def test_a_cell_over_the_csv_field_limit_is_reported_not_a_traceback(tmp_path):
    assert MAX_CELL_CHARS == 131_072 == csv.field_size_limit()
    batch = make_batch(tmp_path, [dict(AR, title="ك" * 200_000), ZH])
    report = validate_batch(batch)
    assert [(p.row, p.item_id, p.message) for p in report.errors] == [
        (2, "ar-1", "column 'title': the cell is 200,000 characters long, over the limit of "
         "131,072: shorten it (was a whole text pasted into it?)")]
    assert csv.field_size_limit() == 131_072  # the process-wide limit is restored
    item = report.batch.item("ar-1")
    assert len(item.title) == 201 and "\n" not in item.title  # shown shortened, never used


def test_a_control_character_in_the_item_id_cell_rejects_the_row(tmp_path):
    batch = make_batch(tmp_path, [ZH, dict(AR, item_id="ar-1\x00")], pages={"ar-1\x00": None})
    report = validate_batch(batch)
    assert report.rejected_rows == [3]
    assert [i.item_id for i in report.batch.items] == ["zh-1"]
    assert [p.message for p in report.errors] == [
        "column 'item_id': " + CONTROL.format(codes="U+0000"),
        "item_id 'ar-1?' is not 1–64 characters of A-Z a-z 0-9 . _ - (and may not start with "
        "a dot); the row is not processed"]


def test_a_header_with_a_control_character_is_reported_on_line_1(tmp_path):
    batch = make_batch(tmp_path, [dict(AR, **{"no\x1bte": "x"})])
    report = validate_batch(batch)
    assert [(p.row, p.message) for p in report.errors] == [
        (1, "column name 'no?te': " + CONTROL.format(codes="U+001B"))]


def test_bad_cells_quarantine_the_item_at_validation_not_after_ocr(tmp_path):
    settings = make_sandbox(tmp_path)
    batch = make_batch(settings.landing_dir, [
        dict(AR, title="كتاب\x00"), dict(ZH, title="文学\n史"),
        dict(ZH, item_id="zh-2", creator="鲁" * 150_000), dict(ZH, item_id="zh-3")],
        batch_id="cells-001")
    before = fingerprint(tmp_path)
    plan = pipeline.validate(str(batch), "r1", settings)
    actions = {u["item_id"]: u["action"] for u in plan["units"]}
    assert actions == {"ar-1": "skip", "zh-1": "skip", "zh-2": "skip", "zh-3": "process"}
    report = (tmp_path / "quarantine" / "cells-001" / "zh-1" / "report.txt").read_text("utf-8")
    assert f"[error] manifest.csv line 3: column 'title': {BREAK}" in report
    assert fingerprint(tmp_path) == before
