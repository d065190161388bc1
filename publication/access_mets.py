"""The access METS: what DFG-Viewer and Kitodo.Presentation load, for the access package alone.

The preservation METS (`metadata.mets`) describes the bag: relative hrefs to masters, OCR and PREMIS
that exist only in preservation storage. Published as is it pointed viewers at files the access
package does not have. This METS follows the DFG METS/MODS application profile instead:

- every `FLocat` is an absolute URL (`CADL_ACCESS_BASE_URL` + the file's key) of a file that is in
  the access package, with its size and SHA-512;
- file groups by the profile's USE names: `DEFAULT` (display JPEGs), `THUMBS`, `FULLTEXT` (ALTO),
  `DOWNLOAD` (the item PDF); `MAX` would hold full-resolution images, which the access package
  does not offer, so it is absent rather than pointing at masters;
- `amdSec` with `dv:rights` (owner: the partner that holds the item, its logo, site and contact)
  and `dv:links` (the item's page on the portal, its IIIF manifest);
- a logical `structMap` whose top `div` has a type of the DFG structure set (`monograph` unless the
  manifest's `structure_type` column names another), linked to the MODS and to the `amdSec`, a
  physical `physSequence` of `page` divs, and the `structLink` the profile requires;
- the item's MODS record, the same one the preservation METS carries.

The preservation METS stays the record of the bag; this file is derived and can be rebuilt.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

from ingest.models import Item
from kernel.errors import MetadataInvalid
from kernel.namespaces import METS, MODS, XLINK, XSI, schema_location
from metadata.text import iso_utc
from publication.iiif import join_url

DV = "http://dfg-viewer.de/"
NSMAP = {"mets": METS, "mods": MODS, "xlink": XLINK, "xsi": XSI, "dv": DV}
E = ElementMaker(namespace=METS, nsmap=NSMAP)
D = ElementMaker(namespace=DV, nsmap=NSMAP)

# The DFG structure set (Strukturdatenset), the types an item's top-level logical div may have.
DFG_STRUCTURE_TYPES = (
    "monograph", "multivolume_work", "periodical", "volume", "issue", "letter", "manuscript",
    "newspaper", "year", "month", "day", "map", "atlas", "album", "annotation", "bundle",
    "document", "dossier", "fascicle", "file", "folder", "fragment", "illustration",
    "inventory", "lecture", "musical_notation", "official_notification", "act", "article",
    "chapter", "section", "part", "register", "report", "photograph", "poster", "privileges",
    "proceeding", "table", "text", "verse", "contained_work", "additional", "bookplate",
)
# (key of each page file in the access package, its fileGrp USE, MIME type), in fptr order.
PAGE_GROUPS = (("display", "DEFAULT", "image/jpeg"), ("thumbnail", "THUMBS", "image/jpeg"),
               ("alto", "FULLTEXT", "text/xml"))
DOWNLOAD = "DOWNLOAD"
ROUTING_LABEL = "access and portal routing"  # metadata.mods' internal extension


def structure_type(item: Item) -> str:
    """The DFG type of the item's logical div: its `structure_type` column, else `monograph`.

    Raises MetadataInvalid naming the manifest line for a type outside the DFG structure set.
    """
    value = item.extra.get("structure_type", "").strip() or "monograph"
    if value not in DFG_STRUCTURE_TYPES:
        raise MetadataInvalid(
            f"item {item.item_id} (manifest line {item.row}): structure_type {value!r} is not a "
            f"type of the DFG structure set; use e.g. monograph, periodical, volume, issue, "
            f"letter, manuscript")
    return value


def mods_of(preservation_mets: bytes) -> etree._Element:
    """The MODS record inside a preservation METS (dmdSec/mdWrap/xmlData)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, remove_blank_text=True)
    root = etree.fromstring(preservation_mets, parser)
    mods = root.find(f".//{{{METS}}}dmdSec/{{{METS}}}mdWrap/{{{METS}}}xmlData/{{{MODS}}}mods")
    if mods is None:
        raise MetadataInvalid("the preservation METS has no MODS record in its dmdSec")
    return copy.deepcopy(mods)


def _sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file(file_id: str, mimetype: str, url: str, local: Path) -> etree._Element:
    return E.file(E.FLocat(**{"LOCTYPE": "URL", f"{{{XLINK}}}href": url}),
                  ID=file_id, MIMETYPE=mimetype, SIZE=str(local.stat().st_size),
                  CHECKSUM=_sha512(local), CHECKSUMTYPE="SHA-512")


