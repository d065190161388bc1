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
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import img2pdf
import pikepdf
from PIL import Image

from kernel.errors import ToolFailed
from ingest.images import to_8bit
from ocr import glyphless_font
from ocr.hocr import read_hocr
from ocr.preprocess import is_deep
from ocr.result import PageResult, union
from ocr.text import is_rtl

# Every glyph of the glyphless font is half an em wide.
GLYPH_WIDTH = glyphless_font.ADVANCE
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


def result_runs(result: PageResult) -> list[Run]:
    """The text runs of a page's recognition result (see the module docstring)."""
    runs: list[Run] = []
    for line in result.lines:
        words = [w for w in line.words if w.text]
        if not words:
            continue
        box = line.box
        # hOCR baseline: offset from the line box's bottom edge at its left end, in pixels.
        base_y = box[3] + (line.baseline[1] if line.baseline else 0)
        vertical = line.direction == "ttb"
        if line.direction == "rtl":
            # A right-to-left line is one run over the whole line box: tesseract's Arabic word
            # boxes overlap often enough that placing words by them scrambles extraction.
            runs.append(Run(line.text, box, base_y))
            continue
        if vertical:
            runs.append(Run("".join(w.text + (" " if w.space_after else "") for w in words)
                            .strip(), box, base_y, True))
            continue
        # Words the stored text joins without a space (CJK next to CJK, a full-width mark
        # after a character) are one run, drawn over the words' horizontal extent at the
        # line's height (word boxes of punctuation are unreliable on their own).
        groups: list[tuple[str, list]] = [("", [])]
        for i, word in enumerate(words):
            text, boxes = groups[-1]
            groups[-1] = (text + word.text, boxes + [word.box])
            if word.space_after and i < len(words) - 1:
                groups.append(("", []))
        for text, boxes in groups:
            x0, _, x1, _ = union(boxes)
            runs.append(Run(text, (x0, box[1], x1, box[3]), base_y, False))
    return runs


def hocr_runs(hocr: Path) -> tuple[tuple[int, int], list[Run]]:
    """(page size in pixels, text runs) of an hOCR page, words cleaned as the stored text is.

    Raises ToolFailed when the file is not hOCR with a page bounding box.
    """
    result = read_hocr(hocr)
    return (result.width, result.height), result_runs(result)


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


def _actual_text(text: str, show: bytes) -> bytes:
    """`show` wrapped in a marked-content span whose /ActualText is `text`, when `text` has
    characters outside the BMP.

    Why: their ToUnicode entries are UTF-16 surrogate pairs, and Ghostscript 10.0's PDF/A
    rewrite of the font corrupts the low surrogate (U+20000 came out as U+FFFD U+4000); the
    span's ActualText survives the rewrite and extractors (poppler, pdf.js, Acrobat) prefer it
    to the font's mapping.
    """
    if all(ord(ch) <= 0xFFFF for ch in text):
        return show
    actual = ("\ufeff" + text).encode("utf-16-be").hex().upper().encode()
    return b"/Span <</ActualText <%s>>> BDC %s EMC" % (actual, show)


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
        show = b"/F1 %.2f Tf %.2f Tz 1 0 0 1 %.2f %.2f Tm <%s> Tj" % (
            size, tz, x0 * scale_x, base, encoder.encode(run.text).hex().encode())
        ops.append(_actual_text(run.text, show))
    ops.append(b"ET")
    return b"\n".join(ops)


def _embeddable(image_path: Path) -> str | bytes:
    """The master's path, or an 8-bit PNG of it (same pixels, same dpi) written with fast
    compression when it is deeper than 8 bits or a one-page TIFF that is not CCITT G4.

    img2pdf re-encodes anything else (an LZW or uncompressed TIFF, say) as a PNG at zlib's
    default level, which costs about 0.5 CPU s per A4 page at 300 dpi, as much as a fifth of
    reading the page; zlib level 1 takes a quarter of that for a stream about 15 % larger
    (docs/decisions.md, "Issue 14: speed")."""
    with Image.open(image_path) as im:
        deep = is_deep(im)
        recoded = (im.format == "TIFF" and im.info.get("compression") != "group4"
                   and getattr(im, "n_frames", 1) == 1)
        if not deep and not recoded:
            return str(image_path)
        dpi = im.info.get("dpi")
        buf = io.BytesIO()
        (to_8bit(im) if deep else im).save(buf, format="PNG", compress_level=1,
                                            **({"dpi": dpi} if dpi else {}))
        return buf.getvalue()


