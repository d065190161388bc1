"""Deposit's upload checksum (CADL_S3_CHECKSUM): the full-object CRC the server confirms, and the
Content-MD5/ETag path kept for servers that know no other; bytes damaged on the way are caught on
both, and a server that refuses the checksum header gets an error naming the setting.

The bags are built from scans whose names are Arabic and Chinese, in NFC and in NFD; the storage
keys are ASCII (`preservation.storage`), the names travel in bag-info.
"""

import base64
import hashlib
import unicodedata
import zlib

import pytest

from kernel.errors import ConfigError, DepositVerificationFailed
from preservation.bag import build_bag
from preservation.deposit import deposit_bag
from preservation.s3 import S3Storage
from preservation.versions import download_version, latest_version
from s3server import MotoServer

from .conftest import new_bucket
from .test_deposit import ITEM, LATER, NOW
from .test_deposit_single_pass import CountingStorage

PART = 5 * 1024 * 1024  # S3's smallest part: the large scan goes up in three parts
NAMES = ["مخطوطة الديوان.tif", "手稿 第一页.tif", "漢籍 卷二.tif"]
ALGORITHMS = ["crc64nvme", "crc32", "md5"]


@pytest.fixture(scope="module")
def checking_s3(tmp_path_factory):
    """moto behind the checksum check real servers make (tests/s3verify.py)."""
    server = MotoServer(tmp_path_factory.mktemp("s3verify") / "moto.log", check_checksums=True)
    yield server.endpoint
    server.stop()


