"""Custody of a landing-zone batch: quarantine of invalid items, release of finished batches.

The scanner's files are the only copy until they are preserved, so the pipeline never moves,
changes or deletes anything in a batch while it is in custody: an invalid item is *copied* to
quarantine (with its report beside it), and only when every item of the batch is either
deposited-and-verified or quarantined is the batch moved out of the landing zone, to
`processed/` (or `failed/` when nothing in it could be read). Released batches are kept; they
are deleted only after `CADL_RETENTION_DAYS`, and only when that is set.

Quarantine copies are written to a `.partial` folder and renamed when complete and verified,
so a crash never leaves a copy that looks finished; an identical copy is never made twice.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import logging
import os
import shutil
import stat
from pathlib import Path

from kernel.ids import check_id
from kernel.paths import inside
from kernel.settings import Settings

log = logging.getLogger(__name__)

# "held" (issue 4): preserved and verified, only its publication waits for a reviewer.
SETTLED = ("published", "preserved", "held", "quarantined")
CUSTODY_RECORD = "custody.json"


def _sha512(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha512").hexdigest()


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), "utf-8")
    tmp.replace(path)


def copy_verified(src: Path, dest: Path) -> tuple[dict[str, str], list[str]]:
    """Copy the regular files under `src` into `dest`, each checked by sha512 against its source.

    Symlinks, pipes and devices are never followed or opened (they are why an item may be in
    quarantine); they are listed instead. Returns ({relative path: sha512}, [skipped paths]).
    Raises OSError when a copy differs from its source.
    """
    digests: dict[str, str] = {}
    skipped: list[str] = []
    dest.mkdir(parents=True, exist_ok=True)
    for root, dirs, files in os.walk(src):  # os.walk does not descend into symlinked folders
        for name in sorted(dirs + files):
            path = Path(root, name)
            rel = path.relative_to(src).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                inside(dest, rel).mkdir(exist_ok=True)
            elif stat.S_ISREG(mode):
                shutil.copyfile(path, inside(dest, rel), follow_symlinks=False)
                digest = _sha512(path)
                if _sha512(inside(dest, rel)) != digest:
                    raise OSError(errno.EIO, f"copy of {path} differs from its source")
                digests[rel] = digest
            else:
                skipped.append(rel)
    return digests, skipped


def _report_text(record: dict) -> str:
    lines = [f"Quarantined: {record['what']} of batch {record['batch_id']}",
             f"From: {record['source'] or '(no folder: the row names none that can be used)'}",
             f"At: {record['quarantined_at']}", "",
             "Problems:"]
    for p in record["problems"]:
        where = p.get("file") or "(batch)"
        if p.get("row"):
            where += f" line {p['row']}"
        lines.append(f"  [{p['severity']}] {where}: {p['message']}")
    if record["skipped"]:
        lines += ["", "Not copied (links or special files, never followed):"]
        lines += [f"  {rel}" for rel in record["skipped"]]
    lines += ["", f"{len(record['files'])} file(s) copied to files/, each verified by sha512."]
    return "\n".join(lines) + "\n"


def quarantine(source: Path | None, dest: Path, *, batch_id: str, what: str,
               problems: list[dict], now: dt.datetime, extra: dict | None = None) -> Path:
    """Copy `source` (an item folder or a whole batch, if present) to `dest/files/` with reports.

    `source` None records the problems only (a manifest row that names no usable folder).

    Writes `report.json` and `report.txt` beside the copy. If `dest` already holds a copy of the
    same files with the same problems (a rerun), it is kept and nothing is written; if it holds
    a different one, the new copy goes to `dest~2` (`~3`, …): quarantine never overwrites.
    Returns the folder used.
    """
    staging = dest.with_name(dest.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)  # an interrupted earlier attempt
    files, skipped = (copy_verified(source, staging / "files")
                      if source is not None and source.is_dir() and not source.is_symlink()
                      else ({}, []))
    staging.mkdir(parents=True, exist_ok=True)
    content = hashlib.sha512(json.dumps(
        {"files": files, "problems": problems}, sort_keys=True).encode()).hexdigest()
    record = {"batch_id": batch_id, "what": what,
              "source": str(source) if source is not None else None,
              "quarantined_at": now.isoformat(), "content": content, "problems": problems,
              "files": files, "skipped": skipped, **(extra or {})}
    n, target = 1, dest
    while target.exists():
        previous = json.loads((target / "report.json").read_text("utf-8"))
        if previous.get("content") == content:
            shutil.rmtree(staging)
            log.info("%s already quarantined unchanged in %s", what, target)
            return target
        n += 1
        target = dest.with_name(f"{dest.name}~{n}")
    _write_json(staging / "report.json", record)
    (staging / "report.txt").write_text(_report_text(record), "utf-8")
    staging.rename(target)
    log.warning("quarantined %s of batch %s in %s (%d problems)", what, batch_id, target,
                len(problems))
    return target


def quarantine_item(batch_dir: Path, item: dict, problems: list[dict], settings: Settings,
                    now: dt.datetime) -> Path:
    """Copy one invalid item (its folder, if any) to `<quarantine>/<batch_id>/<item_id>/`.

    Raises InvalidId when the batch folder's name or the item's id is not a valid id, and
    UnsafePath when a path built from them would leave the batch or the quarantine: nothing
    is copied then.
    """
    batch_dir = Path(batch_dir)
    batch_id = check_id(batch_dir.name, "batch_id")
    item_id = check_id(item.get("item_id"), "item_id")
    return quarantine(inside(batch_dir, item_id),
                      inside(settings.quarantine_dir, batch_id, item_id),
                      batch_id=batch_id, what=f"item {item_id}",
                      problems=problems, now=now, extra={"item": item})


def quarantine_row(batch_dir: Path, row: int, problems: list[dict], settings: Settings,
                   now: dt.datetime) -> Path:
    """Record a manifest row that is no item (its item_id is not an id) in the quarantine.

    `<quarantine>/<batch_id>/_rows/line-<row>/` holds the report only: the row's id cannot
    safely name a folder, so no files are copied (they stay in the batch, which is kept).
    """
    batch_dir = Path(batch_dir)
    batch_id = check_id(batch_dir.name, "batch_id")
    return quarantine(None, inside(settings.quarantine_dir, batch_id, "_rows", f"line-{row:05d}"),
                      batch_id=batch_id, what=f"manifest.csv line {row}", problems=problems,
                      now=now)


def quarantine_batch(batch_dir: Path, problems: list[dict], settings: Settings,
                     now: dt.datetime) -> Path:
    """Copy a batch nothing of which can be processed to `<quarantine>/<batch_id>/_batch/`.

    Raises InvalidId when the batch folder's name is not a valid batch id (a batch path ending
    in `..` included): there is no safe place to name after it.
    """
    batch_dir = Path(batch_dir)
    batch_id = check_id(batch_dir.name, "batch_id")
    return quarantine(batch_dir, inside(settings.quarantine_dir, batch_id, "_batch"),
                      batch_id=batch_id, what="the whole batch", problems=problems,
                      now=now)


RETURNED = "returned"
RETURN_CLOSED = "return-closed.json"


def return_item(item: dict, batch_id: str, source: Path, reason: str, by: str,
                settings: Settings, now: dt.datetime, version: int | None = None) -> Path:
    """Quarantine an item an archivist returned to the scanner station, with their reason.

    The copy (from `source`: the item's folder in the landing zone, or the preserved masters
    when the batch was released) goes to `<quarantine>/<batch_id>/<item_id>/` like any quarantined
    item, and its report carries `"returned": {by, reason, at, version}`, which the next
    pre-flight report of a batch holding the item shows (`returned_notices`). Returns the folder.
    """
    if not reason.strip() or not by.strip():
        raise ValueError("returning an item needs the archivist's name and reason")
    returned = {"by": by.strip(), "reason": reason.strip(), "at": now.isoformat(),
                "version": version}
    problem = {"severity": "error", "file": f"{item['item_id']}/", "row": item.get("row"),
               "item_id": item["item_id"],
               "message": f"returned to the scanner station by {by.strip()}: {reason.strip()}"}
    return quarantine(Path(source), Path(settings.quarantine_dir) / batch_id / item["item_id"],
                      batch_id=batch_id, what=f"item {item['item_id']}", problems=[problem],
                      now=now, extra={"item": item, RETURNED: returned})


def returned_notices(item_ids: set[str], settings: Settings) -> dict[str, list[dict]]:
    """Open returns of these items: {item_id: [{"by", "reason", "at", "version", "batch_id"}]}.

    Read from the quarantine reports; a return is closed (and no longer shown) once a new
    version of the item has been preserved (`close_returns`).
    """
    found: dict[str, list[dict]] = {}
    root = Path(settings.quarantine_dir)
    if not item_ids or not root.is_dir():
        return found
    for report in sorted(root.glob("*/*/report.json")):
        folder = report.parent
        item_id = folder.name.split("~")[0]
        if item_id not in item_ids or (folder / RETURN_CLOSED).exists():
            continue
        try:
            record = json.loads(report.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            log.error("skipped quarantine report %s: %s", report, exc)
            continue
        if record.get(RETURNED):
            found.setdefault(item_id, []).append({**record[RETURNED],
                                                  "batch_id": record["batch_id"],
                                                  "quarantine": str(folder)})
    return found


def close_returns(item_id: str, version: int, settings: Settings, now: dt.datetime) -> int:
    """Mark the item's open returns closed: version `version` of it was preserved since."""
    closed = 0
    for notice in returned_notices({item_id}, settings).get(item_id, []):
        if notice.get("version") is not None and notice["version"] >= version:
            continue  # the version returned itself, or a later one: still open
        _write_json(Path(notice["quarantine"]) / RETURN_CLOSED,
                    {"closed_at": now.isoformat(), "by_version": version})
        closed += 1
    return closed


