"""The offline validator: it finds errors (with line numbers), needs no network, no environment
variable and no ../shared folder, and checks records embedded in METS against their own schemas."""

import datetime as dt
import filecmp
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest
from lxml import etree
from lxml.builder import ElementMaker

from kernel.errors import MetadataInvalid
from ingest.models import Item, Page
from metadata import validate as validator
from metadata.agents import software_agent
from metadata.mets import FileEntry, build_mets
from kernel.namespaces import METS, MIX, MODS
from metadata.premis import Agent, Event, Object, build_premis
from metadata.validate import (SCHEMA_DIR, SCHEMA_FILES, assert_valid, assert_valid_mets,
                               validate, validate_mets)

ROOT = Path(__file__).resolve().parents[1]
SHARED_SCHEMAS = ROOT.parent / "shared" / "schemas"

BAD_MODS = b"""<?xml version="1.0" encoding="UTF-8"?>
<mods xmlns="http://www.loc.gov/mods/v3" version="3.8">
  <titleInfo><title>\xd8\xa7\xd9\x84\xd9\x85\xd9\x82\xd8\xaa\xd8\xa8\xd8\xb3</title></titleInfo>
  <physicalDescription><digitalOrigin>scanned</digitalOrigin></physicalDescription>
  <originInfo><dateIssued encoding="hijri">1324</dateIssued></originInfo>
  <bogusElement>not MODS</bogusElement>
</mods>
"""

ALTO = """<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">
  <Description><MeasurementUnit>pixel</MeasurementUnit></Description>
  <Layout><Page ID="p1" PHYSICAL_IMG_NR="1" HEIGHT="3508" WIDTH="2480"><PrintSpace>
    <TextBlock ID="b1"><TextLine ID="l1">
      <String CONTENT="المقتبس" HPOS="10" VPOS="10" WIDTH="200" HEIGHT="40"/>
    </TextLine></TextBlock>
  </PrintSpace></Page></Layout>
</alto>
""".encode()

MIX_OK = (f'<mix:mix xmlns:mix="{MIX}"><mix:BasicImageInformation>'
          "<mix:BasicImageCharacteristics><mix:imageWidth>2480</mix:imageWidth>"
          "<mix:imageHeight>3508</mix:imageHeight></mix:BasicImageCharacteristics>"
          "</mix:BasicImageInformation></mix:mix>")


def _mets_with(records: dict[str, str]) -> bytes:
    """A minimal METS wrapping each record in its own techMD (ID → record XML)."""
    tech = "".join(
        f'<mets:techMD ID="{id_}"><mets:mdWrap MDTYPE="NISOIMG"><mets:xmlData>\n{xml}\n'
        "</mets:xmlData></mets:mdWrap></mets:techMD>"
        for id_, xml in records.items()
    )
    return (f'<mets:mets xmlns:mets="{METS}">\n<mets:amdSec ID="AMD">{tech}</mets:amdSec>\n'
            '<mets:structMap><mets:div/></mets:structMap>\n</mets:mets>').encode()


@pytest.mark.parametrize("schema", sorted(SCHEMA_FILES))
def test_every_packaged_schema_compiles_offline(schema):
    assert isinstance(validator.load_schema(schema), etree.XMLSchema)


def test_invalid_mods_is_reported_with_line_numbers_every_error_not_only_the_first():
    errors = validate(BAD_MODS, "mods")
    assert len(errors) == 3
    assert errors[0].startswith("line 4: ") and "digitalOrigin" in errors[0]
    assert errors[1].startswith("line 5: ") and "encoding" in errors[1]
    assert errors[2].startswith("line 6: ") and "bogusElement" in errors[2]


def test_element_built_in_memory_is_reported_with_the_line_it_will_have_when_written():
    m = ElementMaker(namespace=MODS, nsmap={"mods": MODS})
    record = m.mods(m.titleInfo(m.title("呐喊")), m.wrongChild(), version="3.8")
    (error,) = validate(record, "mods")
    assert error.startswith("line 6: ") and "wrongChild" in error  # line 1 is the declaration


def test_a_file_path_is_validated(tmp_path):
    path = tmp_path / "mods.xml"
    path.write_bytes(BAD_MODS)
    assert len(validate(path, "mods")) == 3
    assert len(validate(str(path), "mods")) == 3


