"""tesseract's ALTO 3.0 becomes ALTO 4.4 before bagging, and is then valid against alto-4.4.xsd."""

from lxml import etree

from ocr.alto_upgrade import ALTO_V3, upgrade_alto, upgrade_alto_file
from kernel.namespaces import ALTO
from metadata.validate import validate

# The shape tesseract 5.3 writes (tabs, ns-v3, OCRProcessing, negative SP widths), Arabic text.
TESSERACT_ALTO3 = """<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v3#" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.loc.gov/standards/alto/ns-v3# http://www.loc.gov/alto/v3/alto-3-0.xsd">
\t<Description>
\t\t<MeasurementUnit>pixel</MeasurementUnit>
\t\t<sourceImageInformation>
\t\t\t<fileName>صفحة ١.tif</fileName>
\t\t</sourceImageInformation>
\t\t<OCRProcessing ID="OCR_0">
\t\t\t<ocrProcessingStep>
\t\t\t\t<processingSoftware>
\t\t\t\t\t<softwareName>tesseract 5.3.0</softwareName>
\t\t\t\t</processingSoftware>
\t\t\t</ocrProcessingStep>
\t\t</OCRProcessing>
\t</Description>
\t<Layout>
\t\t<Page WIDTH="1748" HEIGHT="2480" PHYSICAL_IMG_NR="0" ID="page_0">
\t\t\t<PrintSpace HPOS="0" VPOS="0" WIDTH="1748" HEIGHT="2480">
\t\t\t\t<TextBlock ID="block_0" HPOS="161" VPOS="218" WIDTH="1404" HEIGHT="82">
\t\t\t\t\t<TextLine ID="line_0" HPOS="161" VPOS="218" WIDTH="1402" HEIGHT="82">
\t\t\t\t\t\t<String ID="string_0" HPOS="1505" VPOS="232" WIDTH="58" HEIGHT="46" WC="0.96" CONTENT="كان"/><SP WIDTH="-171" VPOS="232" HPOS="1563"/>
\t\t\t\t\t\t<String ID="string_1" HPOS="1300" VPOS="232" WIDTH="90" HEIGHT="46" WC="0.91" CONTENT="丝绸"/>
\t\t\t\t\t</TextLine>
\t\t\t\t</TextBlock>
\t\t\t</PrintSpace>
\t\t</Page>
\t</Layout>
</alto>
""".encode()


def test_tesseract_alto3_is_not_alto_4_4_as_written():
    assert validate(TESSERACT_ALTO3, "alto") != []


def test_upgraded_alto_validates_and_keeps_every_word_and_coordinate():
    upgraded = upgrade_alto(TESSERACT_ALTO3)
    assert validate(upgraded, "alto") == []
    old, new = etree.fromstring(TESSERACT_ALTO3), etree.fromstring(upgraded)
    assert new.nsmap[None] == ALTO and ALTO_V3.encode() not in upgraded
    strings = lambda root, ns: [dict(s.attrib) for s in root.iter(f"{{{ns}}}String")]  # noqa: E731
    assert strings(new, ALTO) == strings(old, ALTO_V3)
    assert "كان".encode() in upgraded and "丝绸".encode() in upgraded


def test_upgrade_is_idempotent_and_rewrites_a_file_only_once(tmp_path):
    path = tmp_path / "p0001.alto.xml"
    path.write_bytes(TESSERACT_ALTO3)
    assert upgrade_alto_file(path) is True
    once = path.read_bytes()
    assert upgrade_alto_file(path) is False
    assert path.read_bytes() == once == upgrade_alto(once)
