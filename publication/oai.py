"""OAI-PMH 2.0 over the access location: all six verbs, oai_dc and MODS, a set per portal.

The repository's records are the portals' change logs (`publication.feed`) read back: an item
is a record of set `zh` while the Chinese portal's log last says Create or Update for it. One
identifier per item: it is a deleted record only once every portal's log says Delete, for ever
(`deletedRecord` is `persistent`); withdrawn from one portal only, it stays live and its header
lists the sets it is still in (see `Repository.headers`). The datestamp is
the time of that latest activity. Nothing else is stored, so OAI-PMH, the feeds and the portals'
catalogues can never disagree, and a restricted item, which never reaches the access location,
never appears here either.

Responses are built with lxml (one namespace map) and checked in the tests against the official
OAI-PMH XSD. Paging is stateless: a resumptionToken encodes the request and the offset.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime, timezone

from lxml import etree

from publication.feed import PORTALS, fold, read_log
from publication.iiif import MANIFEST, join_url
from publication.oai_dc import oai_dc
from preservation.storage import Storage

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
MODS = "http://www.loc.gov/mods/v3"
METS = "http://www.loc.gov/METS/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC),
    "mods": ("http://www.loc.gov/standards/mods/v3/mods-3-8.xsd", MODS),
}
SET_NAMES = {"zh": "Chinese portal · 中文门户 · البوابة الصينية",
             "ar": "Arabic portal · 阿拉伯文门户 · البوابة العربية"}
VERBS = ("Identify", "ListMetadataFormats", "ListSets", "ListIdentifiers", "ListRecords",
         "GetRecord")
_ARGS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Characters no OAI-PMH argument has and XML 1.0 cannot carry (C0 and C1 controls, DEL,
# surrogates, U+FFFE/U+FFFF); an argument with one is a badArgument, never echoed.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
MAX_ARGUMENT = 1024  # characters; identifiers, dates, prefixes and our tokens are far shorter
# What the OAI-PMH schema accepts in the attributes of <request> (oai-pmh-2.0.xsd).
_ECHO = {
    "metadataPrefix": re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$"),
    "set": re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$"),
    "identifier": re.compile(r"^\S+$"),
    "from": re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$"),
    "until": re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$"),
    "resumptionToken": re.compile(r"^\S+$"),
}
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
EARLIEST = "2026-01-01T00:00:00Z"


class OaiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Repository:
    """The OAI-PMH repository of one access location.

    `base_url` is the public URL of the access location (links in records), `oai_url` the URL
    this endpoint answers at (`request` element), `repository_id` the namespace of identifiers.
    """

    def __init__(self, access: Storage, base_url: str, oai_url: str, repository_id: str,
                 admin_email: str, page_size: int = 100, name: str = "Chinese–Arabic Digital "
                 "Library · 中阿数字图书馆 · المكتبة الرقمية الصينية العربية"):
        self.access, self.base_url, self.oai_url = access, base_url, oai_url
        self.repository_id, self.admin_email = repository_id, admin_email
        self.page_size, self.name = page_size, name

    # -- records ---------------------------------------------------------------------------

    def identifier(self, item_id: str) -> str:
        return f"oai:{self.repository_id}:{item_id}"

    def _item_id(self, identifier: str) -> str:
        prefix = f"oai:{self.repository_id}:"
        if not identifier.startswith(prefix):
            raise OaiError("idDoesNotExist", f"{identifier!r} is not an identifier of this "
                           f"repository (they start with {prefix})")
        return identifier[len(prefix):]

    def headers(self, set_spec: str | None = None) -> list[dict]:
        """Every record header: {item_id, datestamp, deleted, sets}, sorted by item id.

        One identifier per item across both portals, so its status is the item's, not a
        portal's: `deleted` only when no portal shows it any more. `sets` are the portals that
        show it now (all of them, whatever set was asked for); a deleted record keeps the sets it
        was in, so a set harvest learns of the deletion. A set-filtered list holds every record
        that is or was in the set: an item withdrawn from `zh` but live on `ar` is listed in
        `zh` as live with setSpec `ar` only, which tells a harvester it left the set without a
        `deleted` that a harvester merging both sets would apply to a live record.
        """
        per_item: dict[str, dict] = {}
        for portal in PORTALS:
            for item_id, last in fold(read_log(self.access, portal)).items():
                record = per_item.setdefault(item_id, {"item_id": item_id, "datestamp": "",
                                                       "sets": [], "deleted": True,
                                                       "was_in": []})
                record["datestamp"] = max(record["datestamp"], last["time"])
                record["was_in"].append(portal)
                if last["type"] != "Delete":
                    record["sets"].append(portal)
                    record["deleted"] = False
        records = []
        for item_id in sorted(per_item):
            record = per_item[item_id]
            was_in = record.pop("was_in")
            if record["deleted"]:
                record["sets"] = was_in
            if set_spec is None or set_spec in was_in:
                records.append(record)
        return records

    def _mets(self, item_id: str) -> etree._Element:
        data = self.access.get_bytes(f"items/{item_id}/mets.xml")
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        return etree.fromstring(data, parser)

    def _entry(self, item_id: str) -> dict:
        return json.loads(self.access.get_bytes(f"items/{item_id}/item.json").decode("utf-8"))

    def _mods(self, item_id: str) -> etree._Element:
        mods = self._mets(item_id).find(
            f".//{{{METS}}}dmdSec/{{{METS}}}mdWrap/{{{METS}}}xmlData/{{{MODS}}}mods")
        if mods is None:
            raise OaiError("idDoesNotExist", f"{item_id}: its METS has no MODS record")
        copy = etree.fromstring(etree.tostring(mods))
        copy.set(f"{{{XSI}}}schemaLocation", f"{MODS} {FORMATS['mods'][0]}")
        return copy

    def _oai_dc(self, item_id: str) -> etree._Element:
        """Dublin Core from the item's MODS (`publication.oai_dc`), with its manifest URL,
        PDF and IIIF rights URI; a title or volume (issue 18) with its IIIF Collection, and
        `relation` isPartOf / hasPart between an issue and its title."""
        entry = self._entry(item_id)
        is_collection = entry.get("type") == "collection"
        manifest = ({} if is_collection else
                    json.loads(self.access.get_bytes(f"items/{item_id}/{MANIFEST}")))
        root = oai_dc(self._mods(item_id), item_id, self.base_url, entry.get("pdf", ""),
                      manifest.get("rights"),
                      [review["premis"] for review in entry.get("reviews", [])]
                      + (["history.xml"] if entry.get("history") else []))
        dc = "{http://purl.org/dc/elements/1.1/}"
        if is_collection:
            item_root = join_url(self.base_url, f"items/{item_id}")
            for element in root.iter(f"{dc}identifier", f"{dc}relation"):
                if element.text == join_url(item_root, MANIFEST):
                    element.text = join_url(item_root, "collection.json")
                elif element.text in (item_root, item_root + "/"):
                    root.remove(element)  # no PDF of its own
        relations = ([f"isPartOf {self.identifier(entry['parent'])}"] if entry.get("parent")
                     else []) + [f"hasPart {self.identifier(c)}" for c in entry.get("children", [])]
        for text in relations:
            etree.SubElement(root, f"{dc}relation").text = text
        return root

    # -- protocol --------------------------------------------------------------------------

    def handle(self, params: dict[str, list[str]], now: datetime | None = None) -> bytes:
        """The OAI-PMH response (UTF-8 XML) to a request's query parameters."""
        now = now or datetime.now(timezone.utc)
        root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI, "xsi": XSI})
        root.set(f"{{{XSI}}}schemaLocation",
                 f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
        etree.SubElement(root, f"{{{OAI}}}responseDate").text = _stamp(now)
        request = etree.SubElement(root, f"{{{OAI}}}request")
        request.text = self.oai_url
        verb, args = None, {}
        try:
            verb, args = self._check(params)
            body = getattr(self, f"_{verb}")(dict(args))
            root.append(body)
        except OaiError as exc:
            error = etree.SubElement(root, f"{{{OAI}}}error", code=exc.code)
            error.text = _UNSAFE.sub("\ufffd", str(exc))
            if exc.code in ("badVerb", "badArgument"):
                verb = None  # the protocol: only the base URL echoes a request it refused
        if verb is not None:
            # Only what the schema allows: a value it would reject (a cannotDisseminateFormat
            # prefix with a space, say) makes the whole answer invalid, so it is left out.
            for key, value in sorted(args.items()):
                if _ECHO[key].match(value):
                    request.set(key, value)
            request.set("verb", verb)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def _check(self, params: dict[str, list[str]]) -> tuple[str, dict[str, str]]:
        verbs = params.get("verb", [])
        if any(_UNSAFE.search(key) or len(key) > MAX_ARGUMENT for key in params):
            raise OaiError("badArgument", "an argument name contains a control character or is "
                           "too long")
        if len(verbs) != 1 or verbs[0] not in VERBS:
            raise OaiError("badVerb", "verb is missing, repeated or not one of "
                           + ", ".join(VERBS))
        verb = verbs[0]
        required, optional = _ARGS[verb]
        args = {}
        for key, values in params.items():
            if key == "verb":
                continue
            if key not in required | optional:
                raise OaiError("badArgument", f"{verb} takes no argument {key!r}")
            if len(values) != 1:
                raise OaiError("badArgument", f"argument {key!r} is repeated")
            value = values[0]
            if _UNSAFE.search(value):
                raise OaiError("badArgument", f"argument {key!r} contains a control character")
            if key != "resumptionToken" and len(value) > MAX_ARGUMENT:
                raise OaiError("badArgument", f"argument {key!r} is longer than {MAX_ARGUMENT} "
                               "characters")
            args[key] = value
        if "resumptionToken" in args:
            if set(args) != {"resumptionToken"}:
                raise OaiError("badArgument", "resumptionToken is an exclusive argument")
            return verb, args
        missing = required - set(args)
        if missing:
            raise OaiError("badArgument", f"{verb} needs {', '.join(sorted(missing))}")
        return verb, args

    def _Identify(self, args) -> etree._Element:
        e = etree.Element(f"{{{OAI}}}Identify")
        for name, text in (("repositoryName", self.name), ("baseURL", self.oai_url),
                           ("protocolVersion", "2.0"), ("adminEmail", self.admin_email),
                           ("earliestDatestamp", self._earliest()),
                           ("deletedRecord", "persistent"),
                           ("granularity", "YYYY-MM-DDThh:mm:ssZ")):
            etree.SubElement(e, f"{{{OAI}}}{name}").text = text
        return e

    def _earliest(self) -> str:
        stamps = [h["datestamp"] for h in self.headers()]
        return min(stamps) if stamps else EARLIEST

    def _ListMetadataFormats(self, args) -> etree._Element:
        if "identifier" in args:
            item_id = self._item_id(args["identifier"])
            if item_id not in {h["item_id"] for h in self.headers()}:
                raise OaiError("idDoesNotExist", f"no record {args['identifier']}")
        e = etree.Element(f"{{{OAI}}}ListMetadataFormats")
        for prefix, (schema, namespace) in FORMATS.items():
            fmt = etree.SubElement(e, f"{{{OAI}}}metadataFormat")
            etree.SubElement(fmt, f"{{{OAI}}}metadataPrefix").text = prefix
            etree.SubElement(fmt, f"{{{OAI}}}schema").text = schema
            etree.SubElement(fmt, f"{{{OAI}}}metadataNamespace").text = namespace
        return e

    def _ListSets(self, args) -> etree._Element:
        if "resumptionToken" in args:
            raise OaiError("badResumptionToken", "ListSets fits in one response: no token is "
                           "issued")
        e = etree.Element(f"{{{OAI}}}ListSets")
        for spec in PORTALS:
            s = etree.SubElement(e, f"{{{OAI}}}set")
            etree.SubElement(s, f"{{{OAI}}}setSpec").text = spec
            etree.SubElement(s, f"{{{OAI}}}setName").text = SET_NAMES[spec]
        return e

    def _header(self, record: dict) -> etree._Element:
        h = etree.Element(f"{{{OAI}}}header")
        if record["deleted"]:
            h.set("status", "deleted")
        etree.SubElement(h, f"{{{OAI}}}identifier").text = self.identifier(record["item_id"])
        etree.SubElement(h, f"{{{OAI}}}datestamp").text = record["datestamp"]
        for spec in record["sets"]:
            etree.SubElement(h, f"{{{OAI}}}setSpec").text = spec
        return h

    def _record(self, record: dict, prefix: str) -> etree._Element:
        r = etree.Element(f"{{{OAI}}}record")
        r.append(self._header(record))
        if not record["deleted"]:
            metadata = etree.SubElement(r, f"{{{OAI}}}metadata")
            metadata.append(self._oai_dc(record["item_id"]) if prefix == "oai_dc"
                            else self._mods(record["item_id"]))
        return r

    def _GetRecord(self, args) -> etree._Element:
        self._prefix(args["metadataPrefix"])
        item_id = self._item_id(args["identifier"])
        found = [h for h in self.headers() if h["item_id"] == item_id]
        if not found:
            raise OaiError("idDoesNotExist", f"no record {args['identifier']}")
        e = etree.Element(f"{{{OAI}}}GetRecord")
        e.append(self._record(found[0], args["metadataPrefix"]))
        return e

    def _ListIdentifiers(self, args) -> etree._Element:
        return self._list("ListIdentifiers", args)

    def _ListRecords(self, args) -> etree._Element:
        return self._list("ListRecords", args)

    def _prefix(self, prefix: str) -> None:
        if prefix not in FORMATS:
            raise OaiError("cannotDisseminateFormat", f"metadataPrefix {prefix!r} is not one "
                           f"of {', '.join(FORMATS)}")

    def _list(self, verb: str, args: dict[str, str]) -> etree._Element:
        offset = 0
        if "resumptionToken" in args:
            args, offset = _decode_token(args["resumptionToken"])
        self._prefix(args["metadataPrefix"])
        start, end = _range(args.get("from"), args.get("until"))
        spec = args.get("set")
        if spec is not None and spec not in PORTALS:
            raise OaiError("noRecordsMatch", f"set {spec!r} has no records: the sets are "
                           + ", ".join(PORTALS))
        records = [h for h in self.headers(spec) if start <= h["datestamp"] <= end]
        if not records:
            raise OaiError("noRecordsMatch", "no record matches these arguments")
        if offset >= len(records):
            raise OaiError("badResumptionToken", "the resumptionToken points past the end of "
                           "the list (the repository changed since it was issued)")
        page = records[offset: offset + self.page_size]
        e = etree.Element(f"{{{OAI}}}{verb}")
        for record in page:
            e.append(self._header(record) if verb == "ListIdentifiers"
                     else self._record(record, args["metadataPrefix"]))
        following = offset + len(page)
        if offset or following < len(records):
            token = etree.SubElement(e, f"{{{OAI}}}resumptionToken",
                                     completeListSize=str(len(records)), cursor=str(offset))
            if following < len(records):
                token.text = _encode_token(args, following)
        return e


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _range(start: str | None, end: str | None) -> tuple[str, str]:
    """from/until as comparable datestamps (inclusive); badArgument for a malformed one."""
    for value in (start, end):
        if value is not None and not (_DAY.match(value) or _SECOND.match(value)):
            raise OaiError("badArgument", f"{value!r} is not a UTC date (YYYY-MM-DD) or "
                           "datetime (YYYY-MM-DDThh:mm:ssZ)")
        if value is not None:
            try:
                datetime.strptime(value[:10], "%Y-%m-%d")
            except ValueError:
                raise OaiError("badArgument", f"{value!r} is not a valid date") from None
    if start and end and len(start) != len(end):
        raise OaiError("badArgument", "from and until must have the same granularity")
    low = (start + "T00:00:00Z") if start and len(start) == 10 else (start or "")
    high = (end + "T23:59:59Z") if end and len(end) == 10 else (end or "9999")
    return low, high


def _encode_token(args: dict[str, str], offset: int) -> str:
    payload = json.dumps({"a": args, "o": offset}, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_token(token: str) -> tuple[dict[str, str], int]:
    """The arguments and offset a token of ours encodes; badResumptionToken for anything else.

    A token is the client's text: it is length-capped before decoding, and a JSON document
    nested too deeply for the parser (RecursionError) is just another bad token.
    """
    shown = repr(token[:40]) + ("…" if len(token) > 40 else "")
    if len(token) > MAX_ARGUMENT:
        raise OaiError("badResumptionToken", f"{shown} is longer than any resumptionToken of "
                       "this repository")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        args, offset = data["a"], data["o"]
        if not isinstance(args, dict) or not isinstance(offset, int) or offset < 0 \
                or "metadataPrefix" not in args \
                or set(args) - {"metadataPrefix", "from", "until", "set"}:
            raise ValueError("bad fields")
        return {str(k): str(v) for k, v in args.items()}, offset
    except (ValueError, KeyError, TypeError, RecursionError, binascii.Error):
        raise OaiError("badResumptionToken", f"{shown} is not a resumptionToken of this "
                       "repository") from None
