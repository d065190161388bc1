"""Our BagIt profile (config/bagit-profile.json): bags we build follow it; broken ones do not."""

import datetime as dt
import json

import pytest

from kernel.errors import BagInvalid
from kernel.settings import get_settings
from preservation.bag import PROFILE_FILE, build_bag, profile_id, validate_bag
from preservation.bagprofile import (IDENTIFIER_TEMPLATE, assert_profile, load_profile,
                                     profile_problems, render_profile)

PROFILE_ID = profile_id(get_settings())  # this run's: the access location's own URL

INFO = {"Source-Organization": "Chinese–Arabic Digital Library", "External-Identifier": "b1",
        "External-Description": "كتاب الأغاني — 乐府诗集", "Bag-Group-Identifier": "batch-1",
        "Internal-Sender-Identifier": "batch-1/b1"}


@pytest.fixture
def bag(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name, data in {"p1.tif": b"II*\x00one", "p1.alto.xml": b"<alto/>", "p1.jpg": b"\xff\xd8",
                       "b1.pdf": b"%PDF-1.7", "mets.xml": b"<mets/>",
                       "premis-events.xml": b"<premis/>"}.items():
        (src / name).write_bytes(data)
    payload = [(src / "p1.tif", "masters/p0001.tif"), (src / "p1.alto.xml", "ocr/p0001.alto.xml"),
               (src / "p1.jpg", "thumbnails/p0001.jpg"), (src / "b1.pdf", "b1.pdf")]
    tags = [(src / "mets.xml", "mets.xml"), (src / "premis-events.xml", "premis-events.xml")]
    return build_bag(tmp_path / "bags" / "b1", payload, INFO, bagging_date=dt.date(2026, 3, 1),
                     tag_files=tags)


def test_profile_file_is_a_bagit_profile_1_4_naming_our_identifier():
    profile = json.loads(PROFILE_FILE.read_text("utf-8"))
    assert profile["BagIt-Profile-Info"]["BagIt-Profile-Version"] == "1.4.0"
    assert load_profile()["BagIt-Profile-Info"]["BagIt-Profile-Identifier"] == IDENTIFIER_TEMPLATE
    rendered = render_profile(get_settings())["BagIt-Profile-Info"]
    assert rendered["BagIt-Profile-Identifier"] == PROFILE_ID
    assert profile["Allow-Fetch.txt"] is False
    assert "mets.xml" in profile["Tag-Files-Required"]


def test_built_bag_follows_the_profile_and_is_valid_bagit(bag):
    assert profile_problems(bag) == []
    assert validate_bag(bag).is_valid, validate_bag(bag).errors
    assert f"BagIt-Profile-Identifier: {PROFILE_ID}\n" in (bag / "bag-info.txt").read_text("utf-8")
    tags = (bag / "tagmanifest-sha256.txt").read_text("utf-8")
    assert "  mets.xml\n" in tags and "  manifest-sha512.txt\n" in tags


def test_missing_mets_fetch_txt_and_stray_payload_are_each_reported(bag):
    (bag / "mets.xml").unlink()
    (bag / "fetch.txt").write_text("http://example.org/x 1 data/x\n")
    (bag / "data" / "notes.doc").write_bytes(b"x")
    problems = " | ".join(profile_problems(bag)).lower()
    assert "mets.xml" in problems
    assert "fetch.txt" in problems
    assert "data/notes.doc" in problems
    with pytest.raises(BagInvalid, match=PROFILE_ID):
        assert_profile(bag)


def test_a_bag_without_the_sha256_manifest_breaks_the_profile(bag):
    (bag / "manifest-sha256.txt").unlink()
    assert any("sha256" in p for p in profile_problems(bag))


def test_tag_file_names_must_be_plain_names_at_the_bag_root(tmp_path):
    src = tmp_path / "m.xml"
    src.write_bytes(b"<mets/>")
    for name in ("data/mets.xml", "bag-info.txt", "manifest-md5.txt"):
        with pytest.raises(ValueError, match="tag file name"):
            build_bag(tmp_path / "b", [(src, "x.xml")], INFO, tag_files=[(src, name)])
