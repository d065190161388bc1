"""The per-item stages of `ingest_batch`: OCR, describe, package, deposit, publish.

Each takes one item's small JSON (`{batch_id, item_id, action}`) and records what it did in the
item's `state.json` in the work folder (`Unit`), so the report can tell what happened to every
item even when a task failed and left no XCom behind. The work itself lives in the stage
packages; these functions only fetch the item's inputs, call them and record the outcome.
`cadl.pipeline` plans the batch and runs these over work units.
"""

import datetime as dt
import json
import shutil
from pathlib import Path

from kernel import __version__
from kernel.ids import check_id
from kernel.paths import inside
from kernel.settings import Settings, get_settings
from ingest.models import Batch, Item


def now() -> dt.datetime:
    """The time in UTC to the second: what state files, reports and PREMIS events record."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def write_json(path: Path, data) -> None:
    """Write JSON atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), "utf-8")
    tmp.replace(path)


def read_json(path: Path):
    return json.loads(path.read_text("utf-8"))


class Unit:
    """Where one item's intermediate files live: `<work_dir>/<batch_id>/<item_id>/`.

    The ids arrive as JSON from another task, so they are checked again here (InvalidId) and
    the folders built through `inside` (UnsafePath): a unit can only name a folder of its own.
    """

    def __init__(self, data: dict, settings: Settings):
        self.data = data
        self.batch_id = check_id(data["batch_id"], "batch_id")
        self.item_id = check_id(data["item_id"], "item_id")
        self.batch_work = inside(settings.work_dir, self.batch_id)
        self.dir = inside(self.batch_work, self.item_id)
        self.state_path = self.dir / "state.json"

    def batch(self) -> Batch:
        return Batch.model_validate(read_json(self.batch_work / "batch.json"))

    def item(self) -> Item:
        return self.batch().item(self.item_id)

    def state(self) -> dict:
        return read_json(self.state_path) if self.state_path.exists() else {}

    def record(self, stage: str, started: dt.datetime, **facts) -> dict:
        state = self.state()
        state.setdefault("stages", {})[stage] = {
            "started": started.isoformat(), "finished": now().isoformat(), **facts}
        write_json(self.state_path, state)
        return state


def ocr(unit_data: dict, settings: Settings | None = None) -> dict:
    """Recognise every page of one item: ALTO, hOCR, text per page and a searchable PDF."""
    from ocr.recognize import ocr_item

    if unit_data["action"] != "process":
        return unit_data
    settings = settings or get_settings()
    unit, started = Unit(unit_data, settings), now()
    item, batch = unit.item(), unit.batch()
    result = ocr_item(item, Path(batch.path), unit.dir / "ocr", settings)
    unit.record("ocr", started,
                engine=", ".join(f"{e.name} {e.version}" for e in result.engines),
                pages=len(result.pages))
    return unit_data


def bag_payload(unit: Unit, item: Item, batch: Batch) -> list[tuple[Path, str, str, int | None]]:
    """Every payload file of the item's bag: (source, path under data/, METS group, page seq).

    Bag paths are safe ASCII derived from the page sequence; the scanned Unicode file names
    stay in METS and PREMIS (originalName).
    """
    ocr_dir = unit.dir / "ocr"
    payload = []
    for page in item.pages:
        payload.append((inside(batch.path, page.path),
                        f"masters/{page.master_name}", "masters", page.seq))
        for suffix, group in ((".alto.xml", "alto"), (".hocr", "hocr"), (".txt", "text")):
            payload.append((ocr_dir / f"{page.stem}{suffix}", f"ocr/{page.stem}{suffix}",
                            group, page.seq))
        # The page's search variant (Chinese in the other script, Arabic normalised), if any.
        if (ocr_dir / f"{page.stem}.search.txt").is_file():
            payload.append((ocr_dir / f"{page.stem}.search.txt", f"ocr/{page.stem}.search.txt",
                            "search", page.seq))
    payload.append((ocr_dir / "ocr.json", "ocr/ocr.json", "ocr-summary", None))
    payload.append((inside(ocr_dir, f"{item.item_id}.pdf"), f"{item.item_id}.pdf", "pdf", None))
    # Thumbnails are made in `describe` (the METS lists them) and published from the bag.
    payload += [(unit.dir / "thumbnails" / f"{page.stem}.jpg", f"thumbnails/{page.stem}.jpg",
                 "thumbnails", page.seq) for page in item.pages]
    return payload


