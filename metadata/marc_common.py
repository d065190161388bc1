"""The MODS building blocks both MARC flavours share: `metadata.marc_mods` (MARC 21) and
`metadata.unimarc_mods` (UNIMARC/CNMARC) map their fields with these.

A record's result is a `RecordDescription`: MODS elements grouped by the manifest column that
may override them (`title`, `creator`, `origin`, `subjects`, `identifier`), the elements no
column overrides (notes, genre, classification, the original's extent), and the plain values
(`summary`) that fill an item's manifest fields (its title for IIIF, bag-info, the report) when
the row left them empty.

Each flavour finds the vernacular and romanized forms of a field (its `Variant`s); `_emit` turns
them into MODS `altRepGroup` pairs, each element with its `script` (ISO 15924) and, for the
romanized one, `transliteration`. Punctuation cleaning, script detection, relator roles and the
coded data put into the first `originInfo` are the same for both flavours, so they live here
once; the field-by-field mapping of each flavour stays in its own module (split from
`marc_mods` when it reached the 400-line limit)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from lxml import etree
from lxml.builder import ElementMaker

from ingest.models import CatalogueRecord, Item, MarcField
from kernel.namespaces import MODS, NSMAP, XML

M = ElementMaker(namespace=MODS, nsmap=NSMAP)

MARC_RELATOR = "http://id.loc.gov/vocabulary/relators"
ALA_LC = "ALA-LC Romanization Tables"
PINYIN = "Hanyu Pinyin (ISO 7098)"
# Groups a manifest column overrides: column → group.
OVERRIDES = {"title": "title", "title_ar": "title", "title_zh": "title", "title_en": "title",
             "creator": "creator", "date": "origin", "publisher": "origin", "place": "origin",
             "subjects": "subjects", "identifier": "identifier"}
ISSUANCE = {"m": "monographic", "s": "serial", "i": "integrating resource",
            "a": "monographic", "c": "multipart monograph"}
# Second indicator of MARC 21 264 and UNIMARC 214 (the same codes) → MODS originInfo eventType.
EVENTS_264 = {"0": "production", "1": "publication", "2": "distribution", "3": "manufacture",
              "4": "copyright"}
_TRAILING = re.compile(r"[\s/:;=,.،؛：；／，。]+$")


@dataclass
class RecordDescription:
    """MODS elements from one catalogue record, by the manifest column group that overrides
    them, plus plain values for the item's fields and what the record says of its languages."""

    control_number: str
    format: str
    source: str
    groups: dict[str, list[etree._Element]] = field(default_factory=dict)
    summary: dict[str, object] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)  # ISO 639-2 codes in the record
    record_identifier_source: str | None = None
    description_standard: str | None = None

    def add(self, group: str, element: etree._Element | None) -> None:
        if element is not None:
            self.groups.setdefault(group, []).append(element)


@dataclass
class Variant:
    """One representation of a field: the field, its script, its transliteration scheme."""

    field: MarcField
    script: str
    transliteration: str | None = None



def clean(text: str) -> str:
    """A subfield's value without ISBD punctuation at its end (" :", " /", ",", "." and their
    Arabic and Chinese forms), NFC; a trailing period after an initial ("A.") is kept."""
    text = unicodedata.normalize("NFC", text.strip())
    if re.search(r"(?:^|\s)\w\.$", text):
        return text
    return _TRAILING.sub("", text).strip()


def detect_script(text: str) -> str:
    """ISO 15924 code of the letters of `text`: Arab, Hani, Latn (the most numerous)."""
    counts = {"Arab": 0, "Hani": 0, "Latn": 0}
    for ch in text:
        o = ord(ch)
        if 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0xFB50 <= o <= 0xFEFF:
            counts["Arab"] += 1
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            counts["Hani"] += 1
        elif ch.isalpha() and o < 0x0250 or 0x1E00 <= o <= 0x1EFF:
            counts["Latn"] += 1
    return max(counts, key=counts.get) if any(counts.values()) else "Latn"


def _chinese_script(item: Item) -> str:
    tags = item.languages
    return "Hant" if "zh-Hant" in tags and "zh-Hans" not in tags else "Hans"


def _lang_code(record_lang: str | None, item: Item) -> str | None:
    from kernel.languages import language

    if record_lang:
        return record_lang
    try:
        return language(item.primary_language).mods_code
    except Exception:  # noqa: BLE001 - no language, no attribute
        return None


