"""MIX 2.0 techMD of master images, and PREMIS rights and package event records."""

import datetime as dt

import pytest
from lxml import etree

from metadata.mix import build_mix, read_mix
from metadata.premis import (Agent, Event, bagging_record, build_rights,
                             package_event_record)
from metadata.validate import validate
from package_samples import arabic_item, simplified_item

WHEN = dt.datetime(2024, 6, 2, 9, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("characterized", [True, False])
def test_mix_of_every_master_validates_with_or_without_characterization(characterized):
    for page in arabic_item(characterized).pages + simplified_item(characterized).pages:
        assert validate(build_mix(page, f"masters-{page.stem}"), "mix") == []


def test_mix_reads_back_the_characterization_it_was_built_from():
    page = arabic_item().pages[1]  # RGB, ICC profile, 299.5 ppi vertically
    facts = read_mix(build_mix(page, "m2"))
    assert facts == {"size": page.size, "width": 2480, "height": 3508, "puid": "fmt/353",
                     "compression": "LZW", "byte_order": "little endian", "md5": page.md5,
                     "color_space": "RGB",
                     "icc_profile": True, "bits_per_sample": 8, "samples_per_pixel": 3,
                     "x_resolution": 300.0, "y_resolution": 299.5}


def test_mix_lists_one_bits_per_sample_value_per_sample():
    mix = build_mix(arabic_item().pages[1], "m2")
    values = mix.findall(".//{http://www.loc.gov/mix/v20}bitsPerSampleValue")
    assert [v.text for v in values] == ["8", "8", "8"]


@pytest.mark.parametrize("rights,restriction,term", [
    ("open", "Allow", "termOfGrant"), ("restricted", "Disallow", "termOfGrant"),
    ("embargo:2030-01-01", "Disallow", "termOfRestriction")])
def test_rights_statement_validates_and_says_what_the_manifest_says(rights, restriction, term):
    statement = build_rights("x-access", rights, ["zh", "ar"], "2024-05-31", ["x"])
    assert validate(statement, "premis") == []
    ns = {"p": "http://www.loc.gov/premis/v3"}
    assert statement.findtext("p:rightsGranted/p:restriction", namespaces=ns) == restriction
    assert statement.find(f"p:rightsGranted/p:{term}", ns) is not None
    notes = [n.text for n in statement.findall("p:rightsGranted/p:rightsGrantedNote", ns)]
    assert notes == ["portal:zh", "portal:ar"]
    if rights.startswith("embargo"):
        assert statement.findtext(f"p:rightsGranted/p:{term}/p:endDate", namespaces=ns) \
            == "2030-01-01"


def test_unknown_rights_value_is_refused_with_the_accepted_forms():
    with pytest.raises(ValueError, match="open, restricted or embargo"):
        build_rights("x", "public", [], "2024-05-31")


def test_bagging_record_is_valid_premis_and_deterministic():
    record = bagging_record("ar-amal-001", WHEN, "0.1.0")
    assert validate(record, "premis") == []
    assert record == bagging_record("ar-amal-001", WHEN, "0.1.0")
    assert b"information package creation" in record


def test_package_event_record_takes_deposit_and_fixity_failures_too():
    agent = Agent("storage", "cadl deposit", "software", version="0.1.0")
    events = [Event("replication", WHEN, "success", "copied to s3://bucket/items/x/v0001/",
                    ["storage"], ["items/x/v0001"], id_value="e1"),
              Event("fixity check", WHEN, "failure", "sha512 of every object", ["storage"],
                    ["items/x/v0001"], "data/masters/p0001.tif: sha512 differs",
                    id_value="e2")]
    record = package_event_record("items/x/v0001", events, [agent])
    assert validate(record, "premis") == []
    root = etree.fromstring(record)
    outcomes = root.findall(".//{http://www.loc.gov/premis/v3}eventOutcome")
    assert [o.text for o in outcomes] == ["success", "failure"]


def test_package_event_record_refuses_links_to_other_objects():
    agent = Agent("storage", "cadl deposit", "software")
    event = Event("replication", WHEN, "success", "copy", ["storage"], ["another"], id_value="e")
    with pytest.raises(ValueError, match="not the package"):
        package_event_record("items/x/v0001", [event], [agent])


def test_colour_space_and_byte_order_use_z39_87_terms(tmp_path):
    from PIL import Image

    from ingest.characterize import characterize_file

    white = tmp_path / "ورقة.tif"
    Image.new("1", (40, 30), 1).save(white, "TIFF", tiffinfo={262: 0})  # WhiteIsZero bilevel
    grey = tmp_path / "灰.tif"
    Image.new("L", (40, 30), 200).save(grey, "TIFF")
    found = {p.name: characterize_file(p, 10**6) for p in (white, grey)}
    assert (found[white.name].color_space, found[white.name].byte_order) == (
        "WhiteIsZero", "little endian")
    assert found[grey.name].color_space == "BlackIsZero"
    page = arabic_item().pages[0].model_copy(update={"color_space": "Gray"})  # an older record
    mix = build_mix(page, "m1")
    assert mix.findtext(".//{http://www.loc.gov/mix/v20}colorSpace") == "BlackIsZero"
    assert mix.findtext(".//{http://www.loc.gov/mix/v20}byteOrder") == "little endian"
    assert validate(mix, "mix") == []
