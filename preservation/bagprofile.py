"""Check a bag against our BagIt profile (config/bagit-profile.json, BagIt Profiles spec 1.4).

The spec's checks (bag-info fields, manifests and tag manifests required and allowed, tag files
required and allowed, no fetch.txt, BagIt version) are run by `bagit-profile`, the validator of
the spec's own project. It implements the spec up to 1.3, so the one 1.4 rule we use,
`Payload-Files-Allowed`, is checked here. The profile is read from the file, never fetched.
"""

import fnmatch
import json
import logging
from functools import lru_cache
from pathlib import Path

import bagit
import bagit_profile

from kernel.errors import BagInvalid, ConfigError
from preservation.bag import PROFILE_FILE, PROFILE_ID

log = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def load_profile(path: Path = PROFILE_FILE) -> dict:
    """The profile as a dict. Raises ConfigError naming the file if it is unreadable or names
    another identifier than preservation.bag.PROFILE_ID (the one build_bag writes)."""
    try:
        profile = json.loads(Path(path).read_text("utf-8"))
        identifier = profile["BagIt-Profile-Info"]["BagIt-Profile-Identifier"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the BagIt profile {path}: {exc}") from None
    if identifier != PROFILE_ID:
        raise ConfigError(f"{path}: BagIt-Profile-Identifier {identifier!r} is not the "
                          f"{PROFILE_ID!r} that build_bag writes into bag-info.txt")
    return profile


def _payload_problems(bag_dir: Path, allowed: list[str]) -> list[str]:
    data = bag_dir / "data"
    return [f"{path.relative_to(bag_dir).as_posix()}: payload file not allowed by "
            f"Payload-Files-Allowed ({', '.join(allowed)})"
            for path in sorted(data.rglob("*")) if path.is_file()
            and not any(fnmatch.fnmatchcase(path.relative_to(bag_dir).as_posix(), pattern)
                        for pattern in allowed)]


def profile_problems(bag_dir: Path, profile_path: Path = PROFILE_FILE) -> list[str]:
    """Every way the bag at `bag_dir` breaks the profile, each naming the bag; empty if none.
    Does not check checksums: that is preservation.bag.validate_bag's job."""
    bag_dir = Path(bag_dir)
    profile = json.loads(json.dumps(load_profile(profile_path)))  # the validator mutates it
    try:
        bag = bagit.Bag(str(bag_dir))
    except bagit.BagError as exc:
        return [f"{bag_dir}: {exc}"]
    checker = bagit_profile.Profile(PROFILE_ID, profile=profile)
    problems = []
    if not checker.validate(bag):
        problems += [str(error.value) if hasattr(error, "value") else str(error)
                     for error in checker.report.errors]
    try:
        checker.validate_serialization(str(bag_dir))
    except bagit_profile.ProfileValidationError as exc:
        problems.append(str(exc.value) if hasattr(exc, "value") else str(exc))
    if "Payload-Files-Allowed" in profile:
        problems += [f"{bag_dir}: {p}"
                     for p in _payload_problems(bag_dir, profile["Payload-Files-Allowed"])]
    return problems


def assert_profile(bag_dir: Path) -> None:
    """Raise BagInvalid listing every way the bag breaks our profile, if it does."""
    problems = profile_problems(bag_dir)
    if problems:
        raise BagInvalid(f"bag {bag_dir} does not follow the BagIt profile {PROFILE_ID}: "
                         + "; ".join(problems))
