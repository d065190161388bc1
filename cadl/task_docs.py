"""What each ingest_batch task does and what to do when it fails, shown as the task's doc_md in
Airflow's UI. Kept here, not in the DAG file, so wording changes never touch the wiring; mapped
tasks (one per item) get no docstring from Airflow, so every task is given its text explicitly.
"""

TASK_DOCS = {
    "validate": """\
**Validate the batch** against the landing-zone contract (`docs/batch-format.md`) and plan one
unit of work per item. Invalid items are set aside with every problem named; the others go on.
*If it fails*: the batch has no `READY` marker, is still being copied, or has no readable
`manifest.csv` — the batch report (`report.html`) lists every problem.""",
    "units": "One unit per item of the plan: the list the per-item tasks are mapped over.",
    "ocr": """\
**OCR one item**: tesseract on every page (ALTO, hOCR, text) and a searchable PDF.
*If it fails*: a missing model or a page tesseract cannot read; timeouts are retried.""",
    "describe": """\
**Describe one item**: METS with MODS and PREMIS, validated offline against the official XSDs.
*If it fails*: a manifest value the schemas refuse; the log names the element.""",
    "package": """\
**Package one item** as a BagIt 1.0 bag (sha512), validated before it leaves.""",
    "deposit": """\
**Deposit one item** in preservation storage and verify every object read back.
*If it fails*: storage down or a checksum mismatch — retried with backoff; the batch stays in
the landing zone until its packages are verified.""",
    "publish": """\
**Publish one item**'s access package from its verified preserved copy, if its rights allow
(restricted and embargoed items stay preserved only).""",
    "catalogue": "**Rebuild the portals' catalogue** from every published item.",
    "report": """\
**Write the batch report** — `report.html` for archivists (page images beside their OCR text,
flags, quarantine reasons), `report.json` and `report.txt` — whatever happened to each item.
The task log ends with the report's location.""",
}
