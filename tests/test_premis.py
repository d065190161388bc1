"""PREMIS objects, events and agents: schema validity, fixity, links, failures, Unicode names."""

import datetime as dt
import hashlib
import itertools
import unicodedata
import uuid

import pytest
from lxml import etree

from kernel.namespaces import PREMIS, XSI
from metadata.premis import Agent, Event, Object, build_premis
from metadata.validate import validate

NS = {"premis": PREMIS}
WHEN = dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # Beijing

ARABIC_NAME = "صفحة آمال ١.tif"  # alef with madda: NFD splits it into alef + combining madda
CHINESE_NAME = "第一页 封面（Révolution）.tif"  # the é decomposes in NFD


def _sha(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def _ids():
    counter = itertools.count(1)
    return lambda: uuid.UUID(int=next(counter))


def _objects(names=(ARABIC_NAME, CHINESE_NAME)) -> list[Object]:
    return [Object(f"master-p{i:04d}", name, 1000 * i, "TIFF", _sha(name), format_version="6.0",
                   puid="fmt/353")
            for i, name in enumerate(names, 1)]


def _agents() -> list[Agent]:
    return [
        Agent("tesseract-5.3.4", "tesseract", "software", version="5.3.4"),
        Agent("cadl-pipeline", "cadl-pipeline", "software", version="0.1.0"),
        Agent("nlc", "National Library of China", "organization", note="中国国家图书馆"),
    ]


def _events(ids) -> list[Event]:
    return [
        Event.create("ingestion", WHEN, "success", "batch received from the landing zone",
                     ["cadl-pipeline", "nlc"], ["master-p0001", "master-p0002"], id_factory=ids),
        Event.create("message digest calculation", WHEN, "success", "SHA-512",
                     ["cadl-pipeline"], ["master-p0001", "master-p0002"], id_factory=ids),
        Event.create("creation", WHEN, "success", "tesseract -l ara page.tif out alto",
                     ["tesseract-5.3.4"], ["master-p0001"], id_factory=ids),
        Event.create("validation", WHEN, "failure", "ALTO checked against alto-4.4.xsd",
                     ["cadl-pipeline"], ["master-p0002"],
                     outcome_detail="line 3: Element 'String': attribute 'CONTENT' is required",
                     id_factory=ids),
    ]


def _premis() -> etree._Element:
    return build_premis(_objects(), _events(_ids()), _agents())


def test_premis_record_is_valid_against_premis_3_xsd():
    premis = _premis()
    assert premis.tag == f"{{{PREMIS}}}premis"
    assert premis.get("version") == "3.0"
    assert validate(premis, "premis") == []


def test_objects_are_files_with_sha512_fixity_size_and_format():
    objects = _premis().findall("premis:object", NS)
    assert [o.get(f"{{{XSI}}}type") for o in objects] == ["premis:file", "premis:file"]
    first = objects[0]
    chars = first.find("premis:objectCharacteristics", NS)
    assert chars.findtext("premis:fixity/premis:messageDigestAlgorithm", namespaces=NS) == "SHA-512"
    assert chars.findtext("premis:fixity/premis:messageDigest", namespaces=NS) == _sha(ARABIC_NAME)
    assert chars.findtext("premis:size", namespaces=NS) == "1000"
    assert chars.findtext("premis:format/premis:formatDesignation/premis:formatName",
                          namespaces=NS) == "TIFF"
    assert chars.findtext("premis:format/premis:formatRegistry/premis:formatRegistryKey",
                          namespaces=NS) == "fmt/353"


def test_original_names_in_nfd_are_kept_and_written_in_nfc():
    nfd_names = [unicodedata.normalize("NFD", n) for n in (ARABIC_NAME, CHINESE_NAME)]
    assert nfd_names[0] != ARABIC_NAME and nfd_names[1] != CHINESE_NAME
    premis = build_premis(_objects(nfd_names), [], _agents())
    names = [o.findtext("premis:originalName", namespaces=NS)
             for o in premis.findall("premis:object", NS)]
    assert names == [ARABIC_NAME, CHINESE_NAME]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    assert validate(premis, "premis") == []


def test_event_ids_come_from_the_injected_factory():
    events = _premis().findall("premis:event", NS)
    assert [e.findtext("premis:eventIdentifier/premis:eventIdentifierValue", namespaces=NS)
            for e in events] == [str(uuid.UUID(int=i)) for i in range(1, 5)]
    assert {e.findtext("premis:eventIdentifier/premis:eventIdentifierType", namespaces=NS)
            for e in events} == {"UUID"}


def test_event_types_carry_the_loc_vocabulary_uri():
    event_types = _premis().findall("premis:event/premis:eventType", NS)
    assert [(t.text, t.get("valueURI").rsplit("/", 1)[1]) for t in event_types] == [
        ("ingestion", "ing"), ("message digest calculation", "mes"), ("creation", "cre"),
        ("validation", "val")]
    assert all(t.get("authorityURI") ==
               "http://id.loc.gov/vocabulary/preservation/eventType" for t in event_types)


def test_event_time_is_written_in_utc():
    assert _premis().findtext("premis:event/premis:eventDateTime", namespaces=NS) == \
        "2024-03-01T01:30:00Z"


def test_events_link_their_agents_with_roles_and_their_objects():
    ingestion = _premis().find("premis:event", NS)
    agents = [(a.findtext("premis:linkingAgentIdentifierValue", namespaces=NS),
               a.findtext("premis:linkingAgentRole", namespaces=NS))
              for a in ingestion.findall("premis:linkingAgentIdentifier", NS)]
    assert agents == [("cadl-pipeline", "executing program"), ("nlc", "implementer")]
    objects = [o.findtext("premis:linkingObjectIdentifierValue", namespaces=NS)
               for o in ingestion.findall("premis:linkingObjectIdentifier", NS)]
    assert objects == ["master-p0001", "master-p0002"]


def test_failed_event_records_outcome_and_its_detail():
    failed = _premis().findall("premis:event", NS)[3]
    outcome = failed.find("premis:eventOutcomeInformation", NS)
    assert outcome.findtext("premis:eventOutcome", namespaces=NS) == "failure"
    assert "CONTENT" in outcome.findtext(
        "premis:eventOutcomeDetail/premis:eventOutcomeDetailNote", namespaces=NS)


def test_agents_have_name_type_and_version():
    agents = _premis().findall("premis:agent", NS)
    tesseract = agents[0]
    assert tesseract.findtext("premis:agentName", namespaces=NS) == "tesseract"
    assert tesseract.findtext("premis:agentType", namespaces=NS) == "software"
    assert tesseract.findtext("premis:agentVersion", namespaces=NS) == "5.3.4"
    assert agents[2].findtext("premis:agentType", namespaces=NS) == "organization"
    assert agents[2].findtext("premis:agentNote", namespaces=NS) == "中国国家图书馆"


def test_event_linking_an_unknown_agent_or_object_is_refused():
    ids = _ids()
    bad = [Event.create("validation", WHEN, "success", "x", ["ghost"], ["master-p0009"],
                        id_factory=ids)]
    with pytest.raises(ValueError, match="unknown agent ghost.*unknown object master-p0009"):
        build_premis(_objects(), bad, _agents())


def test_event_type_outside_the_loc_vocabulary_is_refused():
    with pytest.raises(ValueError, match="PREMIS event type"):
        Event.create("ocr", WHEN, "success", "x", [], [])


def test_unknown_outcome_and_agent_type_are_refused():
    with pytest.raises(ValueError, match="outcome"):
        Event.create("validation", WHEN, "ok", "x", [], [])
    with pytest.raises(ValueError, match="agent type"):
        Agent("x", "x", "program")


def test_naive_event_time_is_refused():
    event = Event.create("validation", dt.datetime(2024, 1, 1), "success", "x", [], [])
    with pytest.raises(ValueError, match="time zone"):
        build_premis(_objects(), [event], [])


def test_bad_digest_and_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match="SHA-512"):
        Object("o1", "a.tif", 1, "TIFF", "abc")
    with pytest.raises(ValueError, match="duplicate object"):
        build_premis(_objects() + _objects()[:1], [], [])
    with pytest.raises(ValueError, match="at least one object"):
        build_premis([], [], _agents())


def test_same_inputs_and_ids_give_identical_bytes():
    assert etree.tostring(_premis()) == etree.tostring(_premis())
