"""Catalogue records as the description of an item: MARCXML, ISO 2709 and SRU, read with pymarc.

The partners have already catalogued the books they scan (the National Library of China in
CNMARC, a UNIMARC variant; the Arabic partner in MARC 21), so a manifest row may name a record
by its control number (001) in the `record` column instead of retyping the description. The
record is looked up in the batch's own `records.xml` (a MARCXML collection) or `records.mrc`
(ISO 2709), and, when the partner's SRU service is configured (`CADL_CATALOGUE_SRU_URL_ZH`,
`CADL_CATALOGUE_SRU_URL_AR`), there.

This module only reads: it returns each record as a plain `CatalogueRecord` (leader, fields,
subfields) with its flavour detected or declared. Interpreting the fields (the MARC 21 and
UNIMARC mappings to MODS) is `metadata.marc_mods`'s job, since a later stage may import an
earlier one but not the reverse.
"""

from __future__ import annotations

import io
import logging
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from lxml import etree

from ingest.manifest import MANIFEST
from ingest.models import CatalogueRecord, Item, MarcField, ValidationReport

log = logging.getLogger(__name__)

RECORDS_XML = "records.xml"
RECORDS_MRC = "records.mrc"
RECORD_FILES = (RECORDS_XML, RECORDS_MRC)
MARCXML = "http://www.loc.gov/MARC21/slim"
SRU = "http://www.loc.gov/zing/srw/"
SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
DIAG = "http://www.loc.gov/zing/srw/diagnostic/"

# Tags that only one of the two flavours uses for the bibliographic core: MARC 21's title
# statement, fixed-length data and publication fields; UNIMARC's title and responsibility,
# general processing data, language and publication fields.
_MARC21_TAGS = {"008", "040", "100", "110", "245", "260", "264", "300", "650", "880"}
_UNIMARC_TAGS = {"010", "011", "100", "101", "200", "210", "214", "215", "606", "700", "701",
                 "801"}


class RecordNotFound(LookupError):
    """No record with that control number where it was looked for (message says where)."""


class RecordUnreadable(ValueError):
    """A record file or an SRU answer could not be parsed (message says which and why)."""


def detect_format(fields: list[MarcField], leader: str) -> str:
    """"marc21" or "unimarc", from the fields present (a declared format overrides this).

    The leaders of the two formats are nearly the same, so the decision rests on the fields:
    245 (MARC 21's title) or 200 (UNIMARC's), then on which flavour's core tags are more
    numerous. UNIMARC's 100 is a coded field whose $a is 36 characters; MARC 21's is a name.
    """
    tags = {f.tag for f in fields}
    if "245" in tags and "200" not in tags:
        return "marc21"
    if "200" in tags and "245" not in tags:
        return "unimarc"
    hundred = next((f for f in fields if f.tag == "100"), None)
    if hundred is not None and len(hundred.first("a") or "") == 36:
        return "unimarc"
    marc21 = len(tags & _MARC21_TAGS)
    unimarc = len(tags & _UNIMARC_TAGS)
    return "unimarc" if unimarc > marc21 else "marc21"


def _from_pymarc(record, source: str, declared: str | None) -> CatalogueRecord:
    fields = []
    for field in record.fields:
        if field.is_control_field():
            fields.append(MarcField(tag=field.tag, data=field.data))
        else:
            fields.append(MarcField(
                tag=field.tag, ind1=field.indicator1 or " ", ind2=field.indicator2 or " ",
                subfields=[(sf.code, sf.value) for sf in field.subfields]))
    control = next((f.data for f in fields if f.tag == "001" and f.data), None)
    if not control:
        raise RecordUnreadable(f"{source}: a record has no control number (field 001)")
    leader = str(record.leader)
    if len(leader) == 24:
        # Record length (0-4) and base address of data (12-16) describe the ISO 2709 bytes, not
        # the record: zeroed, the same record reads the same from MARCXML, ISO 2709 or SRU.
        leader = "00000" + leader[5:12] + "00000" + leader[17:]
    return CatalogueRecord(control_number=control.strip(), format=declared or
                           detect_format(fields, leader), source=source, leader=leader,
                           fields=fields)


