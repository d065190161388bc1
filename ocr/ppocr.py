"""The PP-OCR engine: PaddleOCR's PP-OCRv6 small models run by `rapidocr` on onnxruntime.

Why: on Chinese it reads far better than tesseract (BENCHMARKS.md, "OCR"): degraded
Simplified and Traditional pages that tesseract gets 14–40 % wrong come out under 1 %.

How it is run, and why:
- The models are the ones inside the `rapidocr` wheel (`rapidocr/models/`), passed by path, so
  rapidocr never looks for them elsewhere and never downloads anything at run time; a wheel
  without them is a clear ToolMissing, not a download.
- onnxruntime single-threaded (intra- and inter-op one thread): like tesseract's
  OMP_THREAD_LIMIT=1, the pipeline gets its parallelism from pages, not from threads inside a
  page.
- One instance per process (`_instance`, built on first use, then reused for every page of
  every item the process OCRs): the models take about 0.8 GB. The OCR stage's page threads share
  it — onnxruntime sessions may be run from several threads at once and release the GIL while
  they compute, so `CADL_OCR_WORKERS` threads use that many cores with one copy of the weights.
- Detection at 960 px on the longer side (`limit_type=max`): rapidocr's default (736 px on the
  shorter side) dropped lines on book pages. The angle classifier is off: scanned pages are
  upright, and it only costs time.
- Lines come back top to bottom, left to right; on a vertical page they are columns, ordered
  here right to left, as they are read.
"""

import importlib.metadata
import logging
import threading
from functools import lru_cache
from pathlib import Path

from PIL import Image

from kernel.errors import ToolFailed, ToolMissing
from ocr.engines import model_used
from ocr.models import ModelUsed
from ocr.result import Block, Line, PageResult, Word, line_direction, normalize_words

log = logging.getLogger(__name__)

NAME = "ppocr"
DET_MODEL = "PP-OCRv6_det_small"
REC_MODEL = "PP-OCRv6_rec_small"
DET_LIMIT_SIDE = 960
# A line whose recognition score is under this is dropped (rapidocr's own default); the
# bilingual router asks for every line and decides itself (`min_score=0`).
MIN_LINE_SCORE = 0.5
_lock = threading.Lock()


def _package_dir() -> Path:
    try:
        import rapidocr
    except ImportError as exc:
        raise ToolMissing("the PP-OCR engine needs the Python package rapidocr "
                          "(pip install 'rapidocr==3.10.*' onnxruntime), which ships its "
                          f"models: {exc}") from exc
    return Path(rapidocr.__file__).parent


def model_files() -> dict[str, Path]:
    """The detection and recognition model files inside the rapidocr package.

    Raises ToolMissing when the package or a model file is not there.
    """
    folder = _package_dir() / "models"
    files = {name: folder / f"{name}.onnx" for name in (DET_MODEL, REC_MODEL)}
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        raise ToolMissing(f"PP-OCR model(s) {', '.join(missing)} are not in {folder}: "
                          "reinstall rapidocr 3.10 from PyPI, whose wheel ships them")
    return files


@lru_cache
def version() -> str:
    """"rapidocr 3.10.0, onnxruntime 1.23.2": the engine's version for provenance records."""
    _package_dir()
    return (f"rapidocr {importlib.metadata.version('rapidocr')}, "
            f"onnxruntime {importlib.metadata.version('onnxruntime')}")


def models() -> list[ModelUsed]:
    return [model_used(name, path, NAME) for name, path in model_files().items()]


