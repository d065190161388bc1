"""The installed project holds everything its code reads beside itself.

setuptools installs only the packages pyproject.toml lists and, in them, the data files its
`package-data` patterns match; a folder it is not told about is shipped with a warning
("Package 'cadl.templates' is absent from the `packages` configuration") or not at all, and a
non-editable install then fails when it renders a report or writes the PDF text layer. This
reads pyproject.toml and the source tree, so it fails as soon as a data folder or file is
added without being declared, without building a wheel.
"""

import fnmatch
import tomllib
from pathlib import Path

from test_architecture import LAYERS, WIRING

REPO = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
# Not installed: Airflow reads DAG files and plugins from its own folders.
NOT_INSTALLED = set(WIRING)
SKIP = {"__pycache__"}


def _folders(top: str) -> list[Path]:
    root = REPO / top
    return [root, *sorted(p for p in root.rglob("*") if p.is_dir()
                          and not SKIP & set(p.relative_to(REPO).parts))]


def _dotted(folder: Path) -> str:
    return ".".join(folder.relative_to(REPO).parts)


def test_every_runtime_package_and_its_data_folders_are_listed():
    packages = set(CONFIG["packages"])
    expected = {_dotted(folder) for top in LAYERS if top not in NOT_INSTALLED
                for folder in _folders(top)}
    assert expected - packages == set(), "add these to [tool.setuptools] packages"
    assert packages - expected == set(), "these listed packages do not exist"


def test_every_data_file_is_matched_by_package_data():
    patterns = CONFIG.get("package-data", {})
    unmatched = []
    for name in CONFIG["packages"]:
        folder = REPO.joinpath(*name.split("."))
        for file in sorted(p for p in folder.iterdir() if p.is_file()):
            if file.suffix in (".py", ".pyc"):
                continue
            if not any(fnmatch.fnmatch(file.name, pattern) for pattern in patterns.get(name, [])):
                unmatched.append(file.relative_to(REPO).as_posix())
    assert unmatched == [], "add patterns to [tool.setuptools.package-data] for these files"


def test_the_data_the_code_reads_is_in_a_listed_package():
    # The three places the runtime code reads data files from beside its modules.
    from cadl.report_html import TEMPLATES
    from metadata.validate import SCHEMA_DIR
    from ocr.glyphless_font import FONT

    for path in (TEMPLATES, SCHEMA_DIR, FONT.parent):
        assert _dotted(path) in CONFIG["packages"], path
