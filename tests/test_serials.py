"""Serials: a journal's issues in two batches end up under one title METS and one IIIF Collection,
in order, the second batch adding a version of the title's package only; issues point up to the
title (mptr, relatedItem host), the portals' catalogue and OAI-PMH say what is part of what."""

import json
from pathlib import Path

import pytest
from batchmaker import make_batch
from lxml import etree

from cadl import pipeline
from kernel.namespaces import METS, MODS, XLINK
from kernel.settings import Settings
from metadata.validate import validate_mets
from preservation.versions import latest_version, list_versions
from preservation.backends import open_storage

NS = {"mets": METS, "mods": MODS, "xlink": XLINK}
HREF = f"{{{XLINK}}}href"
TITLE = {"item_id": "muqtabas", "languages": "ar", "title": "المقتبس",
         "reading_direction": "rtl"}


def _issue(number: int) -> dict:
    return {"item_id": f"muqtabas-1906-{number:02d}", "languages": "ar",
            "title": f"المقتبس، العدد {number}", "parent": "muqtabas", "volume": "1",
            "issue": str(number), "reading_direction": "rtl"}


def _run(batch: Path, settings: Settings) -> tuple[dict, list[dict]]:
    """What the ingest_batch DAG runs, stage by stage, without Airflow."""
    plan = pipeline.validate(str(batch), "test-run", settings)
    for unit in plan["work_units"]:
        for stage in ("ocr", "describe", "package", "deposit", "publish"):
            pipeline.run_stage(stage, unit, settings)
    containers = pipeline.serials(plan, settings)
    pipeline.catalogue(settings)
    pipeline.report(plan, "test-run", settings)
    return plan, containers


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    root = tmp_path_factory.mktemp("serial")
    settings = Settings(
        work_dir=root / "work", reports_dir=root / "reports", quarantine_dir=root / "q",
        preservation_url=(root / "preservation").as_uri(), access_url=(root / "access").as_uri(),
        access_base_url="http://127.0.0.1:8800", ocr_hold_for_review=False, ocr_workers=1)
    landing = root / "landing"
    header = ["item_id", "languages", "title", "reading_direction", "parent", "volume", "issue"]
    # Issue 2 arrives first, with the title row; issue 1 comes in a later batch.
    first = make_batch(landing, [TITLE, _issue(2)], pages={"muqtabas": None},
                       batch_id="batch-serial-1", header=header)
    _, first_containers = _run(first, settings)
    preservation = open_storage(settings.preservation_url, settings)
    after_first = {i: latest_version(preservation, i)
                   for i in ("muqtabas", "muqtabas-1906-02")}
    second = make_batch(landing, [_issue(1)], batch_id="batch-serial-2", header=header)
    _, second_containers = _run(second, settings)
    return {"root": root, "settings": settings, "preservation": preservation,
            "access": root / "access", "first": first_containers,
            "second": second_containers, "after_first": after_first, "second_batch": second}


def _stored_mets(journal, item_id: str, version: int | None = None) -> etree._Element:
    storage = journal["preservation"]
    versions = list_versions(storage, item_id)
    chosen = versions[-1] if version is None else versions[version - 1]
    marker = json.loads(storage.get_bytes(chosen.prefix + "DEPOSITED.json"))
    return etree.fromstring(storage.get_bytes(f"{chosen.prefix}{marker['bag']}/mets.xml"))


def test_second_batch_makes_a_new_version_of_the_title_package_only(journal):
    storage = journal["preservation"]
    assert [v.number for v in list_versions(storage, "muqtabas")] == [1, 2]
    assert [v.number for v in list_versions(storage, "muqtabas-1906-02")] == [1]
    assert [v.number for v in list_versions(storage, "muqtabas-1906-01")] == [1]
    # The earlier issue's package is untouched: the same marker, the same deposit.
    assert latest_version(storage, "muqtabas-1906-02") == journal["after_first"][
        "muqtabas-1906-02"]
    assert [(c["item_id"], c["version"], c["new"]) for c in journal["first"]] == [
        ("muqtabas", 1, True)]
    assert [(c["item_id"], c["version"], c["new"]) for c in journal["second"]] == [
        ("muqtabas", 2, True)]


def test_title_mets_lists_both_issues_in_order_pointing_down(journal):
    mets = _stored_mets(journal, "muqtabas")
    assert validate_mets(etree.tostring(mets)) == []
    (own,) = mets.findall("mets:structMap[@TYPE='LOGICAL']/mets:div", NS)
    assert (own.get("TYPE"), own.get("LABEL")) == ("periodical", "المقتبس")
    children = own.findall("mets:div", NS)
    assert [(d.get("TYPE"), d.get("ORDER"), d.get("ORDERLABEL")) for d in children] == [
        ("issue", "1", "vol. 1, no. 1"), ("issue", "2", "vol. 1, no. 2")]
    assert [d.find("mets:mptr", NS).get(HREF) for d in children] == [
        "../muqtabas-1906-01/mets.xml", "../muqtabas-1906-02/mets.xml"]
    first_version = _stored_mets(journal, "muqtabas", 1)
    assert len(first_version.findall(".//mets:div[@TYPE='issue']", NS)) == 1


