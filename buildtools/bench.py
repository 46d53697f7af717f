"""Training speed in a headless Chromium tab next to CPython's: the same Trainer, preset, seed,
steps and learning rate on both sides, timed the same way (ticks of training seconds); and
what the page's first visit costs.

The page is served gzipped under a sub-path, as a project's GitHub Pages site is, by the build's
server, which counts every byte it sends: until the page is ready, and for the whole first visit
with the offline copy. The tab is then reloaded (a repeat visit, from the local copy) and
driven through the page's own controls; it reports what it measured (window.zcgpt.run). CPython
runs the same training with zcgpt.run.Run in this process.
"""
from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from . import BuildError
from .chromium import launch, off_origin, unavailable
from .pins import NUMPY_VERSION, PYODIDE_VERSION
from .serve import Traffic, make_server

BASE = "/zcgpt/"              # served under a sub-path, as a project's GitHub Pages site is
LINE_MBIT_S = 20              # the modeled visitor's line
ENGINES = {"simd": "SIMD kernel", "numpy": "numpy products"}   # the tab's engine (zcgpt/simd.py)
QUIET_S = 2.0                 # the first visit is over when the server has sent nothing for this long

def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def throughput(ticks) -> dict:
    """Predicted tokens per second from training ticks ({'tokens', 's'} each, pauses excluded).

    total: all tokens / all training seconds; median: the median of each tick's own rate.
    """
    tokens = sum(x["tokens"] for x in ticks)
    seconds = sum(x["s"] for x in ticks)
    return {"tokens": tokens, "seconds": seconds,
            "total": tokens / seconds if seconds > 0 else None,
            "median": median([x["tokens"] / x["s"] for x in ticks if x["s"] > 0])}


def time_to_val(ticks, target: float) -> dict | None:
    """The first validation point at or below `target`, and the one before it (a lower bound).

    Ticks carry 'tokens', 's' (training seconds of the tick), 'step', 'val' (None when none
    was measured) and optionally 'busy' (the worker's clock: training plus live validation and
    samples) and 'ms' (wall milliseconds since Train was pressed). 'seconds' is training only.
    """
    before, train_s = None, 0.0
    for x in ticks:
        train_s += x["s"]
        if x.get("val") is None:
            continue
        if x["val"] <= target:
            out = {"step": x["step"], "seconds": train_s, "val": x["val"],
                   "after_step": before[0] if before else 0, "after_seconds": before[1] if before else 0.0}
            if x.get("busy") is not None:
                out["busy_seconds"] = x["busy"]
            if x.get("ms") is not None:
                out["wall_seconds"] = x["ms"] / 1000
            return out
        before = (x["step"], train_s)
    return None


def seconds_at_step(ticks, step: int) -> float | None:
    """Training seconds when `step` was reached, interpolated within its tick (None if never)."""
    train_s, prev_step = 0.0, 0
    for x in ticks:
        if x["step"] >= step:
            frac = (step - prev_step) / (x["step"] - prev_step) if x["step"] > prev_step else 1.0
            return train_s + frac * x["s"]
        train_s += x["s"]
        prev_step = x["step"]
    return None


def fmt_ratio(tab: float | None, cpython: float | None) -> str:
    """'0.31 (CPython 3.2x faster)' for tab/CPython rates; '-' when one is missing."""
    if not tab or not cpython:
        return "-"
    r = tab / cpython
    return f"{r:.2f} (CPython {1 / r:.1f}x faster)" if r < 1 else f"{r:.2f} (the tab {r:.1f}x faster)"


