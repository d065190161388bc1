"""The one table of language facts: OCR models, MODS codes, scripts and reading direction all read it.

Keeping these facts in one place is what stops the MODS `lang`, the ALTO `LANG`, the IIIF
language map and the tesseract model from drifting apart for the same item.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    tag: str  # BCP 47, as written in manifest.csv: "ar", "zh-Hans", "zh-Hant", "en"
    mods_code: str  # ISO 639-2/B for MODS `lang` / `languageTerm`
    script: str  # ISO 15924 for MODS `script` / `scriptTerm`
    model: str  # tesseract model for horizontal text
    vertical_model: str | None  # tesseract model for top-to-bottom text, where one exists
    direction: str  # default reading direction of a book in this language: "rtl" | "ltr"
    name_en: str


LANGUAGES: dict[str, Language] = {
    lang.tag: lang
    for lang in (
        Language("ar", "ara", "Arab", "ara", None, "rtl", "Arabic"),
        Language("zh-Hans", "chi", "Hans", "chi_sim", "chi_sim_vert", "ltr", "Chinese (Simplified)"),
        Language("zh-Hant", "chi", "Hant", "chi_tra", "chi_tra_vert", "ltr", "Chinese (Traditional)"),
        Language("en", "eng", "Latn", "eng", None, "ltr", "English"),
    )
}

READING_DIRECTIONS = ("ltr", "rtl", "ttb")


class UnknownLanguage(ValueError):
    pass


def language(tag: str) -> Language:
    """The table row for a BCP 47 tag as written in the manifest (case-insensitive).

    Raises UnknownLanguage for a tag the pipeline has no model for.
    """
    for known, lang in LANGUAGES.items():
        if known.lower() == tag.strip().lower():
            return lang
    raise UnknownLanguage(f"unknown language tag {tag!r}; use one of {', '.join(LANGUAGES)}")


def default_direction(tags: list[str]) -> str:
    """Reading direction of an item whose manifest row gives none: that of its primary language."""
    return language(tags[0]).direction


def tesseract_models(tags: list[str], reading_direction: str) -> list[str]:
    """Tesseract models for an item, primary language first, vertical variants for `ttb` items.

    For a vertical item the horizontal model is kept after the vertical one: title pages and
    running heads of vertical books are often set horizontally.
    """
    models: list[str] = []
    for tag in tags:
        lang = language(tag)
        if reading_direction == "ttb" and lang.vertical_model:
            models.append(lang.vertical_model)
        models.append(lang.model)
    return list(dict.fromkeys(models))
