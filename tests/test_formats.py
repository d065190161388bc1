"""Format identification by siegfried (pygfried, PRONOM signatures inside the wheel): masters and
every kind of derivative the pipeline writes, identified offline."""

from pathlib import Path

import pytest
from PIL import Image

from metadata.formats import identifier, identify

pytest.importorskip("pygfried")


def _files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    image = Image.new("L", (64, 48), 255)
    files["tiff"] = tmp_path / "صفحة ١.tif"
    image.save(files["tiff"], "TIFF", compression="tiff_lzw")
    files["png"] = tmp_path / "第1页.png"
    image.save(files["png"], "PNG")
    files["jpeg"] = tmp_path / "p0001.jpg"
    image.save(files["jpeg"], "JPEG")
    files["pdf"] = tmp_path / "item.pdf"
    image.convert("RGB").save(files["pdf"], "PDF")
    files["alto"] = tmp_path / "p0001.alto.xml"
    files["alto"].write_text('<?xml version="1.0" encoding="UTF-8"?>\n<alto xmlns="http://www.'
                             'loc.gov/standards/alto/ns-v4#"><Layout/></alto>\n', "utf-8")
    files["text"] = tmp_path / "p0001.txt"
    files["text"].write_text("رحلة ابن بطوطة\n郑和下西洋\n", "utf-8")
    return files


def test_siegfried_identifies_masters_and_derivatives_by_pronom_id(tmp_path):
    files = _files(tmp_path)
    found = identify(list(files.values()))
    puid = {kind: found[path].puid for kind, path in files.items()}
    assert puid["tiff"] == "fmt/353"
    assert puid["png"] in ("fmt/11", "fmt/12", "fmt/13")
    assert puid["jpeg"] in ("fmt/43", "fmt/44", "fmt/42", "fmt/41")
    assert puid["pdf"].startswith("fmt/")  # a PDF version, e.g. fmt/18 (PDF 1.4)
    assert "Portable Document Format" in found[files["pdf"]].name
    assert puid["alto"] == "fmt/101"  # XML 1.0
    assert puid["text"] == "x-fmt/111"  # plain text


def test_the_agent_names_siegfried_and_its_signature_file():
    agent = identifier()
    assert agent.version[0].isdigit()
    assert "DROID_SignatureFile" in agent.signature


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tif"):
        identify([tmp_path / "nope.tif"])
