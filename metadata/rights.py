"""The public rights statement of an item: a rightsstatements.org or Creative Commons URI and its
readable text in Arabic, Chinese and English.

Two different things were mixed before: the partner's *access decision* (manifest `rights`:
open, restricted, embargo, per portal), which routes the item to portals and is internal, and the
*copyright status* a reader needs, which is a public, standard statement. This module owns the
second, so MODS `accessCondition`, Dublin Core `rights`, the IIIF `rights` and `metadata` and the
search JSON all say the same thing. The manifest column `rights_uri` gives it; without one,
"Copyright Not Evaluated" is the honest statement (the partner allowing display says nothing
about copyright).
"""

from __future__ import annotations

import re

from ingest.models import Item

DEFAULT_RIGHTS_URI = "http://rightsstatements.org/vocab/CNE/1.0/"
RIGHTS_URI_PREFIXES = ("http://rightsstatements.org/vocab/", "http://creativecommons.org/",
                       "https://creativecommons.org/")

# rightsstatements.org labels (their English names; Arabic and Chinese our translations).
_STATEMENTS = {
    "InC": ("In Copyright", "محمي بحقوق المؤلف", "受版权保护"),
    "InC-OW-EU": ("In Copyright - EU Orphan Work", "محمي بحقوق المؤلف - مصنف يتيم",
                  "受版权保护 - 欧盟孤儿作品"),
    "InC-EDU": ("In Copyright - Educational Use Permitted",
                "محمي بحقوق المؤلف - يسمح بالاستخدام التعليمي", "受版权保护 - 允许教育用途"),
    "InC-NC": ("In Copyright - Non-Commercial Use Permitted",
               "محمي بحقوق المؤلف - يسمح بالاستخدام غير التجاري", "受版权保护 - 允许非商业用途"),
    "InC-RUU": ("In Copyright - Rights-holder(s) Unlocatable or Unidentifiable",
                "محمي بحقوق المؤلف - صاحب الحق غير معروف", "受版权保护 - 权利人无法找到或识别"),
    "NoC-CR": ("No Copyright - Contractual Restrictions", "لا حقوق مؤلف - قيود تعاقدية",
               "无版权 - 有合同限制"),
    "NoC-NC": ("No Copyright - Non-Commercial Use Only",
               "لا حقوق مؤلف - للاستخدام غير التجاري فقط", "无版权 - 仅限非商业用途"),
    "NoC-OKLR": ("No Copyright - Other Known Legal Restrictions",
                 "لا حقوق مؤلف - قيود قانونية أخرى معروفة", "无版权 - 有其他已知法律限制"),
    "NoC-US": ("No Copyright - United States", "لا حقوق مؤلف - الولايات المتحدة",
               "无版权 - 美国"),
    "CNE": ("Copyright Not Evaluated", "لم تُقيَّم حقوق المؤلف", "版权未评估"),
    "UND": ("Copyright Undetermined", "حقوق المؤلف غير محددة", "版权状态未确定"),
    "NKC": ("No Known Copyright", "لا حقوق مؤلف معروفة", "无已知版权"),
}
_CC = re.compile(r"^https?://creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/([0-9.]+)/?")


def rights_uri(item: Item) -> str:
    """The item's rights statement URI: its `rights_uri` column when it is a rightsstatements.org
    or creativecommons.org URI, else Copyright Not Evaluated."""
    uri = item.extra.get("rights_uri", "").strip()
    return uri if uri.startswith(RIGHTS_URI_PREFIXES) else DEFAULT_RIGHTS_URI


def rights_text(uri: str) -> dict[str, str]:
    """{"en", "ar", "zh-Hans", "zh-Hant"}: the readable name of a rights statement URI.

    rightsstatements.org statements by their code; Creative Commons licences and tools by their
    path (`CC BY 4.0`, `CC0 1.0`, `Public Domain Mark 1.0`); any other URI as itself.
    """
    match = re.match(r"^https?://rightsstatements\.org/vocab/([A-Za-z-]+)/", uri)
    if match and match.group(1) in _STATEMENTS:
        en, ar, zh = _STATEMENTS[match.group(1)]
        return {"en": en, "ar": ar, "zh-Hans": zh, "zh-Hant": _traditional(zh)}
    match = _CC.match(uri)
    if match:
        kind, code, version = match.groups()
        if kind == "publicdomain":
            name = {"zero": "CC0", "mark": "Public Domain Mark"}.get(code, code)
            return {"en": f"{name} {version}", "ar": f"{name} {version}",
                    "zh-Hans": f"{name} {version}", "zh-Hant": f"{name} {version}"}
        name = f"CC {code.upper()} {version}"
        return {"en": f"Creative Commons licence {name}", "ar": f"رخصة المشاع الإبداعي {name}",
                "zh-Hans": f"知识共享许可协议 {name}", "zh-Hant": f"創用CC授權條款 {name}"}
    return {"en": uri, "ar": uri, "zh-Hans": uri, "zh-Hant": uri}


def _traditional(text: str) -> str:
    from kernel.scripts import other_chinese_form

    return other_chinese_form(text, "Hans")
