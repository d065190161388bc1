"""Property tests: generated manifests and batch trees, two invariants (issue 12).

Hypothesis writes a batch with random Unicode in every manifest column (controls, line breaks,
bidi marks, both scripts, path-like ids), random file and folder names and random image
headers (real signatures followed by noise, or a real page with bytes flipped), then checks:

1. `validate_batch` never raises: every problem is a reported error, every item it returns has
   a valid id, and every cell of an item without errors can be written into XML on one line.
2. A run — validation, planning, quarantine of items, rows and whole batches, and the stage
   functions given units forged from the generated ids — changes nothing outside the
   configured folders (the tree around them is hashed before and after).

Example counts are modest and the search is derandomized, so the suite is deterministic and
takes seconds on CI's two cores. The OCR processing profile (tesseract's version and model
digests, which do not depend on the batch) is computed once for the module, for real.
"""

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree

from batchmaker import page_bytes
from cadl import pipeline
from ingest.manifest import KNOWN
from ingest.validate import validate_batch
from kernel.errors import BatchInvalid, BatchNotReady, PipelineError
from kernel.ids import is_valid_id
from security.hostile import fingerprint, make_sandbox

PROFILE = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Every character Python can write to a UTF-8 file (no lone surrogates), controls included.
ANY_CHAR = st.characters(blacklist_categories=("Cs",))
HOSTILE_IDS = ["../../victim", "..", ".", "", "/tmp/cadl-escape", "a/b", "x\n", ".hidden",
               "..\\..\\victim", "كتاب-١", "书-1", "ar-1/../../victim"]
ITEM_ID = st.one_of(st.sampled_from(["ar-1", "zh-1", "tw-1", "b.2", "x_3"]),
                    st.sampled_from(HOSTILE_IDS), st.text(ANY_CHAR, max_size=12))
CELL = st.one_of(st.text(ANY_CHAR, max_size=30),
                 st.sampled_from(["ar", "zh-Hans;ar", "zh-Hant", "rtl", "ttb", "1906",
                                  "embargo:2030-01-01", "open", "zh;ar", "كتاب", "文學史"]))
NAME = st.text(ANY_CHAR, min_size=1, max_size=16).filter(
    lambda n: "/" not in n and "\x00" not in n and n not in (".", "..")
    and len(n.encode("utf-8")) < 200)
SIGNATURES = [b"II*\x00", b"MM\x00*", b"II+\x00", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01",
              b"\x89PNG\r\n\x1a\n", b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51",
              b"%PDF-1.7", b"GIF89a", b""]
EXTENSIONS = [".tif", ".tiff", ".png", ".jpg", ".jp2", ".pdf", ""]


@st.composite
def page_file(draw) -> tuple[str, bytes]:
    """(file name, content): a random name, and a header that is real, noisy or damaged."""
    name = draw(NAME) + draw(st.sampled_from(EXTENSIONS))
    kind = draw(st.sampled_from(["noise", "real", "flipped"]))
    if kind == "noise":
        content = draw(st.sampled_from(SIGNATURES)) + draw(st.binary(max_size=64))
    else:
        fmt = draw(st.sampled_from(["PNG", "TIFF", "JPEG"]))
        content = bytearray(page_bytes(fmt, size=(20, 24)))
        if kind == "flipped":
            for _ in range(draw(st.integers(1, 4))):
                at = draw(st.integers(0, min(len(content), 96) - 1))
                content[at] = draw(st.integers(0, 255))
        content = bytes(content)
    return name, content


