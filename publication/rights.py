"""Rights decisions after ingest: the publication record and the rights overrides.

Which portals may show an item changes without a new batch: an embargo date passes, or the
library decides after ingest that an item must be withdrawn (or opened). Two sources say so:

* the item's manifest row (`rights`, `rights_zh`, `rights_ar`, `portals`); a corrected row in a
  new batch gives a new version, which `publish` republishes or withdraws as usual;
* the rights overrides file (`CADL_RIGHTS_OVERRIDES`, default `config/rights-overrides.json`):
  `{"<item_id>": {"rights": "restricted", "rights_ar": "embargo:2031-01-01", "portals": "zh",
  "note": "why, when", "by": "who decided"}}`. An override wins over the manifest row, in
  `publish` and here; `by` (a person) is recorded as the PREMIS agent who decided.

To republish an item without its batch, `publish` keeps a publication record per item in
preservation storage (`publication/<item_id>.json`: the item as read from its manifest, its
batch, version, fingerprint and the portals it was last shown on). It lives with the preserved
copies, never in the access location, because it also describes restricted items, which the
portals must never see. `publication.embargo.lift_embargoes` compares every record with today's
rights and republishes or withdraws where the portals changed; the catalogue and feeds follow.

This module sits below `publication.access` (which applies overrides and writes the record when
it publishes), and `publication.embargo` above both, so no two of them import each other.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from kernel.errors import ConfigError
from kernel.settings import Settings
from ingest.models import Item, Rights
from preservation.storage import Storage

log = logging.getLogger(__name__)

RECORDS = "publication/"
OVERRIDE_KEYS = {"rights", "rights_zh", "rights_ar", "portals", "note", "by"}
PORTALS = ("zh", "ar")


def record_key(item_id: str) -> str:
    return f"{RECORDS}{item_id}.json"


def load_overrides(path: Path) -> dict[str, dict]:
    """The rights overrides file as {item_id: {column: value}}; {} when the file is absent.

    Raises ConfigError naming the file, the item and the problem for anything malformed, so a
    typo never silently publishes an item.
    """
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"rights overrides {path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"rights overrides {path}: expected an object keyed by item id")
    for item_id, entry in data.items():
        if not isinstance(entry, dict) or set(entry) - OVERRIDE_KEYS:
            raise ConfigError(f"rights overrides {path}: {item_id!r} must be an object with "
                              f"only {', '.join(sorted(OVERRIDE_KEYS))}")
        for key in ("rights", "rights_zh", "rights_ar"):
            if key in entry:
                try:
                    Rights.parse(entry[key])
                except ValueError as exc:
                    raise ConfigError(f"rights overrides {path}: {item_id}.{key}: {exc}") from None
        portals = entry.get("portals")
        if portals is not None and (not isinstance(portals, str) or not set(
                p.strip() for p in portals.split(";") if p.strip()) <= set(PORTALS)):
            raise ConfigError(f"rights overrides {path}: {item_id}.portals must be zh, ar or "
                              f"zh;ar, got {portals!r}")
    return data


def apply_overrides(item: Item, overrides: dict[str, dict]) -> Item:
    """`item` with its override (if any) applied; the manifest's values where none is given."""
    entry = overrides.get(item.item_id)
    if not entry:
        return item
    update: dict = {}
    if "rights" in entry:
        update["rights"] = Rights.parse(entry["rights"])
    portal_rights = dict(item.portal_rights)
    for portal in PORTALS:
        if f"rights_{portal}" in entry:
            portal_rights[portal] = Rights.parse(entry[f"rights_{portal}"])
        elif "rights" in entry:
            portal_rights.pop(portal, None)  # an item-wide override replaces per-portal rows
    update["portal_rights"] = portal_rights
    if "portals" in entry:
        update["portals"] = [p.strip() for p in entry["portals"].split(";") if p.strip()]
    return item.model_copy(update=update)


def effective_item(item: Item, settings: Settings) -> Item:
    """`item` with the configured rights overrides applied."""
    return apply_overrides(item, load_overrides(settings.rights_overrides))


