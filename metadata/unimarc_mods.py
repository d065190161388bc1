"""UNIMARC and CNMARC records as MODS, by our mapping (the tables are in
docs/catalogue-records.md); the shared helpers (scripts, pairs, punctuation) are in
`metadata.marc_common`.

UNIMARC links the vernacular and romanized forms of a field by repeating it with the same $6
and the script in $7 ("ea" Chinese, "ba" Latin, "fa" Arabic); the National Library of China's
CNMARC keeps the pinyin of a title or name in $9 (or $A) of the same field instead. Both become
MODS altRepGroup pairs, the pinyin with `transliteration` "Hanyu Pinyin (ISO 7098)".
"""

from __future__ import annotations

from lxml import etree

from ingest.models import CatalogueRecord, Item, MarcField
from metadata.marc_common import (PINYIN, M, RecordDescription, Variant,
                                  _coded_into_origin, _emit, _join, _lang_code, _roles, clean,
                                  detect_script, origin_info)

# UNIMARC $7 positions 0-1 (script of cataloguing) → ISO 15924.
UNIMARC_SCRIPTS = {"ba": "Latn", "ca": "Cyrl", "ea": "Hani", "fa": "Arab", "ga": "Grek",
                   "ha": "Hebr", "da": "Jpan", "ka": "Kore"}
# UNIMARC relator codes (numeric) → MARC relator codes.
UNIMARC_RELATORS = {"070": "aut", "340": "edt", "730": "trl", "440": "ill", "020": "ann",
                    "080": "aui", "205": "ctb", "212": "cmm", "650": "pbl", "651": "pbd",
                    "220": "com", "600": "pht", "295": "dgg", "727": "dgs"}


def _unimarc_variants(record: CatalogueRecord) -> list[tuple[str, list[Variant], str]]:
    """Fields joined by $6 (same tag, same link) with the script of $7; CNMARC's pinyin in $9
    or $A of 200 and 7XX becomes a romanized variant of its own field."""
    groups: dict[tuple[str, str], list[MarcField]] = {}
    order: list[tuple[str, str]] = []
    for n, f in enumerate(record.fields):
        if f.data is not None:
            continue
        key = (f.tag, f.first("6") or f"{n:02d}")
        if key not in groups:
            order.append(key)
        groups.setdefault(key, []).append(f)
    out = []
    for key in order:
        fields = groups[key]
        variants = []
        for f in fields:
            seven = (f.first("7") or "")[:2]
            variants.append(Variant(f, UNIMARC_SCRIPTS.get(seven) or
                                    detect_script(" ".join(f.values("a") or f.values()))))
        pinyin = [f for f in fields if f.tag in ("200", "700", "701", "702", "710", "711",
                                                 "712") and (f.first("9") or f.first("A"))]
        for f in pinyin[:1]:
            subs = [("a", f.first("9") or f.first("A") or "")]
            if f.tag == "200":
                subs += [("e", v) for v in f.values("E")]
            subs += [(c, v) for c, v in f.subfields if c == "4"]
            variants.append(Variant(MarcField(tag=f.tag, ind1=f.ind1, ind2=f.ind2,
                                              subfields=subs), "Latn", PINYIN))
        if len(variants) > 1:
            for v in variants:
                if v.script == "Latn" and not v.transliteration:
                    v.transliteration = PINYIN if any(
                        o.script == "Hani" for o in variants) else "romanized"
        label = f"{key[0]}-{key[1]}" if len(variants) > 1 else key[0]
        out.append((key[0], variants, label))
    return out


def _unimarc_title(f: MarcField) -> etree._Element | None:
    title = clean(f.first("a") or "")
    if not title:
        return None
    children = [M.title(title)]
    if sub := _join(f, "e"):
        children.append(M.subTitle(sub))
    children += [M.partNumber(clean(v)) for v in f.values("h")]
    children += [M.partName(clean(v)) for v in f.values("i")]
    element = M.titleInfo(*children)
    if f.tag == "200":
        element.set("usage", "primary")
    elif f.tag == "500":
        element.set("type", "uniform")
    elif f.tag in ("510", "541"):
        element.set("type", "translated")
    else:
        element.set("type", "alternative")
    return element


def _unimarc_name(f: MarcField) -> etree._Element | None:
    personal = f.tag[1] == "0"
    name = clean(f.first("a") or "")
    if personal and (rest := clean(f.first("b") or "")):
        name = f"{name}, {rest}"
    parts = [M.namePart(name)]
    if not personal:
        parts += [M.namePart(clean(v)) for v in f.values("b")]
    if personal and (terms := _join(f, "c")):
        parts.append(M.namePart(terms, type="termsOfAddress"))
    if date := _join(f, "f"):
        parts.append(M.namePart(date, type="date"))
    element = M.name(*parts, *_roles(f, text_sub="", relators=UNIMARC_RELATORS),
                     type="personal" if personal else "conference" if f.ind1 == "1"
                     else "corporate")
    if f.tag in ("700", "710"):
        element.set("usage", "primary")
    return element


