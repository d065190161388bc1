"""Which engine reads what: per language, per reading direction, and per line on bilingual pages.

The default (`Settings.ocr_engines`, BENCHMARKS.md "OCR" has the measurements behind it):
Chinese, Simplified and Traditional, goes to PP-OCR; Arabic (no PP-OCR Arabic model ships
in a registry package) and English to tesseract. A setting entry `TAG[/DIRECTION]=ENGINE`
changes it, e.g. `zh-Hant/ttb=tesseract` keeps tesseract's `chi_tra_vert` for vertical
Traditional books.

A page whose languages all go to one engine is read by it whole. A page whose languages go to
both (Arabic with Chinese) is read line by line: PP-OCR's detector finds the lines once, each
line's script is decided from PP-OCR's reading (a line that is not mostly Han characters is
not Chinese), and the other lines are cut out (straightened when skewed) and read
by tesseract with the Arabic model in one run. So an Arabic line is never read by a Chinese
model, nor the reverse, and each line records the engine that read it. Lines tesseract reads
as nothing but a few marks of low confidence (specks, rules) are dropped.
"""

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from kernel.languages import language, tesseract_models
from ocr import ppocr, tesseract
from ocr.engines import TesseractEngine
from ocr.models import EngineUsed
from ocr.quality import SCRIPTS
from ocr.result import Line, PageResult, Word

log = logging.getLogger(__name__)

ENGINES = ("tesseract", "ppocr")
# A detected line is Chinese when at least this share of its letters are Han characters.
MIN_HAN_SHARE = 0.5
# Pixels of margin around a line cut out for tesseract (its line mode wants some white).
CROP_MARGIN = 6
# Lines skewed by less than this are cut out upright; more, and they are straightened.
MIN_SKEW_DEGREES = 0.5


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
    """Mostly Han characters: PP-OCR reads an Arabic line as nothing or as a few Latin or
    symbol characters, never as Han, so a Han reading, even a poor one, is a Chinese line."""
    text = line.text
    han = len(SCRIPTS["Hani"].findall(text))
    letters = sum(ch.isalpha() for ch in text)
    return bool(letters) and han / letters >= MIN_HAN_SHARE


def _worth_keeping(words: list[Word]) -> bool:
    """A line with a letter, or with marks read confidently (digits, punctuation)."""
    if any(ch.isalpha() for w in words for ch in w.text):
        return True
    confidences = [w.confidence for w in words if w.confidence is not None]
    return bool(confidences) and sum(confidences) / len(confidences) >= 0.6


def _straight_crop(picture, row: list[Line]):
    """The row's text cut out along the detector's (rotated) quadrilaterals and straightened,
    with a white margin, and the matrix mapping crop pixels back to page pixels. On a skewed
    page an upright box would cut through the neighbouring lines."""
    import cv2

    points = np.array([pt for ln in row for pt in (ln.polygon or (
        (ln.box[0], ln.box[1]), (ln.box[2], ln.box[1]), (ln.box[2], ln.box[3]),
        (ln.box[0], ln.box[3])))], dtype=np.float32)
    (cx, cy), (w, h), angle = cv2.minAreaRect(points)
    if w < h:  # a horizontal line: make the long side the width
        w, h, angle = h, w, angle - 90
    angle = (angle + 90) % 180 - 90
    if abs(angle) < MIN_SKEW_DEGREES:
        # Level: an upright crop, no resampling (interpolation alone cost a clean bilingual
        # page 1.4 points of CER: tesseract read stray dots into Arabic commas).
        x0, y0 = (max(0, int(v) - CROP_MARGIN) for v in points.min(axis=0))
        x1 = min(picture.shape[1], int(points[:, 0].max()) + CROP_MARGIN)
        y1 = min(picture.shape[0], int(points[:, 1].max()) + CROP_MARGIN)
        shift = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], dtype=np.float64)
        return np.ascontiguousarray(picture[y0:y1, x0:x1]), shift
    width, height = int(round(w)) + 2 * CROP_MARGIN, int(round(h)) + 2 * CROP_MARGIN
    corners = cv2.boxPoints(((cx, cy), (width, height), angle)).astype(np.float32)
    # Order: top-left, top-right, bottom-right, bottom-left.
    corners = corners[np.argsort(corners[:, 1])]
    top, bottom = corners[:2][np.argsort(corners[:2, 0])], corners[2:][np.argsort(corners[2:, 0])]
    source = np.array([top[0], top[1], bottom[1], bottom[0]], dtype=np.float32)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    crop = cv2.warpPerspective(picture, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    return crop, np.linalg.inv(matrix)


def _map_box(inverse, box) -> tuple[int, int, int, int]:
    """A box of the straightened crop as the upright box of its image on the page."""
    import cv2

    corners = np.array([[[box[0], box[1]], [box[2], box[1]], [box[2], box[3]],
                         [box[0], box[3]]]], dtype=np.float32)
    page = cv2.perspectiveTransform(corners, inverse)[0]
    return (max(0, int(page[:, 0].min())), max(0, int(page[:, 1].min())),
            int(round(page[:, 0].max())), int(round(page[:, 1].max())))


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
    chinese, other, seen = [], [], list(result.lines)
    for line in result.lines:
        if not _is_chinese(line):
            other.append(line)
        elif (line.score or 0) >= ppocr.MIN_LINE_SCORE:  # else noise, as on Chinese pages
            chinese.append(line)
    # Lines the recogniser read as nothing (Arabic, to a Chinese model) are only in the
    # detector's boxes: every box no recognised line covers is another script's.
    for box, polygon in ppocr.detect(image, image.name):
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if not any(ln.box[0] <= cx <= ln.box[2] and ln.box[1] <= cy <= ln.box[3]
                   for ln in seen):
            other.append(Line([], box, polygon=polygon))
    lines: list[Line] = [ln for ln in chinese]
    rows = _merge_rows(other)
    if rows:
        with Image.open(image) as im:
            picture = np.asarray(im.convert("L"))
        crops, inverses = [], []
        for n, row in enumerate(rows):
            crop, inverse = _straight_crop(picture, row)
            path = work / f"line{n:04d}.png"
            Image.fromarray(crop).save(path, dpi=(300, 300))
            crops.append(path)
            inverses.append(inverse)
        for row, inverse, read in zip(rows, inverses, p.tesseract.recognize_lines(crops, work)):
            words = [Word(w.text, _map_box(inverse, w.box), w.confidence, w.space_after)
                     for w in read.words]
            if not words or not _worth_keeping(words):
                continue
            direction = "rtl" if any(ln.direction == "rtl" for ln in read.lines) else "ltr"
            box = (min(ln.box[0] for ln in row), min(ln.box[1] for ln in row),
                   max(ln.box[2] for ln in row), max(ln.box[3] for ln in row))
            lines.append(Line(words, box, direction, "tesseract",
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
