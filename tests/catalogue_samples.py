"""Catalogue records as the partners send them, for the record-description tests.

An Arabic MARC 21 record with 880 fields (Arabic title, name and imprint linked to their ALA-LC
romanizations) and a CNMARC (UNIMARC) record in Chinese with the pinyin the National Library of
China keeps in $9, plus one UNIMARC record using the standard $6/$7 pairing. Written as MARCXML;
`to_iso2709` turns them into the binary form with pymarc.
"""

import io

MARC21_ARABIC_ID = "KFNL000417"
UNIMARC_CHINESE_ID = "NLC012005678"
UNIMARC_LINKED_ID = "NLC012009999"

MARC21_ARABIC = f"""\
  <record xmlns="http://www.loc.gov/MARC21/slim">
    <leader>00000cam a2200000 i 4500</leader>
    <controlfield tag="001">{MARC21_ARABIC_ID}</controlfield>
    <controlfield tag="003">SaRiKF</controlfield>
    <controlfield tag="008">190312s1906    sy            000 0 ara d</controlfield>
    <datafield tag="040" ind1=" " ind2=" ">
      <subfield code="a">SaRiKF</subfield><subfield code="b">eng</subfield>
      <subfield code="e">rda</subfield>
    </datafield>
    <datafield tag="041" ind1="0" ind2=" "><subfield code="a">ara</subfield></datafield>
    <datafield tag="100" ind1="1" ind2=" ">
      <subfield code="6">880-01</subfield><subfield code="a">Kurd ʻAlī, Muḥammad,</subfield>
      <subfield code="d">1876-1953,</subfield><subfield code="e">author.</subfield>
    </datafield>
    <datafield tag="245" ind1="1" ind2="3">
      <subfield code="6">880-02</subfield><subfield code="a">al-Muqtabas :</subfield>
      <subfield code="b">majallah shahrīyah /</subfield>
      <subfield code="c">Muḥammad Kurd ʻAlī.</subfield>
    </datafield>
    <datafield tag="264" ind1=" " ind2="1">
      <subfield code="6">880-03</subfield><subfield code="a">Dimashq :</subfield>
      <subfield code="b">Maṭbaʻat al-Muqtabas,</subfield><subfield code="c">1906.</subfield>
    </datafield>
    <datafield tag="300" ind1=" " ind2=" ">
      <subfield code="a">48 pages ;</subfield><subfield code="c">24 cm</subfield>
    </datafield>
    <datafield tag="500" ind1=" " ind2=" ">
      <subfield code="a">Monthly; first issue of the Damascus series.</subfield>
    </datafield>
    <datafield tag="650" ind1=" " ind2="0">
      <subfield code="a">Arabic periodicals</subfield><subfield code="z">Syria</subfield>
      <subfield code="y">20th century.</subfield>
    </datafield>
    <datafield tag="880" ind1="1" ind2=" ">
      <subfield code="6">100-01/(3/r</subfield><subfield code="a">كرد علي، محمد،</subfield>
      <subfield code="d">1876-1953،</subfield><subfield code="e">مؤلف.</subfield>
    </datafield>
    <datafield tag="880" ind1="1" ind2="0">
      <subfield code="6">245-02/(3/r</subfield><subfield code="a">المقتبس :</subfield>
      <subfield code="b">مجلة شهرية /</subfield><subfield code="c">محمد كرد علي.</subfield>
    </datafield>
    <datafield tag="880" ind1=" " ind2="1">
      <subfield code="6">264-03/(3/r</subfield><subfield code="a">دمشق :</subfield>
      <subfield code="b">مطبعة المقتبس،</subfield><subfield code="c">1906.</subfield>
    </datafield>
  </record>
"""

