"""MODS built from manifest rows: titles, languages, scripts, rights, unknown columns."""

import hashlib
import unicodedata

import pytest
from lxml import etree

from kernel.errors import MetadataInvalid
from ingest.models import Item, Page, Rights
from metadata.mods import build_mods
from kernel.namespaces import CADL, MODS, XLINK, XML
from metadata.validate import validate

NS = {"mods": MODS, "cadl": CADL}
XML_LANG = f"{{{XML}}}lang"


def _pages(n: int, mimetype: str = "image/tiff") -> list[Page]:
    return [
        Page(seq=i, original_name=f"{i:03d}.tif", path=f"item/{i:03d}.tif",
             sha512=hashlib.sha512(f"page {i}".encode()).hexdigest(), size=1000 + i,
             format="TIFF", mimetype=mimetype, width=2000, height=3000, dpi=400)
        for i in range(1, n + 1)
    ]


def arabic_item() -> Item:
    return Item(item_id="ar-muqtabas-1906-01", row=2, languages=["ar"],
                title="المقتبس", creator="محمد كرد علي", date="1906",
                publisher="مطبعة الظاهر", place="القاهرة", subjects=["صحافة", "أدب"],
                identifier="OCLC 12345678", reading_direction="rtl", pages=_pages(3))


def simplified_item() -> Item:
    return Item(item_id="zh-hans-0001", row=3, languages=["zh-Hans"], title="呐喊",
                creator="鲁迅", date="1923-08", publisher="新潮社", place="北京",
                subjects=["小说"], reading_direction="ltr", pages=_pages(2, "image/jpeg"))


def traditional_item() -> Item:
    return Item(item_id="zh-hant-0001", row=4, languages=["zh-Hant"], title="紅樓夢",
                titles={"zh": "紅樓夢", "en": "Dream of the Red Chamber"}, creator="曹雪芹",
                date="18XX", reading_direction="ttb", pages=_pages(2))


def bilingual_item() -> Item:
    return Item(item_id="ar-zh-0001", row=5, languages=["ar", "zh-Hans"],
                title="رحلة ابن بطوطة",
                titles={"en": "The Travels of Ibn Battuta", "zh": "伊本·白图泰游记",
                        "ar": "رحلة ابن بطوطة"},
                creator="ابن بطوطة; ابن جزي", date="1356?",
                rights=Rights.parse("embargo:2031-01-01"), portals=["ar"],
                reading_direction="rtl",
                extra={"donor": "مكتبة خاصة  (gift)", "shelfmark": "Ms. 12/b"},
                pages=_pages(4))


def _title_infos(mods: etree._Element) -> list[etree._Element]:
    return mods.findall("mods:titleInfo", NS)


@pytest.mark.parametrize("make", [arabic_item, simplified_item, traditional_item, bilingual_item])
def test_mods_of_each_kind_of_item_is_valid_against_the_official_xsd(make):
    assert validate(build_mods(make(), "batch-2024-001", record_source="CADL"), "mods") == []


def test_arabic_title_carries_ara_code_bcp47_tag_and_arab_script():
    (info,) = _title_infos(build_mods(arabic_item(), "b1", record_source="CADL"))
    assert info.findtext("mods:title", namespaces=NS) == "المقتبس"
    assert (info.get("lang"), info.get(XML_LANG), info.get("script")) == ("ara", "ar", "Arab")
    assert info.get("usage") == "primary"
    assert info.get("altRepGroup") is None  # nothing to group with


def test_simplified_and_traditional_chinese_differ_by_script_and_tag_not_code():
    hans = build_mods(simplified_item(), "b1", record_source="CADL")
    hant = build_mods(traditional_item(), "b1", record_source="CADL")
    h1, t1 = _title_infos(hans)[0], _title_infos(hant)[0]
    assert (h1.get("lang"), h1.get(XML_LANG), h1.get("script")) == ("chi", "zh-Hans", "Hans")
    assert (t1.get("lang"), t1.get(XML_LANG), t1.get("script")) == ("chi", "zh-Hant", "Hant")
    assert hant.findtext("mods:language/mods:scriptTerm", namespaces=NS) == "Hant"
    assert hant.findtext("mods:language/mods:languageTerm[@authority='rfc5646']",
                         namespaces=NS) == "zh-Hant"


def _titles(infos):
    return [(i.findtext("mods:title", namespaces=NS), i.get(XML_LANG), i.get("script"),
             i.get("usage"), i.get("type"), i.get("altRepGroup")) for i in infos]


def test_traditional_title_has_its_simplified_form_as_alt_rep_and_en_is_only_translated():
    infos = _title_infos(build_mods(traditional_item(), "b1", record_source="CADL"))
    assert _titles(infos) == [
        ("紅樓夢", "zh-Hant", "Hant", "primary", None, "title1"),
        ("红楼梦", "zh-Hans", "Hans", None, None, "title1"),
        ("Dream of the Red Chamber", "en", "Latn", None, "translated", None),
    ]


