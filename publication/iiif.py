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
from ingest.models import Item
from ocr.search import to_other_chinese_script

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
MANIFEST = "manifest.json"
PARTNERS_FILE = Path(__file__).resolve().parents[1] / "config" / "partners.json"

VIEWING_DIRECTION = {"ltr": "left-to-right", "rtl": "right-to-left", "ttb": "top-to-bottom"}

# The IIIF `rights` of each manifest rights value. "open" says only that the partner allows
# display, not what the copyright status is, so it maps to "Copyright Not Evaluated" unless
# the manifest row gives a `rights_uri` (a rightsstatements.org or creativecommons.org URI).
DEFAULT_RIGHTS_URI = "http://rightsstatements.org/vocab/CNE/1.0/"
RIGHTS_URI_PREFIXES = ("http://rightsstatements.org/vocab/", "http://creativecommons.org/",
                       "https://creativecommons.org/")

ALTO_PROFILE = "http://www.loc.gov/standards/alto/v4/alto.xsd"
HOCR_PROFILE = "http://kba.cloud/hocr-spec/1.2/"
METS_PROFILE = "http://www.loc.gov/METS/"

_PAGES = {"ar": "{n} صفحات", "zh-Hans": "{n} 页", "zh-Hant": "{n} 頁", "en": "{n} pages"}
_ATTRIBUTION = {"ar": "الإسناد", "zh-Hans": "署名", "zh-Hant": "署名", "en": "Attribution"}
_DIGITIZED = {"ar": "رقمنة: {names}", "zh-Hans": "数字化：{names}", "zh-Hant": "數位化：{names}",
              "en": "Digitized by {names}"}
_JOIN = {"ar": " و", "zh-Hans": "、", "zh-Hant": "、", "en": " and "}
_PDF = {"ar": "ملف PDF", "zh-Hans": "PDF 文件", "zh-Hant": "PDF 檔案", "en": "PDF"}


PREMIS_PROFILE = "http://www.loc.gov/standards/premis/v3"


def to_simplified(text: str) -> str:
    """Chinese in Simplified characters, whichever script it came in (OpenCC t2s)."""
    return to_other_chinese_script(text, "zh-Hant")


def to_traditional(text: str) -> str:
    """Chinese in Traditional characters, whichever script it came in (OpenCC s2t)."""
    return to_other_chinese_script(text, "zh-Hans")


def rights_uri(item: Item) -> str:
    """The IIIF `rights` URI of an item (see DEFAULT_RIGHTS_URI and the `rights_uri` column)."""
    uri = item.extra.get("rights_uri", "").strip()
    return uri if uri.startswith(RIGHTS_URI_PREFIXES) else DEFAULT_RIGHTS_URI


def join_url(base: str, key: str) -> str:
    """`key` (a storage key, ASCII) joined to a base URL with exactly one slash."""
    return base.rstrip("/") + "/" + key.lstrip("/")


def load_partner_names(path: Path | None = None) -> dict[str, dict[str, str]]:
    """{partner key: {BCP 47 tag: name}} from config/partners.json; ConfigError if unreadable."""
    path = path or PARTNERS_FILE
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        return {key: {"ar": entry["name_ar"], "zh-Hans": to_simplified(entry["name_zh"]),
                      "zh-Hant": to_traditional(entry["name_zh"]), "en": entry["name_en"]}
                for key, entry in data.items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read partner names from {path}: {exc}") from None


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
    if titles["ar"]:
        result["ar"] = [titles["ar"]]
    if titles["zh"]:
        result["zh-Hans"] = [to_simplified(titles["zh"])]
        result["zh-Hant"] = [to_traditional(titles["zh"])]
    if titles["en"]:
        result["en"] = [titles["en"]]
    return result or {"none": [item.title]}


def _summary(item: Item) -> dict[str, list[str]]:
    facts = [f for f in (item.creator, item.date) if f]
    return {tag: [" · ".join(facts + [pages.format(n=len(item.pages))])]
            for tag, pages in _PAGES.items()}


def _everywhere(template: dict[str, str], **values) -> dict[str, list[str]]:
    return {tag: [text.format(**values)] for tag, text in template.items()}


def build_manifest(item: Item, entry: dict, base_url: str,
                   partners: dict[str, dict[str, str]]) -> dict:
    """The IIIF Presentation 3 manifest of a published item, as JSON-ready dict.

    `entry` is the item's catalogue entry (keys of the PDF, METS and, per page, `display`,
    `display_size`, `thumbnail`, `thumbnail_size`, `alto`, `hocr`, `text`, `size`), relative to
    the item's folder; `base_url` is the public URL of the access location.
    """
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
    names = {tag: _JOIN[tag].join(p[tag] for p in partners.values()) for tag in _JOIN}
    first = entry["pages"][0] if entry["pages"] else None
    manifest = {
        "@context": CONTEXT,
        "id": url(MANIFEST),
        "type": "Manifest",
        "label": title_map(item),
        "summary": _summary(item),
        "viewingDirection": VIEWING_DIRECTION[item.reading_direction],
        "behavior": ["paged"],
        "rights": rights_uri(item),
        "requiredStatement": {"label": _everywhere(_ATTRIBUTION),
                              "value": {tag: [_DIGITIZED[tag].format(names=names[tag])]
                                        for tag in _DIGITIZED}},
        "provider": [{"id": join_url(base_url, f"partners/{key}.json"), "type": "Agent",
                      "label": {tag: [name] for tag, name in labels.items()}}
                     for key, labels in partners.items()],
        "rendering": [{"id": url(entry["pdf"]), "type": "Text", "format": "application/pdf",
                       "label": _everywhere(_PDF)}],
        "seeAlso": [{"id": url(entry["mets"]), "type": "Dataset", "format": "application/xml",
                     "profile": METS_PROFILE, "label": {"en": ["METS/MODS"]}}],
        "items": canvases,
    }
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


def partner_agent(key: str, labels: dict[str, str], base_url: str) -> dict:
    """The JSON document a manifest's `provider` id points to, so the link resolves."""
    return {"@context": CONTEXT, "id": join_url(base_url, f"partners/{key}.json"),
            "type": "Agent", "label": {tag: [name] for tag, name in labels.items()}}
