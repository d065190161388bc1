"""BagIt 1.0 bags: built from copies, validated by bagit-python, every tampering named."""

import datetime as dt
import hashlib

import bagit
import pytest

from kernel.errors import BagInvalid
from preservation.bag import (
    assert_valid_bag,
    build_bag,
    payload_manifest,
    tag_manifest,
    validate_bag,
)

DATE = dt.date(2026, 3, 1)
INFO = {
    "Source-Organization": "Chinese–Arabic Digital Library",
    "External-Description": "كتاب الأغاني — 乐府诗集",
    "External-Identifier": "b001-0001",
}


@pytest.fixture
def sources(tmp_path):
    """Scanner-like originals in a batch folder, with Unicode names as technicians give them."""
    batch = tmp_path / "batch"
    batch.mkdir()
    files = {
        "صفحة ١.tif": b"II*\x00" + bytes(range(256)) * 40,
        "第二页.tif": b"II*\x00" + bytes(reversed(range(256))) * 40,
        "mets.xml": '<mets xmlns="http://www.loc.gov/METS/"/>\n'.encode(),
    }
    for name, data in files.items():
        (batch / name).write_bytes(data)
    return [
        (batch / "صفحة ١.tif", "masters/p0001.tif"),
        (batch / "第二页.tif", "masters/p0002.tif"),
        (batch / "mets.xml", "mets.xml"),
    ]


@pytest.fixture
def bag(tmp_path, sources):
    return build_bag(tmp_path / "bags" / "b001-0001", sources, INFO, bagging_date=DATE)


def test_built_bag_is_valid_bagit_1_0(bag):
    assert validate_bag(bag).is_valid, validate_bag(bag).errors
    assert (bag / "bagit.txt").read_bytes() == b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    assert bagit.Bag(str(bag)).version_info == (1, 0)
    assert sorted(p.name for p in bag.iterdir()) == [
        "bag-info.txt", "bagit.txt", "data", "manifest-sha256.txt", "manifest-sha512.txt",
        "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"
    ]
    assert not bag.with_name(bag.name + ".partial").exists()


def test_payload_is_copied_byte_for_byte_and_sources_stay_in_place(bag, sources):
    for source, inner in sources:
        assert source.exists(), "build_bag must copy, never move (bagit-python's make_bag trap)"
        assert (bag / "data" / inner).read_bytes() == source.read_bytes()


def test_manifest_lists_data_paths_with_sha512(bag, sources):
    manifest = payload_manifest(bag)
    assert list(manifest) == ["data/masters/p0001.tif", "data/masters/p0002.tif", "data/mets.xml"]
    for source, inner in sources:
        assert manifest[f"data/{inner}"] == hashlib.sha512(source.read_bytes()).hexdigest()
    assert set(tag_manifest(bag)) == {"bagit.txt", "bag-info.txt", "manifest-sha512.txt",
                                      "manifest-sha256.txt"}


def test_bag_info_has_computed_fields_and_arabic_chinese_values_round_trip(bag, sources):
    info = bagit.Bag(str(bag)).info
    assert info["External-Description"] == "كتاب الأغاني — 乐府诗集"
    assert info["Source-Organization"] == "Chinese–Arabic Digital Library"
    assert info["Bagging-Date"] == "2026-03-01"
    size = sum(s.stat().st_size for s, _ in sources)
    assert info["Payload-Oxum"] == f"{size}.3"
    raw = (bag / "bag-info.txt").read_bytes()
    assert "كتاب الأغاني — 乐府诗集".encode("utf-8") in raw
    labels = [line.split(":")[0] for line in raw.decode("utf-8").splitlines()]
    assert labels == sorted(labels)


def test_same_input_gives_byte_identical_tag_files(tmp_path, sources):
    first = build_bag(tmp_path / "one" / "bag", sources, INFO, bagging_date=DATE)
    second = build_bag(tmp_path / "two" / "bag", list(reversed(sources)), dict(reversed(INFO.items())),
                       bagging_date=DATE)
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha512.txt", "tagmanifest-sha512.txt"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_flipped_byte_in_a_master_makes_the_bag_invalid_naming_it(bag):
    target = bag / "data" / "masters" / "p0002.tif"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    report = validate_bag(bag)
    assert not report.is_valid
    assert any("data/masters/p0002.tif" in e and "sha512" in e for e in report.errors)
    assert not any("p0001" in e for e in report.errors)


