"""Typed results of the OCR stage: what `ocr_item` wrote for an item and with which engine.

Paths are relative to the item's OCR folder, so the record stays valid wherever the folder is
copied (into a bag, onto storage).
"""

from pydantic import BaseModel, Field


class ModelUsed(BaseModel):
    name: str  # tesseract model name: "ara", "chi_sim", …
    sha512: str  # digest of the .traineddata file, so a result can be traced to exact weights


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


class ItemOcr(BaseModel):
    item_id: str
    engine: str = "tesseract"
    engine_version: str
    models: list[ModelUsed]
    page_segmentation: int  # tesseract --psm used for every page of the item
    pages: list[PageOcr] = Field(default_factory=list)
    pdf: str  # "<item_id>.pdf": the item's searchable PDF
    preprocess: list[str] = Field(default_factory=list)  # ocr.preprocess steps that were enabled
    min_confidence: float | None = None  # the thresholds the pages were judged by
    max_low_confidence_share: float | None = None

    @property
    def held_pages(self) -> list[int]:
        """Sequence numbers of the pages held for review."""
        return [page.seq for page in self.pages if page.review]
