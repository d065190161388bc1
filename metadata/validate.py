"""Offline validation of our XML against the official XSDs shipped in `metadata/schemas/`.

The XSDs import each other by URL (METS and ALTO import XLink, MODS imports xml.xsd). Workers have
no internet, and users of the package will not have the developers' shared folder, so the URLs are
mapped to the packaged copies through `schemas/catalog.xml` by our own lxml resolver: this works
without `XML_CATALOG_FILES` set, and `no_network=True` makes any URL the catalog misses fail loudly
instead of being fetched.

METS checks what it wraps in `mets:xmlData` only laxly, so `validate_mets` also validates each
embedded MODS, PREMIS and MIX record against its own schema: a METS file is only as valid as the
records inside it.
"""

import copy
import logging
import os
from functools import lru_cache
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

from kernel.errors import MetadataInvalid
from kernel.namespaces import METS, MIX, MODS, PREMIS

log = logging.getLogger(__name__)

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

SCHEMA_FILES: dict[str, str] = {
    "mets": "mets-1.12.1.xsd",
    "mods": "mods-3.8.xsd",
    "premis": "premis-3.0.xsd",
    "mix": "mix-2.0.xsd",
    "alto": "alto-4.4.xsd",
    "oai-pmh": "oai-pmh-2.0.xsd",
    "oai_dc": "oai_dc-2.0.xsd",
}
OAI_PMH = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"

# Records METS may wrap in xmlData that we validate strictly, keyed by their namespace.
EMBEDDED_SCHEMAS: dict[str, str] = {MODS: "mods", PREMIS: "premis", MIX: "mix"}
# Schemas compiled together with the records they carry: METS wraps MODS, PREMIS and MIX; an
# OAI-PMH response carries oai_dc or MODS records, which its XSD checks strictly (`##other`).
BUNDLES: dict[str, tuple[tuple[str, str], ...]] = {
    "mets": ((METS, "mets"), *EMBEDDED_SCHEMAS.items()),
    "oai-pmh": ((OAI_PMH, "oai-pmh"), (OAI_DC, "oai_dc"), (MODS, "mods")),
}

_CATALOG_NS = "urn:oasis:names:tc:entity:xmlns:xml:catalog"
_XSD = "http://www.w3.org/2001/XMLSchema"
_STAND_IN = "{urn:cadl:validated-separately}record"

Document = etree._Element | etree._ElementTree | bytes | str | os.PathLike


@lru_cache(maxsize=None)
def _catalog_map(schema_dir: Path) -> dict[str, str]:
    """URL → local file, from the `uri` entries of `schema_dir/catalog.xml`."""
    catalog = schema_dir / "catalog.xml"
    tree = etree.parse(str(catalog), etree.XMLParser(no_network=True, resolve_entities=False,
                                                     load_dtd=False))
    return {
        entry.get("name"): str((catalog.parent / entry.get("uri")).resolve())
        for entry in tree.getroot().iter(f"{{{_CATALOG_NS}}}uri")
    }


class _CatalogResolver(etree.Resolver):
    """Serves the schema URLs named in a schema folder's catalog from the files beside it."""

    def __init__(self, schema_dir: Path):
        super().__init__()
        self.schema_dir = schema_dir

    def resolve(self, url, pubid, context):
        local = _catalog_map(self.schema_dir).get(url)
        if local is None:
            return None  # a local path, or a URL that will then fail: no network is allowed
        log.debug("schema %s served from %s", url, local)
        return self.resolve_filename(local, context)


def _schema_parser(schema_dir: Path = SCHEMA_DIR) -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_CatalogResolver(schema_dir))
    return parser


def load_schema(schema: str, schema_dir: Path | None = None) -> etree.XMLSchema:
    """The compiled XSD for `schema` (a key of SCHEMA_FILES), cached.

    `schema_dir` is a folder holding the XSDs under the names of SCHEMA_FILES and a catalog.xml;
    the default is the copy packaged here (another folder lets a test check our output against a
    reference copy the same way).

    "mets" is METS 1.12.1 compiled together with the schemas of the records METS may wrap (MODS,
    PREMIS, MIX), as a validator honouring our files' xsi:schemaLocation would load them: without
    PREMIS, the `xsi:type="premis:file"` of a wrapped object cannot resolve and is an error even
    under METS' lax wildcard. "oai-pmh" likewise comes with oai_dc and MODS, so a response's
    records are validated strictly. Raises ValueError for an unknown schema name.
    """
    if schema not in SCHEMA_FILES:
        raise ValueError(f"unknown schema {schema!r}; use one of {', '.join(SCHEMA_FILES)}")
    return _compile(schema, Path(schema_dir or SCHEMA_DIR).resolve())


@lru_cache(maxsize=None)
def _compile(schema: str, schema_dir: Path) -> etree.XMLSchema:
    log.debug("compiling schema %s from %s", schema, schema_dir / SCHEMA_FILES[schema])
    if schema not in BUNDLES:
        return etree.XMLSchema(etree.parse(str(schema_dir / SCHEMA_FILES[schema]),
                                           _schema_parser(schema_dir)))
    xs = ElementMaker(namespace=_XSD, nsmap={"xs": _XSD})
    driver = xs.schema(*[
        xs.import_(namespace=ns, schemaLocation=(schema_dir / SCHEMA_FILES[name]).as_uri())
        for ns, name in BUNDLES[schema]
    ])
    for element in driver:
        element.tag = f"{{{_XSD}}}import"  # "import" is a Python keyword, hence import_ above
    return etree.XMLSchema(etree.fromstring(etree.tostring(driver), _schema_parser(schema_dir),
                                            base_url=(schema_dir / f"{schema}-bundle.xsd").as_uri()))


