"""PREMIS 3.0 preservation metadata: the files of an item, what was done to them, and by whom.

Every preservation action, pass or fail, becomes an Event linked to the Agent (program and version,
or institution) that did it and to the Objects it concerned, as Archivematica records them. Event
and agent types come from the Library of Congress vocabularies
(https://id.loc.gov/vocabulary/preservation/eventType, .../agentType), so other repositories read
our records without a crosswalk. Event identifiers are UUIDs from an injected factory, so tests
and golden files can fix them.

Over 400 lines on purpose: about 80 of them are the Library of Congress vocabularies (event and
agent types, agent roles) the builders check against, and objects, events, agents, rights and the
standalone event records are one schema's parts that share the same element builders.
"""

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from lxml.builder import ElementMaker

from kernel.namespaces import NSMAP, PREMIS, XSI, schema_location
from metadata.text import iso_utc, nfc

P = ElementMaker(namespace=PREMIS, nsmap=NSMAP)

PREMIS_VERSION = "3.0"
LOC_PRESERVATION = "http://id.loc.gov/vocabulary/preservation"

# https://id.loc.gov/vocabulary/preservation/eventType: label → code (the last segment of the URI).
EVENT_TYPES: dict[str, str] = {
    "accession": "acc",
    "appraisal": "app",
    "capture": "cap",
    "compiling": "cop",
    "compression": "com",
    "creation": "cre",
    "deaccession": "dea",
    "decompression": "dec",
    "decryption": "der",
    "deletion": "del",
    "digital signature generation": "dsg",
    "digital signature validation": "dig",
    "displaying": "dsp",
    "dissemination": "dis",
    "encryption": "enc",
    "execution": "exe",
    "exporting": "exp",
    "extraction": "ext",
    "filename change": "fil",
    "fixity check": "fix",
    "forensic feature analysis": "ffa",
    "format identification": "for",
    "imaging": "ima",
    "information package creation": "ipc",
    "information package merging": "ipm",
    "information package splitting": "ips",
    "ingestion": "ing",
    "ingestion end": "ine",
    "ingestion start": "ins",
    "interpreting": "int",
    "message digest calculation": "mes",
    "metadata extraction": "mee",
    "metadata modification": "mem",
    "migration": "mig",
    "modification": "mod",
    "normalization": "nor",
    "packing": "pac",
    "policy assignment": "poa",
    "printing": "prt",
    "quarantine": "qua",
    "recovery": "rec",
    "redaction": "red",
    "refreshment": "ref",
    "rendering": "ren",
    "replication": "rep",
    "transfer": "tra",
    "unpacking": "unp",
    "unquarantine": "unq",
    "validation": "val",
    "virus check": "vir",
}

# https://id.loc.gov/vocabulary/preservation/agentType
AGENT_TYPES: dict[str, str] = {
    "hardware": "har",
    "organization": "org",
    "person": "per",
    "software": "sof",
}

# Role of an agent in an event (https://id.loc.gov/vocabulary/preservation/eventRelatedAgentRole),
# derived from what the agent is: a program executes, an institution or person implements.
AGENT_ROLES: dict[str, str] = {
    "hardware": "executing program",
    "software": "executing program",
    "organization": "implementer",
    "person": "implementer",
}

OUTCOMES = ("success", "failure", "warning")

_SHA512 = re.compile(r"^[0-9a-f]{128}$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")


def _check(value: str, allowed: Iterable[str], what: str) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; use one of: {', '.join(allowed)}")


@dataclass(frozen=True)
class Agent:
    """A program (with its version) or an institution that acts on the item's files."""

    id_value: str
    name: str
    type: str  # a key of AGENT_TYPES: "software", "organization", "person", "hardware"
    version: str | None = None  # agentVersion: for software, the exact version that ran
    note: str | None = None
    id_type: str = "local"

    def __post_init__(self):
        _check(self.type, AGENT_TYPES, "agent type")


