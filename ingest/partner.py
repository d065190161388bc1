"""Partner bags: a BagIt bag delivered in place of a batch folder, its payload in batch layout.

    <landing>/<batch_id>/bagit.txt, manifest-*.txt, …      the partner's bag
    <landing>/<batch_id>/data/manifest.csv, <item_id>/…     the batch layout, inside data/
    <landing>/<batch_id>/READY                              written last, as for any batch

The bag is validated strictly (ingest.bagcheck) before anything else; an invalid one is
rejected with every reason. A valid one is received into the work area: its payload copied and
each copy checked against the bag's own sha512/sha256 manifest, so the rest of the pipeline
reads a verified copy and the partner's bag in the landing zone is never touched.
"""

import hashlib
import logging
import shutil
from pathlib import Path

from kernel.ids import check_id
from kernel.paths import inside
from ingest.custody import copy_verified
from ingest.bagcheck import BagCheckReport, check_bag

log = logging.getLogger(__name__)

BAGIT_TXT = "bagit.txt"


def is_partner_bag(batch_dir: Path) -> bool:
    return (Path(batch_dir) / BAGIT_TXT).is_file()


def _manifest_digests(bag_dir: Path) -> tuple[str, dict[str, str]]:
    """The strongest payload manifest of the bag: (algorithm, {path under data/: digest})."""
    for algorithm in ("sha512", "sha256", "sha1", "md5"):
        manifest = bag_dir / f"manifest-{algorithm}.txt"
        if manifest.is_file():
            digests = {}
            for line in manifest.read_text("utf-8").splitlines():
                if line.strip():
                    digest, path = line.split(None, 1)
                    digests[path.strip().removeprefix("data/")] = digest.lower()
            return algorithm, digests
    raise ValueError(f"{bag_dir} has no payload manifest")


def receive_partner_bag(bag_dir: Path, received_root: Path) -> tuple[Path | None, BagCheckReport]:
    """Validate a partner bag; if valid, copy its payload to `received_root/<batch_id>/`.

    Returns (folder of the received batch, or None when the bag is invalid; the bag report).
    A complete earlier copy of the same bag is reused. Raises OSError when a copy does not
    match the bag's manifest (the bag changed while being read: leave it for a later run),
    InvalidId when the bag folder's name is not a valid batch id (checked before the bag is
    read), UnsafePath when a manifest path leads outside the copy.
    """
    bag_dir = Path(bag_dir)
    batch_id = check_id(bag_dir.name, "batch_id")
    report = check_bag(bag_dir)
    if not report.is_valid:
        log.warning("partner bag %s rejected: %d problem(s)", bag_dir.name, len(report.errors))
        return None, report
    dest = inside(received_root, batch_id)
    done = dest.with_name(dest.name + ".received")  # written last: the copy is complete
    algorithm, expected = _manifest_digests(bag_dir)
    stamp = hashlib.sha512(repr(sorted(expected.items())).encode()).hexdigest()
    if done.is_file() and dest.is_dir() and done.read_text("utf-8").startswith(stamp):
        return dest, report  # this very bag was received by an earlier run
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    copied, _ = copy_verified(bag_dir / "data", staging)
    for rel in expected:
        with inside(staging, rel).open("rb") as fh:
            found = hashlib.file_digest(fh, algorithm).hexdigest()
        if found != expected[rel]:
            shutil.rmtree(staging, ignore_errors=True)
            raise OSError(f"data/{rel} of partner bag {bag_dir.name} does not match its "
                          f"{algorithm} manifest after copying")
    (staging / "READY").touch()  # the received copy is a batch the pipeline may take
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    done.write_text(f"{stamp}\nreceived from {bag_dir} ({len(copied)} files)\n", "utf-8")
    log.info("received partner bag %s: %d files verified against manifest-%s.txt",
             bag_dir.name, len(expected), algorithm)
    return dest, report