def fmt_tps(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def sent_by_path(log) -> dict[str, int]:
    """Bytes sent per URL path, largest first."""
    by = defaultdict(int)
    for s in log:
        by[s.path] += s.bytes
    return dict(sorted(by.items(), key=lambda kv: -kv[1]))


def wait_quiet(traffic: Traffic, quiet_s: float, timeout_s: float) -> None:
    """Until the server has sent nothing for `quiet_s` seconds (or `timeout_s` have passed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log = traffic.snapshot()
        last = log[-1].t if log else 0.0
        if time.monotonic() - last >= quiet_s:
            return
        time.sleep(0.2)


def first_visit(ready_s: float, until_ready: list, visit: list) -> dict:
    """The first visit's figures from the server's log until the page was ready and in all."""
    ready_bytes = sum(s.bytes for s in until_ready)
    return {"bytes_until_ready": ready_bytes, "bytes_first_visit": sum(s.bytes for s in visit),
            "requests_until_ready": len(until_ready), "requests_first_visit": len(visit),
            "line_mbit_s": LINE_MBIT_S, "modeled_ready_s": modeled_ready(ready_s, ready_bytes),
            "sent_by_path": sent_by_path(visit)}


def modeled_ready(ready_s: float, sent: int, mbit_s: float = LINE_MBIT_S) -> float:
    """Ready time on a line of `mbit_s`: the ready time measured here plus the bytes' transfer time."""
    return ready_s + sent * 8 / (mbit_s * 1e6)


def wait_ready(page, errors, what: str) -> None:
    page.wait_for_function("(s) => s.includes(document.body.dataset.state)", arg=["ready", "error"], timeout=120_000)
    if page.evaluate("document.body.dataset.state") == "error":
        raise BuildError(f"the page failed to start ({what}): {page.inner_text('#status')} {errors}")


def train_in_tab(page, errors, preset: str, steps: int | None, seed: int, timeout_s: float) -> dict:
    """Train `preset` through the page's controls; what the page measured, and the parameters of
    the model its Download button saves (as JSON text, to compare runs bit for bit)."""
    page.select_option("#preset", preset)
    if steps is not None:
        page.fill("#steps", str(steps))
    page.fill("#seed", str(seed))
    page.wait_for_function("!document.getElementById('train').disabled")
    page.click("#train")
    page.wait_for_function("(s) => s.includes(document.body.dataset.state)", arg=["done", "error"],
                           timeout=timeout_s * 1000, polling=250)
    if page.evaluate("document.body.dataset.state") == "error":
        raise BuildError(f"training failed in the tab: {page.inner_text('#status')} {errors}")
    run = page.evaluate("""() => { const r = window.zcgpt.run;
        return {ticks: r.ticks, finalVal: r.finalVal, finalStep: r.finalStep, busy: r.busy, points: r.points,
                params: r.params, tokensPerS: r.tokensPerS, shared: r.shared || null,
                steps: r.steps, lr: r.lr}; }""")
    if page.is_hidden("#lab-keep"):           # the Download button lives in the Keep & share panel
        page.click("#tab-keep")
    with page.expect_download() as saved:
        page.click("#model-save")
    run["model_params"] = json.dumps(json.loads(Path(saved.value.path()).read_text())["params"])
    return run


def open_with_workers(context, url: str, workers: int, errors, say):
    """A tab of the page (from its local copy) with `workers` workers, every one of them ready."""
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}#workers={workers}")
    wait_ready(page, errors, f"{workers} workers")
    page.wait_for_function(f"document.body.dataset.workers === '{workers}'", timeout=120_000)
    say(f"tab: {workers} worker{'s' if workers > 1 else ''} ready")
    return page


