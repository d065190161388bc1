"""METS 1.12 document of one item: its MODS, its PREMIS, its files and their order.

The output is a pure function of the inputs: the creation time is injected, IDs derive from the
callers' file ids and page numbers, files are sorted by group, page and id, so building twice
gives the same bytes and golden files can be diffed.

Reading direction: METS has no attribute for it. The physical structMap records it in its LABEL
as `reading-direction:<code>` ("rtl", "ltr" or "ttb", the manifest's codes); the page divs are in
reading order (ORDER 1 is the first page a reader opens, whichever side of the book that is), so
a viewer needs the LABEL only to choose how to lay the pages out.
"""

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

from lxml import etree
from lxml.builder import ElementMaker

from kernel.languages import READING_DIRECTIONS
from ingest.models import Item
from metadata.agents import MetsAgent
from metadata.mix import build_mix
from metadata.mods import build_mods
from kernel.namespaces import METS, MIX, MODS, NSMAP, PREMIS, XLINK, XML, XSI, schema_location
from metadata.premis import build_rights
from metadata.text import iso_utc, nfc

E = ElementMaker(namespace=METS, nsmap=NSMAP)

# File group → fileGrp USE, in the order the groups appear in the fileSec and in each page's fptrs.
FILE_GROUPS: dict[str, str] = {
    "masters": "master",
    "alto": "ocr-alto",
    "hocr": "ocr-hocr",
    "text": "ocr-text",
    "ocr-summary": "ocr-summary",  # the per-item OCR summary (JSON) cadl.pipeline bags
    "search": "ocr-search",  # per page search variant of the OCR text (ocr.search)
    "pdf": "pdf",
    "thumbnails": "thumbnail",
}

DMD_ID = "DMD_MODS"
DIGIPROV_ID = "DIGIPROV_PREMIS"
RIGHTS_ID = "RIGHTS_PREMIS"
TECHMD_PREFIX = "TECHMD_"  # + the master's file ID: its MIX record
PREMIS_OBJECT_PREFIX = "PREMIS_"  # + a file ID: its PREMIS object
AMD_ID = "AMD"
PHYSICAL_ROOT_ID = "PHYS"
LOGICAL_ROOT_ID = "LOG"
READING_DIRECTION_LABEL = "reading-direction:"
UNKNOWN_DATE = "XXXX"  # EDTF level 1: a date not specified

_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")
_SHA512 = re.compile(r"^[0-9a-f]{128}$")


@dataclass(frozen=True)
class FileEntry:
    """One file the METS lists: a master scan or a derivative."""

    group: str  # a key of FILE_GROUPS: "masters", "alto", "hocr", "text", "ocr-summary", "pdf",
    #             "thumbnails"
    file_id: str  # the METS file ID: an XML NCName, unique in the document, e.g. "alto-p0001"
    href: str  # path relative to the METS file, e.g. "alto/p0001.xml"
    mimetype: str
    sha512: str  # lowercase hex
    size: int
    created: datetime  # timezone-aware
    page_seq: int | None = None  # the page it belongs to; None for item-level files (the PDF)

    def __post_init__(self):
        if self.group not in FILE_GROUPS:
            raise ValueError(f"file {self.file_id}: unknown group {self.group!r}; "
                             f"use one of {', '.join(FILE_GROUPS)}")
        if not _NCNAME.match(self.file_id):
            raise ValueError(f"file id {self.file_id!r} is not an XML ID: start with a letter, "
                             "then letters, digits, '.', '_' or '-'")
        if not _SHA512.match(self.sha512):
            raise ValueError(f"file {self.file_id}: {self.sha512!r} is not a hex SHA-512 digest")
        if self.page_seq is not None and self.page_seq < 1:
            raise ValueError(f"file {self.file_id}: page_seq {self.page_seq} is not 1 or more")


def page_div_id(seq: int) -> str:
    """ID of the physical div of page `seq`."""
    return f"{PHYSICAL_ROOT_ID}_{seq:04d}"


def _sort_key(entry: FileEntry) -> tuple:
    return (list(FILE_GROUPS).index(entry.group), entry.page_seq or 0, entry.file_id)


