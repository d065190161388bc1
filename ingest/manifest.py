"""Reading `manifest.csv`: one row per item, every problem reported with its line number.

The manifest is the technician's only way to describe an item, so nothing in it is dropped:
columns the pipeline does not know are kept verbatim in `Item.extra`.

Every cell ends up in XML (MODS, METS, PREMIS) or in `bag-info.txt`, so a cell that neither
can hold — a control character, a line break (Alt+Enter in Excel), a value longer than
`MAX_CELL_CHARS` — is an error on its row and column here, at intake, rather than a failure of
`describe` or `package` after the item's OCR. A row whose `item_id` is not a valid id
(kernel.ids) is reported and never becomes an `Item`: the id would name folders.
"""

import csv
import datetime as dt
import io
import re
import unicodedata
from pathlib import Path

from kernel.ids import ID_RULE, is_valid_id
from kernel.languages import READING_DIRECTIONS, UnknownLanguage, default_direction, language
from ingest.models import Item, Rights, ValidationReport

MANIFEST = "manifest.csv"
REQUIRED = ("item_id", "languages", "title")
# Issue 18: a row may name a catalogue record instead of describing the item itself; then
# `title` may be left out (docs/catalogue-records.md).
RECORD_COLUMNS = ("record", "record_format", "catalogue")
# Serials and multi-volume works (docs/batch-format.md): the title or volume an item belongs to,
# its numbering, and its place among its siblings.
SERIAL_COLUMNS = ("parent", "volume", "issue", "part", "sequence")
RECORD_FORMATS = ("marc21", "unimarc")
KNOWN = REQUIRED + (
    "title_ar", "title_zh", "title_en", "creator", "date", "publisher", "place", "subjects",
    "identifier", "rights", "portals", "reading_direction", "rights_zh", "rights_ar",
) + RECORD_COLUMNS + SERIAL_COLUMNS
# Descriptive columns a catalogue record can fill; a filled cell overrides the record.
DESCRIPTIVE = ("title", "title_ar", "title_zh", "title_en", "creator", "date", "publisher",
               "place", "subjects", "identifier")
PORTALS = ("zh", "ar")
# The csv module's own default field limit: a longer cell is a pasting accident (a whole
# document in a title), not a value anyone means. The manifest is parsed with the limit lifted
# (see `_rows`) so such a cell is reported with its row and column instead of aborting the read.
MAX_CELL_CHARS = 131_072
# Characters XML 1.0 cannot hold at all (besides C0 controls): the noncharacters U+FFFE/U+FFFF.
_NOT_XML = {"\ufffe", "\uffff"}

# The EDTF level-0/1 forms catalogues actually use: year, year-month, full date, open
# or uncertain years ("190X", "1906?", "1906~"), and intervals of those.
_EDTF_DATE = r"-?\d{4}|\d{3}X|\d{2}XX|\d{4}-\d{2}|\d{4}-\d{2}-\d{2}"
_EDTF = re.compile(rf"^(?:{_EDTF_DATE})[?~%]?(?:/(?:{_EDTF_DATE})[?~%]?|/\.\.)?$")


def _valid_date(text: str) -> bool:
    if not _EDTF.match(text):
        return False
    for part in re.findall(r"\d{4}-\d{2}(?:-\d{2})?", text):
        try:
            dt.date.fromisoformat(part if len(part) > 7 else part + "-01")
        except ValueError:
            return False
    return True


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def cell_problem(value: str) -> str | None:
    """What makes a (stripped) cell unfit for XML and bag-info.txt, or None when it is fine."""
    if len(value) > MAX_CELL_CHARS:
        return (f"the cell is {len(value):,} characters long, over the limit of "
                f"{MAX_CELL_CHARS:,}: shorten it (was a whole text pasted into it?)")
    breaks = [ch for ch in value if ch in "\r\n\x0b\x0c\x85\u2028\u2029"]
    if breaks:
        return ("the cell contains a line break (Alt+Enter in Excel): put the value on one "
                "line")
    bad = sorted({ch for ch in value if unicodedata.category(ch) == "Cc" or ch in _NOT_XML})
    if bad:
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in bad)
        return (f"the cell contains control character(s) {codes}, which XML and bag-info.txt "
                "cannot hold: retype the value")
    return None


