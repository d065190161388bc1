"""The batch report as one self-contained HTML page, for the archivist who signs a batch off.

Airflow's UI shows tasks; an archivist needs to see a page image beside its OCR text, which
Arabic page came out reversed and which item went to quarantine and why. The page is built from
the same report dict as report.json (plus the batch's item metadata from batch.json) and carries
everything inline: thumbnails as data: URIs, styles in a <style> element, system fonts only, so
it opens from a mail attachment or a USB stick and never makes a network request.

Fields written by other stages are rendered when present, so their data shows up without a
change here: item `quarantine` (location and reason), page `flags` (e.g. "low_confidence",
"script_mismatch", "empty_page"), page `held`, item statuses such as "held" or "quarantined".

Over 400 lines because the view also shows, per item, the catalogue record and each field's
source and the serial hierarchy (issue 18), which read the same item data as the rest.
"""

import base64
import datetime as dt
import logging
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from kernel.languages import LANGUAGES

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE = "batch_report.html.j2"
TEXT_LIMIT = 20_000  # characters of OCR text shown per page; the rest stays in the package

# Known statuses, in the order the summary lists them; unknown ones follow with their own name.
STATUSES = {
    "published": ("Published", "preserved and shown on the portals"),
    "preserved": ("Preserved only", "kept, not shown: restricted or under embargo"),
    "held": ("Held for review", "preserved, waiting for a person to check its OCR"),
    "quarantined": ("Quarantined", "set aside with its report; fix and resend"),
    "invalid": ("Invalid", "breaks the batch contract; see its problems"),
    "failed": ("Failed", "stopped at a stage; see that task's log in Airflow"),
    "container": ("Title or volume", "no pages of its own; its METS and IIIF Collection list "
                  "its issues or volumes in order"),
}
SUMMARY_ALWAYS = ("published", "preserved", "held", "quarantined")
STAGE_ORDER = ("validate", "ocr", "describe", "package", "deposit", "publish")
FLAG_LABELS = {
    "low_confidence": "low confidence",
    "script_mismatch": "script mismatch",
    "empty_page": "empty page",
    "empty": "empty page",
    "many_low_confidence_words": "many low-confidence words",
    "held": "held for review",
}

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")


# --- languages ---------------------------------------------------------------------------------

def chinese_tag(languages: list[str]) -> str:
    """The item's own Chinese tag, else zh-Hans: the same rule as the MODS parallel titles."""
    for tag in languages:
        if tag.lower().startswith("zh"):
            return LANGUAGES.get(tag, LANGUAGES["zh-Hans"]).tag
    return "zh-Hans"


def text_language(text: str, languages: list[str]) -> tuple[str | None, str | None]:
    """(lang, dir) for a piece of text, from the script most of its letters are written in.

    Arabic gets ("ar", "rtl"); Han characters get the item's Chinese tag, so a Traditional
    Chinese book's text picks Traditional glyphs; Latin gets "en"; text without letters gets
    (None, None) and inherits its surroundings.
    """
    counts = {"ar": len(_ARABIC.findall(text)), "zh": len(_HAN.findall(text)),
              "en": len(_LATIN.findall(text))}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        return None, None
    if best == "ar":
        return "ar", "rtl"
    if best == "zh":
        return chinese_tag(languages), "ltr"
    return "en", "ltr"


@dataclass
class Block:
    """Consecutive lines of one language, rendered as one element with its lang and dir."""

    lang: str | None
    dir: str | None
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def text_blocks(text: str, languages: list[str]) -> list[Block]:
    """Split OCR text into runs of lines of one language (a bilingual page alternates)."""
    blocks: list[Block] = []
    for line in text.splitlines():
        lang, direction = text_language(line, languages)
        if blocks and (lang is None or (lang, direction) == (blocks[-1].lang, blocks[-1].dir)):
            blocks[-1].lines.append(line)
        elif lang is None and not line.strip():
            continue  # blank lines before the first text
        else:
            blocks.append(Block(lang, direction, [line]))
    for block in blocks:
        while block.lines and not block.lines[-1].strip():
            block.lines.pop()
    return [b for b in blocks if b.lines]


# --- reading what the report points at ---------------------------------------------------------