def test_each_issue_points_up_to_its_title(journal):
    mets = _stored_mets(journal, "muqtabas-1906-01")
    assert validate_mets(etree.tostring(mets)) == []
    (top,) = mets.findall("mets:structMap[@TYPE='LOGICAL']/mets:div", NS)
    assert top.get("TYPE") == "periodical"
    assert top.find("mets:mptr", NS).get(HREF) == "../muqtabas/mets.xml"
    issue = top.find("mets:div", NS)
    assert (issue.get("TYPE"), issue.get("ID"), issue.get("ORDERLABEL")) == (
        "issue", "LOG", "vol. 1, no. 1")
    host = mets.find(".//mods:mods/mods:relatedItem[@type='host']", NS)
    assert host.findtext("mods:titleInfo/mods:title", namespaces=NS) == "المقتبس"
    assert host.findtext("mods:identifier", namespaces=NS) == "muqtabas"
    details = {d.get("type"): d.findtext("mods:number", namespaces=NS)
               for d in host.iterfind("mods:part/mods:detail", NS)}
    assert details == {"volume": "1", "issue": "1"}


def test_one_iiif_collection_lists_the_issues_in_order(journal):
    from iiif_prezi3 import Collection, Manifest

    data = json.loads((journal["access"] / "items/muqtabas/collection.json").read_text())
    Collection(**data)  # raises on anything the Presentation 3 model rejects
    assert [i["id"] for i in data["items"]] == [
        "http://127.0.0.1:8800/items/muqtabas-1906-01/manifest.json",
        "http://127.0.0.1:8800/items/muqtabas-1906-02/manifest.json"]
    assert [i["type"] for i in data["items"]] == ["Manifest", "Manifest"]
    assert data["label"] == {"ar": ["المقتبس"]}
    assert data["items"][0]["label"] == {"ar": ["المقتبس، العدد 1 (vol. 1, no. 1)"]}
    for item in data["items"]:
        path = journal["access"] / item["id"].split("8800/", 1)[1]
        assert path.is_file()
        issue = json.loads(path.read_text("utf-8"))
        assert issue["partOf"] == [{"id": data["id"], "type": "Collection"}]
        Manifest(**issue)


def test_catalogue_holds_the_title_as_a_collection_and_the_issues_as_its_parts(journal):
    catalogue = json.loads((journal["access"] / "catalogue.json").read_text())
    entries = {e["item_id"]: e for e in catalogue["items"]}
    assert entries["muqtabas"]["type"] == "collection"
    assert entries["muqtabas"]["children"] == ["muqtabas-1906-01", "muqtabas-1906-02"]
    assert entries["muqtabas-1906-01"]["parent"] == "muqtabas"
    assert (entries["muqtabas-1906-01"]["volume"], entries["muqtabas-1906-01"]["issue"]) == (
        "1", "1")


def test_the_change_feeds_announce_the_title_as_a_collection_and_its_new_issue(journal):
    from publication.feed import activity

    lines = [json.loads(line) for line in
             (journal["access"] / "feeds/ar/changes.jsonl").read_text("utf-8").splitlines()]
    title = [(a["type"], a.get("collection")) for a in lines if a["item_id"] == "muqtabas"]
    assert title == [("Create", True), ("Update", True)]
    last = [a for a in lines if a["item_id"] == "muqtabas"][-1]
    assert activity(last, "ar", "http://h")["object"] == {
        "id": "http://h/items/muqtabas/collection.json", "type": "Collection"}


def test_oai_pmh_says_what_is_part_of_what(journal):
    from publication.oai import OAI_DC, Repository

    settings = journal["settings"]
    access = open_storage(settings.access_url, settings)
    repo = Repository(access, "http://127.0.0.1:8800", "http://127.0.0.1:8800/oai",
                      "cadl.example.org", "a@example.org")
    dc = etree.fromstring(repo.handle({"verb": ["GetRecord"], "metadataPrefix": ["oai_dc"],
                                       "identifier": ["oai:cadl.example.org:muqtabas-1906-01"]}))
    relations = [r.text for r in dc.iter("{http://purl.org/dc/elements/1.1/}relation")]
    assert "isPartOf oai:cadl.example.org:muqtabas" in relations
    title = etree.fromstring(repo.handle({"verb": ["GetRecord"], "metadataPrefix": ["oai_dc"],
                                          "identifier": ["oai:cadl.example.org:muqtabas"]}))
    assert title.find(f".//{{{OAI_DC}}}dc") is not None
    parts = [r.text for r in title.iter("{http://purl.org/dc/elements/1.1/}relation")]
    assert parts == ["hasPart oai:cadl.example.org:muqtabas-1906-01",
                     "hasPart oai:cadl.example.org:muqtabas-1906-02"]
    mods = etree.fromstring(repo.handle({"verb": ["GetRecord"], "metadataPrefix": ["mods"],
                                         "identifier": ["oai:cadl.example.org:muqtabas-1906-02"]}))
    host = mods.find(".//mods:relatedItem[@type='host']", NS)
    assert host.findtext("mods:identifier", namespaces=NS) == "muqtabas"


