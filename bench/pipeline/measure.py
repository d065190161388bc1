"""What the pipeline bench measures about processes: memory (PSS and RSS) and CPU seconds.

Memory: the sum over a process tree of each process's RSS counts every shared page (Python's
and Airflow's code, the libraries, copy-on-write memory of forked workers) once per process
that maps it, so on the embedded Airflow, a dozen processes forked from a few parents, it
overstates what the machine gives the pipeline. PSS (proportional set size, `Pss:` in
/proc/PID/smaps_rollup) charges each shared page to its sharers in equal parts, so the sum
of PSS over the tree is the memory the tree holds. Both are sampled; PSS is the headline.

CPU: the seconds the tree's processes spent on a CPU (user + system), including descendants
that exited and were waited for (a task process, a tesseract run). On a loaded machine wall
time is inflated by everyone else's work, CPU seconds much less, so the bench reports both.
"""

import threading
import time
from pathlib import Path

import psutil


def tree(*pids: int) -> list[psutil.Process]:
    """The processes `pids` and all their descendants that are alive now."""
    procs: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root] + root.children(recursive=True):
                procs[proc.pid] = proc
        except psutil.Error:
            continue
    return list(procs.values())


def pss(pid: int) -> int:
    """Bytes of the process's proportional set size; 0 when it is gone or unreadable."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_cpu(*pids: int) -> float:
    """CPU seconds of the trees of `pids`: every live process's own time plus the time of its
    children that exited and were reaped (so a finished task process still counts)."""
    total = 0.0
    for proc in tree(*pids):
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def cpu_by_part(parts: dict[str, int]) -> dict[str, float]:
    """`tree_cpu` for each named root, with task processes (LocalExecutor workers, the task
    processes they fork and what those run, tesseract included) counted apart as "tasks"."""
    out: dict[str, float] = {}
    for name, pid in parts.items():
        for proc in tree(pid):
            try:
                t = proc.cpu_times()
            except psutil.Error:
                continue
            part = "tasks" if kind(proc) in ("task", "tesseract") else name
            out[part] = out.get(part, 0.0) + t.user + t.system + t.children_user + t.children_system
    return out


def kind(proc: psutil.Process) -> str:
    """A short name for what a process of the embedded Airflow is, for the memory breakdown."""
    try:
        cmd = " ".join(proc.cmdline())[:300]
        name = proc.name()
    except psutil.Error:
        return "gone"
    if "api_server" in cmd:  # the api-server renames its process
        return "api-server"
    for key in ("api-server", "dag-processor", "triggerer", "scheduler", "tesseract",
                "postgres", "cadl run"):
        if key in cmd or key == name:
            return key
    if "supervisor" in cmd or "task" in name or "airflow worker" in cmd:
        return "task"
    return name


class MemorySampler(threading.Thread):
    """Peaks of the summed PSS and summed RSS of some process trees, sampled every `every` s.

    At the PSS peak it keeps the breakdown by kind of process (`kind`), which says where the
    memory is held."""

    def __init__(self, *pids: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.peak_pss = self.peak_rss = 0
        self.breakdown: dict[str, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rss = pss_total = 0
            by_kind: dict[str, int] = {}
            for proc in tree(*self.pids):
                try:
                    rss += proc.memory_info().rss
                except psutil.Error:
                    continue
                p = pss(proc.pid)
                pss_total += p
                k = kind(proc)
                by_kind[k] = by_kind.get(k, 0) + p
            self.peak_rss = max(self.peak_rss, rss)
            if pss_total > self.peak_pss:
                self.peak_pss, self.breakdown = pss_total, by_kind
            time.sleep(self.every)

    def result(self) -> dict:
        mb = 2 ** 20
        return {"peak_pss_mb": round(self.peak_pss / mb),
                "peak_rss_sum_mb": round(self.peak_rss / mb),
                "pss_at_peak_mb": {k: round(v / mb) for k, v in
                                   sorted(self.breakdown.items(), key=lambda kv: -kv[1])}}
