"""`cadl run` on Airflow's own scheduler: the embedded Airflow (api-server, scheduler,
dag-processor, triggerer; LocalExecutor) started once for the session by `embedded_airflow`.

Run states are read from Airflow's REST API, as the UI shows them: a run with a quarantined item
succeeds, a run with a failed item or a failed `validate` fails. The client is only a client:
killed mid-batch, the batch finishes and `cadl status` reports it; two `cadl run` of the same
batch at once make one run.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batchmaker import make_batch, page_bytes

BIN = Path(sys.executable).parent
ROWS = [{"item_id": "{p}-ar", "languages": "ar", "title": "كتاب تجريبي", "rights": "open",
         "reading_direction": "rtl"},
        {"item_id": "{p}-zh", "languages": "zh-Hans", "title": "测试书", "rights": "open",
         "reading_direction": "ltr"}]


def _rows(prefix: str) -> list[dict]:
    return [{**r, "item_id": r["item_id"].format(p=prefix)} for r in ROWS]


def _cadl(env, *args, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "cadl"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _api_state(embedded_airflow, run_id: str) -> str:
    from cadl.airflow_api import Api

    return Api(embedded_airflow["embedded"]).run("ingest_batch", run_id)["state"]


def test_a_run_with_a_quarantined_item_is_a_success_in_airflow(embedded_airflow):
    base, env = embedded_airflow["base"], embedded_airflow["env"]
    rows = _rows("q") + [{"item_id": "q-bad", "languages": "ar", "title": "تالف",
                          "rights": "open", "reading_direction": "rtl"}]
    tif = page_bytes("TIFF")
    batch = make_batch(base / "batches", rows, batch_id="sched-quarantine",
                       pages={"q-bad": {"0001.tif": tif[: len(tif) // 3]}})
    (batch / "READY").touch()
    proc = _cadl(env, "run", str(batch), "--json")
    out = json.loads(proc.stdout)
    assert out["state"] == "success", proc.stderr[-3000:]
    assert out["run_id"] == "cadl__sched-quarantine__1"
    assert {i["item_id"]: i["status"] for i in out["items"]} == {
        "q-ar": "published", "q-zh": "published", "q-bad": "quarantined"}
    assert _api_state(embedded_airflow, out["run_id"]) == "success"
    # Nothing of Airflow's own logging reaches the client's output.
    assert "airflow." not in proc.stderr and "INFO" not in proc.stderr, proc.stderr[-2000:]


def test_a_run_with_a_failed_item_fails_in_airflow(embedded_airflow):
    base, env = embedded_airflow["base"], embedded_airflow["env"]
    batch = make_batch(base / "batches", _rows("f"), batch_id="sched-failed")
    (batch / "READY").touch()
    # A file where the item's first version folder must go: its deposit fails for good, the
    # other item's does not.
    blocked = base / "preservation" / "items" / "f-zh" / "v0001"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    proc = _cadl(env, "run", str(batch), "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["state"] == "failed", proc.stderr[-3000:]
    assert {i["item_id"]: i["status"] for i in out["items"]} == {
        "f-ar": "published", "f-zh": "failed"}
    assert "f-zh FAILED" in proc.stderr  # reported while it happened
    assert _api_state(embedded_airflow, out["run_id"]) == "failed"


def test_a_batch_whose_manifest_cannot_be_read_fails_with_its_problems(embedded_airflow):
    base, env = embedded_airflow["base"], embedded_airflow["env"]
    batch = base / "batches" / "sched-unreadable"
    batch.mkdir(parents=True)
    (batch / "manifest.csv").write_bytes(b"\xff\xfe\x00garbage")
    (batch / "READY").touch()
    proc = _cadl(env, "run", str(batch), "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["state"] == "failed"
    assert out["problems"] and any("manifest" in (p.get("file") or "") + p["message"]
                                   for p in out["problems"]), out["problems"]
    assert _api_state(embedded_airflow, out["run_id"]) == "failed"


def test_clients_killed_mid_batch_leave_one_run_that_finishes(embedded_airflow):
    base, env = embedded_airflow["base"], embedded_airflow["env"]
    batch = make_batch(base / "batches", _rows("k"), batch_id="sched-killed")
    (batch / "READY").touch()
    logs = [open(base / f"client{i}.log", "w+") for i in (1, 2)]
    clients = [subprocess.Popen([str(BIN / "cadl"), "run", str(batch)], env=env,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
               for log in logs]
    try:
        deadline = time.monotonic() + 300
        while not all("run cadl__sched-killed__" in Path(log.name).read_text()
                      for log in logs):
            assert all(c.poll() is None for c in clients), [Path(g.name).read_text()
                                                            for g in logs]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        for client in clients:
            os.killpg(client.pid, signal.SIGKILL)
            client.wait()
    finally:
        for client in clients:
            if client.poll() is None:
                os.killpg(client.pid, signal.SIGKILL)
                client.wait()
    texts = [Path(log.name).read_text() for log in logs]
    assert sum("started run cadl__sched-killed__1" in t for t in texts) == 1, texts
    assert sum("attached to run cadl__sched-killed__1" in t for t in texts) == 1, texts

    status = json.loads(_cadl(env, "status", "sched-killed", "--json").stdout)
    assert status["run_id"] == "cadl__sched-killed__1"
    assert status["state"] in ("queued", "running")  # the clients are gone, the run is not

    proc = _cadl(env, "status", "sched-killed", "--follow", "--json")
    out = json.loads(proc.stdout)
    assert (out["run_id"], out["state"]) == ("cadl__sched-killed__1", "success")
    status = json.loads(_cadl(env, "status", "cadl__sched-killed__1", "--json").stdout)
    assert status["state"] == "success"
    assert status["items"] == {"published": 2}
    assert status["report_json"].endswith("report.json")

    from cadl.airflow_api import Api
    from cadl.runs import batch_runs

    runs = batch_runs(Api(embedded_airflow["embedded"]), "sched-killed")
    assert [r["dag_run_id"] for r in runs] == ["cadl__sched-killed__1"]


def _tesseracts_under(root: int) -> int:
    """How many tesseract processes run now below process `root` (the embedded scheduler)."""
    parent, names = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        parent[int(entry.name)], names[int(entry.name)] = int(rest.split()[1]), name

    def below(pid: int) -> bool:
        while pid > 1:
            pid = parent.get(pid, 0)
            if pid == root:
                return True
        return False

    return sum(1 for pid, name in names.items() if name == "tesseract" and below(pid))


def test_the_ocr_pool_bounds_tesseract_processes_to_its_slots(embedded_airflow):
    """Two OCR units (one item each) whose tasks each start `ocr_processes()` tesseracts and
    take as many of the pool's slots: they never run side by side, and no more tesseract
    processes than the pool has slots run at once."""
    import threading

    from cadl.airflow_api import Api

    base, env = embedded_airflow["base"], embedded_airflow["env"]
    pages = {f"p-{k}": {f"{n:04d}.png": page_bytes(size=(600, 800)) for n in range(1, 5)}
             for k in ("ar", "zh")}
    batch = make_batch(base / "batches", _rows("p"), batch_id="sched-pool", pages=pages)
    (batch / "READY").touch()
    api = Api(embedded_airflow["embedded"])
    slots = next(p["slots"] for p in api.request("GET", "/pools").json()["pools"]
                 if p["name"] == "ocr")
    scheduler = embedded_airflow["embedded"].pids["scheduler"]
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tesseracts_under(scheduler))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        out = json.loads(_cadl(env, "run", str(batch), "--json").stdout)
    finally:
        done.set()
        sampler.join()
    assert out["state"] == "success"
    ocr = [t for t in api.task_instances("ingest_batch", out["run_id"])
           if t["task_id"] == "unit.ocr"]
    assert len(ocr) == 2 and all(t["pool"] == "ocr" for t in ocr)
    assert all(t["pool_slots"] == slots for t in ocr)  # one OCR task fills the pool
    first, second = sorted(ocr, key=lambda t: t["start_date"])
    assert first["end_date"] <= second["start_date"], ocr  # so they never overlapped
    assert 1 <= peak[0] <= slots, (peak[0], slots)


def test_watch_landing_runs_on_the_same_scheduler_and_starts_the_batch(embedded_airflow):
    """The landing zone holds only this batch (the other tests' batches live elsewhere)."""
    from cadl.airflow_api import Api

    base = embedded_airflow["base"]
    tif = page_bytes("TIFF")
    make_batch(base / "landing", [{"item_id": "w-bad", "languages": "ar", "title": "تالف",
                                   "rights": "open", "reading_direction": "rtl"}],
               batch_id="sched-watch", pages={"w-bad": {"0001.tif": tif[: len(tif) // 3]}})
    (base / "landing" / "sched-watch" / "READY").touch()
    api = Api(embedded_airflow["embedded"])
    api.unpause("watch_landing")
    api.trigger("watch_landing", "test-scan-1", {})
    deadline = time.monotonic() + 900
    run = None
    while time.monotonic() < deadline:
        run = api.run("ingest_batch", "watch__sched-watch__1")
        if run is not None and run["state"] in ("success", "failed"):
            break
        time.sleep(2)
    assert run is not None and run["state"] == "success", run
    assert api.run("watch_landing", "test-scan-1")["state"] == "success"
    # release was on: the batch, its one item quarantined, left the landing zone.
    assert not (base / "landing" / "sched-watch").exists()
    assert (base / "processed" / "sched-watch").is_dir()
