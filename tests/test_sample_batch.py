"""The generated sample batch honours the landing-zone contract and is reproducible."""

import csv
import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from ingest.sample import write_sample

ITEM_IDS = ["ar-book-001", "zh-hans-book-001", "zh-hant-book-001", "ar-zh-bilingual-001",
            "ar-restricted-001"]


def _manifest(batch_dir: Path) -> list[dict[str, str]]:
    with (batch_dir / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _page_files(batch_dir: Path) -> list[Path]:
    return sorted(p for p in batch_dir.rglob("*") if p.is_file()
                  and p.name not in ("manifest.csv", "READY"))


def test_manifest_has_contract_columns_and_an_unknown_extra_column(sample_batch):
    batch_dir, _ = sample_batch
    rows = _manifest(batch_dir)
    assert [r["item_id"] for r in rows] == ITEM_IDS
    for column in ("languages", "title", "title_ar", "title_zh", "title_en", "rights", "portals",
                   "reading_direction", "subjects", "identifier", "shelfmark"):
        assert column in rows[0]
    by_id = {r["item_id"]: r for r in rows}
    assert by_id["ar-zh-bilingual-001"]["languages"] == "ar;zh-Hans"
    assert by_id["ar-restricted-001"]["rights"] == "restricted"
    assert by_id["ar-book-001"]["reading_direction"] == "rtl"


def test_ready_marker_is_empty_and_written_last(sample_batch):
    batch_dir, _ = sample_batch
    ready = batch_dir / "READY"
    assert ready.stat().st_size == 0
    newest_other = max(p.stat().st_mtime_ns for p in batch_dir.rglob("*") if p != ready)
    assert ready.stat().st_mtime_ns >= newest_other


def test_pages_are_grayscale_300_dpi_in_tiff_png_and_jpeg(sample_batch):
    batch_dir, _ = sample_batch
    formats = set()
    for path in _page_files(batch_dir):
        with Image.open(path) as im:
            formats.add(im.format)
            assert im.mode == "L", path
            assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01), path
    assert formats == {"TIFF", "PNG", "JPEG"}


def test_items_have_two_or_three_pages_and_one_item_has_nfc_unicode_names(sample_batch):
    batch_dir, _ = sample_batch
    unicode_items = set()
    for item_id in ITEM_IDS:
        names = sorted(p.name for p in (batch_dir / item_id).iterdir())
        assert 2 <= len(names) <= 3, item_id
        assert all(unicodedata.is_normalized("NFC", n) for n in names)
        if any(not n.isascii() for n in names):
            unicode_items.add(item_id)
    assert unicode_items == {"zh-hans-book-001"}
    assert len(list((batch_dir / "ar-restricted-001").iterdir())) == 2


def test_ground_truth_sits_beside_the_batch_with_one_file_per_page(sample_batch):
    batch_dir, gt_dir = sample_batch
    assert gt_dir.parent == batch_dir.parent and not gt_dir.is_relative_to(batch_dir)
    for page in _page_files(batch_dir):
        gt = gt_dir / page.parent.name / f"{page.stem}.txt"
        text = gt.read_text(encoding="utf-8")
        lines = text.splitlines()
        assert 5 <= len(lines) <= 15, gt
        assert unicodedata.is_normalized("NFC", text)
        assert len(set(lines)) == len(lines), f"repeated line in {gt}"


def test_bilingual_pages_carry_arabic_then_chinese(sample_batch):
    _, gt_dir = sample_batch
    for gt in sorted((gt_dir / "ar-zh-bilingual-001").iterdir()):
        lines = gt.read_text(encoding="utf-8").splitlines()
        assert any("\u0600" <= c <= "\u06ff" for c in lines[0])
        assert any("\u4e00" <= c <= "\u9fff" for c in lines[-1])


def test_two_runs_write_byte_identical_batches(sample_batch, tmp_path):
    batch_dir, gt_dir = sample_batch
    again_batch, again_gt = write_sample(tmp_path)
    for original, rerun in ((batch_dir, again_batch), (gt_dir, again_gt)):
        files = sorted(p.relative_to(original) for p in original.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(rerun) for p in rerun.rglob("*") if p.is_file())
        for rel in files:
            assert (original / rel).read_bytes() == (rerun / rel).read_bytes(), rel


def test_another_batch_id_gives_different_noise(sample_batch, tmp_path):
    batch_dir, _ = sample_batch
    other, _ = write_sample(tmp_path, batch_id="sample-batch-002")
    page = Path("ar-book-001/0001.tif")
    assert (other / page).read_bytes() != (batch_dir / page).read_bytes()


def test_existing_batch_is_never_overwritten(tmp_path):
    (tmp_path / "sample-batch-001").mkdir()
    with pytest.raises(FileExistsError):
        write_sample(tmp_path)
