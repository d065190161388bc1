"""Catalogue records as the description: MARCXML, ISO 2709 and SRU (a real Zebra server), MARC 21
with 880 fields and CNMARC with pinyin mapped to MODS equal to golden files, manifest overrides,
and a missing or broken record quarantining its item with the reason."""

import json
from pathlib import Path

import pytest
from batchmaker import make_batch
from catalogue_samples import (MARC21_ARABIC, MARC21_ARABIC_ID, UNIMARC_CHINESE,
                               UNIMARC_CHINESE_ID, UNIMARC_LINKED, UNIMARC_LINKED_ID,
                               collection, to_iso2709)
from lxml import etree
from zebraserver import ZebraServer, zebra_available

from cadl.pipeline import describe_from_records
from ingest.catalogue import detect_format, parse_iso2709, parse_marcxml
from kernel.namespaces import MODS
from kernel.settings import Settings
from ingest.validate import validate_batch
from metadata.mods import build_mods
from metadata.validate import validate

GOLDEN = Path(__file__).parent / "golden"
NS = {"mods": MODS}
ROWS = [
    {"item_id": "ar-muqtabas-1906", "languages": "ar", "record": MARC21_ARABIC_ID},
    {"item_id": "zh-nahan-1923", "languages": "zh-Hans", "record": UNIMARC_CHINESE_ID},
]
HEADER = ["item_id", "languages", "record"]
GOLDEN_FILES = {"ar-muqtabas-1906": "mods-record-marc21-ar.xml",
                "zh-nahan-1923": "mods-record-unimarc-zh.xml"}


def _settings(tmp_path: Path, **extra) -> Settings:
    return Settings(work_dir=tmp_path / "work", quarantine_dir=tmp_path / "quarantine",
                    preservation_url=(tmp_path / "preservation").as_uri(), **extra)


def _validated(batch: Path, settings: Settings):
    return describe_from_records(validate_batch(batch, settings))


def _mods_bytes(item) -> bytes:
    return etree.tostring(build_mods(item, "batch-001", record_source="CADL"),
                          pretty_print=True, encoding="UTF-8", xml_declaration=True)


def _assert_golden(report) -> None:
    assert report.errors == [], report.errors
    for item in report.batch.items:
        mods = build_mods(item, "batch-001", record_source="CADL")
        assert validate(mods, "mods") == []
        assert _mods_bytes(item) == (GOLDEN / GOLDEN_FILES[item.item_id]).read_bytes(), \
            item.item_id


def test_rows_naming_records_in_records_xml_give_the_golden_mods(tmp_path):
    batch = make_batch(tmp_path, ROWS, header=HEADER)
    (batch / "records.xml").write_bytes(collection(MARC21_ARABIC, UNIMARC_CHINESE))
    _assert_golden(_validated(batch, _settings(tmp_path)))


def test_the_same_records_in_iso_2709_give_the_same_mods(tmp_path):
    batch = make_batch(tmp_path, ROWS, header=HEADER)
    (batch / "records.mrc").write_bytes(to_iso2709(MARC21_ARABIC, UNIMARC_CHINESE))
    _assert_golden(_validated(batch, _settings(tmp_path)))


@pytest.fixture(scope="module")
def zebra(tmp_path_factory):
    if not zebra_available():
        pytest.skip("Zebra (Debian idzebra-2.0) is not installed; `make test` installs it")
    server = ZebraServer(tmp_path_factory.mktemp("zebra"),
                         collection(MARC21_ARABIC, UNIMARC_CHINESE, UNIMARC_LINKED))
    yield server
    server.stop()


def test_the_same_records_through_a_zebra_sru_server_give_the_same_mods(tmp_path, zebra):
    batch = make_batch(tmp_path, ROWS, header=HEADER)
    settings = _settings(tmp_path, catalogue_sru_url_zh=zebra.url,
                         catalogue_sru_url_ar=zebra.url)
    report = _validated(batch, settings)
    _assert_golden(report)
    assert {i.catalogue_record.source for i in report.batch.items} == {zebra.url}