@lru_cache(maxsize=1)
def _instance():
    """The process's one RapidOCR instance (models loaded on first use, then kept)."""
    from rapidocr import RapidOCR

    files = model_files()
    params = {
        "Global.use_cls": False,
        "Global.text_score": 0.0,  # filtered here, per caller
        "Global.return_word_box": True,
        "Global.log_level": "warning",
        "Global.model_root_dir": str(files[DET_MODEL].parent),
        "Det.model_path": str(files[DET_MODEL]),
        "Det.limit_type": "max",
        "Det.limit_side_len": DET_LIMIT_SIDE,
        "Rec.model_path": str(files[REC_MODEL]),
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    log.info("loading PP-OCR models %s, %s", files[DET_MODEL].name, files[REC_MODEL].name)
    engine = RapidOCR(params=params)
    # Load both models now, under one lock, rather than lazily inside concurrent page threads.
    engine._load_det_model()
    engine._load_rec_model()
    return engine


def instance():
    with _lock:
        return _instance()


def _box(points) -> tuple[int, int, int, int]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return (max(0, int(min(xs))), max(0, int(min(ys))), int(round(max(xs))),
            int(round(max(ys))))


def _words(text: str, tokens, line_box, score: float) -> list[Word]:
    """Words of one line from rapidocr's word results (one per CJK character, one per Latin
    word), each knowing whether the line's text has a space after it."""
    words, pos = [], 0
    for token in tokens or ():
        if len(token) != 3 or token[2] is None:
            continue
        piece, conf, points = token
        piece = str(piece)
        found = text.find(piece, pos)
        if not piece.strip() or found < 0:
            continue
        end = found + len(piece)
        words.append(Word(piece, _box(points), float(conf),
                          space_after=end < len(text) and text[end] == " "))
        pos = end
    if "".join(w.text for w in words).replace(" ", "") != text.replace(" ", ""):
        # The word boxes do not spell the line (rare): keep the line whole, with its box.
        return [Word(text, line_box, score, False)]
    return words


def _open(image: Path | Image.Image, label: str) -> Image.Image:
    try:
        if isinstance(image, Image.Image):
            return image.convert("RGB")
        with Image.open(image) as im:
            return im.convert("RGB")
    except OSError as exc:
        raise ToolFailed(f"cannot read page image {label} for OCR: {exc}") from exc


def _polygon(points) -> tuple[tuple[float, float], ...]:
    return tuple((float(p[0]), float(p[1])) for p in points)


def detect(image: Path | Image.Image, name: str | None = None
           ) -> list[tuple[tuple[int, int, int, int], tuple[tuple[float, float], ...]]]:
    """Boxes of every text line PP-OCR's detector finds, whatever the script (the recogniser
    reads Arabic lines as nothing, and rapidocr then drops them: the bilingual router needs
    them), as (box, quadrilateral). Raises ToolFailed naming the image."""
    import numpy as np

    label = name or (Path(image).name if not isinstance(image, Image.Image) else "page")
    picture = _open(image, label)
    detector = instance().text_det
    try:
        found = detector(np.ascontiguousarray(np.asarray(picture)[:, :, ::-1]))
    except Exception as exc:  # onnxruntime and rapidocr raise their own errors
        raise ToolFailed(f"PP-OCR detection failed on {label}: {type(exc).__name__}: "
                         f"{exc}") from exc
    return [(_box(points), _polygon(points))
            for points in (found.boxes if found.boxes is not None else [])]


def recognize(image: Path | Image.Image, *, vertical: bool = False,
              min_score: float = MIN_LINE_SCORE, name: str | None = None) -> PageResult:
    """Read a page image (a file or an image already open) into a `PageResult`.

    Lines scoring under `min_score` are dropped. Raises ToolMissing when rapidocr or its models
    are missing, ToolFailed naming the image when it cannot be read or recognition fails.
    """
    label = name or (Path(image).name if not isinstance(image, Image.Image) else "page")
    picture = _open(image, label)
    engine = instance()
    try:
        out = engine(picture)
    except Exception as exc:  # rapidocr and onnxruntime raise their own errors
        raise ToolFailed(f"PP-OCR failed on {label}: {type(exc).__name__}: {exc}") from exc
    result = PageResult(image=label, width=picture.width, height=picture.height,
                        vertical=vertical)
    if out is None or getattr(out, "txts", None) is None or out.boxes is None:
        return result
    word_results = list(out.word_results or ())
    lines = []
    for i, (points, text, score) in enumerate(zip(out.boxes, out.txts, out.scores)):
        text = str(text).strip()
        if not text or float(score) < min_score:
            continue
        box = _box(points)
        tokens = word_results[i] if i < len(word_results) else ()
        words = normalize_words(_words(text, tokens, box, float(score)))
        if not words:
            continue
        plain = " ".join(w.text for w in words)
        lines.append(Line(words, box, line_direction(plain, vertical), NAME, REC_MODEL,
                          score=float(score), polygon=_polygon(points)))
    result.blocks = _blocks(lines, vertical)
    return result


def _blocks(lines: list[Line], vertical: bool) -> list[Block]:
    """Lines in reading order, grouped into blocks where the gap between two lines is much
    larger than a line: top to bottom for horizontal pages, columns right to left for
    vertical ones."""
    if not lines:
        return []
    if vertical:
        lines = sorted(lines, key=lambda ln: (-(ln.box[0] + ln.box[2]) / 2, ln.box[1]))
        return [Block(lines)]
    heights = sorted(ln.box[3] - ln.box[1] for ln in lines)
    typical = max(1, heights[len(heights) // 2])
    blocks = [Block([lines[0]])]
    for prev, line in zip(lines, lines[1:]):
        if line.box[1] - prev.box[3] > 1.5 * typical:
            blocks.append(Block([]))
        blocks[-1].lines.append(line)
    return blocks

