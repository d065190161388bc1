"""Strict validation of bags we did not make: partner deliveries and bags archivists point at.

bagit-python does the checksum and completeness work, but it is lenient where a partner's bag
must not be: it accepts `BagIt-Version : 1.0` (a space before the colon, which RFC 8493 §2.1.1
forbids; the conformance suite's v1.0/invalid/bagit-with-invalid-whitespace), Windows drive,
UNC and %VARIABLE% paths in fetch.txt, and a 1.0 bag whose file is missing from one of two
payload manifests (it merges them into one list; §2.1.3 says every payload file MUST be listed
in every payload manifest); and it stops at the first failing stage. So every tag file is read
here first, every manifest and fetch path is checked for escaping the bag, the RFC's other
checkable MUSTs are checked (bagit.txt exactly two UTF-8 lines in order, a data/ folder, CR
and LF percent-encoded in 1.0 paths, no tag manifest listed in a tag manifest, fetch.txt with
absolute URLs, octet lengths and only payload files that every manifest lists), and *every*
reason is reported. What the RFC allows but suggests a sloppy tool (md5-only manifests, `./`
paths, `*` binary markers, a file listed twice with one digest in a pre-1.0 bag) is a warning.

Serialized bags (zip, tar) are unpacked only inside a folder of their own, refusing members
that would land elsewhere (absolute, `..`, links, devices). XML in a partner's payload is
parsed with entity expansion, DTD loading and network access off.
"""

from __future__ import annotations

import logging
import re
import tarfile
import unicodedata
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import bagit
from lxml import etree
from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

_BAGIT_FIELDS = ("BagIt-Version", "Tag-File-Character-Encoding")
_BAGIT_LINE = re.compile(r"^(BagIt-Version|Tag-File-Character-Encoding): (\S.*)$")
# RFC 8493 §2.1.3: in a 1.0 manifest CR, LF and % (only these) are percent-encoded.
# bagit-python (1.9) decodes only %0A and %0D and writes % raw; so do we (see _manifest_path).
_PERCENT = re.compile(r"%(0A|0D)", re.IGNORECASE)
_RAW_PERCENT = re.compile(r"%(?!(0A|0D|25))", re.IGNORECASE)
_VERSION = re.compile(r"^\d+\.\d+$")
_WEAK = {"md5", "sha1"}


class BagCheckReport(BaseModel):
    path: str
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    version: str | None = None

    @property
    def is_valid(self) -> bool:
        return not self.errors


def path_problem(raw: str) -> str | None:
    """Why a path from a manifest or fetch.txt is unsafe, or None; paths stay inside the bag."""
    if not raw:
        return "empty path"
    if "\\" in raw or re.match(r"^[A-Za-z]:", raw) or re.search(r"%[A-Za-z_]+%", raw):
        return f"Windows-style path {raw!r} (drive, UNC, backslash or %VARIABLE%)"
    if raw.startswith("/"):
        return f"absolute path {raw!r}"
    if raw.startswith("~"):
        return f"home-directory path {raw!r}"
    if any(ch in raw for ch in "\x00\r\n"):
        return f"path {raw!r} contains a control character"
    if ".." in PurePosixPath(raw).parts:
        return f"path {raw!r} escapes the bag with '..'"
    return None


def _decode(data: bytes, encoding: str) -> str:
    return data.decode(encoding).lstrip("\ufeff")


