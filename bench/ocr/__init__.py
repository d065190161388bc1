"""OCR benchmark: plain tesseract, OCRmyPDF and this pipeline's OCR stage on the same pages."""
