"""Cleanup of recognised text: the one place that decides what stored OCR text looks like.

Tesseract separates every recognised "word" by a space, and for Chinese a word is often a single
character, so its text reads "造 纸 术". Search indexes and readers want "造纸术", while Arabic and
Latin words must keep their spaces. Both the stored `.txt` files and the CER comparison use these
rules, so a score never depends on spacing the reader would not see.
"""

import re
import unicodedata

# Han ideographs (basic, extensions A–F, compatibility), CJK symbols and punctuation, full-width
# forms, and the kana tesseract's Chinese models occasionally emit. Between two of these a space
# carries no meaning.
_CJK = (
    "\u2e80-\u2fdf"  # radicals
    "\u3000-\u303f"  # CJK symbols and punctuation (。、「」《》)
    "\u3040-\u30ff"  # kana
    "\u3400-\u4dbf"  # extension A
    "\u4e00-\u9fff"  # unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\ufe30-\ufe4f"  # CJK compatibility forms (vertical punctuation)
    "\uff00-\uffef"  # half-width and full-width forms (，：；！？（）)
    "\U00020000-\U0003134f"  # extensions B–G
)
CJK_CHAR = f"[{_CJK}]"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={CJK_CHAR})[^\S\n]+(?={CJK_CHAR})")
_RUNS_OF_SPACE = re.compile(r"[^\S\n]+")
# Tesseract's Chinese models often emit ASCII punctuation for the full-width marks of the page;
# right after a Chinese character it can only be the full-width mark.
_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？", ")": "）"}
_HALF_AFTER_CJK = re.compile(rf"(?<={CJK_CHAR})[^\S\n]*([,;:!?)])")
# Likewise tesseract's Arabic model reads the Arabic comma, semicolon and question mark as their
# Latin look-alikes; after an Arabic letter they are the Arabic marks.
ARABIC_CHAR = "[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"
_LATIN_TO_ARABIC = {",": "\u060c", ";": "\u061b", "?": "\u061f"}
_LATIN_AFTER_ARABIC = re.compile(rf"(?<={ARABIC_CHAR})([,;?])")


def is_cjk(char: str) -> bool:
    """True for a Han character or CJK punctuation / full-width form."""
    return bool(re.fullmatch(CJK_CHAR, char))


def squeeze_cjk_spaces(text: str) -> str:
    """Drop horizontal whitespace that stands between two CJK characters; keep all other spaces."""
    return _SPACE_BETWEEN_CJK.sub("", text)


def full_width_punctuation(text: str) -> str:
    """ASCII , ; : ! ? ) written right after a CJK character become their full-width forms."""
    return _HALF_AFTER_CJK.sub(lambda m: _HALF_TO_FULL[m.group(1)], text)


def arabic_punctuation(text: str) -> str:
    """Latin , ; ? written right after an Arabic letter become the Arabic ، ؛ ؟."""
    return _LATIN_AFTER_ARABIC.sub(lambda m: _LATIN_TO_ARABIC[m.group(1)], text)


# Tesseract wraps runs of the other direction in LRM / RLM marks (and may emit embedding
# controls): invisible, they only break search and string comparison of logical-order text.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_bidi_controls(text: str) -> str:
    """Remove directional formatting characters; the text stays in logical order."""
    return _BIDI_CONTROLS.sub("", text)


def clean_line(line: str) -> str:
    """One line: NFC, no bidi controls, runs of spaces collapsed to one, Chinese and Arabic punctuation in their
    own forms, no spaces between CJK characters, trimmed."""
    line = strip_bidi_controls(unicodedata.normalize("NFC", line))
    line = _RUNS_OF_SPACE.sub(" ", line).strip()
    return squeeze_cjk_spaces(full_width_punctuation(arabic_punctuation(line)))


def clean_text(text: str) -> str:
    """Tesseract's plain text made fit to store: clean lines, no blank-line padding, final newline.

    Tesseract ends every page with a form feed and separates blocks with blank lines; the form
    feed is dropped, single blank lines between paragraphs are kept, runs of them collapsed.
    Arabic stays in logical order: tesseract already emits it so, and nothing here reorders.
    """
    lines = [clean_line(line) for line in text.replace("\f", "\n").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "".join(f"{line}\n" for line in out)


def is_rtl(text: str) -> bool:
    """True when the first strongly directional character is right-to-left (Arabic, Hebrew):
    the Unicode bidi rule (P2) for a paragraph's base direction."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False
