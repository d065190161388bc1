"""Alerts reach the log, the alerts file, a real SMTP server and a real webhook (through
Airflow's SmtpNotifier and AppriseNotifier); retries follow `retryable`.

The SMTP server (aiosmtpd) and the webhook receiver run on 127.0.0.1; the Airflow connections
that point at them are given as AIRFLOW_CONN_* environment variables, as a deployment would.
"""

import asyncio
import email
import json
import socket
import threading
import time
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from cadl import alerts
from kernel import errors
from cadl.retries import retry_rules


@pytest.fixture
def webhook():
    """A webhook receiver on 127.0.0.1; yields (apprise json:// URL, received payloads)."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append({"path": self.path, **json.loads(
                self.rfile.read(int(self.headers["Content-Length"])))})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_port}/hook?-token=secret", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server():
    """An SMTP server (aiosmtpd) on 127.0.0.1; yields (port, received messages)."""
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, email.message_from_bytes(
                envelope.content, policy=default_policy)))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = controller_mod.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def _wait(predicate, seconds=10.0):
    """Delivery by SMTP and HTTP is synchronous here; the wait only covers the server's thread."""
    end = time.monotonic() + seconds
    while not predicate() and time.monotonic() < end:
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def config(tmp_path, monkeypatch, webhook, smtp_server):
    from kernel.settings import get_settings

    url, _ = webhook
    port, _ = smtp_server
    monkeypatch.setenv("AIRFLOW_CONN_CADL_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "cadl@example.org",
                  "timeout": 10, "retry_limit": 0}}))
    monkeypatch.setenv("AIRFLOW_CONN_CADL_CHAT", json.dumps({
        "conn_type": "apprise", "extra": {"config": [
            {"path": url, "tag": "alerts"},
            {"path": url.replace("/hook", "/reviewers"), "tag": "reviewers"}]}}))
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps({
        "deadline_hours": 6,
        "email": {"to": ["archivist@example.org"], "conn_id": "cadl_smtp"},
        "apprise": {"conn_id": "cadl_chat", "tag": "alerts"},
        "reviewers": {"email": ["reviewer@example.org"], "apprise_tag": "reviewers"}}), "utf-8")
    monkeypatch.setenv("CADL_ALERTS_CONFIG", str(path))
    monkeypatch.setenv("CADL_REPORTS_DIR", str(tmp_path / "reports"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


class _TI:
    dag_id, run_id, task_id, map_index = "ingest_batch", "manual__1", "deposit", 2
    log_url = "http://127.0.0.1:8080/dags/ingest_batch/runs/manual__1/tasks/deposit/mapped/2"


def test_failed_task_alert_is_logged_filed_mailed_and_posted(config, webhook, smtp_server,
                                                             caplog):
    _, received = webhook
    _, mails = smtp_server
    alerts.task_failed({"ti": _TI(), "params": {"batch_dir": "/landing/批次-001"},
                        "exception": errors.StorageUnavailable("s3 endpoint refused")})
    line = json.loads((config / "reports" / "alerts.jsonl").read_text("utf-8"))
    assert line["kind"] == "task_failed" and line["task_id"] == "deposit"
    assert line["map_index"] == 2 and line["batch_dir"] == "/landing/批次-001"
    assert line["message"] == "StorageUnavailable: s3 endpoint refused"
    assert _wait(lambda: mails) and _wait(lambda: received)
    rcpt, message = mails[0]
    assert rcpt == ["archivist@example.org"]
    assert message["Subject"].startswith("[cadl] task failed: ingest_batch deposit")
    assert "/landing/批次-001" in message.get_body(("html",)).get_content()
    assert received[0]["path"] == "/hook?token=secret"
    assert received[0]["title"].startswith("[cadl] task failed: ingest_batch deposit")
    assert "s3 endpoint refused" in received[0]["message"]
    assert "ALERT" in caplog.text and "token=secret" not in caplog.text


def test_deadline_alert_names_the_batch_and_the_hours(config, webhook):
    _, received = webhook
    context = {"dag_run": {"dag_id": "ingest_batch", "dag_run_id": "scheduled__2",
                           "state": "running", "conf": {"batch_dir": "/landing/دفعة-7"}}}
    channels = asyncio.run(alerts.deadline_missed(context=context))
    assert channels == ["log", "file", "email", "apprise"]
    assert _wait(lambda: received)
    assert "within 6 hours" in received[0]["message"]
    assert "/landing/دفعة-7" in received[0]["message"]
    # The run as Airflow 3.3's triggerer gets it (the REST API's DAGRunResponse: `dag_run_id`).
    assert "run_id: scheduled__2" in received[0]["message"]


def test_reviewers_are_told_through_their_own_tag_and_addresses(config, webhook, smtp_server):
    _, received = webhook
    _, mails = smtp_server
    for notifier in alerts.reviewer_notifiers("[cadl] 1 item held: batch-7",
                                              "ar-1: page 1 low_confidence {{ not a template }}"):
        alerts.send(notifier)
    assert _wait(lambda: mails) and _wait(lambda: received)
    assert mails[0][0] == ["reviewer@example.org"]
    assert [r["path"] for r in received] == ["/reviewers?token=secret"]
    assert "{{ not a template }}" in received[0]["message"]


def test_unreachable_smtp_server_never_raises(tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    monkeypatch.setenv("AIRFLOW_CONN_CADL_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "c@example.org",
                  "timeout": 2, "retry_limit": 0}}))
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps({"email": {"to": ["a@example.org"], "conn_id": "cadl_smtp"}}),
                    "utf-8")
    monkeypatch.setenv("CADL_ALERTS_CONFIG", str(path))
    alert = alerts.Alert(kind="task_failed", dag_id="d", run_id="r", message="m")
    assert alerts.record_alert(alert, reports_dir=tmp_path / "reports") == ["log", "file"]