def test_a_document_that_is_not_well_formed_is_reported_not_raised():
    (error,) = validate(b"<mods xmlns='http://www.loc.gov/mods/v3'>\n<titleInfo>\n</mods>", "mods")
    assert error.startswith("line 3: ")


def test_valid_alto_and_mix_pass_and_a_bad_value_fails():
    assert validate(ALTO, "alto") == []
    assert validate(MIX_OK.encode(), "mix") == []
    bad = MIX_OK.replace("2480", "wide").encode()
    (error,) = validate(bad, "mix")
    assert "imageWidth" in error


def test_unknown_schema_name_is_a_value_error():
    with pytest.raises(ValueError, match="unknown schema 'marc'"):
        validate(BAD_MODS, "marc")


def test_assert_valid_raises_metadata_invalid_naming_the_document_and_listing_errors():
    with pytest.raises(MetadataInvalid) as caught:
        assert_valid(BAD_MODS, "mods", "item-7/mods.xml")
    message = str(caught.value)
    assert message.startswith("item-7/mods.xml is not valid MODS (3 errors)")
    assert "line 4" in message and "line 5" in message and "line 6" in message
    assert caught.value.errors == validate(BAD_MODS, "mods")
    assert caught.value.exit_code == 7 and not caught.value.retryable


def test_records_embedded_in_mets_are_checked_strictly_against_their_own_schema():
    good = _mets_with({"TECH_1": MIX_OK})
    assert validate_mets(good) == []
    bad = _mets_with({"TECH_1": MIX_OK, "TECH_2": MIX_OK.replace("3508", "-1")})
    (error,) = validate_mets(bad)
    assert error.startswith("embedded MIX in TECH_2: line 5: ")
    assert "imageHeight" in error


def test_bad_mods_inside_mets_is_reported_once_with_its_section():
    mods = BAD_MODS.split(b"?>", 1)[1].decode()
    data = (f'<mets:mets xmlns:mets="{METS}">\n<mets:dmdSec ID="DMD_1"><mets:mdWrap MDTYPE="MODS">'
            f"<mets:xmlData>{mods}</mets:xmlData></mets:mdWrap></mets:dmdSec>\n"
            "<mets:structMap><mets:div/></mets:structMap>\n</mets:mets>").encode()
    errors = validate_mets(data)
    assert [e.split(": line")[0] for e in errors] == ["embedded MODS in DMD_1"] * 3
    with pytest.raises(MetadataInvalid, match="DMD_1"):
        assert_valid_mets(data, "mets.xml")


def test_mets_structure_errors_are_reported_alongside_embedded_ones():
    data = _mets_with({"TECH_1": MIX_OK.replace("2480", "wide")}).replace(
        b"<mets:structMap><mets:div/></mets:structMap>", b"")
    errors = validate_mets(data)
    assert any("structMap" in e and not e.startswith("embedded") for e in errors)
    assert any(e.startswith("embedded MIX in TECH_1") for e in errors)


def test_an_import_the_catalog_does_not_map_is_not_fetched_from_the_network(tmp_path):
    """A schema served on localhost would compile if fetched; no_network must stop the fetch."""
    (tmp_path / "other.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:other">'
        '<xs:simpleType name="thing"><xs:restriction base="xs:string"/></xs:simpleType>'
        "</xs:schema>")
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            requests.append(args)

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/other.xsd"
        try:  # can this libxml2 fetch over HTTP at all? (2.13+ is built without it)
            etree.parse(url, etree.XMLParser(no_network=False))
        except OSError:
            pass
        if not requests:
            pytest.skip(f"libxml2 {etree.LIBXML_VERSION} cannot fetch over HTTP: nothing to stop")
        requests.clear()
        xsd = tmp_path / "main.xsd"
        xsd.write_text(
            '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" '
            'xmlns:o="urn:other">'
            f'<xs:import namespace="urn:other" schemaLocation="{url}"/>'
            '<xs:element name="e" type="o:thing"/></xs:schema>')
        with pytest.raises(etree.XMLSchemaParseError, match="thing"):
            etree.XMLSchema(etree.parse(str(xsd), validator._schema_parser()))
    finally:
        server.shutdown()
        server.server_close()
    assert requests == []


