"""Publication of an item's access package from its verified preserved copy.

The access package is made from what preservation storage holds, not from the work folder: what
the portals show is then exactly what was verified, and an item already preserved by an earlier
run can be published without redoing anything.
"""

import datetime as dt
import json
import logging
from pathlib import Path

from kernel.paths import inside
from kernel.settings import Settings
from ingest.models import Item
from preservation.backends import open_storage
from preservation.storage import Storage
from preservation.history import reviews as item_reviews
from preservation.versions import latest_version
from publication.publish import publish_item, withdraw_item
from publication.rights import effective_item, write_record

log = logging.getLogger(__name__)

ITEM_JSON = "item.json"


def _page_files(summary: dict) -> list[dict]:
    """Per page: its bag files (relative to data/) and its OCR confidence, from ocr/ocr.json."""
    pages = []
    for page in summary["pages"]:
        stem = page["stem"]
        pages.append({"seq": page["seq"], "stem": stem, "confidence": page["mean_confidence"],
                      "text": f"ocr/{page['text']}", "alto": f"ocr/{page['alto']}",
                      "hocr": f"ocr/{page['hocr']}",
                      # OCR quality flags and the search variant (issue 4; older records lack them)
                      "flags": page.get("flags", []), "review": page.get("review", False),
                      "search": f"ocr/{page['search']}" if page.get("search") else None})
    return pages


def _current_entry(access: Storage, item_id: str) -> dict | None:
    key = f"items/{item_id}/{ITEM_JSON}"
    if access.head(key) is None:
        return None
    return json.loads(access.get_bytes(key).decode("utf-8"))


def _entry(item: Item, batch_id: str, marker: dict, fingerprint: str, pages: list[dict],
           today: dt.date) -> dict:
    return {
        "title": item.title,
        "titles": {"primary": item.title, **item.titles},
        "languages": item.languages,
        "reading_direction": item.reading_direction,
        "rights": str(item.rights),
        "portals": item.portals,
        "creator": item.creator,
        "date": item.date,
        "identifier": item.identifier,
        "batch_id": batch_id,
        "version": marker["version"],
        "fingerprint": fingerprint,
        "published": today.isoformat(),
        "pdf": f"{item.item_id}.pdf",
        "mets": "mets.xml",
        "pages": [{"seq": p["seq"], "original_name": p["original_name"],
                   "text": f"text/{p['stem']}.txt", "alto": f"alto/{p['stem']}.xml",
                   "hocr": f"hocr/{p['stem']}.hocr", "thumbnail": f"thumbnails/{p['stem']}.jpg",
                   "search": f"search/{p['stem']}.txt" if p.get("search") else None,
                   "confidence": p["confidence"]} for p in pages],
    }


def publish_preserved(item: Item, batch_id: str, deposit: dict, fingerprint: str, scratch: Path,
                      settings: Settings, today: dt.date) -> dict:
    """Publish (or withdraw) one item; returns status, bag and access URIs and per-page URIs.

    status is "published" when the item's rights allow it on `today`, else "preserved" (and
    any earlier publication of the item is withdrawn).
    """
    item = effective_item(item, settings)  # rights decided after ingest win (issue 7)
    preservation = open_storage(settings.preservation_url, settings)
    access = open_storage(settings.access_url, settings)
    marker = latest_version(preservation, item.item_id)
    if marker is None or marker["version"] != deposit["version"]:
        raise RuntimeError(f"{item.item_id}: version {deposit['version']} is not the latest "
                           "complete version in preservation storage")
    bag = f"{marker['prefix']}{marker['bag']}/"
    summary = json.loads(preservation.get_bytes(bag + "data/ocr/ocr.json").decode("utf-8"))
    pages = _page_files(summary)
    for page, src in zip(pages, item.pages, strict=True):
        page.update(master=f"masters/{src.master_name}", original_name=src.original_name)

    # Published when at least one portal may show it today; restricted and embargoed items
    # (on every portal) never reach the access location.
    portals = item.public_portals(today)
    public = bool(portals)
    # A page flagged by the OCR quality check holds the whole item for review: preserved, not
    # published silently (settings.ocr_hold_for_review), until an archivist decides to publish
    # this version as is (issue 16: a review event beside the version says so).
    flagged = [{"seq": p["seq"], "original_name": p["original_name"],
                "confidence": p["confidence"], "flags": p["flags"]}
               for p in pages if p["review"]]
    reviews = item_reviews(preservation, item.item_id)
    decision = next((r["decision"] for r in reversed(reviews)
                     if r["version"] == marker["version"]), None)
    held = (public and settings.ocr_hold_for_review and bool(flagged)
            and decision != "publish")
    public = public and not held
    published = None
    if public:
        current = _current_entry(access, item.item_id)
        from publication.portal_files import is_current

        if (current and current.get("fingerprint") == fingerprint
                and current.get("reviews", []) == _public_reviews(reviews)
                and is_current(current, portals, settings)):
            published = access.uri(f"items/{item.item_id}")
        else:
            published = _upload(item, batch_id, marker, fingerprint, pages, preservation, bag,
                                access, scratch, settings, today, reviews)
    elif withdraw_item(access, item.item_id):
        log.info("withdrew %s from the access location: rights are now %s", item.item_id,
                 item.rights)
    from publication.rights import load_overrides

    from preservation.backends import open_replica

    override = load_overrides(settings.rights_overrides).get(item.item_id, {})
    write_record(preservation, item, batch_id, deposit, fingerprint, portals,
                 dt.datetime.now(dt.timezone.utc).replace(microsecond=0), override.get("note"),
                 held=flagged if held else None, by=override.get("by"),
                 replica=open_replica(settings))
    if public:  # events since (audits, and a rights change just recorded) reach the portals
        from publication.history import refresh_history

        refresh_history(access, preservation, item.item_id)

    def uri(rel_bag: str, rel_access: str) -> str:
        return (access.uri(f"items/{item.item_id}/{rel_access}") if public
                else preservation.uri(bag + "data/" + rel_bag))

    return {
        "status": "held" if held else "published" if public else "preserved",
        "bag": preservation.uri(bag.rstrip("/")),
        "access": published,
        "pages": [{"seq": p["seq"], "original_name": p["original_name"],
                   "master": preservation.uri(bag + "data/" + p["master"]),
                   "text": uri(p["text"], f"text/{p['stem']}.txt"),
                   "alto": uri(p["alto"], f"alto/{p['stem']}.xml"),
                   "hocr": uri(p["hocr"], f"hocr/{p['stem']}.hocr"),
                   "confidence": p["confidence"], "flags": p["flags"]} for p in pages],
    }


