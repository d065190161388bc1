"""The one wrapper around `qpdf`, used to merge one-page PDFs into an item's searchable PDF."""

import os
import shutil
import signal
import subprocess
from pathlib import Path

from cadl.errors import ToolFailed, ToolMissing, ToolTimeout

PROGRAM = "qpdf"


def merge(pages: list[Path], out: Path, *, timeout: float = 300) -> Path:
    """Concatenate `pages` (PDF files, in order) into `out`; returns `out`.

    `--deterministic-id` keeps the document id a function of the content, so re-running OCR on
    the same pages does not change the file for no reason. Raises ToolMissing, ToolFailed
    (qpdf's message included) or ToolTimeout.
    """
    if not pages:
        raise ValueError("merge() needs at least one page PDF")
    program = shutil.which(PROGRAM)
    if program is None:
        raise ToolMissing(f"{PROGRAM} not found on PATH: install it (Debian: apt-get install qpdf)")
    command = [program, "--deterministic-id", "--empty", "--pages",
               *[str(p) for p in pages], "--", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                 "LC_ALL": "C.UTF-8"},
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ToolTimeout(f"{PROGRAM} took longer than {timeout:g} s merging into {out.name}") from None
    # qpdf exits 3 for "succeeded with warnings": the file is written and usable.
    if proc.returncode not in (0, 3):
        raise ToolFailed(
            f"{PROGRAM} failed merging {len(pages)} pages into {out.name} "
            f"(exit {proc.returncode}): {stderr.decode('utf-8', 'replace')[-2000:].strip()}"
        )
    return out
