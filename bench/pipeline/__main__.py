"""Time the whole path (validate → OCR → describe → package → deposit → publish) against the
OCR floor of the same pages, and measure Airflow's overhead per task and the peak memory.

    .venv/bin/python -m bench.pipeline [--pages 24 200 1000] [--out bench/results/pipeline.json]

The OCR floor is the CPU time that the chosen engines, single-threaded, need to recognise every
page once (`ocr.routing` as the pipeline routes it: PP-OCR for Chinese, tesseract for Arabic,
per line on bilingual pages; the PP-OCR models loaded before the clock starts), divided by the
cores: no OCR pipeline on this machine can finish sooner. The pipeline runs twice, side by side on
the same batch: on the default path (`cadl run`: the embedded Airflow's scheduler, LocalExecutor,
Postgres; started before the clock starts) and on the debugging path (`cadl run --dags-test`:
every task serially in one process, SQLite, migrated before the clock starts). Peak memory is
the largest sum of RSS over the process trees involved (the client and, on the default path,
every embedded Airflow process and its children), sampled every 0.2 s. Per stage: the span from
the first start to the last end of that stage's task instances, from Airflow's own records.

    .venv/bin/python -m bench.pipeline --pages 42 200 --no-floor --markdown
"""

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

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


class RssSampler(threading.Thread):
    """Peak of the summed RSS of some processes and all their descendants."""

    def __init__(self, *pids: int):
        super().__init__(daemon=True)
        self.pids, self.peak, self.stop = pids, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            for pid in self.pids:
                try:
                    root = psutil.Process(pid)
                    procs = [root] + root.children(recursive=True)
                except psutil.Error:
                    continue
                for proc in procs:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)


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
        rows = db.execute("SELECT task_id, start_date, end_date FROM task_instance").fetchall()
    return [{"task_id": t, "start_date": s, "end_date": e} for t, s, e in rows]


def _env(work: Path, home: Path) -> dict[str, str]:
    return dict(os.environ, AIRFLOW_HOME=str(home),
                AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
                AIRFLOW__CORE__LOAD_EXAMPLES="False",
                CADL_WORK_DIR=str(work / "work"), CADL_REPORTS_DIR=str(work / "reports"),
                CADL_PRESERVATION_URL=(work / "preservation").as_uri(),
                CADL_ACCESS_URL=(work / "access").as_uri(), CADL_ALLOW_FILE_URLS="true")


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
        start = time.monotonic()
        with open(work / "cadl-run-scheduler.log", "wb") as log:
            proc = subprocess.Popen([str(BIN / "cadl"), "run", str(batch), "--json"], env=env,
                                    stdout=subprocess.PIPE, stderr=log)
            sampler = RssSampler(proc.pid, *embedded.pids.values())
            sampler.start()
            out, _ = proc.communicate()
            sampler.stop.set()
        wall = time.monotonic() - start
        report = json.loads(out)
        if report.get("state") != "success":
            raise SystemExit(f"cadl run ended {report.get('state')}; see {work}")
        tis = Api(embedded).task_instances("ingest_batch", report["run_id"])
    finally:
        stop(env)
        shutil.rmtree(home, ignore_errors=True)
    waits = [_ts(t["start_date"]) - _ts(t["queued_when"]) for t in tis
             if t.get("start_date") and t.get("queued_when")]
    in_tasks = sum(t["duration"] or 0 for t in tis)
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(sampler.peak / 2**20),
            "task_instances": len(tis), "time_in_tasks_s": round(in_tasks, 2),
            "airflow_overhead_per_task_s": round(sum(waits) / max(len(waits), 1), 3),
            "stages_s": stage_spans(tis), "summary": report["summary"]}


def run_pipeline(batch: Path, work: Path) -> dict:
    """The debugging path: `cadl run --dags-test`."""
    work.mkdir(parents=True, exist_ok=True)
    env = _env(work, work / "airflow")
    ensure_db(airflow_env(env))
    start = time.monotonic()
    with open(work / "cadl-run.log", "wb") as log:
        proc = subprocess.Popen([str(BIN / "cadl"), "run", str(batch), "--json", "--dags-test"], env=env,
                                stdout=subprocess.PIPE, stderr=log)
        sampler = RssSampler(proc.pid)
        sampler.start()
        out, _ = proc.communicate()
        sampler.stop.set()
    wall = time.monotonic() - start
    if proc.returncode:
        raise SystemExit(f"cadl run failed (exit {proc.returncode}); see {work / 'cadl-run.log'}")
    report = json.loads(out)
    tasks, in_tasks = task_durations(work / "airflow")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(sampler.peak / 2**20),
            "task_instances": tasks, "time_in_tasks_s": round(in_tasks, 2),
            "airflow_overhead_per_task_s": round((wall - in_tasks) / tasks, 3),
            "stages_s": stage_spans(_sqlite_tis(work / "airflow")),
            "summary": report["summary"]}


def side_by_side(results: dict) -> str:
    stages = ("ocr", "describe", "package", "deposit", "publish")
    rows = ["| pages | path | wall s | wall / OCR floor | task instances | Airflow overhead "
            "s/task | peak RSS MB | " + " | ".join(f"{s} s" for s in stages) + " |",
            "|---:|---|---:|---:|---:|---:|---:|" + "---:|" * len(stages)]
    for run in results["runs"]:
        floor = run.get("floor_s")
        cells = [str(run["pages_requested"]), "OCR floor", str(floor or "–"), "1.00"]
        rows.append("| " + " | ".join(cells + [""] * (3 + len(stages))) + " |")
        for path, label in (("scheduler", "`cadl run` (scheduler)"),
                            ("dags_test", "`cadl run --dags-test`")):
            r = run[path]
            rows.append(f"| {run['pages_requested']} | {label} | {r['wall_s']} | "
                        f"{r.get('wall_over_floor', '–')} | {r['task_instances']} | "
                        f"{r['airflow_overhead_per_task_s']} | {r['peak_rss_mb']} | "
                        + " | ".join(str(r["stages_s"].get(s, "–")) for s in stages) + " |")
    load = (f"load {results['load_before'][0]:.1f} before, {results['load_after'][0]:.1f} after, "
            f"{results['cores']} cores")
    return (f"`python -m bench.pipeline --markdown` ({load}). Overhead per task: on the "
            "scheduler, the mean wait from queued to running; under dags test, (wall − time in "
            "tasks) / tasks. Stage columns: first start to last end of the stage's tasks.\n\n"
            + "\n".join(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[24, 200])
    parser.add_argument("--no-floor", type=int, nargs="*", default=[1000],
                        help="page counts measured for memory only (no OCR floor)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pipeline.json")
    parser.add_argument("--markdown", action="store_true",
                        help="write the side-by-side table into BENCHMARKS.md")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    results = {"cores": cores, "load_before": os.getloadavg(), "runs": []}
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