def bench_tab(url: str, traffic: Traffic, preset: str, steps: int | None, seed: int, timeout_s: float, say,
              workers: list[int] | None = None) -> dict:
    """Load the page as a first visitor, wait for its offline copy, load it again from that copy,
    train `preset` through its controls; what the page measured and what the server sent. With
    `workers`, the training is done once per count, each in a tab of its own with #workers=N."""
    reason = unavailable()
    if reason:
        raise BuildError(reason)
    from playwright.sync_api import Error as PlaywrightError, sync_playwright
    origin = re.match(r"http://[^/]+", url).group(0)
    with sync_playwright() as p:
        browser = launch(p)
        version = browser.version
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            requests, errors = [], []
            context.on("request", lambda r: requests.append(r.url))
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            say(f"tab: loading {url} (headless Chromium {version}, cold cache, served gzipped)")
            try:
                page.goto(url)
                wait_ready(page, errors, "first visit")
                until_ready = traffic.snapshot()
                ready_ms = page.evaluate("window.zcgpt.readyMs")
                load_ms = page.evaluate("window.zcgpt.loadMs")
                bytecode = page.evaluate("window.zcgpt.bytecode")
                copy = page.evaluate("document.body.dataset.copy || null")
                say(f"tab: ready in {ready_ms / 1000:.2f} s; waiting for the offline copy")
                page.wait_for_selector("body[data-offline=ready]", timeout=120_000)
                wait_quiet(traffic, QUIET_S, 30)
                visit = traffic.snapshot()
                page.reload()
                wait_ready(page, errors, "repeat visit")
                repeat = {"ready_s": page.evaluate("window.zcgpt.readyMs") / 1000,
                          "copy": page.evaluate("document.body.dataset.copy || null"),
                          "bytes": sum(s.bytes for s in traffic.snapshot()[len(visit):])}
                engine = page.evaluate("document.getElementById('engine')?.dataset.engine || null")
                say(f"tab: again from the local copy, ready in {repeat['ready_s']:.2f} s; "
                    f"training {preset}, seed {seed}, matrix products on {engine}")
                runs = {}
                for n in workers or [None]:
                    if n is not None:
                        page.close()
                        page = open_with_workers(context, url, n, errors, say)
                    runs[n] = train_in_tab(page, errors, preset, steps, seed, timeout_s)
                    say(f"tab: {runs[n]['steps']} steps at {fmt_tps(runs[n]['tokensPerS'])} tokens/s"
                        + (f" on {n} worker{'s' if n > 1 else ''}" if n is not None else ""))
            except PlaywrightError as e:
                raise BuildError(f"driving the page failed: {str(e).splitlines()[0]}") from None
            if any(r.get("ticks") is None for r in runs.values()):
                raise BuildError("the page reports no training ticks (window.zcgpt.run.ticks): dist/ is stale")
        finally:
            browser.close()
    run = next(iter(runs.values()))
    return {"chromium": version, "ready_s": ready_ms / 1000, "load_ms": load_ms, "bytecode": bytecode,
            "copy": copy, "first_visit": first_visit(ready_ms / 1000, until_ready, visit), "repeat_visit": repeat,
            "engine": engine, "steps": run["steps"], "lr": run["lr"], "run": run, "runs": runs,
            "off_origin_requests": off_origin(requests, origin)}