def test_a_record_missing_from_the_sru_catalogue_is_an_item_error_naming_row_and_number(
        tmp_path, zebra):
    rows = ROWS + [{"item_id": "ar-missing", "languages": "ar", "record": "KFNL999999"}]
    batch = make_batch(tmp_path, rows, header=HEADER)
    report = _validated(batch, _settings(tmp_path, catalogue_sru_url_ar=zebra.url,
                                         catalogue_sru_url_zh=zebra.url))
    (error,) = report.errors
    assert (error.item_id, error.row, error.file) == ("ar-missing", 4, "manifest.csv")
    assert "KFNL999999" in error.message and zebra.url in error.message
    assert report.item_errors("ar-muqtabas-1906") == []


def test_a_missing_record_quarantines_its_item_with_the_reason(tmp_path):
    from cadl.pipeline import validate as plan

    rows = ROWS + [{"item_id": "zh-missing", "languages": "zh-Hans", "record": "NLC000000"}]
    batch = make_batch(tmp_path, rows, header=HEADER)
    (batch / "records.xml").write_bytes(collection(MARC21_ARABIC, UNIMARC_CHINESE))
    settings = _settings(tmp_path)
    result = plan(str(batch), "test-run", settings)
    actions = {u["item_id"]: u["action"] for u in result["units"]}
    assert actions == {"ar-muqtabas-1906": "process", "zh-nahan-1923": "process",
                       "zh-missing": "skip"}
    state = json.loads((tmp_path / "work" / "batch-001" / "zh-missing" / "state.json")
                       .read_text("utf-8"))
    assert state["status"] == "quarantined"
    (problem,) = state["problems"]
    assert "NLC000000" in problem["message"] and "records.xml" in problem["message"]
    assert problem["row"] == 4
    quarantined = Path(state["quarantine"])
    assert quarantined.is_relative_to(tmp_path / "quarantine")
    # The items whose records were found carry their description into the plan.
    saved = json.loads((tmp_path / "work" / "batch-001" / "batch.json").read_text("utf-8"))
    titles = {i["item_id"]: i["title"] for i in saved["items"]}
    assert titles["ar-muqtabas-1906"] == "المقتبس : مجلة شهرية"
    assert titles["zh-nahan-1923"] == "呐喊"


def test_an_unreadable_record_file_names_the_file_and_fails_the_items_that_need_it(tmp_path):
    batch = make_batch(tmp_path, ROWS, header=HEADER)
    (batch / "records.xml").write_bytes(b"<collection><record>")
    report = _validated(batch, _settings(tmp_path))
    files = {e.file for e in report.errors}
    assert "records.xml" in files
    per_item = [e for e in report.errors if e.item_id]
    assert {e.item_id for e in per_item} == {"ar-muqtabas-1906", "zh-nahan-1923"}
    assert all("not well-formed" in e.message for e in per_item)