def _check_bagit_txt(bag: Path, report: BagCheckReport) -> str:
    """Check bagit.txt byte by byte; return the declared tag-file encoding."""
    path = bag / "bagit.txt"
    if not path.is_file():
        report.errors.append("bagit.txt is missing: this is not a bag")
        return "utf-8"
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        report.errors.append("bagit.txt starts with a byte-order mark (RFC 8493 §2.1.1 forbids it)")
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.errors.append(f"bagit.txt is not UTF-8 (RFC 8493 §2.1.1): byte {exc.start} "
                             f"is {raw[exc.start:exc.start + 1]!r}")
        text = raw.decode("utf-8", "replace")
    fields: dict[str, str] = {}
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        match = _BAGIT_LINE.match(line)
        if not match:
            report.errors.append(f"bagit.txt line {number} is not 'Name: value' with exactly "
                                 f"': ' between them: {line!r}")
            continue
        if match[1] in fields:
            report.errors.append(f"bagit.txt line {number} repeats {match[1]}")
        fields[match[1]] = match[2]
    names = [m[1] for m in map(_BAGIT_LINE.match, lines) if m]
    if len(lines) != 2 or names != list(_BAGIT_FIELDS):
        report.errors.append("bagit.txt must be exactly two lines, BagIt-Version then "
                             f"Tag-File-Character-Encoding (RFC 8493 §2.1.1); it has "
                             f"{len(lines)} line(s): {', '.join(names) or 'no field'}")
    version = fields.get("BagIt-Version")
    report.version = version
    if version is None:
        report.errors.append("bagit.txt has no BagIt-Version")
    elif not _VERSION.match(version):
        report.errors.append(f"BagIt-Version {version!r} is not MAJOR.MINOR")
    encoding = fields.get("Tag-File-Character-Encoding")
    if encoding is None:
        report.errors.append("bagit.txt has no Tag-File-Character-Encoding")
        return "utf-8"
    try:
        "".encode(encoding)
    except LookupError:
        report.errors.append(f"unknown Tag-File-Character-Encoding {encoding!r}")
        return "utf-8"
    return encoding


def _is_v1(report: BagCheckReport) -> bool:
    return bool(report.version and _VERSION.match(report.version)
                and tuple(int(x) for x in report.version.split(".")) >= (1, 0))


def _manifest_path(name: str, v1: bool, where: str, report: BagCheckReport) -> str:
    """The file path a manifest line means: %0A and %0D decoded in a 1.0 bag.

    RFC 8493 §2.1.3 also says a literal % MUST be written %25, but bagit-python, which made most
    bags partners send, writes it raw and reads %25 as three characters. Refusing raw % would
    refuse those bags for a name the bag still identifies unambiguously, so it is a warning,
    and %25 is read the way bagit-python reads it.
    """
    if not v1:
        return name
    if _RAW_PERCENT.search(name):
        report.warnings.append(f"{where}: path {name!r} has a '%' that is not %25, %0A or %0D "
                               "(RFC 8493 §2.1.3 wants a literal % written %25; read as "
                               "bagit-python writes it)")
    return _PERCENT.sub(lambda m: {"0a": "\n", "0d": "\r"}[m[1].lower()], name)


def _payload_files(bag: Path) -> set[str]:
    """Every file under data/, as a bag-relative POSIX path in NFC."""
    data = bag / "data"
    if not data.is_dir():
        return set()
    return {unicodedata.normalize("NFC", p.relative_to(bag).as_posix())
            for p in data.rglob("*") if p.is_file() or p.is_symlink()}


