"""MODS 3.8 description of one item, built from its manifest row.

Every language code comes from `kernel.languages`, so the MODS `lang` of a title and the OCR
model of its pages cannot disagree; the script of each title and name comes from the string itself
(`kernel.scripts`), so a Simplified title of a Traditional book is tagged `Hans` here as in IIIF.
Following the LoC guidelines for multi-script records, `altRepGroup` links only the same title or
name in another script; translations are `titleInfo type="translated"`. Manifest columns MODS has
no element for are kept verbatim in `mods:extension`, so the partner's cataloguing is never lost.

Reading direction: MODS has no element for it. We record it as
`physicalDescription/note[@type="reading direction"]` holding the code the manifest uses ("rtl",
"ltr" or "ttb"): `physicalDescription` describes the physical book, `note/@type` is free text in
MODS 3.8, so the record stays schema-valid and the value is machine-readable.

Over 400 lines because the hook by which a catalogue record replaces the manifest's description
group by group (issue 18, `metadata.catalogue`) has to sit in `build_mods` beside the groups it
replaces; the record mappings themselves live in `metadata.marc_mods` and `unimarc_mods`.
"""

import re
from datetime import date, datetime, timezone

from lxml import etree
from lxml.builder import ElementMaker

from kernel.errors import MetadataInvalid
from kernel.languages import READING_DIRECTIONS, Language, UnknownLanguage, language
from ingest.models import Item
from kernel.namespaces import CADL, MODS, NSMAP, XLINK, XML, schema_location
from kernel.scripts import (HAN, HANS, HANT, StringLanguage, detect_script, other_chinese_form,
                            string_language)
from metadata.rights import rights_text, rights_uri
from metadata.catalogue import record_elements
from metadata.serials import host_related_item
from metadata.text import nfc

M = ElementMaker(namespace=MODS, nsmap=NSMAP)
C = ElementMaker(namespace=CADL, nsmap=NSMAP)

MODS_VERSION = "3.8"
MARC_RELATOR = "http://id.loc.gov/vocabulary/relators"
TITLE_KEYS = ("ar", "zh", "en")  # keys of Item.titles, in the order parallel titles are written
READING_DIRECTION_NOTE = "reading direction"
MANUSCRIPT_TYPES = ("manuscript", "letter")  # DFG structure types that are handwritten

# EDTF (ISO 8601-2) dates the manifest may carry: years, months, days, "X" for unknown digits,
# "?" "~" "%" for uncertain/approximate, and intervals with open ends ("..").
_EDTF_DATE = r"-?\d{2}(?:\d{2}|\dX|XX)(?:-(?:\d{2}|XX)(?:-(?:\d{2}|XX))?)?[?~%]?"
_EDTF = re.compile(rf"^(?:{_EDTF_DATE}|(?:{_EDTF_DATE}|\.\.)?/(?:{_EDTF_DATE}|\.\.)?)$")


def _language(tag: str, item: Item) -> Language:
    try:
        return language(tag)
    except UnknownLanguage as exc:
        raise MetadataInvalid(f"item {item.item_id} (manifest line {item.row}): {exc}") from None


def title_language(key: str, item: Item) -> Language:
    """The language of the parallel title stored under `key` ("ar", "zh", "en") of `item.titles`.

    "zh" takes the item's own Chinese language (a book with no Chinese text: Simplified, the form
    the Chinese portal catalogues in); the script written on each title comes from the title's
    own characters (`kernel.scripts.string_language`), not from this.
    """
    if key == "zh":
        for tag in item.languages:
            lang = _language(tag, item)
            if lang.tag.startswith("zh"):
                return lang
        return language("zh-Hans")
    return _language(key, item)


def _title_key(lang: Language) -> str:
    return lang.tag.split("-")[0]


def _tag(element: etree._Element, tags: StringLanguage) -> etree._Element:
    element.set("lang", tags.mods_code)
    element.set(f"{{{XML}}}lang", tags.tag)
    element.set("script", tags.script)
    return element


def _other_script(text: str, tags: StringLanguage) -> tuple[str, StringLanguage] | None:
    """The same Chinese string in the other Chinese script (OpenCC), or None when there is no
    other form (not Chinese, or a string both scripts write alike)."""
    if tags.script not in (HANS, HANT):
        return None
    other = other_chinese_form(text, tags.script)
    if other == text:
        return None
    script = HANT if tags.script == HANS else HANS
    return other, StringLanguage(tags.mods_code, script, f"zh-{script}")


