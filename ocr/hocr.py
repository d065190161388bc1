"""hOCR in and out: tesseract's hOCR read into a `PageResult`, and our hOCR written from one.

Reading: tesseract's hOCR is the richest output it has (paragraphs, lines, baselines, word
boxes and confidences), so the tesseract engine asks for it alone and everything else is
written from the result. Writing: one `ocr_page` > `ocr_par` > `ocr_line` > `ocrx_word` tree,
`x_wconf` per word, `dir="rtl"` on right-to-left lines, `lang` where the router knows it, and
whitespace between word spans only where the stored text has a space (so nothing that joins
the spans' text puts a space between two Chinese characters).
"""

import re
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

from kernel.errors import ToolFailed
from ocr.result import Block, Line, PageResult, Word, line_direction, normalize_words

XHTML = "http://www.w3.org/1999/xhtml"
LINE_CLASSES = {"ocr_line", "ocr_textfloat", "ocr_header", "ocr_caption"}
_BBOX = re.compile(r"bbox (-?\d+) (-?\d+) (-?\d+) (-?\d+)")
_BASELINE = re.compile(r"baseline (-?[\d.]+) (-?[\d.]+)")
_WCONF = re.compile(r"x_wconf (-?[\d.]+)")
_IMAGE = re.compile(r'image "([^"]*)"')


def _title(element, pattern: re.Pattern) -> tuple[float, ...] | None:
    match = pattern.search(element.get("title", ""))
    return tuple(float(v) for v in match.groups()) if match else None


def _box(values) -> tuple[int, int, int, int]:
    return tuple(int(v) for v in values)


def parse_hocr(data: bytes, name: str, *, vertical: bool | None = None, engine: str = "",
               model: str = "") -> PageResult:
    """The (first) page of an hOCR document as a `PageResult`, words cleaned
    (`normalize_words`).

    `vertical` None guesses per line (a line box much taller than wide is a column); True or
    False says it for the whole page. `name` is used in error messages. Raises ToolFailed when
    the document is not well-formed or has no `ocr_page` with a bbox.
    """
    return parse_hocr_pages(data, name, vertical=vertical, engine=engine, model=model)[0]


def parse_hocr_pages(data: bytes, name: str, *, vertical: bool | None = None,
                     engine: str = "", model: str = "") -> list[PageResult]:
    """Every `ocr_page` of an hOCR document (see `parse_hocr`), in document order."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False,
                             huge_tree=True, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ToolFailed(f"{name} is not well-formed hOCR: {exc}") from exc
    pages = [el for el in root.iter("{*}div") if el.get("class") == "ocr_page"]
    results = [_page(page, vertical, engine, model) for page in pages]
    if not results or any(r is None for r in results):
        raise ToolFailed(f"{name} has no ocr_page with a bbox")
    return results


def _page(page, vertical: bool | None, engine: str, model: str) -> PageResult | None:
    page_box = _title(page, _BBOX)
    if page_box is None:
        return None
    image = _IMAGE.search(page.get("title", ""))
    result = PageResult(image=Path(image.group(1)).name if image else "",
                        width=int(page_box[2] - page_box[0]),
                        height=int(page_box[3] - page_box[1]), vertical=bool(vertical))
    # Blocks are paragraphs; a line outside any paragraph is a block of its own.
    current_par, block = None, None
    for line_el in page.iter("{*}span"):
        if line_el.get("class") not in LINE_CLASSES:
            continue
        line_box = _title(line_el, _BBOX)
        if line_box is None:
            continue
        par = next((a for a in line_el.iterancestors() if a.get("class") == "ocr_par"), None)
        if block is None or par is None or par is not current_par:
            block = Block(lines=[])
            result.blocks.append(block)
            current_par = par
        words = []
        for word in line_el.iter("{*}span"):
            if word.get("class") != "ocrx_word":
                continue
            box = _title(word, _BBOX)
            conf = _title(word, _WCONF)
            if box:
                words.append(Word("".join(word.itertext()), _box(box),
                                  conf[0] / 100 if conf else None))
        words = normalize_words(words)
        if not words:
            continue
        box = _box(line_box)
        is_vertical = vertical if vertical is not None else (
            (box[3] - box[1]) > 2 * (box[2] - box[0]) and len(words) > 1)
        text = " ".join(w.text for w in words)
        block.lines.append(Line(words, box, line_direction(text, is_vertical), engine, model,
                                line_el.get("lang") or None, _title(line_el, _BASELINE)))
    result.blocks = [b for b in result.blocks if b.lines]
    return result


def read_hocr(path: Path, **kwargs) -> PageResult:
    """`parse_hocr` of a file."""
    return parse_hocr(Path(path).read_bytes(), Path(path).name, **kwargs)


def _bbox(box) -> str:
    return "bbox {} {} {} {}".format(*box)


def to_hocr(result: PageResult, software: str) -> bytes:
    """The page as an hOCR 1.2 XHTML document (UTF-8 bytes)."""
    E = ElementMaker(namespace=XHTML, nsmap={None: XHTML})
    head = E.head(
        E.title(""),
        E.meta(**{"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"}),
        E.meta(name="ocr-system", content=software),
        E.meta(name="ocr-capabilities",
               content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf ocrp_lang "
                       "ocrp_dir"),
    )
    page = E.div({"class": "ocr_page", "id": "page_1",
                  "title": f'image "{result.image}"; {_bbox((0, 0, result.width, result.height))}'
                           "; ppageno 0"})
    n_line = n_word = 0
    for b, block in enumerate(result.blocks, start=1):
        area = E.div({"class": "ocr_carea", "id": f"block_1_{b}", "title": _bbox(block.box)})
        par = E.p({"class": "ocr_par", "id": f"par_1_{b}", "title": _bbox(block.box)})
        area.append(par)
        for line in block.lines:
            n_line += 1
            title = _bbox(line.box)
            if line.baseline:
                title += "; baseline {:g} {:g}".format(*line.baseline)
            attrs = {"class": "ocr_line", "id": f"line_1_{n_line}", "title": title}
            if line.language:
                attrs["lang"] = line.language
            if line.direction == "rtl":
                attrs["dir"] = "rtl"
            span = E.span(attrs)
            for i, word in enumerate(line.words):
                n_word += 1
                wtitle = _bbox(word.box)
                if word.confidence is not None:
                    wtitle += f"; x_wconf {round(100 * word.confidence)}"
                w = E.span({"class": "ocrx_word", "id": f"word_1_{n_word}", "title": wtitle},
                           word.text)
                w.tail = " " if word.space_after and i < len(line.words) - 1 else None
                span.append(w)
            par.append(span)
        page.append(area)
    doc = E.html(head, E.body(page))
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8",
                          doctype='<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"'
                                  ' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')