def _check_manifests(bag: Path, encoding: str, report: BagCheckReport) -> dict[str, set[str]]:
    """Check every manifest's lines; return {payload manifest name: set of NFC paths}."""
    v1 = _is_v1(report)
    listed: dict[str, set[str]] = {}
    algorithms = []
    for manifest in sorted(bag.glob("*manifest-*.txt")):
        payload = manifest.name.startswith("manifest-")
        if payload:
            algorithms.append(manifest.stem.split("-", 1)[1])
            listed[manifest.name] = set()
        try:
            text = _decode(manifest.read_bytes(), encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            report.errors.append(f"{manifest.name} is not in the declared {encoding}: {exc}")
            continue
        seen: dict[str, str] = {}
        nfc: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split(None, 1)
            if len(parts) != 2:
                report.errors.append(f"{manifest.name} line {number} is not '<digest> <path>'")
                continue
            digest, name = parts[0].lower(), parts[1].strip()
            if name.startswith("*"):
                report.warnings.append(f"{manifest.name} line {number}: '*' binary marker from "
                                       "md5sum-style tools")
                name = name[1:]
            if name.startswith("./"):
                report.warnings.append(f"{manifest.name} line {number}: path {name!r} starts "
                                       "with './'")
                name = name[2:]
            if problem := path_problem(name):
                report.errors.append(f"{manifest.name} line {number}: {problem}")
                continue
            name = _manifest_path(name, v1, f"{manifest.name} line {number}", report)
            if payload and not name.startswith("data/"):
                report.errors.append(f"{manifest.name} line {number}: payload path {name!r} is "
                                     "not under data/")
            if not payload and PurePosixPath(name).name.startswith("tagmanifest-"):
                report.errors.append(f"{manifest.name} line {number}: lists the tag manifest "
                                     f"{name!r} (RFC 8493 §2.2.1: a tag manifest MUST NOT list "
                                     "tag manifests)")
            if name in seen:
                same = seen[name] == digest
                message = (f"{manifest.name} line {number}: {name!r} is listed twice"
                           f"{' with the same digest' if same else ' with different digests'}")
                (report.errors if v1 or not same else report.warnings).append(message)
            seen[name] = digest
            key = unicodedata.normalize("NFC", name)
            if key in nfc and nfc[key] != name:
                report.warnings.append(f"{manifest.name}: {name!r} and {nfc[key]!r} differ only "
                                       "in Unicode normalization")
            nfc[key] = name
            if payload:
                listed[manifest.name].add(key)
    if not algorithms:
        report.errors.append("no payload manifest (manifest-<algorithm>.txt)")
    elif set(algorithms) <= _WEAK:
        report.warnings.append(f"only weak checksums ({', '.join(sorted(algorithms))}); "
                               "sha256 or sha512 expected")
    if not (bag / "data").is_dir():
        report.errors.append("no data/ folder (RFC 8493 §2.1.2: the payload directory MUST "
                             "exist, even if empty)")
    return listed


def _check_every_manifest_lists_every_file(bag: Path, listed: dict[str, set[str]],
                                           fetched: set[str], report: BagCheckReport) -> None:
    """RFC 8493 §2.1.3 and §3: every payload file MUST be listed in every payload manifest.

    bagit-python merges all manifests into one list, so a file missing from one of two
    manifests passes it; here each manifest is compared on its own. Files still to be fetched
    count as present.
    """
    files = _payload_files(bag) | fetched
    for manifest, paths in sorted(listed.items()):
        for missing in sorted(files - paths):
            report.errors.append(f"{manifest} does not list payload file {missing!r} (RFC 8493 "
                                 "§2.1.3: every payload file MUST be listed in every payload "
                                 "manifest)")


def _check_fetch(bag: Path, encoding: str, listed: dict[str, set[str]],
                 report: BagCheckReport) -> set[str]:
    """Check fetch.txt (RFC 8493 §2.2.3); return the payload paths it promises."""
    fetch = bag / "fetch.txt"
    promised: set[str] = set()
    if not fetch.is_file():
        return promised
    v1 = _is_v1(report)
    for number, line in enumerate(_decode(fetch.read_bytes(), encoding).splitlines(), 1):
        parts = line.split(None, 2)
        where = f"fetch.txt line {number}"
        if len(parts) != 3:
            if line.strip():
                report.errors.append(f"{where} is not '<url> <length> <path>'")
            continue
        url, length, name = parts[0], parts[1], parts[2].strip()
        if problem := path_problem(name):
            report.errors.append(f"{where}: {problem}")
            continue
        name = _manifest_path(name, v1, where, report)
        split = urlsplit(url)
        if not (split.scheme and (split.netloc or split.path)):
            report.errors.append(f"{where}: {url!r} is not an absolute URL (RFC 8493 §2.2.3)")
        if length != "-" and not length.isdigit():
            report.errors.append(f"{where}: length {length!r} is neither a number of octets "
                                 "nor '-' (RFC 8493 §2.2.3)")
        if not name.startswith("data/"):
            report.errors.append(f"{where}: {name!r} is a tag file; fetch.txt MUST NOT list "
                                 "tag files (RFC 8493 §2.2.3)")
            continue
        key = unicodedata.normalize("NFC", name)
        promised.add(key)
        for manifest, paths in sorted(listed.items()):
            if key not in paths:
                report.errors.append(f"{where}: {name!r} is not in {manifest} (RFC 8493 "
                                     "§2.2.3: every fetched file MUST be listed in every "
                                     "payload manifest)")
    report.warnings.append("fetch.txt lists files to download: the bag is not complete as sent")
    return promised


def _check_with_bagit_python(bag: Path, report: BagCheckReport) -> None:
    """Completeness and every checksum, all failures listed (not only the first stage's)."""
    try:
        parsed = bagit.Bag(str(bag))
    except bagit.BagError as exc:
        report.errors.append(str(exc))
        return
    except (ValueError, LookupError, AttributeError, TypeError) as exc:
        # bagit-python 1.9 crashes rather than refuses on some broken tag files (a repeated
        # bagit.txt field, bytes that are not UTF-8); the reasons are reported above.
        report.errors.append(f"bagit-python cannot read this bag ({type(exc).__name__}: {exc})")
        return
    for stage in (parsed._validate_structure, parsed._validate_bagittxt,
                  lambda: parsed._validate_oxum(), lambda: parsed._validate_completeness(),
                  lambda: parsed._validate_entries(1)):
        try:
            stage()
        except bagit.BagValidationError as exc:
            details = getattr(exc, "details", None) or []
            report.errors.extend(str(d) for d in details) if details else \
                report.errors.append(str(exc).splitlines()[0])
        except bagit.BagError as exc:
            report.errors.append(str(exc))


def safe_parse_xml(path: Path):
    """Parse a partner's XML file with entities, DTDs and the network off; raises on bad XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False)
    tree = etree.parse(str(path), parser)
    if tree.docinfo.internalDTD is not None and list(tree.docinfo.internalDTD.iterentities()):
        raise ValueError("declares XML entities (a DTD with ENTITY): refused")
    return tree


def _check_xml(bag: Path, report: BagCheckReport) -> None:
    data = bag / "data"
    for path in sorted(data.rglob("*.xml")) if data.is_dir() else []:
        if path.is_symlink() or not path.is_file():
            continue
        try:
            safe_parse_xml(path)
        except (etree.XMLSyntaxError, ValueError, OSError) as exc:
            report.errors.append(f"{path.relative_to(bag)}: XML refused: {exc}")


def check_bag(path: Path) -> BagCheckReport:
    """Validate the bag folder at `path` strictly; the report lists every error and warning.

    Never raises for a bad bag.
    """
    path = Path(path)
    report = BagCheckReport(path=str(path))
    if not path.is_dir():
        report.errors.append(f"{path} is not a folder (unpack a zip or tar with `unpack`)")
        return report
    encoding = _check_bagit_txt(path, report)
    if (path / "bagit.txt").is_file():
        listed = _check_manifests(path, encoding, report)
        fetched = _check_fetch(path, encoding, listed, report)
        _check_every_manifest_lists_every_file(path, listed, fetched, report)
        _check_with_bagit_python(path, report)
        _check_xml(path, report)
    report.errors = list(dict.fromkeys(report.errors))
    report.warnings = list(dict.fromkeys(report.warnings))
    return report


def unpack(archive: Path, dest_root: Path) -> Path:
    """Unpack a zip or tar bag into `dest_root/<archive name without suffix>/`; return it.

    Every member must land inside that folder: absolute paths, `..`, links and devices are
    refused (ValueError naming the member) before anything is written.
    """
    archive = Path(archive)
    name = re.sub(r"(\.tar)?\.(zip|tar|tgz|gz|bz2|xz)$", "", archive.name) or "bag"
    dest = Path(dest_root) / name
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if problem := path_problem(info.filename.rstrip("/")):
                    raise ValueError(f"{archive.name}: member {info.filename!r}: {problem}")
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise ValueError(f"{archive.name}: member {info.filename!r} is a symlink")
            dest.mkdir(parents=True)
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                if problem := path_problem(member.name):
                    raise ValueError(f"{archive.name}: member {member.name!r}: {problem}")
                if not (member.isfile() or member.isdir()):
                    raise ValueError(f"{archive.name}: member {member.name!r} is a link or "
                                     "device")
            dest.mkdir(parents=True)
            tf.extractall(dest, filter="data")
    else:
        raise ValueError(f"{archive.name} is neither a zip nor a tar file")
    entries = list(dest.iterdir())
    # A bag serialized with its folder ("mybag/bagit.txt") unpacks one level deeper.
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / "bagit.txt").exists():
        return entries[0]
    return dest
