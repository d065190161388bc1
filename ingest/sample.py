"""Generate the sample batch from text we wrote, so the OCR ground truth is exact.

Real scans come with transcriptions that are never quite diplomatic; a rendered page has a ground
truth that is right by construction, which is what a test threshold ("under 5% CER") needs. The
pages imitate a scanner's output just enough to exercise the pipeline: 300 dpi grayscale in
TIFF, PNG and JPEG, a slight skew, a little noise and dust, and one item with Unicode file names.

Everything is seeded from the batch id, item id and page number, and no format writes a
timestamp, so two runs with the same arguments give byte-identical files (tests rely on it, and
so does anyone diffing a regenerated batch).
"""

import csv
import hashlib
import random
import statistics
import unicodedata
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from ingest.sample_texts import ITEMS

DPI = 300
PAGE_SIZE = (1748, 2480)  # A5 at 300 dpi
MARGIN_X = 170
MARGIN_TOP = 220

ARABIC_FONT = Path("/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf")
CJK_SERIF_FONT = Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
# Face order inside NotoSerifCJK-Regular.ttc (checked with ImageFont.getname()): JP, KR, SC, TC, HK.
CJK_FACE_INDEX = {"zh-Hans": 2, "zh-Hant": 3}

# Pixel size and line pitch per language; Naskh needs more leading for its tall letters.
FONT_PX = {"ar": 50, "zh-Hans": 46, "zh-Hant": 46}
LINE_PITCH = {"ar": 1.9, "zh-Hans": 1.75, "zh-Hant": 1.75}
PARAGRAPH_GAP = 0.6  # extra space between paragraphs, in lines
BLOCK_GAP = 1.5  # extra space between language blocks, in lines

# Chinese punctuation that must not begin a line (kinsoku): it stays on the line before.
NO_LINE_START = set("，。、；：！？）」』》〉”’")

MANIFEST_COLUMNS = [
    "item_id", "languages", "title", "title_ar", "title_zh", "title_en", "creator", "date",
    "publisher", "place", "subjects", "identifier", "rights", "portals", "reading_direction",
    "shelfmark",
]

SAVE_OPTIONS = {
    "TIFF": {"compression": "tiff_lzw"},
    "PNG": {"optimize": False, "compress_level": 6},
    "JPEG": {"quality": 92, "subsampling": 0},
}


class SampleFontMissing(FileNotFoundError):
    pass


def _font(tag: str) -> ImageFont.FreeTypeFont:
    """The font for a language: Noto Naskh Arabic, or Noto Serif CJK in its SC / TC face."""
    path = ARABIC_FONT if tag == "ar" else CJK_SERIF_FONT
    if not path.exists():
        raise SampleFontMissing(
            f"font {path} not found: install fonts-noto-core and fonts-noto-cjk"
        )
    index = CJK_FACE_INDEX.get(tag, 0)
    return ImageFont.truetype(str(path), FONT_PX[tag], index=index, layout_engine=ImageFont.Layout.RAQM)


def _text_options(tag: str) -> dict:
    """raqm shaping options: Arabic is laid out right to left with Arabic shaping rules."""
    if tag == "ar":
        return {"direction": "rtl", "language": "ar"}
    return {"direction": "ltr", "language": "zh-Hans" if tag == "zh-Hans" else "zh-Hant"}


