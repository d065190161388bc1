"""Time the whole path (validate → OCR → describe → package → deposit → publish) against the
OCR floor of the same pages, and measure Airflow's overhead per task, CPU seconds and memory.

    .venv/bin/python -m bench.pipeline --pages 200 --markdown    # the table in BENCHMARKS.md
    .venv/bin/python -m bench.pipeline --pages 42                # a quicker check

The OCR floor is the CPU time that the chosen engines, single-threaded, need to recognise every
page once (`ocr.routing` as the pipeline routes it: PP-OCR for Chinese, tesseract for Arabic,
per line on bilingual pages; the PP-OCR models loaded before the clock starts), divided by the
cores: no OCR pipeline on this machine can finish sooner. The pipeline runs twice, side by side on
the same batch: on the default path (`cadl run`: the embedded Airflow's scheduler, LocalExecutor,
Postgres; started before the clock starts) and on the debugging path (`cadl run --dags-test`:
every task serially in one process, SQLite, migrated before the clock starts). Besides wall
time, the CPU seconds of every process involved are compared with the floor's (a shared,
loaded machine inflates wall time, CPU seconds much less). Peak memory is the largest sum of
PSS over the process trees involved (and, beside it, the sum of RSS, which counts shared pages
once per process), sampled every 0.5 s (`bench.pipeline.measure`). Per stage: the span from
the first start to the last end of that stage's task instances, from Airflow's own records.
"""

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.pipeline.measure import MemorySampler, cpu_by_part
from cadl.airflow_env import airflow_env, ensure_db
from kernel.settings import ROOT
from ingest.scaled_sample import write_scaled_sample
from ingest.validate import validate_batch

BIN = Path(sys.executable).parent


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def ocr_floor(batch: Path, cores: int) -> dict:
    """Recognise every page once with the routed engines, one page at a time; CPU s / cores."""
    from kernel.settings import Settings
    from ocr import ppocr, routing

    settings = Settings()
    items = validate_batch(batch).batch.items
    plans = [routing.plan(item.languages, item.reading_direction, settings.ocr_engines,
                          tessdata_dir=settings.tessdata_dir, timeout=600) for item in items]
    if any(p.ppocr_tags for p in plans):
        ppocr.instance()  # loading the models is not per-page work
    before = _cpu()
    pages = 0
    with tempfile.TemporaryDirectory() as tmp:
        for item, plan in zip(items, plans):
            for page in item.pages:
                routing.recognize_page(plan, batch / page.path, Path(tmp) / page.stem)
                pages += 1
    cpu = _cpu() - before
    return {"pages": pages, "ocr_cpu_s": round(cpu, 2), "floor_s": round(cpu / cores, 2)}


def task_durations(airflow_home: Path) -> tuple[int, float]:
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        rows = db.execute("SELECT duration FROM task_instance WHERE duration IS NOT NULL").fetchall()
    return len(rows), sum(r[0] for r in rows)


def _ts(value) -> float:
    import datetime as dt

    if isinstance(value, (int, float)):
        return float(value)
    return dt.datetime.fromisoformat(str(value).replace(" ", "T")).timestamp()


def stage_spans(tis: list[dict]) -> dict:
    """Seconds from the first start to the last end of each stage's task instances."""
    spans: dict[str, list[float]] = {}
    for ti in tis:
        if not ti.get("start_date") or not ti.get("end_date"):
            continue
        stage = ti["task_id"].split(".")[-1]
        lo, hi = spans.get(stage, [float("inf"), 0.0])
        spans[stage] = [min(lo, _ts(ti["start_date"])), max(hi, _ts(ti["end_date"]))]
    return {k: round(hi - lo, 1) for k, (lo, hi) in spans.items()}


def _sqlite_tis(airflow_home: Path) -> list[dict]:
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        rows = db.execute("SELECT task_id, start_date, end_date, duration "
                          "FROM task_instance").fetchall()
    return [{"task_id": t, "start_date": s, "end_date": e, "duration": d}
            for t, s, e, d in rows]