def parse_marcxml(data: bytes, source: str, declared: str | None = None) -> list[CatalogueRecord]:
    """Every record of a MARCXML document (a `collection` or a single `record`).

    Raises RecordUnreadable naming `source` when the XML is not well-formed or holds no record.
    """
    import pymarc

    try:
        # Parsed with lxml first: no network, no entities, and a line number when it is broken.
        root = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise RecordUnreadable(f"{source} is not well-formed XML: {exc}") from None
    if root.tag not in (f"{{{MARCXML}}}collection", f"{{{MARCXML}}}record"):
        raise RecordUnreadable(f"{source}: root element is {root.tag}, not a MARCXML collection "
                               f"or record ({MARCXML})")
    try:
        records = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(root)), strict=True)
    except Exception as exc:  # noqa: BLE001 - pymarc raises many kinds; all mean "unreadable"
        raise RecordUnreadable(f"{source}: not valid MARCXML: {exc}") from None
    return [_from_pymarc(r, source, declared) for r in records if r is not None]


def parse_iso2709(data: bytes, source: str, declared: str | None = None) -> list[CatalogueRecord]:
    """Every record of an ISO 2709 file. Raises RecordUnreadable naming the record's position.

    A record is read as UTF-8 when its leader says so (MARC 21 leader/09 "a") or when its bytes
    are valid UTF-8 (UNIMARC keeps its character set in 100$a/26-29, not in the leader, and the
    partners' exports are UTF-8); otherwise pymarc converts it from MARC-8.
    """
    import pymarc

    records, offset, n = [], 0, 0
    while offset < len(data):
        n += 1
        head = data[offset:offset + 5]
        if not head.isdigit() or int(head) < 24:
            raise RecordUnreadable(f"{source}: record {n} (byte {offset}) does not start with "
                                   "an ISO 2709 record length; is this a MARC file?")
        chunk = data[offset:offset + int(head)]
        offset += int(head)
        try:
            chunk.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            utf8 = chunk[9:10] == b"a"
        try:
            record = pymarc.Record(chunk, to_unicode=True, force_utf8=utf8,
                                   utf8_handling="strict")
        except Exception as exc:  # noqa: BLE001 - pymarc raises many kinds; all mean "unreadable"
            raise RecordUnreadable(f"{source}: record {n} cannot be read "
                                   f"({type(exc).__name__}: {exc})") from None
        records.append(_from_pymarc(record, source, declared))
    if not records:
        raise RecordUnreadable(f"{source} holds no ISO 2709 record")
    return records


def read_record_file(path: Path, declared: str | None = None) -> dict[str, CatalogueRecord]:
    """{control number: record} of `records.xml` or `records.mrc`; RecordUnreadable if broken."""
    data = path.read_bytes()
    parse = parse_marcxml if path.suffix == ".xml" else parse_iso2709
    records = parse(data, path.name, declared)
    by_number: dict[str, CatalogueRecord] = {}
    for record in records:
        if record.control_number in by_number:
            raise RecordUnreadable(f"{path.name}: control number {record.control_number!r} is "
                                   "used by two records")
        by_number[record.control_number] = record
    return by_number


