"""A minimal reader of the METS files this package writes.

Later stages (bagging, deposit verification, the portals' publication) need a few facts back from
an item's METS: its id, titles, languages, reading direction and file list with checksums. Reading
them here, next to the writer, keeps the two in step; it is not a general METS parser.
"""

import os

from lxml import etree

from cadl.errors import MetadataInvalid
from metadata.mets import FILE_GROUPS, READING_DIRECTION_LABEL
from metadata.mods import READING_DIRECTION_NOTE
from metadata.namespaces import METS, MODS, XLINK, XML

NS = {"mets": METS, "mods": MODS}
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
