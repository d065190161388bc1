"""What every stage that decodes a page image shares: one pixel limit, one way to 8 bits.

Validation accepts any page up to `CADL_MAX_IMAGE_PIXELS` and 16-bit (or 32-bit, float)
grayscale as well as 8-bit, so the stages after it must be able to read what it accepted:

- Pillow has a pixel limit of its own (a module global, ~89 Mpx warns, ~179 Mpx raises), which
  would make a page validation accepted fail later in OCR, thumbnails or the PDF. The setting
  is the single limit: `use_pixel_limit` makes it Pillow's too, in the process that decodes.
- Tesseract, JPEG thumbnails and the PDF want 8-bit samples; `to_8bit` makes an 8-bit copy of
  a deeper image, scaled by its brightest value. The master is never changed.
"""

from PIL import Image

# Modes whose samples are deeper than 8 bits: what `to_8bit` rescales rather than clips.
DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
# Modes tesseract, JPEG and the PDF take as they are.
EIGHT_BIT_MODES = ("1", "L", "RGB")


def use_pixel_limit(max_pixels: int) -> None:
    """Make `max_pixels` (CADL_MAX_IMAGE_PIXELS) Pillow's decompression-bomb limit too.

    Process-wide, and idempotent: every caller passes the same setting. Pillow refuses only
    images over twice its limit, so validation (which refuses anything over `max_pixels`)
    stays the one place a too-large page is refused, with a message naming the setting.
    """
    Image.MAX_IMAGE_PIXELS = max_pixels


def to_8bit(image: Image.Image) -> Image.Image:
    """An 8-bit L or RGB image of `image`, keeping its look; returns a new image.

    16/32-bit and float grayscale are scaled by the brightest value (convert("L") would clip
    everything above 255 to white, and a 12-bit scan in a 16-bit file would come out black);
    transparency is flattened onto white; palettes, CMYK, YCbCr and Lab become RGB.
    """
    if image.mode in DEEP_MODES:
        image = image.convert("I") if image.mode != "F" else image
        _, high = image.getextrema()
        scale = 255 / high if high and high > 255 else 1
        return image.point(lambda v: v * scale).convert("L")
    if image.mode in ("1", "L"):
        return image.convert("L")
    if image.mode in ("LA", "RGBA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # P, CMYK, YCbCr, LAB, RGB
