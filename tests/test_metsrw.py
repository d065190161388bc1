"""Archivematica's METS reader (metsrw) parses every preservation METS and finds every file.

The golden METS of each sample item (Arabic, Traditional Chinese vertical, Simplified Chinese)
are read with metsrw: every file of the fileSec must come back with its path, its group (USE)
and the amdSec its ADMID names (the file's PREMIS object, a master's MIX as well).
"""

from pathlib import Path

import pytest
from lxml import etree

from package_samples import GOLDEN

metsrw = pytest.importorskip("metsrw")
GOLDEN_DIR = Path(__file__).parent / "golden"
NS = {"mets": "http://www.loc.gov/METS/", "xlink": "http://www.w3.org/1999/xlink"}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_metsrw_parses_the_preservation_mets_and_finds_every_file(name):
    path = GOLDEN_DIR / name
    document = metsrw.METSDocument.fromfile(str(path))
    found = {f.path: f for f in document.all_files() if f.type == "Item"}
    root = etree.parse(str(path)).getroot()
    listed = {f.find("mets:FLocat", NS).get(f"{{{NS['xlink']}}}href"): f
              for f in root.iterfind(".//mets:fileSec//mets:file", NS)}
    assert set(found) == set(listed)
    for href, entry in found.items():
        assert entry.use == listed[href].getparent().get("USE")
        assert entry.checksum == listed[href].get("CHECKSUM")
        mdtypes = {sub.contents.mdtype for amd in entry.amdsecs for sub in amd.subsections}
        assert "PREMIS:OBJECT" in mdtypes, href
        assert ("NISOIMG" in mdtypes) == (entry.use == "master"), href
