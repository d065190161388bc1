"""A cold start raced by two `cadl` commands, and the DAG's deadline alert under `cadl run`.

Both need an embedded Airflow of their own: the race needs one that is not running yet, and the
deadline is read when the DAG file is parsed, so a deadline of seconds must be in the settings
the components start with (`deadline_hours` in the file CADL_ALERTS_CONFIG names). The session's
`embedded_airflow` keeps the real deadline, so the other scheduler tests raise no such alert.

The alert goes to a webhook receiver on 127.0.0.1 through Apprise, as a deployment's chat
webhook would. The receiver holds every request until a second one has arrived: the deadline
callback of the second run can only post while the first one's post is still pending if the
triggerer's event loop keeps running during a callback's network call. A callback that blocked
the loop would leave the first post hanging until the receiver gives up (`overlapped` false).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from batchmaker import make_batch

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
HOLD = 240  # seconds the receiver holds a post waiting for the other one
DEADLINE_HOURS = 0.002  # 7.2 s after the run is queued: every test run is past it


@pytest.fixture(scope="module")
def receiver():
    """A webhook receiver that answers a post only once two have arrived (or after HOLD s)."""
    posts, arrived, lock = [], threading.Condition(), threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with arrived:
                posts.append(body)
                arrived.notify_all()
                overlapped = arrived.wait_for(lambda: len(posts) >= 2, timeout=HOLD)
            with lock:
                body["overlapped"] = overlapped
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, posts
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def cold(tmp_path_factory, receiver):
    """Two `cadl up` started at the same moment on a home where no Airflow runs."""
    from cadl.embedded import stop

    port, _ = receiver
    base = tmp_path_factory.mktemp("cold")
    home = Path(tempfile.mkdtemp(prefix="cadl-cold-"))
    os.chmod(home, 0o755)  # Postgres runs as the postgres user when we are root
    config = base / "alerts.json"
    config.write_text(json.dumps({"deadline_hours": DEADLINE_HOURS,
                                  "apprise": {"conn_id": "cadl_hook", "tag": "alerts"}}))
    env = dict(os.environ, AIRFLOW_HOME=str(home / "airflow"),
               CADL_LANDING_DIR=str(base / "landing"), CADL_WORK_DIR=str(base / "work"),
               CADL_REPORTS_DIR=str(base / "reports"),
               CADL_QUARANTINE_DIR=str(base / "quarantine"),
               CADL_PRESERVATION_URL=(base / "preservation").as_uri(),
               CADL_ACCESS_URL=(base / "access").as_uri(), CADL_ALLOW_FILE_URLS="true",
               CADL_OCR_HOLD_FOR_REVIEW="false", CADL_ALERTS_CONFIG=str(config),
               # Apprise's read timeout (rto) outlasts the receiver's hold.
               AIRFLOW_CONN_CADL_HOOK=json.dumps({"conn_type": "apprise", "extra": {"config": [
                   {"path": f"json://127.0.0.1:{port}/alerts?rto={HOLD + 30}",
                    "tag": "alerts"}]}}))
    try:
        clients = [subprocess.Popen([str(BIN / "cadl"), "up"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [c.communicate(timeout=900) for c in clients]
        yield {"base": base, "env": env, "home": home / "airflow", "clients": clients,
               "outputs": outputs}
    finally:
        stop(env)
        shutil.rmtree(home, ignore_errors=True)


def _airflow_processes(home: Path) -> set[int]:
    """Processes writing their output into this Airflow home's logs whose parent does not: the
    components themselves (their environment cannot tell: setproctitle overwrites it)."""
    mine = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            out = os.readlink(entry / "fd" / "1")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if out.startswith(f"{home}/"):
            mine[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return {pid for pid, parent in mine.items() if parent not in mine}


def test_two_cold_starts_at_once_end_with_one_airflow(cold):
    for client, (out, err) in zip(cold["clients"], cold["outputs"]):
        assert client.returncode == 0, err[-3000:]
    state = json.loads((cold["home"] / "embedded.json").read_text())
    assert [out.count(state["api_url"]) for out, _ in cold["outputs"]] == [1, 1]
    # One of the two started it, the other waited for the lock and reused it.
    assert sum("starting the embedded Airflow" in err for _, err in cold["outputs"]) == 1
    assert list(cold["home"].glob("embedded*.json")) == [cold["home"] / "embedded.json"]
    assert _airflow_processes(cold["home"]) == set(state["pids"].values())
    assert set(state["pids"]) == {"postgres", "api-server", "scheduler", "dag-processor",
                                  "triggerer"}


def test_runs_past_their_deadline_alert_without_blocking_the_triggerer(cold, receiver):
    _, posts = receiver
    base, env = cold["base"], cold["env"]
    rows = [{"item_id": "{p}-ar", "languages": "ar", "title": "كتاب تجريبي", "rights": "open",
             "reading_direction": "rtl"},
            {"item_id": "{p}-zh", "languages": "zh-Hans", "title": "测试书", "rights": "open",
             "reading_direction": "ltr"}]
    batches = []
    for prefix in ("dl1", "dl2"):
        batches.append(make_batch(base / "batches", [
            {**r, "item_id": r["item_id"].format(p=prefix)} for r in rows],
            batch_id=f"deadline-{prefix}"))
    clients = [subprocess.Popen([str(BIN / "cadl"), "run", str(b), "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for b in batches]
    outs = [c.communicate(timeout=1200) for c in clients]
    results = [json.loads(out) for out, _ in outs]
    assert [r["state"] for r in results] == ["success", "success"], [e[-2000:] for _, e in outs]
    run_ids = {r["run_id"] for r in results}

    # The callbacks run in the triggerer on their own time: wait for both to be done.
    alerts_file = base / "reports" / "alerts.jsonl"
    waited = time.monotonic() + HOLD + 120
    while True:
        lines = [json.loads(line) for line in alerts_file.read_text("utf-8").splitlines()] \
            if alerts_file.exists() else []
        missed = [a for a in lines if a["kind"] == "deadline_missed"]
        if len(missed) >= 2 and len(posts) >= 2 and all("overlapped" in p for p in posts):
            break
        assert time.monotonic() < waited, (lines, posts)
        time.sleep(1)
    assert {a["run_id"] for a in missed} == run_ids, lines
    for alert in missed:
        assert alert["batch_dir"] in {str(b) for b in batches}
        assert f"within {DEADLINE_HOURS:g} hours" in alert["message"]

    # Through Apprise to the webhook: one post per run, the two in flight at the same time.
    assert len(posts) == 2, posts
    assert {run_id for run_id in run_ids
            if any(run_id in post.get("message", "") for post in posts)} == run_ids, posts
    assert all(post.get("overlapped") for post in posts), posts
    # Airflow's own watchdog logs every stall of the triggerer's loop; a post held for minutes
    # on the loop would show as one that long (short stalls are a busy 2-core machine).
    log = (cold["home"] / "logs" / "triggerer.log").read_text(errors="replace")
    stalls = [float(s) for s in re.findall(r"async thread was blocked for ([0-9.]+) seconds", log)]
    assert max(stalls, default=0) < 10, stalls
