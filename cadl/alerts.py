"""Alerts for archivists: a task that failed for good, a batch not preserved in time.

Airflow calls `task_failed` (a task's failure callback, after its last retry) and
`deadline_missed` (the DAG's deadline alert, in the triggerer). Both record the alert the same
way, from `config/alerts.json` (or the file named by CADL_ALERTS_CONFIG):

- always: an ERROR log record, and a line in `<reports_dir>/alerts.jsonl`;
- when `email.to` lists addresses: an e-mail through Airflow's SMTP connection (`email.conn_id`);
- when `webhook.url` is set: a JSON POST to it (chat systems and monitoring accept these).

A channel that fails is logged and skipped: an alert must never turn into a second failure.
Importing this module is cheap (the DAG file imports it at parse time).
"""

import datetime as dt
import json
import logging
import os
import sys
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

CONFIG = Path(__file__).resolve().parents[1] / "config" / "alerts.json"
CONFIG_ENV = "CADL_ALERTS_CONFIG"


@dataclass
class AlertConfig:
    """What `config/alerts.json` holds; every field has a default that only logs."""

    deadline_hours: float = 24.0
    email_to: list[str] = field(default_factory=list)
    email_conn_id: str = "smtp_default"
    webhook_url: str | None = None
    webhook_timeout: float = 10.0


def load_config(path: Path | None = None) -> AlertConfig:
    """Read the alert configuration; raises ConfigError naming the file when it is malformed."""
    from kernel.errors import ConfigError

    path = Path(path or os.environ.get(CONFIG_ENV) or CONFIG)
    if not path.exists():
        return AlertConfig()
    try:
        data = json.loads(path.read_text("utf-8"))
        email, webhook = data.get("email") or {}, data.get("webhook") or {}
        to = email.get("to") or []
        config = AlertConfig(
            deadline_hours=float(data.get("deadline_hours", AlertConfig.deadline_hours)),
            email_to=[to] if isinstance(to, str) else [str(a) for a in to],
            email_conn_id=str(email.get("conn_id") or AlertConfig.email_conn_id),
            webhook_url=webhook.get("url") or None,
            webhook_timeout=float(webhook.get("timeout_seconds", AlertConfig.webhook_timeout)),
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not a valid alert configuration ({exc})") from None
    if config.deadline_hours <= 0:
        raise ConfigError(f"{path}: deadline_hours must be positive, got {config.deadline_hours}")
    return config


def deadline_hours() -> float:
    """Hours a batch may take from queued to reported before the deadline alert fires."""
    return load_config().deadline_hours


def deadline_alerts() -> list:
    """The DAG's deadline: an alert when a run is not finished N hours after it was queued.

    None under `airflow dags test` (what `cadl run` uses): Airflow 3.3.2 then keeps the
    unserialized alert in `dag.deadline`, and a successful run fails in
    `DeadlineAlert.get_by_id` ('dict' object has no attribute 'hex'). The scheduler path,
    where the alert matters, serializes the DAG first and is not affected.
    """
    if sys.argv[1:3] == ["dags", "test"]:
        return []
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    return [DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT,
                          interval=dt.timedelta(hours=deadline_hours()),
                          callback=AsyncCallback(deadline_missed), name="batch not preserved")]


@dataclass
class Alert:
    kind: str  # "task_failed" | "deadline_missed"
    dag_id: str
    run_id: str
    message: str
    batch_dir: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    log_url: str | None = None
    at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc)
                    .replace(microsecond=0).isoformat())

    @property
    def subject(self) -> str:
        where = f"{self.dag_id} {self.task_id or ''}".strip()
        batch = Path(self.batch_dir).name if self.batch_dir else self.run_id
        return f"[cadl] {self.kind.replace('_', ' ')}: {where} – batch {batch}"


def _alerts_file() -> Path:
    from kernel.settings import get_settings

    return Path(get_settings().reports_dir) / "alerts.jsonl"


def _send_email(alert: Alert, config: AlertConfig) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    body = "\n".join(f"{k}: {v}" for k, v in asdict(alert).items() if v is not None)
    with SmtpHook(smtp_conn_id=config.email_conn_id) as hook:
        hook.send_email_smtp(to=config.email_to, subject=alert.subject,
                             html_content=f"<pre>{_escape(body)}</pre>")


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _post_webhook(alert: Alert, config: AlertConfig) -> None:
    payload = {"text": f"{alert.subject}\n{alert.message}", **asdict(alert)}
    request = urllib.request.Request(
        config.webhook_url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    with urllib.request.urlopen(request, timeout=config.webhook_timeout) as response:
        response.read()


def record_alert(alert: Alert, config: AlertConfig | None = None) -> list[str]:
    """Log the alert, append it to alerts.jsonl, send it where configured; returns the channels used.

    Never raises for a channel that fails (it is logged); the webhook URL is not logged, as it
    often carries a token.
    """
    config = config or load_config()
    log.error("ALERT %s: %s (run %s, batch %s)", alert.subject, alert.message, alert.run_id,
              alert.batch_dir)
    channels = ["log"]
    try:
        path = _alerts_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(alert), ensure_ascii=False) + "\n")
        channels.append("file")
    except OSError as exc:
        log.warning("alert not written to the alerts file: %s", exc)
    if config.email_to:
        try:
            _send_email(alert, config)
            channels.append("email")
        except Exception as exc:  # SMTP down or misconfigured: the log still has the alert
            log.warning("alert e-mail to %s not sent: %s", ", ".join(config.email_to), exc)
    if config.webhook_url:
        try:
            _post_webhook(alert, config)
            channels.append("webhook")
        except Exception as exc:
            log.warning("alert webhook not delivered: %s", type(exc).__name__)
    return channels


def _get(obj, name):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def task_failed(context) -> None:
    """Failure callback of every ingest_batch task: one alert per task that failed for good."""
    ti, dag_run = context.get("ti"), context.get("dag_run")
    params = context.get("params") or {}
    exc = context.get("exception")
    map_index = _get(ti, "map_index")
    record_alert(Alert(
        kind="task_failed",
        dag_id=str(_get(ti, "dag_id") or _get(dag_run, "dag_id")),
        run_id=str(_get(ti, "run_id") or _get(dag_run, "run_id")),
        task_id=_get(ti, "task_id"),
        map_index=map_index if isinstance(map_index, int) and map_index >= 0 else None,
        batch_dir=params.get("batch_dir"),
        log_url=_get(ti, "log_url"),
        message=f"{type(exc).__name__}: {exc}" if exc else "the task failed",
    ))


async def deadline_missed(context: dict | None = None, **_) -> list[str]:
    """Deadline alert of ingest_batch (run in the triggerer): the batch is not reported in time."""
    run = (context or {}).get("dag_run") or {}
    conf = run.get("conf") or {}
    hours = deadline_hours()
    return record_alert(Alert(
        kind="deadline_missed", dag_id=str(run.get("dag_id")), run_id=str(run.get("run_id")),
        batch_dir=conf.get("batch_dir"),
        message=f"the batch was not preserved and reported within {hours:g} hours of being "
                f"queued (run state: {run.get('state')})",
    ))
