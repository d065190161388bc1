"""Archivists find ingest_batch and its runs in Airflow's own UI: a real `airflow standalone`
bound to 127.0.0.1, logged into through a real (headless) Chromium.

One run of a small batch is made first with `cadl run` (i.e. `airflow dags test`) in the same
AIRFLOW_HOME, so the UI has a run to show. Every process started here is stopped by process group.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from batchmaker import make_batch, page_bytes
from browser import chromium, require_chromium

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"airflow standalone exited ({proc.returncode}):\n"
                                 + log.read_text(errors="replace")[-4000:])
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(2)
    raise AssertionError(f"{url} did not answer in {timeout:.0f} s:\n"
                         + log.read_text(errors="replace")[-4000:])


def _stop(proc: subprocess.Popen) -> None:
    """Stop the standalone and every process it started (its own process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def airflow_ui(tmp_path_factory):
    """(base URL, admin password, run id) of a standalone Airflow with one ingest_batch run."""
    require_chromium()
    root = tmp_path_factory.mktemp("airflow-ui")
    batch = make_batch(root / "landing", [{"item_id": "ar-ui-001", "languages": "ar",
                                           "title": "كتاب للاختبار", "rights": "open",
                                           "reading_direction": "rtl"}],
                       pages={"ar-ui-001": {"0001.png": page_bytes(size=(120, 160))}},
                       batch_id="ui-batch-001")
    port = _free_port()
    env = dict(os.environ, AIRFLOW_HOME=str(root / "airflow"),
               AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__API__HOST="127.0.0.1",
               AIRFLOW__API__PORT=str(port), CADL_LANDING_DIR=str(root / "landing"),
               CADL_WORK_DIR=str(root / "work"), CADL_REPORTS_DIR=str(root / "reports"),
               CADL_PRESERVATION_URL=(root / "preservation").as_uri(),
               CADL_ACCESS_URL=(root / "access").as_uri(), CADL_ALLOW_FILE_URLS="true",
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")  # standalone spawns `airflow`
    run = subprocess.run([str(BIN / "cadl"), "run", str(batch), "--json", "--dags-test"], env=env,
                         capture_output=True, text=True, timeout=900)
    report = json.loads(run.stdout) if run.stdout.strip() else None
    assert report is not None, run.stderr[-4000:]
    log = root / "standalone.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "airflow"), "standalone"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/api/v2/monitor/health", proc, log)
        passwords = root / "airflow" / "simple_auth_manager_passwords.json.generated"
        password = json.loads(passwords.read_text("utf-8"))["admin"]
        yield base, password, report["run_id"], root
    finally:
        _stop(proc)


def _wait_for_text(driver, text: str, timeout: float = 60) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: text in d.find_element("tag name", "body").text)


def test_archivist_logs_in_and_sees_ingest_batch_and_its_last_run(airflow_ui):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, password, run_id, root = airflow_ui
    with chromium() as driver:
        driver.get(f"{base}/auth/login/")
        wait = WebDriverWait(driver, 60)
        wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: "/auth/login" not in d.current_url)

        driver.get(f"{base}/dags")
        _wait_for_text(driver, "ingest_batch")
        driver.get(f"{base}/dags/ingest_batch/runs")
        _wait_for_text(driver, run_id)
        driver.save_screenshot(str(root / "airflow-runs.png"))
        driver.get(f"{base}/dags/ingest_batch/runs/{run_id}")
        _wait_for_text(driver, "report")  # the report task of the run
