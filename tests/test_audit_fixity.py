"""audit_fixity executed by Airflow (`airflow dags test`), and `cadl audit` / `cadl versions`.

Deposits are made directly (no OCR needed), then damaged; the DAG must find the damage, repair it
from the replica, record PREMIS events, write its report and fail so that its failure callback
raises an alert. A second run finds nothing and succeeds. The S3 run takes its credentials only
from an Airflow connection.
"""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from cadl.airflow_env import airflow_env, ensure_db
from preservation.bag import build_bag
from preservation.deposit import deposit_bag
from preservation.folder import FolderStorage
from preservation.s3 import S3Storage

pytestmark = pytest.mark.slow
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
CADL = str(Path(sys.executable).with_name("cadl"))
ITEMS = {"ar-book-001": "ديوان المتنبي", "zh-hans-001": "诗经", "zh-hant-001": "詩經"}


def _bag(root: Path, item_id: str, title: str) -> Path:
    src = root / "src" / item_id
    src.mkdir(parents=True)
    payload = []
    for n in (1, 2):
        page = src / f"{n}.tif"
        page.write_bytes(b"II*\x00" + f"{item_id} {title} {n}".encode() * 500)
        payload.append((page, f"masters/p{n:04d}.tif"))
    mets = src / "mets.xml"
    mets.write_text(f"<mets><title>{title}</title></mets>", "utf-8")
    payload.append((mets, "mets.xml"))
    return build_bag(root / "bags" / item_id, payload, {"External-Description": title},
                     bagging_date=NOW.date())


def _deposit_all(root: Path, primary, replica) -> None:
    for item_id, title in ITEMS.items():
        deposit_bag(_bag(root, item_id, title), primary, item_id, f"fp-{item_id}", NOW,
                    replica=replica)


def _dags_test(env: dict, conf: dict) -> subprocess.CompletedProcess:
    env = airflow_env(env)
    ensure_db(env)
    return subprocess.run([str(Path(sys.executable).with_name("airflow")), "dags", "test",
                           "audit_fixity", "-c", json.dumps(conf)], env=env,
                          capture_output=True, text=True, timeout=600)


def _reports(reports: Path) -> list[dict]:
    return [json.loads(p.read_text("utf-8"))
            for p in sorted(reports.glob("audits/*/audit.json"))]


def test_audit_fixity_dag_finds_repairs_records_and_alerts(tmp_path):
    primary, replica = FolderStorage(tmp_path / "pres"), FolderStorage(tmp_path / "replica")
    _deposit_all(tmp_path, primary, replica)
    damaged = "items/zh-hant-001/v0001/zh-hant-001/data/masters/p0002.tif"
    data = bytearray(primary.get_bytes(damaged))
    data[10] ^= 0x20
    primary.put_bytes(damaged, bytes(data))
    env = dict(os.environ, CADL_PRESERVATION_URL=primary.url, CADL_REPLICA_URL=replica.url,
               CADL_REPORTS_DIR=str(tmp_path / "reports"), CADL_WORK_DIR=str(tmp_path / "work"))

    first = _dags_test(env, {"all": True})
    assert first.returncode != 0, first.stdout[-3000:]
    [report] = _reports(tmp_path / "reports")
    assert report["summary"]["problems"] == 1 and report["summary"]["repaired"] == 1
    [problem] = [p for v in report["versions"] for p in v["problems"]]
    assert problem["uri"] == primary.uri(damaged) and problem["repaired"]
    assert primary.sha512(damaged) == replica.sha512(damaged)
    text = next((tmp_path / "reports").glob("audits/*/audit.txt")).read_text("utf-8")
    assert "zh-hant-001" in text and "p0002.tif" in text and "REPAIRED" in text
    alerts = [json.loads(line) for line in
              (tmp_path / "reports" / "alerts.jsonl").read_text("utf-8").splitlines()]
    assert any(a["dag_id"] == "audit_fixity" and a["task_id"] == "audit"
               and "FixityFailed" in a["message"] and "zh-hant-001" in a["message"]
               for a in alerts), alerts
    for item_id in ITEMS:  # one PREMIS audit document per package per location (beside the
        # deposit's accession and replication records)
        for storage in (primary, replica):
            keys = list(storage.list(f"items/{item_id}/v0001/events/"))
            assert len([k for k in keys if "-deposit-" not in k and "-replica-" not in k]) == 1

    second = _dags_test(env, {"all": True})
    assert second.returncode == 0, second.stdout[-3000:]
    assert [r["ok"] for r in _reports(tmp_path / "reports")].count(True) == 1


def test_audit_fixity_dag_on_s3_with_credentials_from_an_airflow_connection(
    tmp_path, moto_endpoint
):
    bucket = "audit-" + os.urandom(6).hex()
    primary = S3Storage(bucket, "archive", endpoint_url=moto_endpoint, create_bucket=True,
                        aws_access_key_id="conn-key", aws_secret_access_key="conn-secret")
    _deposit_all(tmp_path, primary, None)
    primary.delete("items/ar-book-001/v0001/ar-book-001/data/mets.xml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true",
               AIRFLOW_CONN_CADL_S3=json.dumps({
                   "conn_type": "aws", "login": "conn-key", "password": "conn-secret",
                   "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}),
               CADL_AWS_CONN_ID="cadl_s3", CADL_PRESERVATION_URL=f"s3://{bucket}/archive",
               CADL_REPORTS_DIR=str(tmp_path / "reports"), CADL_WORK_DIR=str(tmp_path / "work"))
    env.pop("CADL_S3_ENDPOINT_URL", None)

    run = _dags_test(env, {"items": ["ar-book-001", "zh-hans-001"]})
    assert run.returncode != 0
    [report] = _reports(tmp_path / "reports")
    assert report["scope"] == "items ar-book-001, zh-hans-001"
    [problem] = [p for v in report["versions"] for p in v["problems"]]
    assert problem["kind"] == "missing" and problem["key"].endswith("data/mets.xml")
    assert not problem["repaired"]
    assert "conn-secret" not in run.stdout + run.stderr
    assert "conn-secret" not in (tmp_path / "reports" / "alerts.jsonl").read_text("utf-8")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="y")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="archive/items/zh-hans-001/v0001/events/")
    audits = [o["Key"] for o in listed["Contents"] if "-deposit-" not in o["Key"]]
    assert len(audits) == 1  # the audit's record, beside the deposit's accession record


def test_cadl_audit_and_versions_on_demand(tmp_path):
    primary = FolderStorage(tmp_path / "pres")
    _deposit_all(tmp_path, primary, None)
    deposit_bag(_bag(tmp_path / "v2", "ar-book-001", "ديوان المتنبي، طبعة ثانية"), primary,
                "ar-book-001", "fp-2", NOW)
    env = dict(os.environ, CADL_PRESERVATION_URL=primary.url,
               CADL_REPORTS_DIR=str(tmp_path / "reports"))

    proc = subprocess.run([CADL, "versions", "ar-book-001", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    versions = json.loads(proc.stdout)
    assert [(v["version"], v["complete"]) for v in versions] == [(1, True), (2, True)]
    assert versions[1]["bag"] == primary.uri("items/ar-book-001/v0002/ar-book-001")

    proc = subprocess.run([CADL, "audit", "ar-book-001", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] and [v["version"] for v in report["versions"]] == [1, 2]

    primary.put_bytes("items/zh-hans-001/v0001/zh-hans-001/bag-info.txt", "改".encode())
    proc = subprocess.run([CADL, "audit"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9
    assert "zh-hans-001" in proc.stderr and "bag-info.txt" in proc.stdout
    assert "DAMAGED" in proc.stdout
