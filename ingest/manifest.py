"""Reading `manifest.csv`: one row per item, every problem reported with its line number.

The manifest is the technician's only way to describe an item, so nothing in it is dropped:
columns the pipeline does not know are kept verbatim in `Item.extra`.
"""

import csv
import datetime as dt
import io
import re
import unicodedata
from pathlib import Path

from kernel.languages import READING_DIRECTIONS, UnknownLanguage, default_direction, language
from ingest.models import ID_PATTERN, Item, Rights, ValidationReport

MANIFEST = "manifest.csv"
REQUIRED = ("item_id", "languages", "title")
KNOWN = REQUIRED + (
    "title_ar", "title_zh", "title_en", "creator", "date", "publisher", "place", "subjects",
    "identifier", "rights", "portals", "reading_direction", "rights_zh", "rights_ar",
)
PORTALS = ("zh", "ar")

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


def read_manifest(batch_dir: Path, report: ValidationReport) -> list[Item]:
    """Parse `batch_dir/manifest.csv` into items, adding every problem found to `report`.

    Rows with errors are still returned (with what could be read), so that the report can say
    what is wrong with each item rather than stopping at the first bad row. Returns [] when the
    file itself cannot be read.
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
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [unicodedata.normalize("NFC", h.strip()) for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [col for col in REQUIRED if col not in header]
    if missing:
        report.add("error", MANIFEST, f"required column(s) missing from the header row: "
                   f"{', '.join(missing)}", row=1)
        return []
    for dup in sorted({h for h in header if header.count(h) > 1}):
        report.add("error", MANIFEST, f"column {dup!r} appears twice in the header row", row=1)

    items: list[Item] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if row.get(None):
            report.add("error", MANIFEST, "row has more cells than the header has columns",
                       row=line)
        cells = {k: unicodedata.normalize("NFC", (v or "").strip())
                 for k, v in row.items() if k is not None}
        if not any(cells.values()):
            continue
        item = _read_row(cells, line, report)
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


def _read_row(cells: dict[str, str], line: int, report: ValidationReport) -> Item:
    item_id = cells.get("item_id", "")

    def problem(message: str) -> None:
        report.add("error", MANIFEST, message, row=line, item_id=item_id or None)

    for col in REQUIRED:
        if not cells.get(col):
            problem(f"required value {col!r} is empty")
    if item_id and not ID_PATTERN.match(item_id):
        problem(f"item_id {item_id!r} is not 1–64 characters of A-Z a-z 0-9 . _ - "
                "(and may not start with a dot)")

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
    direction = cells.get("reading_direction") or (default_direction(tags) if tags else "ltr")
    if direction not in READING_DIRECTIONS:
        problem(f"bad reading_direction {direction!r}: use ltr, rtl or ttb")
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
    )
