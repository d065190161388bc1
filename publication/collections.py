"""IIIF Presentation 3 Collections of titles and volumes: their children, in order.

A journal's title is a Collection of its volumes (Collections) or directly of its issues
(Manifests); a volume is a Collection of its issues. Portals browse title → volume → issue by
following `items`. Labels are language maps like the manifests' (`publication.iiif.title_map`),
and each child's label carries its numbering ("vol. 1, no. 2") so a list of issues reads well
in any viewer.
"""

from __future__ import annotations

from publication.iiif import CONTEXT, MANIFEST, join_url, to_simplified, to_traditional

COLLECTION = "collection.json"
BEHAVIOR = {"periodical": ["multi-part"], "multivolume_work": ["multi-part"],
            "volume": ["multi-part"]}


def _label(title: str, numbering: str = "") -> dict[str, list[str]]:
    text = f"{title} ({numbering})" if numbering else title
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return {"zh-Hans": [to_simplified(text)], "zh-Hant": [to_traditional(text)]}
    if any("\u0600" <= ch <= "\u06ff" for ch in text):
        return {"ar": [text]}
    return {"none": [text]}


def part_of(parent_id: str, base_url: str) -> list[dict]:
    """The IIIF `partOf` of a child of `parent_id`: its title's or volume's Collection."""
    return [{"id": join_url(base_url, f"items/{parent_id}/{COLLECTION}"), "type": "Collection"}]


def build_collection(state, children: list, entries: dict[str, dict], base_url: str) -> dict:
    """The IIIF Collection of a title or volume (`state`: metadata.serials.ContainerState),
    listing the published `children` (in the order given) as Manifests, or as Collections for
    children that are themselves volumes. `entries` are the children's catalogue entries."""
    from metadata.serials import numbering_label

    items = []
    for child in children:
        entry = entries[child.item_id]
        is_collection = entry.get("type") == "collection"
        key = f"items/{child.item_id}/{COLLECTION if is_collection else MANIFEST}"
        items.append({
            "id": join_url(base_url, key),
            "type": "Collection" if is_collection else "Manifest",
            "label": _label(child.title or entry.get("title") or child.item_id,
                            numbering_label(child.volume, child.issue, child.part)),
        })
    collection = {
        "@context": CONTEXT,
        "id": join_url(base_url, f"items/{state.item_id}/{COLLECTION}"),
        "type": "Collection",
        "label": _label(state.title or state.item_id),
        "behavior": BEHAVIOR.get(state.type, ["multi-part"]),
        "seeAlso": [{"id": join_url(base_url, f"items/{state.item_id}/mets.xml"),
                     "type": "Dataset", "format": "application/xml",
                     "profile": "http://www.loc.gov/METS/", "label": {"en": ["METS/MODS"]}}],
        "items": items,
    }
    if state.parent:
        collection["partOf"] = part_of(state.parent, base_url)
    return collection
