"""An item's package history after deposit: PREMIS event records beside each version.

A complete version is never rewritten (and may be object-locked), so whatever happens to it
later (fixity audits, repairs, an archivist's review) is a new object beside it:
`items/<id>/vNNNN/events/<UTC stamp>-<kind>-<uuid>.xml` (audits, which came first, write
`<stamp>-<uuid>.xml`). This module writes such records (validated against the PREMIS 3.0 XSD
first) and reads every record of an item back, oldest first, so publication, the review queue
and the collection view all read one history.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable

from kernel.errors import MetadataInvalid
from metadata.events import read_event_record
from preservation.versions import list_versions, version_prefix
from preservation.storage import Storage

log = logging.getLogger(__name__)

EVENTS = "events/"
_KIND = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def write_record(storage: Storage, item_id: str, version: int, body: bytes, kind: str,
                 now: dt.datetime, id_factory: Callable[[], uuid.UUID] = uuid.uuid4) -> str:
    """Store a PREMIS document about version `version` of `item_id` beside it; return its key.

    Raises MetadataInvalid when the document does not validate against the PREMIS 3.0 XSD and
    ValueError for a `kind` that is not a short lowercase word, or a version that is not
    complete (events are never written into an interrupted deposit).
    """
    from metadata.validate import validate

    if not _KIND.match(kind):
        raise ValueError(f"event record kind {kind!r}: use a short lowercase word")
    complete = {v.number for v in list_versions(storage, item_id) if v.complete}
    if version not in complete:
        raise ValueError(f"{item_id} has no complete version {version} in {storage.url}")
    errors = validate(body, "premis")
    if errors:
        raise MetadataInvalid(f"PREMIS {kind} record for {item_id} v{version:04d} is invalid: "
                              + "; ".join(errors))
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    key = f"{version_prefix(item_id, version)}{EVENTS}{stamp}-{kind}-{id_factory()}.xml"
    storage.put_bytes(key, body)
    log.info("recorded %s event record %s", kind, storage.uri(key))
    return key


def item_history(storage: Storage, item_id: str) -> list[dict]:
    """Every event recorded beside any version of `item_id`, oldest first.

    Each is `metadata.events.read_event_record`'s dict plus "version" and "key" (the record's
    storage key). A record that cannot be read is logged and skipped: one damaged file must not
    hide the rest of the history (the fixity audit reports damage).
    """
    events = []
    for version in list_versions(storage, item_id):
        if not version.complete:
            continue
        prefix = version.prefix + EVENTS
        for key in sorted(storage.list(prefix)):
            if not key.endswith(".xml"):
                continue
            try:
                found = read_event_record(storage.get_bytes(key))
            except (ValueError, FileNotFoundError) as exc:
                log.error("skipped event record %s: %s", storage.uri(key), exc)
                continue
            events += [{**event, "version": version.number, "key": key} for event in found]
    return sorted(events, key=lambda e: (e["date"] or "", e["key"]))


def reviews(storage: Storage, item_id: str) -> list[dict]:
    """The review events of `item_id` (see metadata.events), oldest first, with the reviewer."""
    found = []
    for event in item_history(storage, item_id):
        if event["type"] != "review":
            continue
        person = next((a for a in event["agents"] if a["type"] == "person"), None)
        found.append({"event_id": event["id"], "version": event["version"],
                      "decision": event["outcome"], "by": person["name"] if person else None,
                      "comment": event["detail"], "reason": event["outcome_detail"],
                      "at": event["date"], "record": event["key"]})
    return found
