"""What can be checked of an item PDF's PDF/A-2b claim without a PDF/A validator.

The reference validator, veraPDF, is a Java program distributed through Maven and its own
site; no PyPI, Debian or npm package carries it or another PDF/A validator (PyPI's
"pdfa-parser" shells out to an installed veraPDF; the others are clients of remote services).
So this module checks, with pikepdf (qpdf), the PDF/A-2b (ISO 19005-2) requirements that are
structural and that our renderer could get wrong, and says so honestly: a clean report means
"none of these rules is broken", not "conforms to PDF/A-2b". Not checked here: font programs
against their dictionaries (widths, glyph coverage), the ICC profile's contents beyond its
header, content-stream operators (e.g. undefined colour spaces inside a stream), XMP extension
schemas, and every rule on annotations and forms (our PDFs have none, which is checked).

Checked: qpdf's own syntax check; a file identifier; no encryption; an XMP packet, unfiltered,
claiming pdfaid:part 2 / conformance B, whose title and creators agree with the Info dictionary;
exactly one GTS_PDFA1 output intent whose DestOutputProfile is an ICC profile (signature
`acsp`, a colour space matching N, version 2 or 4) and whose colour space fits every device
colour space of the images; every font embedded (FontFile, FontFile2 or FontFile3); no
transparency groups, soft masks or interpolated images (we claim none); no JavaScript,
launch or other forbidden actions, additional actions, embedded files, LZW or Crypt filters,
annotations or forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

N = pikepdf.Name
FORBIDDEN_FILTERS = {"/LZWDecode", "/Crypt"}
FORBIDDEN_ACTIONS = {"/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData",
                     "/JavaScript", "/Hide", "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView"}
ICC_SPACES = {b"RGB ": (3, "/DeviceRGB"), b"GRAY": (1, "/DeviceGray"),
              b"CMYK": (4, "/DeviceCMYK")}
DOCINFO_XMP = {"/Title": "dc:title", "/Author": "dc:creator", "/Subject": "dc:description",
               "/Keywords": "pdf:Keywords", "/Creator": "xmp:CreatorTool",
               "/Producer": "pdf:Producer"}


@dataclass
class PdfaReport:
    """The result of `check_pdfa`: every problem found (each naming where), and what was not
    checked at all, so a reader never takes an empty list for full conformance."""

    path: str
    problems: list[str] = field(default_factory=list)
    not_checked: str = ("font programs, ICC profile contents beyond the header, content-stream "
                        "operators, XMP extension schemas (no PDF/A validator is installable "
                        "here; veraPDF is the reference)")

    @property
    def is_valid(self) -> bool:
        return not self.problems


def _filters(obj) -> list[str]:
    value = obj.get("/Filter")
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, pikepdf.Array) else [str(value)]


def _icc_problems(intent) -> tuple[list[str], str | None]:
    profile = intent.get("/DestOutputProfile")
    if not isinstance(profile, pikepdf.Stream):
        return ["output intent: no DestOutputProfile ICC stream"], None
    data = profile.read_bytes()
    problems = []
    if len(data) < 128 or data[36:40] != b"acsp":
        return ["output intent: DestOutputProfile is not an ICC profile (no 'acsp' "
                "signature)"], None
    space = ICC_SPACES.get(data[16:20])
    if space is None:
        problems.append(f"output intent: ICC colour space {data[16:20]!r} is not RGB, GRAY or "
                        "CMYK")
    elif int(profile.get("/N", 0)) != space[0]:
        problems.append(f"output intent: /N {profile.get('/N')} does not match the ICC profile's "
                        f"{space[0]} components")
    if data[8] not in (2, 4):
        problems.append(f"output intent: ICC profile version {data[8]} (PDF/A-2 takes 2 or 4)")
    return problems, space[1] if space else None


def _xmp_problems(pdf: pikepdf.Pdf) -> list[str]:
    metadata = pdf.Root.get("/Metadata")
    if not isinstance(metadata, pikepdf.Stream):
        return ["catalog: no XMP metadata stream"]
    problems = []
    if _filters(metadata):
        problems.append("XMP metadata stream is filtered (compressed); PDF/A wants it plain")
    meta = pdf.open_metadata()
    if meta.get("pdfaid:part") != "2" or meta.get("pdfaid:conformance") != "B":
        problems.append(f"XMP: pdfaid part {meta.get('pdfaid:part')!r} conformance "
                        f"{meta.get('pdfaid:conformance')!r}, expected '2' and 'B'")
    for key, prop in DOCINFO_XMP.items():
        if key not in pdf.docinfo:
            continue
        value = str(pdf.docinfo[key])
        xmp = meta.get(prop)
        if isinstance(xmp, list):  # dc:creator is a sequence; Info /Author joins it with "; "
            xmp = "; ".join(xmp)
        if xmp != value:
            problems.append(f"Info {key} {value!r} differs from XMP {prop} {xmp!r}")
    return problems


def _resources(pdf: pikepdf.Pdf):
    """(where, object) for every page and form XObject resource, images and fonts."""
    seen = set()
    for number, page in enumerate(pdf.pages, 1):
        stack = [(f"page {number}", page.obj.get("/Resources"))]
        while stack:
            where, resources = stack.pop()
            if not isinstance(resources, pikepdf.Dictionary):
                continue
            for name, xobject in (resources.get("/XObject") or {}).items():
                if xobject.objgen != (0, 0) and xobject.objgen in seen:
                    continue
                seen.add(xobject.objgen)
                yield f"{where} XObject {name}", xobject
                if xobject.get("/Subtype") == N.Form:
                    stack.append((f"{where} form {name}", xobject.get("/Resources")))
            for name, font in (resources.get("/Font") or {}).items():
                yield f"{where} font {name}", font
            for name, state in (resources.get("/ExtGState") or {}).items():
                yield f"{where} ExtGState {name}", state


def _font_problems(where: str, font) -> list[str]:
    subtype = font.get("/Subtype")
    if subtype == N.Type3:
        return []  # glyphs are content streams inside the PDF: nothing to embed
    fonts = list(font.get("/DescendantFonts") or []) if subtype == N.Type0 else [font]
    problems = []
    for descendant in fonts:
        descriptor = descendant.get("/FontDescriptor")
        if descriptor is None or not any(k in descriptor for k in
                                         ("/FontFile", "/FontFile2", "/FontFile3")):
            problems.append(f"{where}: font {descendant.get('/BaseFont')} is not embedded")
    return problems


def _object_problems(pdf: pikepdf.Pdf, intent_space: str | None) -> list[str]:
    problems = []
    for where, obj in _resources(pdf):
        if obj.get("/Type") == N.Font or "/BaseFont" in obj:
            problems += _font_problems(where, obj)
            continue
        if "/SMask" in obj and obj.get("/SMask") != N("/None"):
            problems.append(f"{where}: soft mask (transparency)")
        if obj.get("/Group") is not None and obj.Group.get("/S") == N.Transparency:
            problems.append(f"{where}: transparency group")
        if obj.get("/Subtype") == N.Image:
            if obj.get("/Interpolate") is True:
                problems.append(f"{where}: /Interpolate true is forbidden")
            if "/Alternates" in obj or "/OPI" in obj:
                problems.append(f"{where}: /Alternates or /OPI is forbidden")
            space = obj.get("/ColorSpace")
            space = str(space[0] if isinstance(space, pikepdf.Array) else space)
            if (space in ("/DeviceRGB", "/DeviceCMYK") and intent_space
                    and space != intent_space):
                problems.append(f"{where}: {space} image under a {intent_space} output intent")
        if isinstance(obj, pikepdf.Stream):
            bad = FORBIDDEN_FILTERS.intersection(_filters(obj))
            if bad:
                problems.append(f"{where}: filter {', '.join(sorted(bad))} is forbidden")
    for number, page in enumerate(pdf.pages, 1):
        if page.obj.get("/Group") is not None and page.obj.Group.get("/S") == N.Transparency:
            problems.append(f"page {number}: transparency group")
        if "/AA" in page.obj:
            problems.append(f"page {number}: additional actions (/AA)")
        if page.obj.get("/Annots"):
            problems.append(f"page {number}: annotations (none expected in an item PDF)")
    return problems


def _catalog_problems(pdf: pikepdf.Pdf) -> list[str]:
    root, problems = pdf.Root, []
    names = root.get("/Names") or {}
    for key, what in (("/JavaScript", "JavaScript"), ("/EmbeddedFiles", "embedded files")):
        if key in names:
            problems.append(f"catalog: {what} (/Names {key})")
    if "/AA" in root:
        problems.append("catalog: additional actions (/AA)")
    if "/AcroForm" in root:
        problems.append("catalog: a form (/AcroForm; none expected in an item PDF)")
    action = root.get("/OpenAction")
    if isinstance(action, pikepdf.Dictionary) and str(action.get("/S")) in FORBIDDEN_ACTIONS:
        problems.append(f"catalog: forbidden OpenAction {action.get('/S')}")
    return problems


def check_pdfa(path: Path) -> PdfaReport:
    """Every way the PDF at `path` breaks the PDF/A-2b rules listed in the module docstring.
    Never raises for a bad PDF: an unreadable one is a single problem naming the file."""
    report = PdfaReport(str(path))
    try:
        pdf = pikepdf.open(path)
    except (pikepdf.PdfError, OSError) as exc:
        report.problems.append(f"{path}: not readable as PDF: {exc}")
        return report
    with pdf:
        report.problems += [f"syntax: {p}" for p in pdf.check_pdf_syntax()]
        if not pdf.trailer.get("/ID"):
            report.problems.append("trailer: no file identifier (/ID)")
        if pdf.is_encrypted or "/Encrypt" in pdf.trailer:
            report.problems.append("encrypted: PDF/A forbids encryption")
        report.problems += _xmp_problems(pdf)
        intents = [i for i in pdf.Root.get("/OutputIntents") or []
                   if i.get("/S") == N.GTS_PDFA1]
        space = None
        if len(intents) != 1:
            report.problems.append(f"catalog: {len(intents)} GTS_PDFA1 output intents, "
                                   "expected exactly one")
        else:
            icc, space = _icc_problems(intents[0])
            report.problems += icc
        report.problems += _object_problems(pdf, space)
        report.problems += _catalog_problems(pdf)
    return report