def unicode_bag(tmp_path):
    """A bag from scans named in Arabic and Chinese, each name once in NFC and once in NFD;
    the second scan is large enough for a multipart upload."""
    src = tmp_path / "scans"
    src.mkdir()
    payload, originals = [], []
    for n, name in enumerate(NAMES * 2, start=1):
        form = "NFC" if n <= len(NAMES) else "NFD"
        original = unicodedata.normalize(form, f"{n}-{name}")
        path = src / original
        size = 11 * 1024 * 1024 + 7 if n == 2 else 3000 + n
        path.write_bytes((b"II*\x00" + original.encode("utf-8") * 64) * (size // 200 + 1))
        payload.append((path, f"masters/p{n:04d}.tif"))
        originals.append(original)
    assert len({p.name for p, _ in payload}) == len(payload)  # NFC and NFD differ on disk
    bag = build_bag(tmp_path / "bags" / ITEM, payload,
                    {"External-Description": "ديوان 诗集 漢籍",
                     "Original-Names": " | ".join(originals)}, bagging_date=NOW.date())
    return bag, originals


def store(endpoint, checksum):
    return S3Storage(new_bucket(), "archive", endpoint_url=endpoint, create_bucket=True,
                     checksum=checksum, multipart_threshold=PART)


def local_checksum(checksum: str, data: bytes) -> str:
    if checksum == "crc32":
        return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    from awscrt import checksums

    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


def damage_on_the_way(storage: S3Storage, target: str):
    """Flip one byte of every upload request for a key ending in `target`, after the checksum
    was computed and set: what a faulty NIC, proxy or cable does. Returns the URLs damaged (a
    list filled as it happens) and a function that mends the line."""
    damaged = []

    def flip(request, **_):
        if request.url.split("?")[0].endswith(target) and request.body:
            body = bytearray(request.body if isinstance(request.body, (bytes, bytearray))
                             else request.body.read())
            body[len(body) // 2] ^= 0x01
            request.body = bytes(body)
            damaged.append(request.url)

    events = [f"before-send.s3.{operation}" for operation in ("PutObject", "UploadPart")]
    for event in events:
        storage._client.meta.events.register(event, flip)

    def mend():
        for event in events:
            storage._client.meta.events.unregister(event, flip)
    return damaged, mend


@pytest.mark.parametrize("checksum", ALGORITHMS)
def test_deposit_is_confirmed_by_the_servers_checksum_without_reading_back(
        checking_s3, tmp_path, checksum):
    bag, originals = unicode_bag(tmp_path)
    storage = store(checking_s3, checksum)
    counting = CountingStorage(storage)
    deposit = deposit_bag(bag, counting, ITEM, "fp-1", NOW)
    assert deposit.uploaded == deposit.objects == 12 and counting.rereads == []

    client = storage._client
    for n in (1, 2):
        key = storage._key(f"{deposit.prefix}{ITEM}/data/masters/p{n:04d}.tif")
        data = (bag / "data" / "masters" / f"p{n:04d}.tif").read_bytes()
        head = client.head_object(Bucket=storage.bucket, Key=key, ChecksumMode="ENABLED")
        if checksum == "md5":
            assert "ChecksumCRC64NVME" not in head
            if n == 1:  # a multipart ETag is the MD5 of the parts' MD5s
                assert head["ETag"].strip('"') == hashlib.md5(data).hexdigest()
        else:
            assert head[f"Checksum{checksum.upper()}"] == local_checksum(checksum, data)
            assert head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT"
    copy = download_version(storage, ITEM, 1, tmp_path / "back")
    info = (copy / "bag-info.txt").read_text("utf-8")
    for original in originals:  # both normal forms came back as they were written
        assert original in info
    assert unicodedata.normalize("NFD", originals[0]) in info


@pytest.mark.parametrize("checksum", ALGORITHMS)
@pytest.mark.parametrize("page", ["p0001.tif", "p0002.tif"], ids=["single", "multipart"])
def test_bytes_damaged_on_the_way_are_refused_and_the_rerun_completes(
        checking_s3, tmp_path, checksum, page):
    bag, _ = unicode_bag(tmp_path)
    storage = store(checking_s3, checksum)
    damaged, mend = damage_on_the_way(storage, page)
    with pytest.raises(DepositVerificationFailed, match="damaged on the way"):
        deposit_bag(bag, storage, ITEM, "fp-1", NOW)
    assert damaged and latest_version(storage, ITEM) is None

    mend()
    deposit = deposit_bag(bag, storage, ITEM, "fp-1", LATER)
    assert latest_version(storage, ITEM)["version"] == deposit.version == 1


@pytest.mark.parametrize("checksum", ["crc64nvme", "md5"])
def test_a_server_that_stores_damaged_bytes_is_caught_by_its_own_checksum(
        moto_endpoint, tmp_path, checksum):
    """Plain moto checks nothing on upload, but computes the ETag (MD5) and a multipart
    object's full CRC itself: they differ from ours, the object is read back and fails."""
    bag, _ = unicode_bag(tmp_path)
    storage = store(moto_endpoint, checksum)
    target = "p0001.tif" if checksum == "md5" else "p0002.tif"
    damaged, _ = damage_on_the_way(storage, target)
    counting = CountingStorage(storage)
    with pytest.raises(DepositVerificationFailed, match=f"{target} has sha512"):
        deposit_bag(bag, counting, ITEM, "fp-1", NOW)
    assert damaged and latest_version(storage, ITEM) is None
    assert [k for k in counting.rereads if k.endswith(target)]


def test_a_server_without_flexible_checksums_is_told_to_use_md5(tmp_path):
    server = MotoServer(tmp_path / "moto.log", check_checksums=True, flexible_checksums=False)
    try:
        bag, _ = unicode_bag(tmp_path)
        with pytest.raises(ConfigError, match="CADL_S3_CHECKSUM") as caught:
            deposit_bag(bag, store(server.endpoint, "crc64nvme"), ITEM, "fp-1", NOW)
        assert "md5" in str(caught.value) and "crc64nvme" in str(caught.value)
        md5_store = store(server.endpoint, "md5")
        assert deposit_bag(bag, md5_store, ITEM, "fp-1", NOW).uploaded == 12
        assert latest_version(md5_store, ITEM)["version"] == 1
    finally:
        server.stop()


def test_an_unknown_checksum_setting_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="CADL_S3_CHECKSUM='sha1'"):
        S3Storage("any-bucket", checksum="sha1")  # refused before any request is made