def test_an_unreachable_sru_service_is_an_item_error_naming_the_record(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/Default"
    batch = make_batch(tmp_path, ROWS[:1], header=HEADER)
    report = _validated(batch, _settings(tmp_path, catalogue_sru_url_ar=url,
                                         catalogue_timeout=5))
    (error,) = report.errors
    assert MARC21_ARABIC_ID in error.message and "cannot be reached" in error.message


def test_filled_manifest_cells_override_the_record_and_sources_say_so(tmp_path):
    rows = [{"item_id": "ar-muqtabas-1906", "languages": "ar", "record": MARC21_ARABIC_ID,
             "title": "المقتبس (دمشق)", "date": "1906-03"}]
    batch = make_batch(tmp_path, rows, header=HEADER + ["title", "date"])
    (batch / "records.xml").write_bytes(collection(MARC21_ARABIC))
    report = _validated(batch, _settings(tmp_path))
    (item,) = report.batch.items
    assert item.sources == {"title": "manifest", "date": "manifest", "creator": "record",
                            "publisher": "record", "place": "record", "subjects": "record"}
    mods = build_mods(item, "batch-001", record_source="CADL")
    assert validate(mods, "mods") == []
    titles = [t.findtext("mods:title", namespaces=NS) for t in mods.findall("mods:titleInfo", NS)]
    assert titles == ["المقتبس (دمشق)"]
    names = [n.findtext("mods:namePart", namespaces=NS) for n in mods.findall("mods:name", NS)]
    assert names == ["Kurd ʻAlī, Muḥammad", "كرد علي، محمد"]
    dates = [d.text for d in mods.iterfind("mods:originInfo/mods:dateIssued", NS)]
    assert dates == ["1906-03"]


def test_unimarc_fields_linked_by_subfield_6_become_script_pairs(tmp_path):
    (record,) = parse_marcxml(collection(UNIMARC_LINKED), "records.xml")
    assert record.format == "unimarc"
    rows = [{"item_id": "zh-biancheng", "languages": "zh-Hans", "record": UNIMARC_LINKED_ID}]
    batch = make_batch(tmp_path, rows, header=HEADER)
    (batch / "records.xml").write_bytes(collection(UNIMARC_LINKED))
    (item,) = _validated(batch, _settings(tmp_path)).batch.items
    mods = build_mods(item, "batch-001", record_source="CADL")
    assert validate(mods, "mods") == []
    pairs = [(t.get("script"), t.get("transliteration"), t.get("altRepGroup"),
              t.findtext("mods:title", namespaces=NS))
             for t in mods.findall("mods:titleInfo", NS)]
    assert pairs == [("Hans", None, "200-a01", "边城"),
                     ("Latn", "Hanyu Pinyin (ISO 7098)", "200-a01", "Bian cheng")]
    assert item.title == "边城" and item.creator == "沈从文"


def test_format_is_detected_from_the_fields_and_a_declared_format_wins(tmp_path):
    (marc21,) = parse_iso2709(to_iso2709(MARC21_ARABIC), "records.mrc")
    (unimarc,) = parse_iso2709(to_iso2709(UNIMARC_CHINESE), "records.mrc")
    assert (marc21.format, unimarc.format) == ("marc21", "unimarc")
    assert detect_format(unimarc.fields, unimarc.leader) == "unimarc"
    (declared,) = parse_marcxml(collection(UNIMARC_CHINESE), "records.xml", declared="marc21")
    assert declared.format == "marc21"
    rows = [{"item_id": "zh-x", "languages": "zh-Hans", "record": UNIMARC_CHINESE_ID,
             "record_format": "MARC21"}]
    batch = make_batch(tmp_path, rows, header=HEADER + ["record_format"])
    (batch / "records.xml").write_bytes(collection(UNIMARC_CHINESE))
    (item,) = _validated(batch, _settings(tmp_path)).batch.items
    assert item.catalogue_record.format == "marc21"


def test_a_bad_record_format_and_an_unknown_catalogue_are_row_errors(tmp_path):
    rows = [{"item_id": "zh-x", "languages": "zh-Hans", "record": UNIMARC_CHINESE_ID,
             "record_format": "dublin-core", "catalogue": "fr"}]
    batch = make_batch(tmp_path, rows, header=HEADER + ["record_format", "catalogue"])
    (batch / "records.xml").write_bytes(collection(UNIMARC_CHINESE))
    messages = [e.message for e in _validated(batch, _settings(tmp_path)).errors]
    assert any("record_format" in m and "dublin-core" in m for m in messages)
    assert any("catalogue" in m and "'fr'" in m for m in messages)


def test_a_row_without_title_or_record_still_needs_a_title(tmp_path):
    rows = [{"item_id": "ar-1", "languages": "ar", "record": ""}]
    batch = make_batch(tmp_path, rows, header=HEADER)
    (error,) = _validated(batch, _settings(tmp_path)).errors
    assert "'title'" in error.message and "record" in error.message


def test_the_batch_report_says_which_fields_came_from_the_record(tmp_path):
    from cadl.pipeline import validate as plan
    from cadl.report import write_report
    import datetime as dt

    rows = [{"item_id": "ar-muqtabas-1906", "languages": "ar", "record": MARC21_ARABIC_ID,
             "date": "1906-03"}]
    batch = make_batch(tmp_path, rows, header=HEADER + ["date"])
    (batch / "records.xml").write_bytes(collection(MARC21_ARABIC))
    settings = _settings(tmp_path, reports_dir=tmp_path / "reports")
    planned = plan(str(batch), "test-run", settings)
    write_report(planned, "test-run", settings, finished=dt.datetime.now(dt.timezone.utc))
    out = tmp_path / "reports" / "batch-001"
    report = json.loads((out / "report.json").read_text("utf-8"))
    (item,) = report["items"]
    assert item["record"] == {"control_number": MARC21_ARABIC_ID, "format": "marc21",
                              "source": "records.xml"}
    assert item["sources"]["date"] == "manifest" and item["sources"]["title"] == "record"
    assert f"record  {MARC21_ARABIC_ID} (marc21, records.xml): creator (record), date " \
        "(manifest)" in (out / "report.txt").read_text("utf-8")
    html = (out / "report.html").read_text("utf-8")
    assert "Catalogue record" in html
    title_row = html[html.index(">Title <"):][:400]
    assert "from the record" in title_row and "المقتبس : مجلة شهرية" in title_row
    date_row = html[html.index(">Date <"):][:300]
    assert "from the manifest" in date_row and "1906-03" in date_row


def test_a_records_file_that_is_a_symlink_is_refused_not_followed(tmp_path):
    outside = tmp_path / "outside.xml"
    outside.write_bytes(collection(MARC21_ARABIC, UNIMARC_CHINESE))
    batch = make_batch(tmp_path / "landing", ROWS, header=HEADER)
    (batch / "records.xml").symlink_to(outside)
    report = _validated(batch, _settings(tmp_path))
    assert any(e.file == "records.xml" and "symbolic link" in e.message for e in report.errors)
    assert {e.item_id for e in report.errors if e.item_id} == {"ar-muqtabas-1906",
                                                                "zh-nahan-1923"}
    assert all(i.catalogue_record is None for i in report.batch.items)


def test_an_sru_diagnostic_is_an_item_error_with_the_servers_reason(tmp_path, zebra):
    batch = make_batch(tmp_path, ROWS[:1], header=HEADER)
    report = _validated(batch, _settings(tmp_path, catalogue_sru_url_ar=zebra.url,
                                         catalogue_sru_index="no.such.index"))
    (error,) = report.errors
    assert error.item_id == "ar-muqtabas-1906" and MARC21_ARABIC_ID in error.message
    assert zebra.url in error.message and "not found" not in error.message


def test_the_same_record_from_another_place_gives_the_same_fingerprint(tmp_path):
    from cadl.pipeline import fingerprint

    prints = []
    for name, data in (("records.xml", collection(MARC21_ARABIC)),
                       ("records.mrc", to_iso2709(MARC21_ARABIC))):
        batch = make_batch(tmp_path / name, ROWS[:1], header=HEADER)
        (batch / name).write_bytes(data)
        (item,) = _validated(batch, _settings(tmp_path)).batch.items
        assert item.catalogue_record.source == name
        item.pages = []  # the two batches' page files are equal, their paths are not
        prints.append(fingerprint(item, {}))
    assert prints[0] == prints[1]


# MARC 21 260/264 and UNIMARC 210/214 go through one originInfo builder: the event from the
# second indicator of 264/214 picks the MODS date element, each flavour its own subfields.
IMPRINTS = [
    ("marc21", "264", "0", [("a", "دمشق :"), ("b", "مطبعة المقتبس،"), ("c", "1906.")],
     "production", "dateCreated", "دمشق", "مطبعة المقتبس"),
    ("marc21", "264", "4", [("a", "Dimashq :"), ("c", "©1906")],
     "copyright", "copyrightDate", "Dimashq", None),
    ("marc21", "260", "4", [("a", "دمشق :"), ("b", "مطبعة المقتبس،"), ("c", "[1906]")],
     "publication", "dateIssued", "دمشق", "مطبعة المقتبس"),
    ("unimarc", "214", "0", [("a", "北京"), ("c", "新潮社"), ("d", "1923")],
     "production", "dateCreated", "北京", "新潮社"),
    ("unimarc", "214", "2", [("a", "臺北"), ("c", "北新書局"), ("d", "[1926]")],
     "distribution", "dateIssued", "臺北", "北新書局"),
    ("unimarc", "210", "0", [("a", "上海"), ("c", "北新书局"), ("b", "not a publisher"),
                             ("d", "1926")],
     "publication", "dateIssued", "上海", "北新书局"),
]


@pytest.mark.parametrize(("fmt", "tag", "ind2", "subfields", "event", "date_element", "place",
                          "publisher"), IMPRINTS)
def test_an_imprint_field_becomes_origin_info_with_its_event_and_date_element(
        fmt, tag, ind2, subfields, event, date_element, place, publisher):
    from ingest.models import CatalogueRecord, Item, MarcField
    from metadata.catalogue import describe_record

    record = CatalogueRecord(control_number="imprint-1", format=fmt, source="records.xml",
                             leader="00000cam a2200000 i 4500",
                             fields=[MarcField(tag=tag, ind2=ind2, subfields=subfields)])
    language = "ar" if fmt == "marc21" else "zh-Hant"
    item = Item(item_id="imprint-1", row=2, languages=[language], title="—",
                catalogue_record=record)
    origin = describe_record(item).groups["origin"][0]
    assert origin.get("eventType") == event
    assert origin.findtext("mods:place/mods:placeTerm[@type='text']", namespaces=NS) == place
    assert [p.text for p in origin.findall("mods:publisher", NS)] == \
        ([publisher] if publisher else [])
    dates = [e for e in origin if etree.QName(e).localname.startswith(("date", "copyright"))]
    assert [etree.QName(e).localname for e in dates] == [date_element]
    assert dates[0].text == subfields[-1][1].strip("[].")


def test_a_manifest_creator_keeps_the_type_the_record_gives_the_same_name(tmp_path):
    """MARC 100/700 (UNIMARC 700/701) names are typed by the record; a manifest `creator` cell
    that overrides them keeps the record's type for a name it repeats, `creator_types` wins
    over the record, and a name the record does not know gets no guessed type."""
    rows = [{"item_id": "ar-muqtabas-1906", "languages": "ar", "record": MARC21_ARABIC_ID,
             "creator": "كرد علي، محمد; مجمع اللغة العربية بدمشق", "creator_types": ""},
            {"item_id": "zh-nahan-1923", "languages": "zh-Hans", "record": UNIMARC_CHINESE_ID,
             "creator": "鲁迅", "creator_types": "corporate"}]
    batch = make_batch(tmp_path, rows, header=HEADER + ["creator", "creator_types"])
    (batch / "records.xml").write_bytes(collection(MARC21_ARABIC, UNIMARC_CHINESE))
    arabic, chinese = _validated(batch, _settings(tmp_path)).batch.items
    types = {}
    for item in (arabic, chinese):
        mods = build_mods(item, "batch-001", record_source="CADL")
        assert validate(mods, "mods") == []
        types[item.item_id] = [(n.findtext("mods:namePart", namespaces=NS), n.get("type"))
                               for n in mods.findall("mods:name", NS)]
    assert types["ar-muqtabas-1906"] == [("كرد علي، محمد", "personal"),
                                         ("مجمع اللغة العربية بدمشق", None)]
    assert types["zh-nahan-1923"][0] == ("鲁迅", "corporate")
