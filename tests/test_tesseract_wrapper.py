"""The tesseract wrapper: real runs, model look-up, vertical text, and injected faults."""

import os
import shutil
import stat
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from kernel.errors import ToolFailed, ToolMissing, ToolTimeout
from ingest.sample import CJK_FACE_INDEX, CJK_SERIF_FONT
from ocr import tesseract
from ocr.cer import cer

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None,
                                     reason="tesseract is not installed")

VERTICAL_COLUMNS = ["造纸术是中国古代", "最重要的发明之一", "纸张沿丝绸之路", "一步一步向西传播"]


def _fake_tesseract(folder: Path, body: str) -> None:
    """A `tesseract` that answers --version/--list-langs like the real one and runs `body`
    for a recognition."""
    script = folder / "tesseract"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        case "$1" in
          --version) echo "tesseract 5.3.0"; exit 0;;
          --list-langs) echo 'List of available languages in "{folder}/" (1):'; echo ara; exit 0;;
        esac
        {body}
        """))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (folder / "ara.traineddata").write_bytes(b"fake model")


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}/usr/bin:/bin")
    tesseract.version.cache_clear()
    yield folder
    tesseract.version.cache_clear()


@pytest.fixture
def page_image(tmp_path) -> Path:
    path = tmp_path / "第1页.png"
    Image.new("L", (200, 100), 255).save(path)
    return path


def test_crashing_tesseract_raises_tool_failed_with_image_name_and_stderr(fake_bin, page_image,
                                                                           tmp_path):
    _fake_tesseract(fake_bin, 'echo "Error in pixReadStream: corrupt file" >&2; exit 1')
    with pytest.raises(ToolFailed) as info:
        tesseract.recognize(page_image, tmp_path / "out", ["ara"], tessdata_dir=None, timeout=10)
    assert "第1页.png" in str(info.value) and "corrupt file" in str(info.value)
    assert not isinstance(info.value, ToolTimeout)


def test_hanging_tesseract_is_stopped_and_raises_retryable_timeout(fake_bin, page_image, tmp_path):
    _fake_tesseract(fake_bin, "sleep 30")
    started = time.monotonic()
    with pytest.raises(ToolTimeout) as info:
        tesseract.recognize(page_image, tmp_path / "out", ["ara"], tessdata_dir=None, timeout=1)
    assert time.monotonic() - started < 10
    assert "第1页.png" in str(info.value)
    assert info.value.retryable


def test_tesseract_that_writes_nothing_raises_tool_failed(fake_bin, page_image, tmp_path):
    _fake_tesseract(fake_bin, "exit 0")
    with pytest.raises(ToolFailed, match="did not write"):
        tesseract.recognize(page_image, tmp_path / "out", ["ara"], tessdata_dir=None, timeout=10)


def test_missing_tesseract_raises_tool_missing(fake_bin, page_image, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(fake_bin))  # an empty folder: no tesseract anywhere
    with pytest.raises(ToolMissing, match="tesseract not found"):
        tesseract.recognize(page_image, tmp_path / "out", ["ara"], tessdata_dir=None, timeout=10)


@needs_tesseract
def test_missing_model_raises_tool_missing_naming_model_and_image(page_image, tmp_path):
    with pytest.raises(ToolMissing) as info:
        tesseract.recognize(page_image, tmp_path / "out", ["ara", "xyz_nonexistent"],
                            tessdata_dir=None, timeout=10)
    assert "xyz_nonexistent" in str(info.value) and "第1页.png" in str(info.value)
    with pytest.raises(ToolMissing, match="xyz_nonexistent"):
        tesseract.model_file("xyz_nonexistent", None)


@needs_tesseract
def test_version_and_models_of_the_real_program():
    assert tesseract.version()[0].isdigit()
    models = tesseract.available_models(None)
    assert {"ara", "chi_sim", "chi_tra"} <= models
    assert tesseract.model_file("ara", None).name == "ara.traineddata"


@needs_tesseract
def test_recognize_writes_alto_hocr_text_and_pdf_without_local_paths(sample_batch, tmp_path):
    batch_dir, _ = sample_batch
    image = batch_dir / "ar-restricted-001" / "0002.jpg"
    out = tesseract.recognize(image, tmp_path / "p0002", ["ara"], tessdata_dir=None, timeout=120)
    assert set(out) == {"alto", "hocr", "txt", "pdf"}
    assert all(path.is_file() and path.stat().st_size for path in out.values())
    alto = out["alto"].read_text(encoding="utf-8")
    assert "<fileName>0002.jpg</fileName>" in alto and str(batch_dir) not in alto
    assert str(batch_dir) not in out["hocr"].read_text(encoding="utf-8")


def test_vertical_models_get_the_vertical_page_segmentation():
    assert tesseract.page_segmentation(["chi_tra_vert", "chi_tra"]) == tesseract.PSM_VERTICAL
    assert tesseract.page_segmentation(["ara", "chi_sim"]) == tesseract.PSM_HORIZONTAL


def _vertical_page(path: Path) -> None:
    """Columns of Chinese read top to bottom, right to left, as in a vertical book."""
    font = ImageFont.truetype(str(CJK_SERIF_FONT), 56, index=CJK_FACE_INDEX["zh-Hans"])
    image = Image.new("L", (900, 900), 255)
    draw = ImageDraw.Draw(image)
    for col, text in enumerate(VERTICAL_COLUMNS):
        x = 720 - col * 120
        for row, char in enumerate(text):
            draw.text((x, 120 + row * 70), char, font=font, fill=0)
    image.save(path, dpi=(300, 300))


@needs_tesseract
def test_vertical_text_is_read_in_column_order_with_the_chosen_segmentation(tmp_path):
    if "chi_sim_vert" not in tesseract.available_models(None):
        pytest.skip("chi_sim_vert model is not installed")
    image = tmp_path / "vertical.png"
    _vertical_page(image)
    models = ["chi_sim_vert", "chi_sim"]
    out = tesseract.recognize(image, tmp_path / "v", models, tessdata_dir=None, timeout=120)
    text = out["txt"].read_text(encoding="utf-8")
    assert cer("".join(VERTICAL_COLUMNS), text) < 0.15, text
    # A horizontal single-column mode (4) reads nothing useful here.
    out = tesseract.recognize(image, tmp_path / "h", models, tessdata_dir=None, timeout=120,
                              psm=4)
    assert cer("".join(VERTICAL_COLUMNS), out["txt"].read_text(encoding="utf-8")) > 0.5


@needs_tesseract
def test_recognize_writes_only_the_outputs_asked_for(page_image, tmp_path):
    out = tesseract.recognize(page_image, tmp_path / "only", ["ara"], tessdata_dir=None,
                              timeout=60, outputs=("hocr", "txt"),
                              config={"thresholding_method": "2"})
    assert set(out) == {"hocr", "txt"}
    assert sorted(p.name for p in tmp_path.glob("only.*")) == ["only.hocr", "only.txt"]
    with pytest.raises(ValueError, match="outputs must be some of"):
        tesseract.recognize(page_image, tmp_path / "x", ["ara"], tessdata_dir=None,
                            timeout=60, outputs=("docx",))
