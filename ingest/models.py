"""Typed models of a scanner batch, its items and their pages.

These are what stages pass each other (as JSON on disk or small XCom payloads), so every field is
plain data: strings, numbers, lists. Paths are strings relative to the batch folder, never
absolute, so a model stays valid wherever the batch is mounted.
"""

import datetime as dt
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, \
    model_validator

from kernel.ids import ID_PATTERN, BatchId, ItemId  # noqa: F401 - ID_PATTERN re-exported

MASTER_EXTENSIONS = {"TIFF": ".tif", "JPEG": ".jpg", "PNG": ".png", "JPEG2000": ".jp2"}


def _relative_path(value: str) -> str:
    """A page path must stay inside the batch: relative, no `..`, no empty or NUL segment."""
    parts = value.split("/")
    if (not value or PurePosixPath(value).is_absolute() or "\x00" in value
            or any(part in ("", ".", "..") for part in parts)):
        raise ValueError(f"page path {value!r} must be a relative path inside the batch")
    return value


class Page(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    seq: int  # 1-based position in reading order (natural sort of file names)
    original_name: str  # file name as scanned (NFC-normalised for display and METS)
    path: str  # path relative to the batch folder, byte-exact as on disk
    sha512: str  # digest of the file as received
    size: int
    format: str  # "TIFF" | "JPEG" | "PNG" | "JPEG2000"
    mimetype: str
    width: int
    height: int
    dpi: float | None = None
    # Technical characterization (ingest/characterize.py), read by the MIX techMD in METS.
    # Optional with defaults so pages recorded before characterization still load.
    bits_per_sample: int | None = None
    samples_per_pixel: int | None = None
    color_space: str | None = None  # Z39.87: "BlackIsZero", "WhiteIsZero", "RGB", "PaletteColor", …
    byte_order: str | None = None  # TIFF masters: "little endian" | "big endian" (Z39.87 byteOrder)
    icc_profile: bool = False
    compression: str | None = None  # "None", "LZW", "Deflate", "JPEG", "JPEG2000", ...
    md5: str | None = None
    puid: str | None = None  # PRONOM id: "fmt/353" TIFF, "fmt/43" JPEG, "x-fmt/392" JP2, ...
    x_resolution: float | None = None  # pixels per inch
    y_resolution: float | None = None

    @field_validator("path")
    @classmethod
    def _path_inside(cls, value: str) -> str:
        return _relative_path(value)

    @property
    def stem(self) -> str:
        """Safe ASCII name used for this page in bags, storage keys and derivative files."""
        return f"p{self.seq:04d}"

    @property
    def master_name(self) -> str:
        """Name of the master copy in the bag: the safe stem with the format's usual extension."""
        return self.stem + MASTER_EXTENSIONS[self.format]


class Rights(BaseModel):
    kind: str  # "open" | "restricted" | "embargo"
    until: dt.date | None = None  # embargo end date

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value):
        """Accept the manifest form ("embargo:2030-01-01") wherever a Rights is read back."""
        if isinstance(value, str):
            parsed = cls.parse(value)
            return {"kind": parsed.kind, "until": parsed.until}
        return value

    @model_serializer
    def _to_text(self) -> str:
        return str(self)

    @classmethod
    def parse(cls, value: str) -> "Rights":
        """Parse a manifest `rights` cell; raises ValueError with the accepted forms."""
        text = (value or "").strip()
        if text in ("", "open"):
            return cls(kind="open")
        if text == "restricted":
            return cls(kind="restricted")
        if text.startswith("embargo:"):
            try:
                return cls(kind="embargo", until=dt.date.fromisoformat(text[len("embargo:") :]))
            except ValueError:
                pass
        raise ValueError(
            f"bad rights value {value!r}: use open, restricted or embargo:YYYY-MM-DD"
        )

    def is_public(self, today: dt.date) -> bool:
        """True when the item may be shown on the portals on `today`."""
        if self.kind == "open":
            return True
        return self.kind == "embargo" and self.until is not None and self.until <= today

    def __str__(self) -> str:
        return f"embargo:{self.until.isoformat()}" if self.kind == "embargo" else self.kind


class MarcField(BaseModel):
    """One field of a catalogue record, as plain data: control fields have `data`, data fields
    indicators and subfields (code, value) in record order."""

    tag: str
    ind1: str = " "
    ind2: str = " "
    subfields: list[tuple[str, str]] = Field(default_factory=list)
    data: str | None = None  # control fields (001-009)

    def values(self, *codes: str) -> list[str]:
        return [value for code, value in self.subfields if not codes or code in codes]

    def first(self, code: str) -> str | None:
        return next((value for c, value in self.subfields if c == code), None)


class CatalogueRecord(BaseModel):
    """A partner's catalogue record, read by `ingest.catalogue` and mapped to MODS by
    `metadata.marc_mods`: ingest only reads, metadata interprets."""

    control_number: str
    format: str  # "marc21" | "unimarc"
    source: str  # where it came from: "records.xml", "records.mrc" or the SRU URL
    leader: str
    fields: list[MarcField] = Field(default_factory=list)

    def get(self, tag: str) -> list[MarcField]:
        return [f for f in self.fields if f.tag == tag]