class Fetcher:
    """Reads files the report points at (storage URIs or landing-zone paths), best effort.

    The report must be written whatever failed before it, so a file that cannot be read gives
    None and a logged reason instead of an exception.
    """

    def __init__(self, settings):
        self.settings = settings
        self._stores = None

    def _storages(self):
        if self._stores is None:
            from preservation.backends import open_storage

            self._stores = []
            for url in dict.fromkeys((self.settings.preservation_url, self.settings.access_url)):
                try:
                    storage = open_storage(url, self.settings)
                    self._stores.append((storage.uri("k")[:-1], storage))
                except Exception as exc:  # storage down: the report still lists everything
                    log.warning("report: cannot open storage %s: %s", url, exc)
        return self._stores

    def read(self, uri: str | None) -> bytes | None:
        """The bytes behind a storage URI, or None (logged) when it cannot be read."""
        if not uri:
            return None
        for base, storage in self._storages():
            if uri.startswith(base):
                try:
                    return storage.get_bytes(uri[len(base):])
                except Exception as exc:
                    log.warning("report: cannot read %s: %s", uri, exc)
                    return None
        log.warning("report: %s is in neither preservation nor access storage", uri)
        return None

    def thumbnail(self, data: bytes | None, path: Path | None, name: str) -> tuple[str | None, str]:
        """(data: URI of a JPEG thumbnail, reason when there is none) from bytes or a file."""
        from publication.publish import make_thumbnail

        if data is None and (path is None or not path.is_file()):
            return None, "the image is not available"
        with tempfile.TemporaryDirectory(prefix="cadl-report-") as tmp:
            src = path
            if data is not None:
                src = Path(tmp) / ("src" + Path(name).suffix.lower())
                src.write_bytes(data)
            try:
                thumb = make_thumbnail(src, Path(tmp) / "thumb.jpg", self.settings.thumbnail_px)
            except Exception as exc:
                return None, f"the image cannot be decoded ({type(exc).__name__}: {exc})"
            return "data:image/jpeg;base64," + base64.b64encode(thumb.read_bytes()).decode(), ""


# --- the view ----------------------------------------------------------------------------------

