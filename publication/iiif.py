"""IIIF Presentation 3 manifests of published items, built from the item's own facts.

Every label is a language map in the tags of the language table (`ar`, `zh-Hans`, `zh-Hant`,
`en`), so a viewer shows the title in the reader's language; the reading direction of the item
becomes `viewingDirection`, so an Arabic book turns right to left in any IIIF viewer. Links are
the access location's keys joined to `CADL_ACCESS_BASE_URL`: one base URL, and the same package
can be served from a folder, an S3 bucket or a CDN.

Built as plain JSON (deterministic, no network); the tests load every manifest with the
iiif-prezi3 model to check it against the specification's types.
"""

from __future__ import annotations

import json
from pathlib import Path

from kernel.errors import ConfigError
from kernel.languages import language
from kernel.scripts import HAN, HANS, HANT, detect_script, string_language
from ingest.models import Item
from metadata.agents import holding_partner as _holding_partner, partners_file
from metadata.rights import DEFAULT_RIGHTS_URI, rights_text, rights_uri  # noqa: F401 (re-export)
from ocr.search import to_other_chinese_script

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
MANIFEST = "manifest.json"

# A vertically set Chinese book (`ttb`) reads its columns top to bottom but turns its pages right
# to left: IIIF viewingDirection is about the order of canvases, so it is `right-to-left`.
VIEWING_DIRECTION = {"ltr": "left-to-right", "rtl": "right-to-left", "ttb": "right-to-left"}

ALTO_PROFILE = "http://www.loc.gov/standards/alto/v4/alto.xsd"
HOCR_PROFILE = "http://kba.cloud/hocr-spec/1.2/"
METS_PROFILE = "http://www.loc.gov/METS/"

_PAGES = {"ar": "{n} صفحات", "zh-Hans": "{n} 页", "zh-Hant": "{n} 頁", "en": "{n} pages"}
_ATTRIBUTION = {"ar": "الإسناد", "zh-Hans": "署名", "zh-Hant": "署名", "en": "Attribution"}
_DIGITIZED = {"ar": "رقمنة: {names}", "zh-Hans": "数字化：{names}", "zh-Hant": "數位化：{names}",
              "en": "Digitized by {names}"}
_PDF = {"ar": "ملف PDF", "zh-Hans": "PDF 文件", "zh-Hant": "PDF 檔案", "en": "PDF"}


PREMIS_PROFILE = "http://www.loc.gov/standards/premis/v3"


def to_simplified(text: str) -> str:
    """Chinese in Simplified characters, whichever script it came in (OpenCC t2s)."""
    return to_other_chinese_script(text, "zh-Hant")


def to_traditional(text: str) -> str:
    """Chinese in Traditional characters, whichever script it came in (OpenCC s2t)."""
    return to_other_chinese_script(text, "zh-Hans")


def join_url(base: str, key: str) -> str:
    """`key` (a storage key, ASCII) joined to a base URL with exactly one slash."""
    return base.rstrip("/") + "/" + key.lstrip("/")


def load_partners(path: Path | None = None) -> dict[str, dict]:
    """{partner key: its entry} from config/partners.json: names, `homepage`, `logo`,
    `item_page` (the item's page on the portal this partner runs, `{item_id}` filled in) and
    `portal_language`. Partner `zh` runs the Chinese portal `zh`, partner `ar` the Arabic one.
    Raises ConfigError naming the file when it is unreadable or an entry lacks a field."""
    path = path or partners_file()
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        for key, entry in data.items():
            for field in ("name_ar", "name_zh", "name_en", "homepage", "logo", "item_page",
                          "portal_language"):
                if not isinstance(entry.get(field), str) or not entry[field]:
                    raise KeyError(f"partner {key!r} has no {field!r}")
        return data
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"cannot read partners from {path}: {exc}") from None


def load_partner_names(path: Path | None = None) -> dict[str, dict[str, str]]:
    """{partner key: {BCP 47 tag: name}} from config/partners.json; ConfigError if unreadable."""
    return {key: load_names(entry) for key, entry in load_partners(path).items()}


def holding_partner(item: Item, partners: dict) -> str:
    """The key of the partner that holds `item` (see metadata.agents.holding_partner)."""
    return _holding_partner(item, partners)