def write_record(preservation: Storage, item: Item, batch_id: str, deposit: dict,
                 fingerprint: str, portals: list[str], now: dt.datetime,
                 note: str | None = None, held: list[dict] | None = None,
                 by: str | None = None, replica: Storage | None = None) -> None:
    """Record what `publish` decided for an item (see the module docstring).

    `held` lists the pages (seq, original_name, confidence, flags) whose OCR flags hold the
    item for review (issue 16): the review queue is read from these records, and "since" (when
    this version was first held) survives rewrites so the queue can tell each review's age.
    An unchanged decision is not rewritten: a rerun of a batch leaves preservation storage
    byte-identical. A changed access decision (rights or portals) is also recorded as a PREMIS
    event beside the preserved version (`record_rights_change`), with the override's `note`.
    """
    record = {"item": item.model_dump(mode="json"), "batch_id": batch_id,
              "deposit": {"version": deposit["version"], "prefix": deposit.get("prefix")},
              "fingerprint": fingerprint, "portals": portals}
    old: dict = {}
    if preservation.head(record_key(item.item_id)) is not None:
        try:
            old = json.loads(preservation.get_bytes(record_key(item.item_id)).decode("utf-8"))
        except ValueError:
            old = {}
    if held:
        before = old.get("held") or {}
        since = (before.get("since") if before.get("version") == deposit["version"]
                 else None) or now.isoformat()
        record["held"] = {"version": deposit["version"], "since": since, "pages": held}
    if old:
        old.pop("decided", None)
        if old == record:
            return
    if old.get("item") and _access_of(old["item"], old.get("portals")) != _access_of(
            record["item"], portals) and deposit.get("prefix"):
        record_rights_change(preservation, item, deposit["prefix"], old, portals, now, note,
                             by=by, replica=replica)
    record["decided"] = now.isoformat()
    preservation.put_bytes(record_key(item.item_id), (json.dumps(
        record, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def _access_of(item: dict, portals) -> tuple:
    return (item.get("rights"), item.get("portal_rights"), item.get("portals"), portals)


RIGHTS_EVENT_NAMESPACE = "a3c0f1e2-7b4d-4e59-9c1a-5d2e8f6b0c47"


def record_rights_change(preservation: Storage, item: Item, prefix: str, old: dict,
                         portals: list[str], now: dt.datetime, note: str | None,
                         by: str | None = None, replica: Storage | None = None) -> str:
    """A PREMIS "policy assignment" event in the package history beside the preserved version
    (`<prefix>events/`, preservation.history): the item's access rights and portals before and
    after, and why (the override's note), in the primary location and the replica.

    Agents: the partner library that holds the item and the library keeping the copies
    (organizations), the person who decided when the override names one (`by`), and this code
    with its version. The version's METS is immutable and still states the rights it was
    ingested with; this is the record of every later decision, which the package history (and
    a re-ingest, and the portals' history.xml) reads. Returns the key written.
    """
    import uuid

    from kernel import __version__
    from kernel.settings import get_settings
    from metadata.agents import item_premis_agents, person_premis_agent, software_premis_agent
    from metadata.premis import Event, package_event_record
    from preservation.history import write_record as write_history

    before = old["item"]
    detail = (f"access rights changed: rights {before.get('rights')} → {item.rights}, "
              f"portals {';'.join(before.get('portals') or [])} → {';'.join(item.portals)}, "
              f"shown on {', '.join(old.get('portals') or []) or 'none'} → "
              f"{', '.join(portals) or 'none'}")
    settings = get_settings()
    agents = [a for a in item_premis_agents(item, settings) if a.type == "organization"]
    if by and by.strip():
        agents.append(person_premis_agent(by, note="decided the access rights"))
    agents.append(software_premis_agent("publication.rights", __version__))
    package = prefix.rstrip("/")
    version = int(package.rsplit("/v", 1)[1])
    stamp = now.astimezone(dt.timezone.utc)
    event_id = uuid.uuid5(uuid.UUID(RIGHTS_EVENT_NAMESPACE),
                          f"{package}/{stamp.isoformat()}/{detail}")
    event = Event("policy assignment", stamp, "success", detail,
                  [a.id_value for a in agents], [package],
                  outcome_detail=f"note: {note}" if note else None, id_value=str(event_id))
    body = package_event_record(package, [event], agents)
    key = write_history(preservation, item.item_id, version, body, "rights", stamp,
                        lambda: event_id)
    if replica is not None:
        try:
            write_history(replica, item.item_id, version, body, "rights", stamp,
                          lambda: event_id)
        except (ValueError, OSError) as exc:  # e.g. not yet replicated: the audit copies later
            log.warning("rights event of %s not written to the replica: %s", item.item_id, exc)
    log.info("%s: %s", item.item_id, detail)
    return key


def read_records(preservation: Storage) -> list[dict]:
    """Every publication record, sorted by item id; unreadable ones are logged and skipped."""
    records = []
    for key in preservation.list(RECORDS):
        try:
            records.append(json.loads(preservation.get_bytes(key).decode("utf-8")))
        except (ValueError, FileNotFoundError) as exc:
            log.error("skipped publication record %s: %s", preservation.uri(key), exc)
    return sorted(records, key=lambda r: r["item"]["item_id"])


def due_changes(records: list[dict], overrides: dict[str, dict], today: dt.date) -> list[dict]:
    """The records whose portals today differ from those they were last published on.

    Each result is {item_id, item (overrides applied), record, before, after}.
    """
    changes = []
    for record in records:
        item = apply_overrides(Item.model_validate(record["item"]), overrides)
        after = item.public_portals(today)
        if after != record["portals"]:
            changes.append({"item_id": item.item_id, "item": item, "record": record,
                            "before": record["portals"], "after": after})
    return changes
