"""The second sample batch: a journal (a title with two issues) and a book described by a record.

It shows the two things the first sample cannot: a serial (`parent`, `volume`, `issue`; the title
row has no pages) and a row that carries only `item_id`, `languages` and `record`, described by a
CNMARC record in `records.xml` with the pinyin the National Library of China keeps in `$9`. The
texts and the record are written for this project (the journal is modelled on the 1906 Damascus
monthly al-Muqtabas, but the text is ours), so the OCR ground truth is exact.

Kept apart from `sample-batch-001`, whose items the OCR, portal and end-to-end tests measure.
"""

from __future__ import annotations

SERIAL_BATCH_ID = "sample-batch-002"
RECORD_ID = "NLC-SAMPLE-000001"

COLUMNS = ["item_id", "languages", "title", "title_en", "creator", "date", "place",
           "reading_direction", "parent", "volume", "issue", "record"]

ISSUE_1 = [[("ar", [
    "تصدر هذه المجلة في أول كل شهر، وتنشر مقالات في الأدب والتاريخ والعلوم، وأخبار الكتب "
    "الجديدة في الشام ومصر.",
    "وفي هذا العدد مقالة عن مكتبات دمشق القديمة، وما بقي فيها من مخطوطات في الطب والفلك "
    "واللغة.",
])]]

ISSUE_2 = [[("ar", [
    "نشرنا في العدد الماضي وصفا لمكتبات دمشق، ونتابع في هذا العدد الحديث عن نساخ المخطوطات "
    "وأدواتهم من ورق وحبر وأقلام.",
    "وقد وصلتنا رسائل كثيرة من القراء نشكرهم عليها، وسننشر بعضها في الأعداد القادمة.",
])]]

RECORD_BOOK = [[("zh-Hans", [
    "纸在中国发明以后，经过很长的时间才传到西方。唐代的工匠把造纸的方法带到了撒马尔罕，"
    "后来又传到巴格达和大马士革。",
    "有了便宜的纸，书籍的抄写和翻译变得容易，图书馆也越来越多。",
])]]

ITEMS = [
    {"item_id": "muqtabas", "languages": "ar", "title": "المقتبس", "title_en": "al-Muqtabas",
     "creator": "محمد كرد علي", "date": "1906", "place": "دمشق", "reading_direction": "rtl",
     "pages": [], "page_names": "", "format": ""},
    {"item_id": "muqtabas-1906-01", "languages": "ar", "title": "المقتبس، الجزء الأول",
     "date": "1906", "reading_direction": "rtl", "parent": "muqtabas", "volume": "1",
     "issue": "1", "pages": ISSUE_1, "page_names": "{n:04d}.tif", "format": "TIFF"},
    {"item_id": "muqtabas-1906-02", "languages": "ar", "title": "المقتبس، الجزء الثاني",
     "date": "1906", "reading_direction": "rtl", "parent": "muqtabas", "volume": "1",
     "issue": "2", "pages": ISSUE_2, "page_names": "{n:04d}.tif", "format": "TIFF"},
    {"item_id": "zh-record-001", "languages": "zh-Hans", "record": RECORD_ID,
     "pages": RECORD_BOOK, "page_names": "{n:04d}.png", "format": "PNG"},
]

RECORDS_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<collection xmlns="http://www.loc.gov/MARC21/slim">
  <record>
    <leader>00000nam0 2200000   450 </leader>
    <controlfield tag="001">{RECORD_ID}</controlfield>
    <datafield tag="100" ind1=" " ind2=" ">
      <subfield code="a">20240101d2024    em y0chiy0121    ea</subfield>
    </datafield>
    <datafield tag="101" ind1="0" ind2=" "><subfield code="a">chi</subfield></datafield>
    <datafield tag="102" ind1=" " ind2=" "><subfield code="a">CN</subfield></datafield>
    <datafield tag="200" ind1="1" ind2=" ">
      <subfield code="a">纸的西行</subfield><subfield code="9">zhi de xi xing</subfield>
      <subfield code="f">中阿数字图书馆编</subfield>
    </datafield>
    <datafield tag="210" ind1=" " ind2=" ">
      <subfield code="a">北京</subfield><subfield code="c">中阿数字图书馆</subfield>
      <subfield code="d">2024</subfield>
    </datafield>
    <datafield tag="215" ind1=" " ind2=" "><subfield code="a">1页</subfield></datafield>
    <datafield tag="606" ind1="0" ind2=" ">
      <subfield code="a">造纸</subfield><subfield code="x">历史</subfield>
      <subfield code="y">中国</subfield>
    </datafield>
    <datafield tag="690" ind1=" " ind2=" "><subfield code="a">TS7-09</subfield></datafield>
    <datafield tag="711" ind1="0" ind2="2">
      <subfield code="a">中阿数字图书馆</subfield><subfield code="9">zhong a shu zi tu shu guan</subfield>
      <subfield code="4">340</subfield>
    </datafield>
    <datafield tag="801" ind1=" " ind2="0">
      <subfield code="a">CN</subfield><subfield code="b">CADL</subfield>
    </datafield>
  </record>
</collection>
"""
