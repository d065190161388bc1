"""The script of a string, read from the string itself: Arabic, Han Simplified, Han Traditional, Latin.

An item's language says what the book is in; it does not say in which script a cataloguer typed
each title or name. A Traditional Chinese book may carry a title keyed in Simplified (`郑和下西洋`),
an Arabic book a romanised title. Tagging each string with the item's script made MODS say
`Hant` where IIIF said `zh-Hans` for the same title. Every output (MODS, oai_dc, IIIF, search JSON)
asks this module, so they agree.

Simplified and Traditional are told apart by OpenCC round trips, character by character: a
character that OpenCC's `t2s` changes is Traditional-only, one that `s2t` changes is
Simplified-only; characters both leave alone (中, 文, 下, 西) say nothing. A Han string with no
telling character takes the `hint` (the item's own Chinese script), else `Hani`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from opencc import OpenCC

from kernel.languages import language

ARABIC, HANS, HANT, HAN, LATIN = "Arab", "Hans", "Hant", "Hani", "Latn"


@lru_cache
def _converter(config: str) -> OpenCC:
    return OpenCC(config)


def _is_han(char: str) -> bool:
    code = ord(char)
    return (0x3400 <= code <= 0x4DBF or 0x4E00 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x3134F)


def _is_arabic(char: str) -> bool:
    code = ord(char)
    return (0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0x08A0 <= code <= 0x08FF
            or 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF)


def _is_latin(char: str) -> bool:
    return char.isalpha() and "LATIN" in unicodedata.name(char, "")


@lru_cache(maxsize=4096)
def _han_leaning(char: str) -> str | None:
    """HANS or HANT for a character only one script uses, None for a shared one."""
    if _converter("t2s").convert(char) != char:
        return HANT
    if _converter("s2t").convert(char) != char:
        return HANS
    return None


def han_script(text: str, hint: str | None = None) -> str:
    """HANS, HANT or HAN (undecided) for the Han characters of `text`.

    Counts Simplified-only and Traditional-only characters; the larger count wins, a tie (most
    often 0–0: every character shared) gives `hint` when it is HANS or HANT, else HAN.
    """
    simplified = traditional = 0
    for char in text:
        if _is_han(char):
            leaning = _han_leaning(char)
            simplified += leaning == HANS
            traditional += leaning == HANT
    if simplified != traditional:
        return HANS if simplified > traditional else HANT
    return hint if hint in (HANS, HANT) else HAN


def detect_script(text: str, hint: str | None = None) -> str | None:
    """The ISO 15924 script most letters of `text` are written in, or None without letters.

    Arab, Latn, or for Han Hans/Hant/Hani (see `han_script`; `hint` decides a Han string with
    no telling character). Digits, punctuation and spaces do not count.
    """
    text = unicodedata.normalize("NFC", text or "")
    counts = {ARABIC: 0, HAN: 0, LATIN: 0}
    for char in text:
        if _is_han(char):
            counts[HAN] += 1
        elif _is_arabic(char) and char.isalpha():
            counts[ARABIC] += 1
        elif _is_latin(char):
            counts[LATIN] += 1
    best = max(counts, key=lambda key: counts[key])
    if counts[best] == 0:
        return None
    return han_script(text, hint) if best == HAN else best


@dataclass(frozen=True)
class StringLanguage:
    """How one string is tagged everywhere: MODS `lang`/`script`, `xml:lang`, IIIF map key."""

    mods_code: str  # ISO 639-2/B: "ara", "chi", "eng"
    script: str  # ISO 15924 of the string itself
    tag: str  # BCP 47: "ar", "zh-Hans", "zh-Hant", "en", or language-Script ("ar-Latn")


def string_language(text: str, language_tag: str) -> StringLanguage:
    """The tags of `text`, a string in the language `language_tag` (a tag of the language table,
    or its base "zh"), whose script is read from the string.

    A Chinese string is `zh-Hans` or `zh-Hant` by its own characters (the tag's script only
    decides a string with no telling character; plain "zh" then means Simplified, the form the
    Chinese portal catalogues in). A string in another language keeps the language's tag when
    written in its usual script, else gets the script subtag (`ar-Latn` for a romanised title).
    Raises kernel.languages.UnknownLanguage for a language the table does not know.
    """
    base = language_tag.split("-")[0].lower()
    if base == "zh":
        hint = language(language_tag).script if language_tag.lower() != "zh" else HANS
        script = detect_script(text, hint)
        script = script if script in (HANS, HANT) else hint
        row = language(f"zh-{script}")
        return StringLanguage(row.mods_code, row.script, row.tag)
    row = language(language_tag)
    script = detect_script(text) or row.script
    if script == row.script:
        return StringLanguage(row.mods_code, row.script, row.tag)
    return StringLanguage(row.mods_code, script, f"{row.tag}-{script}")


def other_chinese_form(text: str, script: str) -> str:
    """`text` (Chinese in `script` HANS or HANT) converted by OpenCC into the other script."""
    return _converter("s2t" if script == HANS else "t2s").convert(text)
