"""A catalogue record merged with its manifest row: filled cells win, the record fills the rest.

`apply_record` runs once, when the batch is validated (cadl calls it): it fills the item's
empty descriptive fields (title, creator, date, …) from the record, so everything that shows an
item (IIIF labels, bag-info, the report) sees the same description, and records in
`item.sources` where each field came from. `record_elements` is the hook `metadata.mods` calls:
the MODS elements of every group the manifest did not override, in the record's richer form
(vernacular and romanized pairs, typed identifiers, subject strings).
"""

from __future__ import annotations

from lxml import etree

from ingest.models import Item
from kernel.languages import language
from kernel.namespaces import MODS
from metadata.marc_common import OVERRIDES, RecordDescription
from metadata.marc_mods import marc21_description
from metadata.unimarc_mods import unimarc_description

# Item fields a record can fill, and the group of MODS elements each belongs to.
FORMAT_NAMES = {"marc21": "MARC 21", "unimarc": "UNIMARC"}
FIELDS = ("title", "creator", "date", "publisher", "place", "subjects", "identifier")
_NS = {"mods": MODS}


def describe_record(item: Item) -> RecordDescription | None:
    """The MODS description of the item's catalogue record, or None when it names none."""
    record = item.catalogue_record
    if record is None:
        return None
    if record.format == "unimarc":
        return unimarc_description(record, item)
    return marc21_description(record, item)


def _scripts_for(item: Item) -> tuple[str, ...]:
    script = language(item.primary_language).script if item.languages else "Latn"
    return (script, "Hani") if script in ("Hans", "Hant") else (script,)


def _pick(elements: list[etree._Element], item: Item) -> etree._Element | None:
    """Of the variants of the first field, the one in the script of the item's primary
    language (an Arabic book's title in Arabic, not its romanization)."""
    if not elements:
        return None
    first = elements[0]
    group = first.get("altRepGroup")
    variants = [e for e in elements if group and e.get("altRepGroup") == group] or [first]
    scripts = _scripts_for(item)
    return next((e for e in variants if e.get("script") in scripts
                 or (e.get("script") in ("Hans", "Hant") and "Hani" in scripts)), variants[0])


def _text(element: etree._Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path, _NS)
    return "".join(found.itertext()).strip() if found is not None else None


def summarize(desc: RecordDescription, item: Item) -> dict[str, object]:
    """Plain values for the item's fields, in the script of its primary language."""
    titles = [e for e in desc.groups.get("title", []) if e.get("type") is None]
    title_el = _pick(titles, item)
    title = None
    if title_el is not None:
        title = " ".join(filter(None, [_text(title_el, "mods:nonSort"),
                                       _text(title_el, "mods:title")])).replace("  ", " ")
        if sub := _text(title_el, "mods:subTitle"):
            title = f"{title} : {sub}"
    names, seen_groups = [], set()
    for element in desc.groups.get("creator", []):
        group = element.get("altRepGroup")
        if group and group in seen_groups:
            continue
        seen_groups.add(group)
        chosen = _pick([e for e in desc.groups["creator"] if e.get("altRepGroup") == group]
                       if group else [element], item)
        names.append(_text(chosen, "mods:namePart"))
    origin = _pick(desc.groups.get("origin", []), item)
    coded = [e for e in (desc.groups.get("origin") or [None])[0:1] if e is not None]
    date = None
    for element in coded:
        marc = element.find("mods:dateIssued[@encoding='marc']", _NS)
        date = marc.text if marc is not None else _text(element, "mods:dateIssued")
    subjects = [" -- ".join("".join(c.itertext()).strip() for c in s)
                for s in desc.groups.get("subjects", [])
                if s.get("script") in _scripts_for(item) + ("Hans", "Hant")
                or s.get("altRepGroup") is None]
    identifiers = [f"{e.get('type', '').upper()} {e.text}".strip()
                   for e in desc.groups.get("identifier", []) if e.get("invalid") != "yes"]
    return {
        "title": title, "creator": "; ".join(n for n in names if n) or None,
        "date": date, "publisher": _text(origin, "mods:publisher"),
        "place": _text(origin, "mods:place/mods:placeTerm[@type='text']"),
        "subjects": [s for s in subjects if s], "identifier": identifiers[0] if identifiers
        else None,
    }


def apply_record(item: Item) -> Item:
    """Fill the item's empty descriptive fields from its catalogue record, in place; return it.

    `item.sources` says, per field, "manifest" (a filled cell, which overrides the record) or
    "record". An item without a record is returned unchanged.
    """
    desc = describe_record(item)
    if desc is None:
        return item
    values = summarize(desc, item)
    for name in FIELDS:
        if item.sources.get(name) == "manifest":
            continue
        value = values.get(name)
        if value:
            setattr(item, name, value)
            item.sources[name] = "record"
    return item


def record_name_types(item: Item) -> dict[str, str]:
    """{name as written (NFC, any script form the record gives): MODS name type} of every
    typed name in the item's catalogue record (MARC 100/110/111/700/710/711, UNIMARC 7XX);
    {} without a record. Lets a manifest `creator` cell that repeats a record's name keep the
    type the cataloguer gave it (personal, corporate, conference)."""
    import unicodedata

    desc = describe_record(item)
    if desc is None:
        return {}
    types = {}
    for element in desc.groups.get("creator", []):
        text = _text(element, "mods:namePart")
        if text and element.get("type"):
            types[unicodedata.normalize("NFC", text)] = element.get("type")
    return types


def overridden_groups(item: Item) -> set[str]:
    """The MODS groups a filled manifest cell replaces (the manifest's form is used there)."""
    return {OVERRIDES[name] for name, source in item.sources.items()
            if source == "manifest" and name in OVERRIDES}


def record_elements(item: Item) -> dict[str, list[etree._Element]] | None:
    """The record's MODS elements by group, without the groups the manifest overrides; None
    when the item has no record. Groups: title, creator, origin, subjects, identifier, notes,
    genre, extent, classification; plus "recordInfo" (recordIdentifier, recordOrigin,
    descriptionStandard) for the recordInfo element."""
    desc = describe_record(item)
    if desc is None:
        return None
    from lxml.builder import ElementMaker

    from kernel.namespaces import NSMAP

    M = ElementMaker(namespace=MODS, nsmap=NSMAP)
    groups = {k: v for k, v in desc.groups.items() if k not in overridden_groups(item)}
    info = [M.recordIdentifier(desc.control_number,
                               source=desc.record_identifier_source or "partner catalogue"),
            # Not where the record was fetched (file or SRU): the same record gives the same MODS.
            M.recordOrigin(f"Converted from the partner's {FORMAT_NAMES[desc.format]} record "
                           "to MODS 3.8 by the cadl pipeline (docs/catalogue-records.md)")]
    if desc.description_standard:
        info.append(M.descriptionStandard(desc.description_standard))
    groups["recordInfo"] = info
    return groups