def _public_reviews(reviews: list[dict]) -> list[dict]:
    """What the portals get of each review: decision, person, comment, date, the PREMIS record."""
    return [{"version": r["version"], "decision": r["decision"], "by": r["by"],
             "comment": r["comment"], "reason": r["reason"], "at": r["at"],
             "premis": f"events/{r['record'].rsplit('/', 1)[-1]}"} for r in reviews]


def _upload(item: Item, batch_id: str, marker: dict, fingerprint: str, pages: list[dict],
            preservation: Storage, bag: str, access: Storage, scratch: Path, settings: Settings,
            today: dt.date, reviews: list[dict] = ()) -> str:
    """Fetch the access files (thumbnails included) from the preserved bag, publish them."""
    scratch.mkdir(parents=True, exist_ok=True)
    files: list[tuple[Path, str]] = []

    def fetch(rel: str, key: str) -> Path:
        dest = inside(scratch, rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        preservation.download(bag + "data/" + rel, dest)
        files.append((dest, key))
        return dest

    fetch(f"{item.item_id}.pdf", f"{item.item_id}.pdf")
    # The preservation METS is a tag file at the bag root, not payload (docs/package-format.md);
    # only its MODS goes into the access METS, which lists the access package's own files.
    mets = scratch / "preservation-mets.xml"
    preservation.download(bag + "mets.xml", mets)
    for page in pages:
        fetch(page["text"], f"text/{page['stem']}.txt")
        fetch(page["alto"], f"alto/{page['stem']}.xml")
        fetch(page["hocr"], f"hocr/{page['stem']}.hocr")
        if page.get("search"):
            fetch(page["search"], f"search/{page['stem']}.txt")
        fetch(f"thumbnails/{page['stem']}.jpg", f"thumbnails/{page['stem']}.jpg")
        master = inside(scratch, page["master"])  # portal files (display images) are made from it
        master.parent.mkdir(parents=True, exist_ok=True)
        preservation.download(bag + "data/" + page["master"], master)
    entry = _entry(item, batch_id, marker, fingerprint, pages, today)
    # A published-after-review item carries its review events (issue 16): the PREMIS records
    # themselves, and a summary in item.json.
    if reviews:
        entry["reviews"] = _public_reviews(list(reviews))
    for review, public in zip(reviews, entry.get("reviews", []), strict=True):
        dest = inside(scratch, public["premis"])
        dest.parent.mkdir(parents=True, exist_ok=True)
        preservation.download(review["record"], dest)
        files.append((dest, public["premis"]))
    from publication.history import HISTORY, build_history

    history = build_history(preservation, item.item_id)  # every event record, merged
    if history is not None:
        (scratch / HISTORY).write_bytes(history[0])
        files.append((scratch / HISTORY, HISTORY))
        entry["history"] = history[1]
    if item.parent:  # issue 18: where the portals place it under its title and volume
        entry.update(parent=item.parent, structure_type=item.structure_type,
                     volume=item.volume, issue=item.issue, part=item.part,
                     sequence=item.sequence,
                     ancestors=[a.item_id for a in item.ancestors] or [item.parent])
    from publication.portal_files import add_portal_files

    entry["portals"] = item.public_portals(today)  # where it may be shown now, not the row's
    files += add_portal_files(item, entry, pages, scratch, settings, entry["portals"])
    files.append((_access_mets(item, entry, mets, {key: path for path, key in files}, scratch,
                               settings), "mets.xml"))
    return publish_item(access, item.item_id, files, entry)


def _access_mets(item: Item, entry: dict, preservation_mets: Path, local: dict[str, Path],
                 scratch: Path, settings: Settings) -> Path:
    """Write the DFG-viewer access METS of the files about to be published; return its path."""
    from publication.access_mets import build_access_mets, mods_of
    from publication.iiif import holding_partner, load_partners
    from publication.portal_files import public_base_url

    partners = load_partners(settings.partners_file)
    holder = holding_partner(item, partners)
    shown = sorted(entry["portals"], key=lambda p: p != holder)  # the holder's portal first
    data = build_access_mets(item, entry, mods_of(preservation_mets.read_bytes()), local,
                             public_base_url(settings), partners[holder],
                             dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                             [partners[p]["item_page"].format(item_id=item.item_id)
                              for p in shown if p in partners])
    path = scratch / "mets.xml"
    path.write_bytes(data)
    return path
