"""The OCR copy of a page: what tesseract reads, made from the master, which never changes.

Each step is kept only where `bench/ocr` measured a lower CER with it (BENCHMARKS.md, "OCR"),
so the default (`Settings.ocr_preprocess`) is per language:

- `rescale`: pages scanned far from the ~300 dpi the models were trained at are resampled to
  300 dpi (block averaging, which also turns a 1-bit 600 dpi scan into clean grayscale). On the
  real 600 dpi al-Muqtabas scans it lowered CER (22.1% → 18.8%) and quartered the pixels.
- `binarize`: not an image step but tesseract's Sauvola adaptive thresholding
  (`thresholding_method=2`) instead of its global Otsu; see `engine_config`. Lowered CER on
  real scans (→ 17.3%), degraded bilingual and Traditional pages; on by default.
- `denoise`: a 3×3 median filter against salt-and-pepper noise and dust. It halved the CER of
  Traditional Chinese pages (degraded 6.0% → 3.6%) but cost 7.5% CER on clean bilingual pages
  and ~0.35 s of CPU per page, so it is on for `zh-Hant` items only.

Whatever the steps, a master deeper than 8 bits per sample (16-bit grayscale or colour TIFF,
16-bit PNG or JPEG 2000) always gets an 8-bit OCR copy (`ingest.images.to_8bit`, scaled by its
brightest value): validation accepts such pages, and tesseract should read what a person sees,
not a clipped or truncated version of it. The master is kept as scanned.

Deskew is deliberately not a step: tesseract's automatic page segmentation already follows a
skew of a few degrees (the degraded benchmark pages are skewed 1.5–3°), and rotating the OCR
copy would move the word boxes of ALTO, hOCR and the PDF text layer off the master the
readers see.
"""

import logging
from pathlib import Path

from PIL import Image, ImageFilter

from kernel.errors import ToolFailed
from ingest.images import DEEP_MODES, to_8bit

log = logging.getLogger(__name__)

STEPS = ("rescale", "denoise", "binarize")
TARGET_DPI = 300
# Scans within this band are left at their resolution: resampling costs time and sharpness.
DPI_BAND = (200, 400)


def engine_config(steps: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Tesseract variables for the steps that tesseract itself performs (binarize)."""
    return {"thresholding_method": "2"} if "binarize" in steps else {}


def steps_for(setting: str, languages: list[str]) -> list[str]:
    """The steps `setting` gives an item in `languages` (BCP 47 tags).

    `setting` is "steps[; LANGS=steps …]": comma-separated default steps, then overrides for
    items whose languages, joined by "+", are exactly LANGS (case-insensitive), e.g.
    "rescale,binarize; zh-Hant=rescale,denoise,binarize". Raises ValueError naming an unknown
    step or a malformed override.
    """
    default, *overrides = setting.split(";")
    chosen = default
    key = "+".join(languages).lower()
    for override in overrides:
        if not override.strip():
            continue
        langs, sep, steps = override.partition("=")
        if not sep or not langs.strip():
            raise ValueError(f"OCR preprocessing override {override.strip()!r} is not "
                             "LANGS=steps")
        check_steps(_split(steps))
        if langs.strip().lower() == key:
            chosen = steps
    out = _split(chosen)
    check_steps(out)
    return out


def _split(steps: str) -> list[str]:
    return [s.strip() for s in steps.split(",") if s.strip()]


def check_steps(steps: tuple[str, ...] | list[str]) -> None:
    """Raise ValueError naming an unknown step (settings are checked before any page is read)."""
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown OCR preprocessing step(s) {', '.join(unknown)}; "
                         f"use some of {', '.join(STEPS)}")


def ocr_copy(master: Path, folder: Path, steps: tuple[str, ...] | list[str]) -> tuple[Path, float]:
    """The image tesseract should read for `master`, and its scale relative to the master.

    Returns (`master`, 1.0) when no image step applies, so an unchanged page costs nothing;
    otherwise writes a PNG named like the master (so ALTO's fileName stays the page's name)
    into `folder`. Raises ToolFailed naming the file when the image cannot be read.
    """
    check_steps(steps)
    try:
        return _ocr_copy(master, folder, steps)
    except (OSError, Image.DecompressionBombError) as exc:
        raise ToolFailed(f"cannot read page image {master.name} for OCR: {exc}") from exc


def is_deep(im: Image.Image) -> bool:
    """True when the image has more than 8 bits per sample (as stored, not as Pillow shows it)."""
    if im.mode in DEEP_MODES:
        return True
    bits = im.tag_v2.get(258) if im.format == "TIFF" else None  # BitsPerSample
    values = bits if isinstance(bits, tuple) else (bits,) if bits else ()
    return any(int(b) > 8 for b in values)


def _ocr_copy(master: Path, folder: Path, steps) -> tuple[Path, float]:
    with Image.open(master) as im:
        dpi = float((im.info.get("dpi") or (0, 0))[0] or 0)
        scale = 1.0
        if "rescale" in steps and dpi and not DPI_BAND[0] <= dpi <= DPI_BAND[1]:
            scale = TARGET_DPI / dpi
        denoise = "denoise" in steps and im.mode not in ("1",)
        deep = is_deep(im)
        if scale == 1.0 and not denoise and not deep:
            return master, 1.0
        if deep:
            image = to_8bit(im)
        else:
            image = im.convert("L") if im.mode not in ("L", "RGB") else im.copy()
    if scale != 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        # reduce() averages whole blocks (fast, exact for 600→300 dpi); resize() otherwise.
        factor = round(1 / scale)
        if scale < 1 and abs(1 / scale - factor) < 1e-6:
            image = image.reduce(factor)
        else:
            image = image.resize(size, Image.Resampling.LANCZOS)
    if denoise:
        image = image.filter(ImageFilter.MedianFilter(3))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{master.stem}.png"
    image.save(out, dpi=(TARGET_DPI if scale != 1.0 else dpi or TARGET_DPI,) * 2,
               compress_level=1)
    log.debug("OCR copy of %s: scale %.3f, denoise %s, 8-bit copy of a deeper image %s",
              master.name, scale, denoise, deep)
    return out, scale
