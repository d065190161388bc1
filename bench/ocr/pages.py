"""The benchmark's pages: generated with exact ground truth (clean and degraded), plus real scans.

Generated pages reuse the sample batch's texts and renderer (`ingest.sample`), so the ground
truth is right by construction. "clean" pages get the sample's light scanner ageing; "degraded"
pages get what a poor scan or a re-compressed web copy does: stronger noise, blur, a skew of
1.5–3°, and heavy JPEG compression. Real scans come from ../shared/ocr-gt/ when it is there.
"""

import hashlib
import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from ingest.sample import DPI, PAGE_SIZE, _font, _gaussian_lut, age_page, render_page
from ingest.sample_texts import ITEMS

ROOT = Path(__file__).resolve().parents[2]
SHARED_GT = ROOT.parent / "shared" / "ocr-gt"
# Language group of the benchmark → the sample item whose pages are used.
GENERATED = {"ar": "ar-book-001", "zh-Hans": "zh-hans-book-001",
             "zh-Hant": "zh-hant-book-001", "ar+zh-Hans": "ar-zh-bilingual-001"}


@dataclass(frozen=True)
class BenchPage:
    group: str  # "ar/clean", "zh-Hans/degraded", "ar/real (al-Muqtabas)", …
    languages: tuple[str, ...]  # BCP 47 tags for routing
    reading_direction: str
    image: Path
    truth: str


def _rng(*parts) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode())
                                        .digest()[:8], "big"))


def degrade(image: Image.Image, rng: random.Random) -> bytes:
    """A badly scanned copy of a clean rendering, as JPEG bytes (quality 25)."""
    image = image.rotate(rng.uniform(1.5, 3.0) * rng.choice((-1, 1)),
                         resample=Image.Resampling.BICUBIC, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(1.1))
    noise = Image.frombytes("L", image.size, rng.randbytes(image.size[0] * image.size[1]))
    image = ImageChops.add(image, noise.point(_gaussian_lut(28.0)), scale=1.0, offset=-128)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=25, dpi=(DPI, DPI))
    return out.getvalue()


def render_vertical(paragraphs: list[str], tag: str = "zh-Hant") -> tuple[Image.Image, list[str]]:
    """A clean page of vertical Chinese: columns top to bottom, right to left, one character
    per cell; returns the image and its columns in reading order (the ground truth lines)."""
    font = _font(tag)
    cell, pitch, top, right = 50, 80, 200, PAGE_SIZE[0] - 200
    per_column = (PAGE_SIZE[1] - 2 * top) // cell
    columns: list[str] = []
    for paragraph in paragraphs:
        text = "".join(paragraph.split())
        columns += [text[i:i + per_column] for i in range(0, len(text), per_column)]
    columns = columns[:(right - 200) // pitch]
    image = Image.new("L", PAGE_SIZE, 255)
    draw = ImageDraw.Draw(image)
    for n, column in enumerate(columns):
        x = right - n * pitch
        for i, char in enumerate(column):
            draw.text((x, top + i * cell), char, fill=0, font=font, anchor="ma")
    return image, columns


def _kinds(folder: Path, group: str, tags: tuple, direction: str, seq: int, clean: Image.Image,
           lines: list[str], seed: str) -> list[BenchPage]:
    truth = "".join(f"{line}\n" for line in lines)
    pages = []
    for kind in ("clean", "degraded"):
        sub = folder / kind / group.replace("+", "_").replace(" ", "_")
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"p{seq:04d}.{'png' if kind == 'clean' else 'jpg'}"
        if kind == "clean":
            age_page(clean, _rng("clean", seed, seq)).save(path, dpi=(DPI, DPI))
        else:
            path.write_bytes(degrade(clean, _rng("degraded", seed, seq)))
        pages.append(BenchPage(f"{group}/{kind}", tags, direction, path, truth))
    return pages


def vertical_pages(folder: Path, limit: int | None = None) -> list[BenchPage]:
    """Vertical Traditional Chinese pages (clean and degraded) from the Traditional sample
    texts, read as a `ttb` item."""
    item = next(i for i in ITEMS if i["item_id"] == GENERATED["zh-Hant"])
    pages = []
    for seq, blocks in enumerate(item["pages"][:limit], start=1):
        paragraphs = [p for tag, pars in blocks for p in pars if tag == "zh-Hant"]
        clean, columns = render_vertical(paragraphs)
        pages += _kinds(folder, "zh-Hant vertical", ("zh-Hant",), "ttb", seq, clean, columns,
                        "vertical")
    return pages


def generated_pages(folder: Path, limit: int | None = None) -> list[BenchPage]:
    """Write every generated page (clean and degraded) into `folder`; returns them.
    `limit`: at most this many pages per language."""
    pages = []
    items = {item["item_id"]: item for item in ITEMS}
    for lang, item_id in GENERATED.items():
        item = items[item_id]
        tags = tuple(item["languages"].split(";"))
        for seq, blocks in enumerate(item["pages"][:limit], start=1):
            clean, lines = render_page(blocks)
            truth = "".join(f"{line}\n" for line in lines)
            for kind in ("clean", "degraded"):
                sub = folder / kind / lang.replace("+", "_")
                sub.mkdir(parents=True, exist_ok=True)
                path = sub / f"p{seq:04d}.{'png' if kind == 'clean' else 'jpg'}"
                if kind == "clean":
                    age_page(clean, _rng("clean", item_id, seq)).save(path, dpi=(DPI, DPI))
                else:
                    path.write_bytes(degrade(clean, _rng("degraded", item_id, seq)))
                pages.append(BenchPage(f"{lang}/{kind}", tags, item["reading_direction"],
                                       path, truth))
    return pages


def real_pages(limit: int | None) -> list[BenchPage]:
    """The real Arabic scans of ../shared/ocr-gt/ar-muqtabas with their transcriptions."""
    base = SHARED_GT / "ar-muqtabas"
    if not (base / "images").is_dir():
        return []
    images = sorted((base / "images").glob("*.tif"))[:limit]
    return [BenchPage("ar/real (al-Muqtabas, 600 dpi)", ("ar",), "rtl", image,
                      (base / "gt" / f"{image.stem}.txt").read_text("utf-8"))
            for image in images if (base / "gt" / f"{image.stem}.txt").is_file()]