UNIMARC_CHINESE = f"""\
  <record xmlns="http://www.loc.gov/MARC21/slim">
    <leader>00000nam0 2200000   450 </leader>
    <controlfield tag="001">{UNIMARC_CHINESE_ID}</controlfield>
    <controlfield tag="005">20050315103000.0</controlfield>
    <datafield tag="010" ind1=" " ind2=" ">
      <subfield code="a">978-7-02-000861-5</subfield><subfield code="d">CNY12.00</subfield>
    </datafield>
    <datafield tag="100" ind1=" " ind2=" ">
      <subfield code="a">20050315d1923    em y0chiy0121    ea</subfield>
    </datafield>
    <datafield tag="101" ind1="0" ind2=" "><subfield code="a">chi</subfield></datafield>
    <datafield tag="102" ind1=" " ind2=" ">
      <subfield code="a">CN</subfield><subfield code="b">110000</subfield>
    </datafield>
    <datafield tag="200" ind1="1" ind2=" ">
      <subfield code="a">呐喊</subfield><subfield code="9">na han</subfield>
      <subfield code="d">= Call to arms</subfield><subfield code="f">鲁迅著</subfield>
      <subfield code="z">eng</subfield>
    </datafield>
    <datafield tag="210" ind1=" " ind2=" ">
      <subfield code="a">北京</subfield><subfield code="c">新潮社</subfield>
      <subfield code="d">1923</subfield>
    </datafield>
    <datafield tag="215" ind1=" " ind2=" ">
      <subfield code="a">272页</subfield><subfield code="d">19cm</subfield>
    </datafield>
    <datafield tag="606" ind1="0" ind2=" ">
      <subfield code="a">短篇小说</subfield><subfield code="y">中国</subfield>
      <subfield code="z">现代</subfield><subfield code="2">CCT</subfield>
    </datafield>
    <datafield tag="690" ind1=" " ind2=" ">
      <subfield code="a">I246.7</subfield><subfield code="v">5</subfield>
    </datafield>
    <datafield tag="701" ind1=" " ind2="0">
      <subfield code="a">鲁迅</subfield><subfield code="9">lu xun</subfield>
      <subfield code="f">1881-1936</subfield><subfield code="4">070</subfield>
    </datafield>
    <datafield tag="801" ind1=" " ind2="0">
      <subfield code="a">CN</subfield><subfield code="b">NLC</subfield>
      <subfield code="c">20050315</subfield>
    </datafield>
  </record>
"""

UNIMARC_LINKED = f"""\
  <record xmlns="http://www.loc.gov/MARC21/slim">
    <leader>00000nam0 2200000   450 </leader>
    <controlfield tag="001">{UNIMARC_LINKED_ID}</controlfield>
    <datafield tag="100" ind1=" " ind2=" ">
      <subfield code="a">20100101d1934    em y0chiy0121    ea</subfield>
    </datafield>
    <datafield tag="101" ind1="0" ind2=" "><subfield code="a">chi</subfield></datafield>
    <datafield tag="200" ind1="1" ind2=" ">
      <subfield code="6">a01</subfield><subfield code="7">ea</subfield>
      <subfield code="a">边城</subfield><subfield code="f">沈从文著</subfield>
    </datafield>
    <datafield tag="200" ind1="1" ind2=" ">
      <subfield code="6">a01</subfield><subfield code="7">ba</subfield>
      <subfield code="a">Bian cheng</subfield><subfield code="f">Shen Congwen zhu</subfield>
    </datafield>
    <datafield tag="700" ind1=" " ind2="0">
      <subfield code="6">a02</subfield><subfield code="7">ea</subfield>
      <subfield code="a">沈从文</subfield><subfield code="4">070</subfield>
    </datafield>
    <datafield tag="700" ind1=" " ind2="0">
      <subfield code="6">a02</subfield><subfield code="7">ba</subfield>
      <subfield code="a">Shen</subfield><subfield code="b">Congwen</subfield>
      <subfield code="4">070</subfield>
    </datafield>
    <datafield tag="210" ind1=" " ind2=" ">
      <subfield code="a">上海</subfield><subfield code="c">生活书店</subfield>
      <subfield code="d">1934</subfield>
    </datafield>
  </record>
"""


def collection(*records: str) -> bytes:
    """A MARCXML collection of the given records, as the batch's records.xml."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
            + "".join(records) + "</collection>\n").encode("utf-8")


def to_iso2709(*records: str) -> bytes:
    """The records in ISO 2709, UTF-8, as the batch's records.mrc (leaders as given: MARC 21's
    says UTF-8 at position 9, UNIMARC's leaves it blank as UNIMARC does)."""
    import pymarc

    out = io.BytesIO()
    for record in pymarc.parse_xml_to_array(io.BytesIO(collection(*records))):
        out.write(record.as_marc())
    return out.getvalue()