def _rows(text: str):
    """(first line, row cells | csv.Error) for each record of the manifest, header first.

    Blank lines are skipped. The csv module's field limit is process-wide; it is lifted to the
    manifest's own length while this reader runs (no field can be longer) and restored after,
    so an overlong cell is read and then reported by `cell_problem` rather than ending the read
    with csv.Error.
    """
    saved = csv.field_size_limit()
    csv.field_size_limit(max(saved, len(text) + 1))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, exc
                return
            if row:
                yield start, row
    finally:
        csv.field_size_limit(saved)


def read_manifest(batch_dir: Path, report: ValidationReport) -> list[Item]:
    """Parse `batch_dir/manifest.csv` into items, adding every problem found to `report`.

    Rows with errors are still returned (with what could be read), so that the report can say
    what is wrong with each item rather than stopping at the first bad row — except a row
    whose item_id is not a valid id: it is reported, its line added to `report.rejected_rows`,
    and no Item is made of it. Returns [] when the file itself cannot be read.
    """
    path = batch_dir / MANIFEST
    if not path.is_file():
        report.add("error", MANIFEST, "manifest.csv is missing: add it beside the item folders")
        return []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        report.add("error", MANIFEST, f"manifest.csv is not UTF-8 (bad byte at line {line}): "
                   "save it as UTF-8 (CSV UTF-8 in Excel/LibreOffice)", row=line)
        return []
    rows = _rows(text)
    _, raw_header = next(rows, (1, []))
    if isinstance(raw_header, csv.Error):
        report.add("error", MANIFEST, f"the header row cannot be read as CSV ({raw_header}): "
                   "save the file again as CSV UTF-8", row=1)
        return []
    header = [unicodedata.normalize("NFC", h.strip()) for h in raw_header]
    missing = [col for col in REQUIRED if col not in header
               and not (col == "title" and "record" in header)]
    if missing:
        report.add("error", MANIFEST, f"required column(s) missing from the header row: "
                   f"{', '.join(missing)}", row=1)
        return []
    for dup in sorted({h for h in header if header.count(h) > 1}):
        report.add("error", MANIFEST, f"column {dup!r} appears twice in the header row", row=1)
    for col in header:
        if problem := cell_problem(col):
            report.add("error", MANIFEST, f"column name {_printable(col)!r}: {problem}", row=1)

    items: list[Item] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if isinstance(row, csv.Error):
            report.add("error", MANIFEST, f"the row cannot be read as CSV ({row}); the rows "
                       "after it were not read: save the file again as CSV UTF-8", row=line)
            break
        cells: dict[str, str] = {}
        for col, value in zip(header, row):
            cells.setdefault(col, unicodedata.normalize("NFC", value.strip()))
        if not any(cells.values()) and not any(v.strip() for v in row[len(header):]):
            continue
        if len(row) > len(header):
            report.add("error", MANIFEST, "row has more cells than the header has columns",
                       row=line)
        raw_id = cells.get("item_id", "")
        bad_cells = False
        for col, value in cells.items():
            if problem := cell_problem(value):
                bad_cells = True
                report.add("error", MANIFEST, f"column {_printable(col)!r}: {problem}", row=line,
                           item_id=raw_id if is_valid_id(raw_id) else None)
        if bad_cells:  # keep the values showable in reports, never usable: one line, short
            cells = {k: _printable(v) for k, v in cells.items()}
        item = _read_row(cells, line, report)
        if item is None:
            report.rejected_rows.append(line)
            continue
        if item.item_id in seen:
            report.add("error", MANIFEST, f"item_id {item.item_id!r} is used twice (rows "
                       f"{seen[item.item_id]} and {line}): give each item its own id",
                       row=line, item_id=item.item_id)
            continue
        seen[item.item_id] = line
        items.append(item)
    if not items and not report.errors:
        report.add("error", MANIFEST, "manifest.csv has a header but no item rows")
    return items


def _printable(value: str) -> str:
    """A bad cell as messages may show it: control characters as `?`, at most 200 characters."""
    cleaned = "".join("?" if unicodedata.category(ch) == "Cc" or ch in _NOT_XML else ch
                      for ch in value[:200])
    return cleaned + ("…" if len(value) > 200 else "")