def _unimarc_origin(f: MarcField) -> etree._Element | None:
    return origin_info(f, publisher="c", date="d", event_tag="214")


def _unimarc_subject(f: MarcField) -> etree._Element | None:
    children = []
    for code, value in f.subfields:
        value = clean(value)
        if code == "a":
            if f.tag == "600":
                rest = clean(f.first("b") or "")
                children.append(M.name(M.namePart(f"{value}, {rest}" if rest else value),
                                       type="personal"))
            elif f.tag == "601":
                children.append(M.name(M.namePart(value), type="corporate"))
            else:
                children.append((M.geographic if f.tag == "607" else M.topic)(value))
        elif code in "xyzj":
            children.append({"x": M.topic, "y": M.geographic, "z": M.temporal,
                             "j": M.genre}[code](value))
    attrs = {"authority": f.first("2")} if f.first("2") else {}
    return M.subject(*children, **attrs) if children else None


UNIMARC_NOTES = {"300": ("note", None), "320": ("note", "bibliography"),
                 "330": ("abstract", None), "327": ("tableOfContents", None)}


def unimarc_description(record: CatalogueRecord, item: Item) -> RecordDescription:
    """The UNIMARC (CNMARC) record as MODS, by our mapping (docs/catalogue-records.md)."""
    desc = RecordDescription(record.control_number, "unimarc", record.source)
    for f in record.get("101"):
        desc.languages += [v for v in f.values("a") if v not in desc.languages]
    lang = _lang_code(desc.languages[0] if desc.languages else None, item)
    for f in record.get("801"):
        if f.ind2 in ("0", "1") and f.first("b"):
            desc.record_identifier_source = f.first("b")
    for tag, variants, label in _unimarc_variants(record):
        if tag in ("200", "500", "510", "517", "541"):
            _emit(desc, "title", variants, _unimarc_title, lang, item, label)
            if tag == "200":
                for f in variants[0].field.values("d"):  # parallel title, language in $z
                    langs = variants[0].field.values("z")
                    desc.add("title", M.titleInfo(M.title(clean(f).lstrip("= ")),
                                                  type="translated",
                                                  **({"lang": langs[0]} if langs else {})))
                if any(v.field.first("f") for v in variants):
                    _emit(desc, "notes", variants, lambda f: M.note(
                        _join(f, "fg", " ; "), type="statement of responsibility")
                        if f.first("f") else None, lang, item, label)
        elif tag in ("700", "701", "702", "710", "711", "712"):
            _emit(desc, "creator", variants, _unimarc_name, lang, item, label)
        elif tag in ("210", "214"):
            _emit(desc, "origin", variants, _unimarc_origin, lang, item, label)
        elif tag in ("600", "601", "606", "607"):
            _emit(desc, "subjects", variants, _unimarc_subject, lang, item, label)
        elif tag == "610":
            _emit(desc, "subjects", variants, lambda f: M.subject(
                *[M.topic(clean(v)) for v in f.values("a")]), lang, item, label)
        elif tag in UNIMARC_NOTES:
            element_name, note_type = UNIMARC_NOTES[tag]
            _emit(desc, "notes", variants, lambda f, e=element_name, t=note_type: getattr(
                M, e)(_join(f, "a"), **({"type": t} if t else {})), lang, item, label)
    names = desc.groups.get("creator", [])
    if names and not any(n.get("usage") for n in names):
        names[0].set("usage", "primary")  # CNMARC often gives the author in 701, not 700
    coded: list[etree._Element] = []
    for f in record.get("205")[:1]:
        coded.append(M.edition(_join(f, "a")))
    hundred = next((f.first("a") for f in record.get("100") if f.first("a")), "") or ""
    if len(hundred) >= 13 and hundred[9:13].strip():
        coded.append(M.dateIssued(hundred[9:13].replace(" ", "X").replace("u", "X"),
                                  encoding="marc", keyDate="yes"))
    for f in record.get("102")[:1]:
        if f.first("a"):
            coded.insert(0, M.place(M.placeTerm(f.first("a"), type="code",
                                                authority="iso3166")))
    _coded_into_origin(record, desc, coded)
    for f in record.get("608"):
        attrs = {"authority": f.first("2")} if f.first("2") else {}
        desc.add("genre", M.genre(_join(f, "axyz", " -- "), **attrs))
    for f in record.get("215"):
        desc.add("extent", M.extent(_join(f, "acde", " ; ")))
    for tag, kind in (("010", "isbn"), ("011", "issn")):
        for f in record.get(tag):
            for v in f.values("a"):
                desc.add("identifier", M.identifier(clean(v), type=kind))
            for v in f.values("z"):
                desc.add("identifier", M.identifier(clean(v), type=kind, invalid="yes"))
    for tag, authority in (("690", "clc"), ("676", "ddc"), ("680", "lcc")):
        for f in record.get(tag):
            desc.add("classification", M.classification(_join(f, "ab", ""),
                                                        authority=authority))
    return desc
