"""PREMIS records of what people decide about a package, and the reader of package event records.

An archivist's review of an item held by the OCR quality check is a PREMIS event like any other
action on the item: who (an agent of type *person*), when, what was decided (the event outcome:
`publish`, `reocr` or `return`), the pages and flags that held it (outcome detail) and the
reviewer's comment (event detail). The Library of Congress event type vocabulary has no term for
a review (its "appraisal" is about retention value), so the event type is the plain string
"review" without an authority, which PREMIS allows.

`read_event_record` turns a standalone PREMIS document written by `package_event_record` (the
bagging record, audit records, review records) back into plain dicts, so publication and the
collection view can show a package's history without knowing PREMIS.
"""

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from lxml import etree
from lxml.builder import ElementMaker

from kernel.namespaces import NSMAP, PREMIS, XSI, schema_location
from metadata.agents import person_id, person_premis_agent  # noqa: F401 (person_id re-exported)
from metadata.premis import Agent, agent_element
from metadata.text import iso_utc, nfc

P = ElementMaker(namespace=PREMIS, nsmap=NSMAP)
NS = {"premis": PREMIS}

REVIEW_EVENT = "review"
DECISIONS = ("publish", "reocr", "return")
REVIEW_SOFTWARE_ID = "cadl-review"


def review_record(package_id: str, decision: str, reviewer: str, comment: str, when: datetime,
                  reason: str, software_version: str, action: str | None = None,
                  id_factory: Callable[[], uuid.UUID] = uuid.uuid4,
                  organizations: Sequence = ()) -> tuple[bytes, str]:
    """A PREMIS 3.0 document of one review decision about `package_id`; returns (bytes, event id).

    The reviewer is an agent of type person (role: implementer; metadata.agents.
    person_premis_agent, the same agent every other record names for that person); the program
    that recorded the decision is a software agent (role: executing program); `organizations`
    (premis Agents, e.g. the holding partner) are implementers too. Raises ValueError for an
    unknown decision or an empty reviewer name or comment: a decision nobody owns is no evidence.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown review decision {decision!r}; use one of {', '.join(DECISIONS)}")
    if not reviewer.strip() or not comment.strip():
        raise ValueError("a review decision needs the reviewer's name and a comment")
    event_id = str(id_factory())
    person = person_id(reviewer)
    detail = nfc(comment.strip())
    outcome_note = nfc(reason + (f"; {action}" if action else ""))
    obj = P.object(P.objectIdentifier(P.objectIdentifierType("local"),
                                      P.objectIdentifierValue(package_id)))
    obj.set(f"{{{XSI}}}type", "premis:intellectualEntity")
    event = P.event(
        P.eventIdentifier(P.eventIdentifierType("UUID"), P.eventIdentifierValue(event_id)),
        P.eventType(REVIEW_EVENT),
        P.eventDateTime(iso_utc(when)),
        P.eventDetailInformation(P.eventDetail(detail)),
        P.eventOutcomeInformation(P.eventOutcome(decision),
                                  P.eventOutcomeDetail(P.eventOutcomeDetailNote(outcome_note))),
        P.linkingAgentIdentifier(P.linkingAgentIdentifierType("local"),
                                 P.linkingAgentIdentifierValue(person),
                                 P.linkingAgentRole("implementer")),
        P.linkingAgentIdentifier(P.linkingAgentIdentifierType("local"),
                                 P.linkingAgentIdentifierValue(REVIEW_SOFTWARE_ID),
                                 P.linkingAgentRole("executing program")),
        *[P.linkingAgentIdentifier(P.linkingAgentIdentifierType(org.id_type),
                                   P.linkingAgentIdentifierValue(org.id_value),
                                   P.linkingAgentRole("implementer")) for org in organizations],
        P.linkingObjectIdentifier(P.linkingObjectIdentifierType("local"),
                                  P.linkingObjectIdentifierValue(package_id)),
    )
    agents = [agent_element(a) for a in (
        person_premis_agent(reviewer, note="reviewer"),
        Agent(REVIEW_SOFTWARE_ID, "cadl review (cadl.review)", "software",
              version=software_version), *organizations)]
    root = P.premis(obj, event, *agents, version="3.0")
    root.set(f"{{{XSI}}}schemaLocation", schema_location(PREMIS))
    etree.cleanup_namespaces(root, keep_ns_prefixes=["premis"])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                          pretty_print=True), event_id


def read_event_record(data: bytes) -> list[dict]:
    """The events of a standalone PREMIS document, each with its agents resolved.

    Returns [{"id", "type", "date", "detail", "outcome", "outcome_detail", "object",
    "agents": [{"id", "name", "type", "role", "version"}]}], in document order. Raises
    ValueError for a document that is not PREMIS.
    """
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    if root.tag != f"{{{PREMIS}}}premis":
        raise ValueError(f"not a PREMIS document (root element {root.tag})")

    def text(element, path: str) -> str | None:
        found = element.find(path, NS)
        return found.text if found is not None else None

    agents = {}
    for agent in root.findall("premis:agent", NS):
        agents[text(agent, "premis:agentIdentifier/premis:agentIdentifierValue")] = {
            "name": text(agent, "premis:agentName"), "type": text(agent, "premis:agentType"),
            "version": text(agent, "premis:agentVersion")}
    events = []
    for event in root.findall("premis:event", NS):
        linked = []
        for link in event.findall("premis:linkingAgentIdentifier", NS):
            agent_id = text(link, "premis:linkingAgentIdentifierValue")
            linked.append({"id": agent_id, "role": text(link, "premis:linkingAgentRole"),
                           **agents.get(agent_id, {"name": None, "type": None,
                                                   "version": None})})
        events.append({
            "id": text(event, "premis:eventIdentifier/premis:eventIdentifierValue"),
            "type": text(event, "premis:eventType"),
            "date": text(event, "premis:eventDateTime"),
            "detail": text(event, "premis:eventDetailInformation/premis:eventDetail"),
            "outcome": text(event, "premis:eventOutcomeInformation/premis:eventOutcome"),
            "outcome_detail": text(event, "premis:eventOutcomeInformation/"
                                   "premis:eventOutcomeDetail/premis:eventOutcomeDetailNote"),
            "object": text(event, "premis:linkingObjectIdentifier/"
                           "premis:linkingObjectIdentifierValue"),
            "agents": linked,
        })
    return events


def merge_event_records(records: Sequence[bytes]) -> bytes:
    """One PREMIS 3.0 document holding every object, event and agent of `records` (standalone
    event records of one item: bagging, deposit, replica, rights, audit, review), in order.

    Objects (the package versions) and events appear once each, by identifier. An agent id
    that two records use for different agents (the same program at another version, a renamed
    library) is kept apart as `<id>~2`, `<id>~3`, and that record's event links follow, so no
    event is attributed to the wrong version of a program. Raises ValueError for a record that
    is not PREMIS.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    objects, events, agents = {}, {}, {}
    forms: dict[str, list[bytes]] = {}
    for data in records:
        root = etree.fromstring(data, parser=parser)
        if root.tag != f"{{{PREMIS}}}premis":
            raise ValueError(f"not a PREMIS document (root element {root.tag})")
        renamed = {}
        for agent in root.findall("premis:agent", NS):
            value = agent.find("premis:agentIdentifier/premis:agentIdentifierValue", NS)
            form = etree.tostring(agent, method="c14n")
            known = forms.setdefault(value.text, [])
            if form not in known:
                known.append(form)
            n = known.index(form)
            if n:
                renamed[value.text] = f"{value.text}~{n + 1}"
                value.text = renamed[value.text]
            agents.setdefault(value.text, agent)
        for obj in root.findall("premis:object", NS):
            objects.setdefault(obj.findtext("premis:objectIdentifier/"
                                            "premis:objectIdentifierValue", namespaces=NS), obj)
        for event in root.findall("premis:event", NS):
            for link in event.findall("premis:linkingAgentIdentifier/"
                                      "premis:linkingAgentIdentifierValue", NS):
                link.text = renamed.get(link.text, link.text)
            events.setdefault(event.findtext("premis:eventIdentifier/premis:eventIdentifierValue",
                                             namespaces=NS), event)
    if not objects:
        raise ValueError("no event record to merge")
    merged = P.premis(*objects.values(), *events.values(), *agents.values(), version="3.0")
    merged.set(f"{{{XSI}}}schemaLocation", schema_location(PREMIS))
    etree.cleanup_namespaces(merged, keep_ns_prefixes=["premis"])
    return etree.tostring(merged, xml_declaration=True, encoding="UTF-8", pretty_print=True)
