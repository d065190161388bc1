"""Serials and multi-volume works in a batch: which rows are titles or volumes, and their order.

A row names the title or volume it belongs to in `parent`. A row that another row names is a
container (title or volume level): it has no pages of its own, so it needs no item folder. The
hierarchy is at most three levels deep (title → volume → issue), as the DFG structure types the
portals browse by (`periodical` → `volume` → `issue`; `multivolume_work` → `volume`).

A parent that is not in the batch must have been ingested by an earlier batch; that is checked
when the batch is planned (`cadl.pipeline`), since only then is preservation storage at hand.
"""

from __future__ import annotations

import re

from ingest.manifest import MANIFEST
from ingest.models import Ancestor, Item, ValidationReport

MAX_DEPTH = 2  # ancestors of the deepest item: a title and a volume


def order_key(item) -> tuple:
    """Siblings' order: `sequence`, else volume, issue and part numbers, then the id.

    Numbers are compared as numbers ("2" before "10"); works on Items and on plain dicts with
    the same keys (children read back from a container's METS)."""
    get = item.get if isinstance(item, dict) else lambda k: getattr(item, k)

    def number(text):
        if not text:
            return (1, 0, "")
        match = re.match(r"\d+", str(text))
        return (0, int(match.group()) if match else 0, str(text))

    seq = get("sequence")
    return (seq if seq is not None else 10**9, number(get("volume")), number(get("issue")),
            number(get("part")), get("item_id"))


def _has_issue_below(item_id: str, children: dict[str, list[Item]]) -> bool:
    return any(child.issue or _has_issue_below(child.item_id, children)
               for child in children.get(item_id, []))


def check_hierarchy(items: list[Item], report: ValidationReport) -> None:
    """Mark containers, type them, give every item its ancestors found in the batch, and report
    cycles, too deep a hierarchy and containers with pages."""
    by_id = {item.item_id: item for item in items}
    children: dict[str, list[Item]] = {}
    for item in items:
        if item.parent:
            children.setdefault(item.parent, []).append(item)
    for item in items:
        if item.item_id in children:
            item.is_container = True
    for item in items:
        if item.is_container:
            item.container_type = ("volume" if item.parent else "periodical"
                                   if _has_issue_below(item.item_id, children)
                                   else "multivolume_work")
    for item in items:
        chain, seen, current = [], {item.item_id}, item
        while current.parent:
            if current.parent in seen:
                report.add("error", MANIFEST, f"parent {item.parent!r} leads back to "
                           f"{item.item_id!r}: the parents of a row may not form a loop",
                           row=item.row, item_id=item.item_id)
                chain = []
                break
            seen.add(current.parent)
            parent = by_id.get(current.parent)
            if parent is None:
                if current is item:
                    report.add("notice", MANIFEST, f"parent {item.parent!r} is not in this "
                               "batch: it must have been ingested in an earlier batch",
                               row=item.row, item_id=item.item_id)
                break
            chain.insert(0, parent)
            current = parent
        if len(chain) > MAX_DEPTH:
            report.add("error", MANIFEST, f"{item.item_id!r} is {len(chain) + 1} levels deep "
                       "(parent of parent of …): at most title → volume → issue",
                       row=item.row, item_id=item.item_id)
            continue
        item.ancestors = [Ancestor(item_id=p.item_id, type=p.structure_type, title=p.title,
                                   volume=p.volume, issue=p.issue, part=p.part,
                                   sequence=p.sequence) for p in chain]


def refresh_ancestor_titles(items: list[Item]) -> None:
    """Copy the containers' titles into their descendants' ancestors again, once catalogue
    records have filled titles that the manifest left empty."""
    by_id = {item.item_id: item for item in items}
    for item in items:
        for ancestor in item.ancestors:
            if ancestor.item_id in by_id and by_id[ancestor.item_id].title:
                ancestor.title = by_id[ancestor.item_id].title