def bench_cpython(root: Path, preset: str, steps: int, seed: int, lr: float) -> dict:
    """The page's training on CPython in this process: same Trainer and data split, zcgpt.run's
    loop, timed in ticks of about the page's TICK_S training seconds.

    Every `val_every` steps (a 200th of the run) the loss on every held-out name is measured
    outside the training clock; 'vals' holds those points in the ticks' format for time_to_val.
    """
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from zcgpt.process import tune_process
    tune_process()                  # as `python -m zcgpt` does, before numpy is imported
    import numpy
    from zcgpt import presets
    from zcgpt.driver import TICK_S, VAL_FRAC
    from zcgpt.data import load_lines, make_dataset
    from zcgpt.run import Run, Schedule
    from zcgpt.train import Trainer

    ds = make_dataset(load_lines(root / "names.txt"), val_frac=VAL_FRAC, seed=seed)   # as the page
    tr = Trainer(presets[preset].replace(steps=steps, lr=lr), ds, seed)
    val_every = max(1, steps // 200)
    run = Run(tr, Schedule(report_every=val_every, val_every=val_every, val_items=tuple(ds.val)))
    ticks, vals = [], []
    tick_start, tokens0, last_val_s = 0.0, 0, 0.0
    for point in run.steps():
        if point is not None and point.val_loss is not None:
            vals.append({"step": point.step, "tokens": 0, "s": run.train_seconds - last_val_s,
                         "val": point.val_loss})
            last_val_s = run.train_seconds
        if run.train_seconds - tick_start >= TICK_S or run.done:
            ticks.append({"step": tr.step, "tokens": tr.tokens_seen - tokens0,
                           "s": run.train_seconds - tick_start})
            tick_start, tokens0 = run.train_seconds, tr.tokens_seen
    return {"python": sys.version.split()[0], "numpy": numpy.__version__, "ticks": ticks, "vals": vals,
            "val_every": val_every, "final_val": vals[-1]["val"] if vals else None,
            "params": tr.model.num_params()}


def workers_table(runs: dict) -> list[dict] | None:
    """Per worker count: tokens/s, its ratio to the first count's, what sharing a step cost."""
    if list(runs) == [None]:
        return None
    base = throughput(next(iter(runs.values()))["ticks"])["total"]
    rows = []
    for n, run in runs.items():
        tps = throughput(run["ticks"])["total"]
        rows.append({"workers": n, "tokens_per_s": tps, "ratio": tps / base if tps and base else None,
                     "final_val": run["finalVal"], "shared_ms_per_step": run["shared"]})
    return rows


def same_bits(runs: dict) -> bool:
    """The same downloaded parameters and the same reported losses for every worker count."""
    first = next(iter(runs.values()))
    return all(r["model_params"] == first["model_params"] and r["points"] == first["points"]
               and r["finalVal"] == first["finalVal"] for r in runs.values())


def run_bench(root: Path, dist: Path, preset: str, steps: int | None, seed: int, target_val: float,
              timeout_s: float, say, workers: list[int] | None = None) -> dict:
    """Serve `dist`, train in the tab, then on CPython; every figure the bench reports."""
    load_before = os.getloadavg()
    server = make_server(dist, port=0, base=BASE, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}{BASE}"
        tab = bench_tab(url, server.traffic, preset, steps, seed, timeout_s, say, workers)
    finally:
        server.shutdown()
        server.server_close()
    say(f"CPython: same training in this process ({tab['steps']} steps)")
    cpy = bench_cpython(root, preset, tab["steps"], seed, tab["lr"])
    load_after = os.getloadavg()

    tab_ticks = tab["run"]["ticks"]
    t_tab, t_cpy = throughput(tab_ticks), throughput(cpy["ticks"])
    v_tab, v_cpy = time_to_val(tab_ticks, target_val), time_to_val(cpy["vals"], target_val)
    return {
        "preset": preset, "steps": tab["steps"], "seed": seed, "lr": tab["lr"],
        "params": cpy["params"], "target_val": target_val,
        "tab": {"tokens_per_s": t_tab["total"], "tokens_per_s_median_tick": t_tab["median"],
                "train_seconds": t_tab["seconds"], "tokens": t_tab["tokens"], "ticks": len(tab_ticks),
                "time_to_target": v_tab, "final_val": tab["run"]["finalVal"],
                "ready_s": tab["ready_s"], "load_ms": tab["load_ms"], "bytecode": tab["bytecode"],
                "copy": tab["copy"], "first_visit": tab["first_visit"], "repeat_visit": tab["repeat_visit"],
                "chromium": tab["chromium"], "engine": tab["engine"],
                "pyodide": PYODIDE_VERSION, "numpy": NUMPY_VERSION,
                "off_origin_requests": tab["off_origin_requests"]},
        "cpython": {"tokens_per_s": t_cpy["total"], "tokens_per_s_median_tick": t_cpy["median"],
                    "train_seconds": t_cpy["seconds"], "tokens": t_cpy["tokens"], "ticks": len(cpy["ticks"]),
                    "time_to_target": v_cpy, "val_every": cpy["val_every"], "final_val": cpy["final_val"],
                    "python": cpy["python"], "numpy": cpy["numpy"]},
        # Both sides follow the same trajectory (same seed and data order), so the tab's time at
        # the step where CPython's full validation crossed the target is a finer estimate than
        # the tab's own live points, which come every 25th of the run.
        "tab_seconds_at_cpython_step": seconds_at_step(tab_ticks, v_cpy["step"]) if v_cpy else None,
        "same_batches": t_tab["tokens"] == t_cpy["tokens"],   # same seed, same data order on both sides
        "ratio": t_tab["total"] / t_cpy["total"] if t_tab["total"] and t_cpy["total"] else None,
        "ratio_median_tick": t_tab["median"] / t_cpy["median"] if t_tab["median"] and t_cpy["median"] else None,
        "cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": load_after,
        "workers": workers_table(tab["runs"]),
        "bit_identical_across_workers": same_bits(tab["runs"]) if workers else None,
    }


def print_bench(r: dict) -> None:
    tab, cpy = r["tab"], r["cpython"]

    def reach(v):
        if v is None:
            return "not reached"
        return f"{v['seconds']:.2f} s (step {v['step']}; after {v['after_seconds']:.2f} s)"

    rows = [
        ("", f"tab (Pyodide {tab['pyodide']}, numpy {tab['numpy']}; {ENGINES.get(tab.get('engine'), '?')})",
         f"CPython {cpy['python']}, numpy {cpy['numpy']}"),
        ("tokens/s, total / training s", fmt_tps(tab["tokens_per_s"]), fmt_tps(cpy["tokens_per_s"])),
        ("tokens/s, median of ticks", fmt_tps(tab["tokens_per_s_median_tick"]),
         fmt_tps(cpy["tokens_per_s_median_tick"])),
        ("training seconds", f"{tab['train_seconds']:.2f} ({tab['ticks']} ticks)",
         f"{cpy['train_seconds']:.2f} ({cpy['ticks']} ticks)"),
        (f"training s to val <= {r['target_val']}", reach(tab["time_to_target"]), reach(cpy["time_to_target"])),
        ("final validation NLL", f"{tab['final_val']:.4f}" if tab["final_val"] is not None else "-",
         f"{cpy['final_val']:.4f}" if cpy["final_val"] is not None else "-"),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    print(f"zcgpt bench: preset {r['preset']} ({r['params']:,} parameters), {r['steps']} steps, "
          f"seed {r['seed']}, lr {r['lr']}; same Trainer and data split on both sides")
    for a, b, c in rows:
        print(f"  {a:<{w0}}  {b:<{w1}}  {c}")
    print(f"  ratio tab / CPython: {fmt_ratio(tab['tokens_per_s'], cpy['tokens_per_s'])}"
          f"  [median of ticks: {fmt_ratio(tab['tokens_per_s_median_tick'], cpy['tokens_per_s_median_tick'])}]")
    v = tab["time_to_target"]
    if v is not None and v.get("wall_seconds") is not None:
        print(f"  tab: val <= {r['target_val']} seen {v['wall_seconds']:.2f} s after pressing Train (wall clock; "
              f"worker's clock incl. live validation {v['busy_seconds']:.2f} s)")
    if r["tab_seconds_at_cpython_step"] is not None:
        print(f"  tab: {r['tab_seconds_at_cpython_step']:.2f} training s to step {cpy['time_to_target']['step']}, "
              f"where CPython's full validation reached {r['target_val']} (same trajectory)")
    code = tab["bytecode"] or {}
    compiled = ("stdlib and numpy from the build's bytecode" if code.get("stdlib_pyc") and not code.get("numpy_py")
                else "modules compiled in the tab: a build without bytecode")
    print(f"  page ready {tab['ready_s']:.2f} s after navigation (cold cache; Chromium {tab['chromium']}; "
          f"{compiled}); not part of any number above")
    fv, rv = tab["first_visit"], tab["repeat_visit"]
    print(f"  first visit, served gzipped under {BASE}: {mb(fv['bytes_until_ready'])} sent until ready "
          f"({fv['requests_until_ready']} responses), {mb(fv['bytes_first_visit'])} in all with the offline copy "
          f"({fv['requests_first_visit']}); ready on a {fv['line_mbit_s']} Mbit/s line in about "
          f"{fv['modeled_ready_s']:.1f} s ({tab['ready_s']:.2f} s + {mb(fv['bytes_until_ready'])} at "
          f"{fv['line_mbit_s'] / 8:.1f} MB/s)")
    print(f"  repeat visit ({'from the local copy' if rv['copy'] == 'local' else rv['copy']}): ready "
          f"{rv['ready_s']:.2f} s after navigation, {mb(rv['bytes'])} sent")
    if r["workers"]:
        cpy_tps = cpy["tokens_per_s"]
        print(f"  workers in the tab (each count in a tab of its own, same preset, seed and steps):")
        for row in r["workers"]:
            shared = row["shared_ms_per_step"]
            used = ", ".join(f"{k} for {v}" for k, v in (shared or {}).get("helpers_used", {}).items())
            cost = (f"; per shared step: deal {shared['deal_ms']:.2f} ms, own ticks {shared['own_ms']:.2f}, "
                    f"waiting {shared['wait_ms']:.2f}, helpers computing {shared['helper_ms']:.2f}; "
                    f"helpers dealt to: {used} steps") if shared else ""
            ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
            print(f"    {row['workers']}: {fmt_tps(row['tokens_per_s'])} tokens/s, {ratio} "
                  f"{r['workers'][0]['workers']} worker{'s' if r['workers'][0]['workers'] > 1 else ''}, "
                  f"{fmt_ratio(row['tokens_per_s'], cpy_tps)} of CPython{cost}")
        print(f"    final parameters and every reported loss bit-identical across counts: "
              f"{'yes' if r['bit_identical_across_workers'] else 'NO'}")
    print(f"  {r['cpus']} CPUs, load average {r['loadavg_before'][0]:.2f} before, {r['loadavg_after'][0]:.2f} after")
    print("  tokens = predicted tokens (letters and end-of-name); training s exclude page load, validation and "
          "samples; the tab's validation points are its live estimates (a subset of the held-out names, "
          f"a few per run), CPython's use every held-out name every {cpy['val_every']} steps")