def test_deleted_file_makes_the_bag_invalid_naming_it(bag):
    (bag / "data" / "mets.xml").unlink()
    report = validate_bag(bag)
    assert not report.is_valid
    assert any("data/mets.xml" in e and "not found" in e for e in report.errors)


def test_added_file_makes_the_bag_invalid_naming_it(bag):
    (bag / "data" / "masters" / "p0003.tif").write_bytes(b"stray")
    report = validate_bag(bag)
    assert not report.is_valid
    assert any("data/masters/p0003.tif" in e and "not in the manifest" in e for e in report.errors)


def test_every_problem_is_reported_not_only_the_first(bag):
    (bag / "data" / "mets.xml").unlink()
    (bag / "data" / "extra.bin").write_bytes(b"x")
    target = bag / "data" / "masters" / "p0001.tif"
    target.write_bytes(b"Z" + target.read_bytes()[1:])
    errors = "\n".join(validate_bag(bag).errors)
    for name in ("data/mets.xml", "data/extra.bin", "data/masters/p0001.tif"):
        assert name in errors


def test_edited_bag_info_is_caught_by_the_tag_manifest(bag):
    text = (bag / "bag-info.txt").read_text(encoding="utf-8")
    (bag / "bag-info.txt").write_text(text.replace("乐府诗集", "乐府诗"), encoding="utf-8")
    report = validate_bag(bag)
    assert not report.is_valid
    assert any("bag-info.txt" in e for e in report.errors)


def test_not_a_bag_gives_a_report_not_an_exception(tmp_path):
    (tmp_path / "empty").mkdir()
    report = validate_bag(tmp_path / "empty")
    assert not report.is_valid and report.errors


def test_assert_valid_bag_raises_bag_invalid_naming_the_file(bag):
    assert_valid_bag(bag)
    (bag / "data" / "masters" / "p0001.tif").write_bytes(b"replaced")
    with pytest.raises(BagInvalid, match="p0001.tif") as info:
        assert_valid_bag(bag)
    assert info.value.exit_code == 8


def test_existing_bag_folder_is_never_overwritten(bag, sources):
    before = (bag / "manifest-sha512.txt").read_bytes()
    with pytest.raises(FileExistsError):
        build_bag(bag, sources, INFO)
    assert (bag / "manifest-sha512.txt").read_bytes() == before


def test_leftover_partial_folder_from_a_crash_is_rebuilt(tmp_path, sources):
    partial = tmp_path / "bag.partial"
    (partial / "data").mkdir(parents=True)
    (partial / "data" / "half.tif").write_bytes(b"half")
    bag = build_bag(tmp_path / "bag", sources, INFO)
    assert validate_bag(bag).is_valid and not partial.exists()
    assert not (bag / "data" / "half.tif").exists()


@pytest.mark.parametrize("inner", ["../escape.tif", "/abs.tif", "masters/صفحة.tif", "a//b.tif"])
def test_unsafe_payload_paths_are_refused_before_anything_is_written(tmp_path, sources, inner):
    with pytest.raises(ValueError):
        build_bag(tmp_path / "bag", [(sources[0][0], inner)], INFO)
    assert not (tmp_path / "bag").exists() and not (tmp_path / "bag.partial").exists()


def test_case_colliding_payload_paths_are_refused(tmp_path, sources):
    with pytest.raises(ValueError, match="collides"):
        build_bag(tmp_path / "bag", [(sources[0][0], "P.tif"), (sources[1][0], "p.tif")], INFO)


@pytest.mark.parametrize("info", [{"Payload-Oxum": "1.1"}, {"Title": "two\nlines"}, {"Bad:Label": "x"}])
def test_bad_bag_info_is_refused(tmp_path, sources, info):
    with pytest.raises(ValueError):
        build_bag(tmp_path / "bag", sources, info)
