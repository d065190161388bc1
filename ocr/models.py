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


class ItemOcr(BaseModel):
    item_id: str
    engine: str = "tesseract"
    engine_version: str
    models: list[ModelUsed]
    page_segmentation: int  # tesseract --psm used for every page of the item
    pages: list[PageOcr] = Field(default_factory=list)
    pdf: str  # "<item_id>.pdf": the item's searchable PDF
