"""Which engine reads what: per language, per reading direction, and per line on bilingual pages.

The default (`Settings.ocr_engines`, BENCHMARKS.md "OCR" has the measurements behind it):
Chinese, Simplified and Traditional, goes to PP-OCR; Arabic (no PP-OCR Arabic model ships
in a registry package) and English to tesseract. A setting entry `TAG[/DIRECTION]=ENGINE`
changes it, e.g. `zh-Hant/ttb=tesseract` keeps tesseract's `chi_tra_vert` for vertical
Traditional books.

A page whose languages all go to one engine is read by it whole. A page whose languages go to
both (Arabic with Chinese) is read line by line: PP-OCR's detector finds the lines once, each
line's script is decided from PP-OCR's reading (a line that is not mostly Han characters, or
that PP-OCR reads with a low score, is not Chinese), and the other lines are cut out and read
by tesseract with the Arabic model in one run. So an Arabic line is never read by a Chinese
model, nor the reverse, and each line records the engine that read it.
"""

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from kernel.languages import language, tesseract_models
from ocr import ppocr, tesseract
from ocr.engines import TesseractEngine
from ocr.models import EngineUsed
from ocr.quality import SCRIPTS
from ocr.result import Block, Line, PageResult, Word

log = logging.getLogger(__name__)

ENGINES = ("tesseract", "ppocr")
# A detected line is Chinese when at least this share of its letters are Han characters.
MIN_HAN_SHARE = 0.5
# Pixels of margin around a line cut out for tesseract (its line mode wants some white).
CROP_MARGIN = 6


def parse_engines(setting: str) -> dict[tuple[str, str | None], str]:
    """`TAG[/DIRECTION]=ENGINE; …` as {(tag lower-case, direction or None): engine}.

    Raises ValueError naming a malformed entry, an unknown language or an unknown engine.
    """
    table: dict[tuple[str, str | None], str] = {}
    for entry in re.split(r"[;,]", setting):
        if not entry.strip():
            continue
        key, sep, engine = entry.partition("=")
        tag, _, direction = key.strip().partition("/")
        if not sep or not tag:
            raise ValueError(f"OCR engine setting {entry.strip()!r} is not TAG[/DIRECTION]="
                             "ENGINE")
        if engine.strip() not in ENGINES:
            raise ValueError(f"OCR engine setting {entry.strip()!r}: unknown engine "
                             f"{engine.strip()!r}; use one of {', '.join(ENGINES)}")
        language(tag)  # raises UnknownLanguage, a ValueError naming the tag
        table[(tag.strip().lower(), direction.strip() or None)] = engine.strip()
    return table


def engine_for(tag: str, direction: str, setting: str) -> str:
    """The engine that reads `tag` text written in `direction` under `setting`."""
    table = parse_engines(setting)
    key = tag.lower()
    return table.get((key, direction), table.get((key, None), "tesseract"))


@dataclass(frozen=True)
class Plan:
    """How an item's pages are read."""
    ppocr_tags: tuple[str, ...]  # languages read by PP-OCR
    tesseract_tags: tuple[str, ...]  # languages read by tesseract
    tesseract: TesseractEngine | None
    vertical: bool
    languages: tuple[str, ...] = field(default_factory=tuple)

    @property
    def engine_names(self) -> list[str]:
        return [n for n, tags in (("ppocr", self.ppocr_tags), ("tesseract", self.tesseract_tags))
                if tags]

    @property
    def per_line(self) -> bool:
        return bool(self.ppocr_tags and self.tesseract_tags)


def plan(languages: list[str], direction: str, setting: str, *, tessdata_dir: Path | None,
         timeout: float, config: dict[str, str] | None = None) -> Plan:
    """The plan for an item in `languages` read in `direction`. Raises ValueError for a bad
    setting or an unknown language."""
    ppocr_tags = tuple(t for t in languages if engine_for(t, direction, setting) == "ppocr")
    tess_tags = tuple(t for t in languages if t not in ppocr_tags)
    engine = None
    if tess_tags:
        models = tuple(tesseract_models(list(tess_tags), direction))
        engine = TesseractEngine(models, tessdata_dir, timeout,
                                 tesseract.page_segmentation(list(models)),
                                 tuple(sorted((config or {}).items())))
    return Plan(ppocr_tags, tess_tags, engine, direction == "ttb", tuple(languages))


def engines_used(p: Plan) -> list[EngineUsed]:
    """The engines of a plan with versions and model digests. Raises ToolMissing when an
    engine or a model is not installed (checked before any page is read)."""
    used = []
    if p.ppocr_tags:
        used.append(EngineUsed(name="ppocr", version=ppocr.version(), models=ppocr.models()))
    if p.tesseract is not None:
        used.append(EngineUsed(name="tesseract", version=p.tesseract.version(),
                               models=p.tesseract.models()))
    return used


