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


def _deposited(tmp_path):
    """Preservation storage holding a complete version 1 of ar-amal-001 (events are written
    only beside a complete version)."""
    from preservation.bag import build_bag
    from preservation.deposit import deposit_bag

    src = tmp_path / "src.txt"
    src.write_text("الأمل", "utf-8")
    bag = build_bag(tmp_path / "bag" / "ar-amal-001", [(src, "ocr/p0001.txt")], {},
                    profile="http://127.0.0.1:8800/profiles/bagit-item-package-1.0.json")
    preservation = open_storage((tmp_path / "store").as_uri(), Settings())
    deposit_bag(bag, preservation, "ar-amal-001", "f1", T1)
    return preservation, tmp_path / "store"


def test_a_withdrawal_writes_a_valid_policy_assignment_event_with_the_note(tmp_path):
    preservation, tmp_path = _deposited(tmp_path)
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
    # the partner that holds the item and the library; the code that recorded it
    assert [a.findtext("premis:agentType", namespaces=NS)
            for a in root.findall("premis:agent", NS)] == ["organization", "organization",
                                                           "software"]
