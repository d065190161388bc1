"""Work units: how a batch's items are grouped into the mapped tasks of `ingest_batch`.

A unit is the grain of parallelism on the scheduler: each unit's stages (OCR → describe →
package → deposit → publish) run as one mapped task group, so the later stages of one unit
overlap with the OCR of the next. Kept apart from `cadl.pipeline`, which plans and runs.
"""

from ingest.models import Batch


MIN_UNITS = 6


def unit_size(batch: Batch, units: list[dict], unit_pages: int) -> int:
    """Pages per work unit for this batch: `unit_pages`, or fewer so that a batch makes at least
    about MIN_UNITS units (never under 4 pages). The stages after OCR of one unit run while the
    next units are read, so a batch of one or two units would leave them all to the end; more
    units than that only add Airflow's cost per task (a process start and imports each)."""
    pages = {item.item_id: len(item.pages) for item in batch.items}
    total = sum(pages[u["item_id"]] for u in units if u["action"] == "process")
    return max(1, min(unit_pages, max(4, -(-total // MIN_UNITS))))


def work_units(batch: Batch, units: list[dict], unit_pages: int) -> list[dict]:
    """Group the items into work units of about `unit_pages` pages, in manifest order.

    An item is never split (its PDF, METS and bag are made whole); an item larger than
    `unit_pages` is a unit of its own. Items that need no work (quarantined) ride along with
    the others, so they cost no task of their own.
    """
    pages = {item.item_id: len(item.pages) for item in batch.items}
    groups: list[dict] = []
    current: list[dict] = []
    size = 0
    for unit in units:
        weight = pages[unit["item_id"]] if unit["action"] == "process" else 0
        if current and weight and size + weight > max(unit_pages, 1):
            groups.append({"batch_id": batch.batch_id, "items": current})
            current, size = [], 0
        current.append(unit)
        size += weight
    if current:
        groups.append({"batch_id": batch.batch_id, "items": current})
    return groups
