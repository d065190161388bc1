"""Alerts for archivists: a task that failed for good, a batch not preserved in time, a review.

Airflow calls `task_failed` (a task's failure callback, after its last retry) and
`deadline_missed` (the DAG's deadline alert, in the triggerer); `cadl.review` raises
`review_overdue`. All record the alert the same way, from `config/alerts.json` (or the file
named by CADL_ALERTS_CONFIG):

- always: an ERROR log record, and a line in `<reports_dir>/alerts.jsonl` (the local record);
- when `email.to` lists addresses: Airflow's `SmtpNotifier` through the SMTP connection
  `email.conn_id`;
- when `apprise.conn_id` is set: Airflow's `AppriseNotifier` through that Apprise connection,
  whose URLs reach e-mail, chat webhooks (`json://`, Slack, Teams, …) and DingTalk, WeCom and
  Feishu, which the Chinese partner's staff use; `apprise.tag` picks which of them.

`reviewer_notifiers` gives the same two notifiers for the people who review held items
(`reviewers.email`, `reviewers.apprise_tag`); the review task of `ingest_batch` hands them to
Airflow's human-in-the-loop operator, which calls them when the review starts.
Secrets (SMTP password, webhook tokens) live in the Airflow connections, never in this file.
A channel that fails is logged and skipped: an alert must never turn into a second failure.
Importing this module is cheap (the DAG file imports it at parse time).
"""

import datetime as dt
import json
import logging
import os
import sys
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
    email_from: str | None = None  # else the SMTP connection's from_email
    apprise_conn_id: str | None = None
    apprise_tag: str = "all"
    reviewers_email: list[str] = field(default_factory=list)
    reviewers_apprise_tag: str | None = None


