"""The review step on Airflow's own scheduler: held items wait in their review tasks until a
person decides, in the Airflow UI ("Required actions") or with `cadl review decide`.

One batch, one run, five items the OCR check holds (Arabic, Simplified and Traditional Chinese
titles): one is decided in the Airflow UI in headless Chromium (publish), three with the command
line (publish, reocr, return), one by nobody (its deadline passes). The command line answers
the waiting review task through Airflow's HITL API, so each decision goes through
`cadl.review.decide` once, in the task's `apply` step, and the run goes on to `success`.

The session's embedded Airflow (`embedded_airflow`) runs with holding off (its other tests use
blank pages): this module restarts it with holding on and a deadline of a few minutes, and
restores it for the tests after it (a restart takes well under a minute; no second Airflow).
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree

from batchmaker import make_batch, page_bytes
from kernel.namespaces import PREMIS

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is needed")

BIN = Path(sys.executable).parent
DAG = "ingest_batch"
BATCH = "sched-review"
RUN = f"cadl__{BATCH}__1"
DEADLINE_HOURS = 0.07  # 4.2 minutes: ample to decide four items (it takes seconds)
ARTIFACTS = Path(__file__).resolve().parents[1] / "var" / "test-artifacts"
ITEMS = {  # item: (languages, title, what happens to it)
    "rv-ar-ui": ("ar", "كتاب الرحلة إلى الصين", "publish (Airflow UI)"),
    "rv-zh-reocr": ("zh-Hans", "丝绸之路游记", "reocr (command line)"),
    "rv-ar-ret": ("ar", "مخطوطة في الطب", "return (command line)"),
    "rv-zh-pub": ("zh-Hant", "絲綢之路遊記", "publish (command line)"),
    "rv-ar-late": ("ar", "ديوان الشعر", "nobody: deadline"),
}


@pytest.fixture(scope="module")
def review_airflow(embedded_airflow):
    """The session's embedded Airflow, restarted with holding on and a short deadline."""
    from cadl.embedded import ensure_running, stop

    env = dict(embedded_airflow["env"], CADL_OCR_HOLD_FOR_REVIEW="true",
               CADL_REVIEW_DEADLINE_HOURS=str(DEADLINE_HOURS))
    stop(embedded_airflow["env"])
    try:
        yield {"base": embedded_airflow["base"], "env": env, "embedded": ensure_running(env)}
    finally:
        stop(env)
        embedded_airflow["embedded"] = ensure_running(embedded_airflow["env"])