def sru_lookup(base_url: str, control_number: str, index: str = "rec.id",
               timeout: float = 20, declared: str | None = None) -> CatalogueRecord:
    """The record whose `index` equals `control_number` at an SRU 1.1/1.2/2.0 service.

    `searchRetrieve` asks for the MARCXML record schema. Raises RecordNotFound when the
    service finds none, RecordUnreadable when it answers with a diagnostic, more than one
    record, or something that is not SRU; ConnectionError when it cannot be reached.
    """
    value = control_number.replace("\\", "\\\\").replace('"', '\\"')
    query = urllib.parse.urlencode({
        "version": "1.1", "operation": "searchRetrieve", "query": f'{index}="{value}"',
        "recordSchema": "marcxml", "maximumRecords": "2"})
    url = f"{base_url}{'&' if '?' in base_url else '?'}{query}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - configured URL
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise RecordUnreadable(f"SRU service {base_url} answered HTTP {exc.code} for record "
                               f"{control_number!r}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectionError(f"SRU service {base_url} cannot be reached for record "
                              f"{control_number!r}: {reason}") from None
    try:
        root = etree.fromstring(body, etree.XMLParser(no_network=True, resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise RecordUnreadable(f"SRU service {base_url}: answer for record {control_number!r} "
                               f"is not XML: {exc}") from None
    ns = SRU if root.tag.startswith(f"{{{SRU}}}") else SRU2
    diagnostic = root.find(f".//{{{DIAG}}}message")
    if diagnostic is not None:
        detail = root.findtext(f".//{{{DIAG}}}details") or ""
        raise RecordUnreadable(f"SRU service {base_url}: {diagnostic.text} {detail}".strip()
                               + f" (record {control_number!r})")
    count = root.findtext(f"{{{ns}}}numberOfRecords")
    if count is None:
        raise RecordUnreadable(f"SRU service {base_url}: the answer for record "
                               f"{control_number!r} is not an SRU searchRetrieveResponse")
    if int(count) == 0:
        raise RecordNotFound(f"record {control_number!r} is not in the catalogue at {base_url}")
    if int(count) > 1:
        raise RecordUnreadable(f"SRU service {base_url}: {count} records match "
                               f"{index}={control_number!r}; expected one")
    marc = root.find(f".//{{{ns}}}recordData/{{{MARCXML}}}record")
    if marc is None:
        raise RecordUnreadable(f"SRU service {base_url}: record {control_number!r} came back "
                               "without a MARCXML record (is recordSchema marcxml supported?)")
    (record,) = parse_marcxml(etree.tostring(marc), base_url, declared)
    return record


def _partner(item: Item, urls: dict[str, str]) -> str | None:
    """Which partner's catalogue holds the item's record: the `catalogue` column, else the only
    configured one, else the partner of the item's primary language."""
    if item.catalogue:
        return item.catalogue
    configured = [key for key, url in urls.items() if url]
    if len(configured) == 1:
        return configured[0]
    return "zh" if item.languages and item.languages[0].startswith("zh") else "ar"


def attach_records(batch_dir: Path, items: list[Item], report: ValidationReport,
                   sru_urls: dict[str, str | None], sru_index: str = "rec.id",
                   timeout: float = 20) -> None:
    """Find the record each item's `record` cell names and attach it to the item.

    Looks in the batch's record file first, then at the SRU service of the item's partner.
    A record that cannot be found or read is an error of that item (naming the manifest
    line and the control number), so that item is quarantined and the others go on.
    """
    wanted = [item for item in items if item.record]
    # A symbolic link is reported by validation and never followed.
    files = [batch_dir / name for name in RECORD_FILES
             if (batch_dir / name).is_file() and not (batch_dir / name).is_symlink()]
    if not wanted:
        for path in files:
            report.add("warning", path.name, "no manifest row names a record (column 'record'), "
                       "so this file is not used")
        return
    local: dict[str, CatalogueRecord] = {}
    file_problems: list[str] = []
    for path in files:
        declared = {i.record_format for i in wanted} - {None}
        try:
            local.update(read_record_file(path, declared.pop() if len(declared) == 1 else None))
        except RecordUnreadable as exc:
            file_problems.append(str(exc))
            report.add("error", path.name, str(exc))
        except OSError as exc:
            file_problems.append(f"{path.name} cannot be read: {exc}")
            report.add("error", path.name, f"cannot be read: {exc}")
    urls = {k: v for k, v in sru_urls.items() if v}
    for item in wanted:
        def problem(message: str) -> None:
            report.add("error", MANIFEST, message, row=item.row, item_id=item.item_id)

        record = local.get(item.record)
        if record is None:
            partner = _partner(item, urls)
            url = urls.get(partner or "")
            if url:
                try:
                    record = sru_lookup(url, item.record, sru_index, timeout, item.record_format)
                except (RecordNotFound, RecordUnreadable, ConnectionError) as exc:
                    problem(f"catalogue record {item.record!r}: {exc}")
                    continue
            else:
                looked = " and ".join(p.name for p in files) or "the batch (no records.xml or " \
                    "records.mrc)"
                why = f" ({'; '.join(file_problems)})" if file_problems else ""
                problem(f"catalogue record {item.record!r} not found: not in {looked}{why}, and "
                        f"no SRU service is configured for partner {partner!r} "
                        f"(CADL_CATALOGUE_SRU_URL_{(partner or 'ZH').upper()})")
                continue
        if item.record_format and record.format != item.record_format:
            record = record.model_copy(update={"format": item.record_format})
        item.catalogue_record = record
        log.info("item %s: described by %s record %s from %s", item.item_id, record.format,
                 record.control_number, record.source)
