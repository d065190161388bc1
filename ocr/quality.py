"""Page quality without ground truth: the checks that decide whether a page is held for review.

A reader never sees a confidence figure, so a page that came out as garbage (a blank scan, the
wrong model, a page upside down, a photograph) would be published silently. Every page gets:

- its mean word confidence and the share of words under `LOW_WORD_CONFIDENCE`, from the ALTO;
- `empty`: no word recognised at all;
- a script check: letters of the recognised text counted per script (Arabic, Han, Latin)
  against the scripts of the item's languages; for Chinese, Simplified-only and
  Traditional-only characters (OpenCC) are compared with the manifest's script too.

`flags` lists what is wrong; `review` is True when a flag is one that holds the page back.
"""

import re
from dataclasses import dataclass, field

from lxml import etree

from ocr.search import to_other_chinese_script

LOW_WORD_CONFIDENCE = 50.0  # a word under this (0–100) counts as low-confidence
SCRIPTS = {
    "Arab": re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"),
    "Hani": re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"),
    "Latn": re.compile("[A-Za-z\u00c0-\u024f]"),
}
LANGUAGE_SCRIPTS = {"ar": "Arab", "zh-hans": "Hani", "zh-hant": "Hani", "en": "Latn"}
# Below this share of letters in the expected scripts, the page's script does not match.
MIN_EXPECTED_SHARE = 0.5
# Letters needed before a script verdict is given at all (a few stray letters prove nothing).
MIN_LETTERS = 20


@dataclass
class PageQuality:
    mean_confidence: float | None
    word_count: int
    low_confidence_share: float | None  # share of words under LOW_WORD_CONFIDENCE
    scripts: dict[str, int]  # letters counted per script
    script_match: bool | None  # None: too few letters to tell
    flags: list[str] = field(default_factory=list)


def alto_confidences(alto_bytes: bytes) -> list[float]:
    """Word confidences 0–100 from an ALTO file's <String WC="0.93">."""
    tree = etree.fromstring(alto_bytes)
    return [float(s.get("WC")) * 100 for s in tree.iter("{*}String") if s.get("WC") is not None]


def script_counts(text: str) -> dict[str, int]:
    return {name: len(pattern.findall(text)) for name, pattern in SCRIPTS.items()}


def chinese_variant_mismatch(text: str, languages: list[str]) -> bool:
    """True when a page of a Simplified-only item reads as Traditional, or the reverse.

    Counts characters that OpenCC changes in each direction: a character changed by t2s is
    Traditional-only, one changed by s2t is Simplified-only.
    """
    tags = {t.lower() for t in languages}
    if ("zh-hans" in tags) == ("zh-hant" in tags):
        return False
    han = "".join(SCRIPTS["Hani"].findall(text))
    if len(han) < MIN_LETTERS:
        return False
    simplified = to_other_chinese_script(han, "zh-Hant")
    traditional = to_other_chinese_script(han, "zh-Hans")
    trad_only = sum(a != b for a, b in zip(han, simplified))
    simp_only = sum(a != b for a, b in zip(han, traditional))
    if "zh-hans" in tags:
        return trad_only > 2 * simp_only and trad_only >= 5
    return simp_only > 2 * trad_only and simp_only >= 5


def assess(text: str, confidences: list[float], languages: list[str], *,
           min_confidence: float, max_low_share: float) -> PageQuality:
    """Quality of one page from its stored text and word confidences, for an item in
    `languages`. Flags: "empty", "low_confidence" (mean under `min_confidence`),
    "many_low_confidence_words" (share over `max_low_share`), "script_mismatch"."""
    words = len(confidences)
    mean = round(sum(confidences) / words, 2) if words else None
    low = round(sum(c < LOW_WORD_CONFIDENCE for c in confidences) / words, 4) if words else None
    counts = script_counts(text)
    letters = sum(counts.values())
    expected = {LANGUAGE_SCRIPTS[t.lower()] for t in languages if t.lower() in LANGUAGE_SCRIPTS}
    match = None
    if letters >= MIN_LETTERS and expected:
        share = sum(counts[s] for s in expected) / letters
        match = share >= MIN_EXPECTED_SHARE and not chinese_variant_mismatch(text, languages)
    flags = []
    if not words or not text.strip():
        flags.append("empty")
    if mean is not None and mean < min_confidence:
        flags.append("low_confidence")
    if low is not None and low > max_low_share:
        flags.append("many_low_confidence_words")
    if match is False:
        flags.append("script_mismatch")
    return PageQuality(mean, words, low, counts, match, flags)