def title_map(item: Item) -> dict[str, list[str]]:
    """The item's titles as a IIIF language map: ar, zh-Hans, zh-Hant, en where known.

    A Chinese title is given in both scripts (OpenCC), so the Chinese portal can show the form
    its reader uses whatever script the book is printed in.
    """
    titles = {"ar": item.titles.get("ar"), "zh": item.titles.get("zh"),
              "en": item.titles.get("en")}
    primary = language(item.primary_language).tag
    key = "zh" if primary.startswith("zh") else primary
    titles[key] = titles.get(key) or item.title
    result: dict[str, list[str]] = {}
    # Each string's tag from its own script (kernel.scripts), as in MODS and oai_dc: a romanised
    # title in the Arabic column is `ar-Latn`, not `ar`.
    if titles["ar"]:
        result.setdefault(string_language(titles["ar"], "ar").tag, []).append(titles["ar"])
    if titles["zh"]:
        result["zh-Hans"] = [to_simplified(titles["zh"])]
        result["zh-Hant"] = [to_traditional(titles["zh"])]
    if titles["en"]:
        result.setdefault(string_language(titles["en"], "en").tag, []).append(titles["en"])
    return result or {"none": [item.title]}


_LABELS = {
    "title": {"ar": "العنوان", "zh-Hans": "题名", "zh-Hant": "題名", "en": "Title"},
    "creator": {"ar": "المؤلف", "zh-Hans": "责任者", "zh-Hant": "責任者", "en": "Creator"},
    "date": {"ar": "التاريخ", "zh-Hans": "日期", "zh-Hant": "日期", "en": "Date"},
    "language": {"ar": "اللغة", "zh-Hans": "语种", "zh-Hant": "語種", "en": "Language"},
    "shelfmark": {"ar": "رقم الحفظ", "zh-Hans": "索书号", "zh-Hant": "索書號",
                  "en": "Shelfmark"},
    "rights": {"ar": "الحقوق", "zh-Hans": "权利", "zh-Hant": "權利", "en": "Rights"},
}
_LANGUAGE_NAMES = {
    "ar": {"ar": "العربية", "zh-Hans": "阿拉伯语", "zh-Hant": "阿拉伯語", "en": "Arabic"},
    "zh-Hans": {"ar": "الصينية (المبسطة)", "zh-Hans": "中文（简体）", "zh-Hant": "中文（簡體）",
                "en": "Chinese (Simplified)"},
    "zh-Hant": {"ar": "الصينية (التقليدية)", "zh-Hans": "中文（繁体）", "zh-Hant": "中文（繁體）",
                "en": "Chinese (Traditional)"},
    "en": {"ar": "الإنجليزية", "zh-Hans": "英语", "zh-Hant": "英語", "en": "English"},
}
PORTAL_NAMES = {
    "zh": {"ar": "البوابة الصينية", "zh-Hans": "中文门户", "zh-Hant": "中文門戶",
           "en": "Chinese portal"},
    "ar": {"ar": "البوابة العربية", "zh-Hans": "阿拉伯文门户", "zh-Hant": "阿拉伯文門戶",
           "en": "Arabic portal"},
}


def _summary(item: Item) -> dict[str, list[str]]:
    """One summary per language, each wholly in its language (a creator's name stays in the
    `metadata` block, tagged with its own script, rather than inside every language's text)."""
    date = f"{item.date} · " if item.date else ""
    return {tag: [date + pages.format(n=len(item.pages))] for tag, pages in _PAGES.items()}


def _everywhere(template: dict[str, str], **values) -> dict[str, list[str]]:
    return {tag: [text.format(**values)] for tag, text in template.items()}


def name_map(names: list[str]) -> dict[str, list[str]]:
    """Names as a language map keyed by each name's own script: Arabic under `ar`, a Chinese name
    in both scripts (OpenCC) under `zh-Hans` and `zh-Hant`, anything else under `none`."""
    result: dict[str, list[str]] = {}
    for name in names:
        script = detect_script(name)
        if script in (HANS, HANT, HAN):
            result.setdefault("zh-Hans", []).append(to_simplified(name))
            result.setdefault("zh-Hant", []).append(to_traditional(name))
        elif script == "Arab":
            result.setdefault("ar", []).append(name)
        else:
            result.setdefault("none", []).append(name)
    return result