def test_translations_are_not_grouped_only_the_same_title_in_another_script_is():
    infos = _title_infos(build_mods(bilingual_item(), "b1", record_source="CADL"))
    assert [i.get("lang") for i in infos] == ["ara", "chi", "chi", "eng"]
    assert _titles(infos) == [
        ("رحلة ابن بطوطة", "ar", "Arab", "primary", None, None),
        ("伊本·白图泰游记", "zh-Hans", "Hans", None, "translated", "title1"),
        ("伊本·白圖泰遊記", "zh-Hant", "Hant", None, "translated", "title1"),
        ("The Travels of Ibn Battuta", "en", "Latn", None, "translated", None),
    ]


def test_a_simplified_title_of_a_traditional_item_is_tagged_by_its_own_script():
    item = traditional_item().model_copy(update={"title": "郑和下西洋", "titles": {}})
    infos = _title_infos(build_mods(item, "b1", record_source="CADL"))
    assert _titles(infos) == [
        ("郑和下西洋", "zh-Hans", "Hans", "primary", None, "title1"),
        ("鄭和下西洋", "zh-Hant", "Hant", None, None, "title1"),
    ]


def test_zh_title_of_an_item_without_chinese_defaults_to_simplified():
    item = arabic_item().model_copy(update={"titles": {"zh": "求知者"}})
    zh = _title_infos(build_mods(item, "b1", record_source="CADL"))[1]
    assert (zh.get(XML_LANG), zh.get("script")) == ("zh-Hans", "Hans")


def test_each_item_language_gets_a_language_term_and_script_term_primary_first():
    mods = build_mods(bilingual_item(), "b1", record_source="CADL")
    languages = mods.findall("mods:language", NS)
    got = [(lang.findtext("mods:languageTerm[@authority='iso639-2b']", namespaces=NS),
            lang.findtext("mods:scriptTerm[@authority='iso15924']", namespaces=NS),
            lang.get("usage")) for lang in languages]
    assert got == [("ara", "Arab", "primary"), ("chi", "Hans", None)]


def test_creators_are_split_on_semicolons_with_marcrelator_role():
    names = build_mods(bilingual_item(), "b1", record_source="CADL").findall("mods:name", NS)
    assert [n.findtext("mods:namePart", namespaces=NS) for n in names] == ["ابن بطوطة", "ابن جزي"]
    for name in names:
        assert name.findtext("mods:role/mods:roleTerm[@type='code']", namespaces=NS) == "cre"
        assert name.findtext("mods:role/mods:roleTerm[@type='text']", namespaces=NS) == "creator"


@pytest.mark.parametrize("date, encoding", [
    ("1906", "edtf"), ("1923-08", "edtf"), ("18XX", "edtf"), ("1356?", "edtf"),
    ("1900/1910", "edtf"), ("1324 هـ", None), ("民国十年", None),
])
def test_date_issued_is_edtf_encoded_only_when_it_is_edtf(date, encoding):
    item = arabic_item().model_copy(update={"date": date})
    mods = build_mods(item, "b1", record_source="CADL")
    issued = mods.find("mods:originInfo/mods:dateIssued", NS)
    assert issued.text == date
    assert issued.get("encoding") == encoding
    assert validate(mods, "mods") == []


def test_physical_description_has_page_count_media_type_origin_and_reading_direction():
    mods = build_mods(arabic_item(), "b1", record_source="CADL")
    physical = mods.find("mods:physicalDescription", NS)
    assert physical.findtext("mods:extent[@unit='pages']", namespaces=NS) == "3"
    assert physical.findtext("mods:digitalOrigin", namespaces=NS) == "reformatted digital"
    assert physical.findtext("mods:internetMediaType", namespaces=NS) == "image/tiff"
    assert physical.findtext("mods:note[@type='reading direction']", namespaces=NS) == "rtl"


def test_vertical_reading_direction_is_recorded():
    mods = build_mods(traditional_item(), "b1", record_source="CADL")
    assert mods.findtext("mods:physicalDescription/mods:note[@type='reading direction']",
                         namespaces=NS) == "ttb"


def test_identifiers_subjects_and_record_info():
    mods = build_mods(arabic_item(), "batch-7", record_source="Chinese–Arabic Digital Library")
    assert mods.findtext("mods:identifier[@type='local']", namespaces=NS) == "ar-muqtabas-1906-01"
    assert "OCLC 12345678" in [i.text for i in mods.findall("mods:identifier", NS)]
    assert [t.text for t in mods.findall("mods:subject/mods:topic", NS)] == ["صحافة", "أدب"]
    record = mods.find("mods:recordInfo", NS)
    assert record.findtext("mods:recordIdentifier", namespaces=NS) == "ar-muqtabas-1906-01"
    assert record.findtext("mods:recordContentSource", namespaces=NS) == \
        "Chinese–Arabic Digital Library"
    assert record.findtext("mods:languageOfCataloging/mods:languageTerm", namespaces=NS) == "ara"
    assert record.findtext("mods:recordInfoNote[@type='batch']", namespaces=NS) == "batch-7"