def area(settings: Settings, name: str) -> Path:
    """`processed/` or `failed/`: the configured folder, else one beside the landing zone."""
    configured = settings.processed_dir if name == "processed" else settings.failed_dir
    return Path(configured) if configured else Path(settings.landing_dir).parent / name


def _move(src: Path, dest_area: Path, stamp: str) -> Path:
    """Move a batch folder into `dest_area`; across file systems, copy-verify-then-delete."""
    dest_area.mkdir(parents=True, exist_ok=True)
    target = inside(dest_area, src.name)
    if target.exists():
        target = inside(dest_area, f"{src.name}@{stamp}")
    try:
        os.rename(src, target)
        return target
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    staging = target.with_name(target.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    _, skipped = copy_verified(src, staging)
    if skipped:
        raise OSError(errno.EINVAL, f"{src} holds links or special files: {skipped}")
    staging.rename(target)
    shutil.rmtree(src)  # only now: every byte has a verified copy
    return target


def release_batch(batch_dir: Path, report: dict, settings: Settings,
                  now: dt.datetime) -> dict:
    """Move the batch out of the landing zone if, and only if, custody is complete.

    Complete means every item of `report` (the batch report of this run) is published,
    preserved (both verified in storage by `deposit`) or quarantined. A batch whose manifest
    could not be read at all goes to `failed/` once its copy is in quarantine. Anything else
    (an item failed at some stage) leaves the batch where it is, for a rerun. Returns the
    decision, also written to `<reports>/<batch_id>/custody.json`.
    """
    batch_dir = Path(batch_dir)
    batch_id = check_id(batch_dir.name, "batch_id")
    items = report.get("items", [])
    unsettled = [i["item_id"] for i in items if i["status"] not in SETTLED]
    decision = {"batch_id": batch_dir.name, "run_id": report.get("run_id"),
                "at": now.isoformat(), "source": str(batch_dir)}
    if not batch_dir.is_dir():
        decision.update(decision="gone", reason="the batch folder is no longer there")
    elif not items and report.get("quarantine"):
        decision.update(decision="failed", reason="no item could be read; the batch is in "
                        "quarantine with its report")
    elif not items or unsettled:
        decision.update(decision="kept", reason="items not yet preserved or quarantined: "
                        + (", ".join(unsettled) or "(none readable, and no quarantine copy)"))
    else:
        decision.update(decision="processed", reason="every item is preserved or quarantined")
    if decision["decision"] in ("processed", "failed"):
        decision["moved_to"] = str(_move(batch_dir, area(settings, decision["decision"]),
                                         now.strftime("%Y%m%dT%H%M%SZ")))
        log.info("batch %s released to %s", batch_dir.name, decision["moved_to"])
    _write_json(inside(settings.reports_dir, batch_id, CUSTODY_RECORD), decision)
    return decision


def purge_expired(settings: Settings, now: dt.datetime) -> list[str]:
    """Delete released batches older than `CADL_RETENTION_DAYS`; nothing when it is unset.

    Age counts from the release recorded in `<reports>/<batch_id>/custody.json`; only a folder
    that record says the pipeline moved to processed/ or failed/ is ever deleted, and the record
    keeps when it was.
    """
    if settings.retention_days is None:
        return []
    limit = now - dt.timedelta(days=settings.retention_days)
    removed = []
    for record_path in sorted(Path(settings.reports_dir).glob(f"*/{CUSTODY_RECORD}")):
        record = json.loads(record_path.read_text("utf-8"))
        moved = Path(record.get("moved_to") or "")
        if (record.get("decision") not in ("processed", "failed") or record.get("purged_at")
                or dt.datetime.fromisoformat(record["at"]) > limit):
            continue
        if moved.parent in (area(settings, "processed"), area(settings, "failed")) \
                and moved.name not in ("", ".", "..") \
                and moved == inside(moved.parent, moved.name) \
                and moved.is_dir() and not moved.is_symlink():
            shutil.rmtree(moved)
            removed.append(str(moved))
            log.info("deleted %s: released more than %d days ago", moved,
                     settings.retention_days)
        record["purged_at"] = now.isoformat()
        _write_json(record_path, record)
    return removed


def record_deferred(batch_dir: Path, run_id: str, changed: list[str], settings: Settings,
                    now: dt.datetime) -> dict:
    """Record that the batch was left for later because files changed while it was read."""
    batch_id = check_id(Path(batch_dir).name, "batch_id")
    decision = {"batch_id": batch_id, "run_id": run_id, "at": now.isoformat(),
                "source": str(batch_dir), "decision": "deferred",
                "reason": "files changed while the batch was read: " + ", ".join(changed)}
    _write_json(inside(settings.reports_dir, batch_id, CUSTODY_RECORD), decision)
    return decision
