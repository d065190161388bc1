"""Faults a preservation store must survive, each against the S3 server process and a folder.

Storage down at deposit, a deposit process killed with SIGKILL mid-upload and rerun, wrong
credentials; damage found by audits is in test_audit.py.
"""

import datetime as dt
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from kernel.errors import ConfigError, StorageUnavailable
from kernel.settings import Settings
from preservation.backends import open_storage
from preservation.bag import build_bag
from preservation.deposit import deposit_bag
from preservation.folder import FolderStorage
from preservation.s3 import S3Storage
from preservation.versions import latest_version, list_versions
from s3server import MotoServer

from .conftest import new_bucket, s3_settings
from .test_deposit import ITEM, NOW, make_bag

CHILD = Path(__file__).with_name("deposit_child.py")
CADL = str(Path(sys.executable).with_name("cadl"))
MB = 1024 * 1024


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha512(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def landing_batch(root: Path) -> Path:
    """A small landing-zone batch with Arabic and Chinese file names, NFC and NFD."""
    batch = root / "landing" / "b-faults"
    for folder, names in (("ar-001", ["صفحة ١.tif", "صفحة ٢.tif"]),
                          ("zh-001", ["第一页.tif", "\u0065\u0301té-頁.tif"])):
        (batch / folder).mkdir(parents=True)
        for n, name in enumerate(names):
            (batch / folder / name).write_bytes(b"II*\x00" + bytes([n]) * 2000)
    (batch / "manifest.csv").write_text("item_id,title\nar-001,ديوان\nzh-001,诗集\n", "utf-8")
    (batch / "READY").write_bytes(b"")
    return batch


# -- storage down at deposit ----------------------------------------------------------------------


def _work_unit(root: Path, tmp_path: Path) -> dict:
    """The work folder `cadl.pipeline.deposit` expects: state.json with a fingerprint, the bag."""
    unit = {"batch_id": "b-faults", "item_id": ITEM, "action": "process"}
    item_dir = root / "work" / "b-faults" / ITEM
    bag = make_bag(tmp_path)
    (item_dir / "bag").mkdir(parents=True)
    bag.rename(item_dir / "bag" / ITEM)
    (item_dir / "state.json").write_text(json.dumps({"fingerprint": "fp-1"}), "utf-8")
    return unit


def test_s3_down_at_deposit_retries_with_backoff_then_fails_clearly_and_keeps_the_batch(
    private_moto, tmp_path, caplog
):
    from cadl import pipeline

    root = tmp_path / "site"
    batch = landing_batch(root)
    before = _tree(batch)
    unit = _work_unit(root, tmp_path)
    bucket = new_bucket()
    S3Storage(bucket, endpoint_url=private_moto.endpoint, create_bucket=True)
    settings = Settings(work_dir=root / "work", preservation_url=f"s3://{bucket}/archive",
                        s3_endpoint_url=private_moto.endpoint)
    private_moto.stop()

    with caplog.at_level(logging.WARNING, logger="preservation.s3"):
        with pytest.raises(StorageUnavailable) as info:
            pipeline.deposit(unit, settings)
    message = str(info.value)
    assert info.value.retryable and info.value.exit_code == 6
    assert "unreachable" in message and private_moto.endpoint in message
    retries = [r.getMessage() for r in caplog.records if "retrying with backoff" in r.getMessage()]
    assert len(retries) == 4, retries  # 5 attempts: 4 retries, each after a backoff delay
    assert _tree(batch) == before  # the landing-zone batch is untouched
    assert (root / "work" / "b-faults" / ITEM / "bag" / ITEM / "bagit.txt").exists()


def test_folder_unwritable_at_deposit_fails_clearly_and_keeps_the_batch(tmp_path):
    from cadl import pipeline

    root = tmp_path / "site"
    batch = landing_batch(root)
    before = _tree(batch)
    unit = _work_unit(root, tmp_path)
    blocker = root / "not-a-folder"
    blocker.write_text("a file where the preservation folder should be")
    settings = Settings(work_dir=root / "work", preservation_url=blocker.as_uri())
    with pytest.raises(OSError, match="not-a-folder"):
        pipeline.deposit(unit, settings)
    assert _tree(batch) == before


# -- killed mid-upload, then rerun ----------------------------------------------------------------


def _large_bag(tmp_path: Path) -> Path:
    src = tmp_path / "large-src"
    src.mkdir()
    payload = []
    for n in range(1, 4):
        path = src / f"p{n}.tif"
        path.write_bytes(b"II*\x00" + os.urandom(12 * MB + n))
        payload.append((path, f"masters/p{n:04d}.tif"))
    (src / "mets.xml").write_text("<mets>مخطوطة 手稿</mets>", "utf-8")
    payload.append((src / "mets.xml", "mets.xml"))
    return build_bag(tmp_path / "large" / ITEM, payload, {"External-Description": "مخطوطة 手稿"},
                     bagging_date=NOW.date())


def _child(spec: dict, tmp_path: Path, name: str) -> subprocess.Popen:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.Popen([sys.executable, str(CHILD), str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("backend", ["folder", "s3"])
def test_deposit_killed_mid_upload_then_rerun_completes_once_with_no_partial_version(
    backend, tmp_path, request
):
    bag = _large_bag(tmp_path)
    if backend == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        url = f"s3://{new_bucket()}/archive"
        storage = open_storage(url, s3_settings(endpoint), create_bucket=True)
    else:
        endpoint, url = None, (tmp_path / "store").as_uri()
        storage = FolderStorage(tmp_path / "store")
    spec = {"bag": str(bag), "url": url, "endpoint": endpoint, "item": ITEM,
            "fingerprint": "fp-1", "part_size": 5 * MB,
            "pause_file": str(tmp_path / "paused")}

    child = _child(spec, tmp_path, "first")
    deadline = time.monotonic() + 120
    while not (tmp_path / "paused").exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the deposit never reached the middle of an upload"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL

    # Killed mid-upload: something was written, nothing looks finished.
    assert latest_version(storage, ITEM) is None
    assert [(v.number, v.complete) for v in list_versions(storage, ITEM)] == [(1, False)]
    if backend == "s3":
        client = storage._client
        assert client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads")
    else:
        assert list((tmp_path / "store").rglob(".*.tmp"))
    written_before = set(storage.list(f"items/{ITEM}/"))

    spec["pause_file"] = None
    rerun = _child(spec, tmp_path, "rerun")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-3000:]
    result = json.loads(out)
    assert (result["version"], result["new"]) == (1, True)
    assert 0 < result["uploaded"] < result["objects"]  # resumed: what was there was kept

    assert [(v.number, v.complete) for v in list_versions(storage, ITEM)] == [(1, True)]
    keys = set(storage.list(f"items/{ITEM}/"))
    assert written_before <= keys and not any("v0002" in k for k in keys)
    for path in bag.rglob("*"):
        if path.is_file():
            key = f"items/{ITEM}/v0001/{ITEM}/{path.relative_to(bag).as_posix()}"
            assert storage.sha512(key) == hashlib.sha512(path.read_bytes()).hexdigest(), key
    if backend == "s3":
        assert not client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads")
    else:
        assert not list((tmp_path / "store").rglob(".*.tmp"))


# -- wrong credentials ----------------------------------------------------------------------------

SECRET = "Wr0ng-S3cret-ﺱﺭ-秘密-never-print-me"


@pytest.fixture
def auth_moto(tmp_path):
    """A moto server that checks signatures, with one IAM user allowed everything on S3."""
    server = MotoServer(tmp_path / "moto-auth.log", env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="pipeline")
    iam.put_user_policy(UserName="pipeline", PolicyName="s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="pipeline")["AccessKey"]
    bucket = new_bucket()
    S3Storage(bucket, endpoint_url=server.endpoint, aws_access_key_id=key["AccessKeyId"],
              aws_secret_access_key=key["SecretAccessKey"], create_bucket=True)
    yield {"endpoint": server.endpoint, "bucket": bucket, "key_id": key["AccessKeyId"],
           "secret": key["SecretAccessKey"]}
    server.stop()


def test_wrong_secret_is_a_clear_config_error_without_the_secret(auth_moto, caplog):
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ConfigError) as info:
            S3Storage(auth_moto["bucket"], endpoint_url=auth_moto["endpoint"],
                      aws_access_key_id=auth_moto["key_id"], aws_secret_access_key=SECRET)
    message = str(info.value)
    assert "access denied" in message and "credentials" in message
    assert auth_moto["bucket"] in message
    assert SECRET not in message and SECRET not in caplog.text
    assert info.value.exit_code == 3 and not info.value.retryable


def test_right_credentials_work_on_the_same_server(auth_moto):
    store = S3Storage(auth_moto["bucket"], endpoint_url=auth_moto["endpoint"],
                      aws_access_key_id=auth_moto["key_id"],
                      aws_secret_access_key=auth_moto["secret"])
    store.put_bytes("k", "نص 文本".encode())
    assert store.get_bytes("k") == "نص 文本".encode()


def test_cadl_with_wrong_credentials_prints_a_clear_error_and_no_secret(auth_moto, tmp_path):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=auth_moto["key_id"], AWS_SECRET_ACCESS_KEY=SECRET,
               CADL_S3_ENDPOINT_URL=auth_moto["endpoint"],
               CADL_PRESERVATION_URL=f"s3://{auth_moto['bucket']}/archive",
               CADL_REPORTS_DIR=str(tmp_path / "reports"))
    for command in (["versions", ITEM], ["audit", ITEM]):
        proc = subprocess.run([CADL, "-v", *command], env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 3, proc.stderr[-2000:]
        assert "access denied" in proc.stderr and "check the S3 credentials" in proc.stderr
        assert SECRET not in proc.stdout + proc.stderr
    assert not (tmp_path / "reports").exists() or SECRET not in "".join(
        p.read_text("utf-8", errors="replace") for p in (tmp_path / "reports").rglob("*")
        if p.is_file())


# -- object lock ----------------------------------------------------------------------------------


def test_deposit_into_a_locked_bucket_sets_retention_and_versions_cannot_be_deleted(
    moto_endpoint, tmp_path
):
    bucket = new_bucket()
    settings = Settings(s3_endpoint_url=moto_endpoint, preservation_url=f"s3://{bucket}/archive",
                        object_lock_mode="GOVERNANCE", object_lock_days=30)
    storage = open_storage(settings.preservation_url, settings, create_bucket=True)
    deposit_bag(make_bag(tmp_path), storage, ITEM, "fp-1", NOW)
    client = storage._client
    key = f"archive/items/{ITEM}/v0001/DEPOSITED.json"
    head = client.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    retain = head["ObjectLockRetainUntilDate"]
    assert retain > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=29)
    with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):
        client.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    # The access location is not locked: publish must be able to replace and withdraw.
    access = open_storage(f"s3://{new_bucket()}/portal", settings, create_bucket=True)
    access.put_bytes("items/a/item.json", b"{}")
    access.delete("items/a/item.json")


def test_object_lock_asked_for_on_a_bucket_without_it_is_a_config_error(moto_endpoint):
    bucket = new_bucket()
    S3Storage(bucket, endpoint_url=moto_endpoint, create_bucket=True)
    settings = Settings(s3_endpoint_url=moto_endpoint, preservation_url=f"s3://{bucket}",
                        object_lock_mode="COMPLIANCE")
    with pytest.raises(ConfigError, match="object lock"):
        open_storage(settings.preservation_url, settings)
