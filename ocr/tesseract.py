"""The one wrapper around the `tesseract` program.

Every call runs with a fixed environment and a time limit, and every failure becomes a project
exception naming the image: ToolMissing (program or model not installed), ToolFailed (non-zero
exit, with the tail of tesseract's stderr), ToolTimeout (killed after `timeout` seconds).

`OMP_THREAD_LIMIT=1` is deliberate: on this pipeline's workers tesseract's own OpenMP threads make
a page about four times slower than one single-threaded process per core, which is how
`ocr.recognize` schedules pages.
"""

import logging
import os
import re
import shutil
import signal
import subprocess
from functools import lru_cache
from pathlib import Path

from kernel.errors import ToolFailed, ToolMissing, ToolTimeout

log = logging.getLogger(__name__)

PROGRAM = "tesseract"
# Output kinds of one recognition and the suffix tesseract gives each file.
OUTPUTS = {"alto": ".xml", "hocr": ".hocr", "txt": ".txt", "pdf": ".pdf"}
# Page segmentation for vertical (top-to-bottom) text: "a single uniform block of vertically
# aligned text". With the default (3) the *_vert models read columns as garbled rows.
PSM_VERTICAL = 5
# Page segmentation for horizontal text: tesseract's automatic mode (3). Mode 4 ("a single
# column of text of variable sizes") was chosen first, after the automatic mode dropped a Chinese
# line of the sample's bilingual page; with the OCR copy binarised (ocr.preprocess) that no
# longer happens, and bench/ocr measured mode 4 far worse on skewed, degraded pages (Arabic
# 4.6% against 1.3% CER, Simplified Chinese 17.0% against 6.5%) and no better elsewhere.
PSM_HORIZONTAL = 3
STDERR_TAIL = 2000


def _program() -> str:
    path = shutil.which(PROGRAM)
    if path is None:
        raise ToolMissing(
            f"{PROGRAM} not found on PATH: install it (Debian: apt-get install tesseract-ocr)"
        )
    return path


def _env() -> dict[str, str]:
    """The fixed environment: PATH only from the caller, everything else pinned.

    TESSDATA_PREFIX is deliberately not inherited: the models come from `tessdata_dir` (passed
    as --tessdata-dir) or tesseract's built-in default, so a stray variable cannot switch models
    behind the provenance record.
    """
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OMP_THREAD_LIMIT": "1",
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
    }


def _run(args: list[str], *, timeout: float, what: str, cwd: Path | None = None) -> str:
    """Run tesseract with `args`; returns stdout. `what` names the input in error messages."""
    command = [_program(), *args]
    # A new session so that a timeout kills the whole process group, not just the first process
    # (otherwise a child holding the pipes open would keep us waiting past the limit).
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=_env(), cwd=cwd, start_new_session=True)
    except OSError as exc:
        raise ToolMissing(f"cannot start {PROGRAM} for {what}: {exc}") from exc
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ToolTimeout(
            f"{PROGRAM} took longer than {timeout:g} s on {what} and was stopped; "
            "retry when the machine is less busy, or raise CADL_TESSERACT_TIMEOUT"
        ) from None
    err = stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise ToolFailed(
            f"{PROGRAM} failed on {what} (exit {proc.returncode}): {err[-STDERR_TAIL:].strip()}"
        )
    if err.strip():
        log.debug("%s on %s: %s", PROGRAM, what, err.strip())
    return stdout.decode("utf-8", "replace")


@lru_cache
def version() -> str:
    """The engine version, e.g. "5.3.0", for provenance records. Raises ToolMissing/ToolFailed."""
    out = _run(["--version"], timeout=30, what="--version")
    match = re.search(r"tesseract\s+v?(\S+)", out)
    if not match:
        raise ToolFailed(f"cannot read the version in `{PROGRAM} --version` output: {out[:200]!r}")
    return match.group(1)


def _list_langs(tessdata_dir: Path | None) -> tuple[Path, set[str]]:
    args = ["--list-langs"] + (["--tessdata-dir", str(tessdata_dir)] if tessdata_dir else [])
    out = _run(args, timeout=30, what="--list-langs")
    lines = out.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("List of available")), None)
    match = re.search(r'"(.*)"', lines[start]) if start is not None else None
    if not match:
        raise ToolFailed(f"cannot read `{PROGRAM} --list-langs` output: {out[:200]!r}")
    names = {line.strip() for line in lines[start + 1:] if line.strip()}
    return Path(match.group(1)), names