def _document_parser() -> etree.XMLParser:
    # Documents to check never need entities or the network; refusing them also shuts out XXE.
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=True)


def _as_tree(doc: Document) -> etree._ElementTree:
    """Parse bytes or a file; an element built in memory is serialised the way our builders write
    it and parsed again, because only a parsed tree has the line numbers the report promises.

    Raises _NotWellFormed carrying this parse's own errors (lxml's exception log may also hold
    earlier, unrelated ones).
    """
    parser = _document_parser()
    try:
        if isinstance(doc, bytes):
            return etree.ElementTree(etree.fromstring(doc, parser))
        if isinstance(doc, (str, os.PathLike)):
            return etree.parse(os.fspath(doc), parser)
        root = doc.getroot() if isinstance(doc, etree._ElementTree) else doc
        if root.sourceline is None:
            text = etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
            return etree.ElementTree(etree.fromstring(text, parser))
        return etree.ElementTree(root)
    except etree.XMLSyntaxError as exc:
        errors = [f"line {err.line}: {err.message}" for err in parser.error_log
                  if err.level >= etree.ErrorLevels.ERROR]
        raise _NotWellFormed(errors or [str(exc)]) from None


class _NotWellFormed(Exception):
    def __init__(self, errors: list[str]):
        super().__init__(errors)
        self.errors = errors


def _errors(schema_obj: etree.XMLSchema, element: etree._Element, prefix: str = "") -> list[str]:
    if schema_obj.validate(element):
        return []
    return [f"{prefix}line {err.line}: {err.message}" for err in schema_obj.error_log]


def validate(doc: Document, schema: str, schema_dir: Path | None = None) -> list[str]:
    """Every error of `doc` against `schema`, each as "line N: message"; empty when valid.

    `doc` is an lxml element or tree, XML bytes, or a file path (a str is a path, not XML text).
    A document that is not even well-formed is reported the same way (its syntax errors), not
    raised. "Every" is every error libxml2 finds: after an element its parent does not allow, it
    does not check that element's later siblings, so fixing one error can reveal another.
    `schema_dir`: see load_schema. Raises ValueError for an unknown schema name.
    """
    schema_obj = load_schema(schema, schema_dir)
    try:
        tree = _as_tree(doc)
    except _NotWellFormed as exc:
        return exc.errors
    return _errors(schema_obj, tree.getroot())


def validate_mets(doc: Document, schema_dir: Path | None = None) -> list[str]:
    """Errors of a METS document against METS 1.12 and of each embedded record against its own.

    Each MODS, PREMIS or MIX element wrapped in `mets:xmlData` is validated on its own; its errors
    are prefixed with the record kind and the ID of the metadata section that holds it, and keep
    the line numbers of the METS file. Empty when everything is valid.
    """
    try:
        tree = _as_tree(doc)
    except _NotWellFormed as exc:
        return exc.errors
    root = tree.getroot()
    # The METS structure is checked on a copy whose wrapped records are swapped for an empty
    # element of a namespace no schema declares (METS' wildcard skips it; xmlData may not be
    # empty), so each record's errors are reported once, by its own schema, with its section.
    # Line numbers survive the copy.
    skeleton = copy.deepcopy(root)
    for xml_data in skeleton.iter(f"{{{METS}}}xmlData"):
        for record in list(xml_data):
            if isinstance(record.tag, str) and etree.QName(record).namespace in EMBEDDED_SCHEMAS:
                stand_in = etree.Element(_STAND_IN)
                stand_in.tail = record.tail
                xml_data.replace(record, stand_in)
    errors = _errors(load_schema("mets", schema_dir), skeleton)
    for xml_data in root.iter(f"{{{METS}}}xmlData"):
        section = next((a.get("ID") for a in xml_data.iterancestors() if a.get("ID")), "?")
        for record in xml_data:
            if not isinstance(record.tag, str):
                continue  # comments and processing instructions
            name = EMBEDDED_SCHEMAS.get(etree.QName(record).namespace)
            if name is None:
                continue  # a record kind we do not produce: METS' own lax check is all we can do
            # A copy keeps the source line numbers and gets the namespace declarations it inherits.
            errors += _errors(load_schema(name, schema_dir), copy.deepcopy(record),
                              prefix=f"embedded {name.upper()} in {section}: ")
    return errors


def assert_valid(doc: Document, schema: str, name: str) -> None:
    """Raise MetadataInvalid naming the document `name` and listing every error, if any."""
    errors = validate(doc, schema)
    if errors:
        raise _invalid(name, schema.upper(), errors)


def assert_valid_mets(doc: Document, name: str) -> None:
    """Raise MetadataInvalid naming the METS document `name` and listing every error (its own and
    those of the records it embeds), if any."""
    errors = validate_mets(doc)
    if errors:
        raise _invalid(name, "METS", errors)


def _invalid(name: str, kind: str, errors: list[str]) -> MetadataInvalid:
    listing = "\n".join(f"  - {error}" for error in errors)
    exc = MetadataInvalid(f"{name} is not valid {kind} ({len(errors)} errors):\n{listing}")
    exc.errors = errors
    return exc
