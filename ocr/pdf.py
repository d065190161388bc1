"""The item's searchable PDF, built from the pages' images and their hOCR: no second recognition.

Why our own renderer and not tesseract's PDF output: tesseract writes one text object per
"word", and for Chinese a word is usually one character, so every extractor (pdftotext, pikepdf
users, the portals' indexers) reads the Chinese layer with a space between every character; it
also wraps Arabic in direction controls. Here the text layer is written from the same cleaned
words as the stored `.txt` (see `ocr.text`):

- a run of words that the stored text joins without a space (CJK next to CJK) is one text
  string spread over the run's box, so no extractor can see a gap in it;
- a right-to-left line is one run over the line's box, in logical order, each character one
  cell further left than the one before, so extractors read it from the right edge in logical
  order (word boxes are not used for it: tesseract's Arabic word boxes overlap); Latin words
  are one string each at their own box;
- the font is a glyphless TrueType with one empty glyph per BMP code unit (`ocr.glyphless_font`)
  embedded as a CIDFontType2 with Identity-H encoding, CID = glyph id = UTF-16 code unit, and a
  ToUnicode map; it has no glyph shapes, so it covers every script and weighs nothing, and as
  every character has its own glyph, PDF/A conversion with Ghostscript keeps the layer (with
  tesseract's one-glyph font it does not). Characters outside the BMP get private CIDs with
  their own ToUnicode entries.

The image is embedded losslessly (JPEG masters as they are, others Flate-compressed); a master
deeper than 8 bits per sample, which PDF viewers and img2pdf do not take, is embedded as an
8-bit PNG copy at the same size and resolution (the master itself is preserved in the bag).
"""

import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

import img2pdf
import pikepdf
from lxml import etree
from PIL import Image

from kernel.errors import ToolFailed
from ingest.images import to_8bit
from ocr import glyphless_font
from ocr.preprocess import is_deep
from ocr.text import clean_line, is_rtl

# Every glyph of the glyphless font is half an em wide.
GLYPH_WIDTH = glyphless_font.ADVANCE
LINE_CLASSES = {"ocr_line", "ocr_textfloat", "ocr_header", "ocr_caption"}
_BBOX = re.compile(r"bbox (-?\d+) (-?\d+) (-?\d+) (-?\d+)")
_BASELINE = re.compile(r"baseline (-?[\d.]+) (-?[\d.]+)")
# CIDs for characters outside the BMP: one private-use block, which OCR never emits.
_PRIVATE_CID = 0xF000
_PRIVATE_MAX = 256


@dataclass
class Run:
    """Text drawn as one string over one box (pixel coordinates of the OCR image)."""
    text: str
    box: tuple[int, int, int, int]
    baseline_y: float
    vertical: bool = False


def _title(element, pattern: re.Pattern) -> tuple[float, ...] | None:
    match = pattern.search(element.get("title", ""))
    return tuple(float(v) for v in match.groups()) if match else None


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def hocr_runs(hocr: Path) -> tuple[tuple[int, int], list[Run]]:
    """(page size in pixels, text runs) of an hOCR page, words cleaned as the stored text is.

    Raises ToolFailed when the file is not hOCR with a page bounding box.
    """
    try:
        tree = etree.parse(str(hocr))
    except etree.XMLSyntaxError as exc:
        raise ToolFailed(f"{hocr.name} is not well-formed hOCR: {exc}") from exc
    page = next((el for el in tree.iter("{*}div") if el.get("class") == "ocr_page"), None)
    page_box = _title(page, _BBOX) if page is not None else None
    if page_box is None:
        raise ToolFailed(f"{hocr.name} has no ocr_page with a bbox")
    runs: list[Run] = []
    for line in tree.iter("{*}span"):
        if line.get("class") not in LINE_CLASSES:
            continue
        line_box = _title(line, _BBOX)
        words = []
        for word in line.iter("{*}span"):
            if word.get("class") != "ocrx_word":
                continue
            text = clean_line("".join(word.itertext()))
            box = _title(word, _BBOX)
            if text and box:
                words.append((text, tuple(int(v) for v in box)))
        if not words or line_box is None:
            continue
        baseline = _title(line, _BASELINE)
        # hOCR baseline: offset from the line box's bottom edge at its left end, in pixels.
        base_y = line_box[3] + (baseline[1] if baseline else 0)
        vertical = (line_box[3] - line_box[1]) > 2 * (line_box[2] - line_box[0]) and len(words) > 1
        line_text = clean_line(" ".join(text for text, _ in words))
        if is_rtl(line_text) and not vertical:
            # A right-to-left line is one run over the whole line box: tesseract's Arabic word
            # boxes overlap often enough that placing words by them scrambles extraction.
            runs.append(Run(line_text, tuple(int(v) for v in line_box), base_y))
            continue
        # Words that the stored text joins without a space (CJK next to CJK, a full-width mark
        # after a character) are one run, drawn over the words' horizontal extent at the
        # line's height (tesseract's boxes for punctuation are unreliable on their own).
        groups: list[tuple[str, list[tuple]]] = [(words[0][0], [words[0][1]])]
        for text, box in words[1:]:
            run_text, boxes = groups[-1]
            if clean_line(f"{run_text} {text}") == clean_line(run_text + text):
                groups[-1] = (clean_line(run_text + text), boxes + [box])
            else:
                groups.append((text, [box]))
        for text, boxes in groups:
            x0, _, x1, _ = _union(boxes)
            runs.append(Run(text, (x0, int(line_box[1]), x1, int(line_box[3])), base_y,
                            vertical))
    return (int(page_box[2] - page_box[0]), int(page_box[3] - page_box[1])), runs