class Ancestor(BaseModel):
    """A title or volume an item belongs to (issue 18), top level first in `Item.ancestors`."""

    item_id: str
    type: str  # DFG structure type: "periodical", "multivolume_work", "volume"
    title: str
    volume: str | None = None
    issue: str | None = None
    part: str | None = None
    sequence: int | None = None


class Item(BaseModel):
    # The id names folders and keys: an Item with an id that could be a path cannot exist.
    model_config = ConfigDict(validate_assignment=True)

    item_id: ItemId
    row: int  # line number in manifest.csv (header is line 1), for messages
    languages: list[str]  # BCP 47 tags, primary first
    title: str  # in the primary language
    titles: dict[str, str] = Field(default_factory=dict)  # parallel titles: "ar", "zh", "en"
    creator: str | None = None
    date: str | None = None
    publisher: str | None = None
    place: str | None = None
    subjects: list[str] = Field(default_factory=list)
    identifier: str | None = None
    rights: Rights = Field(default_factory=lambda: Rights(kind="open"))
    portals: list[str] = Field(default_factory=lambda: ["zh", "ar"])
    # Per-portal overrides of `rights` (manifest columns rights_zh, rights_ar): an item can be
    # open on one portal and under embargo on the other. Read through `rights_for`.
    portal_rights: dict[str, Rights] = Field(default_factory=dict)
    reading_direction: str = "ltr"  # "ltr" | "rtl" | "ttb"
    extra: dict[str, str] = Field(default_factory=dict)  # unknown manifest columns, kept verbatim
    pages: list[Page] = Field(default_factory=list)
    # Issue 18: the catalogue record named by the `record` column, its declared format
    # (`record_format`, else detected) and partner (`catalogue`), the parsed record, and per
    # descriptive field where its value came from ("manifest" or "record").
    record: str | None = None
    record_format: str | None = None
    catalogue: str | None = None
    catalogue_record: CatalogueRecord | None = None
    sources: dict[str, str] = Field(default_factory=dict)
    # Issue 18: serials and multi-volume works. `parent` is the item id of the title or volume
    # this item belongs to; a container (title or volume level) has no pages of its own.
    parent: str | None = None
    volume: str | None = None
    issue: str | None = None
    part: str | None = None
    sequence: int | None = None
    is_container: bool = False
    container_type: str | None = None  # "periodical", "multivolume_work" or "volume"
    ancestors: list[Ancestor] = Field(default_factory=list)

    @property
    def structure_type(self) -> str:
        """DFG structure type of this item: "periodical", "multivolume_work", "volume",
        "issue", "part" or, for a book on its own, "monograph"."""
        if self.is_container:
            return self.container_type or ("volume" if self.parent else "multivolume_work")
        if self.issue:
            return "issue"
        if self.volume:
            return "volume"
        if self.part:
            return "part"
        if self.parent:
            top = self.ancestors[0].type if self.ancestors else None
            return "issue" if top == "periodical" else "volume"
        return "monograph"

    @property
    def primary_language(self) -> str:
        return self.languages[0]

    def rights_for(self, portal: str) -> Rights | None:
        """The rights on `portal`: its override, else `rights`; None when not shown there."""
        if portal not in self.portals:
            return None
        return self.portal_rights.get(portal, self.rights)

    def public_portals(self, today: dt.date) -> list[str]:
        """The portals that may show the item on `today`, in `portals` order."""
        return [p for p in self.portals if (r := self.rights_for(p)) and r.is_public(today)]


class Batch(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    batch_id: BatchId
    path: str  # absolute path of the batch folder in the landing zone
    received_at: dt.datetime
    manifest_sha512: str
    items: list[Item]

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.item_id == item_id:
                return item
        raise KeyError(item_id)


def where(file: str, row: int | None, default: str = "(batch)") -> str:
    """Where a problem is, as messages show it: "manifest.csv line 4", "ar-1/0002.tif"."""
    return (file or default) + (f" line {row}" if row else "")


class Problem(BaseModel):
    severity: str  # "error" | "warning" | "notice"
    file: str  # path relative to the batch folder ("" for the batch itself)
    message: str  # what is wrong, in terms a technician can act on
    row: int | None = None  # manifest line, where the problem is in a row
    item_id: str | None = None


class ValidationReport(BaseModel):
    batch_dir: str
    problems: list[Problem] = Field(default_factory=list)
    batch: Batch | None = None  # the parsed batch, when the manifest could be read
    # Files whose size, mtime or inode differed before and after reading: the batch is still
    # being copied, so it is left for a later run (kernel.errors.BatchNotReady).
    changed_files: list[str] = Field(default_factory=list)
    # Manifest lines whose item_id is not a valid id (kernel.ids): reported, never made items.
    rejected_rows: list[int] = Field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def item_errors(self, item_id: str) -> list[Problem]:
        return [p for p in self.errors if p.item_id == item_id]

    def add(self, severity: str, file: str, message: str, row: int | None = None,
            item_id: str | None = None) -> None:
        self.problems.append(
            Problem(severity=severity, file=file, message=message, row=row, item_id=item_id)
        )