def _env(work: Path, home: Path) -> dict[str, str]:
    return dict(os.environ, AIRFLOW_HOME=str(home),
                AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
                AIRFLOW__CORE__LOAD_EXAMPLES="False",
                CADL_WORK_DIR=str(work / "work"), CADL_REPORTS_DIR=str(work / "reports"),
                CADL_PRESERVATION_URL=(work / "preservation").as_uri(),
                CADL_ACCESS_URL=(work / "access").as_uri(), CADL_ALLOW_FILE_URLS="true")


def handoffs(tis: list[dict]) -> float:
    """Mean seconds from a stage's end to the start of the same unit's next stage (the
    scheduler's latency between a task and its successor; OCR excluded, which may wait for its
    pool)."""
    order = ("ocr", "describe", "package", "deposit", "publish")
    by_unit: dict[int, dict[str, dict]] = {}
    for ti in tis:
        stage = ti["task_id"].split(".")[-1]
        if stage in order and ti.get("start_date") and ti.get("end_date"):
            by_unit.setdefault(ti.get("map_index", -1), {})[stage] = ti
    gaps = [_ts(u[b]["start_date"]) - _ts(u[a]["end_date"])
            for u in by_unit.values() for a, b in zip(order, order[1:]) if a in u and b in u]
    return round(sum(gaps) / max(len(gaps), 1), 2)


def stage_task_time(tis: list[dict]) -> dict:
    """Seconds inside the task instances of each stage, summed (Airflow's own durations)."""
    out: dict[str, float] = {}
    for ti in tis:
        stage = ti["task_id"].split(".")[-1]
        out[stage] = out.get(stage, 0.0) + (ti.get("duration") or 0.0)
    return {k: round(v, 1) for k, v in out.items()}


def run_scheduler(batch: Path, work: Path) -> dict:
    """The default path: `cadl run` as a client of the embedded Airflow (started untimed)."""
    import shutil

    from cadl.airflow_api import Api
    from cadl.embedded import ensure_running, stop

    work.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    os.chmod(home, 0o755)  # Postgres runs as the postgres user when we are root
    env = _env(work, home / "airflow")
    try:
        embedded = ensure_running(env)
        time.sleep(5)  # let the components settle after start-up (not the pipeline's work)
        pids = list(embedded.pids.values())
        cpu_before, client_before = cpu_by_part(embedded.pids), _children_cpu()
        idle = MemorySampler(*pids)
        idle.start()
        time.sleep(2)
        idle.stop.set()
        start = time.monotonic()
        with open(work / "cadl-run-scheduler.log", "wb") as log:
            proc = subprocess.Popen([str(BIN / "cadl"), "run", str(batch), "--json"], env=env,
                                    stdout=subprocess.PIPE, stderr=log)
            sampler = MemorySampler(proc.pid, *pids)
            sampler.start()
            out, _ = proc.communicate()
            sampler.stop.set()
        wall = time.monotonic() - start
        cpu_after = cpu_by_part(embedded.pids)
        parts = {k: round(v - cpu_before.get(k, 0.0), 1) for k, v in cpu_after.items()}
        parts["cadl run client"] = round(_children_cpu() - client_before, 1)
        cpu = sum(parts.values())
        report = json.loads(out)
        if report.get("state") != "success":
            raise SystemExit(f"cadl run ended {report.get('state')}; see {work}")
        tis = Api(embedded).task_instances("ingest_batch", report["run_id"])
        parse_ms = dag_parse_ms(embedded.logs / "dag_id=ingest_batch"
                                / f"run_id={report['run_id']}")
    finally:
        stop(env)
        shutil.rmtree(home, ignore_errors=True)
    waits = [_ts(t["start_date"]) - _ts(t["queued_when"]) for t in tis
             if t.get("start_date") and t.get("queued_when")]
    in_tasks = sum(t["duration"] or 0 for t in tis)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 1), "cpu_by_part_s": parts,
            **sampler.result(), "idle_pss_mb": idle.result()["peak_pss_mb"],
            "task_instances": len(tis), "time_in_tasks_s": round(in_tasks, 2),
            "airflow_overhead_per_task_s": round(sum(waits) / max(len(waits), 1), 3),
            "handoff_s": handoffs(tis), "dag_parse_ms": parse_ms,
            "stage_task_s": stage_task_time(tis),
            "stages_s": stage_spans(tis), "summary": report["summary"]}


