"""The reader of our own packages: a bag and its METS back into the project's item model.

`read_package` loads a bag written by the pipeline (docs/package-format.md) into an `Item` with
its pages, the METS file list, the PREMIS record and the header agents: everything `build_mets`
was given. `rewrite_mets` hands those back to `build_mets`, and the result is the same bytes as
the METS in the bag: the test of that round trip is what keeps reader and writer in step.
Fixity audits, re-ingest and publishing read packages through here.

`read_mets` is the lighter view (a dict of the facts later stages need) for callers holding
only a METS file. Neither is a general METS parser: they read what this package writes.
"""

import copy
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from kernel.errors import MetadataInvalid
from ingest.models import Item, Page, Rights
from metadata.agents import MetsAgent
from metadata.mets import (FILE_GROUPS, READING_DIRECTION_LABEL, TECHMD_PREFIX, UNKNOWN_DATE,
                           FileEntry, build_mets)
from metadata.mix import read_mix
from metadata.mods import READING_DIRECTION_NOTE
from kernel.namespaces import CADL, METS, MIX, MODS, PREMIS, XLINK, XML

NS = {"mets": METS, "mods": MODS, "premis": PREMIS, "mix": MIX, "cadl": CADL}
METS_FILE = "mets.xml"  # the METS is a tag file at the bag root
_GROUP_BY_USE = {use: group for group, use in FILE_GROUPS.items()}


def _parse(path_or_bytes: bytes | str | os.PathLike) -> etree._Element:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False,
                             huge_tree=True)
    source = path_or_bytes if isinstance(path_or_bytes, bytes) else os.fspath(path_or_bytes)
    try:
        if isinstance(source, bytes):
            return etree.fromstring(source, parser)
        return etree.parse(source, parser).getroot()
    except (etree.XMLSyntaxError, OSError) as exc:
        raise MetadataInvalid(f"cannot read METS {source if isinstance(source, str) else ''}: "
                              f"{exc}") from None


def _titles(mods: etree._Element) -> list[dict]:
    return [
        {
            "title": info.findtext("mods:title", namespaces=NS),
            "lang": info.get("lang"),
            "xml_lang": info.get(f"{{{XML}}}lang"),
            "script": info.get("script"),
            "usage": info.get("usage"),
            "type": info.get("type"),
            "alt_rep_group": info.get("altRepGroup"),
        }
        for info in mods.findall("mods:titleInfo", NS)
    ]


def _languages(mods: etree._Element) -> list[dict]:
    languages = []
    for element in mods.findall("mods:language", NS):
        languages.append({
            "tag": element.findtext("mods:languageTerm[@authority='rfc5646']", namespaces=NS),
            "code": element.findtext("mods:languageTerm[@authority='iso639-2b']", namespaces=NS),
            "script": element.findtext("mods:scriptTerm[@authority='iso15924']", namespaces=NS),
            "primary": element.get("usage") == "primary",
        })
    return languages


def _reading_direction(root: etree._Element, mods: etree._Element | None) -> str | None:
    physical = root.find("mets:structMap[@TYPE='PHYSICAL']", NS)
    label = physical.get("LABEL", "") if physical is not None else ""
    if label.startswith(READING_DIRECTION_LABEL):
        return label[len(READING_DIRECTION_LABEL):]
    if mods is not None:
        return mods.findtext(
            f"mods:physicalDescription/mods:note[@type='{READING_DIRECTION_NOTE}']", namespaces=NS)
    return None