@dataclass(frozen=True)
class Event:
    """One preservation action, pass or fail, linked to its agents and objects by identifier."""

    event_type: str  # a label of EVENT_TYPES, e.g. "validation", "creation" (OCR output)
    date_time: datetime  # timezone-aware
    outcome: str  # "success" | "failure" | "warning"
    detail: str  # what was done, e.g. the command line or the check performed
    agent_ids: Sequence[str]  # Agent.id_value of each agent involved
    object_ids: Sequence[str]  # Object.id_value of each object concerned
    outcome_detail: str | None = None  # why it failed, what was found
    id_value: str = field(kw_only=True)  # a UUID; use Event.create to draw it from a factory
    id_type: str = field(default="UUID", kw_only=True)

    def __post_init__(self):
        _check(self.event_type, EVENT_TYPES, "PREMIS event type")
        _check(self.outcome, OUTCOMES, "event outcome")
        object.__setattr__(self, "agent_ids", tuple(self.agent_ids))
        object.__setattr__(self, "object_ids", tuple(self.object_ids))

    @classmethod
    def create(
        cls,
        event_type: str,
        date_time: datetime,
        outcome: str,
        detail: str,
        agent_ids: Sequence[str],
        object_ids: Sequence[str],
        outcome_detail: str | None = None,
        *,
        id_factory: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> "Event":
        """An Event whose identifier is drawn from `id_factory` (uuid4 unless one is injected)."""
        return cls(event_type, date_time, outcome, detail, agent_ids, object_ids, outcome_detail,
                   id_value=str(id_factory()))


@dataclass(frozen=True)
class Object:
    """One file of the item, as received or as derived, with its fixity."""

    id_value: str
    original_name: str  # the scan's own (Unicode) file name; storage keys elsewhere are ASCII
    size: int
    format_name: str  # e.g. "TIFF", "JPEG", "ALTO XML", "PDF"
    sha512: str  # lowercase hex
    format_version: str | None = None
    puid: str | None = None  # PRONOM format identifier, e.g. "fmt/353"
    md5: str | None = None  # a second fixity, lowercase hex, for tools that only speak MD5
    id_type: str = "local"
    local_id: str | None = None  # a second, local identifier: the METS file ID
    derived_from: Sequence[str] = ()  # id_value of each object this file was made from

    def __post_init__(self):
        object.__setattr__(self, "derived_from", tuple(self.derived_from))
        if not _SHA512.match(self.sha512):
            raise ValueError(f"object {self.id_value}: {self.sha512!r} is not a hex SHA-512 digest")
        if self.md5 is not None and not _MD5.match(self.md5):
            raise ValueError(f"object {self.id_value}: {self.md5!r} is not a hex MD5 digest")
        if self.size < 0:
            raise ValueError(f"object {self.id_value}: negative size {self.size}")


def _vocab(element: etree._Element, vocabulary: str, code: str) -> etree._Element:
    element.set("authority", vocabulary)
    element.set("authorityURI", f"{LOC_PRESERVATION}/{vocabulary}")
    element.set("valueURI", f"{LOC_PRESERVATION}/{vocabulary}/{code}")
    return element


def _object(obj: Object, by_id: dict[str, "Object"]) -> etree._Element:
    designation = P.formatDesignation(P.formatName(obj.format_name))
    if obj.format_version:
        designation.append(P.formatVersion(obj.format_version))
    fmt = P.format(designation)
    if obj.puid:
        fmt.append(P.formatRegistry(P.formatRegistryName("PRONOM"),
                                    P.formatRegistryKey(obj.puid),
                                    P.formatRegistryRole("specification")))
    identifiers = [P.objectIdentifier(P.objectIdentifierType(obj.id_type),
                                      P.objectIdentifierValue(obj.id_value))]
    if obj.local_id:
        identifiers.append(P.objectIdentifier(P.objectIdentifierType("local"),
                                              P.objectIdentifierValue(obj.local_id)))
    element = P.object(
        *identifiers,
        P.objectCharacteristics(
            P.compositionLevel("0"),
            P.fixity(
                _vocab(P.messageDigestAlgorithm("SHA-512"), "cryptographicHashFunctions",
                       "sha512"),
                P.messageDigest(obj.sha512),
            ),
            *([P.fixity(
                _vocab(P.messageDigestAlgorithm("MD5"), "cryptographicHashFunctions", "md5"),
                P.messageDigest(obj.md5),
            )] if obj.md5 else []),
            P.size(str(obj.size)),
            fmt,
        ),
        P.originalName(nfc(obj.original_name)),
        # A derivative (ALTO, hOCR, text, PDF, thumbnail) names the master(s) it was made from.
        *[P.relationship(P.relationshipType("derivation"), P.relationshipSubType("has source"),
                         P.relatedObjectIdentifier(
                             P.relatedObjectIdentifierType(by_id[source].id_type),
                             P.relatedObjectIdentifierValue(source)))
          for source in obj.derived_from],
    )
    element.set(f"{{{XSI}}}type", "premis:file")
    return element


def _entity(entity_id: str) -> etree._Element:
    """The item as a PREMIS intellectual entity: what the rights statement is about."""
    element = P.object(P.objectIdentifier(P.objectIdentifierType("local"),
                                          P.objectIdentifierValue(entity_id)))
    element.set(f"{{{XSI}}}type", "premis:intellectualEntity")
    return element


def _event(event: Event, agents: dict[str, Agent], objects: dict[str, Object]) -> etree._Element:
    outcome = P.eventOutcomeInformation(P.eventOutcome(event.outcome))
    if event.outcome_detail:
        outcome.append(P.eventOutcomeDetail(P.eventOutcomeDetailNote(nfc(event.outcome_detail))))
    return P.event(
        P.eventIdentifier(P.eventIdentifierType(event.id_type),
                          P.eventIdentifierValue(event.id_value)),
        _vocab(P.eventType(event.event_type), "eventType", EVENT_TYPES[event.event_type]),
        P.eventDateTime(iso_utc(event.date_time)),
        P.eventDetailInformation(P.eventDetail(nfc(event.detail))),
        outcome,
        *[
            P.linkingAgentIdentifier(
                P.linkingAgentIdentifierType(agents[agent_id].id_type),
                P.linkingAgentIdentifierValue(agent_id),
                P.linkingAgentRole(AGENT_ROLES[agents[agent_id].type]),
            )
            for agent_id in event.agent_ids
        ],
        *[
            P.linkingObjectIdentifier(
                P.linkingObjectIdentifierType(objects[object_id].id_type),
                P.linkingObjectIdentifierValue(object_id),
            )
            for object_id in event.object_ids
        ],
    )


def _agent(agent: Agent) -> etree._Element:
    element = P.agent(
        P.agentIdentifier(P.agentIdentifierType(agent.id_type),
                          P.agentIdentifierValue(agent.id_value)),
        P.agentName(nfc(agent.name)),
        _vocab(P.agentType(agent.type), "agentType", AGENT_TYPES[agent.type]),
    )
    if agent.version:
        element.append(P.agentVersion(agent.version))
    if agent.note:
        element.append(P.agentNote(nfc(agent.note)))
    return element


agent_element = _agent  # for records built outside this module (metadata.events)


def _unique(ids: list[str], what: str) -> None:
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate {what} identifiers: {', '.join(duplicates)}")


def build_premis(
    objects: Sequence[Object], events: Sequence[Event], agents: Sequence[Agent],
    entity_id: str | None = None,
) -> etree._Element:
    """A `premis:premis` (version 3.0) record: objects, then events, then agents, in given order.

    `entity_id` adds the item itself as an intellectual entity (first), so a rights statement
    linking to the item links to an object that exists in the record. A derivative's
    `derived_from` must name objects given here.

    Raises ValueError when there is no object (PREMIS requires one), when identifiers repeat, or
    when an event links to an agent or object not given here: a dangling link would pass the
    schema but make the record useless as evidence.
    """
    if not objects:
        raise ValueError("a PREMIS record needs at least one object")
    _unique([o.id_value for o in objects], "object")
    _unique([e.id_value for e in events], "event")
    _unique([a.id_value for a in agents], "agent")
    by_agent = {a.id_value: a for a in agents}
    by_object = {o.id_value: o for o in objects}
    dangling = [
        f"event {e.id_value} ({e.event_type}) links to unknown {kind} {ref}"
        for e in events
        for kind, refs, known in (("agent", e.agent_ids, by_agent),
                                  ("object", e.object_ids, by_object))
        for ref in refs
        if ref not in known
    ]
    dangling += [f"object {o.id_value} is derived from unknown object {source}"
                 for o in objects for source in o.derived_from if source not in by_object]
    if dangling:
        raise ValueError("; ".join(dangling))
    root = P.premis(
        *([_entity(entity_id)] if entity_id else []),
        *[_object(o, by_object) for o in objects],
        *[_event(e, by_agent, by_object) for e in events],
        *[_agent(a) for a in agents],
        version=PREMIS_VERSION,
    )
    root.set(f"{{{XSI}}}schemaLocation", schema_location(PREMIS))
    etree.cleanup_namespaces(root, keep_ns_prefixes=["premis"])
    return root


# --- rights ------------------------------------------------------------------------------------

RIGHTS_BASIS = "Other"
OTHER_RIGHTS_BASIS = "Policy"  # the partners' access policy, as set in the manifest
PORTAL_NOTE = "portal:"


def build_rights(statement_id: str, rights: str, portals: Sequence[str], since: str,
                 object_ids: Sequence[str] = ()) -> etree._Element:
    """A `premis:rightsStatement` for the item's access policy (the manifest's `rights` and
    `portals`): act "disseminate", restriction "Allow" (open), "Disallow" (restricted), or
    "Disallow" until the embargo's end date (termOfRestriction). Each portal the item may be
    shown on is one rightsGrantedNote "portal:<code>". `since` (an ISO date) starts the term.

    Raises ValueError for a rights value that is not "open", "restricted" or "embargo:YYYY-MM-DD".
    """
    if rights == "open":
        restriction, until = "Allow", None
    elif rights == "restricted":
        restriction, until = "Disallow", None
    elif rights.startswith("embargo:") and re.fullmatch(r"\d{4}-\d{2}-\d{2}", rights[8:]):
        restriction, until = "Disallow", rights[8:]
    else:
        raise ValueError(f"rights {rights!r}: use open, restricted or embargo:YYYY-MM-DD")
    granted = P.rightsGranted(P.act("disseminate"), P.restriction(restriction))
    if until:
        granted.append(P.termOfRestriction(P.startDate(since), P.endDate(until)))
    else:
        granted.append(P.termOfGrant(P.startDate(since)))
    granted.extend(P.rightsGrantedNote(f"{PORTAL_NOTE}{portal}") for portal in portals)
    return P.rightsStatement(
        P.rightsStatementIdentifier(P.rightsStatementIdentifierType("local"),
                                    P.rightsStatementIdentifierValue(statement_id)),
        P.rightsBasis(RIGHTS_BASIS),
        P.otherRightsInformation(P.otherRightsBasis(OTHER_RIGHTS_BASIS),
                                 P.otherRightsNote(f"manifest rights: {rights}")),
        granted,
        *[P.linkingObjectIdentifier(P.linkingObjectIdentifierType("local"),
                                    P.linkingObjectIdentifierValue(object_id))
          for object_id in object_ids],
    )


# --- events after the METS ---------------------------------------------------------------------

def package_event_record(package_id: str, events: Sequence[Event], agents: Sequence[Agent]
                         ) -> bytes:
    """A standalone PREMIS 3.0 document recording `events` about one package, as UTF-8 bytes.

    For actions that happen after the package's METS was written and so cannot be in it:
    bagging and bag validation (written into the bag as the tag file `premis-events.xml`), and
    deposit, replication and fixity checks (written beside the bag in preservation storage; see
    docs/package-format.md). The package is the record's one object, an intellectual entity
    identified by `package_id` (e.g. "items/<item_id>/v0001"); every event must link to it (or to
    nothing) and to agents given here. Raises ValueError for dangling links or no events.
    """
    if not events:
        raise ValueError("a package event record needs at least one event")
    package = P.object(P.objectIdentifier(P.objectIdentifierType("local"),
                                          P.objectIdentifierValue(package_id)))
    package.set(f"{{{XSI}}}type", "premis:intellectualEntity")
    by_agent = {a.id_value: a for a in agents}
    _unique([e.id_value for e in events], "event")
    _unique(list(by_agent), "agent")
    entity = Object(package_id, package_id, 0, "BagIt", "0" * 128)  # only used to resolve links
    dangling = [f"event {e.id_value} links to unknown agent {a}" for e in events
                for a in e.agent_ids if a not in by_agent]
    dangling += [f"event {e.id_value} links to object {o}, not the package {package_id}"
                 for e in events for o in e.object_ids if o != package_id]
    if dangling:
        raise ValueError("; ".join(dangling))
    root = P.premis(package, *[_event(e, by_agent, {package_id: entity}) for e in events],
                    *[_agent(a) for a in agents], version=PREMIS_VERSION)
    root.set(f"{{{XSI}}}schemaLocation", schema_location(PREMIS))
    etree.cleanup_namespaces(root, keep_ns_prefixes=["premis"])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


BAGGING_EVENTS_FILE = "premis-events.xml"  # the bag's tag file of events after the METS
_BAGGING_NAMESPACE = uuid.UUID("5b0f7a3c-2f4e-4d52-8c9e-1d6a0c3b7e21")


def bagging_record(package_id: str, when: datetime, software_version: str,
                   profile: str = "our BagIt profile (config/bagit-profile.json)") -> bytes:
    """The PREMIS record of the bagging of `package_id`, for the bag's `premis-events.xml`.

    It is written just before the bag is assembled and goes into it, so it can only say that
    the package was created ("information package creation"); a bag whose build or validation
    fails is discarded with its record, and validation, deposit and fixity are recorded beside
    the bag by the storage side (package_event_record). The event id is derived from the
    package and time, so the same bagging gives the same bytes. `profile` is the BagIt profile
    identifier the bag names (preservation.bag.profile_id).
    """
    agent = Agent("cadl", "cadl pipeline", "software", version=software_version)
    event = Event("information package creation", when, "success",
                  "BagIt 1.0 bag built with sha512 and sha256 manifests and tag manifests, "
                  f"following the BagIt profile {profile}",
                  ["cadl"], [package_id],
                  id_value=str(uuid.uuid5(_BAGGING_NAMESPACE, f"{package_id}/{iso_utc(when)}")))
    return package_event_record(package_id, [event], [agent])
