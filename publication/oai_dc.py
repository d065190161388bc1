"""The oai_dc record of an item: simple Dublin Core crosswalked from its MODS.

Kept apart from the protocol (`publication.oai`): the crosswalk is what a metadata librarian
reviews, the protocol what a harvester exercises. Every title keeps the `xml:lang` its MODS
`titleInfo` has (read from the string's own script, `kernel.scripts`), and a creator's name,
which MODS tags only when it is not in the record's script, is tagged from its own script here.
"""

from __future__ import annotations

from lxml import etree

from kernel.scripts import HAN, HANS, HANT, detect_script, string_language
from publication.iiif import MANIFEST, join_url

OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC = "http://purl.org/dc/elements/1.1/"
MODS = "http://www.loc.gov/mods/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def string_tag(text: str) -> str | None:
    """BCP 47 tag of a name from its own script (`kernel.scripts`), None when it says none."""
    script = detect_script(text)
    if script in (HANS, HANT, HAN):
        return string_language(text, "zh").tag
    return {"Arab": "ar"}.get(script or "")


def oai_dc(mods: etree._Element, item_id: str, base_url: str, pdf_key: str,
           rights_uri: str | None, reviews: list[str] = ()) -> etree._Element:
    """Dublin Core from the item's `mods`, plus its manifest URL, its PDF, its rights URI
    (the IIIF manifest's `rights`) and the PREMIS records of archivists' reviews (`reviews`,
    access-relative keys), all joined to the public `base_url`."""
    ns = {"m": MODS}
    root = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} {OAI_DC_SCHEMA}")

    def add(name: str, text: str | None, lang: str | None = None) -> None:
        if text and text.strip():
            element = etree.SubElement(root, f"{{{DC}}}{name}")
            element.text = text.strip()
            if lang:
                element.set(XML_LANG, lang)

    for info in mods.findall("m:titleInfo", ns):
        add("title", info.findtext("m:title", namespaces=ns),
            info.get(XML_LANG) or info.get("lang"))
    for name in mods.findall("m:name", ns):
        text = " ".join(p.text or "" for p in name.findall("m:namePart", ns))
        add("creator", text, name.get(XML_LANG) or string_tag(text))
    for topic in mods.findall("m:subject/m:topic", ns):
        add("subject", topic.text)
    add("publisher", mods.findtext("m:originInfo/m:publisher", namespaces=ns))
    add("date", mods.findtext("m:originInfo/m:dateIssued", namespaces=ns))
    add("type", "Text")
    for media in mods.findall("m:physicalDescription/m:internetMediaType", ns):
        add("format", media.text)
    root_url = join_url(base_url, f"items/{item_id}")
    add("identifier", join_url(root_url, MANIFEST))
    for ident in mods.findall("m:identifier", ns):
        if ident.get("type") != "local":
            add("identifier", ident.text)
    for term in mods.findall("m:language/m:languageTerm[@authority='rfc5646']", ns):
        add("language", term.text)
    add("rights", rights_uri)
    add("relation", join_url(root_url, pdf_key))
    for premis in reviews:
        add("relation", join_url(root_url, premis))
    return root