def read_mets(path_or_bytes: bytes | str | os.PathLike) -> dict:
    """The facts later stages need from one of our METS documents (bytes, or a file path).

    Returns a dict with: item_id, batch_id, created, titles (title, lang, xml_lang, script, usage,
    type, alt_rep_group), languages (tag, code, script, primary), reading_direction, files
    (file_id, group, use, href, mimetype, sha512, size, created, page_seq) in document order,
    pages (order, label, file_ids) in reading order, and item_files (file ids of the logical
    item div, the PDF first). Raises MetadataInvalid if the input is not parseable METS.
    """
    root = _parse(path_or_bytes)
    if root.tag != f"{{{METS}}}mets":
        raise MetadataInvalid(f"not a METS document: root element is {root.tag}")
    mods = root.find("mets:dmdSec/mets:mdWrap[@MDTYPE='MODS']/mets:xmlData/mods:mods", NS)

    pages = []
    page_of: dict[str, int] = {}
    for div in root.iterfind("mets:structMap[@TYPE='PHYSICAL']//mets:div[@TYPE='page']", NS):
        order = int(div.get("ORDER"))
        file_ids = [fptr.get("FILEID") for fptr in div.findall("mets:fptr", NS)]
        page_of.update((file_id, order) for file_id in file_ids)
        pages.append({"order": order, "label": div.get("ORDERLABEL"), "file_ids": file_ids})
    pages.sort(key=lambda page: page["order"])

    files = []
    for group in root.iterfind("mets:fileSec/mets:fileGrp", NS):
        use = group.get("USE")
        for element in group.findall("mets:file", NS):
            flocat = element.find("mets:FLocat", NS)
            files.append({
                "file_id": element.get("ID"),
                "group": _GROUP_BY_USE.get(use),
                "use": use,
                "href": flocat.get(f"{{{XLINK}}}href") if flocat is not None else None,
                "mimetype": element.get("MIMETYPE"),
                "sha512": element.get("CHECKSUM") if element.get("CHECKSUMTYPE") == "SHA-512"
                else None,
                "size": int(element.get("SIZE")) if element.get("SIZE") else None,
                "created": element.get("CREATED"),
                "page_seq": page_of.get(element.get("ID")),
            })

    logical = root.find("mets:structMap[@TYPE='LOGICAL']/mets:div", NS)
    return {
        "item_id": root.get("OBJID"),
        "batch_id": root.findtext("mets:metsHdr/mets:altRecordID[@TYPE='batch']", namespaces=NS),
        "created": root.find("mets:metsHdr", NS).get("CREATEDATE")
        if root.find("mets:metsHdr", NS) is not None else None,
        "titles": _titles(mods) if mods is not None else [],
        "languages": _languages(mods) if mods is not None else [],
        "reading_direction": _reading_direction(root, mods),
        "files": files,
        "pages": pages,
        "item_files": [fptr.get("FILEID") for fptr in logical.findall("mets:fptr", NS)]
        if logical is not None else [],
    }


# --- the whole package ---------------------------------------------------------------------------

@dataclass
class Package:
    """A package read back: what `build_mets` needs to write its METS again, and the bag facts."""

    item: Item  # pages carry `path` relative to the bag root ("data/masters/p0001.tif")
    batch_id: str
    files: list[FileEntry]
    premis: etree._Element  # the premis:premis record of the digiprovMD
    agents: list[MetsAgent]
    created: dt.datetime
    record_source: str
    rights_since: dt.date | None
    bag_dir: Path | None = None
    bag_info: dict[str, str] = field(default_factory=dict)


def _text(element: etree._Element, path: str) -> str | None:
    return element.findtext(path, namespaces=NS)


def _premis(root: etree._Element) -> etree._Element | None:
    """The item's whole PREMIS record: the digiprovMD's, with each file's object (in its own
    amdSec since issue 17) put back among the objects, in file order."""
    record = root.find("mets:amdSec/mets:digiprovMD/mets:mdWrap[@MDTYPE='PREMIS']"
                       "/mets:xmlData/premis:premis", NS)
    if record is None:
        return None
    record = copy.deepcopy(record)
    objects = [copy.deepcopy(o) for o in root.iterfind(
        "mets:amdSec/mets:techMD/mets:mdWrap[@MDTYPE='PREMIS:OBJECT']/mets:xmlData/"
        "premis:object", NS)]
    existing = record.findall("premis:object", NS)
    position = record.index(existing[-1]) + 1 if existing else 0
    for offset, obj in enumerate(objects):
        record.insert(position + offset, obj)
    return record


def _routing(mods: etree._Element) -> dict:
    """rights, portals and per-portal rights: from `extension/cadl:access` (since issue 17),
    else from the accessCondition elements packages written before it used."""
    access = mods.find("mods:extension/cadl:access", NS)
    if access is None:
        return {"rights": Rights.parse(
                    _text(mods, "mods:accessCondition[@displayLabel='rights']") or ""),
                "portals": (_text(mods, "mods:accessCondition[@displayLabel='portals']")
                            or "").split()}
    return {"rights": Rights.parse(access.get("rights", "")),
            "portals": access.get("portals", "").split(),
            "portal_rights": {name[len("rights_"):]: Rights.parse(value)
                              for name, value in access.attrib.items()
                              if name.startswith("rights_")}}


