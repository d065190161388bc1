"""What each portal reads to learn what changed: change logs, IIIF Change Discovery, catalogues.

Layout in the access location, per portal `<p>` (`zh`, `ar`):

    feeds/<p>/changes.jsonl       append-only log, one activity a line (the source of truth)
    feeds/<p>/collection.json     IIIF Change Discovery 1.0 OrderedCollection (first, last)
    feeds/<p>/page-0001.json …    its OrderedCollectionPages, PAGE_SIZE activities each, oldest
                                  first; only the last page changes when activities are added
    portals/<p>/catalogue.json    the catalogue of what that portal may show now
    partners/<key>.json           the partner libraries as IIIF Agents (manifests' `provider`)

Activities are derived, not pushed: `update_feeds` compares what the access location holds now
(each item.json lists the portals it may be shown on, with its fingerprint) with the state the
log describes, and appends Create (newly shown on the portal), Update (new content) and Delete
(no longer shown: withdrawn, embargoed, restricted, or removed from that portal). Deriving keeps
the feed true whatever happened in between (a failed task, a manual withdrawal), and a lost
append (two writers at once) is found again by the next run: at worst an activity appears twice,
which a portal applying activities in order does not notice. Deletes persist: the log is never
shortened, so a portal that was away for months still learns of every withdrawal.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

from ingest.models import Item
from publication.iiif import (CONTEXT, MANIFEST, PORTAL_NAMES, join_url, load_partners,
                              partner_agent, portal_collection_id, title_map)
from preservation.storage import Storage

log = logging.getLogger(__name__)

PORTALS = ("zh", "ar")
PAGE_SIZE = 100
AS_CONTEXT = "http://iiif.io/api/discovery/1/context.json"
_ITEM_JSON_KEY = re.compile(r"^items/([^/]+)/item\.json$")


def log_key(portal: str) -> str:
    return f"feeds/{portal}/changes.jsonl"


def _json_bytes(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def published_entries(access: Storage) -> dict[str, dict]:
    """{item_id: item.json} of every item in the access location (unreadable ones skipped)."""
    entries = {}
    for key in access.list("items/"):
        match = _ITEM_JSON_KEY.match(key)
        if not match:
            continue
        try:
            entries[match.group(1)] = json.loads(access.get_bytes(key).decode("utf-8"))
        except (FileNotFoundError, ValueError) as exc:
            log.error("left %s out of the feeds: %s", access.uri(key), exc)
    return entries


def read_log(access: Storage, portal: str) -> list[dict]:
    """Every activity of a portal's change log, oldest first ([] before the first one)."""
    if access.head(log_key(portal)) is None:
        return []
    text = access.get_bytes(log_key(portal)).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def fold(activities: list[dict]) -> dict[str, dict]:
    """{item_id: its latest activity} — the state a portal that applied the log is in."""
    state: dict[str, dict] = {}
    for activity in activities:
        state[activity["item_id"]] = activity
    return state


def _diff(state: dict[str, dict], shown: dict[str, dict], now: str) -> list[dict]:
    changes = []
    for item_id in sorted(set(state) | set(shown)):
        last, entry = state.get(item_id), shown.get(item_id)
        if entry is not None:
            facts = {"item_id": item_id, "version": entry.get("version"),
                     "fingerprint": entry.get("fingerprint"), "time": now}
            if entry.get("type") == "collection":  # a title or volume (issue 18)
                facts["collection"] = True
            if last is None or last["type"] == "Delete":
                changes.append({**facts, "type": "Create"})
            elif last.get("fingerprint") != entry.get("fingerprint"):
                changes.append({**facts, "type": "Update"})
        elif last is not None and last["type"] != "Delete":
            changes.append({"item_id": item_id, "version": last.get("version"),
                            "fingerprint": last.get("fingerprint"), "time": now,
                            "type": "Delete",
                            **({"collection": True} if last.get("collection") else {})})
    return changes