def _tag_for(text: str, languages: tuple[str, ...]) -> str | None:
    """The item language a line's text is in, from its letters' script."""
    counts = {name: len(pattern.findall(text)) for name, pattern in SCRIPTS.items()}
    script = max(counts, key=counts.get) if any(counts.values()) else None
    wanted = {"Arab": ("ar",), "Hani": ("zh-Hans", "zh-Hant"), "Latn": ("en",)}.get(script, ())
    return next((t for t in languages if t in wanted), None)


def assign_languages(result: PageResult, languages: tuple[str, ...]) -> PageResult:
    for line in result.lines:
        if line.language is None:
            line.language = _tag_for(line.text, languages)
    return result


def _is_chinese(line: Line) -> bool:
    text = line.text
    han = len(SCRIPTS["Hani"].findall(text))
    letters = sum(ch.isalpha() for ch in text)
    return bool(letters) and han / letters >= MIN_HAN_SHARE and \
        (line.score or 0) >= ppocr.MIN_LINE_SCORE


def _merge_rows(lines: list[Line]) -> list[list[Line]]:
    """Pieces of one text row (the detector splits a line at wide gaps) grouped together."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: ln.box[1]):
        for row in rows:
            top = max(min(ln.box[1] for ln in row), line.box[1])
            bottom = min(max(ln.box[3] for ln in row), line.box[3])
            smaller = min(line.box[3] - line.box[1], max(ln.box[3] for ln in row) -
                          min(ln.box[1] for ln in row))
            if smaller > 0 and bottom - top >= 0.5 * smaller:
                row.append(line)
                break
        else:
            rows.append([line])
    return rows


def _per_line(p: Plan, image: Path, work: Path) -> PageResult:
    result = ppocr.recognize(image, vertical=p.vertical, min_score=0.0, name=image.name)
    chinese, other = [], []
    for line in result.lines:
        (chinese if _is_chinese(line) else other).append(line)
    # Lines the recogniser read as nothing (Arabic, to a Chinese model) are only in the
    # detector's boxes: every box not inside a Chinese line is another script's.
    for box in ppocr.detect(image, image.name):
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if not any(ln.box[0] <= cx <= ln.box[2] and ln.box[1] <= cy <= ln.box[3]
                   for ln in chinese + other):
            other.append(Line([], box))
    lines: list[Line] = [ln for ln in chinese]
    rows = _merge_rows(other)
    if rows:
        crops, origins = [], []
        with Image.open(image) as im:
            picture = im.convert("L")
        for n, row in enumerate(rows):
            x0 = max(0, min(ln.box[0] for ln in row) - CROP_MARGIN)
            y0 = max(0, min(ln.box[1] for ln in row) - CROP_MARGIN)
            x1 = min(picture.width, max(ln.box[2] for ln in row) + CROP_MARGIN)
            y1 = min(picture.height, max(ln.box[3] for ln in row) + CROP_MARGIN)
            crop = work / f"line{n:04d}.png"
            picture.crop((x0, y0, x1, y1)).save(crop, dpi=(300, 300))
            crops.append(crop)
            origins.append((x0, y0, x1, y1))
        for (x0, y0, x1, y1), read in zip(origins, p.tesseract.recognize_lines(crops, work)):
            words = [Word(w.text, (w.box[0] + x0, w.box[1] + y0, w.box[2] + x0, w.box[3] + y0),
                          w.confidence, w.space_after) for w in read.words]
            if not words:
                continue
            direction = "rtl" if any(ln.direction == "rtl" for ln in read.lines) else "ltr"
            lines.append(Line(words, (x0, y0, x1, y1), direction, "tesseract",
                              "+".join(p.tesseract.model_names)))
    lines.sort(key=lambda ln: (ln.box[1], ln.box[0]))
    result.blocks = ppocr._blocks(lines, p.vertical) if lines else []
    return result


def recognize_page(p: Plan, image: Path, work: Path) -> PageResult:
    """One page read as the plan says; every line carries its engine and language.

    Raises ToolMissing, ToolFailed, ToolTimeout from the engines.
    """
    work.mkdir(parents=True, exist_ok=True)
    if p.per_line:
        result = _per_line(p, image, work)
    elif p.ppocr_tags:
        result = ppocr.recognize(image, vertical=p.vertical, name=image.name)
    else:
        result = p.tesseract.recognize(image, work)
    result.image = image.name
    return assign_languages(result, p.languages)
