"""Items and METS built from fixed inputs, shared by the reader, MIX and golden-file tests."""

import datetime as dt
import hashlib
import itertools
import unicodedata
import uuid

from ingest.models import Item, Page, Rights
from metadata.agents import load_partners, software_agent
from metadata.mets import FileEntry, build_mets
from metadata.premis import Agent, Event, Object, build_premis

CREATED = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.timezone.utc)
SCANNED = dt.datetime(2024, 5, 30, 14, 15, 16, tzinfo=dt.timezone.utc)
RECEIVED = dt.date(2024, 5, 31)


def sha(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def _page(seq: int, name: str, item_id: str, characterized: bool) -> Page:
    facts = dict(bits_per_sample=8, samples_per_pixel=1 if seq % 2 else 3,
                 color_space="BlackIsZero" if seq % 2 else "RGB", icc_profile=seq == 2,
                 byte_order="little endian",
                 compression="LZW", md5=hashlib.md5(name.encode()).hexdigest(),
                 puid="fmt/353", x_resolution=300.0, y_resolution=299.5) if characterized else {}
    return Page(seq=seq, original_name=unicodedata.normalize("NFC", name),
                path=f"{item_id}/{name}", sha512=sha(name), size=10_000 + seq, format="TIFF",
                mimetype="image/tiff", width=2480, height=3508, dpi=300.0, **facts)


def arabic_item(characterized: bool = True) -> Item:
    # Scan names as a Mac saves them: decomposed (NFD).
    names = [unicodedata.normalize("NFD", f"آمال - صفحة {n}.tif") for n in ("١", "٢")]
    return Item(item_id="ar-amal-001", row=2, languages=["ar"], title="آمال",
                titles={"zh": "希望", "en": "Hopes"}, reading_direction="rtl",
                creator="مؤلف مجهول; محقق", date="1925", place="القاهرة", publisher="دار الكتب",
                subjects=["أدب", "شعر"], identifier="isbn 977-00-0000-0",
                rights=Rights.parse("embargo:2030-01-01"), portals=["ar"],
                extra={"donor": "أحمد", "shelfmark": "MS 12"},
                pages=[_page(i, n, "ar-amal-001", characterized) for i, n in enumerate(names, 1)])


def traditional_item(characterized: bool = True) -> Item:
    names = ["封面.tif", "第二頁.tif", "封底.tif"]
    return Item(item_id="zh-hant-002", row=3, languages=["zh-Hant", "ar"], title="鄭和下西洋",
                titles={"ar": "رحلات جنغ خه", "zh": "鄭和航海圖"}, reading_direction="ttb",
                rights=Rights.parse("restricted"), portals=["zh", "ar"],
                pages=[_page(i, n, "zh-hant-002", characterized) for i, n in enumerate(names, 1)])


def simplified_item(characterized: bool = False) -> Item:
    return Item(item_id="zh-hans-003", row=4, languages=["zh-Hans"], title="丝绸之路上的纸与书",
                pages=[_page(1, "第一页.tif", "zh-hans-003", characterized)])


def bilingual_item() -> Item:
    """An Arabic book with its Chinese and English title translations and a Chinese translator
    whose name the cataloguer wrote in Simplified: the multi-script MODS golden record."""
    return Item(item_id="ar-zh-rihla-004", row=5, languages=["ar", "zh-Hans"],
                title="رحلة ابن بطوطة",
                titles={"zh": "伊本·白图泰游记", "en": "The Travels of Ibn Battuta"},
                creator="ابن بطوطة; 马金鹏", reading_direction="rtl", date="1985",
                place="银川", publisher="宁夏人民出版社", subjects=["رحلات", "游记"],
                rights=Rights.parse("open"), portals=["zh", "ar"],
                extra={"shelfmark": "ع 910.4 ابن", "creator_types": "personal; personal",
                       "rights_uri": "http://rightsstatements.org/vocab/InC/1.0/"},
                pages=[_page(1, "ص1.tif", "ar-zh-rihla-004", True)])


def mods(item: Item) -> bytes:
    from lxml import etree

    from metadata.mods import build_mods

    record = build_mods(item, "batch-2024-06", "Chinese–Arabic Digital Library", CREATED,
                        SCANNED.date())
    return etree.tostring(record, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def files(item: Item) -> list[FileEntry]:
    entries = []
    for page in item.pages:
        stem = page.stem
        entries += [
            FileEntry("masters", f"masters-{stem}", f"data/masters/{stem}.tif", "image/tiff",
                      page.sha512, page.size, SCANNED, page.seq),
            FileEntry("alto", f"alto-{stem}", f"data/ocr/{stem}.alto.xml", "application/xml",
                      sha(f"alto {stem}"), 2000 + page.seq, CREATED, page.seq),
            FileEntry("thumbnails", f"thumbnails-{stem}", f"data/thumbnails/{stem}.jpg",
                      "image/jpeg", sha(f"thumb {stem}"), 50 + page.seq, CREATED, page.seq),
        ]
    entries.append(FileEntry("pdf", "pdf", f"data/{item.item_id}.pdf", "application/pdf",
                             sha("pdf"), 123_456, CREATED))
    return entries


def premis(item: Item):
    """PREMIS as describe_item writes it: UUID objects (the METS file ID as a local identifier),
    derivatives linked to their masters, the item as an intellectual entity."""
    from metadata.describe import object_uuid

    counter = itertools.count(1)
    entries = files(item)
    masters = {f.page_seq: object_uuid(item.item_id, f.href, f.sha512) for f in entries
               if f.group == "masters"}
    pages = {p.seq: p for p in item.pages}
    objects = []
    for f in entries:
        page = pages.get(f.page_seq)
        if f.group == "masters":
            objects.append(Object(masters[f.page_seq], page.original_name, page.size,
                                  page.format, page.sha512, puid=page.puid, md5=page.md5,
                                  id_type="UUID", local_id=f.file_id))
        else:
            sources = [masters[f.page_seq]] if f.page_seq else sorted(masters.values())
            objects.append(Object(object_uuid(item.item_id, f.href, f.sha512), f.href, f.size,
                                  f.mimetype, f.sha512, id_type="UUID", local_id=f.file_id,
                                  derived_from=sources))
    agents = [Agent("tesseract", "tesseract", "software", version="5.3.4")]
    derived = [o.id_value for o in objects if o.derived_from]
    events = [Event.create("creation", CREATED, "success", "OCR to ALTO", ["tesseract"],
                           derived, id_factory=lambda: uuid.UUID(int=next(counter)))]
    return build_premis(objects, events, agents, entity_id=item.item_id)


def mets(item: Item) -> bytes:
    return build_mets(item, "batch-2024-06", files(item), premis(item),
                      load_partners() + [software_agent("cadl pipeline", "0.1.0")], CREATED,
                      record_source="Chinese–Arabic Digital Library", rights_since=RECEIVED)


GOLDEN = {"mets-ar-amal-001.xml": arabic_item, "mets-zh-hant-002.xml": traditional_item,
          "mets-zh-hans-003.xml": simplified_item}
GOLDEN_MODS = {"mods-ar-zh-rihla-004.xml": bilingual_item}

if __name__ == "__main__":
    # Rewrite the golden files after a deliberate change of the output; review the diff.
    from pathlib import Path

    for name, make in GOLDEN.items():
        (Path(__file__).parent / "golden" / name).write_bytes(mets(make()))
    for name, make in GOLDEN_MODS.items():
        (Path(__file__).parent / "golden" / name).write_bytes(mods(make()))


def deployed_partners(path):
    """A partners file as a real deployment sets it (CADL_PARTNERS_FILE): the shipped names and
    roles with portal URLs on a domain that is no placeholder (kernel.deployment)."""
    import json

    from metadata.agents import PARTNERS_FILE

    data = json.loads(PARTNERS_FILE.read_text("utf-8"))
    for key, entry in data.items():
        site = f"https://{key}.portal.cadl-partners.net"
        entry.update(homepage=f"{site}/", logo=f"{site}/static/logo.png",
                     item_page=f"{site}/items/{{item_id}}")
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
    return path