@dataclass(frozen=True)
class PdfInfo:
    """What the item PDF says about itself (document language, XMP, reading direction)."""

    title: str
    language: str  # BCP 47 of the item's primary language: the catalog's /Lang
    creators: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # every language of the item, for dc:language
    right_to_left: bool = False  # an Arabic (or vertical Chinese) book: pages turn R2L


def _srgb_profile() -> bytes:
    """LittleCMS's built-in sRGB profile, with the header's creation date (bytes 24-35) and
    profile ID (84-99, optional: zero means not computed) cleared, so the PDF stays a function
    of its inputs."""
    from PIL import ImageCms

    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[24:36] = bytes(12)
    data[84:100] = bytes(16)
    return bytes(data)


def _describe(pdf: pikepdf.Pdf, info: PdfInfo) -> None:
    """/Lang, /ViewerPreferences /Direction, an sRGB output intent and XMP metadata claiming
    PDF/A-2b (title and creators in their own scripts, NFC), with the Info dictionary in step.

    These are the PDF/A-2b parts this renderer controls (the glyphless font is embedded; no
    encryption, no transparency); a full validator such as veraPDF remains the judge."""
    pdf.Root.Lang = pikepdf.String(info.language)
    if info.right_to_left:
        pdf.Root.ViewerPreferences = pikepdf.Dictionary(Direction=pikepdf.Name.R2L)
    icc = pdf.make_stream(_srgb_profile())
    icc.N = 3
    pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFA1,
        OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"),
        Info=pikepdf.String("sRGB IEC61966-2.1"), DestOutputProfile=icc)])
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
        meta["dc:title"] = unicodedata.normalize("NFC", info.title)
        if info.creators:
            meta["dc:creator"] = [unicodedata.normalize("NFC", c) for c in info.creators]
        meta["dc:language"] = list(info.languages or (info.language,))
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"


def build_pdf(pages: list[tuple[Path, "Path | PageResult"]], out: Path,
              info: PdfInfo | None = None) -> Path:
    """Write `out`: one page per (image, recognition result or hOCR file) pair, the image
    visible, the text invisible.

    The image goes in as img2pdf embeds it (JPEG, PNG and CCITT G4 TIFF without re-encoding),
    so the page size follows the image's pixels and dpi; hOCR coordinates are scaled from the
    recognised image's size, so an OCR copy rescaled for the models still lands on the master.
    `info` adds the document's language, XMP metadata and PDF/A-2b claims (`_describe`).
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
    for page, (_, source) in zip(pdf.pages, pages):
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        page_w, page_h = x1 - x0, y1 - y0
        if isinstance(source, PageResult):
            (hocr_w, hocr_h), runs = (source.width, source.height), result_runs(source)
        else:
            (hocr_w, hocr_h), runs = hocr_runs(source)
        texts.append(_text_ops(runs, encoder, page_w / hocr_w, page_h / hocr_h, page_h))
    # The font is made after all text is encoded, so its ToUnicode knows every private CID.
    font = _font(pdf, encoder)
    for page, text in zip(pdf.pages, texts):
        page.Resources.Font = pikepdf.Dictionary(F1=font)
        page.contents_add(pdf.make_stream(text), prepend=False)
    if info is not None:
        _describe(pdf, info)
    tmp = out.with_name(out.name + ".tmp")
    # PDF/A-2 is built on PDF 1.7 (ISO 32000-1): say so in the header when claiming it.
    pdf.save(tmp, deterministic_id=True, min_version="1.7" if info is not None else "")
    tmp.replace(out)
    return out
