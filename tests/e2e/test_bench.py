"""`python build.py bench` end to end: it drives the page as a visitor does (first visit, offline
copy, repeat visit, Train, Download model) and trains the same run on CPython. The bench is how
the tab's speed is measured (docs/bench.md), so a change to the page that breaks its driving
fails here rather than at the next measurement."""

import json
import math
import subprocess
import sys

from conftest import DIST, ROOT


def test_bench_trains_in_the_tab_and_on_cpython():
    proc = subprocess.run([sys.executable, "build.py", "bench", "--preset", "tiny", "--steps", "40", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    tab, cpython = result["tab"], result["cpython"]
    assert result["preset"] == "tiny" and result["steps"] == 40
    assert tab["tokens_per_s"] > 0 and cpython["tokens_per_s"] > 0
    assert math.isfinite(tab["final_val"])
    assert tab["first_visit"]["bytes_first_visit"] > tab["first_visit"]["bytes_until_ready"] > 0
    assert tab["off_origin_requests"] == []
    kernel = json.loads((DIST / "build.json").read_text()).get("kernel")
    assert tab["engine"] == ("simd" if kernel else "numpy")