@st.composite
def batch_tree(draw) -> dict:
    """A manifest (header and rows) and the folders and files beside it."""
    extra_columns = draw(st.lists(st.text(ANY_CHAR, min_size=1, max_size=8), max_size=2))
    known = draw(st.lists(st.sampled_from([c for c in KNOWN if c not in
                                           ("item_id", "languages", "title")]),
                          max_size=4, unique=True))
    header = ["item_id", "languages", "title"] + known + extra_columns
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        row = [draw(ITEM_ID)] + [draw(CELL) for _ in header[1:]]
        rows.append(row)
    folders = {}
    for row in rows:
        folder = row[0]
        if folder and "/" not in folder and "\x00" not in folder and folder not in (".", "..") \
                and len(folder.encode("utf-8")) < 200 and draw(st.booleans()):
            folders[folder] = dict(draw(st.lists(page_file(), max_size=3)))
    for _ in range(draw(st.integers(0, 1))):  # a folder no row names
        folders.setdefault(draw(NAME), dict(draw(st.lists(page_file(), max_size=1))))
    return {"header": header, "rows": rows, "folders": folders,
            "batch_id": draw(st.sampled_from(["b-001", "batch.2", "دفعة-١"]))}


def write_tree(landing: Path, tree: dict) -> Path:
    batch = landing / tree["batch_id"]
    batch.mkdir(parents=True)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(tree["header"])
    writer.writerows(tree["rows"])
    (batch / "manifest.csv").write_text(out.getvalue(), "utf-8")
    for folder, files in tree["folders"].items():
        if folder in ("manifest.csv", "READY"):
            continue
        (batch / folder).mkdir(exist_ok=True)
        for name, content in files.items():
            (batch / folder / name).write_bytes(content)
    (batch / "READY").write_bytes(b"")
    return batch


def _xml_ok(value: str) -> bool:
    try:
        etree.Element("x").text = value
    except ValueError:
        return False
    return "\n" not in value and "\r" not in value


@pytest.fixture(scope="module", autouse=True)
def _real_profile_once():
    """tesseract's version and model digests, computed once: they do not depend on the batch."""
    profile = pipeline.processing_profile(pipeline.get_settings())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "processing_profile", lambda _settings: profile)
        yield


@PROFILE
@given(tree=batch_tree())
def test_validation_never_raises_and_accepts_only_what_xml_can_hold(tree):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = make_sandbox(root)
        batch = write_tree(config.landing_dir, tree)
        before = fingerprint(root)
        report = validate_batch(batch, config)  # must not raise, whatever the tree
        assert fingerprint(root) == before
        assert all(p.severity in ("error", "warning", "notice") for p in report.problems)
        if report.batch is None:
            assert not report.is_valid
            return
        for item in report.batch.items:
            assert is_valid_id(item.item_id)
            assert all(not p.path.startswith(("/", "../")) for p in item.pages)
            if report.item_errors(item.item_id):
                continue
            values = [item.title, *item.titles.values(), *item.extra.values(), *item.subjects,
                      *(v for v in (item.creator, item.publisher, item.place, item.identifier,
                                    item.date) if v)]
            assert all(_xml_ok(v) for v in values), values


@PROFILE
@given(tree=batch_tree(), forged=st.lists(st.tuples(ITEM_ID, ITEM_ID), max_size=3))
def test_a_run_touches_nothing_outside_its_folders(tree, forged):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = make_sandbox(root)
        batch = write_tree(config.landing_dir, tree)
        before = fingerprint(root)
        try:
            plan = pipeline.validate(str(batch), "prop", config)
        except (BatchInvalid, BatchNotReady):
            plan = None
        assert fingerprint(root) == before
        for unit in (plan or {}).get("units", []):
            item_dir = root / "work" / tree["batch_id"] / unit["item_id"]
            assert item_dir.resolve().is_relative_to(root / "work")
            if unit["action"] == "skip":  # quarantined: inside the quarantine, by construction
                assert (item_dir / "state.json").is_file()
        for batch_id, item_id in forged:
            for stage in pipeline.STAGES:
                try:
                    pipeline.STAGES[stage]({"batch_id": batch_id, "item_id": item_id,
                                            "action": "process"}, config)
                except (PipelineError, FileNotFoundError, KeyError):
                    pass  # refused (InvalidId), or no such unit in this work folder
        assert fingerprint(root) == before
        assert not Path("/tmp/cadl-escape").exists()
