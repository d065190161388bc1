"""Whole-pipeline benchmark: ingest_batch against the OCR floor of the same pages."""