def metadata_block(item: Item) -> list[dict]:
    """The manifest's `metadata`: title, creator, date, language, shelfmark and rights, labels in
    Arabic, Chinese (both scripts) and English, values in their own language or `none`."""
    entries = [("title", title_map(item))]
    creators = [n.strip() for n in (item.creator or "").split(";") if n.strip()]
    if creators:
        entries.append(("creator", name_map(creators)))
    if item.date:
        entries.append(("date", {"none": [item.date]}))
    names = [_LANGUAGE_NAMES[language(tag).tag] for tag in item.languages
             if language(tag).tag in _LANGUAGE_NAMES]
    if names:
        entries.append(("language", {ui: ["، ".join(n[ui] for n in names) if ui == "ar"
                                          else "、".join(n[ui] for n in names)
                                          if ui.startswith("zh")
                                          else ", ".join(n[ui] for n in names)]
                                     for ui in _LABELS["title"]}))
    shelfmark = item.extra.get("shelfmark", "").strip()
    if shelfmark:
        entries.append(("shelfmark", {"none": [shelfmark]}))
    uri = rights_uri(item)
    entries.append(("rights", {tag: [f"{text} ({uri})"] for tag, text in rights_text(uri).items()}))
    return [{"label": {tag: [text] for tag, text in _LABELS[key].items()}, "value": value}
            for key, value in entries]


def _agent(key: str, partner: dict, base_url: str) -> dict:
    labels = load_names(partner)
    return {"id": join_url(base_url, f"partners/{key}.json"), "type": "Agent",
            "label": {tag: [name] for tag, name in labels.items()},
            "homepage": [{"id": partner["homepage"], "type": "Text", "format": "text/html",
                          "label": {tag: [name] for tag, name in labels.items()}}],
            "logo": [{"id": partner["logo"], "type": "Image", "format": "image/png"}]}


def portal_collection_id(base_url: str, portal: str) -> str:
    """The IIIF Collection of everything a portal shows (written by publication.feed)."""
    return join_url(base_url, f"portals/{portal}/collection.json")


