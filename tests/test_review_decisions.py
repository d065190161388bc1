"""An archivist's decisions about held items: publish, re-OCR, return; each a PREMIS event.

The store is built once by running the pipeline's own stage functions on a two-item batch (one
Arabic item, one "Arabic" item whose page is Chinese, which the OCR quality check holds), as in
test_ocr_review_hold.py; each test works on its own copy of it. Decisions go through
`cadl review decide` (the CLI) or `cadl.review.decide`, the one function behind it.
"""

import datetime as dt
import json
import shutil

import pytest
from lxml import etree

from batchmaker import make_batch
from cadl import pipeline, review, review_overdue
from cadl.cli import main
from kernel.errors import UsageError
from kernel.namespaces import PREMIS
from kernel.settings import Settings, get_settings
from metadata.validate import validate

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is needed")

NS = {"premis": PREMIS}
HELD = "ar-garbled"


def _settings(root, **extra) -> Settings:
    return Settings(landing_dir=root / "landing", work_dir=root / "work",
                    reports_dir=root / "reports", quarantine_dir=root / "quarantine",
                    preservation_url=(root / "preservation").as_uri(),
                    access_url=(root / "access").as_uri(),
                    access_base_url="http://portal.test", **extra)


@pytest.fixture(scope="module")
def built_store(sample_batch, sample_items, tmp_path_factory):
    """A store after one run: ar-good published, ar-garbled held (its page is Chinese)."""
    root = tmp_path_factory.mktemp("review-store")
    batch_dir, _ = sample_batch
    ar_page = (batch_dir / sample_items["ar-book-001"].pages[0].path).read_bytes()
    zh_page = (batch_dir / sample_items["zh-hans-book-001"].pages[0].path).read_bytes()
    settings = _settings(root)
    batch = make_batch(settings.landing_dir, [
        {"item_id": "ar-good", "languages": "ar", "title": "كتاب"},
        {"item_id": HELD, "languages": "ar", "title": "كتاب آخر"},
    ], pages={"ar-good": {"0001.tif": ar_page}, HELD: {"0001.png": zh_page}})
    plan = pipeline.validate(str(batch), "run-1", settings)
    for unit in plan["units"]:
        for stage in (pipeline.ocr, pipeline.describe, pipeline.package, pipeline.deposit,
                      pipeline.publish):
            stage(unit, settings)
    pipeline.catalogue(settings)
    pipeline.report(plan, "run-1", settings)
    return root


