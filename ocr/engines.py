"""The OCR engine interface and the tesseract engine.

An engine reads one page image and returns one `ocr.result.PageResult`; it also says what it
is (`name`, `version()`) and which model files it used (`models()`, with digests), for the
item's OCR record, the processing profile (fingerprint) and the PREMIS agents. Two engines
exist: tesseract (here, around the `ocr.tesseract` wrapper) and PP-OCR (`ocr.ppocr`).
`ocr.routing` decides which engine reads which page, or which line.
"""

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from ocr import tesseract
from ocr.hocr import parse_hocr, parse_hocr_pages
from ocr.models import ModelUsed
from ocr.result import PageResult


class Engine(Protocol):
    name: str

    def version(self) -> str: ...

    def models(self) -> list[ModelUsed]: ...

    def recognize(self, image: Path, work: Path) -> PageResult: ...


@lru_cache(maxsize=64)
def file_digests(path: Path, mtime_ns: int, size: int) -> tuple[str, str]:
    """(sha256, sha512) of a model file; cached per path, modification time and size."""
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha256.update(chunk)
            sha512.update(chunk)
    return sha256.hexdigest(), sha512.hexdigest()


def model_used(name: str, path: Path, engine: str) -> ModelUsed:
    stat = Path(path).stat()
    sha256, sha512 = file_digests(Path(path), stat.st_mtime_ns, stat.st_size)
    return ModelUsed(name=name, sha512=sha512, sha256=sha256, engine=engine)


@dataclass(frozen=True)
class TesseractEngine:
    """tesseract with a list of models (`-l a+b`), one process per page or per line batch."""
    model_names: tuple[str, ...]
    tessdata_dir: Path | None = None
    timeout: float = 600
    psm: int | None = None
    config: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    name: str = "tesseract"

    @property
    def vertical(self) -> bool:
        psm = self.psm if self.psm is not None else tesseract.page_segmentation(
            list(self.model_names))
        return psm == tesseract.PSM_VERTICAL

    def version(self) -> str:
        return tesseract.version()

    def models(self) -> list[ModelUsed]:
        return [model_used(m, tesseract.model_file(m, self.tessdata_dir), self.name)
                for m in self.model_names]

    def _run(self, image: Path, out_base: Path, psm: int | None) -> bytes:
        raw = tesseract.recognize(image, out_base, list(self.model_names),
                                  tessdata_dir=self.tessdata_dir, timeout=self.timeout,
                                  psm=psm, outputs=("hocr",), config=dict(self.config))
        return raw["hocr"].read_bytes()

    def recognize(self, image: Path, work: Path) -> PageResult:
        """Read a page. Raises ToolMissing, ToolFailed, ToolTimeout (see `ocr.tesseract`)."""
        work.mkdir(parents=True, exist_ok=True)
        data = self._run(image, work / f"{Path(image).stem}.tess", self.psm)
        result = parse_hocr(data, f"{Path(image).name} (tesseract hOCR)",
                            vertical=self.vertical, engine=self.name,
                            model="+".join(self.model_names))
        result.image = Path(image).name
        return result

    def recognize_lines(self, crops: list[Path], work: Path) -> list[PageResult]:
        """Read single-line images in one tesseract run (a list file, one page per line,
        page segmentation 7: "a single text line"); one result per crop, in order."""
        work.mkdir(parents=True, exist_ok=True)
        listing = work / "lines.txt"
        listing.write_text("".join(f"{c.resolve()}\n" for c in crops), encoding="utf-8")
        data = self._run(listing, work / "lines.tess", 7)
        pages = parse_hocr_pages(data, "line batch (tesseract hOCR)", vertical=False,
                                 engine=self.name, model="+".join(self.model_names))
        if len(pages) != len(crops):
            from kernel.errors import ToolFailed
            raise ToolFailed(f"tesseract read {len(pages)} of {len(crops)} line images")
        return pages
