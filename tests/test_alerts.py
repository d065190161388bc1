"""Alerts reach the log, the alerts file and a real webhook server; retries follow `retryable`."""

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from cadl import alerts
from kernel import errors
from cadl.retries import retry_rules


@pytest.fixture
def webhook():
    """A webhook receiver on 127.0.0.1; yields (url, received payloads)."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook?token=secret", received
    server.shutdown()


@pytest.fixture
def config(tmp_path, monkeypatch, webhook):
    from kernel.settings import get_settings

    url, _ = webhook
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps({"deadline_hours": 6, "webhook": {"url": url}}), "utf-8")
    monkeypatch.setenv("CADL_ALERTS_CONFIG", str(path))
    monkeypatch.setenv("CADL_REPORTS_DIR", str(tmp_path / "reports"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


class _TI:
    dag_id, run_id, task_id, map_index = "ingest_batch", "manual__1", "deposit", 2
    log_url = "http://127.0.0.1:8080/dags/ingest_batch/runs/manual__1/tasks/deposit/mapped/2"


def test_failed_task_alert_is_logged_filed_and_posted(config, webhook, caplog):
    _, received = webhook
    alerts.task_failed({"ti": _TI(), "params": {"batch_dir": "/landing/批次-001"},
                        "exception": errors.StorageUnavailable("s3 endpoint refused")})
    line = json.loads((config / "reports" / "alerts.jsonl").read_text("utf-8"))
    assert line["kind"] == "task_failed" and line["task_id"] == "deposit"
    assert line["map_index"] == 2 and line["batch_dir"] == "/landing/批次-001"
    assert line["message"] == "StorageUnavailable: s3 endpoint refused"
    assert received and received[0]["text"].startswith("[cadl] task failed: ingest_batch deposit")
    assert "ALERT" in caplog.text and "token=secret" not in caplog.text


def test_deadline_alert_names_the_batch_and_the_hours(config, webhook):
    _, received = webhook
    context = {"dag_run": {"dag_id": "ingest_batch", "run_id": "scheduled__2",
                           "state": "running", "conf": {"batch_dir": "/landing/دفعة-7"}}}
    channels = asyncio.run(alerts.deadline_missed(context=context))
    assert channels == ["log", "file", "webhook"]
    assert "within 6 hours" in received[0]["message"]
    assert received[0]["batch_dir"] == "/landing/دفعة-7"


def test_unreachable_webhook_never_raises(tmp_path, monkeypatch):
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps({"webhook": {"url": "http://127.0.0.1:9/none",
                                            "timeout_seconds": 2}}), "utf-8")
    monkeypatch.setenv("CADL_ALERTS_CONFIG", str(path))
    monkeypatch.setenv("CADL_REPORTS_DIR", str(tmp_path / "reports"))
    alert = alerts.Alert(kind="task_failed", dag_id="d", run_id="r", message="m")
    assert alerts.record_alert(alert) == ["log", "file"]


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
