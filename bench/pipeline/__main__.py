"""Time the whole path (validate → OCR → describe → package → deposit → publish) against the
OCR floor of the same pages, and measure Airflow's overhead per task and the peak memory.

    .venv/bin/python -m bench.pipeline [--pages 24 200 1000] [--out bench/results/pipeline.json]

The OCR floor is the CPU time that the chosen engines, single-threaded, need to recognise every
page once (`ocr.routing` as the pipeline routes it: PP-OCR for Chinese, tesseract for Arabic,
per line on bilingual pages; the PP-OCR models loaded before the clock starts), divided by the
cores: no OCR pipeline on this machine can finish sooner. The pipeline runs through Airflow exactly as
`cadl run` does (`airflow dags test`, embedded SQLite), its metadata database migrated before
the clock starts. Peak memory is the largest sum of RSS over the `cadl run` process tree,
sampled every 0.2 s.
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
    """Peak of the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                root = psutil.Process(self.pid)
                procs = [root] + root.children(recursive=True)
                total = 0
                for proc in procs:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            time.sleep(0.2)


def task_durations(airflow_home: Path) -> tuple[int, float]:
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        rows = db.execute("SELECT duration FROM task_instance WHERE duration IS NOT NULL").fetchall()
    return len(rows), sum(r[0] for r in rows)


def run_pipeline(batch: Path, work: Path) -> dict:
    env = dict(os.environ, AIRFLOW_HOME=str(work / "airflow"),
               AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
               AIRFLOW__CORE__LOAD_EXAMPLES="False",
               CADL_WORK_DIR=str(work / "work"), CADL_REPORTS_DIR=str(work / "reports"),
               CADL_PRESERVATION_URL=(work / "preservation").as_uri(),
               CADL_ACCESS_URL=(work / "access").as_uri(), CADL_ALLOW_FILE_URLS="true")
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
            "summary": report["summary"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[24, 200])
    parser.add_argument("--no-floor", type=int, nargs="*", default=[1000],
                        help="page counts measured for memory only (no OCR floor)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pipeline.json")
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
            run.update(run_pipeline(batch, tmp))
            if "floor_s" in run:
                run["wall_over_floor"] = round(run["wall_s"] / run["floor_s"], 3)
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
    results["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