def test_an_old_webhook_url_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps({"webhook": {"url": "https://chat.example.org/hook"}}), "utf-8")
    with pytest.raises(errors.ConfigError, match="apprise"):
        alerts.load_config(path)


def test_malformed_alert_config_names_the_file(tmp_path):
    path = tmp_path / "alerts.json"
    path.write_text('{"deadline_hours": "soon"}', "utf-8")
    with pytest.raises(errors.ConfigError, match="alerts.json"):
        alerts.load_config(path)


def test_only_retryable_errors_are_retried():
    rules = retry_rules()
    decided = dict(rules)
    assert decided[errors.StorageUnavailable] and decided[errors.ToolTimeout]
    assert not decided[errors.MetadataInvalid] and not decided[errors.ToolFailed]
    # ToolTimeout (retry) is matched before its parent ToolFailed (fail).
    order = [cls for cls, _ in rules]
    assert order.index(errors.ToolTimeout) < order.index(errors.ToolFailed)
    assert order[-1] is errors.PipelineError


def test_deadline_alert_never_blocks_the_triggerers_event_loop(tmp_path, monkeypatch,
                                                               fresh_settings):
    """The webhook answers only once another coroutine on the same loop has run: a callback
    that blocked the loop during the POST would make the receiver give up (`released` False)."""
    release, outcome = threading.Event(), {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            outcome["released"] = release.wait(20)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AIRFLOW_CONN_CADL_SLOW_CHAT", json.dumps({
        "conn_type": "apprise", "extra": {"config": [
            {"path": f"json://127.0.0.1:{server.server_port}/h", "tag": "alerts"}]}}))
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps({"apprise": {"conn_id": "cadl_slow_chat", "tag": "alerts"}}),
                    "utf-8")
    monkeypatch.setenv("CADL_ALERTS_CONFIG", str(path))
    monkeypatch.setenv("CADL_REPORTS_DIR", str(tmp_path / "reports"))

    async def other_trigger():
        while "released" not in outcome and not release.is_set():
            await asyncio.sleep(0.05)
            release.set()  # runs only if the loop is free while the webhook is pending

    async def both():
        return await asyncio.gather(alerts.deadline_missed(context={"dag_run": {}}),
                                    other_trigger())

    try:
        channels, _ = asyncio.run(both())
    finally:
        server.shutdown()
    assert outcome["released"] is True
    assert "apprise" in channels


@pytest.fixture
def fresh_settings():
    """Drops the cached settings before and after the test, so the CADL_* variables it sets
    are the ones read, and the next test does not inherit its folders."""
    from kernel.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def other_reports(tmp_path, monkeypatch, fresh_settings):
    """Settings whose every folder is outside var/: reports in a folder named in Chinese and
    Arabic, an alert configuration with no channel (only the log and the file)."""
    config = tmp_path / "alerts.json"
    config.write_text("{}", "utf-8")
    monkeypatch.setenv("CADL_ALERTS_CONFIG", str(config))
    for name in ("landing", "work", "quarantine"):
        monkeypatch.setenv(f"CADL_{name.upper()}_DIR", str(tmp_path / name))
    monkeypatch.setenv("CADL_PRESERVATION_URL", (tmp_path / "preservation").as_uri())
    monkeypatch.setenv("CADL_ACCESS_URL", (tmp_path / "access").as_uri())
    folder = tmp_path / "elsewhere" / "报告-تقارير"
    monkeypatch.setenv("CADL_REPORTS_DIR", str(folder))
    return folder


def test_airflow_callbacks_file_alerts_in_the_configured_reports_folder(other_reports):
    from cadl.collection import collection_view
    from kernel.settings import VAR, get_settings

    default = VAR / "reports" / "alerts.jsonl"
    default_before = default.read_bytes() if default.exists() else None
    alerts.task_failed({"ti": _TI(), "params": {"batch_dir": "/landing/批次-002"},
                        "exception": errors.StorageUnavailable("s3 endpoint refused")})
    channels = asyncio.run(alerts.deadline_missed(context={"dag_run": {
        "dag_id": "ingest_batch", "run_id": "manual__3", "state": "running",
        "conf": {"batch_dir": "/landing/دفعة-8"}}}))
    assert channels == ["log", "file"]
    lines = [json.loads(line) for line in
             (other_reports / "alerts.jsonl").read_text("utf-8").splitlines()]
    assert [(a["kind"], a["batch_dir"]) for a in lines] == [
        ("task_failed", "/landing/批次-002"), ("deadline_missed", "/landing/دفعة-8")]
    assert (default.read_bytes() if default.exists() else None) == default_before
    # The collection view reads the same configured folder: both alerts are shown there.
    shown = collection_view(get_settings())["alerts"]
    assert [a["kind"] for a in shown] == ["deadline_missed", "task_failed"]


def test_an_alert_cannot_be_recorded_without_naming_its_reports_folder(other_reports):
    alert = alerts.Alert(kind="task_failed", dag_id="d", run_id="r", message="m")
    with pytest.raises(TypeError, match="reports_dir"):
        alerts.record_alert(alert)
    assert not (other_reports / "alerts.jsonl").exists()
