"""The archivists' collection view: the right counts for a store with items in every state.

The store is made by the pipeline's own stage functions on one batch holding an item of each
kind (published Arabic, restricted Chinese, held, quarantined, one whose task died before
deposit), then a review decision, an overdue review and a fixity audit that finds damage. The
page is served by the FastAPI app the Airflow plugin mounts (uvicorn on 127.0.0.1) and read in
headless Chromium, desk and phone width.
"""

import datetime as dt
import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from batchmaker import make_batch
from cadl import pipeline, review, review_overdue
from cadl.collection import collection_view, render_collection
from kernel.errors import FixityFailed
from kernel.settings import Settings, get_settings

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is needed")

ARTIFACTS = Path(__file__).resolve().parents[1] / "var" / "test-artifacts"


def _settings(root) -> Settings:
    return Settings(landing_dir=root / "landing", work_dir=root / "work",
                    reports_dir=root / "reports", quarantine_dir=root / "quarantine",
                    preservation_url=(root / "preservation").as_uri(),
                    access_url=(root / "access").as_uri(), allow_file_urls=True)


@pytest.fixture(scope="module")
def store(sample_batch, sample_items, tmp_path_factory):
    root = tmp_path_factory.mktemp("collection")
    batch_dir, _ = sample_batch
    ar_path = batch_dir / sample_items["ar-book-001"].pages[0].path
    zh_path = batch_dir / sample_items["zh-hans-book-001"].pages[0].path
    ar, zh = ar_path.read_bytes(), zh_path.read_bytes()
    ar_name, zh_name = "0001" + ar_path.suffix, "0001" + zh_path.suffix
    settings = _settings(root)
    batch = make_batch(settings.landing_dir, [
        {"item_id": "ar-good", "languages": "ar", "title": "كتاب الأدب", "portals": "ar"},
        {"item_id": "zh-closed", "languages": "zh-Hans", "title": "中文书",
         "rights": "restricted", "portals": "zh"},
        {"item_id": "ar-held", "languages": "ar", "title": "كتاب آخر", "portals": "ar"},
        {"item_id": "ar-held-2", "languages": "ar", "title": "كتاب ثالث", "portals": "zh;ar"},
        {"item_id": "zh-broken", "languages": "zh-Hans", "title": "坏书", "portals": "zh"},
        {"item_id": "ar-died", "languages": "ar", "title": "كتاب توقف", "portals": "ar"},
    ], pages={"ar-good": {ar_name: ar}, "zh-closed": {zh_name: zh},
              "ar-held": {zh_name: zh}, "ar-held-2": {zh_name: zh},
              "zh-broken": {"0001.tif": b"not an image at all"}, "ar-died": {ar_name: ar}})
    plan = pipeline.validate(str(batch), "run-1", settings)
    for unit in plan["units"]:
        # ar-died's task is killed after packaging: nothing recorded, no deposit.
        stages = ((pipeline.ocr, pipeline.describe, pipeline.package)
                  if unit["item_id"] == "ar-died" else
                  (pipeline.ocr, pipeline.describe, pipeline.package, pipeline.deposit,
                   pipeline.publish))
        for stage in stages:
            stage(unit, settings)
    pipeline.catalogue(settings)
    try:
        pipeline.report(plan, "run-1", settings)
    except Exception:  # noqa: BLE001 - the report task fails the run for ar-died, as it must
        pass
    review.decide("ar-held-2", "return", "王芳", "第1页是错的书，请重新扫描", settings=settings)
    late = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=100)
    review_overdue.overdue_reviews(settings, now=late)
    # Damage one preserved file of ar-good, then audit it: found, not repairable (no replica).
    victim = next((root / "preservation" / "items" / "ar-good").rglob("p0001.txt"))
    victim.write_bytes(victim.read_bytes() + b"!")
    from cadl.fixity import run

    with pytest.raises(FixityFailed):
        run({"scope": "items ar-good", "items": ["ar-good"]}, settings=settings)
    return root, settings