def _originals(elements: list[etree._Element]) -> list[etree._Element]:
    """Each element but the alternate representations: of an `altRepGroup` only the first (the
    writer puts the string as catalogued first, its form in the other script after it)."""
    seen: set[str] = set()
    kept = []
    for element in elements:
        group = element.get("altRepGroup")
        if group is None or group not in seen:
            kept.append(element)
        if group is not None:
            seen.add(group)
    return kept


def _item_from_mods(mods: etree._Element, item_id: str, pages: list[Page]) -> Item:
    languages = [tag for tag in (_text(el, "mods:languageTerm[@authority='rfc5646']")
                                 for el in mods.findall("mods:language", NS)) if tag]
    if not languages:
        raise MetadataInvalid(f"METS of {item_id}: MODS has no language with an RFC 5646 code")
    title, titles = None, {}
    for info in _originals(mods.findall("mods:titleInfo", NS)):
        text = _text(info, "mods:title") or ""
        if info.get("usage") == "primary":
            title = text
        elif info.get("type") in ("translated", "alternative"):
            titles[info.get(f"{{{XML}}}lang", "").split("-")[0]] = text
    if title is None:
        raise MetadataInvalid(f"METS of {item_id}: MODS has no titleInfo with usage=primary")
    creators = [_text(name, "mods:namePart")
                for name in _originals(mods.findall("mods:name", NS))]
    origin = mods.find("mods:originInfo", NS)
    line = _text(mods, "mods:recordInfo/mods:recordInfoNote[@type='manifest line']")
    return Item(
        item_id=item_id,
        row=int(line) if line else 0,
        languages=languages,
        title=title,
        titles=titles,
        creator="; ".join(c for c in creators if c) or None,
        date=_text(origin, "mods:dateIssued") if origin is not None else None,
        publisher=_text(origin, "mods:publisher") if origin is not None else None,
        place=_text(origin, "mods:place/mods:placeTerm") if origin is not None else None,
        subjects=[t.text or "" for t in mods.findall("mods:subject/mods:topic", NS)],
        identifier=next((i.text for i in mods.findall("mods:identifier", NS)
                         if i.get("type") is None), None),
        **_routing(mods),
        reading_direction=_text(
            mods, f"mods:physicalDescription/mods:note[@type='{READING_DIRECTION_NOTE}']"),
        extra={c.get("name"): c.text or "" for c in
               mods.findall("mods:extension/cadl:column", NS)},
        pages=pages,
    )


def _file_entries(root: etree._Element) -> list[FileEntry]:
    entries = []
    for group in root.iterfind("mets:fileSec/mets:fileGrp", NS):
        name = _GROUP_BY_USE.get(group.get("USE"))
        if name is None:
            raise MetadataInvalid(f"fileGrp USE={group.get('USE')!r} is not one we write")
        for element in group.findall("mets:file", NS):
            seq = element.get("SEQ")
            entries.append(FileEntry(
                group=name, file_id=element.get("ID"),
                href=element.find("mets:FLocat", NS).get(f"{{{XLINK}}}href"),
                mimetype=element.get("MIMETYPE"), sha512=element.get("CHECKSUM"),
                size=int(element.get("SIZE")),
                created=dt.datetime.fromisoformat(element.get("CREATED")),
                page_seq=int(seq) if seq else None))
    return entries