def _titles(item: Item) -> list[etree._Element]:
    """The primary title, then each translated title in TITLE_KEYS order.

    Following the LoC guidelines for multi-script records, `altRepGroup` links only the same
    title written in another script (a Chinese title and its OpenCC form in the other Chinese
    script); a translation is its own `titleInfo type="translated"` with its `xml:lang`.
    """
    primary = _language(item.primary_language, item)
    primary_key = _title_key(primary)
    entries: list[tuple[str, str, dict[str, str]]] = [
        (item.title, primary.tag, {"usage": "primary"})]
    unknown = sorted(set(item.titles) - set(TITLE_KEYS))
    if unknown:
        raise MetadataInvalid(
            f"item {item.item_id} (manifest line {item.row}): parallel titles in unknown "
            f"languages {unknown}; use {', '.join(TITLE_KEYS)}"
        )
    for key in TITLE_KEYS:
        text = item.titles.get(key, "").strip()
        if not text:
            continue
        if key == primary_key:
            if nfc(text) == nfc(item.title):
                continue  # the manifest repeats the primary title in its language column
            # A different title in the primary language is a variant, not a translation.
            entries.append((text, primary.tag, {"type": "alternative"}))
            continue
        entries.append((text, title_language(key, item).tag, {"type": "translated"}))
    elements, groups, written = [], 0, set()
    for text, language_tag, attrs in entries:
        text = nfc(text)
        if text in written:
            continue  # a title column holding the primary title in the other Chinese script
        written.add(text)
        tags = string_language(text, language_tag)
        element = _tag(M.titleInfo(M.title(text), **attrs), tags)
        elements.append(element)
        other = _other_script(text, tags)
        if other is not None:
            written.add(other[0])
            groups += 1
            group = f"title{groups}"
            element.set("altRepGroup", group)
            alt_attrs = {k: v for k, v in attrs.items() if k != "usage"}
            elements.append(_tag(M.titleInfo(M.title(other[0]), altRepGroup=group,
                                             **alt_attrs), other[1]))
    return elements


NAME_TYPES = ("personal", "corporate", "conference", "family")


def _string_tags(text: str, main_script: str) -> StringLanguage | None:
    """The tags of a string whose script is not the record's main script, else None.

    Arabic and Chinese strings get language and script; a Latin string only its script (a
    romanised name says nothing about its language).
    """
    hint = main_script if main_script in (HANS, HANT) else None
    script = detect_script(text, hint)
    if script in (HANS, HANT, HAN):
        tags = string_language(text, "zh-Hant" if script == HANT else "zh-Hans")
    elif script == "Arab":
        tags = string_language(text, "ar")
    elif script is not None:
        tags = StringLanguage("", script, "")
    else:
        return None
    return None if tags.script == main_script else tags


def _tag_if_foreign(element: etree._Element, text: str, main_script: str) -> etree._Element:
    """`lang`/`script`/`xml:lang` on `element` when `text` is not in the record's main script."""
    tags = _string_tags(text, main_script)
    if tags is not None:
        if tags.mods_code:
            element.set("lang", tags.mods_code)
            element.set(f"{{{XML}}}lang", tags.tag)
        element.set("script", tags.script)
    return element


def _name_types(item: Item, names: list[str]) -> list[str | None]:
    """The MODS name `type` of each creator: from the optional `creator_types` column (";"-
    separated like `creator`: personal, corporate, conference, family), else the type the
    item's catalogue record gives the same name (metadata.catalogue.record_name_types), else
    None: the manifest's creator alone does not say whether it is a person or a body."""
    from metadata.catalogue import record_name_types

    raw = item.extra.get("creator_types", "")
    types = [t.strip().lower() or None for t in raw.split(";")] if raw.strip() else []
    bad = sorted({t for t in types if t and t not in NAME_TYPES})
    if bad:
        raise MetadataInvalid(
            f"item {item.item_id} (manifest line {item.row}): creator_types {bad} are not MODS "
            f"name types; use {', '.join(NAME_TYPES)}")
    if types and len(types) != len(names):
        raise MetadataInvalid(
            f"item {item.item_id} (manifest line {item.row}): creator_types gives {len(types)} "
            f"types for {len(names)} creators")
    if types:
        return types
    known = record_name_types(item)
    return [known.get(name) for name in names]


