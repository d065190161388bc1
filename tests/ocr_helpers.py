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
