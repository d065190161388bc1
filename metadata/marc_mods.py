"""A partner's catalogue record as MODS: MARC 21 by the Library of Congress MARC-to-MODS mapping,
UNIMARC/CNMARC by our documented mapping (docs/catalogue-records.md has both tables).

`ingest.catalogue` reads the record into plain fields; this module interprets them. The result is
a `RecordDescription`: MODS elements grouped by the manifest column that may override them
(`title`, `creator`, `origin`, `subjects`, `identifier`), the elements no column overrides
(notes, genre, classification, the original's extent), and the plain values (`summary`) that
fill an item's manifest fields (its title for IIIF, bag-info, the report) when the row left
them empty.

Vernacular and romanized forms of a field become MODS `altRepGroup` pairs, each element with its
`script` (ISO 15924) and, for the romanized one, `transliteration`: in MARC 21 a field and its
linked 880 (subfield $6), in UNIMARC fields of one tag sharing a $6 link with their script in
$7, and in CNMARC the pinyin the National Library of China keeps in $9 (and $A) of 200 and 7XX.
The UNIMARC half is `metadata.unimarc_mods`, which shares this module's helpers."""

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
# MARC 21 880 $6 script identification codes → ISO 15924.
MARC21_SCRIPTS = {"(3": "Arab", "4": "Arab", "$1": "Hani", "(B": "Latn", "(N": "Cyrl",
                  "(S": "Grek", "(2": "Hebr"}
# UNIMARC $7 positions 0-1 (script of cataloguing) → ISO 15924.
UNIMARC_SCRIPTS = {"ba": "Latn", "ca": "Cyrl", "ea": "Hani", "fa": "Arab", "ga": "Grek",
                   "ha": "Hebr", "da": "Jpan", "ka": "Kore"}
# UNIMARC relator codes (numeric) → MARC relator codes.
UNIMARC_RELATORS = {"070": "aut", "340": "edt", "730": "trl", "440": "ill", "020": "ann",
                    "080": "aui", "205": "ctb", "212": "cmm", "650": "pbl", "651": "pbd",
                    "220": "com", "600": "pht", "295": "dgg", "727": "dgs"}
ISSUANCE = {"m": "monographic", "s": "serial", "i": "integrating resource",
            "a": "monographic", "c": "multipart monograph"}
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


# --- shared helpers ----------------------------------------------------------------------------

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


# --- MARC 21 (Library of Congress MARC-to-MODS mapping) ----------------------------------------

def _marc21_variants(record: CatalogueRecord) -> list[tuple[str, list[Variant], str]]:
    """(tag, variants, altRepGroup label) for every data field, 880s joined to their field."""
    linked: dict[tuple[str, str], list[MarcField]] = {}
    for f in record.get("880"):
        six = f.first("6") or ""
        match = re.match(r"^(\d{3})-(\d{2})", six)
        if match:
            linked.setdefault((match.group(1), match.group(2)), []).append(f)
    out = []
    for f in record.fields:
        if f.data is not None or f.tag == "880":
            continue
        six = f.first("6") or ""
        match = re.match(r"^880-(\d{2})", six)
        partners = linked.pop((f.tag, match.group(1)), []) if match and match.group(1) != "00" \
            else []
        variants = [Variant(f, detect_script(" ".join(f.values())))]
        for p in partners:
            code = re.match(r"^\d{3}-\d{2}/([^/]+)", p.first("6") or "")
            script = MARC21_SCRIPTS.get(code.group(1) if code else "", "") or \
                detect_script(" ".join(p.values()))
            # The 880 stands for its linked field: map it as that tag.
            variants.append(Variant(p.model_copy(update={"tag": f.tag}), script))
        if partners and variants[0].script == "Latn":
            variants[0].transliteration = ALA_LC
        out.append((f.tag, variants, f"{f.tag}-{match.group(1)}" if partners else f.tag))
    for (tag, occ), fields in linked.items():  # 880s without a linked field ("245-00")
        for p in fields:
            out.append((tag, [Variant(p.model_copy(update={"tag": tag}),
                                      detect_script(" ".join(p.values())))], f"{tag}-{occ}"))
    return out