def _creators(item: Item, main_script: str) -> list[etree._Element]:
    """One `name` per creator (";"-separated in the manifest), primary first.

    `lang`/`script` only on a name not in the record's main script; a Chinese name gets its
    form in the other Chinese script as an `altRepGroup`; `type` from `creator_types`.
    """
    names = [nfc(n.strip()) for n in (item.creator or "").split(";") if n.strip()]
    elements, groups = [], 0
    for i, (name, kind) in enumerate(zip(names, _name_types(item, names), strict=True)):
        def element(text: str) -> etree._Element:
            el = M.name(
                M.namePart(text),
                M.role(
                    M.roleTerm("creator", type="text", authority="marcrelator",
                               authorityURI=MARC_RELATOR, valueURI=f"{MARC_RELATOR}/cre"),
                    M.roleTerm("cre", type="code", authority="marcrelator"),
                ),
            )
            if kind:
                el.set("type", kind)
            return el
        first = _tag_if_foreign(element(name), name, main_script)
        if i == 0:
            first.set("usage", "primary")
        elements.append(first)
        script = detect_script(name, main_script if main_script in (HANS, HANT) else None)
        tags = (string_language(name, "zh-Hant" if script == HANT else "zh-Hans")
                if script in (HANS, HANT, HAN) else None)
        other = _other_script(name, tags) if tags is not None else None
        if other is not None:
            groups += 1
            group = f"name{groups}"
            first.set("altRepGroup", group)
            alt = element(other[0])
            alt.set("altRepGroup", group)
            if other[1].script != main_script:
                _tag(alt, other[1])
            elements.append(alt)
    return elements


def _date_issued(value: str) -> etree._Element:
    """`dateIssued`, EDTF-encoded when the manifest gives an EDTF date; other forms (a Hijri or a
    reign-era date) are kept as written, without an encoding that would misdescribe them."""
    value = nfc(value.strip())
    if _EDTF.match(value) and value != "/":
        return M.dateIssued(value, encoding="edtf", keyDate="yes")
    return M.dateIssued(value)


def _origin_info(item: Item, main_script: str) -> etree._Element | None:
    children = []
    if item.place:
        place = nfc(item.place)
        children.append(M.place(_tag_if_foreign(M.placeTerm(place, type="text"), place,
                                                main_script)))
    if item.publisher:
        publisher = nfc(item.publisher)
        children.append(_tag_if_foreign(M.publisher(publisher), publisher, main_script))
    if item.date:
        children.append(_date_issued(item.date))
    return M.originInfo(*children, eventType="publication") if children else None


def _digitization(captured: date | None) -> etree._Element | None:
    """`originInfo eventType="digitization"` with the day the first master was captured."""
    if captured is None:
        return None
    return M.originInfo(M.dateCaptured(captured.isoformat(), encoding="edtf", keyDate="yes"),
                        eventType="digitization")


def _language_element(lang: Language, primary: bool, wrapper: str = "language") -> etree._Element:
    element = getattr(M, wrapper)(
        M.languageTerm(lang.mods_code, type="code", authority="iso639-2b"),
        # The BCP 47 tag is the only code that tells Simplified from Traditional Chinese.
        M.languageTerm(lang.tag, type="code", authority="rfc5646"),
        M.scriptTerm(lang.script, type="code", authority="iso15924"),
    )
    if primary:
        element.set("usage", "primary")
    return element


def _physical_description(item: Item) -> etree._Element:
    if item.reading_direction not in READING_DIRECTIONS:
        raise MetadataInvalid(
            f"item {item.item_id} (manifest line {item.row}): reading direction "
            f"{item.reading_direction!r} is not one of {', '.join(READING_DIRECTIONS)}"
        )
    media_types = sorted({page.mimetype for page in item.pages})
    return M.physicalDescription(
        M.form("electronic", authority="marcform"),
        *[M.internetMediaType(mt) for mt in media_types],
        M.extent(str(len(item.pages)), unit="pages"),
        M.digitalOrigin("reformatted digital"),
        M.note(item.reading_direction, type=READING_DIRECTION_NOTE,
               displayLabel="Reading direction"),
    )


def _identifiers(item: Item) -> list[etree._Element]:
    identifiers = []
    if item.identifier:
        identifiers.append(M.identifier(nfc(item.identifier)))
    identifiers.append(M.identifier(item.item_id, type="local"))
    return identifiers


def _access_conditions(item: Item) -> list[etree._Element]:
    """`accessCondition type="use and reproduction"`: the public rights statement (a
    rightsstatements.org or Creative Commons URI, `metadata.rights`) as `xlink:href`, with its
    readable text in Arabic, Chinese and English. The partner's internal access decision and the
    per-portal routing are not rights statements: they are in `extension` (`cadl:access`)."""
    uri = rights_uri(item)
    texts = rights_text(uri)
    elements = []
    for tag in ("ar", "zh-Hans", "en"):
        element = M.accessCondition(texts[tag], type="use and reproduction",
                                    **{f"{{{XLINK}}}href": uri})
        element.set("lang", language(tag).mods_code)
        element.set(f"{{{XML}}}lang", tag)
        element.set("script", language(tag).script)
        elements.append(element)
    return elements