def build_access_mets(item: Item, entry: dict, mods: etree._Element, local: dict[str, Path],
                      base_url: str, partner: dict, created: datetime,
                      portal_pages: list[str] | tuple[str, ...] = ()) -> bytes:
    """The access METS of a published item, as UTF-8 bytes.

    `entry` is the item's catalogue entry (page keys `display`, `thumbnail`, `alto`, the `pdf`
    and `manifest` keys, relative to the item folder), `local` maps each key of the access
    package to the local file about to be published as it (sizes, checksums, and the proof that
    every listed file is in the package), `base_url` the public URL of the access location, `partner` the
    holding partner's config/partners.json entry, `created` the METS header date,
    `portal_pages` the item's public pages on the portals that show it now: they go into the
    MODS copy as `location/url` (the preservation MODS, written before any publication, has
    none; this copy is rebuilt at every publication, so its URLs follow the rights).
    Raises MetadataInvalid for a structure type outside the DFG set or a file the package
    does not hold.
    """

    def here(key: str) -> Path:
        if key not in local:
            raise MetadataInvalid(f"item {item.item_id}: the access METS would list {key}, "
                                  "which is not in the access package")
        return local[key]

    root_url = join_url(base_url, f"items/{item.item_id}")
    title = item.title
    groups: dict[str, list[etree._Element]] = {use: [] for _, use, _ in PAGE_GROUPS}
    pages = []
    for page in entry["pages"]:
        seq = page["seq"]
        pointers = []
        for key, use, mimetype in PAGE_GROUPS:
            file_id = f"{use}_{seq:04d}"
            groups[use].append(_file(file_id, mimetype, join_url(root_url, page[key]),
                                     here(page[key])))
            pointers.append(E.fptr(FILEID=file_id))
        pages.append(E.div(*pointers, ID=f"PHYS_{seq:04d}", TYPE="page", ORDER=str(seq),
                           ORDERLABEL=str(seq)))
    groups[DOWNLOAD] = [_file("DOWNLOAD_PDF", "application/pdf",
                              join_url(root_url, entry["pdf"]), here(entry["pdf"]))]
    manifest_url = join_url(root_url, entry.get("manifest", "manifest.json"))
    item_page = partner["item_page"].format(item_id=item.item_id)

    header = E.metsHdr(
        E.agent(E.name(partner["name_en"]), ROLE="CUSTODIAN", TYPE="ORGANIZATION"),
        E.agent(E.name("cadl pipeline"), ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE"),
        CREATEDATE=iso_utc(created))
    mods = copy.deepcopy(mods)
    for internal in mods.findall(f"{{{MODS}}}extension[@displayLabel='{ROUTING_LABEL}']"):
        mods.remove(internal)  # the partner's access decision and routing are not for the public
    if portal_pages:
        location = etree.Element(f"{{{MODS}}}location")
        for number, page_url in enumerate(portal_pages):
            url = etree.SubElement(location, f"{{{MODS}}}url", access="object in context")
            if number == 0:
                url.set("usage", "primary")
            url.text = page_url
        mods.append(location)
    dmd = E.dmdSec(E.mdWrap(E.xmlData(mods), MDTYPE="MODS"), ID="DMDLOG_0000")
    rights = D.rights(
        D.owner(partner["name_en"]),
        D.ownerLogo(partner["logo"]),
        D.ownerSiteURL(partner["homepage"]),
        D.ownerContact(partner.get("contact", partner["homepage"])),
    )
    links = D.links(D.reference(item_page), D.presentation(manifest_url))
    amd = E.amdSec(
        E.rightsMD(E.mdWrap(E.xmlData(rights), MDTYPE="OTHER", OTHERMDTYPE="DVRIGHTS",
                            MIMETYPE="text/xml"), ID="RIGHTS"),
        E.digiprovMD(E.mdWrap(E.xmlData(links), MDTYPE="OTHER", OTHERMDTYPE="DVLINKS",
                              MIMETYPE="text/xml"), ID="DIGIPROV"),
        ID="AMD")
    file_sec = E.fileSec(*[E.fileGrp(*files, USE=use) for use, files in groups.items()])
    logical = E.structMap(
        E.div(E.fptr(FILEID="DOWNLOAD_PDF"), ID="LOG_0000", TYPE=structure_type(item),
              LABEL=title, DMDID="DMDLOG_0000", ADMID="AMD"),
        TYPE="LOGICAL")
    physical = E.structMap(
        E.div(*pages, ID="PHYS_0000", TYPE="physSequence"), TYPE="PHYSICAL")
    links_el = E.structLink(*[
        E.smLink(**{f"{{{XLINK}}}from": "LOG_0000", f"{{{XLINK}}}to": page.get("ID")})
        for page in pages])
    root = E.mets(header, dmd, amd, file_sec, logical, physical, links_el,
                  OBJID=item.item_id, LABEL=title)
    root.set(f"{{{XSI}}}schemaLocation", schema_location(METS, MODS))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
