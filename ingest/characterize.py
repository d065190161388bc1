"""Characterization of one page image: what it is by its content, and its technical facts.

Scanner software names files carelessly (a PNG saved as `.jpg`, a TIFF without extension), so
the format is identified from the first bytes of the file, never from its name, and mapped to
its PRONOM id. The technical facts (size, resolution, bit depth, colour space, ICC profile,
compression) and two digests feed the MIX techMD and the PREMIS object characteristics; the
pixels are fully decoded once here so a truncated file fails at intake, not in OCR.

Raises nothing for bad content: `characterize_file` returns either a `Characteristics` or a
message a technician can act on.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

MIMETYPES = {"TIFF": "image/tiff", "JPEG": "image/jpeg", "PNG": "image/png",
             "JPEG2000": "image/jp2"}
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
# Z39.87 (MIX) colorSpace terms. Pillow's grey modes store 0 as black (BlackIsZero); a TIFF
# says which it is in its PhotometricInterpretation tag (262), which wins (`_color_space`).
_MODE_COLOR = {"1": "BlackIsZero", "L": "BlackIsZero", "LA": "BlackIsZero", "I": "BlackIsZero",
               "I;16": "BlackIsZero", "I;16B": "BlackIsZero", "I;16L": "BlackIsZero",
               "F": "BlackIsZero", "P": "PaletteColor", "PA": "PaletteColor",
               "RGB": "RGB", "RGBA": "RGB", "RGBX": "RGB", "CMYK": "CMYK", "YCbCr": "YCbCr",
               "LAB": "CIELab"}
_TIFF_PHOTOMETRIC = {0: "WhiteIsZero", 1: "BlackIsZero", 2: "RGB", 3: "PaletteColor",
                     4: "TransparencyMask", 5: "CMYK", 6: "YCbCr", 8: "CIELab", 9: "ICCLab",
                     10: "ITULab"}
_MODE_BITS = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}
_TIFF_COMPRESSION = {"raw": "None", "tiff_lzw": "LZW", "tiff_adobe_deflate": "Deflate",
                     "tiff_deflate": "Deflate", "packbits": "PackBits", "group3": "CCITT T.4",
                     "group4": "CCITT T.6", "jpeg": "JPEG", "tiff_jpeg": "JPEG",
                     "tiff_ccitt": "CCITT RLE", "webp": "WebP", "tiff_zstd": "ZSTD"}


@dataclass
class Characteristics:
    format: str  # "TIFF" | "JPEG" | "PNG" | "JPEG2000"
    mimetype: str
    puid: str | None
    width: int
    height: int
    x_resolution: float | None
    y_resolution: float | None
    bits_per_sample: int | None
    samples_per_pixel: int
    color_space: str | None  # Z39.87 colorSpace: "BlackIsZero", "WhiteIsZero", "RGB", ...
    icc_profile: bool
    compression: str | None
    byte_order: str | None  # TIFF only: "little endian" (II) or "big endian" (MM)
    sha512: str
    md5: str
    size: int


def sniff(head: bytes) -> tuple[str | None, str | None]:
    """(format, PRONOM id) from a file's first bytes; (None, None) when not a page format.

    PRONOM distinguishes JPEG/JFIF versions (fmt/42 1.00, fmt/43 1.01, fmt/44 1.02, fmt/645
    Exif) and PNG versions; PNG 1.0–1.2 files share one signature, so PNG is reported as the
    current 1.2 (fmt/13), which reads every earlier one.
    """
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF", "fmt/353"
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return "TIFF", "fmt/1917"  # BigTIFF
    if head[:3] == b"\xff\xd8\xff":
        if head[6:11] == b"JFIF\x00" and len(head) >= 13:
            return "JPEG", {(1, 0): "fmt/42", (1, 1): "fmt/43", (1, 2): "fmt/44"}.get(
                (head[11], head[12]), "fmt/44")
        if head[6:10] == b"Exif":
            return "JPEG", "fmt/645"
        return "JPEG", "fmt/41"  # raw JPEG stream without JFIF or Exif header
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG", "fmt/13"
    if head[:12] == _JP2_SIGNATURE:
        return "JPEG2000", "x-fmt/392"
    if head[:4] == b"\xff\x4f\xff\x51":
        return "JPEG2000", None  # bare JPEG 2000 codestream: no PRONOM id of its own
    return None, None


def describe_content(head: bytes) -> str:
    """A short name for what a non-image file appears to be, for the technician's message."""
    for magic, name in ((b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (or an "
                        "Office document)"), (b"GIF8", "a GIF image"), (b"BM", "a BMP image"),
                        (b"RIFF", "a RIFF file (WebP/AVI/WAV)"), (b"<?xml", "an XML file"),
                        (b"\xd0\xcf\x11\xe0", "an old Office document")):
        if head.startswith(magic):
            return name
    return "not an image"


def _digests(path: Path) -> tuple[str, str, int]:
    sha, md5, size = hashlib.sha512(), hashlib.md5(usedforsecurity=False), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), md5.hexdigest(), size


