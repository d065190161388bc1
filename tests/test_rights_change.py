"""A rights decision after ingest is recorded: a PREMIS policy-assignment event beside the
preserved version, with the before and after and the override's note."""

import datetime as dt

from lxml import etree

import package_samples as samples
from ingest.models import Rights
from kernel.settings import Settings
from metadata.validate import validate
from preservation.backends import open_storage
from publication.rights import write_record

NS = {"premis": "http://www.loc.gov/premis/v3"}
DEPOSIT = {"version": 1, "prefix": "items/ar-amal-001/v0001/"}
T1 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.timezone.utc)
T2 = dt.datetime(2026, 5, 2, 10, tzinfo=dt.timezone.utc)


def _events(root):
    return sorted((root / "items/ar-amal-001/v0001/events").glob("*-rights-*.xml"))


def test_a_withdrawal_writes_a_valid_policy_assignment_event_with_the_note(tmp_path):
    preservation = open_storage(tmp_path.as_uri(), Settings())
    item = samples.arabic_item().model_copy(update={"rights": Rights.parse("open")})
    write_record(preservation, item, "b1", DEPOSIT, "f1", ["ar"], T1)
    assert _events(tmp_path) == []  # the first decision is the METS's own rights statement
    write_record(preservation, item, "b1", DEPOSIT, "f1", ["ar"], T1)  # unchanged: nothing
    withdrawn = item.model_copy(update={"rights": Rights.parse("restricted")})
    write_record(preservation, withdrawn, "b1", DEPOSIT, "f1", [], T2,
                 note="withdrawn at the donor's request")
    (event_file,) = _events(tmp_path)
    body = event_file.read_bytes()
    assert validate(body, "premis") == []
    root = etree.fromstring(body)
    assert root.findtext(".//premis:eventType", namespaces=NS) == "policy assignment"
    detail = root.findtext(".//premis:eventDetail", namespaces=NS)
    assert "open → restricted" in detail and "shown on ar → none" in detail
    assert "donor's request" in root.findtext(".//premis:eventOutcomeDetailNote",
                                              namespaces=NS)
    assert [a.findtext("premis:agentType", namespaces=NS)
            for a in root.findall("premis:agent", NS)] == ["organization", "software"]
