"""Deposit, replica, rights change and fixity audit are PREMIS events in the package history:
beside each version in both preservation copies (what a re-ingest reads), merged into the
access package's history.xml and item.json `history` (what the portals read), with the people
and organisations involved as agents, not only the software. Arabic and Chinese items."""

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

import package_samples as samples
from ingest.models import Rights
from kernel.settings import Settings
from metadata.agents import item_premis_agents
from metadata.validate import validate
from preservation.audit import audit
from preservation.backends import open_storage
from preservation.bag import build_bag
from preservation.deposit import deposit_bag
from preservation.history import item_history
from publication.history import HISTORY, build_history, refresh_history
from publication.publish import publish_item
from publication.rights import write_record

NS = {"premis": "http://www.loc.gov/premis/v3"}
T0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.timezone.utc)
T1 = dt.datetime(2026, 4, 2, 10, tzinfo=dt.timezone.utc)
T2 = dt.datetime(2026, 5, 3, 11, tzinfo=dt.timezone.utc)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "schemas"
ITEMS = {"ar": samples.arabic_item, "zh-Hant": samples.traditional_item,
         "zh-Hans": samples.simplified_item}


def _shared_premis_errors(body: bytes) -> list[str]:
    if not (SHARED / "premis-3.0.xsd").exists():
        pytest.skip("../shared/schemas is absent on this machine")
    return validate(body, "premis", schema_dir=SHARED)


@pytest.fixture(params=list(ITEMS))
def deposited(request, tmp_path):
    """An Arabic or Chinese item deposited in a primary folder and a replica, with its agents:
    the holding partner, the library, and the operator the manifest row names."""
    item = ITEMS[request.param]().model_copy()
    item.extra["operator"] = {"ar": "سلمى العتيبي", "zh-Hant": "陳美玲",
                              "zh-Hans": "王建国"}[request.param]
    settings = Settings(source_organization="مكتبة الرقمنة 数字图书馆")
    src = tmp_path / "src"
    src.mkdir()
    (src / "p1.txt").write_text(item.title, "utf-8")
    (src / "premis-events.xml").write_bytes(b"<x/>")
    bag = build_bag(tmp_path / "bags" / item.item_id, [(src / "p1.txt", "ocr/p0001.txt")],
                    {"External-Description": item.title}, bagging_date=T0.date(),
                    profile="http://127.0.0.1:8800/profiles/bagit-item-package-1.0.json")
    primary = open_storage((tmp_path / "primary").as_uri(), settings)
    replica = open_storage((tmp_path / "replica").as_uri(), settings)
    deposit_bag(bag, primary, item.item_id, "fp-1", T0, replica=replica,
                agents=item_premis_agents(item, settings), software_version="9.9.9")
    return item, settings, primary, replica


def _records(storage, item_id):
    prefix = f"items/{item_id}/v0001/events/"
    return {key[len(prefix):]: storage.get_bytes(key) for key in storage.list(prefix)}


def test_deposit_and_replica_are_events_in_both_copies_with_partner_library_and_operator(
        deposited):
    item, settings, primary, replica = deposited
    records = _records(primary, item.item_id)
    assert sorted(name.split("-")[1] for name in records) == ["deposit", "replica"]
    assert _records(replica, item.item_id) == records  # either copy carries the history
    for body in records.values():
        assert validate(body, "premis") == []
        assert _shared_premis_errors(body) == []
    events = item_history(primary, item.item_id)
    assert [e["type"] for e in events] == ["accession", "replication"]
    operator = item.extra["operator"]
    for event in events:
        agents = {(a["type"], a["name"], a["role"]) for a in event["agents"]}
        assert ("software", "cadl (preservation.deposit)", "executing program") in agents
        assert ("person", operator, "implementer") in agents
        assert ("organization", "مكتبة الرقمنة 数字图书馆", "implementer") in agents
        partner = {"ar": "King Fahd National Library"}.get(item.primary_language,
                                                          "National Library of China")
        assert ("organization", partner, "implementer") in agents
        assert next(a for a in event["agents"] if a["type"] == "software")["version"] == "9.9.9"


def test_a_second_deposit_of_the_same_content_records_nothing_new(deposited, tmp_path):
    item, settings, primary, replica = deposited
    before = _records(primary, item.item_id)
    bag = tmp_path / "bags" / item.item_id
    result = deposit_bag(bag, primary, item.item_id, "fp-1", T1, replica=replica,
                         agents=item_premis_agents(item, settings))
    assert result.new is False and _records(primary, item.item_id) == before


