"""Typed results of the OCR stage: what `ocr_item` wrote for an item and with which engine.

Paths are relative to the item's OCR folder, so the record stays valid wherever the folder is
copied (into a bag, onto storage).
"""

from pydantic import BaseModel, Field


class ModelUsed(BaseModel):
    name: str  # model name: "ara", "chi_sim" (tesseract), "PP-OCRv6_rec_small" (PP-OCR), …
    sha512: str  # digest of the model file, so a result can be traced to exact weights
    sha256: str | None = None  # the same file's sha256 (what model hubs and wheels publish)
    engine: str = "tesseract"  # the engine that loads it


class EngineUsed(BaseModel):
    """One engine that read (some lines of) the item's pages, with its models."""
    name: str  # "tesseract" | "ppocr"
    version: str  # "5.3.0"; "rapidocr 3.10.0, onnxruntime 1.23.2"
    models: list[ModelUsed] = Field(default_factory=list)


class PageOcr(BaseModel):
    seq: int
    stem: str  # "p0001": the prefix of the page's files
    text: str  # "p0001.txt"
    alto: str  # "p0001.alto.xml"
    hocr: str  # "p0001.hocr"
    mean_confidence: float | None  # mean word confidence 0–100; None for a page with no words
    word_count: int
    # Quality without ground truth (ocr.quality): share of words under 50% confidence, letters
    # per script, whether they match the item's languages (None: too few to tell), the flags
    # raised, and whether the page is held for review because of them.
    low_confidence_share: float | None = None
    scripts: dict[str, int] = Field(default_factory=dict)
    script_match: bool | None = None
    flags: list[str] = Field(default_factory=list)
    review: bool = False
    # The page's search variant file (ocr.search), "p0001.search.txt"; None when none applies.
    search: str | None = None
    # Size of the OCR copy relative to the master (ocr.preprocess): ALTO and hOCR coordinates
    # are in the OCR copy's pixels; divide by this to get the master's.
    ocr_scale: float = 1.0
    # Lines read per engine on this page ({"ppocr": 20, "tesseract": 6}): the provenance of a
    # bilingual page, where each line goes to the engine for its script.
    lines_by_engine: dict[str, int] = Field(default_factory=dict)


class ItemOcr(BaseModel):
    item_id: str
    engine: str = "tesseract"  # the engines, "+"-joined: "tesseract", "ppocr", "ppocr+tesseract"
    engine_version: str  # the engines' versions, as `engine`: "rapidocr 3.10.0, …+5.3.0"
    models: list[ModelUsed]  # every model of every engine used
    page_segmentation: int | None = None  # tesseract --psm of its whole pages (None: no tesseract)
    engines: list[EngineUsed] = Field(default_factory=list)
    pages: list[PageOcr] = Field(default_factory=list)
    pdf: str  # "<item_id>.pdf": the item's searchable PDF
    preprocess: list[str] = Field(default_factory=list)  # ocr.preprocess steps that were enabled
    min_confidence: float | None = None  # the thresholds the pages were judged by
    max_low_confidence_share: float | None = None
    # What ocr.pdfa.check_pdfa found wrong with the PDF's PDF/A-2b claim (None: not checked,
    # records written before the check existed); [] is no rule it checks broken, not a verdict.
    pdfa_problems: list[str] | None = None
    pdfa_checker: str | None = None  # "pikepdf <version> (qpdf <version>)"

    @property
    def held_pages(self) -> list[int]:
        """Sequence numbers of the pages held for review."""
        return [page.seq for page in self.pages if page.review]
