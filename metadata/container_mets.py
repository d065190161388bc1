"""The METS of a title or volume: its MODS, one small MODS per child, and the logical structMap
from it down to its children (`mptr`s) and, for a volume, up to its title.

Apart from `metadata.serials` because it writes agents and wrapped records the way
`metadata.mets` does, and `metadata.mets` itself uses `metadata.serials` for an issue's
pointers up: one module each way keeps the imports free of cycles.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from ingest.models import Ancestor
from kernel.namespaces import METS, MODS, NSMAP, XSI, schema_location
from metadata.mets import E, _agent, _md_wrap
from metadata.serials import ContainerState, _child_mods, _dmd_id, _mptr, numbering_label
from metadata.text import iso_utc, nfc


def build_container_mets(state: ContainerState, parent: Ancestor | None, agents,
                         batch_id: str, created: datetime) -> bytes:
    """The METS of a title or volume: its MODS, one small MODS per child, and the logical
    structMap from it down to its children (and, for a volume, up to its title)."""
    dmd = [E.dmdSec(_md_wrap("MODS", state.mods), ID="DMD_MODS")]
    divs = []
    for order, child in enumerate(state.children, start=1):
        dmd.append(E.dmdSec(_md_wrap("MODS", _child_mods(child)), ID=_dmd_id(child.item_id)))
        divs.append(E.div(_mptr(child.item_id), ID=f"LOG_{child.item_id}", TYPE=child.type,
                          ORDER=str(order), LABEL=nfc(child.title or child.item_id),
                          ORDERLABEL=numbering_label(child.volume, child.issue, child.part)
                          or str(order), DMDID=_dmd_id(child.item_id),
                          CONTENTIDS=child.item_id))
    own = E.div(*divs, ID="LOG", TYPE=state.type, LABEL=nfc(state.title), DMDID="DMD_MODS")
    top = own
    if parent is not None:
        top = E.div(_mptr(parent.item_id), own, ID=f"LOG_{parent.item_id}", TYPE=parent.type,
                    LABEL=nfc(parent.title or parent.item_id))
    root = E.mets(
        E.metsHdr(*[_agent(a) for a in agents], E.altRecordID(batch_id, TYPE="batch"),
                  CREATEDATE=iso_utc(created)),
        *dmd,
        E.structMap(top, TYPE="LOGICAL"),
        OBJID=state.item_id, LABEL=nfc(state.title), TYPE=state.type,
    )
    root.set(f"{{{XSI}}}schemaLocation", schema_location(METS, MODS))
    etree.cleanup_namespaces(root, top_nsmap=NSMAP)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
