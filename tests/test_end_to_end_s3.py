"""The same DAG run with preservation and access on an S3 server (moto over HTTP on 127.0.0.1).

Proves the pipeline's S3 path end to end: what a site with SeaweedFS, Garage or AWS gets.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import boto3
import pytest

pytestmark = pytest.mark.slow
CADL = str(Path(sys.executable).with_name("cadl"))


@pytest.fixture(scope="module")
def s3_run(sample_batch, moto_endpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e-s3")
    batch = root / "landing" / sample_batch[0].name
    shutil.copytree(sample_batch[0], batch)
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_DEFAULT_REGION": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    for bucket in ("e2e-preservation", "e2e-access"):
        s3.create_bucket(Bucket=bucket)
    env = dict(os.environ, **creds, CADL_S3_ENDPOINT_URL=moto_endpoint,
               CADL_WORK_DIR=str(root / "work"), CADL_REPORTS_DIR=str(root / "reports"),
               CADL_PRESERVATION_URL="s3://e2e-preservation/archive",
               CADL_ACCESS_URL="s3://e2e-access/portal", CADL_ALLOW_FILE_URLS="true")
    proc = subprocess.run([CADL, "run", str(batch), "--json", "--dags-test"], env=env, capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return {"report": json.loads(proc.stdout), "s3": s3, "root": root}


def _download_prefix(s3, uri: str, dest: Path) -> Path:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            target = dest / obj["Key"][len(prefix) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(target))
    return dest


def test_bags_in_s3_are_complete_and_valid(s3_run):
    report = s3_run["report"]
    assert report["summary"]["published"] == 4 and report["summary"]["preserved"] == 1
    for item in report["items"]:
        assert item["bag"].startswith("s3://e2e-preservation/archive/items/")
        local = _download_prefix(s3_run["s3"], item["bag"], s3_run["root"] / "bags" /
                                 item["item_id"])
        bagit.Bag(str(local)).validate()
        marker = item["bag"].rsplit("/", 1)[0].removeprefix("s3://e2e-preservation/")
        body = s3_run["s3"].get_object(Bucket="e2e-preservation", Key=marker + "/DEPOSITED.json")
        assert json.loads(body["Body"].read())["item_id"] == item["item_id"]


def test_catalogue_in_access_bucket_lists_only_open_items(s3_run):
    body = s3_run["s3"].get_object(Bucket="e2e-access", Key="portal/catalogue.json")
    ids = [entry["item_id"] for entry in json.loads(body["Body"].read())["items"]]
    assert "ar-restricted-001" not in ids and len(ids) == 4
    keys = s3_run["s3"].list_objects_v2(Bucket="e2e-access", Prefix="portal/items/ar-book-001/")
    names = {obj["Key"].rsplit("/", 1)[1] for obj in keys["Contents"]}
    assert {"ar-book-001.pdf", "mets.xml", "item.json", "p0001.jpg", "p0001.txt"} <= names
