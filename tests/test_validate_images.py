"""Page images: identified by content, characterized for MIX/PREMIS, refused when unusable."""

import io

import pytest
from batchmaker import make_batch, page_bytes
from PIL import Image, ImageCms

from kernel.settings import Settings
from ingest.characterize import sniff
from ingest.validate import validate_batch

ZH = {"item_id": "zh-1", "languages": "zh-Hant", "title": "文學史"}
AR = {"item_id": "ar-1", "languages": "ar", "title": "ديوان"}


def image_bytes(fmt, mode="L", size=(60, 80), dpi=(300, 300), **kw) -> bytes:
    buf = io.BytesIO()
    img = Image.new(mode, size, 255 if mode in ("L", "1") else (255,) * len(mode))
    if dpi:
        kw["dpi"] = dpi
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def by_file(report):
    return {p.file: p for p in report.problems}


def test_characterization_of_every_format(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pages = {
        "1.tif": image_bytes("TIFF", "L", compression="tiff_lzw"),
        "2.tif": image_bytes("TIFF", "CMYK", dpi=(400, 400)),
        "3.jpg": image_bytes("JPEG", "RGB", icc_profile=srgb),
        "4.png": image_bytes("PNG", "RGB"),
        "5.jp2": image_bytes("JPEG2000", "RGB", dpi=None),
        "6.tif": image_bytes("TIFF", "1", compression="group4"),
    }
    report = validate_batch(make_batch(tmp_path, [ZH], pages={"zh-1": pages}),
                            Settings(min_dpi=300, low_dpi_severity="warning"))
    assert report.is_valid, report.problems
    got = {p.original_name: p for p in report.batch.items[0].pages}
    t1, t2, j, p, k, g4 = (got[n] for n in pages)
    assert (t1.puid, t1.mimetype, t1.compression, t1.color_space, t1.bits_per_sample,
            t1.samples_per_pixel) == ("fmt/353", "image/tiff", "LZW", "BlackIsZero", 8, 1)
    assert (t1.x_resolution, t1.y_resolution, t1.width, t1.height) == (300, 300, 60, 80)
    assert (t2.color_space, t2.samples_per_pixel, t2.compression, t2.dpi) == (
        "CMYK", 4, "None", 400)
    assert (j.puid, j.compression, j.color_space, j.icc_profile) == ("fmt/43", "JPEG", "RGB",
                                                                     True)
    assert (p.puid, p.compression, p.icc_profile, p.samples_per_pixel) == (
        "fmt/13", "Deflate", False, 3)
    assert (k.puid, k.format, k.mimetype, k.compression) == (
        "x-fmt/392", "JPEG2000", "image/jp2", "JPEG2000")
    assert (g4.bits_per_sample, g4.compression) == (1, "CCITT T.6")
    assert all(len(x.md5) == 32 and len(x.sha512) == 128 for x in got.values())
    # the JP2 has no resolution: a warning by default
    assert by_file(report)["zh-1/5.jp2"].severity == "warning"


def test_format_is_identified_by_content_not_extension():
    assert sniff(image_bytes("TIFF")[:32]) == ("TIFF", "fmt/353")
    assert sniff(image_bytes("PNG")[:32]) == ("PNG", "fmt/13")
    assert sniff(b"%PDF-1.7\n") == (None, None)


def test_corrupt_files_of_every_format_are_named(tmp_path):
    files = {f: image_bytes(fmt, "RGB", size=(300, 300)) for f, fmt in
             (("1.tif", "TIFF"), ("2.jpg", "JPEG"), ("3.png", "PNG"), ("4.jp2", "JPEG2000"))}
    pages = {name: data[: len(data) * 2 // 3] for name, data in files.items()}
    flipped = bytearray(files["4.jp2"])
    flipped[len(flipped) // 2:] = bytes(len(flipped) - len(flipped) // 2)
    pages["5.jp2"] = bytes(flipped)
    pages["6.jp2"] = files["4.jp2"][:40]  # the signature, then nothing
    pages["7.png"] = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    pages["8.tif"] = b"%PDF-1.4 not really a tiff"
    report = validate_batch(make_batch(tmp_path, [AR], pages={"ar-1": pages}))
    problems = by_file(report)
    for name in pages:
        assert problems[f"ar-1/{name}"].severity == "error", name
    for name in ("1.tif", "2.jpg", "3.png", "4.jp2", "5.jp2", "6.jp2", "7.png"):
        assert "not a readable" in problems[f"ar-1/{name}"].message, name
    assert "content is a PDF document" in problems["ar-1/8.tif"].message
    assert report.batch.items[0].pages == []


def test_decompression_bomb_over_the_configured_limit(tmp_path):
    pages = {"1.png": page_bytes(size=(60, 80)), "2.png": image_bytes("PNG", "1",
                                                                      size=(4000, 3000))}
    batch = make_batch(tmp_path, [AR], pages={"ar-1": pages})
    report = validate_batch(batch, Settings(max_image_pixels=1_000_000))
    message = by_file(report)["ar-1/2.png"].message
    assert "4000×3000 = 12,000,000 pixels, over the limit of 1,000,000" in message
    assert [p.original_name for p in report.batch.items[0].pages] == ["1.png"]
    assert validate_batch(batch, Settings(max_image_pixels=20_000_000)).is_valid


@pytest.mark.parametrize("severity", ["warning", "error"])
def test_low_or_missing_resolution_as_configured(tmp_path, severity):
    pages = {"1.tif": image_bytes("TIFF", dpi=(150, 150)), "2.png": image_bytes("PNG", dpi=None),
             "3.tif": image_bytes("TIFF", dpi=(600, 600))}
    report = validate_batch(make_batch(tmp_path, [ZH], pages={"zh-1": pages}),
                            Settings(min_dpi=300, low_dpi_severity=severity))
    problems = by_file(report)
    assert problems["zh-1/1.tif"].severity == severity
    assert "150 ppi is under the minimum of 300 ppi" in problems["zh-1/1.tif"].message
    assert problems["zh-1/2.png"].severity == severity
    assert "no resolution" in problems["zh-1/2.png"].message
    assert "zh-1/3.tif" not in problems
    assert report.is_valid == (severity == "warning")


def test_settings_refuse_an_unknown_severity():
    with pytest.raises(ValueError):
        Settings(low_dpi_severity="ignore")
