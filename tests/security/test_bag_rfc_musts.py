"""A partner's bag that breaks a MUST of RFC 8493 is refused by `cadl bag validate`, by name.

Each test builds its own hostile bag from a valid BagIt 1.0 bag made by bagit-python (two
payload manifests, sha256 and sha512; Arabic and Chinese file names), breaks exactly one rule,
re-computes the tag manifests so nothing else is wrong, and checks the line the technician
reads, the exit code, and that validating changed nothing in the bag.
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import bagit
import pytest

from cadl.cli import main
from ingest.bagcheck import check_bag

AR, ZH = "كتاب.txt", "书目.txt"


def _bag(tmp_path: Path) -> Path:
    bag = tmp_path / "partner-bag"
    (bag / "章节").mkdir(parents=True)
    (bag / AR).write_text("مخطوطة عربية\n", "utf-8")
    (bag / ZH).write_text("中文书目\n", "utf-8")
    (bag / "章节" / "一.txt").write_text("第一章\n", "utf-8")
    bagit.make_bag(str(bag), {"Source-Organization": "مكتبة الشراكة"},
                   checksums=["sha256", "sha512"])
    _to_1_0(bag)
    return bag


def _to_1_0(bag: Path) -> None:
    """bagit-python writes 0.97 bags; declare 1.0, as partners' current tools do."""
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
                                   "utf-8")
    _retag(bag)


def _retag(bag: Path) -> None:
    """Rewrite every tag manifest to match the tag files as they now are."""
    for tagmanifest in bag.glob("tagmanifest-*.txt"):
        algorithm = tagmanifest.stem.split("-", 1)[1]
        lines = []
        for path in sorted(bag.iterdir()):
            if path.is_file() and not path.name.startswith("tagmanifest-"):
                digest = hashlib.new(algorithm, path.read_bytes()).hexdigest()
                lines.append(f"{digest}  {path.name}\n")
        tagmanifest.write_text("".join(lines), "utf-8")


def _snapshot(bag: Path) -> dict[str, bytes]:
    return {p.relative_to(bag).as_posix(): p.read_bytes()
            for p in sorted(bag.rglob("*")) if p.is_file()}


def _validate(bag: Path, capsys) -> tuple[int, list[str]]:
    """`cadl bag validate BAG`: exit code and printed lines; asserts the bag is untouched."""
    before = _snapshot(bag)
    capsys.readouterr()
    code = main(["bag", "validate", str(bag)])
    lines = capsys.readouterr().out.splitlines()
    assert _snapshot(bag) == before
    return code, lines