def _location(item: Item) -> etree._Element | None:
    shelfmark = item.extra.get("shelfmark", "").strip()
    return M.location(M.shelfLocator(nfc(shelfmark))) if shelfmark else None


def _extension(item: Item) -> list[etree._Element]:
    # The routing: the manifest's own rights forms ("open", "restricted", "embargo:YYYY-MM-DD"),
    # which Rights.parse reads back, and the portals; internal, never a public statement.
    access = C.access(rights=str(item.rights), portals=" ".join(item.portals))
    for portal, rights in sorted(item.portal_rights.items()):
        access.set(f"rights_{portal}", str(rights))
    elements = [M.extension(access, displayLabel="access and portal routing")]
    if item.extra:
        # Verbatim, not even NFC: these are columns we do not understand, so we do not touch them.
        elements.append(M.extension(
            *[C.column(value, name=name) for name, value in item.extra.items()],
            displayLabel="manifest columns",
        ))
    return elements


def _record_info(item: Item, batch_id: str, record_source: str,
                 created: datetime | None) -> etree._Element:
    dates = []
    if created is not None:
        stamp = created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        # EDTF like every other date of the record (an EDTF level 0 date and time).
        dates = [M.recordCreationDate(stamp, encoding="edtf"),
                 M.recordChangeDate(stamp, encoding="edtf")]
    return M.recordInfo(
        M.recordContentSource(nfc(record_source)),
        *dates,
        M.recordIdentifier(item.item_id),
        # The partner catalogues an item in its primary language.
        _language_element(_language(item.primary_language, item), False, "languageOfCataloging"),
        M.recordInfoNote(batch_id, type="batch"),
        M.recordInfoNote(str(item.row), type="manifest line"),
    )


def _type_of_resource(item: Item) -> etree._Element:
    if item.extra.get("structure_type", "").strip() in MANUSCRIPT_TYPES:
        return M.typeOfResource("text", manuscript="yes")
    return M.typeOfResource("text")


def build_mods(item: Item, batch_id: str, record_source: str | None = None,
               created: datetime | None = None, captured: date | None = None) -> etree._Element:
    """The `mods:mods` record of `item`, from batch `batch_id`.

    `record_source` names the cataloguing institution (recordContentSource); it defaults to the
    `CADL_SOURCE_ORGANIZATION` setting. `created` (timezone-aware) becomes recordCreationDate and
    recordChangeDate, `captured` the digitization event's dateCaptured. Raises MetadataInvalid
    when the row names a language the table does not know, a parallel title under an unknown
    key, an unknown reading direction or creator type.
    """
    if record_source is None:
        from kernel.settings import get_settings

        record_source = get_settings().source_organization
    primary = item.primary_language
    main_script = _language(primary, item).script
    # Issue 18: a catalogue record describes the item where the manifest left cells empty
    # (metadata.catalogue); without one, every group comes from the manifest row.
    record = record_elements(item) or {}

    def part(group: str, manifest: list) -> list:
        return record.get(group) or manifest

    extent = record.get("extent")
    identifiers = _identifiers(item)
    children = [
        *part("title", _titles(item)),
        *part("creator", _creators(item, main_script)),
        _type_of_resource(item),
        *part("origin", [_origin_info(item, main_script)]),
        _digitization(captured),
        *[_language_element(_language(tag, item), tag == primary) for tag in item.languages],
        None if item.is_container else _physical_description(item),
        M.physicalDescription(*extent, displayLabel="original") if extent else None,
        *record.get("genre", []),
        *record.get("notes", []),
        *part("subjects", [_tag_if_foreign(M.subject(M.topic(nfc(subject))), nfc(subject),
                                           main_script)
                           for subject in item.subjects if subject.strip()]),
        *record.get("classification", []),
        *part("identifier", identifiers[:-1]),
        identifiers[-1],  # the item id, always
        _location(item),
        host_related_item(item),  # issue 18: an issue's title and numbering
        *_access_conditions(item),
        *_extension(item),
        _record_info(item, batch_id, record_source, created),
    ]
    if record.get("recordInfo"):
        children[-1].extend(record["recordInfo"])
    root = M.mods(*[c for c in children if c is not None], version=MODS_VERSION)
    root.set(f"{{{NSMAP['xsi']}}}schemaLocation", schema_location(MODS))
    etree.cleanup_namespaces(root)  # a standalone record declares only the prefixes it uses
    return root
