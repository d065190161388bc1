"""PREMIS that records provenance: UUID objects unique across packages, each derivative linked to
the master it was made from, a rights statement about an object that exists."""

import uuid

from lxml import etree

import package_samples as samples

NS = {"mets": "http://www.loc.gov/METS/", "premis": "http://www.loc.gov/premis/v3"}


def _premis(item):
    """The METS root and the item's whole PREMIS record (file objects gathered back)."""
    from metadata.reader import _premis as whole_record

    root = etree.fromstring(samples.mets(item))
    return root, whole_record(root)


def _ids(obj, kind):
    return [i.findtext("premis:objectIdentifierValue", namespaces=NS)
            for i in obj.findall("premis:objectIdentifier", NS)
            if i.findtext("premis:objectIdentifierType", namespaces=NS) == kind]


def test_every_file_object_has_a_uuid_and_its_mets_file_id():
    root, premis = _premis(samples.traditional_item())
    files = premis.findall("premis:object[@{http://www.w3.org/2001/XMLSchema-instance}type="
                           "'premis:file']", NS)
    mets_ids = {f.get("ID") for f in root.iterfind(".//mets:file", NS)}
    assert {_ids(o, "local")[0] for o in files} == mets_ids
    for obj in files:
        (value,) = _ids(obj, "UUID")
        assert str(uuid.UUID(value)) == value


def test_uuids_are_unique_across_packages():
    seen = []
    for make in (samples.arabic_item, samples.traditional_item, samples.simplified_item):
        seen += [v.text for v in _premis(make())[1].iterfind(
            ".//premis:objectIdentifier[premis:objectIdentifierType='UUID']/"
            "premis:objectIdentifierValue", NS)]
    assert len(seen) == len(set(seen)) > 6


def test_each_derivative_names_its_pages_master_and_the_pdf_every_master():
    _, premis = _premis(samples.traditional_item())
    by_local = {_ids(o, "local")[0]: o for o in premis.findall("premis:object", NS)
                if _ids(o, "UUID")}
    uuid_of = {local: _ids(o, "UUID")[0] for local, o in by_local.items()}

    def sources(local):
        return [r.findtext("premis:relatedObjectIdentifier/premis:relatedObjectIdentifierValue",
                           namespaces=NS)
                for r in by_local[local].findall("premis:relationship", NS)
                if r.findtext("premis:relationshipType", namespaces=NS) == "derivation"]

    assert sources("alto-p0002") == [uuid_of["masters-p0002"]]
    assert sources("thumbnails-p0003") == [uuid_of["masters-p0003"]]
    assert sorted(sources("pdf")) == sorted(uuid_of[f"masters-p000{n}"] for n in (1, 2, 3))
    assert sources("masters-p0001") == []


def test_the_rights_statement_links_to_an_object_in_the_record():
    root, premis = _premis(samples.arabic_item())
    linked = root.findtext(".//mets:rightsMD//premis:linkingObjectIdentifier/"
                           "premis:linkingObjectIdentifierValue", namespaces=NS)
    values = {v.text for v in premis.iterfind(".//premis:objectIdentifierValue", NS)}
    assert linked == "ar-amal-001" and linked in values


def test_each_files_admid_leads_to_its_own_premis_object_and_a_masters_mix():
    root = etree.fromstring(samples.mets(samples.traditional_item()))
    for file in root.iterfind(".//mets:file", NS):
        (amd,) = root.xpath(f"mets:amdSec[@ID='{file.get('ADMID')}']", namespaces=NS)
        obj = amd.find("mets:techMD/mets:mdWrap[@MDTYPE='PREMIS:OBJECT']/mets:xmlData/"
                       "premis:object", NS)
        assert _ids(obj, "local") == [file.get("ID")]
        mix = amd.find("mets:techMD/mets:mdWrap[@MDTYPE='NISOIMG']", NS)
        assert (mix is not None) == file.get("ID").startswith("masters-")
    digiprov = root.find(".//mets:digiprovMD//premis:premis", NS)
    assert [o.get("{http://www.w3.org/2001/XMLSchema-instance}type")
            for o in digiprov.findall("premis:object", NS)] == ["premis:intellectualEntity"]