def dag_parse_ms(run_logs: Path) -> float | None:
    """Mean milliseconds a task process spent parsing the DAG file at start-up (Airflow's own
    `dag_file_parse_ms` in each task log)."""
    import re

    found = [int(m) for log in run_logs.rglob("*.log")
             for m in re.findall(r'"dag_file_parse_ms":\s*(\d+)', log.read_text(errors="replace"))]
    return round(sum(found) / len(found)) if found else None


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def run_pipeline(batch: Path, work: Path) -> dict:
    """The debugging path: `cadl run --dags-test`."""
    work.mkdir(parents=True, exist_ok=True)
    env = _env(work, work / "airflow")
    ensure_db(airflow_env(env))
    cpu_before = _children_cpu()
    start = time.monotonic()
    with open(work / "cadl-run.log", "wb") as log:
        proc = subprocess.Popen([str(BIN / "cadl"), "run", str(batch), "--json", "--dags-test"],
                                env=env, stdout=subprocess.PIPE, stderr=log)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        out, _ = proc.communicate()
        sampler.stop.set()
    wall = time.monotonic() - start
    cpu = _children_cpu() - cpu_before
    if proc.returncode:
        raise SystemExit(f"cadl run failed (exit {proc.returncode}); see {work / 'cadl-run.log'}")
    report = json.loads(out)
    tasks, in_tasks = task_durations(work / "airflow")
    tis = _sqlite_tis(work / "airflow")
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 1), **sampler.result(),
            "task_instances": tasks, "time_in_tasks_s": round(in_tasks, 2),
            "airflow_overhead_per_task_s": round((wall - in_tasks) / tasks, 3),
            "stage_task_s": stage_task_time(tis),
            "stages_s": stage_spans(tis), "summary": report["summary"]}


def _summary(summary: dict) -> str:
    return f"{summary.get('items')} items: " + ", ".join(
        f"{v} {k}" for k, v in summary.items() if k not in ("items", "pages") and v)