def build_manifest(item: Item, entry: dict, base_url: str,
                   partners: dict[str, dict] | None = None) -> dict:
    """The IIIF Presentation 3 manifest of a published item, as JSON-ready dict.

    `entry` is the item's catalogue entry (keys of the PDF, METS and, per page, `display`,
    `display_size`, `thumbnail`, `thumbnail_size`, `alto`, `hocr`, `text`, `size`), relative to
    the item's folder, and `portals`, those that show it now; `base_url` is the public URL of
    the access location; `partners` the entries of config/partners.json (default: read it).
    """
    partners = load_partners() if partners is None else partners
    holder = holding_partner(item, partners)
    portals = [p for p in entry.get("portals", []) if p in partners]
    root = join_url(base_url, f"items/{item.item_id}")
    url = lambda rel: join_url(root, rel)  # noqa: E731 - a one-line helper reads best here
    canvases = []
    for page in entry["pages"]:
        canvas_id = url(f"canvas/p{page['seq']:04d}")
        width, height = page["size"]
        dwidth, dheight = page["display_size"]
        twidth, theight = page["thumbnail_size"]
        canvases.append({
            "id": canvas_id, "type": "Canvas",
            "label": {"none": [str(page["seq"])]},
            "width": width, "height": height,
            "thumbnail": [{"id": url(page["thumbnail"]), "type": "Image",
                           "format": "image/jpeg", "width": twidth, "height": theight}],
            "seeAlso": [
                {"id": url(page["alto"]), "type": "Dataset", "format": "application/xml",
                 "profile": ALTO_PROFILE, "label": {"en": ["ALTO OCR"]}},
                {"id": url(page["hocr"]), "type": "Dataset", "format": "text/vnd.hocr+html",
                 "profile": HOCR_PROFILE, "label": {"en": ["hOCR"]}},
            ],
            "rendering": [{"id": url(page["text"]), "type": "Text", "format": "text/plain",
                           "label": {"en": ["OCR text"]}}],
            "items": [{
                "id": url(f"page/p{page['seq']:04d}"), "type": "AnnotationPage",
                "items": [{
                    "id": url(f"annotation/p{page['seq']:04d}-image"), "type": "Annotation",
                    "motivation": "painting", "target": canvas_id,
                    "body": {"id": url(page["display"]), "type": "Image",
                             "format": "image/jpeg", "width": dwidth, "height": dheight},
                }],
            }],
        })
    holder_names = load_names(partners[holder])
    first = entry["pages"][0] if entry["pages"] else None
    manifest = {
        "@context": CONTEXT,
        "id": url(MANIFEST),
        "type": "Manifest",
        "label": title_map(item),
        "summary": _summary(item),
        "metadata": metadata_block(item),
        "viewingDirection": VIEWING_DIRECTION[item.reading_direction],
        "behavior": ["paged"],
        "rights": rights_uri(item),
        "requiredStatement": {"label": _everywhere(_ATTRIBUTION),
                              "value": {tag: [_DIGITIZED[tag].format(names=holder_names[tag])]
                                        for tag in _DIGITIZED}},
        "provider": [_agent(holder, partners[holder], base_url)],
        "homepage": [{"id": partners[p]["item_page"].format(item_id=item.item_id),
                      "type": "Text", "format": "text/html",
                      "language": [partners[p]["portal_language"]],
                      "label": {tag: [name] for tag, name in PORTAL_NAMES[p].items()}}
                     for p in portals if p in PORTAL_NAMES],
        "partOf": [{"id": portal_collection_id(base_url, p), "type": "Collection",
                    "label": {tag: [name] for tag, name in PORTAL_NAMES[p].items()}}
                   for p in portals if p in PORTAL_NAMES],
        "rendering": [{"id": url(entry["pdf"]), "type": "Text", "format": "application/pdf",
                       "label": _everywhere(_PDF)}],
        "seeAlso": [{"id": url(entry["mets"]), "type": "Dataset", "format": "application/xml",
                     "profile": METS_PROFILE, "label": {"en": ["METS/MODS"]}}],
        "items": canvases,
    }
    # The package history (deposit, replica, rights changes, audits, reviews) in one PREMIS
    # document whose URL stays the same as events are added (publication.history).
    if entry.get("history"):
        manifest["seeAlso"].append({
            "id": url("history.xml"), "type": "Dataset", "format": "application/xml",
            "profile": PREMIS_PROFILE, "label": {"en": ["Package history (PREMIS)"],
                                                 "ar": ["سجل الحزمة (PREMIS)"],
                                                 "zh-Hans": ["数字资源保存历史 (PREMIS)"]}})
    # An item published after an archivist's review links the PREMIS record of that decision.
    for review in entry.get("reviews", []):
        manifest["seeAlso"].append({
            "id": url(review["premis"]), "type": "Dataset", "format": "application/xml",
            "profile": PREMIS_PROFILE,
            "label": {"en": [f"Review: {review['decision']} by {review['by']} ({review['at']})"]}})
    if first:
        manifest["thumbnail"] = canvases[0]["thumbnail"]
    if item.date:
        manifest["navDate"] = _nav_date(item.date)
    if manifest.get("navDate") is None:
        manifest.pop("navDate", None)
    return manifest


def _nav_date(date: str) -> str | None:
    """navDate (xsd:dateTime) from the first four-digit year of an EDTF date, if any."""
    year = date.lstrip("-")[:4]
    return f"{year}-01-01T00:00:00Z" if year.isdigit() and not date.startswith("-") else None


def load_names(partner: dict) -> dict[str, str]:
    """{BCP 47 tag: name} of one partners.json entry, its Chinese name in both scripts."""
    return {"ar": partner["name_ar"], "zh-Hans": to_simplified(partner["name_zh"]),
            "zh-Hant": to_traditional(partner["name_zh"]), "en": partner["name_en"]}


def partner_agent(key: str, partner: dict, base_url: str) -> dict:
    """The JSON document a manifest's `provider` id points to, so the link resolves."""
    return {"@context": CONTEXT, **_agent(key, partner, base_url)}
