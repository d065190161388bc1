"""Golden files: the same input and clock give byte-identical METS.

A deliberate change of the output is made by `python tests/package_samples.py` (it rewrites
tests/golden/) and reviewed as a diff of those files.
"""

from pathlib import Path

import pytest

from metadata.validate import validate_mets
from package_samples import GOLDEN, mets

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