def activity(entry: dict, portal: str, base_url: str) -> dict:
    """One log line as an Activity Streams activity on the item's IIIF manifest."""
    return {
        "id": join_url(base_url, f"feeds/{portal}/activity/{entry['seq']}"),
        "type": entry["type"],
        "object": {"id": join_url(base_url, f"items/{entry['item_id']}/"
                                  + ("collection.json" if entry.get("collection") else MANIFEST)),
                   "type": "Collection" if entry.get("collection") else "Manifest"},
        "endTime": entry["time"],
    }


def _page_key(portal: str, number: int) -> str:
    return f"feeds/{portal}/page-{number:04d}.json"


def _write_pages(access: Storage, portal: str, activities: list[dict], first_changed: int,
                 base_url: str) -> None:
    pages = max(1, -(-len(activities) // PAGE_SIZE))
    url = lambda key: join_url(base_url, key)  # noqa: E731
    for number in range(first_changed // PAGE_SIZE + 1, pages + 1):
        chunk = activities[(number - 1) * PAGE_SIZE: number * PAGE_SIZE]
        page = {"@context": AS_CONTEXT, "id": url(_page_key(portal, number)),
                "type": "OrderedCollectionPage",
                "partOf": {"id": url(f"feeds/{portal}/collection.json"),
                           "type": "OrderedCollection"},
                "startIndex": (number - 1) * PAGE_SIZE,
                "orderedItems": [activity(a, portal, base_url) for a in chunk]}
        if number > 1:
            page["prev"] = {"id": url(_page_key(portal, number - 1)),
                            "type": "OrderedCollectionPage"}
        if number < pages:
            page["next"] = {"id": url(_page_key(portal, number + 1)),
                            "type": "OrderedCollectionPage"}
        access.put_bytes(_page_key(portal, number), _json_bytes(page))
    collection = {"@context": AS_CONTEXT, "id": url(f"feeds/{portal}/collection.json"),
                  "type": "OrderedCollection", "totalItems": len(activities),
                  "first": {"id": url(_page_key(portal, 1)), "type": "OrderedCollectionPage"},
                  "last": {"id": url(_page_key(portal, pages)),
                           "type": "OrderedCollectionPage"}}
    access.put_bytes(f"feeds/{portal}/collection.json", _json_bytes(collection))


def update_feeds(access: Storage, now: datetime, base_url: str,
                 entries: dict[str, dict] | None = None) -> dict[str, int]:
    """Append each portal's new activities and refresh its Change Discovery pages.

    Returns {portal: number of activities added}.
    """
    entries = published_entries(access) if entries is None else entries
    stamp = _utc(now)
    added = {}
    for portal in PORTALS:
        activities = read_log(access, portal)
        shown = {item_id: entry for item_id, entry in entries.items()
                 if portal in entry.get("portals", [])}
        changes = _diff(fold(activities), shown, stamp)
        for number, change in enumerate(changes, start=len(activities) + 1):
            change["seq"] = number
        moved = _collection_id(access, portal) != join_url(
            base_url, f"feeds/{portal}/collection.json")
        if changes or moved:
            # A new public base URL rewrites every page: activities must point at the manifests
            # where they are now, not at ids (file://, an old host) that no longer resolve.
            first_changed = 0 if moved else len(activities)
            activities += changes
            body = "".join(json.dumps(a, ensure_ascii=False, sort_keys=True) + "\n"
                           for a in activities)
            access.put_bytes(log_key(portal), body.encode("utf-8"))
            _write_pages(access, portal, activities, first_changed, base_url)
        added[portal] = len(changes)
        log.info("feed %s: %d new activities", portal, len(changes))
    return added


def _collection_id(access: Storage, portal: str) -> str | None:
    """The id of a portal's Change Discovery collection as written last, None if none."""
    key = f"feeds/{portal}/collection.json"
    if access.head(key) is None:
        return None
    try:
        return json.loads(access.get_bytes(key).decode("utf-8")).get("id")
    except ValueError:
        return None


def _utc(now: datetime) -> str:
    """xsd:dateTime in UTC to the second, the form OAI-PMH datestamps use too."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shown_on(portal: str, entries: dict[str, dict]):
    """(item_id, entry) of each published entry `portal` shows now, in id order."""
    return [(item_id, entries[item_id]) for item_id in sorted(entries)
            if portal in entries[item_id].get("portals", [])]


def write_portal_catalogues(access: Storage, now: datetime,
                            entries: dict[str, dict] | None = None) -> dict[str, str]:
    """portals/<p>/catalogue.json for each portal: only what that portal may show now."""
    entries = published_entries(access) if entries is None else entries
    uris = {}
    for portal in PORTALS:
        items = []
        for item_id, entry in _shown_on(portal, entries):
            item = {k: v for k, v in entry.items() if k != "files"}
            item["item_json"] = f"items/{item_id}/item.json"
            items.append(item)
        key = f"portals/{portal}/catalogue.json"
        access.put_bytes(key, _json_bytes({"generated": _utc(now), "portal": portal,
                                           "items": items}))
        uris[portal] = access.uri(key)
    return uris


def write_partners(access: Storage, base_url: str, path=None) -> None:
    """partners/<key>.json, the IIIF Agents every manifest's `provider` points to (partners
    from `path`, default CADL_PARTNERS_FILE)."""
    for key, partner in load_partners(path).items():
        access.put_bytes(f"partners/{key}.json", _json_bytes(partner_agent(key, partner, base_url)))


def write_portal_collections(access: Storage, base_url: str,
                             entries: dict[str, dict]) -> None:
    """portals/<p>/collection.json: a IIIF Collection of the manifests a portal shows now, the
    `partOf` of each of those manifests."""
    for portal in PORTALS:
        items = []
        for item_id, entry in _shown_on(portal, entries):
            items.append({"id": join_url(base_url, f"items/{item_id}/{MANIFEST}"),
                          "type": "Manifest", "label": _entry_label(entry)})
        collection = {"@context": CONTEXT, "id": portal_collection_id(base_url, portal),
                      "type": "Collection",
                      "label": {tag: [name] for tag, name in PORTAL_NAMES[portal].items()},
                      "items": items}
        access.put_bytes(f"portals/{portal}/collection.json", _json_bytes(collection))


def _entry_label(entry: dict) -> dict[str, list[str]]:
    """A manifest's label from its item.json (title_map needs only titles and languages)."""
    titles = {k: v for k, v in (entry.get("titles") or {}).items() if k in ("ar", "zh", "en")}
    item = Item(item_id=entry.get("item_id") or "x", row=0,
                languages=entry.get("languages") or ["en"], title=entry.get("title") or "",
                titles=titles)
    return title_map(item)


def write_bag_profile(access: Storage, settings=None) -> None:
    """This deployment's BagIt profile (preservation.bagprofile.render_profile), at the key its
    identifier names (<CADL_ACCESS_BASE_URL>/profiles/…), so the identifier resolves."""
    from kernel.settings import get_settings
    from preservation.bag import PROFILE_KEY
    from preservation.bagprofile import profile_bytes

    access.put_bytes(PROFILE_KEY, profile_bytes(settings or get_settings()))


def refresh(access: Storage, now: datetime, base_url: str, settings=None) -> dict:
    """Per-portal catalogues, collections, feeds, partner agents and the BagIt profile, from the
    access location's item.json files."""
    entries = published_entries(access)
    write_partners(access, base_url, settings.partners_file if settings else None)
    write_bag_profile(access, settings)
    write_portal_collections(access, base_url, entries)
    catalogues = write_portal_catalogues(access, now, entries)
    added = update_feeds(access, now, base_url, entries)
    return {"catalogues": catalogues, "activities": added}
