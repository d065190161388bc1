"""The ALTO the OCR stage stores: ALTO 4.4 written from the page's recognition result.

Written by us, not by the engine, so every engine gives the same shape (tesseract writes ALTO
3.0 with a space between every Chinese token and its bidi marks inside CONTENT; PP-OCR writes
none at all):

- one `String` per word (per character for PP-OCR's Chinese, which has a box per character),
  CONTENT exactly as in the stored text, Arabic in logical order;
- `SP` only where the stored text has a space, so never between two CJK characters;
- every `TextLine` with `BASEDIRECTION` "rtl" for Arabic, "ttb" for the columns of a vertical
  page (left unset, ALTO's default "ltr", otherwise) and `LANG` where the router knows it;
- `Page/@PHYSICAL_IMG_NR` the page's sequence number; no negative widths or heights;
- the engines and models that read the page in `Description/Processing`.
"""

from lxml import etree
from lxml.builder import ElementMaker

from kernel.namespaces import ALTO, XSI
from ocr.alto_upgrade import ALTO_SCHEMA_LOCATION
from ocr.result import Box, PageResult


def _geometry(box: Box) -> dict[str, str]:
    x0, y0, x1, y1 = box
    return {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(max(0, x1 - x0)),
            "HEIGHT": str(max(0, y1 - y0))}


def to_alto(result: PageResult, page_nr: int, software: list[tuple[str, str, str]]) -> bytes:
    """The page as an ALTO 4.4 document (UTF-8 bytes).

    `software`: (name, version, settings) of each engine that read the page, for
    `Description/Processing`; `page_nr` the page's sequence number in the item.
    """
    E = ElementMaker(namespace=ALTO, nsmap={None: ALTO, "xsi": XSI})
    description = E.Description(
        E.MeasurementUnit("pixel"),
        E.sourceImageInformation(E.fileName(result.image)),
    )
    for i, (name, version, settings) in enumerate(software):
        step = E.Processing({"ID": f"OCR_{i}"}, E.processingCategory("contentGeneration"))
        if settings:
            step.append(E.processingStepSettings(settings))
        step.append(E.processingSoftware(E.softwareName(name), E.softwareVersion(version)))
        description.append(step)
    page = E.Page({"ID": "page_1", "PHYSICAL_IMG_NR": str(page_nr),
                   "WIDTH": str(result.width), "HEIGHT": str(result.height)})
    space = E.PrintSpace(_geometry((0, 0, result.width, result.height)))
    page.append(space)
    n_line = n_word = 0
    for b, block in enumerate(result.blocks, start=1):
        text_block = E.TextBlock({"ID": f"block_{b}", **_geometry(block.box)})
        for line in block.lines:
            n_line += 1
            attrs = {"ID": f"line_{n_line}", **_geometry(line.box)}
            if line.direction in ("rtl", "ttb"):
                attrs["BASEDIRECTION"] = line.direction
            if line.language:
                attrs["LANG"] = line.language
            text_line = E.TextLine(attrs)
            for i, word in enumerate(line.words):
                n_word += 1
                string = {"ID": f"string_{n_word}", "CONTENT": word.text, **_geometry(word.box)}
                if word.confidence is not None:
                    string["WC"] = f"{min(1.0, max(0.0, word.confidence)):.4f}"
                text_line.append(E.String(string))
                if word.space_after and i < len(line.words) - 1:
                    nxt = line.words[i + 1].box
                    x0 = min(word.box[2], nxt[0]) if line.direction != "rtl" else \
                        min(nxt[2], word.box[0])
                    gap = abs(nxt[0] - word.box[2]) if line.direction != "rtl" else \
                        abs(word.box[0] - nxt[2])
                    text_line.append(E.SP({"HPOS": str(x0), "VPOS": str(word.box[1]),
                                           "WIDTH": str(gap)}))
            text_block.append(text_line)
        space.append(text_block)
    root = E.alto(description, E.Layout(page))
    root.set(f"{{{XSI}}}schemaLocation", ALTO_SCHEMA_LOCATION)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
