"""Helpers of the OCR tests: ground truth look-up and the pdftotext wrapper."""

import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.models import Item, Page


def ground_truth(gt_dir: Path, item: Item, page: Page) -> str:
    """The ground-truth text of a sample page (file named after the page file's stem)."""
    return (gt_dir / item.item_id / f"{Path(page.original_name).stem}.txt").read_text("utf-8")


def pdftotext(pdf: Path, timeout: float = 60) -> str:
    """Text layer of a PDF as poppler's pdftotext extracts it (UTF-8, raw content order)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    proc = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          timeout=timeout, check=True)
    return proc.stdout.decode("utf-8")


def _to_unicode_map(font) -> dict[int, str]:
    """code → text from a Type0 font's ToUnicode CMap (bfrange and bfchar, 2-byte codes)."""
    import re

    cmap = font.ToUnicode.read_bytes().decode("latin-1")
    mapping: dict[int, str] = {}
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(r"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
            for offset in range(int(hi, 16) - int(lo, 16) + 1):
                mapping[int(lo, 16) + offset] = chr(int(dst, 16) + offset) \
                    if not 0xD800 <= int(dst, 16) + offset <= 0xDFFF else ""
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, dst in re.findall(r"<(\w+)>\s*<(\w+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(dst).decode("utf-16-be")
    return mapping


def pikepdf_text(pdf_path: Path) -> list[list[str]]:
    """Per page, the strings of its text-showing operators in content-stream order, decoded
    through each font's ToUnicode map with pikepdf: what a PDF library, not poppler, reads."""
    import pikepdf

    pages = []
    with pikepdf.open(pdf_path) as pdf:
        for page in pdf.pages:
            fonts = {str(name): font for name, font in page.Resources.get("/Font", {}).items()}
            maps: dict[str, dict[int, str]] = {}
            current, parts = None, []
            for operands, operator in pikepdf.parse_content_stream(page):
                op = str(operator)
                if op == "Tf":
                    current = str(operands[0])
                    if current not in maps:
                        maps[current] = _to_unicode_map(fonts[current])
                elif op in ("Tj", "TJ", "'", '"'):
                    strings = operands[-1] if op != "TJ" else [
                        s for s in operands[0] if isinstance(s, pikepdf.String)]
                    for s in strings if op == "TJ" else [strings]:
                        raw = bytes(s)
                        parts.append("".join(maps[current].get(int.from_bytes(raw[i:i + 2], "big"), "")
                                             for i in range(0, len(raw) - 1, 2)))
            pages.append(parts)
    return pages