def _resolution(img: Image.Image) -> tuple[float | None, float | None]:
    dpi = img.info.get("dpi")
    if not dpi:
        # JPEG 2000: Pillow reads the 'res ' box as dpi; TIFF without a unit gives 'resolution'
        # in unknown units, which cannot be trusted as pixels per inch.
        return None, None
    x, y = (float(v) for v in (tuple(dpi) + tuple(dpi))[:2])
    # PNG stores pixels per metre: 300 ppi comes back as 299.9994; two decimals undo that.
    return (round(x, 2) or None), (round(y, 2) or None)


def _bits(img: Image.Image, fmt: str) -> int | None:
    if fmt == "TIFF":
        bits = img.tag_v2.get(258)
        if bits:
            values = bits if isinstance(bits, tuple) else (bits,)
            return int(values[0])
    return _MODE_BITS.get(img.mode, 8)


def _compression(img: Image.Image, fmt: str) -> str | None:
    if fmt == "TIFF":
        return _TIFF_COMPRESSION.get(img.info.get("compression", "raw"),
                                     img.info.get("compression"))
    return {"JPEG": "JPEG", "PNG": "Deflate", "JPEG2000": "JPEG2000"}[fmt]


def _full_frames(img: Image.Image) -> int:
    """Full-resolution images in a TIFF; reduced-resolution ones (previews) do not count.

    Only the first frame would be OCRed, packaged and shown, so a multi-page TIFF is refused
    at intake rather than silently losing its other pages.
    """
    count = getattr(img, "n_frames", 1)
    if count <= 1:
        return count
    full = 0
    for index in range(count):
        img.seek(index)
        if not int(img.tag_v2.get(254, 0)) & 1:  # NewSubfileType bit 0: reduced resolution
            full += 1
    img.seek(0)
    return full


def characterize_file(path: Path, max_pixels: int) -> Characteristics | str:
    """Identify, measure and fully decode one page file.

    Returns its characteristics, or a message saying what is wrong (empty, not an image, an
    unsupported format, over `max_pixels`, truncated or corrupt).
    """
    with path.open("rb") as fh:
        head = fh.read(32)
    if not head:
        return "file is empty (0 bytes): copy the page again from the scanner"
    fmt, puid = sniff(head)
    if fmt is None:
        return f"content is {describe_content(head)}, not a TIFF, JPEG, PNG or JPEG 2000 page"
    try:
        with warnings.catch_warnings():
            # Our own pixel limit applies, checked on the header before any pixel is decoded;
            # Pillow's built-in limit (a module global) is lifted only inside this block.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                with Image.open(path) as img:
                    if img.width * img.height > max_pixels:
                        return (f"image is {img.width}×{img.height} = {img.width * img.height:,} "
                                f"pixels, over the limit of {max_pixels:,} "
                                "(CADL_MAX_IMAGE_PIXELS): a decompression bomb or a wrong "
                                "scan setting")
                    found = {"JPEG2000": "JPEG2000"}.get(img.format, img.format)
                    if found != fmt:
                        return f"content starts like {fmt} but decodes as {img.format}"
                    if fmt == "TIFF" and (frames := _full_frames(img)) > 1:
                        return (f"TIFF holds {frames} pages (frames); the pipeline takes one "
                                "page per file: export each page as a file of its own")
                    width, height = img.width, img.height
                    xres, yres = _resolution(img)
                    bits, mode = _bits(img, fmt), img.mode
                    color_space = _color_space(img, fmt)
                    bands = len(img.getbands())
                    icc = bool(img.info.get("icc_profile"))
                    compression = _compression(img, fmt)
                    img.load()  # decodes every pixel: truncated files fail here, not in OCR
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as exc:
        return f"not a readable {fmt} image ({exc}): rescan or re-export the page"
    except Exception as exc:  # noqa: BLE001 - a hostile header can raise anything in a decoder
        # (struct.error, IndexError, ZeroDivisionError, …): still a page problem, not a crash.
        return (f"not a readable {fmt} image ({type(exc).__name__}: {exc}): rescan or re-export "
                "the page")
    sha512, md5, size = _digests(path)
    return Characteristics(
        format=fmt, mimetype=MIMETYPES[fmt], puid=puid, width=width, height=height,
        x_resolution=xres, y_resolution=yres, bits_per_sample=bits, samples_per_pixel=bands,
        color_space=color_space or _MODE_COLOR.get(mode), icc_profile=icc,
        compression=compression, sha512=sha512, md5=md5, size=size,
        byte_order={b"II": "little endian", b"MM": "big endian"}.get(head[:2])
        if fmt == "TIFF" else None,
    )


def _color_space(img: Image.Image, fmt: str) -> str | None:
    """The TIFF's own PhotometricInterpretation as a Z39.87 term (a bilevel scan is often
    WhiteIsZero, which Pillow's mode hides); None for other formats or an unknown value."""
    if fmt != "TIFF":
        return None
    value = getattr(img, "tag_v2", {}).get(262)
    return _TIFF_PHOTOMETRIC.get(int(value)) if value is not None else None
