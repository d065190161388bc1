"""Shared fixtures: the generated sample batch (written once per session) and its items.

Airflow gets a home of its own for the test session, set before anything imports Airflow, so
tests never read or write the developer's `var/airflow`.
"""

import hashlib
import os
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from ingest.models import Item, Page
from ingest.sample import write_sample
from ingest.sample_texts import ITEMS
from s3server import MotoServer

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="cadl-test-airflow-")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parents[1] / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"


@pytest.fixture(scope="session")
def sample_batch(tmp_path_factory) -> tuple[Path, Path]:
    """(batch_dir, ground_truth_dir) of the sample batch, generated once; treat as read-only."""
    return write_sample(tmp_path_factory.mktemp("sample"))


def _page(path: Path, batch_dir: Path, seq: int) -> Page:
    with Image.open(path) as im:
        dpi = im.info.get("dpi", (None,))[0]
        return Page(seq=seq, original_name=path.name, path=path.relative_to(batch_dir).as_posix(),
                    sha512=hashlib.sha512(path.read_bytes()).hexdigest(),
                    size=path.stat().st_size, format=im.format,
                    mimetype=Image.MIME[im.format], width=im.width, height=im.height,
                    dpi=float(dpi) if dpi else None)


@pytest.fixture(scope="session")
def sample_items(sample_batch) -> dict[str, Item]:
    """Items of the sample batch, built straight from the sample's own table (not by
    `ingest.validate`, so OCR tests do not depend on the validator)."""
    batch_dir, _ = sample_batch
    items = {}
    for row, spec in enumerate(ITEMS, start=2):
        files = sorted((batch_dir / spec["item_id"]).iterdir())
        items[spec["item_id"]] = Item(
            item_id=spec["item_id"], row=row, languages=spec["languages"].split(";"),
            title=spec["title"], reading_direction=spec["reading_direction"],
            pages=[_page(f, batch_dir, seq) for seq, f in enumerate(files, start=1)],
        )
    return items


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """Endpoint URL of a moto_server shared by the session's tests (each uses its own bucket)."""
    server = MotoServer(tmp_path_factory.mktemp("moto") / "server.log")
    yield server.endpoint
    server.stop()


@pytest.fixture(scope="session")
def embedded_airflow(tmp_path_factory):
    """One embedded Airflow (scheduler, LocalExecutor) for the session's scheduler tests, with
    its home and every CADL_ folder in a temporary folder; stopped at the end, and no process of
    it may outlive the session."""
    import shutil

    from cadl.embedded import ensure_running, stop
    from cadl.procs import alive

    base = tmp_path_factory.mktemp("embedded")
    # Postgres runs as the postgres user when we are root: its home must be reachable by it
    # (pytest's tmp folders are private to root).
    home = Path(tempfile.mkdtemp(prefix="cadl-embedded-"))
    os.chmod(home, 0o755)
    env = dict(os.environ, AIRFLOW_HOME=str(home / "airflow"),
               CADL_LANDING_DIR=str(base / "landing"), CADL_WORK_DIR=str(base / "work"),
               CADL_REPORTS_DIR=str(base / "reports"), CADL_QUARANTINE_DIR=str(base / "quarantine"),
               CADL_PRESERVATION_URL=(base / "preservation").as_uri(),
               CADL_ACCESS_URL=(base / "access").as_uri(), CADL_ALLOW_FILE_URLS="true",
               # Generated pages are blank: the OCR review hold would keep every item back.
               CADL_OCR_HOLD_FOR_REVIEW="false",
               # One item per work unit, so a batch makes several OCR tasks for the pool.
               CADL_UNIT_PAGES="2")
    try:
        embedded = ensure_running(env)
        yield {"base": base, "env": env, "embedded": embedded}
        stop(env)
        left = [pid for pid in embedded.pids.values() if alive(pid)]
        assert not left, f"embedded Airflow processes left running: {left}"
    finally:
        stop(env)
        shutil.rmtree(home, ignore_errors=True)
