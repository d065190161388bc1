"""The access METS follows the DFG METS/MODS profile: absolute URLs of files in the package,
DEFAULT/THUMBS/FULLTEXT/DOWNLOAD groups, dv:rights and dv:links of the holding partner, a DFG
structure type, structLink; valid against the METS and MODS schemas."""

import datetime as dt

import pytest
from lxml import etree

import package_samples as samples
from kernel.errors import MetadataInvalid
from metadata.mods import build_mods
from metadata.validate import validate_mets
from publication.access_mets import build_access_mets
from publication.iiif import load_partners
from test_iiif_manifest import entry_for

BASE = "https://access.cadl.example.org"
NS = {"mets": "http://www.loc.gov/METS/", "dv": "http://dfg-viewer.de/",
      "xlink": "http://www.w3.org/1999/xlink", "mods": "http://www.loc.gov/mods/v3"}
HREF = "{http://www.w3.org/1999/xlink}href"
CREATED = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def package(item, tmp_path):
    """The entry and the local files of an access package of `item` (key → path)."""
    entry = entry_for(item)
    entry["manifest"] = "manifest.json"
    keys = [entry["pdf"], "manifest.json"] + [page[k] for page in entry["pages"]
                                              for k in ("display", "thumbnail", "alto", "hocr",
                                                        "text")]
    local = {}
    for key in keys:
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(key.encode())
        local[key] = path
    return entry, local


def access_mets(item, tmp_path, partner="ar"):
    entry, local = package(item, tmp_path)
    data = build_access_mets(item, entry, build_mods(item, "b1", record_source="CADL"), local,
                             BASE, load_partners()[partner], CREATED)
    return data, local


def test_access_mets_is_valid_mets_with_valid_mods(tmp_path):
    data, _ = access_mets(samples.arabic_item(), tmp_path)
    assert validate_mets(data) == []


def test_every_file_is_an_absolute_url_of_a_file_in_the_access_package(tmp_path):
    item = samples.traditional_item()
    data, local = access_mets(item, tmp_path, "zh")
    root = etree.fromstring(data)
    hrefs = [f.get(HREF) for f in root.iterfind(".//mets:FLocat", NS)]
    prefix = f"{BASE}/items/{item.item_id}/"
    assert hrefs and all(h.startswith(prefix) for h in hrefs)
    assert {h[len(prefix):] for h in hrefs} <= set(local)
    assert not any("masters/" in h for h in hrefs)
    groups = {g.get("USE"): len(g) for g in root.iterfind(".//mets:fileGrp", NS)}
    pages = len(item.pages)
    assert groups == {"DEFAULT": pages, "THUMBS": pages, "FULLTEXT": pages, "DOWNLOAD": 1}


def test_dv_rights_and_links_name_the_holding_partner_and_the_portal_page(tmp_path):
    partner = load_partners()["ar"]
    item = samples.arabic_item()
    root = etree.fromstring(access_mets(item, tmp_path)[0])
    assert root.findtext(".//dv:rights/dv:owner", namespaces=NS) == partner["name_en"]
    assert root.findtext(".//dv:rights/dv:ownerLogo", namespaces=NS) == partner["logo"]
    assert root.findtext(".//dv:rights/dv:ownerSiteURL", namespaces=NS) == partner["homepage"]
    assert root.findtext(".//dv:links/dv:reference", namespaces=NS) == \
        partner["item_page"].format(item_id=item.item_id)
    assert root.findtext(".//dv:links/dv:presentation", namespaces=NS) == \
        f"{BASE}/items/{item.item_id}/manifest.json"


def test_logical_structure_is_a_dfg_type_linked_to_every_page(tmp_path):
    item = samples.arabic_item()
    root = etree.fromstring(access_mets(item, tmp_path)[0])
    (top,) = root.findall(".//mets:structMap[@TYPE='LOGICAL']/mets:div", NS)
    assert (top.get("TYPE"), top.get("DMDID"), top.get("ADMID")) == ("monograph", "DMDLOG_0000",
                                                                     "AMD")
    pages = root.findall(".//mets:structMap[@TYPE='PHYSICAL']/mets:div/mets:div", NS)
    assert [p.get("TYPE") for p in pages] == ["page"] * len(item.pages)
    links = root.findall(".//mets:structLink/mets:smLink", NS)
    assert [link.get("{http://www.w3.org/1999/xlink}to") for link in links] == \
        [p.get("ID") for p in pages]
    assert root.find(".//mets:dmdSec//mods:mods", NS) is not None


def test_a_letter_gets_the_dfg_letter_type_and_an_unknown_type_is_refused(tmp_path):
    letter = samples.arabic_item().model_copy(update={"extra": {"structure_type": "letter"}})
    root = etree.fromstring(access_mets(letter, tmp_path)[0])
    assert root.find(".//mets:structMap[@TYPE='LOGICAL']/mets:div", NS).get("TYPE") == "letter"
    bad = samples.arabic_item().model_copy(update={"extra": {"structure_type": "scroll"}})
    with pytest.raises(MetadataInvalid, match="manifest line 2.*scroll"):
        access_mets(bad, tmp_path)


def test_a_file_missing_from_the_package_is_refused_not_listed(tmp_path):
    item = samples.arabic_item()
    entry, local = package(item, tmp_path)
    del local[entry["pages"][0]["alto"]]
    with pytest.raises(MetadataInvalid, match="not in the access package"):
        build_access_mets(item, entry, build_mods(item, "b1", record_source="CADL"), local, BASE,
                          load_partners()["ar"], CREATED)


def test_the_mods_copy_gives_the_items_public_pages_in_location_url(tmp_path):
    item = samples.arabic_item()
    entry, local = package(item, tmp_path)
    pages = ["https://ar.portal.example.org/items/x", "https://zh.portal.example.org/items/x"]
    data = build_access_mets(item, entry, build_mods(item, "b1", record_source="CADL"), local,
                             BASE, load_partners()["ar"], CREATED, pages)
    assert validate_mets(data) == []
    urls = etree.fromstring(data).findall(".//mods:mods/mods:location/mods:url", NS)
    assert [(u.text, u.get("usage")) for u in urls] == [(pages[0], "primary"), (pages[1], None)]
    assert etree.fromstring(data).find(".//mods:extension/{urn:cadl:manifest}access", NS) is None