def test_access_condition_is_the_public_statement_in_three_languages_routing_is_apart():
    item = bilingual_item()
    mods = build_mods(item, "b1", record_source="CADL")
    uses = mods.findall("mods:accessCondition", NS)
    assert [u.get("type") for u in uses] == ["use and reproduction"] * 3
    assert {u.get(f"{{{XLINK}}}href") for u in uses} == {
        "http://rightsstatements.org/vocab/CNE/1.0/"}
    assert [(u.get(XML_LANG), u.text) for u in uses] == [
        ("ar", "لم تُقيَّم حقوق المؤلف"), ("zh-Hans", "版权未评估"),
        ("en", "Copyright Not Evaluated")]
    # The internal decision and the portals are routing, not a rights statement.
    access = mods.find("mods:extension/cadl:access", NS)
    assert Rights.parse(access.get("rights")) == item.rights
    assert access.get("portals") == "ar"


def test_a_rights_uri_column_becomes_the_statement():
    item = arabic_item().model_copy(update={"extra": {
        "rights_uri": "https://creativecommons.org/licenses/by/4.0/"}})
    uses = build_mods(item, "b1", record_source="CADL").findall("mods:accessCondition", NS)
    assert uses[2].text == "Creative Commons licence CC BY 4.0"
    assert uses[0].get(f"{{{XLINK}}}href") == "https://creativecommons.org/licenses/by/4.0/"


def test_unknown_manifest_columns_are_kept_verbatim_in_extension():
    mods = build_mods(bilingual_item(), "b1", record_source="CADL")
    columns = mods.findall("mods:extension/cadl:column", NS)
    assert [(c.get("name"), c.text) for c in columns] == [
        ("donor", "مكتبة خاصة  (gift)"), ("shelfmark", "Ms. 12/b")]


def test_item_without_unknown_columns_has_no_manifest_columns_extension():
    mods = build_mods(arabic_item(), "b1", record_source="CADL")
    assert [e.get("displayLabel") for e in mods.findall("mods:extension", NS)] == [
        "access and portal routing"]


def test_decomposed_title_is_written_in_nfc():
    nfd = unicodedata.normalize("NFD", "آمال")  # alef with madda decomposes
    assert nfd != "آمال"
    item = arabic_item().model_copy(update={"title": nfd})
    title = build_mods(item, "b1", record_source="CADL").findtext("mods:titleInfo/mods:title",
                                                                  namespaces=NS)
    assert title == "آمال"


def test_unknown_language_tag_is_refused_with_the_item_named():
    item = arabic_item().model_copy(update={"languages": ["fa"]})
    with pytest.raises(MetadataInvalid, match="ar-muqtabas-1906-01"):
        build_mods(item, "b1", record_source="CADL")


def test_parallel_title_under_unknown_key_is_refused():
    item = arabic_item().model_copy(update={"titles": {"fr": "Le Chercheur"}})
    with pytest.raises(MetadataInvalid, match="fr"):
        build_mods(item, "b1", record_source="CADL")


def test_record_source_defaults_to_the_source_organization_setting(monkeypatch):
    from kernel.settings import get_settings

    monkeypatch.setenv("CADL_SOURCE_ORGANIZATION", "مكتبة اختبار")
    get_settings.cache_clear()
    try:
        mods = build_mods(arabic_item(), "b1")
    finally:
        get_settings.cache_clear()
    assert mods.findtext("mods:recordInfo/mods:recordContentSource", namespaces=NS) == \
        "مكتبة اختبار"


def test_two_builds_serialise_identically():
    first = etree.tostring(build_mods(bilingual_item(), "b1", record_source="CADL"))
    second = etree.tostring(build_mods(bilingual_item(), "b1", record_source="CADL"))
    assert first == second


def test_a_chinese_name_gets_its_other_script_form_tagged_where_not_the_records_script():
    names = build_mods(simplified_item(), "b1", record_source="CADL").findall("mods:name", NS)
    got = [(n.findtext("mods:namePart", namespaces=NS), n.get("lang"), n.get("script"),
            n.get("altRepGroup"), n.get("usage")) for n in names]
    assert got == [("鲁迅", None, None, "name1", "primary"),  # the record's own script
                   ("魯迅", "chi", "Hant", "name1", None)]


def test_a_chinese_name_in_an_arabic_record_carries_lang_and_script():
    item = arabic_item().model_copy(update={"creator": "محمد كرد علي; 马坚"})
    names = build_mods(item, "b1", record_source="CADL").findall("mods:name", NS)
    assert [(n.get(XML_LANG), n.get("script"), n.get("altRepGroup")) for n in names] == [
        (None, None, None), ("zh-Hans", "Hans", "name1"), ("zh-Hant", "Hant", "name1")]


def test_a_title_column_repeating_the_primary_title_in_the_other_script_is_not_doubled():
    # The sample's zh-Hant book: title 鄭和下西洋, title_zh 郑和下西洋 (the case).
    item = traditional_item().model_copy(update={"title": "鄭和下西洋",
                                                 "titles": {"zh": "郑和下西洋"}})
    infos = _title_infos(build_mods(item, "b1", record_source="CADL"))
    assert _titles(infos) == [
        ("鄭和下西洋", "zh-Hant", "Hant", "primary", None, "title1"),
        ("郑和下西洋", "zh-Hans", "Hans", None, None, "title1"),
    ]