def _agent(agent: MetsAgent) -> etree._Element:
    element = E.agent(E.name(nfc(agent.name)), ROLE=agent.role, TYPE=agent.type)
    if agent.other_role:
        element.set("OTHERROLE", agent.other_role)
    if agent.other_type:
        element.set("OTHERTYPE", agent.other_type)
    for lang, text in agent.notes:
        note = E.note(nfc(text))
        if lang:
            note.set(f"{{{XML}}}lang", lang)
        element.append(note)
    return element


def _strip_indentation(element: etree._Element) -> etree._Element:
    """Drop whitespace-only text between child elements of a record parsed from a file, so the
    pretty-printer indents it like the rest and the output does not depend on where it came from."""
    for node in element.iter():
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None  # the record's own tail too: it came from its old parent
    return element


def _md_wrap(mdtype: str, record: etree._Element) -> etree._Element:
    return E.mdWrap(E.xmlData(_strip_indentation(copy.deepcopy(record))), MDTYPE=mdtype,
                    MIMETYPE="text/xml")


def techmd_id(file_id: str) -> str:
    """ID of the techMD holding the MIX record of master file `file_id`."""
    return f"{TECHMD_PREFIX}{file_id}"


def _file(entry: FileEntry, with_object: set[str]) -> etree._Element:
    flocat = E.FLocat(LOCTYPE="URL")
    flocat.set(f"{{{XLINK}}}type", "simple")
    flocat.set(f"{{{XLINK}}}href", nfc(entry.href))
    element = E.file(flocat, ID=entry.file_id, MIMETYPE=entry.mimetype, SIZE=str(entry.size),
                     CREATED=iso_utc(entry.created), CHECKSUM=entry.sha512,
                     CHECKSUMTYPE="SHA-512")
    if entry.page_seq is not None:
        element.set("SEQ", str(entry.page_seq))
    if entry.group == "masters" or entry.file_id in with_object:
        element.set("ADMID", amd_id(entry.file_id))
    return element


def _file_sec(files: list[FileEntry], with_object: set[str]) -> etree._Element:
    groups = []
    for group, use in FILE_GROUPS.items():
        members = [_file(f, with_object) for f in files if f.group == group]
        if members:
            groups.append(E.fileGrp(*members, ID=f"FILEGRP_{group}", USE=use))
    return E.fileSec(*groups)


def _page_seqs(item: Item, files: list[FileEntry]) -> list[int]:
    known = {page.seq for page in item.pages}
    referenced = {f.page_seq for f in files if f.page_seq is not None}
    strays = sorted(referenced - known) if known else []
    if strays:
        raise ValueError(f"item {item.item_id}: files name pages {strays} the item does not have")
    return sorted(known | referenced)


def _physical_struct_map(item: Item, files: list[FileEntry], title: str) -> etree._Element:
    pages = []
    for seq in _page_seqs(item, files):
        pointers = [E.fptr(FILEID=f.file_id) for f in files if f.page_seq == seq]
        pages.append(E.div(*pointers, ID=page_div_id(seq), TYPE="page", ORDER=str(seq),
                           ORDERLABEL=str(seq)))
    return E.structMap(
        E.div(*pages, ID=PHYSICAL_ROOT_ID, TYPE="physSequence", LABEL=title),
        TYPE="PHYSICAL",
        LABEL=f"{READING_DIRECTION_LABEL}{item.reading_direction}",
    )


def _logical_struct_map(files: list[FileEntry], title: str, item: Item) -> etree._Element:
    # The whole item is one logical unit; it points to its item-level files, the PDF first.
    item_level = sorted((f for f in files if f.page_seq is None),
                        key=lambda f: (f.group != "pdf", _sort_key(f)))
    struct_map = _item_struct_map(item_level, title)
    if item.parent:
        # Issue 18: an issue or volume sits inside its title's (and volume's) divs, each with
        # an mptr to that level's METS (metadata.serials).
        from metadata.serials import nest_logical

        nest_logical(item, struct_map)
    return struct_map


