"""Format identification by PRONOM's own tool: siegfried (through pygfried), for every file.

Intake sniffs the first bytes of a page to tell a technician quickly that a file is not an image
(`ingest.characterize.sniff`); that is a message, not a preservation fact. What PREMIS records as
a file's format comes from siegfried with the PRONOM signatures embedded in the pygfried wheel
(no download at run time), masters and derivatives alike, and the agent of that event names
siegfried's version and its signature file's, so a later re-identification can tell whether a
different answer comes from a newer signature file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kernel.errors import ToolMissing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FormatId:
    """siegfried's PRONOM match for one file."""

    puid: str | None  # "fmt/353"; None when siegfried found no match ("UNKNOWN")
    name: str  # "Tagged Image File Format"; "" when unknown
    version: str  # "6.0"; "" when PRONOM gives none
    mime: str  # "image/tiff"; "" when unknown
    basis: str  # why siegfried says so: "byte match at 0, 4"
    warning: str  # siegfried's warning, e.g. an extension mismatch


@dataclass(frozen=True)
class Identifier:
    """The tool that identified the formats: the PREMIS agent of the event."""

    version: str  # siegfried's version, e.g. "1.11.9"
    signature: str  # e.g. "default.sig (created 2026-09-27T12:04:02+10:00): DROID_… ; container…"


def _pygfried():
    try:
        import pygfried
    except ImportError:
        raise ToolMissing("siegfried is not installed: install the Python package pygfried "
                          "(pip install pygfried), which embeds siegfried and its PRONOM "
                          "signatures") from None
    return pygfried


@lru_cache(maxsize=1)
def identifier() -> Identifier:
    """siegfried's version and signature file, from a detailed identification of this module."""
    report = _pygfried().identify(__file__, detailed=True)
    details = "; ".join(i.get("details", "") for i in report.get("identifiers", []))
    return Identifier(report.get("siegfried", "unknown"),
                      f"{report.get('signature', '?')} (created {report.get('created', '?')}):"
                      f" {details}")


def identify(paths: list[Path]) -> dict[Path, FormatId]:
    """siegfried's PRONOM identification of each file (first match), keyed by the given path.

    Raises ToolMissing without pygfried, FileNotFoundError for a missing file.
    """
    gfried = _pygfried()
    results: dict[Path, FormatId] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"cannot identify the format of {path}: no such file")
        report = gfried.identify(str(path), detailed=True)
        files = report.get("files") or [{}]
        matches = files[0].get("matches") or [{}]
        match = next((m for m in matches if m.get("ns") == "pronom"), matches[0])
        puid = match.get("id")
        if puid in (None, "", "UNKNOWN"):
            puid = None
        results[path] = FormatId(puid, match.get("format", ""), match.get("version", ""),
                                 match.get("mime", ""), match.get("basis", ""),
                                 match.get("warning", ""))
        if files[0].get("errors"):
            log.warning("siegfried on %s: %s", path, files[0]["errors"])
    return results