def _seconds(stage: dict) -> float | None:
    try:
        return (dt.datetime.fromisoformat(stage["finished"])
                - dt.datetime.fromisoformat(stage["started"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, sec = divmod(round(seconds), 60)
    return f"{minutes} min {sec:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def stage_times(report: dict) -> list[dict]:
    """Per stage: items that went through it, total and slowest time (from state.json stages)."""
    per_stage: dict[str, list[tuple[float, str]]] = {}
    for item in report["items"]:
        for name, stage in (item.get("stages") or {}).items():
            seconds = _seconds(stage) if isinstance(stage, dict) else None
            if seconds is not None:
                per_stage.setdefault(name, []).append((seconds, item["item_id"]))
    order = [s for s in STAGE_ORDER if s in per_stage] + sorted(set(per_stage) - set(STAGE_ORDER))
    rows = []
    for name in order:
        times = per_stage[name]
        slowest = max(times)
        rows.append({"stage": name, "count": len(times), "total": _duration(sum(t for t, _ in times)),
                     "slowest": _duration(slowest[0]), "slowest_item": slowest[1]})
    return rows


def _flags(page: dict) -> list[dict]:
    """Page flags from whichever shape the OCR stage records: names, dicts, or a name→detail map."""
    raw = page.get("flags")
    if raw is None and isinstance(page.get("quality"), dict):
        raw = page["quality"].get("flags")
    found: list[tuple[str, str | None]] = []
    if isinstance(raw, dict):
        found = [(k, None if isinstance(v, bool) else str(v)) for k, v in raw.items() if v]
    elif isinstance(raw, (list, tuple)):
        for flag in raw:
            if isinstance(flag, dict):
                name = flag.get("flag") or flag.get("code") or flag.get("name") or flag.get("type")
                found.append((str(name or "flag"), flag.get("message") or flag.get("detail")))
            elif flag:
                found.append((str(flag), None))
    held = page.get("held") or page.get("review") or page.get("status") == "held"
    if held and "held" not in dict(found):
        found.append(("held", None))
    return [{"code": code, "label": FLAG_LABELS.get(code, code.replace("_", " ")),
             "detail": detail} for code, detail in found]


def _metadata(item: dict, meta: dict) -> list[dict]:
    """Descriptive rows with the lang and dir each value is written in."""
    langs = item["languages"]
    rows = []

    def add(label, value, lang=None, direction=None):
        if value in (None, "", [], {}):
            return
        if lang is None:
            lang, direction = text_language(str(value), langs)
        rows.append({"label": label, "value": value, "lang": lang, "dir": direction or "auto"})

    if item.get("record"):
        rec = item["record"]
        formats = {"marc21": "MARC 21", "unimarc": "UNIMARC"}
        add("Catalogue record", f"{rec['control_number']} ({formats.get(rec['format'], rec['format'])}"
            f", from {rec['source']})", "en", "ltr")
    primary = LANGUAGES.get(langs[0]) if langs else None
    add("Title", item["title"], primary.tag if primary else None,
        primary.direction if primary and primary.direction == "rtl" else "ltr")
    titles = meta.get("titles") or {}
    for key, label in (("ar", "Arabic title"), ("zh", "Chinese title"), ("en", "English title")):
        if key == "zh":
            add(label, titles.get(key), chinese_tag(langs), "ltr")
        elif key == "ar":
            add(label, titles.get(key), "ar", "rtl")
        else:
            add(label, titles.get(key), "en", "ltr")
    for key in sorted(set(titles) - {"ar", "zh", "en"}):
        add(f"Title ({key})", titles[key])
    add("Creator", meta.get("creator"))
    add("Date", meta.get("date"), "en", "ltr")
    add("Publisher", meta.get("publisher"))
    add("Place", meta.get("place"))
    for subject in meta.get("subjects") or []:
        add("Subject", subject)
    add("Identifier", meta.get("identifier"), "en", "ltr")
    for key, value in sorted((meta.get("extra") or {}).items()):
        add(key, value)
    # Issue 18: where each field came from, when a catalogue record described the item.
    sources = item.get("sources") or {}
    fields = {"Title": "title", "Arabic title": "title_ar", "Chinese title": "title_zh",
              "English title": "title_en", "Creator": "creator", "Date": "date",
              "Publisher": "publisher", "Place": "place", "Subject": "subjects",
              "Identifier": "identifier"}
    if item.get("record"):
        for row in rows:
            name = fields.get(row["label"])
            if name:
                row["source"] = sources.get(name, "manifest")
    return rows


def _hierarchy(item: dict) -> dict | None:
    """Where an item sits: its title (and volume) with its numbering, for the report."""
    h = item.get("hierarchy")
    if not h:
        return None
    path = [a["title"] or a["item_id"] for a in h.get("ancestors") or []] or \
        ([h["parent"]] if h.get("parent") else [])
    numbering = ", ".join(f"{label} {h[key]}" for key, label in
                          (("volume", "vol."), ("issue", "no."), ("part", "pt.")) if h.get(key))
    return {"path": path, "numbering": numbering, "container": h.get("container")}


def _quarantine(value) -> list[dict]:
    """Key/value rows for an item's quarantine record, whatever its shape."""
    if not value:
        return []
    if isinstance(value, dict):
        return [{"key": k, "value": v if isinstance(v, str) else str(v)} for k, v in value.items()]
    return [{"key": "location", "value": str(value)}]


def _page_view(page: dict, src: dict | None, item: dict, fetcher: Fetcher,
               batch_dir: Path | None) -> dict:
    name = page.get("original_name") or (src or {}).get("original_name") or f"page {page['seq']}"
    thumb, why = None, "the image is not available"
    if fetcher is not None:
        data = None
        if item.get("access") and item.get("status") == "published":
            data = fetcher.read(f"{item['access'].rstrip('/')}/thumbnails/p{page['seq']:04d}.jpg")
        if data is None and page.get("master"):
            data = fetcher.read(page["master"])
        landing = (batch_dir / src["path"]) if (src and batch_dir and data is None) else None
        thumb, why = fetcher.thumbnail(data, landing, name)
    text, text_note = None, None
    if page.get("text") and fetcher is not None:
        raw = fetcher.read(page["text"])
        if raw is None:
            text_note = "the recognized text cannot be read"
        else:
            text = raw.decode("utf-8", errors="replace")
            if len(text) > TEXT_LIMIT:
                text, text_note = text[:TEXT_LIMIT], f"first {TEXT_LIMIT} characters shown"
    elif not page.get("text"):
        text_note = "no OCR text (the item did not reach OCR)"
    conf = page.get("confidence")
    return {
        "seq": page["seq"], "name": name, "thumbnail": thumb, "no_thumbnail": why,
        "confidence": f"{conf:.1f}" if isinstance(conf, (int, float)) else None,
        "flags": _flags(page),
        "blocks": text_blocks(text, item["languages"]) if text else [],
        "empty_text": text is not None and not text.strip(), "text_note": text_note,
        "sha512": (src or {}).get("sha512"), "md5": (src or {}).get("md5"),
        "format": (src or {}).get("format"), "size": (src or {}).get("size"),
        "files": [(k, page[k]) for k in ("master", "text", "alto", "hocr") if page.get(k)],
    }


def build_view(report: dict, batch: dict | None, fetcher: Fetcher | None) -> dict:
    """Everything the template shows, computed here so the template only lays it out."""
    meta_by_id = {i["item_id"]: i for i in (batch or {}).get("items", [])}
    batch_dir = Path(batch["path"]) if batch and batch.get("path") else None
    counts = Counter(i["status"] for i in report["items"])
    order = list(STATUSES) + sorted(set(counts) - set(STATUSES))
    summary = [{"status": s, "label": STATUSES.get(s, (s.title(), ""))[0],
                "help": STATUSES.get(s, ("", ""))[1], "count": counts.get(s, 0)}
               for s in order if counts.get(s) or s in SUMMARY_ALWAYS]
    items = []
    for item in report["items"]:
        meta = meta_by_id.get(item["item_id"], {})
        sources = {p["seq"]: p for p in meta.get("pages", [])}
        pages = [_page_view(p, sources.get(p["seq"]), item, fetcher, batch_dir)
                 for p in item["pages"]]
        stages = [{"stage": name, "time": _duration(_seconds(s) if isinstance(s, dict) else None)}
                  for name, s in (item.get("stages") or {}).items()]
        items.append({
            "id": item["item_id"], "status": item["status"],
            "status_label": STATUSES.get(item["status"], (item["status"],))[0],
            "languages": item["languages"], "reading_direction": item["reading_direction"],
            "rights": item["rights"], "portals": item.get("portals") or [],
            "metadata": _metadata(item, meta),
            "hierarchy": _hierarchy(item),
            "problems": item.get("problems") or [],
            "quarantine": _quarantine(item.get("quarantine")),
            "bag": item.get("bag"), "access": item.get("access"),
            "version": item.get("version"), "new_version": item.get("new_version"),
            "stages": stages, "pages": pages,
            "flagged": sum(bool(p["flags"]) for p in pages),
            "reviews": item.get("reviews") or [],  # archivists' decisions (issue 16)
        })
    started = report.get("started")
    wall = None
    if started:
        wall = _seconds({"started": started, "finished": report["finished"]})
    return {
        "report": report, "summary": summary, "items": items,
        "pages": report["summary"]["pages"],
        "flagged_pages": sum(i["flagged"] for i in items),
        "stage_times": stage_times(report), "wall": _duration(wall),
        "problems": report.get("problems") or [],
        "batch_quarantine": _quarantine(report.get("quarantine")),
        "containers": [{**c, "titles": {i["item_id"]: i["title"] for i in report["items"]}}
                       for c in report.get("containers") or []],
    }


def render_html(report: dict, batch: dict | None, fetcher: Fetcher | None) -> str:
    """The report page; every value is escaped by the template engine (autoescape)."""
    # Lenient about missing fields: the report JSON grows as other stages record more.
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template(TEMPLATE).render(**build_view(report, batch, fetcher))


def html_report(report: dict, batch: dict | None, settings) -> str:
    """The report page for a report dict, with thumbnails and text read from storage."""
    return render_html(report, batch, Fetcher(settings))
