"""OAI-PMH semantics across two portals, checked with other people's code.

An item withdrawn from one portal but live on the other must never be reported `deleted` (a
harvester merging both sets would delete a live record); headers list all of an item's sets.
The repository runs over a real access folder whose change logs `publication.feed` wrote, served
by `cadl serve` on 127.0.0.1 and harvested with oaipmh-scythe; every response is
validated against the OAI-PMH, oai_dc and MODS schemas vendored in metadata/schemas.
"""

import datetime as dt
import json
import threading
from urllib.request import urlopen

import pytest
from lxml import etree

import package_samples as samples
from cadl.serve import make_server
from kernel.settings import Settings
from metadata.validate import load_schema
from preservation.backends import open_storage
from publication.feed import update_feeds

OAI = "{http://www.openarchives.org/OAI/2.0/}"
BASE = "https://access.cadl.example.org"
T1 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
T2 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
BEFORE = {"ar-amal-001": ["zh", "ar"], "zh-hant-002": ["zh", "ar"], "zh-hans-003": ["zh"],
          "ar-gone-001": ["ar"]}
# zh-hant-002 is withdrawn from the Chinese portal only; ar-gone-001 from everywhere.
AFTER = {"ar-amal-001": ["zh", "ar"], "zh-hant-002": ["ar"], "zh-hans-003": ["zh"]}
OPEN = set(AFTER)
ITEMS = {"ar-amal-001": samples.arabic_item, "zh-hant-002": samples.traditional_item,
         "zh-hans-003": samples.simplified_item}


def _entries(portals: dict[str, list[str]]) -> dict[str, dict]:
    return {item_id: {"portals": p, "version": 1, "fingerprint": "f1"}
            for item_id, p in portals.items()}


@pytest.fixture(scope="module")
def oai(tmp_path_factory):
    root = tmp_path_factory.mktemp("access")
    access = open_storage(root.as_uri(), Settings())
    for item_id, make in ITEMS.items():
        access.put_bytes(f"items/{item_id}/mets.xml", samples.mets(make()))
        access.put_bytes(f"items/{item_id}/item.json", json.dumps(
            {"pdf": f"{item_id}.pdf", "portals": AFTER[item_id]}).encode())
        access.put_bytes(f"items/{item_id}/manifest.json", json.dumps(
            {"rights": "http://rightsstatements.org/vocab/CNE/1.0/"}).encode())
    update_feeds(access, T1, BASE, _entries(BEFORE))
    update_feeds(access, T2, BASE, _entries(AFTER))
    settings = Settings(access_url=root.as_uri(), access_base_url=BASE, oai_page_size=2,
                        oai_repository_id="cadl.example.org")
    server = make_server(settings, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield {"url": server.oai_url, "repository": server._repository}
    finally:
        server.close()
        thread.join(timeout=30)


def _harvest(oai, prefix: str, set_: str | None = None) -> list:
    from oaipmh_scythe import Scythe

    kwargs = {"set_": set_} if set_ else {}
    with Scythe(oai["url"]) as scythe:
        return [(r.header.identifier.rsplit(":", 1)[1], r.deleted, r.header.setSpecs)
                for r in scythe.list_records(metadata_prefix=prefix, **kwargs)]


@pytest.mark.parametrize("prefix", ["oai_dc", "mods"])
def test_union_of_both_portal_harvests_is_the_open_items_and_no_live_item_is_deleted(oai,
                                                                                   prefix):
    harvests = {portal: _harvest(oai, prefix, portal) for portal in ("zh", "ar")}
    live = {item_id for records in harvests.values() for item_id, deleted, _ in records
            if not deleted}
    deleted = {item_id for records in harvests.values() for item_id, gone, _ in records if gone}
    assert live == OPEN
    assert deleted == {"ar-gone-001"}
    assert not live & deleted  # merging both harvests deletes nothing that is live


def test_headers_list_all_of_an_items_sets_whatever_set_was_asked_for(oai):
    for portal in ("zh", "ar"):
        sets = {item_id: spec for item_id, _, spec in _harvest(oai, "oai_dc", portal)}
        assert sorted(sets["ar-amal-001"]) == ["ar", "zh"]
    zh = {item_id: (gone, spec) for item_id, gone, spec in _harvest(oai, "oai_dc", "zh")}
    # Withdrawn from zh, live on ar: listed in zh (it left the set) as live, in set ar only.
    assert zh["zh-hant-002"] == (False, ["ar"])
    ar = {item_id: (gone, spec) for item_id, gone, spec in _harvest(oai, "oai_dc", "ar")}
    assert ar["ar-gone-001"] == (True, ["ar"])


def test_an_unfiltered_harvest_has_one_record_per_item(oai):
    records = _harvest(oai, "mods")
    assert sorted(r[0] for r in records) == sorted(OPEN | {"ar-gone-001"})


@pytest.mark.parametrize("query", [
    "verb=Identify", "verb=ListSets", "verb=ListMetadataFormats",
    "verb=ListIdentifiers&metadataPrefix=oai_dc&set=zh",
    "verb=ListRecords&metadataPrefix=oai_dc", "verb=ListRecords&metadataPrefix=oai_dc&set=zh",
    "verb=ListRecords&metadataPrefix=mods", "verb=ListRecords&metadataPrefix=mods&set=ar",
    "verb=GetRecord&metadataPrefix=mods&identifier=oai:cadl.example.org:zh-hant-002",
    "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:cadl.example.org:ar-amal-001",
    "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:cadl.example.org:ar-gone-001",
    "verb=Nonsense", "verb=ListRecords&metadataPrefix=marc21",
])
def test_responses_validate_against_oai_pmh_oai_dc_and_mods_schemas(oai, query):
    with urlopen(f"{oai['url']}?{query}", timeout=60) as response:
        root = etree.fromstring(response.read())
    schema = load_schema("oai-pmh")
    assert schema.validate(root), [str(e) for e in schema.error_log]
    if "metadataPrefix=oai_dc" in query and "verb=ListRecords" in query:
        assert root.find(f".//{OAI}metadata/"
                         "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc") is not None


def test_oai_dc_tags_each_title_and_name_with_its_own_script(oai):
    xml = oai["repository"].handle({"verb": ["GetRecord"], "metadataPrefix": ["oai_dc"],
                                    "identifier": ["oai:cadl.example.org:zh-hant-002"]})
    dc = "{http://purl.org/dc/elements/1.1/}"
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    titles = [(t.text, t.get(lang)) for t in etree.fromstring(xml).iter(f"{dc}title")]
    assert ("鄭和下西洋", "zh-Hant") in titles and ("郑和下西洋", "zh-Hans") in titles