def describe(unit_data: dict, settings: Settings | None = None) -> dict:
    """Write the item's METS (MODS, PREMIS, fileSec, structMaps) and validate it offline."""
    from ingest.images import use_pixel_limit
    from ocr.alto_upgrade import upgrade_alto_file
    from metadata.describe import describe_item
    from publication.publish import make_thumbnail

    if unit_data["action"] != "process":
        return unit_data
    settings = settings or get_settings()
    unit, started = Unit(unit_data, settings), now()
    item, batch = unit.item(), unit.batch()
    state = unit.state()
    use_pixel_limit(settings.max_image_pixels)  # pages validation accepted are all readable
    for page in item.pages:
        make_thumbnail(inside(batch.path, page.path), unit.dir / "thumbnails" / f"{page.stem}.jpg",
                       settings.thumbnail_px)
    payload = bag_payload(unit, item, batch)
    for src, _, group, _ in payload:
        if group == "alto":
            upgrade_alto_file(src)  # tesseract writes ALTO 3; packages hold ALTO 4.4
    summary = read_json(unit.dir / "ocr" / "ocr.json")
    mets = describe_item(
        item=item, batch=batch, payload=payload, ocr_summary=summary,
        ocr_stage=state["stages"]["ocr"], software_version=__version__, created=now(),
    )
    (unit.dir / "mets.xml").write_bytes(mets)
    unit.record("describe", started, mets_bytes=len(mets))
    return unit_data


def package(unit_data: dict, settings: Settings | None = None) -> dict:
    """Build and validate the item's BagIt 1.0 bag from a copy of masters and derivatives.

    The METS is the tag file `mets.xml` at the bag root, beside `premis-events.xml` (the bagging
    event); the bag must pass bagit-python and our BagIt profile (config/bagit-profile.json).
    """
    from metadata.premis import BAGGING_EVENTS_FILE, bagging_record
    from preservation.bag import assert_valid_bag, build_bag, profile_id
    from preservation.bagprofile import assert_profile

    if unit_data["action"] != "process":
        return unit_data
    settings = settings or get_settings()
    unit, started = Unit(unit_data, settings), now()
    item, batch = unit.item(), unit.batch()
    bag_dir = inside(unit.dir, "bag", item.item_id)
    if bag_dir.exists():
        shutil.rmtree(bag_dir)  # an earlier attempt of this task; rebuilt from sources
    payload = [(src, rel) for src, rel, _, _ in bag_payload(unit, item, batch)]
    profile = profile_id(settings)  # before anything is written: ConfigError names the setting
    events = unit.dir / BAGGING_EVENTS_FILE
    events.write_bytes(bagging_record(item.item_id, now(), __version__, profile))
    tag_files = [(unit.dir / "mets.xml", "mets.xml"), (events, BAGGING_EVENTS_FILE)]
    build_bag(bag_dir, payload, {
        "Source-Organization": settings.source_organization,
        "External-Identifier": item.item_id,
        "External-Description": item.title,
        "Bag-Group-Identifier": batch.batch_id,
        "Internal-Sender-Identifier": f"{batch.batch_id}/{item.item_id}",
    }, tag_files=tag_files, profile=profile)
    assert_valid_bag(bag_dir)
    assert_profile(bag_dir, settings)
    unit.record("package", started, bag=str(bag_dir))
    return unit_data


def deposit(unit_data: dict, settings: Settings | None = None) -> dict:
    """Upload the bag to preservation storage, verify every object, then mark it complete."""
    from preservation.deposit import deposit_bag
    from preservation.backends import open_replica, open_storage

    if unit_data["action"] != "process":
        return unit_data
    settings = settings or get_settings()
    unit, started = Unit(unit_data, settings), now()
    from metadata.agents import item_premis_agents

    storage = open_storage(settings.preservation_url, settings)
    result = deposit_bag(inside(unit.dir, "bag", unit.item_id), storage, unit.item_id,
                         unit.state()["fingerprint"], now(), replica=open_replica(settings),
                         reread=settings.deposit_verify == "reread",
                         agents=item_premis_agents(unit.item(), settings),
                         software_version=__version__)
    facts = {"version": result.version, "prefix": result.prefix, "new": result.new}
    if result.replica_uri:
        facts["replica"] = result.replica_uri
    if result.new:  # a new version closes any earlier return of the item to the scanner
        from ingest.custody import close_returns

        close_returns(unit.item_id, result.version, settings, now())
    state = unit.record("deposit", started, **facts)
    state["deposit"] = facts
    write_json(unit.state_path, state)
    return unit_data


def publish(unit_data: dict, settings: Settings | None = None) -> dict:
    """Publish the item's access package from its verified preserved copy, if rights allow.

    Restricted and embargoed items stay preserved only; if an earlier version of one was
    published, it is withdrawn from the access location.
    """
    from publication import access

    if unit_data["action"] == "skip":
        return unit_data
    settings = settings or get_settings()
    unit, started = Unit(unit_data, settings), now()
    item, batch, state = unit.item(), unit.batch(), unit.state()
    outcome = access.publish_preserved(item, batch.batch_id, state["deposit"],
                                       state["fingerprint"], unit.dir / "access", settings,
                                       today=started.date())
    state = unit.record("publish", started, **outcome)
    state.update(status=outcome["status"], access=outcome.get("access"),
                 bag=outcome["bag"], pages=outcome["pages"])
    write_json(unit.state_path, state)
    return unit_data