def _marc21_title(f: MarcField) -> etree._Element | None:
    title = _join(f, "afgk")
    if not title:
        return None
    children = []
    skip = int(f.ind2) if f.tag == "245" and f.ind2.isdigit() else 0
    if skip and len(title) > skip:
        children.append(M.nonSort(title[:skip]))
        title = title[skip:]
    children.append(M.title(title))
    if sub := _join(f, "b"):
        children.append(M.subTitle(sub))
    children += [M.partNumber(clean(v)) for v in f.values("n")]
    children += [M.partName(clean(v)) for v in f.values("p")]
    element = M.titleInfo(*children)
    if f.tag in ("130", "240"):
        element.set("type", "uniform")
    elif f.tag == "246":
        element.set("type", "translated" if f.ind2 == "1" else "alternative")
    elif f.tag == "245":
        element.set("usage", "primary")
    return element


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


def _marc21_name(f: MarcField) -> etree._Element | None:
    kind = {"0": "personal", "1": "corporate", "2": "conference"}[
        "0" if f.tag[1:] == "00" else "1" if f.tag[1:] == "10" else "2"]
    parts = [M.namePart(_join(f, "aq"))]
    if kind != "personal":
        parts += [M.namePart(clean(v)) for v in f.values("b")]
    if kind == "personal" and (terms := _join(f, "bc")):
        parts.append(M.namePart(terms, type="termsOfAddress"))
    if date := _join(f, "d"):
        parts.append(M.namePart(date, type="date"))
    element = M.name(*parts, *_roles(f, text_sub="e" if kind != "conference" else "j"),
                     type=kind)
    if f.tag.startswith("1"):
        element.set("usage", "primary")
    return element


def _marc21_origin(f: MarcField) -> etree._Element | None:
    children = [M.place(M.placeTerm(clean(v), type="text")) for v in f.values("a")]
    children += [M.publisher(clean(v)) for v in f.values("b")]
    event = EVENTS_264.get(f.ind2, "publication") if f.tag == "264" else "publication"
    date_tag = {"production": "dateCreated", "copyright": "copyrightDate"}.get(event,
                                                                                 "dateIssued")
    children += [getattr(M, date_tag)(clean(v).strip("[]")) for v in f.values("c")]
    return M.originInfo(*children, eventType=event) if children else None


def _subject_authority(f: MarcField) -> dict[str, str]:
    authority = {"0": "lcsh", "1": "lcshac", "2": "mesh", "3": "nal", "5": "cash",
                 "6": "rvm"}.get(f.ind2)
    if f.ind2 == "7" and f.first("2"):
        authority = f.first("2")
    return {"authority": authority} if authority else {}


def _marc21_subject(f: MarcField) -> etree._Element | None:
    children = []
    for code, value in f.subfields:
        value = clean(value)
        if code == "a":
            if f.tag == "600":
                children.append(M.name(M.namePart(value), type="personal"))
            elif f.tag in ("610", "611"):
                children.append(M.name(M.namePart(value), type="corporate"))
            elif f.tag == "630":
                children.append(M.titleInfo(M.title(value)))
            else:
                children.append((M.geographic if f.tag == "651" else M.topic)(value))
        elif code in "xyzv":
            children.append({"x": M.topic, "y": M.temporal, "z": M.geographic,
                             "v": M.genre}[code](value))
    return M.subject(*children, **_subject_authority(f)) if children else None


MARC21_NOTES = {"500": ("note", None), "504": ("note", "bibliography"),
                "546": ("note", "language"), "520": ("abstract", None),
                "505": ("tableOfContents", None), "250": ("edition", None)}


