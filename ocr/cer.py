"""Character error rate, the figure the OCR acceptance threshold is stated in.

CER = edit distance (insertions + deletions + substitutions, counted by rapidfuzz's Levenshtein
distance over code points) / length of the reference, both
texts normalised first: NFC, every run of whitespace (line breaks included) made one space, and
whitespace between two CJK characters removed, since Chinese is written without spaces and
tesseract inserts them at random. Arabic and Latin keep their word spaces: a lost space there
is a real error.
"""

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

from ocr.text import squeeze_cjk_spaces

_WHITESPACE = re.compile(r"\s+")


def normalize_for_cer(text: str) -> str:
    """The form in which reference and hypothesis are compared (see module docstring)."""
    text = unicodedata.normalize("NFC", text)
    text = _WHITESPACE.sub(" ", text).strip()
    return squeeze_cjk_spaces(text)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of `hypothesis` against `reference`, as a fraction (0.05 = 5%).

    Raises ValueError for an empty reference, where the rate is undefined.
    """
    ref = normalize_for_cer(reference)
    hyp = normalize_for_cer(hypothesis)
    if not ref:
        raise ValueError("CER is undefined for an empty reference text")
    return Levenshtein.distance(ref, hyp) / len(ref)
