"""Check a bag against our BagIt profile (config/bagit-profile.json, BagIt Profiles spec 1.4).

The spec's checks (bag-info fields, manifests and tag manifests required and allowed, tag files
required and allowed, no fetch.txt, BagIt version) are run by `bagit-profile`, the validator of
the spec's own project. It implements the spec up to 1.3, so the one 1.4 rule we use,
`Payload-Files-Allowed`, is checked here. The profile is read from the file, never fetched.

config/bagit-profile.json is a template: its `BagIt-Profile-Identifier` and `Contact-Email` are
filled in per deployment (`render_profile`) from CADL_ACCESS_BASE_URL (the profile is published
at <it>/profiles/…, see preservation.bag.profile_id) and CADL_CONTACT_EMAIL; what is published
and what bags are checked against is the rendered profile.
"""

import fnmatch
import json
import logging
from functools import lru_cache
from pathlib import Path

import bagit
import bagit_profile

from kernel.errors import BagInvalid, ConfigError
from preservation.bag import PROFILE_FILE, profile_id

log = logging.getLogger(__name__)


IDENTIFIER_TEMPLATE = "<CADL_ACCESS_BASE_URL>/profiles/bagit-item-package-1.0.json"
CONTACT_TEMPLATE = "<CADL_CONTACT_EMAIL>"


@lru_cache(maxsize=None)
def load_profile(path: Path = PROFILE_FILE) -> dict:
    """The profile template as a dict. Raises ConfigError naming the file if it is unreadable
    or its identifier and Contact-Email are not the templates `render_profile` fills in."""
    try:
        profile = json.loads(Path(path).read_text("utf-8"))
        info = profile["BagIt-Profile-Info"]
        found = (info["BagIt-Profile-Identifier"], info["Contact-Email"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the BagIt profile {path}: {exc}") from None
    if found != (IDENTIFIER_TEMPLATE, CONTACT_TEMPLATE):
        raise ConfigError(f"{path}: BagIt-Profile-Identifier and Contact-Email must be "
                          f"{IDENTIFIER_TEMPLATE!r} and {CONTACT_TEMPLATE!r}, filled in per "
                          f"deployment; found {found!r}")
    return profile


def render_profile(settings, path: Path = PROFILE_FILE) -> dict:
    """The profile of this deployment: the template with its identifier (preservation.bag.
    profile_id) and Contact-Email (CADL_CONTACT_EMAIL) filled in. Raises ConfigError when a
    real deployment would publish the placeholder e-mail address or a non-https identifier."""
    from kernel.deployment import require_published

    profile = json.loads(json.dumps(load_profile(path)))
    info = profile["BagIt-Profile-Info"]
    info["BagIt-Profile-Identifier"] = profile_id(settings)
    info["Contact-Email"] = require_published(
        settings.contact_email, "CADL_CONTACT_EMAIL", settings,
        "contact e-mail address (the BagIt profile's Contact-Email)")
    return profile


def profile_bytes(settings) -> bytes:
    """The rendered profile as the JSON document published at its identifier."""
    return (json.dumps(render_profile(settings), ensure_ascii=False, indent=2) + "\n").encode()


def _payload_problems(bag_dir: Path, allowed: list[str]) -> list[str]:
    data = bag_dir / "data"
    return [f"{path.relative_to(bag_dir).as_posix()}: payload file not allowed by "
            f"Payload-Files-Allowed ({', '.join(allowed)})"
            for path in sorted(data.rglob("*")) if path.is_file()
            and not any(fnmatch.fnmatchcase(path.relative_to(bag_dir).as_posix(), pattern)
                        for pattern in allowed)]


def profile_problems(bag_dir: Path, profile_path: Path = PROFILE_FILE,
                     settings=None) -> list[str]:
    """Every way the bag at `bag_dir` breaks the profile of this deployment (`render_profile`
    of `settings`, default the settings in force), each naming the bag; empty if none.
    Does not check checksums: that is preservation.bag.validate_bag's job."""
    from kernel.settings import get_settings

    bag_dir = Path(bag_dir)
    profile = render_profile(settings or get_settings(), profile_path)  # a fresh dict: mutated
    try:
        bag = bagit.Bag(str(bag_dir))
    except bagit.BagError as exc:
        return [f"{bag_dir}: {exc}"]
    checker = bagit_profile.Profile(profile["BagIt-Profile-Info"]["BagIt-Profile-Identifier"],
                                    profile=profile)
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


def assert_profile(bag_dir: Path, settings=None) -> None:
    """Raise BagInvalid listing every way the bag breaks our profile, if it does."""
    from kernel.settings import get_settings

    settings = settings or get_settings()
    problems = profile_problems(bag_dir, settings=settings)
    if problems:
        raise BagInvalid(f"bag {bag_dir} does not follow the BagIt profile "
                         f"{profile_id(settings)}: " + "; ".join(problems))