def _pages(root: etree._Element, files: list[FileEntry], premis: etree._Element) -> list[Page]:
    # Keyed by every identifier: the METS file ID is the object's local identifier (since
    # issue 17 beside its UUID; the only one in older packages).
    objects = {value.text: obj for obj in premis.findall("premis:object", NS)
               for value in obj.findall("premis:objectIdentifier/premis:objectIdentifierValue",
                                        NS)}
    pages = []
    for entry in files:
        if entry.group != "masters":
            continue
        mix = root.find(f"mets:amdSec/mets:techMD[@ID='{TECHMD_PREFIX}{entry.file_id}']"
                        "/mets:mdWrap/mets:xmlData/mix:mix", NS)
        obj = objects.get(entry.file_id)
        if mix is None or obj is None:
            raise MetadataInvalid(f"master {entry.file_id} has no MIX techMD or PREMIS object")
        facts = read_mix(mix)
        pages.append(Page(
            seq=entry.page_seq, original_name=obj.findtext("premis:originalName", namespaces=NS),
            path=entry.href, sha512=entry.sha512, size=entry.size,
            format=obj.findtext("premis:objectCharacteristics/premis:format/"
                                "premis:formatDesignation/premis:formatName", namespaces=NS),
            mimetype=entry.mimetype, dpi=facts["x_resolution"],
            **{k: v for k, v in facts.items() if k != "size"}))
    return sorted(pages, key=lambda page: page.seq)


def _agents(header: etree._Element) -> list[MetsAgent]:
    return [MetsAgent(role=a.get("ROLE"), type=a.get("TYPE"), name=_text(a, "mets:name"),
                      other_type=a.get("OTHERTYPE"), other_role=a.get("OTHERROLE"),
                      notes=tuple((n.get(f"{{{XML}}}lang", ""), n.text or "")
                                  for n in a.findall("mets:note", NS)))
            for a in header.findall("mets:agent", NS)]


def _bag_info(bag_dir: Path) -> dict[str, str]:
    info = {}
    path = bag_dir / "bag-info.txt"
    if path.is_file():
        for line in path.read_text("utf-8").splitlines():
            label, sep, value = line.partition(":")
            if sep:
                info[label.strip()] = value.strip()
    return info


def read_package(path: str | os.PathLike) -> Package:
    """Load a package: `path` is a bag folder (its `mets.xml` is read) or a METS file.

    Raises MetadataInvalid naming the file when the METS is missing, unparseable, or lacks what
    the writer always puts in (a primary title, a language, MIX and PREMIS for each master).
    """
    path = Path(path)
    bag_dir = path if path.is_dir() else None
    mets_path = path / METS_FILE if bag_dir else path
    if not mets_path.is_file():
        raise MetadataInvalid(f"{mets_path}: no METS file (a bag of ours has mets.xml at its root)")
    root = _parse(mets_path)
    if root.tag != f"{{{METS}}}mets":
        raise MetadataInvalid(f"{mets_path}: not a METS document (root is {root.tag})")
    try:
        item_id = root.get("OBJID")
        mods = root.find("mets:dmdSec/mets:mdWrap[@MDTYPE='MODS']/mets:xmlData/mods:mods", NS)
        premis = _premis(root)
        header = root.find("mets:metsHdr", NS)
        files = _file_entries(root)
        item = _item_from_mods(mods, item_id, _pages(root, files, premis))
        since = next(iter(root.xpath(
            "mets:amdSec/mets:rightsMD/mets:mdWrap/mets:xmlData/premis:rightsStatement/"
            "premis:rightsGranted/*/premis:startDate/text()", namespaces=NS)), None)
        return Package(
            item=item,
            batch_id=_text(header, "mets:altRecordID[@TYPE='batch']"),
            files=files,
            premis=copy.deepcopy(premis),
            agents=_agents(header),
            created=dt.datetime.fromisoformat(header.get("CREATEDATE")),
            record_source=_text(mods, "mods:recordInfo/mods:recordContentSource"),
            rights_since=None if since in (None, UNKNOWN_DATE) else dt.date.fromisoformat(since),
            bag_dir=bag_dir,
            bag_info=_bag_info(bag_dir) if bag_dir else {},
        )
    except (AttributeError, TypeError, ValueError) as exc:
        # A missing section surfaces as None.find / int(None) / a model error: name the file.
        raise MetadataInvalid(f"{mets_path}: not a METS file as this pipeline writes it: "
                              f"{exc}") from None


def rewrite_mets(package: Package) -> bytes:
    """The METS of `package` written again by `build_mets` from what was read."""
    return build_mets(package.item, package.batch_id, package.files, package.premis,
                      package.agents, package.created, record_source=package.record_source,
                      rights_since=package.rights_since)
