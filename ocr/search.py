"""Search variants of a page's text for the portals; the stored OCR text is never changed.

Readers of the Chinese portal type Simplified or Traditional characters whatever the book was
printed in, and Arabic readers type without hamza seats, tashkeel or tatweel. The portals index
one variant file per page (`<stem>.search.txt`) beside the original text, so a query finds
the page in either form:

- Chinese: the text converted to the other script with OpenCC (`s2t` for a Simplified item,
  `t2s` for a Traditional one); characters of other scripts pass through unchanged.
- Arabic: the search normalisation of `normalize_arabic`.
"""

import re
import unicodedata
from functools import lru_cache

from opencc import OpenCC

# Tashkeel (harakat, tanwin, shadda, sukun), superscript alef and the Quranic annotation marks.
_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
_FOLD = str.maketrans({
    "\u0622": "\u0627",  # آ alef with madda → ا
    "\u0623": "\u0627",  # أ alef with hamza above → ا
    "\u0625": "\u0627",  # إ alef with hamza below → ا
    "\u0671": "\u0627",  # ٱ alef wasla → ا
    "\u0649": "\u064a",  # ى alef maksura → ي
    "\u0629": "\u0647",  # ة ta marbuta → ه
    _TATWEEL: None,
})

@lru_cache
def _converter(config: str) -> OpenCC:
    return OpenCC(config)


def normalize_arabic(text: str) -> str:
    """Arabic folded for search: alef forms → ا, ى → ي, ة → ه, tashkeel and tatweel removed.

    Decomposed input is composed first (NFC), so a hamza written as a combining mark folds too.
    """
    text = unicodedata.normalize("NFC", text)
    return _TASHKEEL.sub("", text).translate(_FOLD)


def to_other_chinese_script(text: str, source: str) -> str:
    """`text` in the other Chinese script: `source` "zh-Hans" gives Traditional, "zh-Hant"
    Simplified. Raises ValueError for another source tag."""
    config = {"zh-Hans": "s2t", "zh-Hant": "t2s"}.get(source)
    if config is None:
        raise ValueError(f"no other Chinese script for {source!r}")
    return _converter(config).convert(text)


def search_text(text: str, languages: list[str]) -> str | None:
    """The page's search variant for an item in `languages` (BCP 47 tags), or None when no
    variant applies (e.g. English only).

    One text per page with every applicable folding, since each only touches its own script:
    Chinese in the other script of the item's first Chinese tag (Simplified → Traditional,
    Traditional → Simplified), Arabic search-normalised.
    """
    tags = [tag.lower() for tag in languages]
    chinese = next((t for t in tags if t in ("zh-hans", "zh-hant")), None)
    if chinese is None and "ar" not in tags:
        return None
    if chinese:
        text = to_other_chinese_script(text, "zh-Hans" if chinese == "zh-hans" else "zh-Hant")
    if "ar" in tags:
        text = normalize_arabic(text)
    return text
