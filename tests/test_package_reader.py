"""Reading our own packages back: METS → Item with pages → the same METS bytes again."""

import unicodedata

import pytest

from kernel.errors import MetadataInvalid
from metadata.reader import read_package, rewrite_mets
from metadata.validate import validate_mets
from package_samples import arabic_item, mets, simplified_item, traditional_item

MAKERS = [arabic_item, traditional_item, simplified_item]


@pytest.mark.parametrize("make", MAKERS)
def test_write_read_write_gives_identical_bytes(make, tmp_path):
    first = mets(make())
    assert validate_mets(first) == []
    (tmp_path / "mets.xml").write_bytes(first)
    package = read_package(tmp_path)  # a folder: its mets.xml at the root, as in a bag
    assert rewrite_mets(package) == first


@pytest.mark.parametrize("make", MAKERS)
def test_item_comes_back_with_every_descriptive_field_and_page_fact(make, tmp_path):
    original = make()
    (tmp_path / "mets.xml").write_bytes(mets(original))
    item = read_package(tmp_path / "mets.xml").item
    same = ("item_id", "row", "languages", "title", "titles", "date", "publisher", "place",
            "subjects", "identifier", "rights", "portals", "reading_direction", "extra")
    assert {f: getattr(item, f) for f in same} == {f: getattr(original, f) for f in same}
    assert item.creator == original.creator
    page_facts = ("seq", "original_name", "sha512", "size", "format", "mimetype", "width",
                  "height", "bits_per_sample", "samples_per_pixel", "color_space", "icc_profile",
                  "compression", "md5", "puid")
    for got, want in zip(item.pages, original.pages, strict=True):
        assert {f: getattr(got, f) for f in page_facts} == {f: getattr(want, f)
                                                            for f in page_facts}
        assert got.path == f"data/masters/{want.stem}.tif"
        assert got.x_resolution == (want.x_resolution or want.dpi)


def test_arabic_simplified_and_traditional_titles_come_back_exactly_in_nfc(tmp_path):
    for make in MAKERS:
        original = make()
        (tmp_path / "mets.xml").write_bytes(mets(original))
        item = read_package(tmp_path / "mets.xml").item
        for text in (item.title, *item.titles.values(), *(p.original_name for p in item.pages)):
            assert unicodedata.is_normalized("NFC", text)
        assert item.title == original.title
    # The Arabic scan names arrived decomposed (NFD); the package holds them composed.
    assert read_package(tmp_path / "mets.xml").item.pages[0].original_name == "第一页.tif"


def test_a_folder_without_mets_is_refused_naming_the_file(tmp_path):
    with pytest.raises(MetadataInvalid, match="mets.xml"):
        read_package(tmp_path)


def test_a_mets_missing_its_mix_is_refused_naming_the_master(tmp_path):
    data = mets(arabic_item()).replace(b'ID="TECHMD_masters-p0001"', b'ID="TECHMD_other"')
    (tmp_path / "mets.xml").write_bytes(data)
    with pytest.raises(MetadataInvalid, match="masters-p0001"):
        read_package(tmp_path / "mets.xml")
