"""What the portals consume, end to end: per-portal rights, IIIF, feeds, OAI-PMH, embargoes.

The sample batch, with per-portal rights added to its manifest, runs through `cadl run`; then
`cadl serve` runs as a real process on 127.0.0.1 and is harvested with oaipmh-scythe (a
third-party OAI-PMH client) and checked with the iiif-prezi3 model. A second batch corrects one item
(Update), then the real `lift_embargoes` DAG runs through Airflow for a later day with a rights
override (Create on a portal whose embargo ended, Delete of a withdrawn item).
"""

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from lxml import etree

from test_iiif_manifest import schema_errors

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
OAI = "{http://www.openarchives.org/OAI/2.0/}"

# Per-portal rights of the sample items in this test's copy of the batch.
RIGHTS = {
    "ar-book-001": ("open", "", "", "zh;ar"),
    "zh-hans-book-001": ("open", "", "embargo:2030-06-01", "zh;ar"),  # ar later
    "zh-hant-book-001": ("open", "", "", "zh"),
    "ar-zh-bilingual-001": ("open", "restricted", "", "zh;ar"),  # ar only
    "ar-restricted-001": ("restricted", "", "", "ar"),  # nowhere
}
SHOWN = {"zh": {"ar-book-001", "zh-hans-book-001", "zh-hant-book-001"},
         "ar": {"ar-book-001", "ar-zh-bilingual-001"}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rewrite_manifest(batch: Path, only: set[str] | None = None, retitle: dict | None = None):
    rows = list(csv.DictReader(io.StringIO((batch / "manifest.csv").read_text("utf-8-sig"))))
    fields = list(rows[0]) + ["rights_zh", "rights_ar"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        if only and row["item_id"] not in only:
            shutil.rmtree(batch / row["item_id"])
            continue
        rights, zh, ar, portals = RIGHTS[row["item_id"]]
        row.update(rights=rights, rights_zh=zh, rights_ar=ar, portals=portals,
                   **(retitle or {}).get(row["item_id"], {}))
        writer.writerow(row)
    (batch / "manifest.csv").write_text(out.getvalue(), "utf-8")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


@pytest.fixture(scope="module")
def site(sample_batch, tmp_path_factory):
    """The sample batch run once through `cadl run`, and `cadl serve` running over it."""
    batch_src, _ = sample_batch
    root = tmp_path_factory.mktemp("portals")
    batch = root / "landing" / "portal-batch-001"
    shutil.copytree(batch_src, batch)
    _rewrite_manifest(batch)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, CADL_LANDING_DIR=str(root / "landing"),
               CADL_WORK_DIR=str(root / "work"), CADL_REPORTS_DIR=str(root / "reports"),
               CADL_QUARANTINE_DIR=str(root / "quarantine"),
               CADL_PRESERVATION_URL=(root / "preservation").as_uri(),
               CADL_ACCESS_URL=(root / "access").as_uri(), CADL_ACCESS_BASE_URL=base,
               CADL_RIGHTS_OVERRIDES=str(root / "rights-overrides.json"),
               CADL_OAI_PAGE_SIZE="2", CADL_DISPLAY_PX="800")
    proc = subprocess.run([str(BIN / "cadl"), "run", str(batch), "--json", "--dags-test"], env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-5000:]
    server = subprocess.Popen([str(BIN / "cadl"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert "OAI-PMH" in server.stdout.readline()
        yield {"root": root, "access": root / "access", "base": base, "env": env,
               "oai": f"{base}/oai", "report": json.loads(proc.stdout)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def _catalogue_ids(site, portal: str) -> set[str]:
    data = json.loads((site["access"] / "portals" / portal / "catalogue.json").read_text())
    return {entry["item_id"] for entry in data["items"]}


def _log(site, portal: str) -> list[tuple[str, str]]:
    lines = (site["access"] / "feeds" / portal / "changes.jsonl").read_text().splitlines()
    return [(a["type"], a["item_id"]) for a in map(json.loads, lines)]


# -- per-portal visibility ------------------------------------------------------------------------

def test_each_portal_catalogue_shows_only_what_that_portal_may_show(site):
    assert _catalogue_ids(site, "zh") == SHOWN["zh"]
    assert _catalogue_ids(site, "ar") == SHOWN["ar"]
    statuses = {i["item_id"]: i["status"] for i in site["report"]["items"]}
    assert statuses["ar-restricted-001"] == "preserved"


def test_restricted_item_never_reaches_the_access_location(site):
    for path in site["access"].rglob("*"):
        assert "ar-restricted-001" not in str(path)
        if path.is_file():
            assert b"ar-restricted-001" not in path.read_bytes(), path


def test_search_documents_exist_only_for_the_portals_that_may_show_the_item(site):
    for portal, ids in SHOWN.items():
        for item_id in ids:
            doc = json.loads((site["access"] / "items" / item_id / "search" /
                              f"{portal}.json").read_text())
            assert doc["portal"] == portal and doc["text"]
    assert not (site["access"] / "items/ar-zh-bilingual-001/search/zh.json").exists()
    assert not (site["access"] / "items/zh-hant-book-001/search/ar.json").exists()


def test_search_documents_carry_arabic_normalised_and_both_chinese_scripts(site):
    ar = json.loads((site["access"] / "items/ar-book-001/search/ar.json").read_text())
    assert "أ" in ar["text"] and "أ" not in ar["text_ar_normalized"]
    assert ar["title_search"]["ar_normalized"]
    hant = json.loads((site["access"] / "items/zh-hant-book-001/search/zh.json").read_text())
    assert "鄭和" in hant["text_zh_hant"] and "郑和" in hant["text_zh_hans"]
    assert set(hant["titles"]) >= {"zh-Hans", "zh-Hant", "ar", "en"}
    bilingual = json.loads((site["access"] / "items/ar-zh-bilingual-001/search/ar.json")
                           .read_text())
    assert "text_ar_normalized" in bilingual and "text_zh_hant" in bilingual


# -- IIIF -----------------------------------------------------------------------------------------

def _links(node):
    """Every `id` of a resource a client fetches: images, OCR, PDF, METS, providers."""
    if isinstance(node, dict):
        if node.get("type") in ("Image", "Dataset", "Text", "Agent") and "id" in node:
            yield node["id"]
        for value in node.values():
            yield from _links(value)
    elif isinstance(node, list):
        for value in node:
            yield from _links(value)


def test_every_manifest_loads_with_iiif_prezi3_and_every_link_resolves(site):
    from iiif_prezi3 import Manifest

    expected = {"ar-book-001": "right-to-left", "ar-zh-bilingual-001": "right-to-left",
                "zh-hans-book-001": "left-to-right", "zh-hant-book-001": "left-to-right"}
    manifests = sorted(site["access"].glob("items/*/manifest.json"))
    assert {p.parent.name for p in manifests} == set(expected)
    for path in manifests:
        data = json.loads(path.read_text())
        model = Manifest(**data)  # raises on anything the Presentation 3 model rejects
        assert model.viewingDirection == expected[path.parent.name]
        assert data["behavior"] == ["paged"]
        assert set(data["label"]) == {"ar", "zh-Hans", "zh-Hant", "en"}, path
        assert set(data["summary"]) == {"ar", "zh-Hans", "zh-Hant", "en"}
        assert data["rights"].startswith("http://rightsstatements.org/vocab/")
        holder = "King Fahd" if path.parent.name.startswith("ar") else "National Library of China"
        assert [p["label"]["en"][0] for p in data["provider"]] == [holder + (
            "" if holder.startswith("National") else " National Library")]
        assert holder in data["requiredStatement"]["value"]["en"][0]
        assert schema_errors(data) == [], path  # the IIIF Presentation 3 JSON schema
        assert len(data["items"]) == len(list((path.parent / "alto").iterdir()))
        # The partners' and portals' own web pages (provider, homepage) are not ours to serve.
        links = set(_links({k: v for k, v in data.items() if k not in ("provider", "homepage")}))
        links.add(data["provider"][0]["id"])
        links |= {p["id"] for p in data["partOf"]}
        assert any(link.endswith(".pdf") for link in links)
        assert any("/alto/" in link for link in links) and any("/hocr/" in link for link in links)
        for link in links:
            assert link.startswith(site["base"] + "/"), link
            assert _get(link), link  # a 404 raises
        assert json.loads(_get(data["id"])) == data


def test_access_mets_lists_only_files_of_the_access_package_by_url(site):
    """The access METS (DFG profile) is not the bag's METS: every FLocat resolves over HTTP."""
    from metadata.validate import validate_mets

    for path in sorted(site["access"].glob("items/*/mets.xml")):
        assert validate_mets(path.read_bytes()) == [], path
        root = etree.parse(str(path)).getroot()
        hrefs = [f.get("{http://www.w3.org/1999/xlink}href") for f in root.iter(
            "{http://www.loc.gov/METS/}FLocat")]
        uses = {g.get("USE") for g in root.iter("{http://www.loc.gov/METS/}fileGrp")}
        assert uses == {"DEFAULT", "THUMBS", "FULLTEXT", "DOWNLOAD"}, path
        for href in hrefs:
            assert href.startswith(f"{site['base']}/items/{path.parent.name}/"), href
            assert _get(href), href


def test_display_images_have_the_configured_size(site):
    from PIL import Image

    for path in site["access"].glob("items/*/display/*.jpg"):
        with Image.open(path) as image:
            assert max(image.size) == 800, path


# -- OAI-PMH ----------------------------------------------------------------------------------------

def _schema():
    """OAI-PMH 2.0 compiled with oai_dc and MODS 3.8 from metadata/schemas (their catalog maps
    every import offline), so each record inside a response is validated strictly too."""
    from metadata.validate import load_schema

    return load_schema("oai-pmh")


def _valid(schema, xml: bytes, oai_dc: bool = False) -> etree._Element:
    root = etree.fromstring(xml)
    if oai_dc:
        assert root.find(f".//{OAI}metadata/"
                         "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc") is not None
    assert schema.validate(root), schema.error_log
    return root


def _oai_raw(site, query: str) -> bytes:
    return _get(f"{site['oai']}?{query}")


def test_every_oai_response_validates_against_the_oai_pmh_schema(site):
    schema = _schema()
    for query in ("verb=Identify", "verb=ListMetadataFormats", "verb=ListSets",
                  "verb=ListIdentifiers&metadataPrefix=mods",
                  "verb=ListRecords&metadataPrefix=mods&set=zh",
                  "verb=ListRecords&metadataPrefix=mods&set=ar",
                  f"verb=GetRecord&metadataPrefix=mods&identifier=oai:cadl.example.org:ar-book-001",
                  "verb=Nonsense", "verb=ListRecords", "verb=ListRecords&metadataPrefix=marc",
                  "verb=GetRecord&metadataPrefix=mods&identifier=oai:cadl.example.org:nope",
                  "verb=ListRecords&metadataPrefix=mods&from=2000-01-01&until=2000-01-02",
                  "verb=ListRecords&resumptionToken=garbage"):
        _valid(schema, _oai_raw(site, query))
    _valid(schema, _oai_raw(site, "verb=ListRecords&metadataPrefix=oai_dc"), oai_dc=True)


@pytest.mark.parametrize("query, code", [
    ("verb=Nonsense", "badVerb"),
    ("", "badVerb"),
    ("verb=ListRecords", "badArgument"),
    ("verb=Identify&foo=bar", "badArgument"),
    ("verb=ListRecords&metadataPrefix=mods&from=yesterday", "badArgument"),
    ("verb=ListRecords&metadataPrefix=mods&from=2026-01-01&until=2030-01-01T00:00:00Z",
     "badArgument"),
    ("verb=ListRecords&metadataPrefix=marc21", "cannotDisseminateFormat"),
    ("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:cadl.example.org:ar-restricted-001",
     "idDoesNotExist"),
    ("verb=ListRecords&metadataPrefix=mods&until=2001-01-01", "noRecordsMatch"),
    ("verb=ListRecords&resumptionToken=not-a-token", "badResumptionToken"),
])
def test_oai_errors_carry_the_protocol_codes(site, query, code):
    root = etree.fromstring(_oai_raw(site, query))
    assert [e.get("code") for e in root.iter(f"{OAI}error")] == [code]


def _harvest(site, prefix, **kwargs):
    """(identifier, deleted, setSpecs, metadata) of every record, through oaipmh-scythe."""
    from oaipmh_scythe import Scythe

    with Scythe(site["oai"]) as scythe:
        return [(r.header.identifier, r.deleted, r.header.setSpecs,
                 None if r.deleted else r.metadata)
                for r in scythe.list_records(metadata_prefix=prefix, **kwargs)]


def test_scythe_harvests_every_record_in_both_formats_with_paging(site):
    from oaipmh_scythe import Scythe

    with Scythe(site["oai"]) as scythe:
        assert scythe.identify().deletedRecord == "persistent"
        assert {s.setSpec for s in scythe.list_sets()} == {"zh", "ar"}
        assert {f.metadataPrefix for f in scythe.list_metadata_formats()} == {"oai_dc", "mods"}
    for prefix in ("oai_dc", "mods"):
        records = _harvest(site, prefix)  # 4 records with a page size of 2: needs paging
        ids = [r[0].rsplit(":", 1)[1] for r in records]
        assert sorted(ids) == sorted(SHOWN["zh"] | SHOWN["ar"])
        assert not any(r[1] for r in records)
        for _, _, _, meta in records:
            assert meta["title"], meta
    dc = {r[0].rsplit(":", 1)[1]: r[3] for r in _harvest(site, "oai_dc")}
    assert "صفحات من تاريخ طريق الحرير" in dc["ar-book-001"]["title"]
    assert any(i.endswith("/items/ar-book-001/manifest.json")
               for i in dc["ar-book-001"]["identifier"])
    assert dc["zh-hant-book-001"]["language"] == ["zh-Hant"]
    mods = {r[0].rsplit(":", 1)[1]: r[3] for r in _harvest(site, "mods")}
    assert "鄭和下西洋" in mods["zh-hant-book-001"]["title"]


def test_oai_sets_are_the_portals(site):
    for portal, ids in SHOWN.items():
        records = _harvest(site, "oai_dc", set_=portal)
        assert {r[0].rsplit(":", 1)[1] for r in records} == ids
        assert all(portal in r[2] for r in records)
    raw = etree.fromstring(_oai_raw(site, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=zh"))
    token = raw.find(f".//{OAI}resumptionToken")
    assert token.get("completeListSize") == "3" and token.text


def test_oai_from_until_select_by_datestamp(site):
    from oaipmh_scythe import Scythe

    with Scythe(site["oai"]) as scythe:
        headers = list(scythe.list_identifiers(metadata_prefix="oai_dc"))
        stamp = max(h.datestamp for h in headers)
        assert len(list(scythe.list_identifiers(metadata_prefix="oai_dc", from_=stamp))) >= 1
        assert len(list(scythe.list_identifiers(metadata_prefix="oai_dc", until=stamp))) \
            == len(headers)
    day = stamp[:10]
    root = etree.fromstring(_oai_raw(site, f"verb=ListIdentifiers&metadataPrefix=oai_dc"
                                     f"&from={day}&until={day}"))
    assert len(root.findall(f".//{OAI}header")) == 2  # one page of 2 (page size), of 4
    assert "noRecordsMatch" in _oai_raw(site, "verb=ListIdentifiers&metadataPrefix=oai_dc"
                                        "&until=2000-01-01").decode()


# -- the feed across create → update → withdraw, and the lift_embargoes DAG ----------------------

@pytest.fixture(scope="module")
def lifecycle(site, sample_batch):
    """Correct one item in a second batch, then lift embargoes in 2031 with a withdrawal."""
    before = {p: _log(site, p) for p in ("zh", "ar")}
    batch = site["root"] / "landing" / "portal-batch-002"
    shutil.copytree(sample_batch[0], batch)
    _rewrite_manifest(batch, only={"zh-hant-book-001"},
                      retitle={"zh-hant-book-001": {"title_en": "The Seven Voyages of Zheng He"}})
    proc = subprocess.run([str(BIN / "cadl"), "run", str(batch), "--json", "--dags-test"], env=site["env"],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-5000:]
    after_update = {p: _log(site, p) for p in ("zh", "ar")}
    (site["root"] / "rights-overrides.json").write_text(json.dumps(
        {"ar-book-001": {"rights": "restricted", "note": "withdrawn at the donor's request"}}))
    from cadl.airflow_env import airflow_env, ensure_db

    env = airflow_env(site["env"])
    ensure_db(env)
    dag = subprocess.run([str(BIN / "airflow"), "dags", "test", "lift_embargoes", "2031-01-01"],
                         env=env, capture_output=True, text=True, timeout=900)
    assert dag.returncode == 0, dag.stdout[-3000:] + dag.stderr[-3000:]
    after_lift = {p: _log(site, p) for p in ("zh", "ar")}
    return {"before": before, "after_update": after_update, "after_lift": after_lift}


def test_feed_records_create_then_update_then_delete(site, lifecycle):
    assert sorted(lifecycle["before"]["zh"]) == sorted(("Create", i) for i in SHOWN["zh"])
    assert sorted(lifecycle["before"]["ar"]) == sorted(("Create", i) for i in SHOWN["ar"])
    zh_update = lifecycle["after_update"]["zh"][len(lifecycle["before"]["zh"]):]
    assert zh_update == [("Update", "zh-hant-book-001")]
    assert lifecycle["after_update"]["ar"] == lifecycle["before"]["ar"]
    zh_lift = lifecycle["after_lift"]["zh"][len(lifecycle["after_update"]["zh"]):]
    ar_lift = lifecycle["after_lift"]["ar"][len(lifecycle["after_update"]["ar"]):]
    assert zh_lift == [("Delete", "ar-book-001")]
    assert sorted(ar_lift) == [("Create", "zh-hans-book-001"), ("Delete", "ar-book-001")]


def test_change_discovery_collection_pages_list_every_activity(site, lifecycle):
    collection = json.loads(_get(f"{site['base']}/feeds/ar/collection.json"))
    assert collection["type"] == "OrderedCollection"
    assert collection["totalItems"] == len(lifecycle["after_lift"]["ar"])
    page = json.loads(_get(collection["last"]["id"]))
    kinds = [(a["type"], a["object"]["id"].split("/items/")[1].split("/")[0])
             for a in page["orderedItems"]]
    assert kinds == lifecycle["after_lift"]["ar"]
    assert all(a["object"]["type"] == "Manifest" for a in page["orderedItems"])


def test_withdrawn_item_leaves_access_and_stays_a_deleted_oai_record(site, lifecycle):
    assert not (site["access"] / "items" / "ar-book-001").exists()
    assert "ar-book-001" not in _catalogue_ids(site, "zh") | _catalogue_ids(site, "ar")
    assert "zh-hans-book-001" in _catalogue_ids(site, "ar")
    for portal in ("zh", "ar"):
        records = {r[0].rsplit(":", 1)[1]: r for r in _harvest(site, "mods", set_=portal)}
        assert records["ar-book-001"][1] is True  # deleted, persistently
        assert records["ar-book-001"][3] is None
    ar = {r[0].rsplit(":", 1)[1]: r for r in _harvest(site, "oai_dc", set_="ar")}
    assert ar["zh-hans-book-001"][1] is False
    root = etree.fromstring(_oai_raw(
        site, "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:cadl.example.org:ar-book-001"))
    assert root.find(f".//{OAI}header").get("status") == "deleted"
    _valid(_schema(), etree.tostring(root))


def test_updated_manifest_shows_the_corrected_title(site, lifecycle):
    data = json.loads((site["access"] / "items/zh-hant-book-001/manifest.json").read_text())
    assert data["label"]["en"] == ["The Seven Voyages of Zheng He"]