class _Encoder:
    """CIDs for text: UTF-16 code units for the BMP, private CIDs beyond it; remembers every
    character it encoded, for the ToUnicode map."""

    def __init__(self) -> None:
        self.extra: dict[str, int] = {}
        self.used: dict[int, str] = {}

    def encode(self, text: str) -> bytes:
        out = bytearray()
        for char in text:
            code = ord(char)
            if code > 0xFFFF:
                if char not in self.extra and len(self.extra) >= _PRIVATE_MAX:
                    char = "\ufffd"  # more rare characters than one document ever had
                    code = ord(char)
                else:
                    code = self.extra.setdefault(char, _PRIVATE_CID + len(self.extra))
            elif 0xD800 <= code <= 0xDFFF or _PRIVATE_CID <= code < _PRIVATE_CID + _PRIVATE_MAX:
                continue  # lone surrogates; private-use characters OCR never emits
            elif code >= glyphless_font.GLYPHS:  # U+FFFF, a noncharacter: no glyph for it
                char, code = "\ufffd", 0xFFFD
            self.used[code] = char
            out += code.to_bytes(2, "big")
        return bytes(out)

    def to_unicode(self) -> bytes:
        """The ToUnicode CMap: one bfchar entry per code used.

        Entries per code rather than one identity range: Ghostscript 10.0 misreads wide
        bfrange destinations when it rewrites the font for PDF/A, and the layer is lost.
        """
        lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
                 "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
                 "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
                 "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
        items = sorted(self.used.items())
        for i in range(0, len(items), 100):
            chunk = items[i:i + 100]
            lines.append(f"{len(chunk)} beginbfchar")
            lines += [f"<{code:04X}> <{char.encode('utf-16-be').hex().upper()}>"
                      for code, char in chunk]
            lines.append("endbfchar")
        lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
        return "\n".join(lines).encode("ascii")


def _font(pdf: pikepdf.Pdf, encoder: _Encoder) -> pikepdf.Dictionary:
    font_file = pdf.make_stream(gzip.decompress(glyphless_font.FONT.read_bytes()))
    descriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/GlyphLessFont"),
        Flags=5, FontBBox=[0, 0, GLYPH_WIDTH, 1000], ItalicAngle=0, Ascent=1000, Descent=0,
        CapHeight=1000, StemV=80, FontFile2=font_file))
    cid_font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2,
        BaseFont=pikepdf.Name("/GlyphLessFont"),
        CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"),
                                         Ordering=pikepdf.String("Identity"), Supplement=0),
        FontDescriptor=descriptor, DW=GLYPH_WIDTH, CIDToGIDMap=pikepdf.Name.Identity))
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0,
        BaseFont=pikepdf.Name("/GlyphLessFont"), Encoding=pikepdf.Name("/Identity-H"),
        DescendantFonts=[cid_font],
        ToUnicode=pdf.make_stream(encoder.to_unicode())))


