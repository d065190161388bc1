"""What each ingest_batch task does and what to do when it fails, shown as the task's doc_md in
Airflow's UI. Kept here, not in the DAG file, so wording changes never touch the wiring; mapped
tasks (one per item) get no docstring from Airflow, so every task is given its text explicitly.
"""

import datetime as dt


def review_deadline() -> dt.timedelta:
    """How long a review task waits for a person (CADL_REVIEW_DEADLINE_HOURS)."""
    from kernel.settings import get_settings

    return dt.timedelta(hours=get_settings().review_deadline_hours)


TASK_DOCS = {
    "validate": """\
**Validate the batch** against the landing-zone contract (`docs/batch-format.md`) and plan one
unit of work per item (grouped into work units of about `CADL_UNIT_PAGES` pages). Invalid items are set aside with every problem named; the others go on.
*If it fails*: the batch has no `READY` marker, is still being copied, or has no readable
`manifest.csv` — the batch report (`report.html`) lists every problem.""",
    "units": "The work units of the plan (items grouped to about `CADL_UNIT_PAGES` pages): "
             "the list the per-unit tasks are mapped over.",
    "ocr": """\
**OCR one work unit**: tesseract on every page of its items (ALTO, hOCR, text) and a
searchable PDF per item, in the `ocr` pool (one slot per worker core).
*If an item fails*: a missing model or a page tesseract cannot read — that item is reported,
the others go on; timeouts are retried.""",
    "describe": """\
**Describe each item of the unit**: METS with MODS and PREMIS, validated offline against the official XSDs.
*If it fails*: a manifest value the schemas refuse; the log names the element.""",
    "package": """\
**Package each item of the unit** as a BagIt 1.0 bag (sha512), validated before it leaves.""",
    "deposit": """\
**Deposit each item of the unit** in preservation storage and verify every object read back.
*If it fails*: storage down or a checksum mismatch — retried with backoff; the batch stays in
the landing zone until its packages are verified.""",
    "publish": """\
**Publish each item of the unit**: its access package from its verified preserved copy, if its rights allow
(restricted and embargoed items stay preserved only).""",
    "serials": """\
**Titles and volumes** of serials and multi-volume works touched by the batch: their METS (the
logical structure down to the issues), a new version of the title's package when an issue was
added, and their IIIF Collections (docs/batch-format.md).""",
    "catalogue": "**Rebuild the portals' catalogue** from every published item.",
    "report": """\
**Write the batch report** — `report.html` for archivists (page images beside their OCR text,
flags, quarantine reasons), `report.json` and `report.txt` — whatever happened to each item.
The task log ends with the report's location. It fails (after writing the report) when an item
failed.""",
    "held": """\
**List the items held for review** (the OCR quality check flagged a page) and tell the
reviewers (config/alerts.json `reviewers`: e-mail, and chat through Apprise).""",
    "ask": "The question put to the archivist for one held item (subject and body).",
    "decide": """\
**An archivist decides about one held item** (Browse → Required actions): why it was held is
above, with a link to its section of the batch report. Choose *publish* (as is), *reocr*
(another engine or preprocessing: a new version, checked again) or *return* (to the scanner
station, the comment is the reason the technician reads). Name and comment are required.
*If it fails*: nobody decided within `CADL_REVIEW_DEADLINE_HOURS`; an alert was raised and the
item stays held, unpublished — decide with `cadl review decide`.""",
    "apply": "Carry out the archivist's decision through `cadl.review.decide` (the same "
             "function as `cadl review decide`); its PREMIS event is recorded beside the item.",
    "outcome": """\
**Decide the run's state** (this is the last task, and Airflow takes a run's state from its last
tasks): failed when `validate` did not succeed or any item failed; success when every item was
published, preserved, held or quarantined (quarantine is a correct outcome, in the report).
*If it fails*: read the batch report (`report.html`); the failed task's log says more.""",
}