def _item_struct_map(item_level: list[FileEntry], title: str) -> etree._Element:
    return E.structMap(
        E.div(*[E.fptr(FILEID=f.file_id) for f in item_level], ID=LOGICAL_ROOT_ID,
              TYPE="item", LABEL=title, DMDID=DMD_ID, ADMID=f"{DIGIPROV_ID} {RIGHTS_ID}"),
        TYPE="LOGICAL",
    )


def _file_tree_struct_map(item: Item, files: list[FileEntry]) -> etree._Element:
    """The bag's files as a directory tree, the structMap Archivematica's METS reader (metsrw)
    walks: `TYPE="physical"` (METS leaves TYPE free; the page structure above is `PHYSICAL`, as
    DFG-style readers expect), `Directory` divs by path, one `Item` div per file."""
    def directory(label: str) -> etree._Element:
        return E.div(TYPE="Directory", LABEL=label)

    root = directory(item.item_id)
    folders: dict[tuple[str, ...], etree._Element] = {(): root}
    for entry in sorted(files, key=lambda f: f.href):
        parts = tuple(entry.href.split("/"))
        for depth in range(1, len(parts)):
            if parts[:depth] not in folders:
                folder = directory(parts[depth - 1])
                folders[parts[:depth - 1]].append(folder)
                folders[parts[:depth]] = folder
        folders[parts[:-1]].append(E.div(E.fptr(FILEID=entry.file_id), TYPE="Item",
                                         LABEL=nfc(parts[-1])))
    return E.structMap(root, TYPE="physical", ID="FILETREE", LABEL="bag directory structure")


def _struct_link() -> etree._Element:
    link = E.smLink()
    link.set(f"{{{XLINK}}}from", LOGICAL_ROOT_ID)
    link.set(f"{{{XLINK}}}to", PHYSICAL_ROOT_ID)
    return E.structLink(link)


def amd_id(file_id: str) -> str:
    """ID of the amdSec of one file: its PREMIS object and, for a master, its MIX."""
    return f"AMD_{file_id}"


def premis_object_id(file_id: str) -> str:
    """ID of the techMD holding the PREMIS object of file `file_id`."""
    return f"{PREMIS_OBJECT_PREFIX}{file_id}"


def _local_id(obj: etree._Element) -> str | None:
    for ident in obj.findall(f"{{{PREMIS}}}objectIdentifier"):
        if ident.findtext(f"{{{PREMIS}}}objectIdentifierType") == "local":
            return ident.findtext(f"{{{PREMIS}}}objectIdentifierValue")
    return None


def split_premis(premis: etree._Element, file_ids: set[str], entity_id: str | None = None
                 ) -> tuple[etree._Element, dict[str, etree._Element]]:
    """The record without the objects of `file_ids` (matched by their local identifier), and
    those objects by file ID. Each file's object goes into its own amdSec, so a METS reader
    (metsrw, Archivematica) finds it from the file's ADMID; events, agents and the item entity
    stay together in the digiprovMD. PREMIS needs an object in every record: when none is left,
    the item (`entity_id`) is added as an intellectual entity."""
    record = copy.deepcopy(premis)
    per_file = {}
    for obj in record.findall(f"{{{PREMIS}}}object"):
        local = _local_id(obj)
        if local in file_ids:
            per_file[local] = obj
            record.remove(obj)
    if entity_id and record.find(f"{{{PREMIS}}}object") is None:
        entity = etree.Element(f"{{{PREMIS}}}object")
        ident = etree.SubElement(entity, f"{{{PREMIS}}}objectIdentifier")
        etree.SubElement(ident, f"{{{PREMIS}}}objectIdentifierType").text = "local"
        etree.SubElement(ident, f"{{{PREMIS}}}objectIdentifierValue").text = entity_id
        entity.set(f"{{{XSI}}}type", "premis:intellectualEntity")
        record.insert(0, entity)
    return record, per_file