def _drop_line(manifest: Path, name: str) -> None:
    lines = manifest.read_text("utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.rstrip("\n").endswith(f"  {name}")]
    assert len(kept) == len(lines) - 1
    manifest.write_text("".join(kept), "utf-8")


def test_the_untouched_bag_is_valid(tmp_path, capsys):
    bag = _bag(tmp_path)
    code, lines = _validate(bag, capsys)
    assert code == 0, lines
    assert lines == [f"{bag}: valid"]


def test_a_file_missing_from_one_of_two_manifests_is_refused(tmp_path, capsys):
    bag = _bag(tmp_path)
    _drop_line(bag / "manifest-sha256.txt", f"data/{AR}")
    _retag(bag)
    bagit.Bag(str(bag)).validate()  # bagit-python alone finds nothing wrong
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert (f"ERROR    manifest-sha256.txt does not list payload file 'data/{AR}' (RFC 8493 "
            "§2.1.3: every payload file MUST be listed in every payload manifest)") in lines
    assert lines[-1] == f"{bag}: 1 error(s)"


def test_a_listed_file_missing_from_the_payload_is_refused(tmp_path, capsys):
    bag = _bag(tmp_path)
    (bag / "data" / ZH).unlink()
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert f"ERROR    data/{ZH} exists in manifest but was not found on filesystem" in lines


def test_a_digest_wrong_in_only_one_manifest_is_refused(tmp_path, capsys):
    bag = _bag(tmp_path)
    manifest = bag / "manifest-sha256.txt"
    text = manifest.read_text("utf-8")
    digest = next(line.split()[0] for line in text.splitlines() if line.endswith(ZH))
    manifest.write_text(text.replace(digest, "0" * 64), "utf-8")
    _retag(bag)
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert any(line.startswith(f"ERROR    data/{ZH} sha256 validation failed") for line in lines)


@pytest.mark.parametrize("content, error", [
    (b"Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n",
     "bagit.txt must be exactly two lines, BagIt-Version then Tag-File-Character-Encoding (RFC "
     "8493 §2.1.1); it has 2 line(s): Tag-File-Character-Encoding, BagIt-Version"),
    (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nBagIt-Version: 0.97\n",
     "bagit.txt line 3 repeats BagIt-Version"),
    (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nContact-Name: x\n",
     "bagit.txt line 3 is not 'Name: value' with exactly ': ' between them: 'Contact-Name: x'"),
    (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n\xff\n",
     "bagit.txt is not UTF-8 (RFC 8493 §2.1.1): byte 54 is b'\\xff'"),
    (b"\xef\xbb\xbfBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
     "bagit.txt starts with a byte-order mark (RFC 8493 §2.1.1 forbids it)"),
    (b"BagIt-Version: 1.0\n",
     "bagit.txt has no Tag-File-Character-Encoding"),
], ids=["order", "repeated-line", "third-line", "not-utf8", "bom", "one-line"])
def test_bagit_txt_breaking_section_2_1_1_is_refused(tmp_path, capsys, content, error):
    bag = _bag(tmp_path)
    (bag / "bagit.txt").write_bytes(content)
    _retag(bag)
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert f"ERROR    {error}" in lines


def test_a_bag_without_a_data_folder_is_refused(tmp_path, capsys):
    bag = _bag(tmp_path)
    for path in sorted((bag / "data").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (bag / "data").rmdir()
    for manifest in bag.glob("manifest-*.txt"):
        manifest.write_text("", "utf-8")
    (bag / "bag-info.txt").write_text("Payload-Oxum: 0.0\n", "utf-8")
    _retag(bag)
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert ("ERROR    no data/ folder (RFC 8493 §2.1.2: the payload directory MUST exist, even "
            "if empty)") in lines


def test_a_bag_without_a_payload_manifest_is_refused(tmp_path, capsys):
    bag = _bag(tmp_path)
    for manifest in bag.glob("manifest-*.txt"):
        manifest.unlink()
    _retag(bag)
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert "ERROR    no payload manifest (manifest-<algorithm>.txt)" in lines


def test_a_raw_percent_sign_as_bagit_python_writes_it_is_accepted_with_a_warning(tmp_path,
                                                                                capsys):
    """RFC 8493 wants %25; bagit-python writes % raw. Such a bag is read, and warned about."""
    bag = tmp_path / "bag"
    bag.mkdir()
    (bag / "١٠٠%.txt").write_text("x", "utf-8")
    bagit.make_bag(str(bag), checksums=["sha512"])
    _to_1_0(bag)
    assert "data/١٠٠%.txt" in (bag / "manifest-sha512.txt").read_text("utf-8")
    code, lines = _validate(bag, capsys)
    assert code == 0, lines
    assert ("WARNING  manifest-sha512.txt line 1: path 'data/١٠٠%.txt' has a '%' that is not "
            "%25, %0A or %0D (RFC 8493 §2.1.3 wants a literal % written %25; read as "
            "bagit-python writes it)") in lines


def test_a_payload_manifest_listing_a_tag_file_is_refused(tmp_path, capsys):
    bag = _bag(tmp_path)
    manifest = bag / "manifest-sha512.txt"
    digest = hashlib.sha512((bag / "bag-info.txt").read_bytes()).hexdigest()
    manifest.write_text(manifest.read_text("utf-8") + f"{digest}  bag-info.txt\n", "utf-8")
    _retag(bag)
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert "ERROR    manifest-sha512.txt line 4: payload path 'bag-info.txt' is not under data/" \
        in lines


def test_a_tag_manifest_listing_a_tag_manifest_is_refused(tmp_path, capsys):
    bag = _bag(tmp_path)
    _retag(bag)
    other = bag / "tagmanifest-sha512.txt"
    digest = hashlib.sha256(other.read_bytes()).hexdigest()
    tm = bag / "tagmanifest-sha256.txt"
    tm.write_text(tm.read_text("utf-8") + f"{digest}  tagmanifest-sha512.txt\n", "utf-8")
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert ("ERROR    tagmanifest-sha256.txt line 5: lists the tag manifest "
            "'tagmanifest-sha512.txt' (RFC 8493 §2.2.1: a tag manifest MUST NOT list tag "
            "manifests)") in lines


def test_a_manifest_line_without_a_path_is_refused(tmp_path, capsys):
    bag = _bag(tmp_path)
    manifest = bag / "manifest-sha256.txt"
    manifest.write_text(manifest.read_text("utf-8") + "0123abcd\n", "utf-8")
    _retag(bag)
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert "ERROR    manifest-sha256.txt line 4 is not '<digest> <path>'" in lines


def _fetch_bag(tmp_path: Path) -> Path:
    """A valid bag whose Chinese file is to be fetched rather than carried."""
    bag = _bag(tmp_path)
    (bag / "data" / ZH).unlink()
    (bag / "fetch.txt").write_text(f"https://partner.example.org/{ZH} 13 data/{ZH}\n", "utf-8")
    _retag(bag)
    return bag


@pytest.mark.parametrize("line, error", [
    (f"partner/{ZH} 13 data/{ZH}",
     f"fetch.txt line 1: 'partner/{ZH}' is not an absolute URL (RFC 8493 §2.2.3)"),
    (f"https://partner.example.org/{ZH} thirteen data/{ZH}",
     "fetch.txt line 1: length 'thirteen' is neither a number of octets nor '-' "
     "(RFC 8493 §2.2.3)"),
    ("https://partner.example.org/info 10 bag-info.txt",
     "fetch.txt line 1: 'bag-info.txt' is a tag file; fetch.txt MUST NOT list tag files "
     "(RFC 8493 §2.2.3)"),
    ("https://partner.example.org/x 1 data/غير-مدرج.txt",
     "fetch.txt line 1: 'data/غير-مدرج.txt' is not in manifest-sha256.txt (RFC 8493 §2.2.3: "
     "every fetched file MUST be listed in every payload manifest)"),
    ("https://partner.example.org/x 1 ../../etc/passwd",
     "fetch.txt line 1: path '../../etc/passwd' escapes the bag with '..'"),
], ids=["relative-url", "bad-length", "tag-file", "unlisted-file", "escape"])
def test_fetch_txt_breaking_section_2_2_3_is_refused(tmp_path, capsys, line, error):
    bag = _fetch_bag(tmp_path)
    (bag / "fetch.txt").write_text(line + "\n", "utf-8")
    _retag(bag)
    code, lines = _validate(bag, capsys)
    assert code == 1
    assert f"ERROR    {error}" in lines


def test_a_well_formed_fetch_txt_only_warns(tmp_path):
    report = check_bag(_fetch_bag(tmp_path))
    assert "fetch.txt lists files to download: the bag is not complete as sent" in report.warnings
    assert not any("MUST" in e for e in report.errors), report.errors


def test_names_in_nfd_on_disk_match_nfc_manifest_lines(tmp_path, capsys):
    """macOS writes NFD names; a manifest written elsewhere in NFC still lists every file."""
    bag = tmp_path / "bag"
    bag.mkdir()
    nfd = unicodedata.normalize("NFD", "Café-文學.txt")
    (bag / nfd).write_text("x", "utf-8")
    bagit.make_bag(str(bag), checksums=["sha256", "sha512"])
    _to_1_0(bag)
    for manifest in bag.glob("manifest-*.txt"):
        manifest.write_text(unicodedata.normalize("NFC", manifest.read_text("utf-8")), "utf-8")
    _retag(bag)
    report = check_bag(bag)
    assert not any("does not list payload file" in e for e in report.errors), report.errors
