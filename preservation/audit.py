"""Fixity audits of preservation storage: re-read, compare, repair from the replica, record.

An audit of a complete version re-reads every object the version's DEPOSITED.json lists and
compares its SHA-512 with that marker, after checking that the marker and the bag's own
manifests (`manifest-sha512.txt`, `tagmanifest-sha512.txt`, read from storage) agree. It reports
every object missing, altered or unexpected, naming the package and the file.

With a replica, both copies are audited; an object damaged or missing in one copy whose twin in
the other copy is intact is copied back (`preservation.replica.copy_object`), and a version
complete in one location only is replicated to the other. Nothing is ever deleted: an unexpected
object is reported, not removed.

Every audit of a version records a PREMIS document beside it, in the location audited:
`items/<id>/v0001/events/<UTC stamp>-<uuid>.xml` holding the version's files as PREMIS objects, a
"fixity check" event (outcome success or failure, every problem in the outcome detail) and a
"recovery" or "replication" event per repair, with the program and version that did it. A
complete version's bag is never touched; events are new objects, so object lock does not mind.

Which items a daily run audits: `item_slice(item_id, slices)` hashes the id, so the same items
always fall in the same slice and a cycle of `slices` days covers the whole archive once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel

from kernel import __version__
from kernel.errors import DepositVerificationFailed, MetadataInvalid
from metadata.premis import Agent, Event, package_event_record
from preservation.storage import Storage
from preservation.versions import MARKER, list_versions, version_prefix

log = logging.getLogger(__name__)

EVENTS = "events/"
AGENT_ID = "cadl-audit"
_FORMATS = {".tif": "TIFF", ".tiff": "TIFF", ".jp2": "JPEG 2000", ".jpg": "JPEG",
            ".jpeg": "JPEG", ".png": "PNG", ".pdf": "PDF", ".xml": "XML", ".hocr": "hOCR",
            ".txt": "Plain text", ".json": "JSON"}


class Problem(BaseModel):
    """One thing wrong with one object of one copy of a version."""

    location: str  # "primary" or "replica"
    key: str  # relative to the version, e.g. "<bag>/data/masters/p0001.tif"
    uri: str
    kind: str  # "missing" | "altered" | "unexpected" | "manifest" | "marker" | "version"
    detail: str
    repaired: bool = False


class VersionAudit(BaseModel):
    item_id: str
    version: int
    prefix: str
    objects: int = 0
    bytes: int = 0
    status: str = "ok"  # "ok" | "repaired" | "damaged"
    problems: list[Problem] = []
    events: list[str] = []  # URIs of the PREMIS event documents written


class AuditReport(BaseModel):
    """What one audit run found; `ok` is False when any problem was found, repaired or not."""

    started: str
    finished: str | None = None
    scope: str  # "items a, b", "slice 3 of 30", "all items"
    primary: str
    replica: str | None = None
    versions: list[VersionAudit] = []

    @property
    def problems(self) -> list[Problem]:
        return [p for v in self.versions for p in v.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict:
        problems = self.problems
        return {"items": len({v.item_id for v in self.versions}), "versions": len(self.versions),
                "objects": sum(v.objects for v in self.versions),
                "bytes": sum(v.bytes for v in self.versions),
                "problems": len(problems), "repaired": sum(p.repaired for p in problems),
                "unrepaired": sum(not p.repaired for p in problems)}


# -- which items ---------------------------------------------------------------------------------

def item_slice(item_id: str, slices: int) -> int:
    """The slice (0 … slices-1) an item falls in: stable across runs, machines and Python."""
    return int(hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:12], 16) % slices


def day_slice(day: dt.date, slices: int) -> int:
    """The slice a daily run on `day` audits; consecutive days walk through every slice."""
    return day.toordinal() % slices


def list_items(storage: Storage) -> list[str]:
    """Every item id with anything under `items/` in `storage`, sorted."""
    return sorted({key.split("/")[1] for key in storage.list("items/") if key.count("/") >= 2})


# -- one copy of one version ---------------------------------------------------------------------

def _parse_manifest(raw: bytes) -> dict[str, str]:
    entries = {}
    for line in raw.decode("utf-8").splitlines():
        digest, sep, name = line.strip().partition(" ")
        if sep and name.strip():
            entries[name.strip()] = digest.lower()
    return entries


def _check_copy(storage: Storage, location: str, prefix: str,
                marker: dict) -> tuple[list[Problem], set[str]]:
    """Problems of one copy of a complete version, and the keys whose content was confirmed."""
    problems: list[Problem] = []

    def problem(key: str, kind: str, detail: str) -> None:
        problems.append(Problem(location=location, key=key, uri=storage.uri(prefix + key),
                                kind=kind, detail=detail))

    expected = {o["key"]: o for o in marker["objects"]}
    bag = marker["bag"]
    # The marker is the anchor; the bag's own manifests must say the same. The payload manifest
    # covers every data/ file; the tag manifest covers every tag file it lists.
    for name in ("manifest-sha512.txt", "tagmanifest-sha512.txt"):
        try:
            manifest = _parse_manifest(storage.get_bytes(f"{prefix}{bag}/{name}"))
        except FileNotFoundError:
            continue  # reported below as a missing object
        except UnicodeDecodeError:
            problem(f"{bag}/{name}", "manifest", "not UTF-8 text")
            continue
        for rel, digest in sorted(manifest.items()):
            key = f"{bag}/{rel}"
            if key not in expected:
                problem(key, "manifest", f"{name} lists {rel}, DEPOSITED.json does not")
            elif digest != expected[key]["sha512"]:
                problem(key, "manifest", f"{name} gives sha512 {digest[:16]}…, DEPOSITED.json "
                        f"{expected[key]['sha512'][:16]}…")
        if name == "manifest-sha512.txt":
            for key in sorted(expected):
                rel = key[len(bag) + 1:]
                if rel.startswith("data/") and rel not in manifest:
                    problem(key, "manifest", f"{name} does not list {rel}")

    present = {info.key[len(prefix):]: info for info in storage.list_info(prefix)}
    confirmed = set()
    for key, obj in sorted(expected.items()):
        info = present.get(key)
        if info is None:
            problem(key, "missing", "object missing from storage")
            continue
        if info.size != obj["size"]:
            problem(key, "altered", f"{info.size} bytes stored, {obj['size']} deposited")
            continue
        try:
            found = storage.sha512(prefix + key)
        except FileNotFoundError:
            problem(key, "missing", "object vanished while being read")
            continue
        if found != obj["sha512"]:
            problem(key, "altered", f"sha512 {found[:16]}… stored, {obj['sha512'][:16]}… deposited")
        else:
            confirmed.add(key)
    for key in sorted(present):
        if key not in expected and key != MARKER and not key.startswith(EVENTS):
            problem(key, "unexpected", "object not part of the deposited version (left alone)")
    return problems, confirmed


def _read_marker(storage: Storage, prefix: str) -> dict | None:
    try:
        return json.loads(storage.get_bytes(prefix + MARKER).decode("utf-8"))
    except FileNotFoundError:
        return None


# -- PREMIS events -------------------------------------------------------------------------------

def record_events(storage: Storage, prefix: str, events: list[Event], now: dt.datetime,
                  id_factory: Callable[[], uuid.UUID], agents: Sequence[Agent] = ()) -> str:
    """Write a PREMIS document of `events` about the package at `prefix`, beside the package.

    Built with `metadata.premis.package_event_record` (the package is its one object) and
    validated against the PREMIS 3.0 XSD before writing; raises MetadataInvalid if not valid.
    `agents` (the library keeping the copies, the operator) are linked to every event beside
    the audit's software agent. Returns the URI written.
    """
    from metadata.validate import validate

    agent = Agent(id_value=AGENT_ID, name="cadl fixity audit (preservation.audit)",
                  type="software", version=__version__)
    others = [a for a in agents if a.id_value != AGENT_ID]
    if others:
        ids = [a.id_value for a in others]
        events = [dataclasses.replace(e, agent_ids=(*e.agent_ids, *ids)) for e in events]
    body = package_event_record(prefix.rstrip("/"), events, [agent, *others])
    errors = validate(body, "premis")
    if errors:
        raise MetadataInvalid(f"PREMIS audit record for {prefix} is invalid: {'; '.join(errors)}")
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    key = f"{prefix}{EVENTS}{stamp}-{id_factory()}.xml"
    storage.put_bytes(key, body)
    return storage.uri(key)


def _event(event_type: str, now: dt.datetime, outcome: str, detail: str, prefix: str,
           outcome_detail: str | None, id_factory) -> Event:
    return Event.create(event_type, now, outcome, detail, [AGENT_ID], [prefix.rstrip("/")],
                        outcome_detail, id_factory=id_factory)


# -- one item ------------------------------------------------------------------------------------

def audit_item(
    primary: Storage,
    item_id: str,
    now: dt.datetime,
    *,
    replica: Storage | None = None,
    repair: bool = True,
    record: bool = True,
    id_factory: Callable[[], uuid.UUID] = uuid.uuid4,
    agents: Sequence[Agent] = (),
) -> list[VersionAudit]:
    """Audit every complete version of `item_id` in `primary` (and `replica`), repairing if asked.

    Returns one VersionAudit per version complete in either location. Never raises for damage
    found (it is in the result); raises StorageUnavailable / ConfigError when a location cannot
    be read at all. `agents` are named in the recorded events beside the software.
    """
    from preservation.replica import copy_object, replicate_version

    locations = {"primary": primary, **({"replica": replica} if replica is not None else {})}
    numbers: dict[int, dict[str, bool]] = {}
    for name, storage in locations.items():
        for v in list_versions(storage, item_id):
            numbers.setdefault(v.number, {})[name] = v.complete
    results = []
    for number in sorted(numbers):
        prefix = version_prefix(item_id, number)
        markers = {name: _read_marker(storage, prefix) if numbers[number].get(name) else None
                   for name, storage in locations.items()}
        marker = markers.get("primary") or markers.get("replica")
        if marker is None:
            continue  # an interrupted deposit, resumed by the next deposit; not audited
        audit = VersionAudit(item_id=item_id, version=number, prefix=prefix,
                             objects=len(marker["objects"]),
                             bytes=sum(o["size"] for o in marker["objects"]))
        found: dict[str, list[Problem]] = {}
        confirmed: dict[str, set[str]] = {}
        for name, storage in locations.items():
            if markers[name] is None:
                found[name] = [Problem(location=name, key=MARKER, uri=storage.uri(prefix + MARKER),
                                       kind="version", detail="version missing or incomplete "
                                       "in this location")]
                confirmed[name] = set()
            else:
                if markers[name] != marker:
                    found.setdefault(name, []).append(Problem(
                        location=name, key=MARKER, uri=storage.uri(prefix + MARKER),
                        kind="marker", detail="DEPOSITED.json differs between the two copies"))
                problems, confirmed[name] = _check_copy(storage, name, prefix, markers[name])
                found[name] = found.get(name, []) + problems

        repairs: dict[str, list[Event]] = {name: [] for name in locations}
        if repair and len(locations) == 2:
            with tempfile.TemporaryDirectory(prefix="cadl-repair-") as scratch:
                for bad, good in (("primary", "replica"), ("replica", "primary")):
                    digests = {o["key"]: o["sha512"] for o in marker["objects"]}
                    for p in found[bad]:
                        if p.kind == "version" and markers[good] is not None and not found[good]:
                            try:
                                n = replicate_version(locations[good], locations[bad], item_id,
                                                      number)
                            except DepositVerificationFailed as exc:
                                p.detail += f"; replication failed: {exc}"
                                continue
                            p.repaired = True
                            repairs[bad].append(_event(
                                "replication", now, "success",
                                f"copied version {prefix} from {locations[good].url} "
                                f"({n} objects uploaded, verified by SHA-512)",
                                prefix, None, id_factory))
                        elif p.kind in ("missing", "altered") and p.key in confirmed[good]:
                            try:
                                copy_object(locations[good], locations[bad], prefix + p.key,
                                            digests[p.key], Path(scratch))
                            except DepositVerificationFailed as exc:
                                p.detail += f"; repair failed: {exc}"
                                continue
                            p.repaired = True
                            log.warning("repaired %s from %s", p.uri, locations[good].url)
                            repairs[bad].append(_event(
                                "recovery", now, "success",
                                f"restored {p.key} ({p.kind}) from the copy in "
                                f"{locations[good].url}; re-read and SHA-512 verified",
                                prefix, p.detail, id_factory))
        for name in locations:
            audit.problems += found[name]
        if audit.problems:
            audit.status = "repaired" if all(p.repaired for p in audit.problems) else "damaged"

        if record:
            for name, storage in locations.items():
                mine = found[name]
                if _read_marker(storage, prefix) is None:
                    continue  # never write into a version that is not complete there
                outcome = "failure" if mine else "success"
                detail = "; ".join(f"{p.key}: {p.kind}, {p.detail}"
                                   f"{' (repaired)' if p.repaired else ''}" for p in mine)
                events = [_event(
                    "fixity check", now, outcome,
                    f"re-read {audit.objects} objects ({audit.bytes} bytes) of {prefix} in "
                    f"{storage.url}; compared SHA-512 with DEPOSITED.json, manifest-sha512.txt "
                    "and tagmanifest-sha512.txt",
                    prefix, detail or None, id_factory)]
                audit.events.append(record_events(storage, prefix, events + repairs[name], now,
                                                  id_factory, agents))
        for p in audit.problems:
            log.error("fixity: item %s v%04d %s %s: %s%s", item_id, number, p.location, p.key,
                      p.detail, " (repaired)" if p.repaired else "")
        results.append(audit)
    return results


def audit(
    primary: Storage,
    item_ids: Iterable[str],
    now: dt.datetime,
    *,
    scope: str,
    replica: Storage | None = None,
    repair: bool = True,
    record: bool = True,
    clock: Callable[[], dt.datetime] | None = None,
    agents: Sequence[Agent] = (),
) -> AuditReport:
    """Audit each of `item_ids`; see `audit_item`. An id with no version anywhere is a problem."""
    report = AuditReport(started=now.isoformat(), scope=scope, primary=primary.url,
                         replica=replica.url if replica is not None else None)
    for item_id in item_ids:
        versions = audit_item(primary, item_id, now, replica=replica, repair=repair,
                              record=record, agents=agents)
        if not versions:
            prefix = f"items/{item_id}/"
            versions = [VersionAudit(item_id=item_id, version=0, prefix=prefix, status="damaged",
                                     problems=[Problem(location="primary", key="", kind="version",
                                                       uri=primary.uri(prefix.rstrip("/")),
                                                       detail="no complete version of this item")])]
        report.versions += versions
    report.finished = (clock or (lambda: now))().isoformat()
    return report


def write_report(report: AuditReport, folder: Path) -> tuple[Path, Path]:
    """Write audit.json and audit.txt into `folder` (created); return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data = report.model_dump(mode="json")
    data["summary"] = report.summary()
    data["ok"] = report.ok
    json_path = folder / "audit.json"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    s = report.summary()
    lines = [f"Fixity audit of {report.primary}"
             + (f" and replica {report.replica}" if report.replica else ""),
             f"Scope:    {report.scope}", f"Started:  {report.started}",
             f"Checked:  {s['items']} items, {s['versions']} versions, {s['objects']} objects, "
             f"{s['bytes']} bytes",
             f"Problems: {s['problems']} ({s['repaired']} repaired, {s['unrepaired']} not)", ""]
    for v in report.versions:
        lines.append(f"{v.status.upper():9} {v.item_id} v{v.version:04d}")
        for p in v.problems:
            lines.append(f"          {p.location}: {p.uri}: {p.kind}: {p.detail}"
                         f"{' — REPAIRED' if p.repaired else ''}")
    text_path = folder / "audit.txt"
    text_path.write_text("\n".join(lines) + "\n", "utf-8")
    return json_path, text_path