def _amd_secs(item: Item, files: list[FileEntry], premis: etree._Element,
              rights_since: str) -> list[etree._Element]:
    """One amdSec per file (its PREMIS object; MIX for a master), then the item's: the rights,
    then the provenance (events, agents, the item as entity), as METS orders them."""
    pages = {page.seq: page for page in item.pages}
    record, objects = split_premis(premis, {f.file_id for f in files}, item.item_id)
    sections = []
    for entry in files:
        tech = []
        if entry.group == "masters":
            page = pages.get(entry.page_seq)
            if page is None:
                raise ValueError(f"item {item.item_id}: master {entry.file_id} names no page of "
                                 "the item, so it has no characterization for MIX")
            tech.append(E.techMD(_md_wrap("NISOIMG", build_mix(page, entry.file_id)),
                                 ID=techmd_id(entry.file_id)))
        if entry.file_id in objects:
            tech.append(E.techMD(_md_wrap("PREMIS:OBJECT", objects[entry.file_id]),
                                 ID=premis_object_id(entry.file_id)))
        if tech:
            sections.append(E.amdSec(*tech, ID=amd_id(entry.file_id)))
    rights = build_rights(f"{item.item_id}-access", str(item.rights), item.portals,
                          rights_since, [item.item_id])
    sections.append(E.amdSec(
        E.rightsMD(_md_wrap("PREMIS:RIGHTS", rights), ID=RIGHTS_ID),
        E.digiprovMD(_md_wrap("PREMIS", record), ID=DIGIPROV_ID),
        ID=AMD_ID,
    ))
    return sections


def _captured(files: Sequence[FileEntry]) -> date | None:
    """The day the first master was captured (its file time), for MODS' digitization event."""
    masters = [f.created for f in files if f.group == "masters"]
    return min(masters).astimezone(timezone.utc).date() if masters else None


def build_mets(
    item: Item,
    batch_id: str,
    files: Sequence[FileEntry],
    premis: etree._Element,
    agents: Sequence[MetsAgent],
    created: datetime,
    record_source: str | None = None,
    rights_since: date | None = None,
) -> bytes:
    """The METS document of `item` as pretty-printed UTF-8 bytes with an XML declaration.

    `premis` is a `premis:premis` record (see metadata.premis.build_premis); it is copied, not
    moved. `agents` are the header agents (metadata.agents.load_partners + software_agent).
    `created` is the METS CREATEDATE (timezone-aware). `record_source` is passed to build_mods.
    `rights_since` starts the term of the PREMIS rights statement (the day the partner set the
    policy: the batch's arrival); without it the term starts at the EDTF unspecified date "XXXX".
    Raises ValueError for duplicate file ids, files naming pages the item does not have, or an
    unknown reading direction; MetadataInvalid for manifest values MODS cannot express.
    """
    if item.reading_direction not in READING_DIRECTIONS:
        raise ValueError(f"item {item.item_id}: unknown reading direction "
                         f"{item.reading_direction!r}")
    files = sorted(files, key=_sort_key)
    ids = [f.file_id for f in files]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"item {item.item_id}: duplicate file ids {', '.join(duplicates)}")
    title = nfc(item.title)
    header = E.metsHdr(
        *[_agent(a) for a in agents],
        E.altRecordID(batch_id, TYPE="batch"),
        CREATEDATE=iso_utc(created),
    )
    root = E.mets(
        header,
        E.dmdSec(_md_wrap("MODS", build_mods(item, batch_id, record_source, created,
                                             _captured(files))), ID=DMD_ID),
        *_amd_secs(item, files, premis, rights_since.isoformat() if rights_since else
                   UNKNOWN_DATE),
        _file_sec(files, set(split_premis(premis, {f.file_id for f in files})[1])),
        _physical_struct_map(item, files, title),
        _logical_struct_map(files, title, item),
        _file_tree_struct_map(item, files),
        _struct_link(),
        OBJID=item.item_id,
        LABEL=title,
    )
    root.set(f"{{{XSI}}}schemaLocation", schema_location(METS, MODS, PREMIS, MIX))
    # Declare every prefix once, on the root; "premis" is also used inside xsi:type values.
    etree.cleanup_namespaces(root, top_nsmap=NSMAP, keep_ns_prefixes=["premis"])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