def _read_row(cells: dict[str, str], line: int, report: ValidationReport) -> Item | None:
    """The row as an Item, its problems added to `report`; None when its item_id is unusable."""
    item_id = cells.get("item_id", "")
    valid_id = is_valid_id(item_id)

    def problem(message: str) -> None:
        report.add("error", MANIFEST, message, row=line, item_id=item_id if valid_id else None)

    for col in REQUIRED:
        if not cells.get(col) and not (col == "title" and cells.get("record")):
            problem(f"required value {col!r} is empty" + (
                " (or name a catalogue record in the 'record' column)" if col == "title" else ""))
    if item_id and not valid_id:
        problem(f"item_id {item_id!r} is not {ID_RULE}; the row is not processed")
    record_format = cells.get("record_format") or None
    if record_format and record_format.lower() not in RECORD_FORMATS:
        problem(f"bad record_format {record_format!r}: use marc21 or unimarc (or leave it empty "
                "to detect the format)")
    catalogue = cells.get("catalogue") or None
    if catalogue and catalogue not in PORTALS:
        problem(f"unknown catalogue {catalogue!r}: use zh (National Library of China) or ar")

    tags: list[str] = []
    for tag in _split(cells.get("languages", "")):
        try:
            tags.append(language(tag).tag)
        except UnknownLanguage as exc:
            problem(str(exc))
    rights = Rights(kind="open")
    try:
        rights = Rights.parse(cells.get("rights", ""))
    except ValueError as exc:
        problem(str(exc))
    portal_rights = {}
    for portal in PORTALS:  # per-portal overrides of `rights`: rights_zh, rights_ar
        if cells.get(f"rights_{portal}"):
            try:
                portal_rights[portal] = Rights.parse(cells[f"rights_{portal}"])
            except ValueError as exc:
                problem(f"rights_{portal}: {exc}")
    portals = _split(cells.get("portals", "")) or list(PORTALS)
    for portal in portals:
        if portal not in PORTALS:
            problem(f"unknown portal {portal!r}: use zh, ar or zh;ar")
    date = cells.get("date") or None
    if date and not _valid_date(date):
        problem(f"bad date {date!r}: use ISO 8601 / EDTF such as 1906, 2014-10, 1906-03-01, "
                "190X or 1905/1906")
    parent = cells.get("parent") or None
    if parent and not is_valid_id(parent):
        problem(f"parent {parent!r} is not an item id ({ID_RULE})")
    elif parent and parent == item_id:
        problem("parent names the item itself: give the id of its title or volume")
    sequence = None
    if cells.get("sequence"):
        try:
            sequence = int(cells["sequence"])
            if sequence < 1:
                raise ValueError
        except ValueError:
            problem(f"bad sequence {cells['sequence']!r}: use a whole number from 1 (the "
                    "item's place among its title's or volume's items)")
            sequence = None
    direction = cells.get("reading_direction") or (default_direction(tags) if tags else "ltr")
    if direction not in READING_DIRECTIONS:
        problem(f"bad reading_direction {direction!r}: use ltr, rtl or ttb")
    if not valid_id:
        return None  # an id that could name a path never becomes an Item
    return Item(
        item_id=item_id,
        row=line,
        languages=tags,
        title=cells.get("title", ""),
        titles={k[len("title_"):]: v for k, v in cells.items()
                if k in ("title_ar", "title_zh", "title_en") and v},
        creator=cells.get("creator") or None,
        date=date,
        publisher=cells.get("publisher") or None,
        place=cells.get("place") or None,
        subjects=_split(cells.get("subjects", "")),
        identifier=cells.get("identifier") or None,
        rights=rights,
        portals=[p for p in portals if p in PORTALS],
        portal_rights=portal_rights,
        reading_direction=direction,
        extra={k: v for k, v in cells.items() if k not in KNOWN and v},
        record=cells.get("record") or None,
        record_format=record_format.lower() if record_format else None,
        catalogue=catalogue,
        sources=({k: "manifest" for k in DESCRIPTIVE if cells.get(k)}
                 if cells.get("record") else {}),
        # A bad parent is reported above and never used: it would name folders and keys.
        parent=parent if parent and is_valid_id(parent) and parent != item_id else None,
        volume=cells.get("volume") or None,
        issue=cells.get("issue") or None,
        part=cells.get("part") or None,
        sequence=sequence,
    )
