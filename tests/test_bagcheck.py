"""Strict bag validation: the Library of Congress conformance suite, escapes, archives, XML."""

import io
import json
import tarfile
import zipfile
from pathlib import Path

import bagit
import pytest

from cadl.cli import main
from preservation.bag import build_bag
from ingest.bagcheck import check_bag, safe_parse_xml, unpack

SUITE = Path(__file__).resolve().parents[2] / "shared" / "bagit-conformance"
needs_suite = pytest.mark.skipif(not SUITE.is_dir(), reason="../shared/bagit-conformance absent")


def _bags(kind: str) -> list[Path]:
    if not SUITE.is_dir():
        return []
    return sorted(p for p in SUITE.glob(f"v*/{kind}/*") if p.is_dir())


@needs_suite
def test_every_valid_bag_of_the_suite_is_accepted():
    bags = _bags("valid")
    assert len(bags) >= 25
    for bag in bags:
        report = check_bag(bag)
        assert report.is_valid, (bag, report.errors)


@needs_suite
def test_every_invalid_bag_of_the_suite_is_rejected_with_a_reason():
    bags = _bags("invalid") + _bags("linux-only") + _bags("windows-only")
    assert len(bags) >= 25
    for bag in bags:
        report = check_bag(bag)
        assert not report.is_valid and all(report.errors), bag


@needs_suite
def test_the_invalid_bag_bagit_python_accepts_is_rejected():
    bag = SUITE / "v1.0" / "invalid" / "bagit-with-invalid-whitespace"
    bagit.Bag(str(bag)).validate()  # bagit-python alone: no complaint
    errors = check_bag(bag).errors
    assert any("'BagIt-Version : 1.0'" in e for e in errors)


@needs_suite
def test_warning_bags_are_accepted_with_a_warning_or_rejected_with_reasons():
    accepted = {}
    for bag in _bags("warning"):
        report = check_bag(bag)
        assert report.warnings or report.errors, bag
        if report.is_valid:
            accepted[bag.name] = report.warnings
    assert any("'*' binary marker" in w for w in accepted["made-with-md5sum-tools"])
    assert any("starts with './'" in w for w in accepted["relative-path"])
    assert any("listed twice with the same digest" in w
               for w in accepted["same-filename-listed-twice-with-the-same-hash"])


def _our_bag(tmp_path: Path, name="partner-bag") -> Path:
    src = tmp_path / "src"
    src.mkdir(parents=True)
    (src / "a.txt").write_text("كتاب 文学史\n", "utf-8")
    (src / "b.xml").write_text("<title>文學史</title>", "utf-8")
    return build_bag(tmp_path / name, [(src / "a.txt", "a.txt"), (src / "b.xml", "b.xml")],
                     {"Source-Organization": "مكتبة الشراكة"})


def test_manifest_paths_escaping_the_bag_are_rejected(tmp_path):
    bag = _our_bag(tmp_path)
    manifest = bag / "manifest-sha512.txt"
    digest = manifest.read_text().split()[0]
    manifest.write_text(manifest.read_text() + f"{digest}  ../../etc/passwd\n"
                        f"{digest}  /etc/passwd\n")
    errors = check_bag(bag).errors
    assert any("escapes the bag with '..'" in e for e in errors)
    assert any("absolute path '/etc/passwd'" in e for e in errors)


def test_every_problem_of_a_tampered_bag_is_listed(tmp_path):
    bag = _our_bag(tmp_path)
    (bag / "data" / "a.txt").write_text("changed", "utf-8")
    (bag / "data" / "extra.txt").write_text("x", "utf-8")
    errors = "\n".join(check_bag(bag).errors)
    assert "Payload-Oxum" in errors
    assert "data/extra.txt exists on filesystem but is not in the manifest" in errors
    assert "data/a.txt sha512 validation failed" in errors


def test_xml_with_entities_is_refused_and_never_expanded(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>')
    with pytest.raises(ValueError, match="declares XML entities"):
        safe_parse_xml(bomb)
    external = tmp_path / "ext.xml"
    external.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM '
                        '"file:///etc/hostname">]><r>&x;</r>')
    with pytest.raises(ValueError):
        safe_parse_xml(external)
    bag = _our_bag(tmp_path / "b")
    assert check_bag(bag).is_valid
    # an XML payload file with an entity makes the bag invalid (and names the file)
    (bag / "data" / "b.xml").write_bytes(bomb.read_bytes())
    assert any(e.startswith("data/b.xml: XML refused") for e in check_bag(bag).errors)


def test_zip_and_tar_are_unpacked_only_inside_their_own_folder(tmp_path):
    bag = _our_bag(tmp_path)
    archive = tmp_path / "partner-bag.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(bag.rglob("*")):
            zf.write(f, f"partner-bag/{f.relative_to(bag)}")
    out = unpack(archive, tmp_path / "unpacked")
    assert out == tmp_path / "unpacked" / "partner-bag" / "partner-bag"
    assert check_bag(out).is_valid
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escaped.txt", "x")
    with pytest.raises(ValueError, match="escapes the bag"):
        unpack(evil, tmp_path / "u2")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "u2").exists()
    tar = tmp_path / "evil.tar"
    with tarfile.open(tar, "w") as tf:
        info = tarfile.TarInfo("bag/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
        data = b"x"
        info = tarfile.TarInfo("/abs.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(data))
    with pytest.raises(ValueError):
        unpack(tar, tmp_path / "u3")
    assert not (tmp_path / "u3").exists()


def test_cli_bag_validate_exit_codes(tmp_path, capsys):
    bag = _our_bag(tmp_path)
    assert main(["bag", "validate", str(bag)]) == 0
    (bag / "bagit.txt").write_bytes(b"\xef\xbb\xbf" + (bag / "bagit.txt").read_bytes())
    capsys.readouterr()
    assert main(["bag", "validate", str(bag), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["is_valid"] is False and any("byte-order mark" in e for e in out["errors"])
    assert main(["bag", "validate", str(tmp_path / "nope")]) == 2