def test_rights_change_names_the_person_who_decided_and_reaches_the_replica(deposited,
                                                                             monkeypatch):
    item, settings, primary, replica = deposited
    deposit = {"version": 1, "prefix": f"items/{item.item_id}/v0001/"}
    item = item.model_copy(update={"rights": Rights.parse("open")})
    write_record(primary, item, "b1", deposit, "fp-1", ["ar", "zh"], T0, replica=replica)
    withdrawn = item.model_copy(update={"rights": Rights.parse("restricted")})
    write_record(primary, withdrawn, "b1", deposit, "fp-1", [], T1,
                 note="withdrawn at the donor's request — 应捐赠者要求撤回", by="Fatima Al-Sayed",
                 replica=replica)
    (rights,) = [e for e in item_history(primary, item.item_id)
                 if e["type"] == "policy assignment"]
    assert "open → restricted" in rights["detail"] and "应捐赠者要求" in rights["outcome_detail"]
    types = sorted((a["type"], a["name"]) for a in rights["agents"])
    assert ("person", "Fatima Al-Sayed") in types
    assert [t for t, _ in types].count("organization") == 2
    assert any(t == "software" for t, _ in types)
    assert [e["type"] for e in item_history(replica, item.item_id)].count(
        "policy assignment") == 1


def test_an_audit_names_the_library_and_operator_and_reaches_the_published_history(
        deposited, tmp_path):
    from cadl.fixity import audit_agents

    item, settings, primary, replica = deposited
    settings = settings.model_copy(update={"operator": "أحمد 李明"})
    audit(primary, [item.item_id], T2, scope="test", replica=replica,
          agents=audit_agents(settings))
    (fixity, *_) = [e for e in item_history(primary, item.item_id)
                    if e["type"] == "fixity check"]
    kinds = {(a["type"], a["name"]) for a in fixity["agents"]}
    assert ("person", "أحمد 李明") in kinds
    assert ("organization", "مكتبة الرقمنة 数字图书馆") in kinds

    # The portals: an item published before the audit gets the audit in its history.xml.
    access = open_storage((tmp_path / "access").as_uri(), settings)
    readme = tmp_path / "pdf"
    readme.write_bytes(b"%PDF-1.7")
    publish_item(access, item.item_id, [(readme, f"{item.item_id}.pdf")], {"title": item.title})
    assert refresh_history(access, primary, item.item_id) is True
    assert refresh_history(access, primary, item.item_id) is False  # nothing new: no rewrite
    document = (tmp_path / "access" / "items" / item.item_id / HISTORY).read_bytes()
    assert validate(document, "premis") == []
    assert _shared_premis_errors(document) == []
    import json

    entry = json.loads((tmp_path / "access" / "items" / item.item_id / "item.json").read_text())
    assert [e["type"] for e in entry["history"]] == [
        "accession", "replication", "fixity check"]
    assert HISTORY in [f["key"] for f in entry["files"]]


def test_merged_history_keeps_two_versions_of_one_program_apart(deposited):
    item, settings, primary, replica = deposited
    # the audit's program at another version than the one that deposited: same agent id
    from preservation.audit import AGENT_ID
    from metadata.premis import Agent, Event, package_event_record
    from preservation.history import write_record as write_history

    package = f"items/{item.item_id}/v0001"
    for version, when in (("1.0", T1), ("2.0", T2)):
        body = package_event_record(package, [Event.create(
            "fixity check", when, "success", "re-read", [AGENT_ID], [package])],
            [Agent(AGENT_ID, "cadl fixity audit", "software", version=version)])
        write_history(primary, item.item_id, 1, body, "audit", when)
    document, summary = build_history(primary, item.item_id)
    root = etree.fromstring(document)
    versions = {a.findtext("premis:agentIdentifier/premis:agentIdentifierValue", namespaces=NS):
                a.findtext("premis:agentVersion", namespaces=NS)
                for a in root.findall("premis:agent", NS)}
    assert versions[AGENT_ID] == "1.0" and versions[AGENT_ID + "~2"] == "2.0"
    fixity = [e for e in summary if e["type"] == "fixity check"]
    assert len(fixity) == 2 and validate(document, "premis") == []


def test_a_replica_rebuilt_by_the_audit_gets_the_history_too(deposited, tmp_path):
    """A version complete only in the primary (the replica lost it) is replicated by the audit,
    with the event records beside it."""
    import shutil

    item, settings, primary, replica = deposited
    shutil.rmtree(tmp_path / "replica" / "items" / item.item_id)
    audit(primary, [item.item_id], T2, scope="test", replica=replica)
    kinds = [e["type"] for e in item_history(replica, item.item_id)]
    assert kinds[:2] == ["accession", "replication"] and "fixity check" in kinds