def side_by_side(results: dict) -> str:
    stages = ("ocr", "describe", "package", "deposit", "publish")
    rows = ["| pages | path | wall s | wall / floor | CPU s | CPU / floor CPU | task instances | "
            "queued → running s | task → next task s | peak PSS MB | peak RSS-sum MB | "
            + " | ".join(f"{s} s" for s in stages) + " |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(stages)]
    notes = []
    for run in results["runs"]:
        n = run["pages_requested"]
        floor, floor_cpu = run.get("floor_s"), run.get("ocr_cpu_s")
        rows.append(f"| {n} | OCR floor | {floor or '–'} | 1.00 | {floor_cpu or '–'} | 1.00 |"
                    + " |" * (5 + len(stages)))
        for path, label in (("scheduler", "`cadl run` (scheduler)"),
                            ("dags_test", "`cadl run --dags-test`")):
            r = run[path]
            cpu_ratio = round(r["cpu_s"] / floor_cpu, 2) if floor_cpu else "–"
            rows.append(f"| {n} | {label} | {r['wall_s']} | {r.get('wall_over_floor', '–')} | "
                        f"{r['cpu_s']} | {cpu_ratio} | {r['task_instances']} | "
                        f"{r['airflow_overhead_per_task_s'] if path == 'scheduler' else '–'} | "
                        f"{r.get('handoff_s', '–')} | {r['peak_pss_mb']} | "
                        f"{r['peak_rss_sum_mb']} | "
                        + " | ".join(str(r["stages_s"].get(s, "–")) for s in stages) + " |")
        sch, dt = run["scheduler"], run["dags_test"]
        notes.append(
            f"- {n} pages ({_summary(sch['summary'])}): seconds inside the task instances per "
            "stage, "
            "scheduler / dags test: " + ", ".join(
                f"{s} {sch['stage_task_s'].get(s, '–')} / {dt['stage_task_s'].get(s, '–')}"
                for s in stages) +
            f"; under dags test, Airflow's own time per task (wall − time in tasks) / tasks: "
            f"{dt['airflow_overhead_per_task_s']} s; on the scheduler, each task process "
            f"parses the DAG file in {sch.get('dag_parse_ms')} ms (mean). Scheduler path's CPU "
            "seconds by part: "
            + ", ".join(f"{k} {v}" for k, v in sch["cpu_by_part_s"].items()) +
            f" (dags test: {dt['cpu_s']} in one process tree). Scheduler path's PSS at its "
            "peak, by "
            "process: " + ", ".join(f"{k} {v}" for k, v in sch["pss_at_peak_mb"].items()) +
            f" MB (idle embedded Airflow before the run: {sch['idle_pss_mb']} MB).")
    load = (f"load {results['load_before'][0]:.1f} before, {results['load_after'][0]:.1f} "
            f"after, {results['cores']} cores, {results['date']}, commit {results['commit']}")
    # The load after includes this bench's own last minute of work: only the load before says
    # whether other work shared the machine.
    busy = results["load_before"][0] > results["cores"] / 2
    caveat = (" **The machine was loaded by other work**: wall times and their ratio to the "
              "floor are inflated by it; the CPU columns compare better." if busy else "")
    return (f"`{results['command']}` ({load}).{caveat}\n\n"
            "The OCR floor: every page recognised once by the engines the pipeline routes to "
            "(PP-OCR for Chinese, tesseract for Arabic), one page at a time, its CPU seconds "
            "divided by the cores. Wall: the `cadl run` client's start to end (the embedded "
            "Airflow is started before the clock). CPU: user + system seconds of every process "
            "involved (client, embedded Airflow components, task processes, tesseract, "
            "Postgres), which a loaded machine inflates much less than wall time. Queued → "
            "running: mean wait of a task instance from queued to running; task → next task: "
            "mean gap from a unit's stage ending to its next stage starting. Memory: the peak "
            "of the summed **PSS** (shared pages divided among their sharers) of every process "
            "involved, sampled every 0.5 s, the headline; the summed RSS beside it counts "
            "shared pages once per process and overstates. Stage columns: first start to last "
            "end of the stage's tasks.\n\n" + "\n".join(rows) + "\n\n" + "\n".join(notes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[200])
    parser.add_argument("--no-floor", type=int, nargs="*", default=[],
                        help="page counts measured for memory only (no OCR floor)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pipeline.json")
    parser.add_argument("--markdown", action="store_true",
                        help="write the side-by-side table into BENCHMARKS.md")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True).stdout.strip() or "?"
    results = {"cores": cores, "load_before": os.getloadavg(), "runs": [],
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit,
               "command": "python -m bench.pipeline " + " ".join(argv or sys.argv[1:])}
    for pages in args.pages + [p for p in args.no_floor if p not in args.pages]:
        with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
            tmp = Path(tmp)
            batch, _ = write_scaled_sample(tmp / "landing", f"bench-{pages}", pages)
            run = {"pages_requested": pages}
            if pages in args.pages:
                run.update(ocr_floor(batch, cores))
            run["dags_test"] = run_pipeline(batch, tmp / "dags-test")
            run["scheduler"] = run_scheduler(batch, tmp / "scheduler")
            if "floor_s" in run:
                for path in ("dags_test", "scheduler"):
                    run[path]["wall_over_floor"] = round(run[path]["wall_s"] / run["floor_s"], 3)
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
    results["load_after"] = os.getloadavg()
    if args.markdown:
        from bench.markdown import write_section

        write_section("pipeline-scheduler", "Pipeline: the scheduler against dags test",
                      side_by_side(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
