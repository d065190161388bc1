"""Titles and volumes of serials and multi-volume works: their METS, versions and IIIF Collections.

Runs once per batch after every item is published (task `serials`). For each title or volume
the batch touches (a row of the batch, or the parent of an issue the batch preserved) it reads
the container's latest METS from preservation storage, adds this batch's children, and, when
the list or the description changed, deposits the new METS as a new version of the container's
package: an issue ingested later changes its title's package only, never the packages of the
issues before it. Then it publishes the container's METS, its IIIF Collection and its catalogue
entry (`type: "collection"`) to the access location.

A container package is a bag with no payload: `mets.xml` and `premis-events.xml` as tag files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from pathlib import Path

from ingest.models import Ancestor, Batch, Item
from kernel import __version__
from kernel.settings import Settings

log = logging.getLogger(__name__)

DONE = ("published", "preserved", "held")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def preserved_container(preservation, item_id: str):
    """The ContainerState of `item_id`'s latest preserved version, or None if there is none.

    Raises ValueError when that version is not a container (an issue named as a parent)."""
    from metadata.serials import read_container_mets
    from preservation.versions import latest_version

    marker = latest_version(preservation, item_id)
    if marker is None:
        return None
    data = preservation.get_bytes(f"{marker['prefix']}{marker['bag']}/mets.xml")
    try:
        return read_container_mets(data)
    except ValueError:
        raise ValueError(f"{item_id} is preserved as an item with pages, not as a title or "
                         "volume: it cannot be a parent") from None


def resolve_preserved_parents(batch: Batch, report, preservation) -> None:
    """Give items whose parent was ingested by an earlier batch their ancestors from storage;
    a parent neither in the batch nor preserved is an error of the item (quarantined)."""
    from ingest.manifest import MANIFEST

    in_batch = {i.item_id for i in batch.items}
    cache: dict[str, object] = {}

    def state(item_id: str):
        if item_id not in cache:
            cache[item_id] = preserved_container(preservation, item_id)
        return cache[item_id]

    for item in batch.items:
        if not item.parent:
            continue
        # The topmost ancestor in the batch (or the item): its parent, if any, is outside it.
        top = batch.item(item.ancestors[0].item_id) if item.ancestors else item
        missing = top.parent if top.parent and top.parent not in in_batch else None
        chain: list[Ancestor] = []
        try:
            while missing:
                found = state(missing)
                if found is None:
                    report.add("error", MANIFEST, f"parent {missing!r} is neither in this batch "
                               "nor preserved by an earlier one: add its row (a title or volume "
                               "row, without pages) or correct the parent column",
                               row=item.row, item_id=item.item_id)
                    chain = []
                    break
                chain.insert(0, Ancestor(item_id=found.item_id, type=found.type,
                                         title=found.title))
                missing = found.parent
        except ValueError as exc:
            report.add("error", MANIFEST, str(exc), row=item.row, item_id=item.item_id)
            continue
        item.ancestors = chain + item.ancestors


def _children_from_batch(batch: Batch, container_id: str, states: dict[str, dict]) -> list:
    from metadata.serials import Child

    children = []
    for item in batch.items:
        if item.parent != container_id:
            continue
        done = item.is_container or states.get(item.item_id, {}).get("status") in DONE
        if done:
            children.append(Child(item_id=item.item_id, type=item.structure_type,
                                  title=item.title, volume=item.volume, issue=item.issue,
                                  part=item.part, sequence=item.sequence))
    return children


def _depth(item: Item | None, state) -> int:
    return len(item.ancestors) if item is not None else (1 if state and state.parent else 0)


def update_containers(plan: dict, settings: Settings) -> list[dict]:
    """Write, preserve and publish the METS and IIIF Collection of every title and volume the
    batch touched; returns one summary per container (id, version, new, children)."""
    from ingest.serials import order_key
    from metadata.agents import load_partners, software_agent
    from metadata.mods import build_mods
    from metadata.container_mets import build_container_mets
    from metadata.serials import ContainerState
    from metadata.validate import assert_valid_mets
    from preservation.deposit import deposit_bag
    from preservation.versions import latest_version
    from preservation.backends import open_replica, open_storage

    work = Path(settings.work_dir) / plan["batch_id"]
    batch = Batch.model_validate(json.loads((work / "batch.json").read_text("utf-8")))
    states = {}
    for item in batch.items:
        path = work / item.item_id / "state.json"
        states[item.item_id] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    by_id = {item.item_id: item for item in batch.items}
    touched = {i.item_id for i in batch.items if i.is_container}
    for item in batch.items:
        if item.parent and (item.is_container or states[item.item_id].get("status") in DONE):
            touched.update(a.item_id for a in item.ancestors)
    preservation = open_storage(settings.preservation_url, settings)
    agents = load_partners() + [software_agent("cadl pipeline", __version__)]
    previous = {cid: preserved_container(preservation, cid) for cid in touched}
    # Volumes before titles: a title's collection lists its volumes' collections.
    order = sorted(touched, key=lambda c: -_depth(by_id.get(c), previous[c]))
    results = []
    for cid in order:
        row, before = by_id.get(cid), previous[cid]
        if row is not None and any(p["severity"] == "error"
                                   for p in states.get(cid, {}).get("problems", [])):
            continue  # an invalid title row: reported and quarantined with the batch's items
        merged = {c.item_id: c for c in (before.children if before else [])}
        merged.update({c.item_id: c for c in _children_from_batch(batch, cid, states)})
        children = sorted(merged.values(), key=order_key)
        mods = build_mods(row, batch.batch_id) if row is not None else before.mods
        parent_id = row.parent if row is not None else before.parent
        parent = None
        if parent_id:
            source = by_id.get(parent_id)
            prior = previous.get(parent_id) or (preserved_container(preservation, parent_id)
                                                if source is None else None)
            parent = Ancestor(item_id=parent_id,
                              type=source.structure_type if source else prior.type,
                              title=source.title if source else prior.title)
        state = ContainerState(
            item_id=cid, type=row.structure_type if row is not None else before.type,
            title=row.title if row is not None else before.title, mods=mods,
            parent=parent_id, children=children)
        from lxml import etree

        basis = json.dumps({"mods": etree.tostring(mods, encoding="unicode"),
                            "type": state.type, "title": state.title, "parent": parent_id,
                            "children": [c.__dict__ for c in children]}, sort_keys=True)
        fingerprint = hashlib.sha512(basis.encode()).hexdigest()
        latest = latest_version(preservation, cid)
        created = _now()
        mets = build_container_mets(state, parent, agents, batch.batch_id, created)
        assert_valid_mets(mets, f"METS of {cid}")
        folder = work / ".containers" / cid
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / "mets.xml").write_bytes(mets)
        if latest is not None and latest.get("fingerprint") == fingerprint:
            version, new = latest["version"], False
            stored = preservation.get_bytes(f"{latest['prefix']}{latest['bag']}/mets.xml")
            (folder / "mets.xml").write_bytes(stored)  # publish what is preserved
        else:
            version, new = _deposit(cid, state, batch, folder, fingerprint, preservation,
                                    settings, created, deposit_bag, open_replica)
        published = _publish(cid, state, folder, version, fingerprint, batch.batch_id,
                             settings)
        from preservation.versions import version_prefix

        access_uri = (open_storage(settings.access_url, settings).uri(f"items/{cid}")
                      if published else None)
        results.append({"item_id": cid, "type": state.type, "version": version, "new": new,
                        "children": [c.item_id for c in children], "published": published,
                        "bag": preservation.uri(version_prefix(cid, version) + cid),
                        "access": access_uri})
        log.info("container %s: version %s (%s), %d children", cid, version,
                 "new" if new else "unchanged", len(children))
    _write(work / "containers.json", results)
    return results


def _write(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
    tmp.replace(path)


def _deposit(cid, state, batch, folder, fingerprint, preservation, settings, created,
             deposit_bag, open_replica) -> tuple[int, bool]:
    from metadata.premis import BAGGING_EVENTS_FILE, bagging_record
    from preservation.bag import assert_valid_bag, build_bag, profile_id
    from preservation.bagprofile import assert_profile

    profile = profile_id(settings)  # before anything is written: ConfigError names the setting
    events = folder / BAGGING_EVENTS_FILE
    events.write_bytes(bagging_record(cid, created, __version__, profile))
    bag_dir = folder / "bag" / cid
    build_bag(bag_dir, [], {
        "Source-Organization": settings.source_organization,
        "External-Identifier": cid,
        "External-Description": state.title,
        "Bag-Group-Identifier": batch.batch_id,
        "Internal-Sender-Identifier": f"{batch.batch_id}/{cid}",
    }, tag_files=[(folder / "mets.xml", "mets.xml"), (events, BAGGING_EVENTS_FILE)],
        profile=profile)
    assert_valid_bag(bag_dir)
    assert_profile(bag_dir, settings)
    from metadata.agents import library_premis_agent

    result = deposit_bag(bag_dir, preservation, cid, fingerprint, created,
                         replica=open_replica(settings),
                         reread=settings.deposit_verify == "reread",
                         agents=[library_premis_agent(settings.source_organization)],
                         software_version=__version__)
    return result.version, result.new


def _publish(cid, state, folder, version, fingerprint, batch_id, settings) -> bool:
    """Publish the container when at least one of its children is published."""
    from preservation.backends import open_storage
    from publication.collections import build_collection
    from publication.portal_files import base_url
    from publication.publish import publish_item, withdraw_item

    access = open_storage(settings.access_url, settings)
    entries = {}
    for child in state.children:
        key = f"items/{child.item_id}/item.json"
        if access.head(key) is not None:
            entries[child.item_id] = json.loads(access.get_bytes(key).decode("utf-8"))
    listed = [c for c in state.children if c.item_id in entries]
    if not listed:
        withdraw_item(access, cid)
        return False
    portals = sorted({p for e in entries.values() for p in e.get("portals", [])})
    collection = build_collection(state, listed, entries, base_url(settings))
    (folder / "collection.json").write_text(json.dumps(collection, ensure_ascii=False,
                                                       indent=2), "utf-8")
    entry = {"type": "collection", "structure_type": state.type, "title": state.title,
             "parent": state.parent, "children": [c.item_id for c in listed],
             "portals": portals, "batch_id": batch_id, "version": version,
             # what the change feeds compare: a new child is an Update of the title
             "fingerprint": hashlib.sha512((fingerprint + "|" + " ".join(
                 c.item_id for c in listed)).encode()).hexdigest(),
             "mets": "mets.xml", "collection": "collection.json",
             "published": _now().date().isoformat()}
    publish_item(access, cid, [(folder / "mets.xml", "mets.xml"),
                               (folder / "collection.json", "collection.json")], entry)
    return True
