"""IIIF manifests checked with other people's code: the IIIF Presentation 3 JSON schema (the one
behind the IIIF presentation validator, from ../shared/schemas) and the iiif-prezi3 model.

Built directly from sample items (Arabic right to left, Traditional Chinese set vertically with a
Simplified title, Simplified Chinese, bilingual), without running the pipeline; the end-to-end
portal test validates the published manifests the same way.
"""

import datetime as dt
import json
from pathlib import Path

import pytest

from kernel.errors import ConfigError
from kernel.settings import Settings
from preservation.backends import open_storage
from publication.feed import update_feeds
from publication.iiif import build_manifest, load_partners
from publication.portal_files import public_base_url
import package_samples as samples

SCHEMA = Path(__file__).resolve().parents[1].parent / "shared" / "schemas" / \
    "iiif-presentation-3.0.schema.json"
BASE = "https://access.cadl.example.org/pub"


def iiif_validator():
    """A jsonschema validator of the IIIF Presentation 3 schema; skips without ../shared."""
    jsonschema = pytest.importorskip("jsonschema")
    if not SCHEMA.exists():
        pytest.skip(f"{SCHEMA} is absent (../shared is not checked out here)")
    schema = json.loads(SCHEMA.read_text("utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def schema_errors(manifest: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in iiif_validator().iter_errors(manifest)]


def entry_for(item, portals=("zh", "ar")) -> dict:
    pages = [{"seq": p.seq, "thumbnail": f"thumbnails/p{p.seq:04d}.jpg",
              "display": f"display/p{p.seq:04d}.jpg", "alto": f"alto/p{p.seq:04d}.xml",
              "hocr": f"hocr/p{p.seq:04d}.hocr", "text": f"text/p{p.seq:04d}.txt",
              "size": [p.width, p.height], "display_size": [1131, 1600],
              "thumbnail_size": [181, 256]} for p in item.pages]
    return {"pages": pages, "pdf": f"{item.item_id}.pdf", "mets": "mets.xml",
            "portals": list(portals)}


def simplified_title_of_traditional_item():
    item = samples.traditional_item()
    return item.model_copy(update={"title": "郑和下西洋", "titles": {"en": "Zheng He's voyages"},
                                   "creator": "马欢; ابن بطوطة",
                                   "extra": {"shelfmark": "善本 0042"}})


ITEMS = {"arabic": samples.arabic_item, "traditional-vertical": samples.traditional_item,
         "simplified": samples.simplified_item,
         "hant-with-hans-title": simplified_title_of_traditional_item}


@pytest.mark.parametrize("make", ITEMS.values(), ids=ITEMS.keys())
def test_every_manifest_validates_against_the_iiif_presentation_3_json_schema(make):
    manifest = build_manifest(make(), entry_for(make()), BASE)
    assert schema_errors(manifest) == []


@pytest.mark.parametrize("make", ITEMS.values(), ids=ITEMS.keys())
def test_every_manifest_loads_in_the_iiif_prezi3_model(make):
    prezi3 = pytest.importorskip("iiif_prezi3")
    model = prezi3.Manifest(**build_manifest(make(), entry_for(make()), BASE))
    assert model.id.endswith("/manifest.json")


def test_a_file_url_manifest_fails_the_schema_which_is_why_publication_refuses_it():
    manifest = build_manifest(samples.arabic_item(), entry_for(samples.arabic_item()),
                              "file:///var/access")
    assert schema_errors(manifest)


def test_publication_refuses_a_file_base_url_naming_the_setting(tmp_path):
    settings = Settings(access_url=tmp_path.as_uri())
    with pytest.raises(ConfigError, match="CADL_ACCESS_BASE_URL"):
        public_base_url(settings)
    assert public_base_url(settings.model_copy(update={"allow_file_urls": True})) \
        == tmp_path.as_uri()
    deployed = settings.model_copy(update={
        "access_base_url": BASE + "/", "contact_email": "preservation@cadl-partners.net",
        "partners_file": samples.deployed_partners(tmp_path / "partners.json")})
    assert public_base_url(deployed) == BASE


def test_vertical_chinese_turns_its_pages_right_to_left():
    item = samples.traditional_item()
    assert item.reading_direction == "ttb"
    assert build_manifest(item, entry_for(item), BASE)["viewingDirection"] == "right-to-left"


def test_metadata_block_has_labels_in_three_languages_and_values_in_their_own_script():
    item = simplified_title_of_traditional_item()
    manifest = build_manifest(item, entry_for(item), BASE)
    fields = {m["label"]["en"][0]: m for m in manifest["metadata"]}
    assert list(fields) == ["Title", "Creator", "Language", "Shelfmark", "Rights"]
    for field in fields.values():
        assert set(field["label"]) == {"ar", "zh-Hans", "zh-Hant", "en"}
    assert fields["Title"]["value"]["zh-Hans"] == ["郑和下西洋"]
    assert fields["Title"]["value"]["zh-Hant"] == ["鄭和下西洋"]
    creator = fields["Creator"]["value"]
    assert creator == {"zh-Hans": ["马欢"], "zh-Hant": ["馬歡"], "ar": ["ابن بطوطة"]}
    assert fields["Shelfmark"]["value"] == {"none": ["善本 0042"]}
    rights = fields["Rights"]["value"]
    assert rights["en"][0].startswith("Copyright Not Evaluated")
    assert rights["ar"][0].startswith("لم تُقيَّم") and rights["zh-Hans"][0].startswith("版权未评估")
    assert fields["Language"]["value"]["en"] == ["Chinese (Traditional), Arabic"]


def test_each_summary_is_wholly_in_its_own_language():
    item = samples.arabic_item()
    summary = build_manifest(item, entry_for(item), BASE)["summary"]
    assert summary == {"ar": ["1925 · 2 صفحات"], "zh-Hans": ["1925 · 2 页"],
                       "zh-Hant": ["1925 · 2 頁"], "en": ["1925 · 2 pages"]}


def test_provider_is_the_holding_partner_with_homepage_and_logo():
    partners = load_partners()
    arabic = build_manifest(samples.arabic_item(), entry_for(samples.arabic_item()), BASE)
    (provider,) = arabic["provider"]
    assert provider["label"]["en"] == [partners["ar"]["name_en"]]
    assert provider["homepage"][0]["id"] == partners["ar"]["homepage"]
    assert provider["logo"][0]["id"] == partners["ar"]["logo"]
    chinese = samples.simplified_item()
    assert build_manifest(chinese, entry_for(chinese), BASE)["provider"][0]["label"]["en"] == \
        [partners["zh"]["name_en"]]
    named = chinese.model_copy(update={"extra": {"partner": "ar"}})
    assert build_manifest(named, entry_for(named), BASE)["provider"][0]["id"] == \
        f"{BASE}/partners/ar.json"


def test_homepage_and_part_of_name_only_the_portals_that_show_the_item():
    item = samples.arabic_item()
    manifest = build_manifest(item, entry_for(item, portals=["ar"]), BASE)
    assert [h["id"] for h in manifest["homepage"]] == [
        load_partners()["ar"]["item_page"].format(item_id=item.item_id)]
    assert manifest["homepage"][0]["language"] == ["ar"]
    assert [p["id"] for p in manifest["partOf"]] == [f"{BASE}/portals/ar/collection.json"]


def test_change_discovery_pages_follow_a_new_base_url(tmp_path):
    access = open_storage(tmp_path.as_uri(), Settings())
    entries = {"ar-amal-001": {"portals": ["ar"], "version": 1, "fingerprint": "f1"}}
    now = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    update_feeds(access, now, "file:///old/access", entries)
    update_feeds(access, now, BASE, entries)  # nothing new, but the public URL moved
    page = json.loads((tmp_path / "feeds/ar/page-0001.json").read_text())
    assert [a["object"]["id"] for a in page["orderedItems"]] == [
        f"{BASE}/items/ar-amal-001/manifest.json"]
    assert page["id"].startswith(BASE)
    collection = json.loads((tmp_path / "feeds/ar/collection.json").read_text())
    assert collection["id"] == f"{BASE}/feeds/ar/collection.json"
    assert "file://" not in (tmp_path / "feeds/zh/collection.json").read_text()
