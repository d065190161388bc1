"""What the portals get of an item's package history: `history.xml` and item.json `history`.

Everything done to an item after its METS was written is a PREMIS event record in preservation
storage: the bagging (the bag's `premis-events.xml`), the deposit and the replica
(preservation.deposit), rights changes (publication.rights), fixity audits (preservation.audit)
and reviews (cadl.review), beside each version (preservation.history). A later re-ingest reads
them there. The portals cannot read preservation storage, so a published item carries one PREMIS
document merging all of them, `items/<id>/history.xml` (validated against the PREMIS 3.0 XSD
before it is published), and a plain summary in item.json: per event its version, type, date,
outcome, detail and agents (name, type, role). Its URL does not change as events are added, so
the IIIF manifest's `seeAlso` and OAI-PMH's `dc:relation` name it once; `refresh_history`
brings a published item's copy up to date after an audit without republishing the item.
"""

from __future__ import annotations

import hashlib
import json
import logging

from metadata.events import merge_event_records, read_event_record
from preservation.history import EVENTS
from preservation.storage import Storage
from preservation.versions import list_versions, read_marker_at

log = logging.getLogger(__name__)

HISTORY = "history.xml"


def _records(preservation: Storage, item_id: str) -> list[bytes]:
    """Every event record of the item's complete versions, oldest version first: the bag's own
    premis-events.xml, then the records beside it in key (time) order."""
    records = []
    for version in list_versions(preservation, item_id):
        if not version.complete:
            continue
        marker = read_marker_at(preservation, version.prefix)
        bagging = f"{version.prefix}{marker['bag']}/premis-events.xml"
        keys = ([bagging] if preservation.head(bagging) is not None else []) + sorted(
            k for k in preservation.list(version.prefix + EVENTS) if k.endswith(".xml"))
        for key in keys:
            try:
                data = preservation.get_bytes(key)
                read_event_record(data)
            except (ValueError, FileNotFoundError) as exc:  # the fixity audit reports damage
                log.error("history of %s: skipped %s: %s", item_id, preservation.uri(key), exc)
                continue
            records.append(data)
    return records


def build_history(preservation: Storage, item_id: str) -> tuple[bytes, list[dict]] | None:
    """(history.xml, item.json summary) of `item_id`, or None when it has no event record.

    Raises MetadataInvalid if the merged document does not validate against PREMIS 3.0.
    """
    from metadata.validate import assert_valid

    records = _records(preservation, item_id)
    if not records:
        return None
    document = merge_event_records(records)
    assert_valid(document, "premis", f"package history of {item_id}")
    summary = []
    for event in read_event_record(document):
        package = event["object"] or ""
        summary.append({
            "version": int(package.rsplit("/v", 1)[1]) if "/v" in package else None,
            "type": event["type"], "date": event["date"], "outcome": event["outcome"],
            "detail": event["detail"],
            "agents": [{"name": a["name"], "type": a["type"], "role": a["role"]}
                       for a in event["agents"]]})
    summary.sort(key=lambda e: (e["date"] or "", e["type"] or ""))
    return document, summary


def refresh_history(access: Storage, preservation: Storage, item_id: str) -> bool:
    """Bring a published item's history.xml and item.json `history` up to date with
    preservation storage; True if anything changed. Does nothing for an unpublished item."""
    key = f"items/{item_id}/item.json"
    if access.head(key) is None:
        return False
    entry = json.loads(access.get_bytes(key).decode("utf-8"))
    built = build_history(preservation, item_id)
    if built is None or entry.get("history") == built[1]:
        return False
    document, summary = built
    access.put_bytes(f"items/{item_id}/{HISTORY}", document)
    files = [f for f in entry.get("files", []) if f["key"] != HISTORY]
    files.append({"key": HISTORY, "size": len(document),
                  "sha512": hashlib.sha512(document).hexdigest()})
    entry.update(history=summary, files=sorted(files, key=lambda f: f["key"]))
    access.put_bytes(key, (json.dumps(entry, ensure_ascii=False, indent=2, sort_keys=True)
                           + "\n").encode("utf-8"))
    log.info("history of %s refreshed: %d events", item_id, len(summary))
    return True