def available_models(tessdata_dir: Path | None) -> set[str]:
    """Names of the models tesseract can load from `tessdata_dir` (None: its default folder)."""
    return _list_langs(tessdata_dir)[1]


def model_file(name: str, tessdata_dir: Path | None) -> Path:
    """The .traineddata file tesseract would load for model `name`.

    Raises ToolMissing when the model is not installed, naming the folder that was searched.
    """
    folder, names = _list_langs(tessdata_dir)
    path = folder / f"{name}.traineddata"
    if name not in names or not path.is_file():
        raise ToolMissing(
            f"tesseract model {name!r} is not installed in {folder}: install it (Debian: "
            f"tesseract-ocr-{name.replace('_', '-')}) or run scripts/fetch-models.sh and set "
            "CADL_TESSDATA_DIR"
        )
    return path


def page_segmentation(models: list[str]) -> int:
    """Page segmentation mode for a model list: vertical when the primary model is *_vert."""
    return PSM_VERTICAL if models and models[0].endswith("_vert") else PSM_HORIZONTAL


def recognize(image: Path, out_base: Path, models: list[str], *, tessdata_dir: Path | None,
              timeout: float, psm: int | None = None,
              outputs: tuple[str, ...] = tuple(OUTPUTS),
              config: dict[str, str] | None = None) -> dict[str, Path]:
    """Recognise one page image; write ALTO, hOCR, text and a one-page PDF beside `out_base`.

    Returns {"alto": …xml, "hocr": …hocr, "txt": …txt, "pdf": …pdf}, or the subset named in
    `outputs` (the OCR stage asks for no PDF: it builds the item's PDF from the hOCR, see
    `ocr.pdf`). `config` adds `-c name=value` engine variables. `psm` None picks the
    mode with `page_segmentation(models)`: vertical for *_vert models, single column otherwise.
    Raises ToolMissing (no tesseract, or a model not installed), ToolFailed (tesseract exited
    with an error; the message has its stderr tail), ToolTimeout (stopped after `timeout` s).
    """
    image = Path(image).resolve()
    out_base = Path(out_base).resolve()
    if not models:
        raise ValueError("recognize() needs at least one model")
    installed = available_models(tessdata_dir)
    missing = [m for m in models if m not in installed]
    if missing:
        raise ToolMissing(
            f"tesseract model(s) {', '.join(missing)} needed for {image.name} are not installed"
            f"{f' in {tessdata_dir}' if tessdata_dir else ''}: run scripts/fetch-models.sh or "
            "install the Debian tesseract-ocr-* packages"
        )
    if psm is None:
        psm = page_segmentation(models)
    # Run inside the image's folder with a relative name, so ALTO's <fileName> and hOCR's
    # `image` hold the page's file name and not a path of this worker's scratch disk.
    image_arg = image.name if not image.name.startswith("-") else f"./{image.name}"
    args = [image_arg, str(out_base), "-l", "+".join(models)]
    if tessdata_dir:
        args += ["--tessdata-dir", str(Path(tessdata_dir).resolve())]
    args += ["--psm", str(psm)]
    for name, value in sorted((config or {}).items()):
        args += ["-c", f"{name}={value}"]
    unknown = [kind for kind in outputs if kind not in OUTPUTS]
    if unknown or not outputs:
        raise ValueError(f"outputs must be some of {', '.join(OUTPUTS)}, not {outputs!r}")
    args += list(outputs)
    _run(args, timeout=timeout, what=image.name, cwd=image.parent)
    outputs = {kind: out_base.with_name(out_base.name + OUTPUTS[kind]) for kind in outputs}
    absent = [p.name for p in outputs.values() if not p.is_file()]
    if absent:
        raise ToolFailed(
            f"{PROGRAM} ran on {image.name} but did not write {', '.join(absent)}: the tessdata "
            "folder may lack configs/ (alto, hocr, pdf) or pdf.ttf; python -m ocr.models_fetch "
            "copies them"
        )
    return outputs
