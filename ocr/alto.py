"""The ALTO the OCR stage stores: ALTO 4.4 with each line's base direction.

Tesseract 5.3 writes ALTO 3.0, which has no way to say that a line runs right to left; readers
and the portals' highlighters then have to guess it from the characters. Here the file is
moved to ALTO 4.4 (`ocr.alto_upgrade.upgrade_alto`, the same rename the packages rely on) and every
TextLine gets `BASEDIRECTION`: "rtl" when its first strongly directional character is Arabic (or
Hebrew), "ttb" for every line of a vertical page, left unset (ALTO's default, "ltr") otherwise.
The words' CONTENT stays in logical order, as tesseract wrote it.
"""


from lxml import etree

from ocr.alto_upgrade import upgrade_alto
from ocr.text import is_rtl


def with_base_direction(alto: bytes, vertical: bool) -> bytes:
    """`alto` (tesseract's ALTO 3 or an ALTO 4) as ALTO 4.4 with TextLine BASEDIRECTION set.

    Raises etree.XMLSyntaxError for a document that is not well-formed.
    """
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False,
                             huge_tree=True)
    root = etree.fromstring(upgrade_alto(alto), parser)
    for line in root.iter("{*}TextLine"):
        if vertical:
            line.set("BASEDIRECTION", "ttb")
            continue
        text = " ".join(s.get("CONTENT", "") for s in line.iter("{*}String"))
        if is_rtl(text):
            line.set("BASEDIRECTION", "rtl")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
