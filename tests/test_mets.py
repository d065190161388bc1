"""METS of a whole item: validity, file inventory, reading order, determinism, reading it back."""

import datetime as dt
import hashlib
import itertools
import json
import random
import unicodedata
import uuid

import pytest
from lxml import etree

from kernel.errors import ConfigError, MetadataInvalid
from ingest.models import Item, Page, Rights
from metadata.agents import load_partners, software_agent
from metadata.mets import FileEntry, build_mets
from kernel.namespaces import METS, MODS, PREMIS, XLINK, XML
from metadata.premis import Agent, Event, Object, build_premis
from metadata.reader import read_mets
from metadata.validate import assert_valid_mets, validate_mets

NS = {"mets": METS, "mods": MODS, "premis": PREMIS}
CREATED = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.timezone.utc)
SCANNED = dt.datetime(2024, 5, 30, 14, 15, 16, tzinfo=dt.timezone.utc)

# Scan names as technicians save them; the Arabic one arrives decomposed (NFD) from a Mac.
ARABIC_SCANS = [unicodedata.normalize("NFD", f"آمال - صفحة {n}.tif") for n in ("١", "٢", "٣")]
CHINESE_SCANS = ["封面.tif", "第二页.tif", "封底 Révolution.tif"]


def _sha(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def _item(item_id: str, languages: list[str], title: str, scans: list[str], direction: str,
          **fields) -> Item:
    pages = [Page(seq=i, original_name=unicodedata.normalize("NFC", name), path=f"{item_id}/{name}",
                  sha512=_sha(name), size=10_000 + i, format="TIFF", mimetype="image/tiff",
                  width=2480, height=3508, dpi=300)
             for i, name in enumerate(scans, 1)]
    return Item(item_id=item_id, row=2, languages=languages, title=title,
                reading_direction=direction, pages=pages, **fields)


def arabic_item() -> Item:
    return _item("ar-amal-001", ["ar"], "آمال", ARABIC_SCANS, "rtl", creator="مؤلف مجهول",
                 date="1925")


def bilingual_item() -> Item:
    return _item("ar-zh-002", ["ar", "zh-Hans"], "رحلة ابن بطوطة", CHINESE_SCANS, "rtl",
                 titles={"zh": "伊本·白图泰游记", "en": "The Travels of Ibn Battuta"},
                 rights=Rights.parse("restricted"), extra={"donor": "张三"})


def _files(item: Item) -> list[FileEntry]:
    files = []
    for page in item.pages:
        stem = page.stem
        files += [
            FileEntry("masters", f"master-{stem}", f"masters/{stem}.tif", "image/tiff",
                      page.sha512, page.size, SCANNED, page.seq),
            FileEntry("alto", f"alto-{stem}", f"alto/{stem}.xml", "application/xml",
                      _sha(f"alto {stem}"), 2000 + page.seq, CREATED, page.seq),
            FileEntry("hocr", f"hocr-{stem}", f"hocr/{stem}.html", "text/html",
                      _sha(f"hocr {stem}"), 3000 + page.seq, CREATED, page.seq),
            FileEntry("text", f"text-{stem}", f"text/{stem}.txt", "text/plain",
                      _sha(f"text {stem}"), 400 + page.seq, CREATED, page.seq),
            FileEntry("thumbnails", f"thumb-{stem}", f"thumbnails/{stem}.jpg", "image/jpeg",
                      _sha(f"thumb {stem}"), 50 + page.seq, CREATED, page.seq),
        ]
    files.append(FileEntry("pdf", "pdf", f"{item.item_id}.pdf", "application/pdf",
                           _sha("pdf"), 123_456, CREATED))
    return files


def _premis(item: Item) -> etree._Element:
    counter = itertools.count(1)
    ids = lambda: uuid.UUID(int=next(counter))  # noqa: E731
    objects = [Object(f"master-{p.stem}", p.original_name, p.size, "TIFF", p.sha512)
               for p in item.pages]
    agents = [Agent("tesseract", "tesseract", "software", version="5.3.4")]
    events = [Event.create("creation", CREATED, "success", "OCR to ALTO", ["tesseract"],
                           [o.id_value for o in objects], id_factory=ids)]
    return build_premis(objects, events, agents)


def _agents():
    return load_partners() + [software_agent("cadl-pipeline", "0.1.0")]


def _build(item: Item, files=None, created=CREATED) -> bytes:
    return build_mets(item, "batch-2024-06", _files(item) if files is None else files,
                      _premis(item), _agents(), created, record_source="CADL")


def _root(data: bytes) -> etree._Element:
    return etree.fromstring(data)


@pytest.mark.parametrize("make", [arabic_item, bilingual_item])
def test_mets_and_every_embedded_record_validate(make):
    data = _build(make())
    assert validate_mets(data) == []
    assert_valid_mets(data, f"{make().item_id}/mets.xml")


def test_output_is_pretty_printed_utf8_with_declaration_and_unescaped_unicode():
    data = _build(bilingual_item())
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<mets:mets")
    assert b"\n  <mets:metsHdr" in data
    assert "رحلة ابن بطوطة".encode() in data and "伊本·白图泰游记".encode() in data
    assert b"&#" not in data


def test_header_has_created_date_partner_libraries_in_three_languages_and_software():
    header = _root(_build(arabic_item())).find("mets:metsHdr", NS)
    assert header.get("CREATEDATE") == "2024-06-01T08:00:00Z"
    agents = header.findall("mets:agent", NS)
    partners = [a for a in agents if a.get("TYPE") == "ORGANIZATION"]
    assert [a.findtext("mets:name", namespaces=NS) for a in partners] == [
        "National Library of China", "King Fahd National Library"]
    names = {n.get(f"{{{XML}}}lang"): n.text for n in partners[0].findall("mets:note", NS)}
    assert names == {"zh-Hans": "中国国家图书馆", "ar": "المكتبة الوطنية الصينية"}
    assert all(a.get("ROLE") for a in partners)
    software = [a for a in agents if a.get("OTHERTYPE") == "SOFTWARE"]
    assert [(a.get("TYPE"), a.findtext("mets:name", namespaces=NS),
             a.findtext("mets:note", namespaces=NS)) for a in software] == [
        ("OTHER", "cadl-pipeline", "version 0.1.0")]
    assert header.findtext("mets:altRecordID[@TYPE='batch']", namespaces=NS) == "batch-2024-06"


def test_mods_and_premis_are_wrapped_in_dmd_and_digiprov_sections():
    root = _root(_build(bilingual_item()))
    mods = root.find("mets:dmdSec/mets:mdWrap[@MDTYPE='MODS']/mets:xmlData/mods:mods", NS)
    assert mods.findtext("mods:recordInfo/mods:recordIdentifier", namespaces=NS) == "ar-zh-002"
    premis = root.find("mets:amdSec/mets:digiprovMD/mets:mdWrap[@MDTYPE='PREMIS']"
                       "/mets:xmlData/premis:premis", NS)
    # Each file's object is in the file's own amdSec; the record keeps events, agents, and an
    # object of its own (the item as entity) since PREMIS requires one.
    assert len(premis.findall("premis:event", NS)) == 1
    file_objects = root.findall("mets:amdSec/mets:techMD/mets:mdWrap[@MDTYPE='PREMIS:OBJECT']/"
                                "mets:xmlData/premis:object", NS)
    assert len(file_objects) + len(premis.findall("premis:object", NS)) >= 3


def test_original_names_survive_in_nfc_inside_the_mets():
    root = _root(_build(arabic_item()))
    names = [n.text for n in root.iter(f"{{{PREMIS}}}originalName")]
    assert names == [unicodedata.normalize("NFC", n) for n in ARABIC_SCANS]
    assert names[0] != ARABIC_SCANS[0]  # the input really was decomposed


def test_file_sec_has_one_group_per_kind_with_checksums_sizes_and_dates():
    item = bilingual_item()
    root = _root(_build(item))
    groups = root.findall("mets:fileSec/mets:fileGrp", NS)
    assert [g.get("USE") for g in groups] == [
        "master", "ocr-alto", "ocr-hocr", "ocr-text", "pdf", "thumbnail"]
    by_id = {f.file_id: f for f in _files(item)}
    elements = root.findall("mets:fileSec/mets:fileGrp/mets:file", NS)
    assert len(elements) == len(by_id)
    for element in elements:
        entry = by_id[element.get("ID")]
        assert element.get("CHECKSUM") == entry.sha512
        assert element.get("CHECKSUMTYPE") == "SHA-512"
        assert element.get("SIZE") == str(entry.size)
        assert element.get("MIMETYPE") == entry.mimetype
        assert element.get("CREATED") == entry.created.isoformat().replace("+00:00", "Z")
        flocat = element.find("mets:FLocat", NS)
        assert (flocat.get("LOCTYPE"), flocat.get(f"{{{XLINK}}}href")) == ("URL", entry.href)
    master = root.find("mets:fileSec/mets:fileGrp[@USE='master']/mets:file", NS)
    assert master.get("CHECKSUM") == item.pages[0].sha512


def test_physical_struct_map_lists_pages_in_reading_order_with_all_their_files():
    root = _root(_build(arabic_item()))
    struct_map = root.find("mets:structMap[@TYPE='PHYSICAL']", NS)
    assert struct_map.get("LABEL") == "reading-direction:rtl"
    pages = struct_map.findall("mets:div/mets:div[@TYPE='page']", NS)
    assert [(p.get("ORDER"), p.get("ORDERLABEL")) for p in pages] == [
        ("1", "1"), ("2", "2"), ("3", "3")]
    assert [f.get("FILEID") for f in pages[1].findall("mets:fptr", NS)] == [
        "master-p0002", "alto-p0002", "hocr-p0002", "text-p0002", "thumb-p0002"]


def test_left_to_right_item_is_labelled_ltr():
    item = bilingual_item().model_copy(update={"reading_direction": "ltr"})
    struct_map = _root(_build(item)).find("mets:structMap[@TYPE='PHYSICAL']", NS)
    assert struct_map.get("LABEL") == "reading-direction:ltr"


def test_logical_struct_map_points_the_whole_item_to_the_pdf_and_its_description():
    div = _root(_build(arabic_item())).find("mets:structMap[@TYPE='LOGICAL']/mets:div", NS)
    assert [f.get("FILEID") for f in div.findall("mets:fptr", NS)] == ["pdf"]
    assert div.get("DMDID") == "DMD_MODS"
    assert div.get("LABEL") == "آمال"


def test_same_inputs_give_byte_identical_output_whatever_the_file_order():
    item = bilingual_item()
    shuffled = _files(item)
    random.Random(7).shuffle(shuffled)
    assert _build(item) == _build(item) == _build(item, files=shuffled)


def test_only_the_creation_date_changes_with_the_injected_clock():
    item = arabic_item()
    later = _build(item, created=CREATED + dt.timedelta(days=1)).decode().splitlines()
    now = _build(item).decode().splitlines()
    changed = [(a, b) for a, b in zip(now, later) if a != b]
    assert len(now) == len(later) and len(changed) == 3
    assert ["CREATEDATE" in a or "recordCreationDate" in a or "recordChangeDate" in a
            for a, _ in changed] == [True] * 3


def test_the_premis_element_given_is_copied_not_moved():
    item = arabic_item()
    premis = _premis(item)
    build_mets(item, "b", _files(item), premis, _agents(), CREATED, record_source="CADL")
    assert premis.getparent() is None and len(premis) > 0


def test_reader_returns_what_the_writer_wrote():
    item = bilingual_item()
    files = _files(item)
    facts = read_mets(_build(item))
    assert facts["item_id"] == "ar-zh-002"
    assert facts["batch_id"] == "batch-2024-06"
    assert facts["reading_direction"] == "rtl"
    assert [(t["title"], t["lang"], t["xml_lang"], t["script"]) for t in facts["titles"]] == [
        ("رحلة ابن بطوطة", "ara", "ar", "Arab"), ("伊本·白图泰游记", "chi", "zh-Hans", "Hans"),
        ("伊本·白圖泰遊記", "chi", "zh-Hant", "Hant"),  # the same title, other script
        ("The Travels of Ibn Battuta", "eng", "en", "Latn")]
    assert [t["alt_rep_group"] for t in facts["titles"]] == [None, "title1", "title1", None]
    assert [(lang["tag"], lang["code"], lang["script"]) for lang in facts["languages"]] == [
        ("ar", "ara", "Arab"), ("zh-Hans", "chi", "Hans")]
    got = {f["file_id"]: (f["group"], f["href"], f["sha512"], f["size"], f["page_seq"])
           for f in facts["files"]}
    assert got == {f.file_id: (f.group, f.href, f.sha512, f.size, f.page_seq) for f in files}
    assert [p["order"] for p in facts["pages"]] == [1, 2, 3]
    assert facts["item_files"] == ["pdf"]


def test_reader_reads_a_file_on_disk(tmp_path):
    path = tmp_path / "mets.xml"
    path.write_bytes(_build(arabic_item()))
    assert read_mets(path)["titles"][0]["title"] == "آمال"


def test_reader_refuses_what_is_not_mets():
    with pytest.raises(MetadataInvalid, match="not a METS"):
        read_mets(b"<mods xmlns='http://www.loc.gov/mods/v3'/>")
    with pytest.raises(MetadataInvalid, match="cannot read"):
        read_mets(b"<mets:mets")


def test_tampered_mets_is_reported():
    data = _build(arabic_item()).replace(b'CHECKSUMTYPE="SHA-512"', b'CHECKSUMTYPE="SHA-3"', 1)
    errors = validate_mets(data)
    assert len(errors) == 1 and "CHECKSUMTYPE" in errors[0]
    with pytest.raises(MetadataInvalid, match="mets.xml is not valid METS"):
        assert_valid_mets(data, "ar-amal-001/mets.xml")


def test_duplicate_file_ids_are_refused():
    item = arabic_item()
    files = _files(item)
    with pytest.raises(ValueError, match="duplicate file ids master-p0001"):
        build_mets(item, "b", files + files[:1], _premis(item), _agents(), CREATED,
                   record_source="CADL")


def test_file_for_a_page_the_item_lacks_is_refused():
    item = arabic_item()
    stray = FileEntry("alto", "alto-p0009", "alto/p0009.xml", "application/xml", _sha("x"), 1,
                      CREATED, 9)
    with pytest.raises(ValueError, match=r"\[9\]"):
        build_mets(item, "b", _files(item) + [stray], _premis(item), _agents(), CREATED,
                   record_source="CADL")


@pytest.mark.parametrize("field, value, message", [
    ("group", "scans", "unknown group"),
    ("file_id", "1-master", "not an XML ID"),
    ("sha512", "ABC", "SHA-512"),
    ("page_seq", 0, "page_seq"),
])
def test_malformed_file_entries_are_refused(field, value, message):
    fields = dict(group="masters", file_id="master-p0001", href="masters/p0001.tif",
                  mimetype="image/tiff", sha512=_sha("x"), size=1, created=CREATED, page_seq=1)
    fields[field] = value
    with pytest.raises(ValueError, match=message):
        FileEntry(**fields)



def test_partner_file_with_a_missing_name_is_a_config_error(tmp_path):
    path = tmp_path / "partners.json"
    path.write_text(json.dumps({"zh": {"name_en": "NLC", "name_ar": "م", "role": "CUSTODIAN"}}),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="name_zh"):
        load_partners(path)


def test_partner_file_with_an_invalid_role_is_a_config_error(tmp_path):
    path = tmp_path / "partners.json"
    path.write_text(json.dumps({"zh": {"name_en": "NLC", "name_zh": "国图", "name_ar": "م",
                                       "role": "OWNER"}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="OWNER"):
        load_partners(path)