def _cadl(env, *args, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "cadl"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _wait(what, check, timeout: float, step: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        time.sleep(step)


def _task_logs(embedded, map_index: int) -> str:
    """The ends of the review tasks' logs for one item, to show when a decision failed."""
    folder = Path(embedded.home) / "logs" / f"dag_id={DAG}" / f"run_id={RUN}"
    return "\n".join(f"--- {p.relative_to(folder)}\n{p.read_text('utf-8', 'replace')[-3000:]}"
                     for p in sorted(folder.glob(f"task_id=review.*/map_index={map_index}/*.log")))


def _review_events(base: Path, item_id: str, version: int = 1) -> list[Path]:
    folder = base / "preservation" / "items" / item_id / f"v{version:04d}" / "events"
    return sorted(folder.glob("*-review-*.xml")) if folder.is_dir() else []


def _event(path: Path) -> dict:
    ns = {"premis": PREMIS}
    doc = etree.parse(str(path))
    people = [a.findtext("premis:agentName", namespaces=ns)
              for a in doc.findall(".//premis:agent", ns)
              if a.findtext("premis:agentType", namespaces=ns) == "person"]
    return {"type": doc.findtext(".//premis:event/premis:eventType", namespaces=ns),
            "outcome": doc.findtext(".//premis:eventOutcome", namespaces=ns),
            "detail": doc.findtext(".//premis:eventDetail", namespaces=ns), "people": people}


def _decide_in_the_ui(embedded, map_index: int, by: str, comment: str, decision: str,
                      meanwhile) -> str:
    """Log in to the Airflow UI, look at the list of required actions, call `meanwhile()`, open
    the review task's form, fill it in and choose `decision`; returns the form page's text
    (screenshots in var/test-artifacts)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from browser import chromium, full_page_screenshot
    from cadl.embedded import USER

    base = embedded.api_url
    with chromium(1280, 1000) as driver:
        wait = WebDriverWait(driver, 90)
        driver.get(f"{base}/auth/login/")
        wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys(USER)
        driver.find_element(By.NAME, "password").send_keys(embedded.password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: "/auth/login" not in d.current_url)

        # The list of everything waiting for a person: one row per held item.
        driver.get(f"{base}/required_actions")
        wait.until(lambda d: sum(f"Review {i} (batch {BATCH})" in d.find_element(
            By.TAG_NAME, "body").text for i in ITEMS) == len(ITEMS))
        full_page_screenshot(driver, ARTIFACTS / "review-required-actions.png")
        meanwhile()

        driver.get(f"{base}/dags/{DAG}/runs/{RUN}/tasks/review.decide/mapped/{map_index}"
                   "/required_actions")
        name = wait.until(ec.element_to_be_clickable((By.ID, "element_by")))
        text = driver.find_element(By.TAG_NAME, "body").text
        name.send_keys(by)
        driver.find_element(By.ID, "element_comment").send_keys(comment)
        driver.set_window_size(1280, 1000)
        driver.save_screenshot(str(ARTIFACTS / "review-task.png"))
        driver.find_element(By.CSS_SELECTOR, f"[data-testid=hitl-option-{decision}]").click()
        wait.until(lambda d: "response successful" in d.find_element(By.TAG_NAME, "body").text)
        return text


def test_held_items_wait_for_a_person_and_each_decision_goes_through_the_review_task(
        review_airflow, sample_batch, sample_items):
    from cadl.airflow_api import Api

    base, env, embedded = review_airflow["base"], review_airflow["env"], review_airflow["embedded"]
    api = Api(embedded)
    batch_dir, _ = sample_batch
    zh_page = (batch_dir / sample_items["zh-hans-book-001"].pages[0].path).read_bytes()
    rows = [{"item_id": i, "languages": lang, "title": title, "rights": "open",
             "reading_direction": "rtl" if lang == "ar" else "ltr"}
            for i, (lang, title, _) in ITEMS.items()]
    # A Chinese page in an item said to be Arabic (low confidence), and blank pages (empty).
    pages = {i: {"0001.png": page_bytes()} for i in ITEMS} | {"rv-ar-ui": {"0001.png": zh_page}}
    batch = make_batch(base / "batches", rows, batch_id=BATCH, pages=pages)
    client = subprocess.Popen([str(BIN / "cadl"), "run", str(batch), "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    clis = {}
    try:
        # 1. The run waits: one review task per held item, each awaiting a person's input.
        def waiting():
            if api.run(DAG, RUN) is None:
                return None  # the client has not triggered it yet
            tis = [t for t in api.task_instances(DAG, RUN) if t["task_id"] == "review.decide"]
            return tis if len(tis) == len(ITEMS) and all(
                t["state"] == "awaiting_input" for t in tis) else None

        _wait("five review tasks awaiting input", waiting, 900, 2)
        assert api.run(DAG, RUN)["state"] == "running"
        asks = {h["subject"].split()[1]: h for h in
                api.hitl_details(DAG, RUN, response_received=False)}
        assert set(asks) == set(ITEMS)
        assert "low_confidence" in asks["rv-ar-ui"]["body"]
        assert "empty" in asks["rv-zh-reocr"]["body"]
        assert f"report.html#item-rv-ar-ret" in asks["rv-ar-ret"]["body"]
        assert ITEMS["rv-zh-pub"][1] in asks["rv-zh-pub"]["body"]
        queue = json.loads(_cadl(env, "review", "list", "--json").stdout)
        assert {e["item_id"] for e in queue} == set(ITEMS)

        # 2. Three decisions on the command line at once, one in the UI meanwhile.
        decisions = {
            "rv-zh-pub": ["publish", "--by", "陳美玲", "--comment", "空白頁，已核對，可以發佈"],
            "rv-zh-reocr": ["reocr", "--by", "王芳", "--comment", "再试一次，不做二值化",
                            "--preprocess", "rescale"],
            "rv-ar-ret": ["return", "--by", "يوسف", "--comment",
                          "الصفحة فارغة؛ أعيدوا المسح 请重新扫描"],
        }
        def decide_on_the_command_line():
            clis.update({i: subprocess.Popen(
                [str(BIN / "cadl"), "review", "decide", i, *args, "--json"], env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for i, args in decisions.items()})

        ui_index = asks["rv-ar-ui"]["task_instance"]["map_index"]
        ui_comment = "النص صيني فعلاً؛ 文本正确，可以发布"
        from browser import CHROMEDRIVER, CHROMIUM

        if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
            shown = _decide_in_the_ui(embedded, ui_index, "Layla Haddad", ui_comment,
                                      "publish", decide_on_the_command_line)
            # The form shows the item's title as written, why it was held, and its fields.
            assert ITEMS["rv-ar-ui"][1] in shown and "page 1 (0001.png): low_confidence" in shown
            assert "Your name" in shown and "Comment" in shown
        else:  # no browser here: the same answer through the API the UI uses
            decide_on_the_command_line()
            api.answer_hitl(DAG, RUN, "review.decide", ui_index, ["publish"], {
                "by": "Layla Haddad", "comment": ui_comment, "engine": None,
                "preprocess": None, "tessdata": None})
        results = {}
        for item_id, proc in clis.items():
            out, err = proc.communicate(timeout=900)
            assert proc.returncode == 0, (item_id, err[-3000:], _task_logs(
                embedded, asks[item_id]["task_instance"]["map_index"]))
            results[item_id] = json.loads(out)
            assert results[item_id]["via"].startswith(f"Airflow review task {RUN} ["), out
            assert "answered the review task" in err
    except BaseException:
        for proc in [client, *clis.values()]:
            proc.kill()  # the run goes on in Airflow; the fixture's restart ends it
        raise
    out, err = client.communicate(timeout=1800)
    # 3. The run goes on by itself and succeeds; the undecided item's task ran out of time.
    outcome = json.loads(out)
    assert outcome["state"] == "success", err[-3000:]
    assert api.run(DAG, RUN)["state"] == "success"
    tis = {(t["task_id"], t["map_index"]): t["state"] for t in api.task_instances(DAG, RUN)}
    index = {h["subject"].split()[1]: h["task_instance"]["map_index"]
             for h in api.hitl_details(DAG, RUN)}
    late = index["rv-ar-late"]
    assert tis[("review.decide", late)] == "failed"
    for item_id in set(ITEMS) - {"rv-ar-late"}:
        assert tis[("review.decide", index[item_id])] == "success", item_id
        assert tis[("review.apply", index[item_id])] == "success", item_id
        applied = api.xcom(DAG, RUN, "review.apply", map_index=index[item_id])
        assert applied["item_id"] == item_id and applied["status"] != "decided elsewhere"

    # Each decision went through `decide` once: one PREMIS review event, the person named.
    expected = {"rv-ar-ui": ("publish", "Layla Haddad"), "rv-zh-reocr": ("reocr", "王芳"),
                "rv-ar-ret": ("return", "يوسف"), "rv-zh-pub": ("publish", "陳美玲")}
    for item_id, (decision, person) in expected.items():
        events = _review_events(base, item_id)
        assert len(events) == 1, (item_id, events)
        event = _event(events[0])
        assert (event["type"], event["outcome"], event["people"]) == (
            "review", decision, [person]), (item_id, event)
    assert _event(_review_events(base, "rv-ar-ui")[0])["detail"] == \
        "النص صيني فعلاً؛ 文本正确，可以发布"

    # Published: in the catalogue, with a IIIF manifest and an OAI-PMH record that carry the
    # review event.
    access = base / "access"
    catalogue = json.loads((access / "catalogue.json").read_text("utf-8"))
    listed = {i["item_id"] for i in catalogue["items"]}
    from preservation.backends import open_storage
    from publication.oai import Repository
    from kernel.settings import Settings

    settings = Settings(access_url=access.as_uri(), allow_file_urls=True)
    repo = Repository(open_storage(settings.access_url, settings), "http://portal.test",
                      "http://portal.test/oai", "cadl.test", "a@example.org", 100)
    for item_id in ("rv-ar-ui", "rv-zh-pub"):
        assert results.get(item_id, {"status": "published"})["status"] == "published"
        assert item_id in listed
        entry = json.loads((access / "items" / item_id / "item.json").read_text("utf-8"))
        assert [r["decision"] for r in entry["reviews"]] == ["publish"]
        manifest = json.loads((access / "items" / item_id / "manifest.json").read_text("utf-8"))
        premis = [s["id"] for s in manifest["seeAlso"] if "premis" in s.get("profile", "")]
        assert any(link.endswith(entry["reviews"][0]["premis"]) for link in premis), premis
        oai = repo.handle({"verb": ["GetRecord"], "metadataPrefix": ["oai_dc"],
                           "identifier": [f"oai:cadl.test:{item_id}"]}).decode("utf-8")
        assert entry["reviews"][0]["premis"] in oai and "idDoesNotExist" not in oai

    # Re-OCR: version 2, checked again (its page is still blank: held again, waiting as v2).
    assert results["rv-zh-reocr"]["version"] == 2 and results["rv-zh-reocr"]["new_version"]
    assert (base / "preservation" / "items" / "rv-zh-reocr" / "v0002" / "DEPOSITED.json").is_file()
    assert results["rv-zh-reocr"]["status"] == "held"
    # Return: quarantined with the reason the scanner station reads.
    returned = json.loads((base / "quarantine" / BATCH / "rv-ar-ret" / "report.json")
                          .read_text("utf-8"))["returned"]
    assert (returned["by"], returned["reason"]) == (
        "يوسف", "الصفحة فارغة؛ أعيدوا المسح 请重新扫描")
    for item_id in ("rv-zh-reocr", "rv-ar-ret", "rv-ar-late"):
        assert not (access / "items" / item_id).exists() and item_id not in listed

    # Nobody decided rv-ar-late: an alert, nothing published, still waiting.
    alerts = [json.loads(line) for line in
              (base / "reports" / "alerts.jsonl").read_text("utf-8").splitlines()]
    overdue = [a for a in alerts if a["kind"] == "review_overdue"]
    assert [a for a in overdue if "rv-ar-late" in a["message"]], alerts[-5:]
    assert not [a for a in overdue if any(i in a["message"] for i in expected)], overdue
    queue = {(e["item_id"], e["version"])
             for e in json.loads(_cadl(env, "review", "list", "--json").stdout)}
    assert queue == {("rv-ar-late", 1), ("rv-zh-reocr", 2)}
    report = json.loads((base / "reports" / BATCH / "report.json").read_text("utf-8"))
    statuses = {i["item_id"]: i["status"] for i in report["items"]}
    assert statuses == {"rv-ar-ui": "published", "rv-zh-pub": "published",
                        "rv-zh-reocr": "held", "rv-ar-ret": "quarantined",
                        "rv-ar-late": "held"}
