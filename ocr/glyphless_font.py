"""Make the glyphless font of the PDF text layer: one empty glyph per BMP code unit.

    .venv/bin/python -m ocr.glyphless_font   # rewrites ocr/data/glyphless-bmp.ttf.gz

Why one glyph per code unit rather than tesseract's one-glyph `pdf.ttf`: PDF/A converters
(Ghostscript's pdfwrite) rebuild the fonts of a PDF by glyph, and when every character code
draws the same glyph they merge them all and the text layer comes out as garbage — the "CJK
layer lost in PDF/A" failure. With glyph id = character code (CIDToGIDMap /Identity) every
character keeps its own glyph through any re-embedding. The glyphs are empty and half an em
wide; the file is 260 kB but 654 bytes gzipped, which is how it is stored.
"""

import gzip
import io
import sys
from pathlib import Path

FONT = Path(__file__).with_name("data") / "glyphless-bmp.ttf.gz"
GLYPHS = 65535  # the most a TrueType font holds: glyph ids 0 (.notdef) to 0xFFFE
ADVANCE = 500  # of 1000 units per em


def build() -> bytes:
    """The font file's bytes (needs fontTools, which only this generator uses)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    order = [".notdef"] + [f"g{i:04X}" for i in range(1, GLYPHS)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap({})
    empty = TTGlyphPen(None).glyph()
    builder.setupGlyf({name: empty for name in order})
    builder.setupHorizontalMetrics({name: (ADVANCE, 0) for name in order})
    builder.setupHorizontalHeader(ascent=1000, descent=0)
    builder.setupNameTable({"familyName": "GlyphLessBMP", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=1000, usWinAscent=1000, usWinDescent=0)
    builder.setupPost(keepGlyphNames=False)
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def main() -> int:
    FONT.write_bytes(gzip.compress(build(), mtime=0))
    print(FONT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
