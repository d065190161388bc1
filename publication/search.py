"""Search-ready JSON per item and portal: what a portal loads into its search index as is.

One document per portal that may show the item (`items/<id>/search/<portal>.json`), so a
portal never indexes an item the other portal alone may show. Bilingual fields carry every
title; the text comes as printed plus its search variants: Arabic normalised (hamza seats,
alef maqsura, ta marbuta, diacritics), Chinese in Simplified and in Traditional characters,
so a query in either script finds a book printed in the other.
"""

from __future__ import annotations

from ingest.models import Item
from ocr.search import normalize_arabic
from publication.iiif import MANIFEST, join_url, title_map, to_simplified, to_traditional

PORTAL_LANGUAGE = {"zh": "zh-Hans", "ar": "ar"}  # the language each portal shows first


def search_document(item: Item, entry: dict, portal: str, texts: dict[int, str],
                    base_url: str) -> dict:
    """The search document of `item` for `portal`.

    `texts` maps page seq to the OCR text of the page; `entry` is the item's catalogue entry
    (page keys relative to the item folder). Variants are present only for the scripts the
    item has: `text_ar_normalized` for Arabic items, `text_zh_hans`/`text_zh_hant` for Chinese.
    """
    root = join_url(base_url, f"items/{item.item_id}")
    titles = title_map(item)
    full = "\n\n".join(texts[seq] for seq in sorted(texts))
    has_ar = any(tag == "ar" for tag in item.languages)
    has_zh = any(tag.startswith("zh") for tag in item.languages)
    own = titles.get(PORTAL_LANGUAGE[portal]) or titles.get("en") or [item.title]
    title_text = " ".join(t[0] for t in titles.values())
    doc = {
        "item_id": item.item_id,
        "portal": portal,
        "title": own[0],
        "titles": titles,
        "creator": item.creator,
        "date": item.date,
        "publisher": item.publisher,
        "place": item.place,
        "subjects": item.subjects,
        "identifier": item.identifier,
        "languages": item.languages,
        "reading_direction": item.reading_direction,
        "page_count": len(item.pages),
        "manifest": join_url(root, MANIFEST),
        "thumbnail": join_url(root, entry["pages"][0]["thumbnail"]) if entry["pages"] else None,
        "pdf": join_url(root, entry["pdf"]),
        "text": full,
        "pages": [{"seq": seq, "canvas": join_url(root, f"canvas/p{seq:04d}"),
                   "text": texts[seq]} for seq in sorted(texts)],
        "title_search": {},
    }
    if has_ar or "ar" in titles:
        doc["title_search"]["ar_normalized"] = normalize_arabic(title_text)
    if has_ar:
        doc["text_ar_normalized"] = normalize_arabic(full)
    if has_zh or "zh-Hans" in titles:
        doc["title_search"]["zh_hans"] = to_simplified(title_text)
        doc["title_search"]["zh_hant"] = to_traditional(title_text)
    if has_zh:
        doc["text_zh_hans"] = to_simplified(full)
        doc["text_zh_hant"] = to_traditional(full)
    return doc
