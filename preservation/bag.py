"""BagIt 1.0 bags (RFC 8493): build, validate, read manifests.

We write bags ourselves instead of calling bagit-python's `make_bag`, for two reasons: it writes
"BagIt-Version: 0.97", and it moves the files it bags into `data/` in place — on a batch folder
that would rearrange the scanner's originals. Here the payload is copied into a staging folder
(`<bag_dir>.partial`), every copy is checked against its source's SHA-512 (masters must be
byte-identical to what was scanned), and the finished bag is renamed into place, so a bag folder
that exists is always complete.

Validation does use bagit-python (`Bag.validate()`), an independent implementation of the spec.

Payload paths are safe ASCII (`masters/p0001.tif`); the Unicode names the technicians gave the
files live in METS. Tag files are UTF-8, and bag-info.txt values may be Arabic or Chinese.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
from pathlib import Path

import bagit
from pydantic import BaseModel

from kernel.errors import BagInvalid, ConfigError
from preservation.storage import file_sha512, validate_key

log = logging.getLogger(__name__)

ALGORITHM = "sha512"
MANIFEST = f"manifest-{ALGORITHM}.txt"
TAGMANIFEST = f"tagmanifest-{ALGORITHM}.txt"
# Every manifest is written for each of these (config/bagit-profile.json requires both): sha512
# is our fixity; sha256 is what most other repositories and cloud stores check natively.
ALGORITHMS = ("sha512", "sha256")
PROFILE_FILE = Path(__file__).resolve().parents[1] / "config" / "bagit-profile.json"
# Where the profile JSON is published in the access location (publication.feed writes it there);
# its BagIt-Profile-Identifier is that key's public URL (`profile_id`), BagIt Profiles spec 1.4.
PROFILE_KEY = "profiles/bagit-item-package-1.0.json"
# Names at the bag root that are the bag's own; a tag file of ours may not take them.
RESERVED_TAG_NAMES = ("bagit.txt", "bag-info.txt", "fetch.txt", "data")
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
# Fields we compute; a caller giving them would produce a bag that lies about itself.
COMPUTED_FIELDS = ("Payload-Oxum", "Bag-Size")


class BagReport(BaseModel):
    """Result of validating one bag; `errors` names each file and what is wrong with it."""

    path: str
    is_valid: bool
    errors: list[str] = []


def profile_id(settings) -> str:
    """The BagIt-Profile-Identifier of this deployment: the public URL of PROFILE_KEY in the
    access location (CADL_ACCESS_BASE_URL), where the profile JSON is published, so the
    identifier resolves. A development run (kernel.deployment) may use its loopback or file://
    URL; a real deployment must serve the access location over https, else ConfigError naming
    CADL_ACCESS_BASE_URL (the BagIt Profiles spec wants an https URI that returns the JSON)."""
    from kernel.deployment import access_base, is_development

    base = access_base(settings)
    if not base.startswith("https://") and not is_development(settings):
        raise ConfigError(
            f"CADL_ACCESS_BASE_URL is {base!r}: the BagIt profile identifier written into every "
            "bag is <CADL_ACCESS_BASE_URL>/" + PROFILE_KEY + ", which must be an https URL in a "
            "real deployment; set CADL_ACCESS_BASE_URL to the https URL the access location "
            "is served at")
    return f"{base}/{PROFILE_KEY}"


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _check_bag_info(bag_info: dict[str, str]) -> None:
    for label, value in bag_info.items():
        if not label or label != label.strip() or ":" in label or "\n" in label:
            raise ValueError(f"bag-info label {label!r} is not a valid BagIt tag name")
        if label in COMPUTED_FIELDS:
            raise ValueError(f"bag-info field {label!r} is computed by build_bag; do not pass it")
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise ValueError(f"bag-info value of {label!r} must be a one-line string, got {value!r}")


def _check_payload(payload: list[tuple[Path, str]]) -> None:
    seen: dict[str, str] = {}
    for source, inner in payload:
        validate_key(inner)
        # Case-folded duplicates would overwrite each other on macOS/Windows file systems.
        folded = inner.lower()
        if folded in seen:
            raise ValueError(f"payload path {inner!r} collides with {seen[folded]!r}")
        seen[folded] = inner
        if not Path(source).is_file():
            raise FileNotFoundError(f"payload source {source} is not a file")


def _digests(path: Path) -> dict[str, str]:
    """{algorithm: hex digest} of `path` for every algorithm of ALGORITHMS, in one read."""
    hashes = {alg: hashlib.new(alg) for alg in ALGORITHMS}
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            for h in hashes.values():
                h.update(chunk)
    return {alg: h.hexdigest() for alg, h in hashes.items()}


def _check_tag_files(tag_files: list[tuple[Path, str]]) -> None:
    for source, name in tag_files:
        if ("/" in name or "\\" in name or name in RESERVED_TAG_NAMES or name.startswith(".")
                or name.startswith(("manifest-", "tagmanifest-"))):
            raise ValueError(f"tag file name {name!r} must be a plain file name at the bag root, "
                             f"not one of {', '.join(RESERVED_TAG_NAMES)} or a manifest")
        if not Path(source).is_file():
            raise FileNotFoundError(f"tag file source {source} is not a file")


def _write_text(path: Path, text: str) -> None:
    # newline="" so "\n" is written as is on every platform: tag manifests hash exact bytes.
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(text)


def build_bag(
    bag_dir: Path,
    payload: list[tuple[Path, str]],
    bag_info: dict[str, str],
    *,
    bagging_date: dt.date | None = None,
    tag_files: list[tuple[Path, str]] = (),
    profile: str | None = None,
) -> Path:
    """Build a BagIt 1.0 bag at `bag_dir` holding copies of `payload`; return `bag_dir`.

    `payload` pairs a source file with its path inside `data/` (safe ASCII, e.g.
    "masters/p0001.tif"). Sources are copied, never moved. `bag_info` fields are written in sorted
    order with Bagging-Date (from `bagging_date`, else today, unless given in `bag_info`),
    BagIt-Profile-Identifier (`profile`, else `profile_id` of the settings in force, unless given
    in `bag_info`), Payload-Oxum
    and Bag-Size added. `tag_files` pairs a source with a plain file name at the bag root (the
    METS "mets.xml", the PREMIS "premis-events.xml"); they are copied and listed in the tag
    manifests. Payload and tag manifests are written for sha512 and sha256; lines are sorted by
    path, so the same input gives byte-identical tag files.

    Raises FileExistsError if `bag_dir` exists, ValueError for an unsafe payload path or bad
    bag-info field, FileNotFoundError for a missing source, BagInvalid if a copy differs from its
    source. A leftover `<bag_dir>.partial` from an interrupted run is removed and rebuilt.
    """
    bag_dir = Path(bag_dir)
    if bag_dir.exists():
        raise FileExistsError(f"bag folder {bag_dir} already exists; bags are never rewritten")
    _check_payload(payload)
    _check_bag_info(bag_info)
    tag_files = list(tag_files)
    _check_tag_files(tag_files)
    if profile is None and "BagIt-Profile-Identifier" not in bag_info:
        from kernel.settings import get_settings

        profile = profile_id(get_settings())  # before any copy: a ConfigError leaves nothing

    staging = bag_dir.with_name(bag_dir.name + ".partial")
    if staging.exists():
        log.warning("removing unfinished bag %s from an interrupted run", staging)
        shutil.rmtree(staging)
    data = staging / "data"
    data.mkdir(parents=True)

    manifest: dict[str, str] = {}
    manifests: dict[str, dict[str, str]] = {alg: {} for alg in ALGORITHMS}
    total = 0
    for source, inner in sorted(payload, key=lambda pair: pair[1]):
        target = data / inner
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        expected, digests = file_sha512(source), _digests(target)
        found = digests[ALGORITHM]
        if expected != found:
            raise BagInvalid(
                f"copy of {source} into the bag differs from the source "
                f"(sha512 {expected[:16]}… vs {found[:16]}…); check the disk and rebuild"
            )
        manifest[f"data/{inner}"] = found
        for alg, digest in digests.items():
            manifests[alg][f"data/{inner}"] = digest
        total += target.stat().st_size

    info = dict(bag_info)
    info.setdefault("Bagging-Date", (bagging_date or dt.date.today()).isoformat())
    info.setdefault("BagIt-Profile-Identifier", profile)
    info["Payload-Oxum"] = f"{total}.{len(manifest)}"
    info["Bag-Size"] = _human_size(total)

    _write_text(staging / "bagit.txt", BAGIT_TXT)
    _write_text(staging / "bag-info.txt", "".join(f"{k}: {info[k]}\n" for k in sorted(info)))
    for alg, entries in manifests.items():
        _write_text(staging / f"manifest-{alg}.txt",
                    "".join(f"{entries[p]}  {p}\n" for p in sorted(entries)))
    for source, name in tag_files:
        shutil.copyfile(source, staging / name)
    tag_names = ["bag-info.txt", "bagit.txt", *[f"manifest-{alg}.txt" for alg in ALGORITHMS],
                 *[name for _, name in tag_files]]
    tags = {name: _digests(staging / name) for name in tag_names}
    for alg in ALGORITHMS:
        _write_text(staging / f"tagmanifest-{alg}.txt",
                    "".join(f"{tags[n][alg]}  {n}\n" for n in sorted(tags)))

    os.rename(staging, bag_dir)
    log.info("built bag %s: %d files, %d bytes", bag_dir, len(manifest), total)
    return bag_dir


def _read_manifest(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition(" ")
        if not sep or not name.strip():
            raise BagInvalid(f"{path.name} line {number} is not '<digest> <path>': {line!r}")
        entries[name.strip()] = digest.lower()
    return entries


def payload_manifest(bag_dir: Path) -> dict[str, str]:
    """Return {bag-relative payload path ("data/…") → sha512} from manifest-sha512.txt."""
    return _read_manifest(Path(bag_dir) / MANIFEST)


def tag_manifest(bag_dir: Path) -> dict[str, str]:
    """Return {tag file name → sha512} from tagmanifest-sha512.txt."""
    return _read_manifest(Path(bag_dir) / TAGMANIFEST)


def _file_problems(bag: bagit.Bag) -> list[str]:
    """Every missing, unexpected or altered file, found with bagit-python's own listings.

    `Bag.validate()` stops at the first failing stage (Payload-Oxum, then completeness, then
    checksums), but a report must name every problem, so after a failure we run the remaining
    checks ourselves.
    """
    problems: list[str] = []
    only_in_manifests, only_on_fs = bag.compare_manifests_with_fs()
    problems += [str(bagit.FileMissing(p)) for p in sorted(only_in_manifests)]
    problems += [str(bagit.UnexpectedFile(p)) for p in sorted(only_on_fs)]
    missing = set(only_in_manifests)
    for rel_path in sorted(bag.entries):
        if rel_path in missing or not os.path.isfile(os.path.join(bag.path, rel_path)):
            continue
        expected = bag.entries[rel_path].get(ALGORITHM)
        if expected is None:
            continue
        found = file_sha512(Path(bag.path) / rel_path)
        if expected.lower() != found:
            problems.append(str(bagit.ChecksumMismatch(rel_path, ALGORITHM, expected.lower(), found)))
    return problems


def validate_bag(path: Path) -> BagReport:
    """Validate the bag at `path` fully (structure, completeness, every checksum).

    Never raises for an invalid bag: the report lists every problem, each naming its file.
    """
    path = Path(path)
    errors: list[str] = []
    try:
        bag = bagit.Bag(str(path))
    except bagit.BagError as exc:
        return BagReport(path=str(path), is_valid=False, errors=[f"{path}: {exc}"])
    try:
        bag.validate()
    except bagit.BagValidationError as exc:
        errors += [str(detail) for detail in exc.details] or [exc.message]
        if (path / "data").is_dir() and list(bag.manifest_files()):
            errors += [p for p in _file_problems(bag) if p not in errors]
    except bagit.BagError as exc:
        errors.append(str(exc))
    if bag.version_info != (1, 0):
        errors.append(f"bagit.txt: BagIt-Version is {bag.version}, expected 1.0")
    return BagReport(path=str(path), is_valid=not errors, errors=errors)


def assert_valid_bag(path: Path) -> None:
    """Raise BagInvalid listing every problem if the bag at `path` is not valid."""
    report = validate_bag(path)
    if not report.is_valid:
        raise BagInvalid(f"bag {path} is invalid: " + "; ".join(report.errors))