def test_counts_per_portal_match_the_store(store):
    _, settings = store
    view = collection_view(settings)
    assert view["counts"]["all"] == {"published": 1, "preserved": 1, "held": 1,
                                     "quarantined": 2, "failed": 1}
    assert view["counts"]["ar"] == {"published": 1, "preserved": 0, "held": 1,
                                    "quarantined": 1, "failed": 1}
    assert view["counts"]["zh"] == {"published": 0, "preserved": 1, "held": 0,
                                    "quarantined": 2, "failed": 0}
    assert [e["item_id"] for e in view["queue"]] == ["ar-held"]
    items = {i["item_id"]: i for i in view["items"]}
    assert items["ar-good"]["audit"]["status"] == "damaged"
    assert items["ar-good"]["audit"]["problems"] == 1
    assert items["ar-held-2"]["reviews"][0]["by"] == "王芳"
    assert items["ar-good"]["stored"]["versions"] == 1
    assert view["storage"]["all"]["items"] == 4  # preserved: not zh-broken, not ar-died
    assert view["storage"]["ar"]["bytes"] > 0
    assert view["storage"]["all"]["bytes"] == sum(
        i["stored"]["bytes"] for i in view["items"] if i["stored"])
    assert [a["kind"] for a in view["alerts"]][:1] == ["review_overdue"]
    assert view["batches"][0]["state"] == "failed"


def test_the_page_escapes_what_it_shows(store):
    _, settings = store
    view = collection_view(settings)
    view["items"][0]["title"]["text"] = "<script>alert(1)</script>"
    html = render_collection(view)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


@pytest.fixture(scope="module")
def served(store):
    """The plugin's FastAPI app under uvicorn on 127.0.0.1, settings from the environment."""
    uvicorn = pytest.importorskip("uvicorn")
    from cadl.webapp import create_app

    root, settings = store
    patch = pytest.MonkeyPatch()
    for name in ("landing_dir", "work_dir", "reports_dir", "quarantine_dir", "preservation_url",
                 "access_url"):
        patch.setenv(f"CADL_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        patch.undo()
        get_settings.cache_clear()


def test_the_app_serves_the_data_and_the_page(served):
    with urllib.request.urlopen(served + "/collection.json") as response:
        data = json.loads(response.read())
    assert data["counts"]["all"]["held"] == 1
    with urllib.request.urlopen(served + "/review-queue.json") as response:
        assert [e["item_id"] for e in json.loads(response.read())] == ["ar-held"]


def test_the_page_in_chromium_desk_and_phone(served):
    from browser import chromium, full_page_screenshot

    with chromium() as page:
        page.get(served + "/collection")
        cell = 'tr[data-portal="{}"] td[data-status="{}"]'
        text = lambda css: page.find_element("css selector", css).text  # noqa: E731
        assert text(cell.format("all", "quarantined")) == "2"
        assert text(cell.format("ar", "held")) == "1"
        assert text(cell.format("zh", "preserved")) == "1"
        title = page.find_element("css selector", '#items tr[data-item="ar-good"] td.title')
        assert title.get_attribute("lang") == "ar" and title.get_attribute("dir") == "rtl"
        assert page.execute_script("return getComputedStyle(arguments[0]).direction",
                                   title) == "rtl"
        zh = page.find_element("css selector", '#items tr[data-item="zh-closed"] td.title')
        assert zh.get_attribute("lang") == "zh-Hans" and zh.text == "中文书"
        queued = page.find_element("css selector", '#queue tr[data-item="ar-held"]')
        assert "overdue" not in queued.text and "low_confidence" in queued.text
        audit = page.find_element("css selector", '#items tr[data-item="ar-good"] td.audit')
        assert "damaged" in audit.text and "altered" in audit.text
        full_page_screenshot(page, ARTIFACTS / "collection-desktop.png")
        page.set_window_size(390, 844)  # a phone
        assert page.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.save_screenshot(str(ARTIFACTS / "collection-phone.png"))


def test_airflow_loads_the_plugin_with_the_app_and_the_nav_entry(tmp_path):
    """Airflow's own plugin manager (`airflow plugins`) finds the app and the external view."""
    import os
    import subprocess
    import sys

    from cadl.airflow_env import airflow_env

    env = airflow_env({k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")})
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    out = subprocess.run([str(Path(sys.executable).with_name("airflow")), "plugins", "--output",
                          "json"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    plugins = {p["name"]: p for p in json.loads(out.stdout[out.stdout.index("["):])}
    plugin = plugins["cadl_collection"]
    assert "cadl collection view" in json.dumps(plugin["fastapi_apps"])
    assert "cadl/collection" in json.dumps(plugin["external_views"])


def test_the_app_serves_batch_reports_and_nothing_else(served):
    with urllib.request.urlopen(served + "/reports/batch-001/report.html") as response:
        assert b"batch-001" in response.read()
    for path in ("/reports/..%2F..%2Fetc/report.html", "/reports/nope/report.html"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(served + path)
        assert err.value.code == 404