def load_config(path: Path | None = None) -> AlertConfig:
    """Read the alert configuration; raises ConfigError naming the file when it is malformed."""
    from kernel.errors import ConfigError

    path = Path(path or os.environ.get(CONFIG_ENV) or CONFIG)
    if not path.exists():
        return AlertConfig()
    def addresses(value) -> list[str]:
        value = value or []
        return [value] if isinstance(value, str) else [str(a) for a in value]

    try:
        data = json.loads(path.read_text("utf-8"))
        email, apprise = data.get("email") or {}, data.get("apprise") or {}
        reviewers = data.get("reviewers") or {}
        config = AlertConfig(
            deadline_hours=float(data.get("deadline_hours", AlertConfig.deadline_hours)),
            email_to=addresses(email.get("to")),
            email_conn_id=str(email.get("conn_id") or AlertConfig.email_conn_id),
            email_from=email.get("from") or None,
            apprise_conn_id=apprise.get("conn_id") or None,
            apprise_tag=str(apprise.get("tag") or AlertConfig.apprise_tag),
            reviewers_email=addresses(reviewers.get("email")),
            reviewers_apprise_tag=reviewers.get("apprise_tag") or None,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not a valid alert configuration ({exc})") from None
    if (data.get("webhook") or {}).get("url"):
        raise ConfigError(f"{path}: webhook.url is replaced by Apprise (issue 16): create an "
                          "Airflow connection of type apprise whose config path is the URL "
                          "written json://host/path (jsons:// for https) and name it in "
                          "apprise.conn_id")
    if config.deadline_hours <= 0:
        raise ConfigError(f"{path}: deadline_hours must be positive, got {config.deadline_hours}")
    return config


def deadline_hours() -> float:
    """Hours a batch may take from queued to reported before the deadline alert fires."""
    return load_config().deadline_hours


def deadline_alerts() -> list:
    """The DAG's deadline: an alert when a run is not finished N hours after it was queued.

    None under `airflow dags test` (`cadl run --dags-test`): Airflow 3.3.2 then keeps the
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


def configured_reports_dir() -> Path:
    """The reports folder of the process's settings (CADL_REPORTS_DIR), for the Airflow
    callbacks, which get no Settings of their own."""
    from kernel.settings import get_settings

    return Path(get_settings().reports_dir)


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def notifiers(subject: str, body: str, to: list[str], apprise_tag: str | None,
              config: AlertConfig) -> list:
    """Airflow notifiers (SmtpNotifier, AppriseNotifier) for one message, as configured.

    Neither is rendered as a template when called through `send` (a comment or a file name
    holding "{{" must reach the reader as written); inside an operator (`notifiers=`) Airflow
    renders them, so the texts given there must be free of Jinja syntax.
    """
    found = []
    if to:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        found.append(SmtpNotifier(to=to, subject=subject, from_email=config.email_from,
                                  html_content=f"<pre>{_escape(body)}</pre>",
                                  smtp_conn_id=config.email_conn_id))
    if config.apprise_conn_id and apprise_tag:
        from airflow.providers.apprise.notifications.apprise import AppriseNotifier

        found.append(AppriseNotifier(body=body, title=subject, tag=apprise_tag,
                                     apprise_conn_id=config.apprise_conn_id))
    return found


def send(notifier, context: dict | None = None) -> str:
    """Send through one notifier now, without template rendering; returns the channel's name."""
    notifier.notify(context or {})
    return "email" if type(notifier).__name__ == "SmtpNotifier" else "apprise"


def reviewer_notifiers(subject: str, body: str, config: AlertConfig | None = None) -> list:
    """Notifiers that tell the reviewers a batch has items held for review."""
    config = config or load_config()
    return notifiers(subject, body, config.reviewers_email, config.reviewers_apprise_tag, config)


def record_alert(alert: Alert, config: AlertConfig | None = None, *,
                 reports_dir: Path) -> list[str]:
    """Log the alert, append it to alerts.jsonl, send it where configured; returns the channels used.

    `reports_dir` has no default: each caller names the reports folder of the settings it runs
    with, so an alert always lands beside that run's reports, where the collection view reads
    it, never in a folder a default chose. Never raises for a channel that fails (it is
    logged, without the exception's text, which may carry a webhook URL and its token).
    """
    config = config or load_config()
    log.error("ALERT %s: %s (run %s, batch %s)", alert.subject, alert.message, alert.run_id,
              alert.batch_dir)
    channels = ["log"]
    try:
        path = Path(reports_dir) / "alerts.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(alert), ensure_ascii=False) + "\n")
        channels.append("file")
    except OSError as exc:
        log.warning("alert not written to the alerts file: %s", exc)
    body = "\n".join(f"{k}: {v}" for k, v in asdict(alert).items() if v is not None)
    for notifier in notifiers(alert.subject, body, config.email_to, config.apprise_tag, config):
        try:
            channels.append(send(notifier))
        except Exception as exc:  # SMTP or chat down or misconfigured: the file has the alert
            log.warning("alert not delivered through %s: %s", type(notifier).__name__,
                        type(exc).__name__)
    return channels


def read_alerts(reports_dir: Path) -> list[dict]:
    """Every alert in `<reports_dir>/alerts.jsonl`, oldest first, as `record_alert` wrote it;
    a line cut short by a crash mid-write is skipped."""
    path = Path(reports_dir) / "alerts.jsonl"
    if not path.exists():
        return []
    alerts = []
    for line in path.read_text("utf-8").splitlines():
        try:
            alerts.append(json.loads(line))
        except ValueError:
            continue
    return alerts


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
    ), reports_dir=configured_reports_dir())


async def deadline_missed(context: dict | None = None, **_) -> list[str]:
    """Deadline alert of ingest_batch (run in the triggerer): the batch is not reported in time.

    The triggerer runs every trigger of the deployment on one event loop; SMTP, the webhook and
    the alerts file are blocking I/O (seconds when a server is slow), so they run in a worker
    thread and the loop goes on serving the other triggers meanwhile.
    """
    import asyncio

    return await asyncio.to_thread(_deadline_missed, context)


def _deadline_missed(context: dict | None) -> list[str]:
    # Airflow 3.3 hands the triggerer the run as its REST API shows it (DAGRunResponse), where
    # the id is `dag_run_id`; `run_id` is the name everywhere else.
    run = (context or {}).get("dag_run") or {}
    conf = run.get("conf") or {}
    hours = deadline_hours()
    return record_alert(Alert(
        kind="deadline_missed", dag_id=str(run.get("dag_id")),
        run_id=str(run.get("dag_run_id") or run.get("run_id")),
        batch_dir=conf.get("batch_dir"),
        message=f"the batch was not preserved and reported within {hours:g} hours of being "
                f"queued (run state: {run.get('state')})",
    ), reports_dir=configured_reports_dir())