def marc21_description(record: CatalogueRecord, item: Item) -> RecordDescription:
    """The MARC 21 record as MODS, by the LoC mapping (docs/catalogue-records.md)."""
    desc = RecordDescription(record.control_number, "marc21", record.source)
    f008 = next((f.data for f in record.get("008") if f.data), "") or ""
    lang = f008[35:38].strip() if len(f008) >= 38 and f008[35:38].strip() else None
    desc.languages = [lang] if lang else []
    for f in record.get("041"):
        desc.languages += [v for v in f.values("a") if v not in desc.languages]
    lang = lang or (desc.languages[0] if desc.languages else None)
    lang = _lang_code(lang, item)
    desc.record_identifier_source = next((f.data for f in record.get("003") if f.data), None)
    if f040 := record.get("040"):
        desc.description_standard = f040[0].first("e")
    origins: list[etree._Element] = []
    for tag, variants, label in _marc21_variants(record):
        if tag in ("245", "246", "130", "240"):
            _emit(desc, "title", variants, _marc21_title, lang, item, label)
        elif tag in ("100", "110", "111", "700", "710", "711"):
            _emit(desc, "creator", variants, _marc21_name, lang, item, label)
        elif tag in ("260", "264"):
            _emit(desc, "origin", variants, _marc21_origin, lang, item, label)
        elif tag in ("600", "610", "611", "630", "650", "651"):
            _emit(desc, "subjects", variants, _marc21_subject, lang, item, label)
        elif tag == "653":
            _emit(desc, "subjects", variants, lambda f: M.subject(
                *[M.topic(clean(v)) for v in f.values("a")]), lang, item, label)
        if tag == "245" and any(v.field.first("c") for v in variants):  # 245 $c
            _emit(desc, "notes", variants, lambda f: M.note(_join(f, "c"),
                  type="statement of responsibility") if f.first("c") else None,
                  lang, item, label)
        if tag in MARC21_NOTES:
            element_name, note_type = MARC21_NOTES[tag]
            if tag == "250":
                origins += [M.edition(_join(v.field, "ab")) for v in variants[:1]]
                continue
            _emit(desc, "notes", variants, lambda f, e=element_name, t=note_type: getattr(
                M, e)(_join(f, "a" if e != "tableOfContents" else "agrt"),
                      **({"type": t} if t else {})), lang, item, label)
    _marc21_coded(record, desc, f008, origins)
    for f in record.get("655"):
        attrs = {"authority": f.first("2")} if f.first("2") else {}
        desc.add("genre", M.genre(_join(f, "avxyz", " -- "), **attrs))
    for f in record.get("300"):
        desc.add("extent", M.extent(_join(f, "abce", " ; ")))
    identifiers = {"020": "isbn", "022": "issn", "010": "lccn"}
    for tag, kind in identifiers.items():
        for f in record.get(tag):
            for v in f.values("a"):
                desc.add("identifier", M.identifier(clean(v), type=kind))
            for v in f.values("z"):
                desc.add("identifier", M.identifier(clean(v), type=kind, invalid="yes"))
    for f in record.get("050"):  # LC and Dewey classification
        desc.add("classification", M.classification(_join(f, "ab"), authority="lcc"))
    for f in record.get("082"):
        attrs = {"edition": f.first("2")} if f.first("2") else {}
        desc.add("classification", M.classification(clean(f.first("a") or ""), authority="ddc",
                                                    **attrs))
    return desc


def _marc21_coded(record: CatalogueRecord, desc: RecordDescription, f008: str,
                  origins: list[etree._Element]) -> None:
    """008 dates and country, leader/07 issuance and 250 edition go into the first originInfo
    (a new one when the record has no 260/264), as the LoC mapping does."""
    coded = list(origins)
    if len(f008) >= 18:
        date1, date2, kind = f008[7:11], f008[11:15], f008[6]
        if date1.strip():
            date1 = date1.replace("u", "X")
            if kind in "cdikmq" and date2.strip() and date2 != "9999":
                coded += [M.dateIssued(date1, encoding="marc", point="start", keyDate="yes"),
                          M.dateIssued(date2.replace("u", "X"), encoding="marc", point="end")]
            else:
                coded.append(M.dateIssued(date1, encoding="marc", keyDate="yes"))
        if country := f008[15:18].strip():
            coded.insert(0, M.place(M.placeTerm(country, type="code",
                                                authority="marccountry")))
    _coded_into_origin(record, desc, coded)


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