@pytest.fixture
def store(built_store, tmp_path, monkeypatch):
    """A private copy of the built store, with the CLI's settings pointing at it."""
    root = tmp_path / "store"
    shutil.copytree(built_store, root, symlinks=True)
    settings = _settings(root)
    for name in ("landing_dir", "work_dir", "reports_dir", "quarantine_dir", "preservation_url",
                 "access_url", "access_base_url"):
        monkeypatch.setenv(f"CADL_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()
    yield root, settings
    get_settings.cache_clear()


def _review_records(root, item_id, version=1):
    folder = root / "preservation" / "items" / item_id / f"v{version:04d}" / "events"
    return sorted(folder.glob("*-review-*.xml")) if folder.is_dir() else []


def _assert_review_event(path, decision, person, comment):
    doc = etree.parse(str(path))
    assert validate(doc, "premis") == []
    assert doc.findtext(".//premis:event/premis:eventType", namespaces=NS) == "review"
    assert doc.findtext(".//premis:event/premis:eventOutcomeInformation/premis:eventOutcome",
                        namespaces=NS) == decision
    assert doc.findtext(".//premis:event/premis:eventDetailInformation/premis:eventDetail",
                        namespaces=NS) == comment
    people = [a for a in doc.findall(".//premis:agent", NS)
              if a.findtext("premis:agentType", namespaces=NS) == "person"]
    assert [a.findtext("premis:agentName", namespaces=NS) for a in people] == [person]
    note = doc.findtext(".//premis:eventOutcomeDetailNote", namespaces=NS)
    assert "page 1" in note and "low_confidence" in note


def test_the_queue_lists_the_held_item_with_batch_reason_age_and_report_link(store, capsys):
    root, settings = store
    assert main(["review", "list", "--json"]) == 0
    queue = json.loads(capsys.readouterr().out)
    assert [e["item_id"] for e in queue] == [HELD]
    entry = queue[0]
    assert entry["batch_id"] == "batch-001" and entry["version"] == 1
    assert "low_confidence" in entry["reason"] and "confidence" in entry["reason"]
    assert entry["report"].endswith(f"reports/batch-001/report.html#item-{HELD}")
    assert entry["age_hours"] >= 0 and entry["overdue"] is False
    assert main(["review", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{HELD}  batch batch-001  v1" in out and "1 item(s) waiting" in out


def test_publish_decision_publishes_the_preserved_version_with_its_review_event(store, capsys):
    root, settings = store
    comment = "النص صيني فعلاً؛ 文本正确，可以发布"
    assert main(["review", "decide", HELD, "publish", "--by", "Layla Haddad",
                 "--comment", comment]) == 0
    assert "published" in capsys.readouterr().out

    records = _review_records(root, HELD)
    assert len(records) == 1
    _assert_review_event(records[0], "publish", "Layla Haddad", comment)
    # What the portals get: item.json, the catalogue, IIIF, OAI-PMH, all with the event.
    access = root / "access"
    entry = json.loads((access / "items" / HELD / "item.json").read_text("utf-8"))
    assert [r["decision"] for r in entry["reviews"]] == ["publish"]
    assert entry["reviews"][0]["by"] == "Layla Haddad"
    assert (access / "items" / HELD / entry["reviews"][0]["premis"]).read_bytes() == \
        records[0].read_bytes()
    catalogue = json.loads((access / "catalogue.json").read_text("utf-8"))
    assert HELD in [i["item_id"] for i in catalogue["items"]]
    manifest = json.loads((access / "items" / HELD / "manifest.json").read_text("utf-8"))
    premis_links = [s["id"] for s in manifest["seeAlso"] if "premis" in s.get("profile", "")]
    assert premis_links == [f"http://portal.test/items/{HELD}/history.xml",
                            f"http://portal.test/items/{HELD}/{entry['reviews'][0]['premis']}"]
    # ... and the package history, where the review sits beside the deposit, the reviewer a
    # person, the partner an organization
    (reviewed,) = [e for e in entry["history"] if e["type"] == "review"]
    assert {"name": "Layla Haddad", "type": "person", "role": "implementer"} in reviewed["agents"]
    assert "organization" in {a["type"] for a in reviewed["agents"]}
    assert "accession" in [e["type"] for e in entry["history"]]
    from publication.oai import Repository
    from preservation.backends import open_storage

    repo = Repository(open_storage(settings.access_url, settings), "http://portal.test",
                      "http://portal.test/oai", "cadl.test", "a@example.org", 100)
    oai = repo.handle({"verb": ["GetRecord"], "metadataPrefix": ["oai_dc"],
                       "identifier": [f"oai:cadl.test:{HELD}"]}).decode("utf-8")
    assert premis_links[0] in oai and premis_links[1] in oai
    # The batch report shows the decision; the queue is empty; a second decision is refused.
    report = json.loads((root / "reports" / "batch-001" / "report.json").read_text("utf-8"))
    item = next(i for i in report["items"] if i["item_id"] == HELD)
    assert item["status"] == "published" and item["reviews"][0]["by"] == "Layla Haddad"
    assert report["summary"]["held"] == 0 and report["summary"]["published"] == 2
    html = (root / "reports" / "batch-001" / "report.html").read_text("utf-8")
    assert 'data-decision="publish"' in html and comment in html
    assert review.review_queue(settings) == []
    assert main(["review", "decide", HELD, "publish", "--by", "X", "--comment", "again"]) == 2
    assert "not waiting for review" in capsys.readouterr().err
    # A rerun of the batch keeps the item published: the decision is in its history.
    plan = pipeline.validate(str(root / "landing" / "batch-001"), "run-2", settings)
    for unit in plan["units"]:
        pipeline.publish(unit, settings)
    state = json.loads((root / "work" / "batch-001" / HELD / "state.json").read_text())
    assert state["status"] == "published"


def test_return_quarantines_the_item_and_the_next_preflight_report_shows_why(store, capsys):
    root, settings = store
    reason = "الصفحة ١ مقلوبة؛ 第1页扫描错误，请重新扫描"
    assert main(["review", "decide", HELD, "return", "--by", "王芳", "--comment", reason]) == 0
    capsys.readouterr()
    _assert_review_event(_review_records(root, HELD)[0], "return", "王芳", reason)
    quarantined = root / "quarantine" / "batch-001" / HELD
    record = json.loads((quarantined / "report.json").read_text("utf-8"))
    assert record["returned"]["by"] == "王芳" and record["returned"]["reason"] == reason
    assert (quarantined / "files" / "0001.png").is_file()
    assert not (root / "access" / "items" / HELD).exists()
    assert review.review_queue(settings) == []
    report = json.loads((root / "reports" / "batch-001" / "report.json").read_text("utf-8"))
    assert next(i for i in report["items"] if i["item_id"] == HELD)["status"] == "quarantined"

    # The technician's pre-flight check of a batch holding the item shows the reason.
    assert main(["validate", str(root / "landing" / "batch-001")]) == 0
    out = capsys.readouterr().out
    assert f"{HELD} was returned to the scanner station from review by 王芳" in out
    assert reason in out


def test_return_after_the_batch_was_released_copies_the_preserved_masters(store, capsys):
    root, settings = store
    shutil.rmtree(root / "landing" / "batch-001")
    review.decide(HELD, "return", "Layla Haddad", "rescan, the page is the wrong book",
                  settings=settings)
    files = root / "quarantine" / "batch-001" / HELD / "files"
    assert [p.name for p in files.rglob("*") if p.is_file()] == ["0001.png"]


def test_reocr_makes_version_2_and_checks_it_again(store, capsys):
    root, settings = store
    assert main(["review", "decide", HELD, "reocr", "--by", "Layla Haddad",
                 "--comment", "try without binarisation", "--preprocess", "rescale",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["version"] == 2 and result["new_version"] is True
    assert (root / "preservation" / "items" / HELD / "v0002" / "DEPOSITED.json").is_file()
    _assert_review_event(_review_records(root, HELD, 1)[0], "reocr", "Layla Haddad",
                         "try without binarisation")
    ocr = json.loads(next((root / "preservation" / "items" / HELD / "v0002").rglob(
        "ocr.json")).read_text("utf-8"))
    assert ocr["preprocess"] == ["rescale"]
    # Still a Chinese page read as Arabic: checked again, held again, back in the queue as v2.
    assert result["status"] == "held"
    queue = review.review_queue(settings)
    assert [(e["item_id"], e["version"]) for e in queue] == [(HELD, 2)]
    report = json.loads((root / "reports" / "batch-001" / "report.json").read_text("utf-8"))
    item = next(i for i in report["items"] if i["item_id"] == HELD)
    assert item["version"] == 2 and item["reviews"][0]["decision"] == "reocr"


def test_reocr_with_the_same_settings_is_refused(store):
    root, settings = store
    with pytest.raises(UsageError, match="these very OCR settings"):
        review.decide(HELD, "reocr", "A", "same again", engine="tesseract", settings=settings)
    with pytest.raises(UsageError, match="unknown OCR engine"):
        review.decide(HELD, "reocr", "A", "x", engine="abbyy", settings=settings)
    assert not _review_records(root, HELD)


@pytest.mark.parametrize("by,comment,message", [
    ("", "fine", "name of the person"), ("Layla", "  ", "needs a comment")])
def test_every_decision_needs_a_name_and_a_comment(store, by, comment, message):
    root, settings = store
    with pytest.raises(UsageError, match=message):
        review.decide(HELD, "publish", by, comment, settings=settings)
    assert not _review_records(root, HELD)
    assert not (root / "access" / "items" / HELD).exists()


def test_an_overdue_review_alerts_and_publishes_nothing(store):
    root, settings = store
    late = dt.datetime.now(dt.timezone.utc) + dt.timedelta(
        hours=settings.review_deadline_hours + 1)
    overdue = review_overdue.overdue_reviews(settings, now=late)
    assert [e["item_id"] for e in overdue] == [HELD]
    alerts = [json.loads(line) for line in
              (root / "reports" / "alerts.jsonl").read_text("utf-8").splitlines()]
    assert alerts[-1]["kind"] == "review_overdue" and HELD in alerts[-1]["message"]
    assert not (root / "access" / "items" / HELD).exists()
    assert [e["item_id"] for e in review.review_queue(settings, now=late)] == [HELD]



def test_review_alerts_go_to_the_reports_folder_of_the_settings_given(store, tmp_path,
                                                                     monkeypatch):
    """A caller's own settings win over the process's CADL_REPORTS_DIR: the alerts land beside
    the reports the collection view of those settings reads."""
    from cadl import review_task
    from cadl.collection import collection_view

    root, settings = store
    elsewhere = tmp_path / "其他-أخرى"
    monkeypatch.setenv("CADL_REPORTS_DIR", str(elsewhere))
    get_settings.cache_clear()
    late = dt.datetime.now(dt.timezone.utc) + dt.timedelta(
        hours=settings.review_deadline_hours + 1)
    review_overdue.overdue_reviews(settings, now=late)
    review_task.held_items("batch-001", settings=settings)
    review_task.deadline_passed(HELD, "batch-001", settings)
    alerts = [json.loads(line) for line in
              (root / "reports" / "alerts.jsonl").read_text("utf-8").splitlines()]
    assert [a["kind"] for a in alerts[-3:]] == ["review_overdue", "review_needed",
                                                "review_overdue"]
    assert not (elsewhere / "alerts.jsonl").exists()
    shown = [a["kind"] for a in collection_view(settings, now=late)["alerts"]]
    assert shown[:3] == ["review_overdue", "review_needed", "review_overdue"]

# --- the review task of ingest_batch (its functions; the scheduler test is not written yet) ---

def test_the_review_task_asks_about_each_held_item_and_tells_the_reviewers(store):
    from cadl import review_task

    root, settings = store
    asks = review_task.held_items("batch-001", settings=settings)
    assert [a["item_id"] for a in asks] == [HELD]
    body = asks[0]["body"]
    assert "page 1 (0001.png): low_confidence" in body and "mean confidence" in body
    assert f"report.html#item-{HELD})" in body and "{" not in body
    alerts = [json.loads(line) for line in
              (root / "reports" / "alerts.jsonl").read_text("utf-8").splitlines()]
    assert alerts[-1]["kind"] == "review_needed"
    assert review_task.held_items("batch-001", enabled=False, settings=settings) == []
    assert review_task.held_items(None, settings=settings) == []  # validate failed: no plan


def test_the_review_task_answer_goes_through_the_one_decision_function(store):
    from cadl import review_task

    root, settings = store
    ask = review_task.held_items("batch-001", settings=settings)[0]
    answer = {"chosen_options": ["publish"], "params_input": {
        "by": "", "comment": "checked by eye", "engine": None, "preprocess": None},
        "responded_by_user": {"id": "7", "name": "layla"}}
    result = review_task.apply_answer(ask, answer, settings)
    assert result["status"] == "published" and result["by"] == "layla"
    _assert_review_event(_review_records(root, HELD)[0], "publish", "layla", "checked by eye")
    # The same item answered again (decided meanwhile with the CLI): left as it is.
    again = review_task.apply_answer(ask, answer, settings)
    assert again["status"] == "decided elsewhere"
    assert len(_review_records(root, HELD)) == 1
    assert review_task.deadline_passed(HELD, "batch-001", settings) is False


def test_a_review_past_its_deadline_alerts_and_stays_held(store):
    from cadl import review_task

    root, settings = store
    assert review_task.deadline_passed(HELD, "batch-001", settings) is True
    alerts = [json.loads(line) for line in
              (root / "reports" / "alerts.jsonl").read_text("utf-8").splitlines()]
    assert alerts[-1]["kind"] == "review_overdue" and HELD in alerts[-1]["message"]
    assert not (root / "access" / "items" / HELD).exists()
    assert [e["item_id"] for e in review.review_queue(settings)] == [HELD]


def test_the_sweep_does_not_repeat_the_review_tasks_own_deadline_alert(store):
    """`review_overdue` (the DAG) runs `overdue_reviews(only_new=True)` every hour: a forgotten
    item alerts once, not every hour, and not again when its review task already did."""
    from cadl import review_task

    root, settings = store
    late = dt.datetime.now(dt.timezone.utc) + dt.timedelta(
        hours=settings.review_deadline_hours + 1)
    assert [e["item_id"] for e in review_overdue.overdue_reviews(
        settings, now=dt.datetime.now(dt.timezone.utc), only_new=True)] == []  # not yet due
    assert review_task.deadline_passed(HELD, "batch-001", settings) is True  # the task's alert
    assert review_overdue.overdue_reviews(settings, now=late, only_new=True) == []


def test_the_sweep_alerts_about_an_item_nobody_was_asked_about(store):
    root, settings = store
    late = dt.datetime.now(dt.timezone.utc) + dt.timedelta(
        hours=settings.review_deadline_hours + 1)
    first = review_overdue.overdue_reviews(settings, now=late, only_new=True)
    assert [e["item_id"] for e in first] == [HELD]
    assert review_overdue.overdue_reviews(settings, now=late, only_new=True) == []
    alerts = [json.loads(line) for line in
              (root / "reports" / "alerts.jsonl").read_text("utf-8").splitlines()]
    assert [a["kind"] for a in alerts].count("review_overdue") == 1
    assert not (root / "access" / "items" / HELD).exists()


def _decide_in_process(settings, by, start, results):
    start.wait()
    try:
        review.decide(HELD, "publish", by, "两人同时决定 / قرار متزامن", settings=settings)
        results.put((by, "decided"))
    except UsageError as exc:
        results.put((by, str(exc)))


def test_two_people_deciding_the_same_item_at_once_make_one_decision(store):
    """The Airflow UI and the command line can answer at the same moment: one decision is
    taken, the other is told who took it, and the report shows one."""
    import multiprocessing

    root, settings = store
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=_decide_in_process, args=(settings, by, start, results))
               for by in ("Layla Haddad", "王芳")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    outcomes = dict(results.get(timeout=5) for _ in workers)
    assert sorted(outcomes.values()).count("decided") == 1, outcomes
    loser = next(by for by, what in outcomes.items() if what != "decided")
    assert "already decided" in outcomes[loser] or "not waiting for review" in outcomes[loser]
    assert len(_review_records(root, HELD)) == 1
    report = json.loads((root / "reports" / "batch-001" / "report.json").read_text("utf-8"))
    item = next(i for i in report["items"] if i["item_id"] == HELD)
    assert item["status"] == "published" and len(item["reviews"]) == 1
    assert not list((root / "reports" / "batch-001").glob("*.tmp"))


def test_a_decision_on_an_id_that_could_be_a_path_is_refused(store):
    from kernel.errors import InvalidId

    with pytest.raises(InvalidId, match="item_id"):
        review.decide("../ar-good", "publish", "Layla Haddad", "تم", settings=store[1])