def _text_ops(runs: list[Run], encoder: _Encoder, scale_x: float, scale_y: float,
              page_h: float) -> bytes:
    """Content stream operators drawing every run invisibly (render mode 3) over its box."""
    ops = [b"BT", b"3 Tr"]
    for run in runs:
        x0, y0, x1, y1 = run.box
        chars = len(run.text)
        if not chars:
            continue
        if run.vertical:
            size = max((x1 - x0) * scale_x, 1.0)
            step = (y1 - y0) * scale_y / chars
            for i, char in enumerate(run.text):
                y = page_h - (y0 * scale_y + step * (i + 1))
                tz = 100.0 * (x1 - x0) * scale_x / (size * GLYPH_WIDTH / 1000)
                ops.append(b"/F1 %.2f Tf %.2f Tz 1 0 0 1 %.2f %.2f Tm <%s> Tj" % (
                    size, tz, x0 * scale_x, y, encoder.encode(char).hex().encode()))
            continue
        size = max((y1 - y0) * scale_y, 1.0)
        width = (x1 - x0) * scale_x
        tz = 100.0 * width / (chars * size * GLYPH_WIDTH / 1000)
        base = page_h - min(run.baseline_y, y1) * scale_y
        if is_rtl(run.text):
            # Right to left: logical order in the stream, each character placed one cell
            # further left, so the first character sits at the right edge where reading starts.
            # (A negative Tz looks simpler, but Ghostscript's PDF/A rewrite turns it into a
            # mirrored matrix that extractors then read backwards.)
            cell = width / chars
            ops.append(b"/F1 %.2f Tf %.2f Tz" % (size, tz))
            for i, char in enumerate(run.text):
                ops.append(b"1 0 0 1 %.2f %.2f Tm <%s> Tj" % (
                    x1 * scale_x - cell * (i + 1), base, encoder.encode(char).hex().encode()))
            continue
        ops.append(b"/F1 %.2f Tf %.2f Tz 1 0 0 1 %.2f %.2f Tm <%s> Tj" % (
            size, tz, x0 * scale_x, base, encoder.encode(run.text).hex().encode()))
    ops.append(b"ET")
    return b"\n".join(ops)


def _embeddable(image_path: Path) -> str | bytes:
    """The master's path, or for a master deeper than 8 bits an 8-bit PNG of it (same dpi)."""
    with Image.open(image_path) as im:
        if not is_deep(im):
            return str(image_path)
        dpi = im.info.get("dpi")
        buf = io.BytesIO()
        to_8bit(im).save(buf, format="PNG", **({"dpi": dpi} if dpi else {}))
        return buf.getvalue()


def build_pdf(pages: list[tuple[Path, Path]], out: Path) -> Path:
    """Write `out`: one page per (image, hOCR) pair, the image visible, the text invisible.

    The image goes in as img2pdf embeds it (JPEG, PNG and CCITT G4 TIFF without re-encoding),
    so the page size follows the image's pixels and dpi; hOCR coordinates are scaled from the
    recognised image's size, so an OCR copy rescaled for the models still lands on the master.
    Raises ToolFailed for an image img2pdf cannot embed or an unreadable hOCR.
    """
    if not pages:
        raise ValueError("build_pdf() needs at least one page")
    images = []
    for image_path, _ in pages:
        try:
            images.append(img2pdf.convert(_embeddable(image_path),
                                          rotation=img2pdf.Rotation.ifvalid))
        except Exception as exc:  # img2pdf raises its own and Pillow's errors
            raise ToolFailed(f"cannot embed {image_path.name} in the item PDF: {exc}") from exc
    pdf = pikepdf.new()
    for data in images:
        pdf.pages.extend(pikepdf.open(io.BytesIO(data)).pages)
    encoder = _Encoder()
    texts = []
    for page, (_, hocr) in zip(pdf.pages, pages):
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        page_w, page_h = x1 - x0, y1 - y0
        (hocr_w, hocr_h), runs = hocr_runs(hocr)
        texts.append(_text_ops(runs, encoder, page_w / hocr_w, page_h / hocr_h, page_h))
    # The font is made after all text is encoded, so its ToUnicode knows every private CID.
    font = _font(pdf, encoder)
    for page, text in zip(pdf.pages, texts):
        page.Resources.Font = pikepdf.Dictionary(F1=font)
        page.contents_add(pdf.make_stream(text), prepend=False)
    tmp = out.with_name(out.name + ".tmp")
    pdf.save(tmp, deterministic_id=True)
    tmp.replace(out)
    return out
