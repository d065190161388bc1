"""The one recognition result of a page, whatever engine read it.

Every engine (`ocr.engines`) returns a `PageResult`; ALTO (`ocr.alto`), hOCR (`ocr.hocr`), the
stored text (`page_text`) and the PDF text layer (`ocr.pdf`) are all written from it, so the
outputs of one page cannot disagree and no output depends on which engine read the page.

Words are already clean when they are in a result (`normalize_words`): NFC, no bidi controls,
Chinese and Arabic punctuation in their own forms, and each word knows whether a space follows
it. That flag is the only place spacing is decided: the text, the ALTO `SP` elements, the hOCR
and the PDF runs all read it, so there is never a space between two CJK characters in one
output and not in another. Coordinates are pixels of the image the engine read.
"""

from dataclasses import dataclass, field

from ocr.text import clean_line, is_rtl

Box = tuple[int, int, int, int]  # x0, y0, x1, y1


@dataclass
class Word:
    text: str
    box: Box
    confidence: float | None = None  # 0-1
    space_after: bool = True


@dataclass
class Line:
    words: list[Word]
    box: Box
    direction: str = "ltr"  # "ltr" | "rtl" | "ttb": the line's base direction
    engine: str = ""  # provenance: "tesseract", "ppocr"
    model: str = ""  # the model(s) that read the line: "ara", "PP-OCRv6_rec_small", …
    language: str | None = None  # BCP 47 tag of the line when the router knows it
    baseline: tuple[float, float] | None = None  # hOCR baseline (slope, offset), if known
    score: float | None = None  # the engine's score for the whole line (PP-OCR), if it has one
    # The detector's quadrilateral around the line (4 (x, y) points), when it gave one: on a
    # skewed page it follows the line where `box` cannot.
    polygon: tuple[tuple[float, float], ...] | None = None

    @property
    def text(self) -> str:
        return "".join(w.text + (" " if w.space_after and i < len(self.words) - 1 else "")
                       for i, w in enumerate(self.words))

    @property
    def confidence(self) -> float | None:
        values = [w.confidence for w in self.words if w.confidence is not None]
        return sum(values) / len(values) if values else None


@dataclass
class Block:
    lines: list[Line]

    @property
    def box(self) -> Box:
        return union([line.box for line in self.lines])


@dataclass
class PageResult:
    image: str  # the page image's file name (no folder)
    width: int
    height: int
    blocks: list[Block] = field(default_factory=list)
    vertical: bool = False

    @property
    def lines(self) -> list[Line]:
        return [line for block in self.blocks for line in block.lines]

    @property
    def words(self) -> list[Word]:
        return [word for line in self.lines for word in line.words]

    def engines(self) -> list[str]:
        """Engines that read at least one line, in first-use order."""
        return list(dict.fromkeys(line.engine for line in self.lines if line.engine))


def union(boxes: list[Box]) -> Box:
    if not boxes:
        return (0, 0, 0, 0)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def normalize_words(words: list[Word]) -> list[Word]:
    """Clean every word and decide the spaces between them the way `ocr.text.clean_line`
    decides them for a whole line: a space tesseract put between two CJK characters goes, an
    ASCII comma after a Chinese character becomes `，` and joins it, and so on.

    A word whose `space_after` is already False stays joined to the next (PP-OCR says where
    its spaces are). Words that clean to nothing are dropped.
    """
    out: list[Word] = []
    for word in words:
        text = clean_line(word.text)
        if not text:
            continue
        word = Word(text, word.box, word.confidence, word.space_after)
        if out:
            prev = out[-1]
            if prev.space_after:
                # The joined form tells whether the space survives cleanup, and what the
                # word's punctuation becomes next to the previous word's last character.
                joined = clean_line(f"{prev.text[-1]} {text}")
                if joined.startswith(prev.text[-1] + " "):
                    word.text = joined[2:]
                else:
                    prev.space_after = False
                    word.text = joined[1:]
            else:
                word.text = clean_line(prev.text[-1] + text)[1:] or text
        out.append(word)
    if out:
        out[-1].space_after = False
    return [w for w in out if w.text]


def line_direction(text: str, vertical: bool) -> str:
    if vertical:
        return "ttb"
    return "rtl" if is_rtl(text) else "ltr"


def page_text(result: PageResult) -> str:
    """The stored text of a page: one line per line, a blank line between blocks, final
    newline; empty when nothing was read."""
    blocks = []
    for block in result.blocks:
        lines = [line.text for line in block.lines if line.text]
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else ""