def test_packaged_schemas_live_inside_the_package():
    assert SCHEMA_DIR == Path(validator.__file__).resolve().parent / "schemas"
    for filename in [*SCHEMA_FILES.values(), "xlink.xsd", "xml.xsd", "catalog.xml", "README.md"]:
        assert (SCHEMA_DIR / filename).is_file(), filename


@pytest.mark.skipif(not SHARED_SCHEMAS.is_dir(), reason="../shared/schemas is not present")
def test_packaged_schemas_are_identical_to_the_shared_reference_copies():
    names = sorted(p.name for p in SHARED_SCHEMAS.iterdir() if p.suffix in (".xsd", ".xml"))
    match, mismatch, errors = filecmp.cmpfiles(SHARED_SCHEMAS, SCHEMA_DIR, names, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert match == names


def test_validation_uses_only_the_packaged_copy_without_catalog_variable_or_checkout(tmp_path):
    """Copy the code somewhere with no ../shared beside it, clear XML_CATALOG_FILES, and check
    that validation works and every schema it loads is read from the copied package."""
    install = tmp_path / "site"
    for package in ("cadl", "ingest", "metadata"):
        shutil.copytree(ROOT / package, install / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    script = textwrap.dedent("""
        import logging, sys
        logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(message)s")
        from metadata.validate import validate
        good = (b'<mods xmlns="http://www.loc.gov/mods/v3">'
                b'<titleInfo><title>t</title></titleInfo></mods>')
        assert validate(good, "mods") == [], "valid MODS rejected"
        assert validate(good.replace(b"titleInfo", b"titleX"), "mods"), "invalid MODS accepted"
        for name in ("mets", "premis", "mix", "alto"):
            validate(good, name)
        print("OK")
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("XML_CATALOG_FILES", "PYTHONPATH")}
    env["PYTHONPATH"] = str(install)
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "OK"
    served = [line.rsplit(" from ", 1)[1] for line in lines if " from " in line]
    assert served, "no schema loads were logged"
    assert all(path.startswith(str(install / "metadata" / "schemas")) for path in served), served
    assert not any(str(SHARED_SCHEMAS) in line or str(ROOT) in line for line in lines)


def _our_mets() -> bytes:
    """A METS from the real builders: one Arabic page, its ALTO, the PDF, one PREMIS event."""
    created = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    sha = hashlib.sha512(b"page").hexdigest()
    page = Page(seq=1, original_name="صفحة ١.tif", path="ar-1/صفحة ١.tif", sha512=sha, size=9,
                format="TIFF", mimetype="image/tiff", width=10, height=10)
    item = Item(item_id="ar-1", row=2, languages=["ar"], title="المقتبس",
                reading_direction="rtl", pages=[page])
    files = [FileEntry("masters", "master-p0001", "masters/p0001.tif", "image/tiff", sha, 9,
                       created, 1),
             FileEntry("pdf", "pdf", "ar-1.pdf", "application/pdf", sha, 9, created)]
    premis = build_premis(
        [Object("master-p0001", page.original_name, 9, "TIFF", sha)],
        [Event.create("ingestion", created, "success", "received", ["cadl"], ["master-p0001"],
                      id_factory=lambda: uuid.UUID(int=1))],
        [Agent("cadl", "cadl-pipeline", "software", version="0.1.0")])
    return build_mets(item, "b1", files, premis, [software_agent("cadl-pipeline", "0.1.0")],
                      created, record_source="CADL")


@pytest.mark.skipif(not SHARED_SCHEMAS.is_dir(), reason="../shared/schemas is not present")
def test_our_mets_validates_against_the_shared_reference_copies_too():
    assert validate_mets(_our_mets(), schema_dir=SHARED_SCHEMAS) == []
    assert validate(_our_mets(), "mets", schema_dir=SHARED_SCHEMAS) == []


def test_mets_schema_alone_cannot_resolve_the_premis_object_type_hence_the_bundle():
    """Why "mets" compiles with PREMIS: METS 1.12.1 by itself rejects any PREMIS 3 object."""
    alone = etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "mets-1.12.1.xsd"),
                                        validator._schema_parser()))
    assert not alone.validate(etree.fromstring(_our_mets()))
    assert "premis" in str(alone.error_log) and "xsi:type" in str(alone.error_log)
    assert validate(_our_mets(), "mets") == []
