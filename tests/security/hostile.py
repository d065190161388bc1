"""A sandbox for hostile batches: configured folders inside, bait folders around them.

    <root>/landing/      the landing zone (batches are made here)
    <root>/work/ quarantine/ reports/ preservation/ access/    the configured folders
    <root>/victim/       bait: where `../../victim` from an item id leads from any of them
    <root>/outside/      more bait, with Arabic and Chinese file names

`fingerprint(root)` hashes every entry of the tree *outside* the configured folders (names,
kinds, link targets, bytes), so a test takes it before and after a run and asserts equality:
nothing outside the configured folders was written, copied into, or removed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from kernel.settings import Settings

CONFIGURED = ("work", "quarantine", "reports", "preservation", "access", "landing")


def make_sandbox(root: Path) -> Settings:
    """Create the bait folders under `root` and return settings whose folders live there."""
    for bait in ("victim", "outside"):
        folder = root / bait
        (folder / "sub").mkdir(parents=True)
        (folder / "keep.txt").write_text(f"{bait} must survive\n", "utf-8")
        (folder / "sub" / "وثيقة.txt").write_text("عربي\n", "utf-8")
        (folder / "sub" / "文件.txt").write_text("中文\n", "utf-8")
    (root / "landing").mkdir(exist_ok=True)
    return Settings(
        landing_dir=root / "landing", work_dir=root / "work", reports_dir=root / "reports",
        quarantine_dir=root / "quarantine", preservation_url=(root / "preservation").as_uri(),
        access_url=(root / "access").as_uri(), processed_dir=root / "landing-processed",
        failed_dir=root / "landing-failed")


def fingerprint(root: Path, configured: tuple[str, ...] = CONFIGURED) -> dict[str, str]:
    """{relative path: what it is} for every entry under `root` outside the configured folders.

    Symbolic links are recorded by target and never followed; files by sha256 and mode;
    folders by their mode. The processed/failed areas count as configured too.
    """
    skip = set(configured) | {"landing-processed", "landing-failed"}
    facts: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [d for d in dirnames if d not in skip]
            filenames = [f for f in filenames if f not in skip]
        for name in dirnames + filenames:
            path = here / name
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            if path.is_symlink():
                facts[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                facts[rel] = f"dir:{st.st_mode:o}"
            else:
                facts[rel] = f"file:{st.st_mode:o}:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return facts