def wrap(paragraph: str, tag: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break a paragraph into lines that fit `width` pixels.

    Arabic breaks between words; Chinese between any two characters, except that closing
    punctuation is kept at the end of the line before, as typesetters do.
    """
    options = _text_options(tag)
    fits = lambda text: font.getlength(text, **options) <= width  # noqa: E731
    lines: list[str] = []
    if tag == "ar":
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}" if current else word
            if current and not fits(candidate):
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
        return lines
    current = ""
    for char in paragraph:
        if current and not fits(current + char) and char not in NO_LINE_START:
            lines.append(current)
            current = char
        else:
            current += char
    lines.append(current)
    return lines


def _page_seed(batch_id: str, item_id: str, seq: int) -> int:
    # hashlib, not hash(): str hashing is salted per process and would break reproducibility.
    digest = hashlib.sha256(f"{batch_id}/{item_id}/{seq}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def render_page(blocks: list[tuple[str, list[str]]]) -> tuple[Image.Image, list[str]]:
    """Render one clean page (grayscale, white) and return it with its lines in reading order."""
    image = Image.new("L", PAGE_SIZE, 255)
    draw = ImageDraw.Draw(image)
    text_width = PAGE_SIZE[0] - 2 * MARGIN_X
    y = float(MARGIN_TOP)
    lines_out: list[str] = []
    for block_no, (tag, paragraphs) in enumerate(blocks):
        font = _font(tag)
        pitch = FONT_PX[tag] * LINE_PITCH[tag]
        if block_no:
            y += BLOCK_GAP * pitch
        for par_no, paragraph in enumerate(paragraphs):
            if par_no:
                y += PARAGRAPH_GAP * pitch
            for line in wrap(unicodedata.normalize("NFC", paragraph), tag, font, text_width):
                if tag == "ar":
                    # Right-aligned: the line starts at the right margin.
                    draw.text((PAGE_SIZE[0] - MARGIN_X, y), line, fill=0, font=font,
                              anchor="ra", **_text_options(tag))
                else:
                    draw.text((MARGIN_X, y), line, fill=0, font=font, anchor="la",
                              **_text_options(tag))
                lines_out.append(line)
                y += pitch
    if y > PAGE_SIZE[1] - MARGIN_TOP / 2:
        raise ValueError(f"sample text overflows the page ({y:.0f} px of {PAGE_SIZE[1]})")
    return image, lines_out


def _gaussian_lut(sigma: float) -> list[int]:
    """Map a uniform byte to a gaussian offset around 128 (inverse CDF), for seeded noise."""
    normal = statistics.NormalDist(128, sigma)
    return [max(0, min(255, round(normal.inv_cdf((i + 0.5) / 256)))) for i in range(256)]


def age_page(image: Image.Image, rng: random.Random) -> Image.Image:
    """Make a clean rendering look scanned: small skew, slight blur, gaussian noise, dust specks."""
    angle = rng.uniform(0.3, 1.0) * rng.choice((-1, 1))
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    # Noise from the seeded RNG (Image.effect_noise uses the C library's rand(): not seeded).
    noise = Image.frombytes("L", image.size, rng.randbytes(image.size[0] * image.size[1]))
    image = ImageChops.add(image, noise.point(_gaussian_lut(9.0)), scale=1.0, offset=-128)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(40, 80)):
        x, y = rng.randrange(image.size[0]), rng.randrange(image.size[1])
        r = rng.choice((1, 1, 1, 2))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(60, 160))
    return image


def write_sample(out_dir: Path, batch_id: str = "sample-batch-001") -> tuple[Path, Path]:
    """Write the sample batch to `out_dir/<batch_id>/` and its ground truth beside it.

    The ground truth goes to `out_dir/<batch_id>.ground-truth/<item_id>/<page file stem>.txt`,
    one line per rendered line, NFC, logical order. The batch's `READY` marker is written last.
    Returns (batch_dir, ground_truth_dir). Raises SampleFontMissing when a Noto font is absent,
    FileExistsError when the batch folder already exists (a batch is never overwritten).
    """
    return _write_batch(Path(out_dir), batch_id, ITEMS, MANIFEST_COLUMNS)


def write_serial_sample(out_dir: Path, batch_id: str | None = None) -> tuple[Path, Path]:
    """Write the second sample batch (ingest.sample_serial: a journal's title and two issues,
    and a book described only by its CNMARC record in records.xml) like `write_sample`."""
    from ingest import sample_serial

    return _write_batch(Path(out_dir), batch_id or sample_serial.SERIAL_BATCH_ID,
                        sample_serial.ITEMS, sample_serial.COLUMNS,
                        records=sample_serial.RECORDS_XML)


def _write_batch(out_dir: Path, batch_id: str, items: list[dict], columns: list[str],
                 records: str | None = None) -> tuple[Path, Path]:
    batch_dir = out_dir / batch_id
    gt_dir = out_dir / f"{batch_id}.ground-truth"
    batch_dir.mkdir(parents=True, exist_ok=False)
    gt_dir.mkdir(parents=True, exist_ok=True)
    with (batch_dir / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for item in items:
            writer.writerow({column: item.get(column, "") for column in columns})
    if records:
        (batch_dir / "records.xml").write_text(records, encoding="utf-8")
    for item in items:
        if not item["pages"]:
            continue  # a title row: no pages, no folder
        item_dir = batch_dir / item["item_id"]
        item_gt = gt_dir / item["item_id"]
        item_dir.mkdir()
        item_gt.mkdir(exist_ok=True)
        for seq, blocks in enumerate(item["pages"], start=1):
            name = unicodedata.normalize("NFC", item["page_names"].format(n=seq))
            clean, lines = render_page(blocks)
            rng = random.Random(_page_seed(batch_id, item["item_id"], seq))
            page = age_page(clean, rng)
            page.save(item_dir / name, item["format"], dpi=(DPI, DPI), **SAVE_OPTIONS[item["format"]])
            (item_gt / f"{Path(name).stem}.txt").write_text(
                "".join(f"{line}\n" for line in lines), encoding="utf-8"
            )
    (batch_dir / "READY").touch()
    return batch_dir, gt_dir