def _xml_lang(code: str | None, script: str, translit: str | None) -> str | None:
    base = {"ara": "ar", "chi": "zh", "zho": "zh", "eng": "en"}.get(code or "")
    if base is None:
        return None
    if script in ("Hans", "Hant"):
        return f"{base}-{script}"
    if script == "Latn" and base != "en":
        return f"{base}-Latn" + ("-pinyin" if translit == PINYIN else
                                 "-alalc97" if translit == ALA_LC else "")
    return base


def _mark(element: etree._Element, variant: Variant, lang: str | None, group: str | None,
          item: Item) -> etree._Element:
    script = variant.script
    if script == "Hani":
        script = _chinese_script(item)
    if lang:
        element.set("lang", lang)
    if tag := _xml_lang(lang, script, variant.transliteration):
        element.set(f"{{{XML}}}lang", tag)
    element.set("script", script)
    if variant.transliteration:
        element.set("transliteration", variant.transliteration)
    if group:
        element.set("altRepGroup", group)
    return element


def _join(f: MarcField, codes: str, sep: str = " ") -> str:
    return clean(sep.join(clean(v) for v in f.values(*codes) if v.strip()))


def _emit(desc: RecordDescription, group: str, variants: list[Variant], build, lang: str | None,
          item: Item, label: str) -> None:
    """Add one element per variant; variants of one field share an altRepGroup."""
    built = [(v, e) for v in variants if (e := build(v.field)) is not None]
    paired = len(built) > 1
    for n, (variant, element) in enumerate(built):
        if n and element.get("usage"):
            del element.attrib["usage"]  # one primary: the field itself, not its alternates
        if paired or variant.script != "Latn":
            _mark(element, variant, lang, label if paired else None, item)
        # An unpaired Latin field (LCSH heading, English note) gets no language attributes.
        desc.add(group, element)


def _roles(f: MarcField, code_sub: str = "4", text_sub: str = "e",
           relators: dict[str, str] | None = None) -> list[etree._Element]:
    roles = []
    for text in f.values(text_sub) if text_sub else []:
        roles.append(M.role(M.roleTerm(clean(text), type="text")))
    for code in f.values(code_sub):
        code = clean(code)
        code = (relators or {}).get(code, code)
        roles.append(M.role(M.roleTerm(code, type="code", authority="marcrelator",
                                       authorityURI=MARC_RELATOR,
                                       valueURI=f"{MARC_RELATOR}/{code}")))
    return roles


def origin_info(f: MarcField, publisher: str, date: str,
                event_tag: str) -> etree._Element | None:
    """An imprint field as one MODS originInfo, or None when it holds nothing.

    Places are $a in both flavours; the publisher and date subfields differ (MARC 21 260/264
    $b $c, UNIMARC 210/214 $c $d). The event comes from the second indicator of the newer
    field (`event_tag`: 264 or 214), the older one (260, 210) is always a publication; a
    production's date is dateCreated, a copyright's copyrightDate, any other dateIssued."""
    children = [M.place(M.placeTerm(clean(v), type="text")) for v in f.values("a")]
    children += [M.publisher(clean(v)) for v in f.values(publisher)]
    event = EVENTS_264.get(f.ind2, "publication") if f.tag == event_tag else "publication"
    date_tag = {"production": "dateCreated", "copyright": "copyrightDate"}.get(event,
                                                                                 "dateIssued")
    children += [getattr(M, date_tag)(clean(v).strip("[]")) for v in f.values(date)]
    return M.originInfo(*children, eventType=event) if children else None


def _coded_into_origin(record: CatalogueRecord, desc: RecordDescription,
                       coded: list[etree._Element]) -> None:
    issuance = ISSUANCE.get(record.leader[7:8]) if len(record.leader) > 7 else None
    if issuance:
        coded.append(M.issuance(issuance))
    if not coded:
        return
    origins = desc.groups.get("origin") or []
    target = origins[0] if origins else None
    if target is None:
        desc.add("origin", M.originInfo(*coded, eventType="publication"))
        return
    for element in coded:
        # MODS orders nothing inside originInfo; places first reads best.
        if element.tag == f"{{{MODS}}}place":
            target.insert(0, element)
        else:
            target.append(element)
