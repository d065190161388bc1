"""Serials and multi-volume works in METS and MODS: pointers up from an issue, down from a title.

An issue (or a volume of a multi-volume work) is its own package. Its MODS says what it is part
of (`relatedItem type="host"` with the numbering in `part/detail`), and its logical structMap
nests its own div in the divs of its title and volume, each holding an `mptr` to that level's
METS, as the DFG viewer expects of a journal issue. The title and volume levels get a METS of
their own (`metadata.container_mets`): their MODS, and a logical structMap (`periodical` →
`volume` → `issue`, the DFG structure types) whose child divs point down with `mptr`s and carry
a small MODS each (title, numbering, order), so that a later batch can read the list back
(`read_container_mets`) and add its issues without touching the packages of the earlier ones.

`mptr` hrefs are relative, `../<item_id>/mets.xml`: in the access location every item's and
container's METS is `items/<item_id>/mets.xml`, so the link resolves there and does not change
when the parent gets a new version or the library moves to another host.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from lxml import etree
from lxml.builder import ElementMaker

from ingest.models import Ancestor, Item
from kernel.namespaces import METS, MODS, NSMAP, XLINK
from metadata.text import nfc

E = ElementMaker(namespace=METS, nsmap=NSMAP)
M = ElementMaker(namespace=MODS, nsmap=NSMAP)
_NS = {"mets": METS, "mods": MODS}


def mets_href(item_id: str) -> str:
    """Where the METS of `item_id` is, relative to another item's METS in the access location."""
    return f"../{item_id}/mets.xml"


def _mptr(item_id: str) -> etree._Element:
    pointer = E.mptr(LOCTYPE="URL")
    pointer.set(f"{{{XLINK}}}type", "simple")
    pointer.set(f"{{{XLINK}}}href", mets_href(item_id))
    return pointer


def _details(volume: str | None, issue: str | None, part: str | None) -> list[etree._Element]:
    return [M.detail(M.number(nfc(value)), type=kind)
            for kind, value in (("volume", volume), ("issue", issue), ("part", part)) if value]


def numbering_label(volume: str | None, issue: str | None, part: str | None) -> str:
    """A short label of the numbering: "vol. 1, no. 2", "pt. 3" (for ORDERLABEL and lists)."""
    bits = [f"{prefix} {value}" for prefix, value in (("vol.", volume), ("no.", issue),
                                                       ("pt.", part)) if value]
    return ", ".join(bits)


def host_related_item(item: Item) -> etree._Element | None:
    """MODS `relatedItem type="host"` of an item with a parent: the parent's title and id, the
    item's numbering in `part`, and the parent's own host nested inside it."""
    if not item.parent:
        return None
    chain = list(item.ancestors)
    if not chain or chain[-1].item_id != item.parent:
        chain.append(Ancestor(item_id=item.parent, type="periodical", title=item.parent))
    volume = item.volume or next((a.volume for a in chain if a.type == "volume"), None)
    host = None
    for n, ancestor in enumerate(chain):
        details = (_details(volume, item.issue, item.part) if n == len(chain) - 1
                   else _details(ancestor.volume, ancestor.issue, ancestor.part))
        children = [M.titleInfo(M.title(nfc(ancestor.title or ancestor.item_id))),
                    M.identifier(ancestor.item_id, type="local")]
        if host is not None:
            children.append(host)
        if details:
            part = M.part(*details)
            sequence = item.sequence if n == len(chain) - 1 else ancestor.sequence
            if sequence:
                part.set("order", str(sequence))
            children.append(part)
        host = M.relatedItem(*children, type="host")
    return host


def nest_logical(item: Item, struct_map: etree._Element) -> etree._Element:
    """Wrap the item's logical div in its ancestors' divs, each with an mptr to its METS, and
    type it by its structure type (DFG: "issue", "volume", …)."""
    div = struct_map[0]
    div.set("TYPE", item.structure_type)
    label = numbering_label(item.volume, item.issue, item.part)
    if label:
        div.set("ORDERLABEL", label)
    if item.sequence:
        div.set("ORDER", str(item.sequence))
    if not item.ancestors:
        return struct_map
    struct_map.remove(div)
    inner = div
    for ancestor in reversed(item.ancestors):
        inner = E.div(_mptr(ancestor.item_id), inner, ID=f"LOG_{ancestor.item_id}",
                      TYPE=ancestor.type, LABEL=nfc(ancestor.title or ancestor.item_id))
    struct_map.append(inner)
    return struct_map


@dataclass
class Child:
    """One child of a title or volume, as its METS lists it."""

    item_id: str
    type: str  # "issue", "volume", "part"
    title: str
    volume: str | None = None
    issue: str | None = None
    part: str | None = None
    sequence: int | None = None

    def get(self, key: str):
        return getattr(self, key)


@dataclass
class ContainerState:
    """What a container's METS holds: its own MODS and type, and its children in order."""

    item_id: str
    type: str
    title: str
    mods: etree._Element
    parent: str | None = None
    children: list[Child] = field(default_factory=list)


def _child_mods(child: Child) -> etree._Element:
    part = M.part(*_details(child.volume, child.issue, child.part))
    if child.sequence:
        part.set("order", str(child.sequence))
    return M.mods(M.titleInfo(M.title(nfc(child.title or child.item_id))),
                  M.identifier(child.item_id, type="local"), part, version="3.8")


def _dmd_id(item_id: str) -> str:
    return f"DMD_{item_id}"


def read_container_mets(data: bytes) -> ContainerState:
    """The state a container's METS records (see build_container_mets); ValueError if `data`
    is not such a METS."""
    root = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False,
                                                  remove_blank_text=True))
    own = root.find(".//mets:structMap[@TYPE='LOGICAL']//mets:div[@ID='LOG']", _NS)
    mods = root.find("mets:dmdSec[@ID='DMD_MODS']/mets:mdWrap/mets:xmlData/mods:mods", _NS)
    if own is None or mods is None:
        raise ValueError("not a container METS: no logical div LOG or no DMD_MODS record")
    outer = own.getparent()
    parent = None
    if outer.tag == f"{{{METS}}}div":
        pointer = outer.find("mets:mptr", _NS)
        parent = pointer.get(f"{{{XLINK}}}href").split("/")[-2] if pointer is not None else None
    children = []
    for div in own.findall("mets:div", _NS):
        record = root.find(f"mets:dmdSec[@ID='{div.get('DMDID')}']//mods:mods", _NS)
        numbers = {d.get("type"): d.findtext("mods:number", namespaces=_NS)
                   for d in record.iterfind("mods:part/mods:detail", _NS)}
        order = record.find("mods:part", _NS)
        children.append(Child(
            item_id=div.get("CONTENTIDS"), type=div.get("TYPE"),
            title=record.findtext("mods:titleInfo/mods:title", namespaces=_NS) or "",
            volume=numbers.get("volume"), issue=numbers.get("issue"), part=numbers.get("part"),
            sequence=int(order.get("order")) if order is not None and order.get("order")
            else None))
    return ContainerState(item_id=root.get("OBJID"), type=own.get("TYPE"),
                          title=own.get("LABEL") or "", mods=copy.deepcopy(mods),
                          parent=parent, children=children)
