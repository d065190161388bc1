"""Writing a benchmark's results into its own section of BENCHMARKS.md.

Each bench owns the text between its markers (`<!-- bench.NAME:begin -->` … `:end -->`) under
its heading; whatever people wrote around the markers is left as it is.
"""

import re
from pathlib import Path

from kernel.settings import ROOT

BENCHMARKS = ROOT / "BENCHMARKS.md"


def write_section(name: str, heading: str, section: str, path: Path = BENCHMARKS) -> None:
    """Put `section` between bench `name`'s markers, under `## heading` (added if missing)."""
    begin, end = f"<!-- bench.{name}:begin -->", f"<!-- bench.{name}:end -->"
    text = path.read_text("utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{section}\n{end}"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text,
                      flags=re.S)
    elif f"## {heading}\n" in text:
        text = text.replace(f"## {heading}\n", f"## {heading}\n\n{block}\n", 1)
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{block}\n"
    path.write_text(text, "utf-8")
