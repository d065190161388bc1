"""Golden files: the same input and clock give byte-identical METS.

A deliberate change of the output is made by `python tests/package_samples.py` (it rewrites
tests/golden/) and reviewed as a diff of those files.
"""

from pathlib import Path

import pytest

from lxml import etree

from metadata.validate import validate, validate_mets
from package_samples import GOLDEN, GOLDEN_MODS, mets, mods

GOLDEN_DIR = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_mets_is_byte_identical_to_its_golden_file(name):
    expected = (GOLDEN_DIR / name).read_bytes()
    assert validate_mets(expected) == []
    assert mets(GOLDEN[name]()) == expected


def test_golden_files_hold_arabic_and_both_chinese_scripts_unescaped():
    texts = {name: (GOLDEN_DIR / name).read_text("utf-8") for name in GOLDEN}
    assert "آمال" in texts["mets-ar-amal-001.xml"]
    assert "鄭和下西洋" in texts["mets-zh-hant-002.xml"]
    assert "丝绸之路上的纸与书" in texts["mets-zh-hans-003.xml"]
    assert all("&#" not in text for text in texts.values())


@pytest.mark.parametrize("name", sorted(GOLDEN_MODS))
def test_mods_is_byte_identical_to_its_golden_file(name):
    expected = (GOLDEN_DIR / name).read_bytes()
    assert validate(expected, "mods") == []
    assert mods(GOLDEN_MODS[name]()) == expected


def test_bilingual_golden_record_uses_the_loc_multi_script_idioms():
    ns = {"m": "http://www.loc.gov/mods/v3"}
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    root = etree.fromstring((GOLDEN_DIR / "mods-ar-zh-rihla-004.xml").read_bytes())
    titles = [(t.findtext("m:title", namespaces=ns), t.get("type"), t.get(lang),
               t.get("altRepGroup")) for t in root.findall("m:titleInfo", ns)]
    assert titles == [
        ("رحلة ابن بطوطة", None, "ar", None),  # translations are not alternate representations
        ("伊本·白图泰游记", "translated", "zh-Hans", "title1"),
        ("伊本·白圖泰遊記", "translated", "zh-Hant", "title1"),  # the same title, other script
        ("The Travels of Ibn Battuta", "translated", "en", None)]
    names = [(n.findtext("m:namePart", namespaces=ns), n.get("type"), n.get("script"),
              n.get("altRepGroup")) for n in root.findall("m:name", ns)]
    assert names == [("ابن بطوطة", "personal", None, None),
                     ("马金鹏", "personal", "Hans", "name1"), ("馬金鵬", "personal", "Hant", "name1")]
    assert root.find("m:originInfo[@eventType='publication']/m:publisher", ns).get("script") \
        == "Hans"
    assert root.find("m:subject[2]", ns).get(lang) == "zh-Hans"
    assert root.findtext("m:originInfo[@eventType='digitization']/m:dateCaptured[@encoding="
                         "'edtf']", namespaces=ns) == "2024-05-30"
    assert root.findtext("m:location/m:shelfLocator", namespaces=ns) == "ع 910.4 ابن"
    uses = root.findall("m:accessCondition[@type='use and reproduction']", ns)
    assert [u.get(lang) for u in uses] == ["ar", "zh-Hans", "en"]
    assert {u.get("{http://www.w3.org/1999/xlink}href") for u in uses} == {
        "http://rightsstatements.org/vocab/InC/1.0/"}
    assert root.findtext("m:recordInfo/m:recordCreationDate", namespaces=ns) == \
        "2024-06-01T08:00:00Z"