def test_the_batch_report_shows_the_title_with_its_issues_in_order(journal):
    reports = journal["root"] / "reports" / "batch-serial-2"
    text = (reports / "report.txt").read_text("utf-8")
    assert ("muqtabas: PERIODICAL package version 2 (new), 2 part(s) in order: "
            "muqtabas-1906-01, muqtabas-1906-02") in text
    assert "part of muqtabas, volume 1, issue 1" in text
    html = (reports / "report.html").read_text("utf-8")
    section = html[html.index('data-container="muqtabas"'):]
    assert section.index("muqtabas-1906-01") < section.index("muqtabas-1906-02")
    assert "Part of" in html and "vol. 1, no. 1" in html
    report = json.loads((reports / "report.json").read_text("utf-8"))
    (item,) = report["items"]
    assert item["hierarchy"]["ancestors"] == [
        {"item_id": "muqtabas", "type": "periodical", "title": "المقتبس"}]


def test_running_the_second_batch_again_changes_nothing(journal):
    _, containers = _run(journal["second_batch"], journal["settings"])
    assert [(c["item_id"], c["version"], c["new"]) for c in containers] == [
        ("muqtabas", 2, False)]
    assert [v.number for v in list_versions(journal["preservation"], "muqtabas")] == [1, 2]


def test_a_parent_that_was_never_ingested_quarantines_the_issue(tmp_path):
    settings = Settings(work_dir=tmp_path / "work", quarantine_dir=tmp_path / "q",
                        preservation_url=(tmp_path / "p").as_uri())
    row = {**_issue(3), "parent": "no-such-title"}
    batch = make_batch(tmp_path / "landing", [row], header=list(row))
    plan = pipeline.validate(str(batch), "test-run", settings)
    assert [u["action"] for u in plan["units"]] == ["skip"]
    state = json.loads((tmp_path / "work" / "batch-001" / row["item_id"] / "state.json")
                       .read_text("utf-8"))
    assert any("no-such-title" in p["message"] and "neither in this batch" in p["message"]
               for p in state["problems"])


def test_hierarchy_errors_are_reported_per_row(tmp_path):
    from ingest.validate import validate_batch

    rows = [
        {"item_id": "a", "languages": "ar", "title": "أ", "parent": "b"},
        {"item_id": "b", "languages": "ar", "title": "ب", "parent": "a"},
        {"item_id": "t", "languages": "zh-Hans", "title": "期刊"},
        {"item_id": "t-1", "languages": "zh-Hans", "title": "第一期", "parent": "t",
         "sequence": "zero"},
    ]
    batch = make_batch(tmp_path, rows, pages={"a": None, "b": None},
                       header=["item_id", "languages", "title", "parent", "sequence"])
    report = validate_batch(batch)
    messages = {(p.item_id, p.message) for p in report.errors}
    assert any(i == "a" and "loop" in m for i, m in messages)
    assert any(i == "t-1" and "sequence" in m for i, m in messages)
    # t has a folder with pages but is a title (t-1 names it): that is an error too.
    assert any(i == "t" and "no pages of its own" in m for i, m in messages)


def test_a_volume_mets_points_up_to_its_title_down_to_its_issues_and_reads_back():
    import datetime as dt

    from ingest.models import Ancestor, Item
    from ingest.serials import order_key
    from metadata.mods import build_mods
    from metadata.container_mets import build_container_mets
    from metadata.serials import Child, ContainerState, read_container_mets

    volume = Item(item_id="dongfang-v1", row=3, languages=["zh-Hant"], title="東方雜誌 第一卷",
                  parent="dongfang", volume="1", is_container=True, container_type="volume")
    issues = [Child("dongfang-v1-10", "issue", "第十期", volume="1", issue="10"),
              Child("dongfang-v1-02", "issue", "第二期", volume="1", issue="2")]
    state = ContainerState("dongfang-v1", "volume", volume.title, build_mods(volume, "b"),
                           parent="dongfang", children=sorted(issues, key=order_key))
    data = build_container_mets(state, Ancestor(item_id="dongfang", type="periodical",
                                                title="東方雜誌"), [], "b",
                                dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    assert validate_mets(data) == []
    root = etree.fromstring(data)
    (top,) = root.findall("mets:structMap/mets:div", NS)
    assert (top.get("TYPE"), top.find("mets:mptr", NS).get(HREF)) == (
        "periodical", "../dongfang/mets.xml")
    back = read_container_mets(data)
    assert (back.item_id, back.type, back.parent) == ("dongfang-v1", "volume", "dongfang")
    assert [(c.item_id, c.issue) for c in back.children] == [
        ("dongfang-v1-02", "2"), ("dongfang-v1-10", "10")]  # 2 before 10: numbers, not text
    assert back.mods.find("mods:physicalDescription", NS) is None  # no pages of its own
