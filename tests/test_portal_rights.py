"""Per-portal rights, rights overrides and feed derivation, without running the pipeline."""

import datetime as dt
import json

import pytest

from kernel.errors import ConfigError
from ingest.manifest import read_manifest
from ingest.models import Item, Rights, ValidationReport
from publication.rights import apply_overrides, due_changes, load_overrides
from publication.feed import _diff, fold
from preservation.folder import FolderStorage
from publication.oai import OaiError, _decode_token, _encode_token, _range

TODAY = dt.date(2026, 3, 1)


def _item(**kw) -> Item:
    return Item(**{"item_id": "b-001", "row": 2, "languages": ["ar"], "title": "ديوان", **kw})


def test_portal_override_makes_an_item_open_on_one_portal_and_embargoed_on_the_other():
    item = _item(portal_rights={"ar": Rights.parse("embargo:2027-01-01")})
    assert item.public_portals(TODAY) == ["zh"]
    assert item.public_portals(dt.date(2027, 1, 1)) == ["zh", "ar"]
    assert _item(portals=["ar"]).rights_for("zh") is None


def test_manifest_reads_rights_zh_and_rights_ar_and_reports_a_bad_one(tmp_path):
    (tmp_path / "manifest.csv").write_text(
        "item_id,languages,title,rights,rights_zh,rights_ar\n"
        "a-1,zh-Hant,鄭和下西洋,open,,embargo:2030-01-01\n"
        "a-2,ar,كتاب,restricted,open,embargo:soon\n", "utf-8")
    report = ValidationReport(batch_dir=str(tmp_path))
    items = read_manifest(tmp_path, report)
    assert items[0].public_portals(TODAY) == ["zh"]
    assert [p.item_id for p in report.errors] == ["a-2"]
    assert "rights_ar" in report.errors[0].message


def test_override_file_wins_over_the_manifest_and_bad_files_name_the_problem(tmp_path):
    path = tmp_path / "rights-overrides.json"
    assert load_overrides(path) == {}
    path.write_text(json.dumps({"b-001": {"rights": "restricted", "note": "donor"}}))
    item = apply_overrides(_item(portal_rights={"zh": Rights.parse("open")}),
                           load_overrides(path))
    assert item.public_portals(TODAY) == []
    path.write_text(json.dumps({"b-001": {"rights": "closed"}}))
    with pytest.raises(ConfigError, match="b-001.rights"):
        load_overrides(path)
    path.write_text(json.dumps({"b-001": {"portals": "zh;fr"}}))
    with pytest.raises(ConfigError, match="portals"):
        load_overrides(path)


def test_due_changes_finds_ended_embargoes_and_withdrawals():
    lifted = _item(rights=Rights.parse("embargo:2026-02-01"))
    records = [{"item": lifted.model_dump(mode="json"), "portals": []},
               {"item": _item(item_id="b-002").model_dump(mode="json"), "portals": ["zh", "ar"]}]
    changes = due_changes(records, {"b-002": {"rights_ar": "restricted"}}, TODAY)
    assert [(c["item_id"], c["before"], c["after"]) for c in changes] == [
        ("b-001", [], ["zh", "ar"]), ("b-002", ["zh", "ar"], ["zh"])]


def test_feed_diff_gives_create_update_delete_and_create_again():
    now = "2026-03-01T00:00:00Z"
    created = _diff({}, {"x": {"fingerprint": "1", "version": 1}}, now)
    assert [c["type"] for c in created] == ["Create"]
    updated = _diff(fold(created), {"x": {"fingerprint": "2", "version": 2}}, now)
    assert [c["type"] for c in updated] == ["Update"]
    deleted = _diff(fold(created + updated), {}, now)
    assert [c["type"] for c in deleted] == ["Delete"]
    assert _diff(fold(created + updated + deleted), {}, now) == []  # deletes persist, once
    again = _diff(fold(created + updated + deleted), {"x": {"fingerprint": "2"}}, now)
    assert [c["type"] for c in again] == ["Create"]


def test_resumption_tokens_round_trip_and_reject_forgeries():
    args = {"metadataPrefix": "mods", "set": "ar", "from": "2026-01-01"}
    assert _decode_token(_encode_token(args, 4)) == (args, 4)
    for bad in ("", "!!", _encode_token({"set": "ar"}, 1), _encode_token(args, -1)):
        with pytest.raises(OaiError) as exc:
            _decode_token(bad)
        assert exc.value.code == "badResumptionToken"


def test_from_until_granularity_must_match():
    assert _range("2026-01-01", None)[0] == "2026-01-01T00:00:00Z"
    assert _range(None, "2026-01-01")[1] == "2026-01-01T23:59:59Z"
    with pytest.raises(OaiError):
        _range("2026-01-01", "2026-01-02T00:00:00Z")
    with pytest.raises(OaiError):
        _range("2026-02-30", None)


def test_oai_repository_without_feeds_answers_no_records_match(tmp_path):
    from lxml import etree

    from publication.oai import Repository

    repo = Repository(FolderStorage(tmp_path), "http://x", "http://x/oai", "cadl.example.org",
                      "a@example.org")
    root = etree.fromstring(repo.handle({"verb": ["ListRecords"], "metadataPrefix": ["mods"]}))
    assert root.find("{http://www.openarchives.org/OAI/2.0/}error").get("code") == \
        "noRecordsMatch"
