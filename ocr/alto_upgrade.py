"""ALTO files as the package keeps them: ALTO 4.4, whatever version the OCR engine wrote.

tesseract 5 writes ALTO 3.0 (`ns-v3#`). Its output is also valid ALTO 4.4 once moved to the v4
namespace: 4.x only added optional elements and attributes to 3.0's structure. We measured that
on every page of the sample batch before relying on it, and every upgraded file is still
validated against alto-4.4.xsd before it is bagged (metadata/describe.py), so an engine output
that is not a plain 3.0 → 4.4 rename fails loudly instead of reaching a package.
"""

from pathlib import Path

from lxml import etree

from kernel.namespaces import ALTO, XSI

ALTO_V3 = "http://www.loc.gov/standards/alto/ns-v3#"
ALTO_SCHEMA_LOCATION = f"{ALTO} http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"


def upgrade_alto(data: bytes) -> bytes:
    """`data` (an ALTO 3 or 4 document) as ALTO 4.4: elements in the v4 namespace, the
    schemaLocation naming alto-4-4.xsd. ALTO 4 input is returned unchanged (same bytes).
    Raises etree.XMLSyntaxError for a document that is not well-formed."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False,
                             huge_tree=True)
    root = etree.fromstring(data, parser)
    if etree.QName(root).namespace != ALTO_V3:
        return data
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == ALTO_V3:
            element.tag = f"{{{ALTO}}}{etree.QName(element).localname}"
    root.set(f"{{{XSI}}}schemaLocation", ALTO_SCHEMA_LOCATION)
    # Renaming adds generated prefixes (ns0) for the v4 namespace; a new root with v4 as the
    # default namespace, and a cleanup, leave the declarations tesseract wrote plus v4.
    nsmap = {prefix: uri for prefix, uri in root.nsmap.items()
             if uri not in (ALTO_V3, ALTO) and prefix is not None}
    upgraded = etree.Element(root.tag, attrib=dict(root.attrib), nsmap={None: ALTO, **nsmap})
    upgraded.text = root.text
    upgraded.extend(list(root))
    etree.cleanup_namespaces(upgraded, top_nsmap={None: ALTO})
    return etree.tostring(upgraded, xml_declaration=True, encoding="UTF-8")


def upgrade_alto_file(path: Path) -> bool:
    """Rewrite the ALTO file at `path` as ALTO 4.4 (atomically); True if it changed."""
    path = Path(path)
    data = path.read_bytes()
    upgraded = upgrade_alto(data)
    if upgraded == data:
        return False
    temp = path.with_name(path.name + ".partial")
    temp.write_bytes(upgraded)
    temp.replace(path)
    return True
