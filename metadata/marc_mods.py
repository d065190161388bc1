"""A partner's MARC 21 record as MODS, by the Library of Congress MARC-to-MODS mapping
(docs/catalogue-records.md has the table).

`ingest.catalogue` reads the record into plain fields; this module interprets them into a
`RecordDescription`. The vernacular form of a field stands in its linked 880 (subfield $6): the
two become a MODS `altRepGroup` pair, the romanized one with `transliteration` "ALA-LC
Romanization Tables". The MODS building blocks this shares with UNIMARC/CNMARC
(`metadata.unimarc_mods`) are in `metadata.marc_common`."""

from __future__ import annotations

import re

from lxml import etree

from ingest.models import CatalogueRecord, Item, MarcField
from metadata.marc_common import (ALA_LC, M, RecordDescription, Variant,
                                  _coded_into_origin, _emit, _join, _lang_code, _roles, clean,
                                  detect_script, origin_info)

# MARC 21 880 $6 script identification codes → ISO 15924.
MARC21_SCRIPTS = {"(3": "Arab", "4": "Arab", "$1": "Hani", "(B": "Latn", "(N": "Cyrl",
                  "(S": "Grek", "(2": "Hebr"}

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
    return origin_info(f, publisher="b", date="c", event_tag="264")


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
