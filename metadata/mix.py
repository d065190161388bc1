"""MIX 2.0 (NISO Z39.87) technical metadata of a master image, from its characterization.

The facts come from `ingest.models.Page`, filled by the intake's characterization; every one of
them is optional there (pages recorded before characterization existed still load), so an absent
fact is left out rather than guessed: MIX makes every element optional for that reason.

Resolution is written as a rational (numerator/denominator) in pixels per inch, as MIX requires;
`read_mix` turns a record back into the Page fields it came from, so a package read back from its
METS describes its masters exactly as the first write did.
"""

from fractions import Fraction

from lxml import etree
from lxml.builder import ElementMaker

from ingest.models import Page
from kernel.namespaces import MIX, NSMAP, XSI, schema_location

X = ElementMaker(namespace=MIX, nsmap=NSMAP)
NS = {"mix": MIX}

# Colour space names pages characterized before issue 17 carry → the Z39.87 term.
_OLD_COLOR_SPACES = {"Gray": "BlackIsZero", "Palette": "PaletteColor"}
# Page.format → the format name MIX/PRONOM use for it.
FORMAT_NAMES = {"TIFF": "TIFF", "JPEG": "JPEG", "PNG": "PNG", "JPEG2000": "JPEG 2000"}


def _rational(tag: str, value: float) -> etree._Element:
    fraction = Fraction(value).limit_denominator(1000)
    return X(tag, X.numerator(str(fraction.numerator)), X.denominator(str(fraction.denominator)))


def build_mix(page: Page, object_id: str) -> etree._Element:
    """The `mix:mix` record of the master `page`, identified in MIX by `object_id` (its METS
    file ID). Characterization fields that are None are omitted. Raises nothing: every
    combination of present and absent facts gives a schema-valid record."""
    basic = X.BasicDigitalObjectInformation(
        X.ObjectIdentifier(X.objectIdentifierType("local"), X.objectIdentifierValue(object_id)),
        X.fileSize(str(page.size)),
        X.FormatDesignation(X.formatName(FORMAT_NAMES.get(page.format, page.format))),
    )
    if page.puid:
        basic.append(X.FormatRegistry(X.formatRegistryName("PRONOM"),
                                      X.formatRegistryKey(page.puid)))
    if page.byte_order:
        basic.append(X.byteOrder(page.byte_order))
    if page.compression:
        basic.append(X.Compression(X.compressionScheme(page.compression)))
    basic.append(X.Fixity(X.messageDigestAlgorithm("SHA-512"), X.messageDigest(page.sha512)))
    if page.md5:
        basic.append(X.Fixity(X.messageDigestAlgorithm("MD5"), X.messageDigest(page.md5)))

    characteristics = X.BasicImageCharacteristics(X.imageWidth(str(page.width)),
                                                  X.imageHeight(str(page.height)))
    if page.color_space or page.icc_profile:
        photometric = X.PhotometricInterpretation()
        if page.color_space:
            photometric.append(X.colorSpace(_OLD_COLOR_SPACES.get(page.color_space,
                                                                  page.color_space)))
        if page.icc_profile:
            # The profile itself stays in the master; MIX records that one is embedded.
            photometric.append(X.ColorProfile(X.IccProfile(X.iccProfileName("embedded"))))
        characteristics.append(photometric)

    assessment = []
    x_res = page.x_resolution if page.x_resolution is not None else page.dpi
    y_res = page.y_resolution if page.y_resolution is not None else page.dpi
    if x_res or y_res:
        spatial = X.SpatialMetrics(X.samplingFrequencyPlane("object plane"),
                                   X.samplingFrequencyUnit("in."))
        if x_res:
            spatial.append(_rational("xSamplingFrequency", x_res))
        if y_res:
            spatial.append(_rational("ySamplingFrequency", y_res))
        assessment.append(spatial)
    if page.bits_per_sample or page.samples_per_pixel:
        encoding = X.ImageColorEncoding()
        if page.bits_per_sample:
            # One value per sample, as MIX lists them ("8,8,8" for 8-bit RGB).
            encoding.append(X.BitsPerSample(
                *[X.bitsPerSampleValue(str(page.bits_per_sample))
                  for _ in range(page.samples_per_pixel or 1)],
                X.bitsPerSampleUnit("integer")))
        if page.samples_per_pixel:
            encoding.append(X.samplesPerPixel(str(page.samples_per_pixel)))
        assessment.append(encoding)

    root = X.mix(basic, X.BasicImageInformation(characteristics))
    if assessment:
        root.append(X.ImageAssessmentMetadata(*assessment))
    root.set(f"{{{XSI}}}schemaLocation", schema_location(MIX))
    etree.cleanup_namespaces(root)
    return root


def _float(element: etree._Element | None) -> float | None:
    if element is None:
        return None
    numerator = element.findtext("mix:numerator", namespaces=NS)
    denominator = element.findtext("mix:denominator", namespaces=NS) or "1"
    return float(Fraction(int(numerator), int(denominator))) if numerator else None


def read_mix(mix: etree._Element) -> dict:
    """The Page characterization fields a `mix:mix` record written by build_mix holds:
    width, height, size, compression, byte_order, md5, puid, color_space, icc_profile,
    bits_per_sample,
    samples_per_pixel, x_resolution, y_resolution (None where the record has no value)."""
    def text(path: str) -> str | None:
        return mix.findtext(path, namespaces=NS)

    def integer(path: str) -> int | None:
        value = text(path)
        return int(value) if value else None

    base = "mix:BasicDigitalObjectInformation/"
    encoding = "mix:ImageAssessmentMetadata/mix:ImageColorEncoding/"
    spatial = "mix:ImageAssessmentMetadata/mix:SpatialMetrics/"
    photometric = "mix:BasicImageInformation/mix:BasicImageCharacteristics/" \
                  "mix:PhotometricInterpretation/"
    return {
        "size": integer(base + "mix:fileSize"),
        "width": integer("mix:BasicImageInformation/mix:BasicImageCharacteristics/mix:imageWidth"),
        "height": integer("mix:BasicImageInformation/mix:BasicImageCharacteristics/"
                          "mix:imageHeight"),
        "puid": text(base + "mix:FormatRegistry/mix:formatRegistryKey"),
        "compression": text(base + "mix:Compression/mix:compressionScheme"),
        "byte_order": text(base + "mix:byteOrder"),
        "md5": text(base + "mix:Fixity[mix:messageDigestAlgorithm='MD5']/mix:messageDigest"),
        "color_space": text(photometric + "mix:colorSpace"),
        "icc_profile": mix.find(photometric + "mix:ColorProfile/mix:IccProfile", NS) is not None,
        "bits_per_sample": integer(encoding + "mix:BitsPerSample/mix:bitsPerSampleValue"),
        "samples_per_pixel": integer(encoding + "mix:samplesPerPixel"),
        "x_resolution": _float(mix.find(spatial + "mix:xSamplingFrequency", NS)),
        "y_resolution": _float(mix.find(spatial + "mix:ySamplingFrequency", NS)),
    }
