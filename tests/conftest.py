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
