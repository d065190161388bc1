"""The pipeline bench's process measures: PSS below summed RSS for forked processes, and CPU
seconds that still count a child once it has exited."""

import os
import subprocess
import sys
import time

import pytest

from bench.pipeline.measure import MemorySampler, pss, tree, tree_cpu

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"),
                                reason="needs Linux /proc/PID/smaps_rollup")


def test_pss_of_forked_children_is_less_than_their_summed_rss():
    """Three children of one Python share its pages: RSS counts them three times, PSS once."""
    code = "import time, json, xml.etree.ElementTree; time.sleep(5)"
    kids = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
    try:
        time.sleep(1.5)
        sampler = MemorySampler(os.getpid(), every=0.1)
        sampler.start()
        time.sleep(0.5)
        sampler.stop.set()
        sampler.join()
        result = sampler.result()
        assert {k.pid for k in kids} <= {p.pid for p in tree(os.getpid())}
        assert pss(kids[0].pid) > 0
        assert 0 < result["peak_pss_mb"] < result["peak_rss_sum_mb"], result
    finally:
        for k in kids:
            k.kill()
            k.wait()


def test_cpu_of_a_tree_counts_children_that_exited():
    before = tree_cpu(os.getpid())
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    assert tree_cpu(os.getpid()) - before > 0.05
