"""Training speed in a headless Chromium tab next to CPython's: the same Trainer, preset, seed,
steps and learning rate on both sides, timed the same way (slices of training seconds).

The tab is driven through the page's own controls and reports what it measured
(window.zcgpt.run); CPython runs the same training with zcgpt.run.Run in this process.
"""
from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path

from . import BuildError
from .chromium import launch, off_origin, unavailable
from .pins import NUMPY_VERSION, PYODIDE_VERSION
from .serve import make_server

def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def throughput(slices) -> dict:
    """Predicted tokens per second from training slices ({'tokens', 's'} each, pauses excluded).

    total: all tokens / all training seconds; median: the median of each slice's own rate.
    """
    tokens = sum(x["tokens"] for x in slices)
    seconds = sum(x["s"] for x in slices)
    return {"tokens": tokens, "seconds": seconds,
            "total": tokens / seconds if seconds > 0 else None,
            "median": median([x["tokens"] / x["s"] for x in slices if x["s"] > 0])}


def time_to_val(slices, target: float) -> dict | None:
    """The first validation point at or below `target`, and the one before it (a lower bound).

    Slices carry 'tokens', 's' (training seconds of the slice), 'step', 'val' (None when none
    was measured) and optionally 'busy' (the worker's clock: training plus live validation and
    samples) and 'ms' (wall milliseconds since Train was pressed). 'seconds' is training only.
    """
    before, train_s = None, 0.0
    for x in slices:
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


def seconds_at_step(slices, step: int) -> float | None:
    """Training seconds when `step` was reached, interpolated within its slice (None if never)."""
    train_s, prev_step = 0.0, 0
    for x in slices:
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


def bench_tab(url: str, preset: str, steps: int | None, seed: int, timeout_s: float, say) -> dict:
    """Load the page, train `preset` through its controls, return what the page measured."""
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
            say(f"tab: loading {url} (headless Chromium {version}, cold cache)")
            page.goto(url)
            wait_state = "(s) => s.includes(document.body.dataset.state)"
            try:
                page.wait_for_function(wait_state, arg=["ready", "error"], timeout=120_000)
                if page.evaluate("document.body.dataset.state") == "error":
                    raise BuildError(f"the page failed to start: {page.inner_text('#status')} {errors}")
                ready_ms = page.evaluate("window.zcgpt.readyMs")
                load_ms = page.evaluate("window.zcgpt.loadMs")
                bytecode = page.evaluate("window.zcgpt.bytecode")
                page.select_option("#preset", preset)
                if steps is not None:
                    page.fill("#steps", str(steps))
                page.fill("#seed", str(seed))
                steps = int(page.input_value("#steps"))
                lr = float(page.input_value("#lr"))
                say(f"tab: ready in {ready_ms / 1000:.2f} s; training {preset}, {steps} steps, seed {seed}, lr {lr}")
                page.click("#train")
                page.wait_for_function(wait_state, arg=["done", "error"], timeout=timeout_s * 1000, polling=250)
                if page.evaluate("document.body.dataset.state") == "error":
                    raise BuildError(f"training failed in the tab: {page.inner_text('#status')} {errors}")
                run = page.evaluate("""() => { const r = window.zcgpt.run;
                    return {slices: r.slices, finalVal: r.finalVal, finalStep: r.finalStep, busy: r.busy,
                            params: r.params, tokensPerS: r.tokensPerS}; }""")
            except PlaywrightError as e:
                raise BuildError(f"driving the page failed: {str(e).splitlines()[0]}") from None
            if run.get("slices") is None:
                raise BuildError("the page reports no training slices (window.zcgpt.run.slices): dist/ is stale")
        finally:
            browser.close()
    return {"chromium": version, "ready_s": ready_ms / 1000, "load_ms": load_ms, "bytecode": bytecode,
            "steps": steps, "lr": lr, "run": run, "off_origin_requests": off_origin(requests, origin)}


def bench_cpython(root: Path, preset: str, steps: int, seed: int, lr: float) -> dict:
    """The page's training on CPython in this process: same Trainer and data split, zcgpt.run's
    loop, timed in slices of about the page's SLICE_S training seconds.

    Every `val_every` steps (a 200th of the run) the loss on every held-out name is measured
    outside the training clock; 'vals' holds those points in the slices' format for time_to_val.
    """
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import numpy
    from zcgpt import presets
    from zcgpt.app import SLICE_S, VAL_FRAC
    from zcgpt.data import load_lines, make_dataset
    from zcgpt.run import Run, Schedule
    from zcgpt.train import Trainer

    ds = make_dataset(load_lines(root / "names.txt"), val_frac=VAL_FRAC, seed=seed)   # as the page
    tr = Trainer(presets[preset].replace(steps=steps, lr=lr), ds, seed)
    val_every = max(1, steps // 200)
    run = Run(tr, Schedule(report_every=val_every, val_every=val_every, val_items=tuple(ds.val)))
    slices, vals = [], []
    slice_start, tokens0, last_val_s = 0.0, 0, 0.0
    for point in run.steps():
        if point is not None and point.val_loss is not None:
            vals.append({"step": point.step, "tokens": 0, "s": run.train_seconds - last_val_s,
                         "val": point.val_loss})
            last_val_s = run.train_seconds
        if run.train_seconds - slice_start >= SLICE_S or run.done:
            slices.append({"step": tr.step, "tokens": tr.tokens_seen - tokens0,
                           "s": run.train_seconds - slice_start})
            slice_start, tokens0 = run.train_seconds, tr.tokens_seen
    return {"python": sys.version.split()[0], "numpy": numpy.__version__, "slices": slices, "vals": vals,
            "val_every": val_every, "final_val": vals[-1]["val"] if vals else None,
            "params": tr.model.num_params()}


def run_bench(root: Path, dist: Path, preset: str, steps: int | None, seed: int, target_val: float,
              timeout_s: float, say) -> dict:
    """Serve `dist`, train in the tab, then on CPython; every figure the bench reports."""
    load_before = os.getloadavg()
    server = make_server(dist, port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        tab = bench_tab(url, preset, steps, seed, timeout_s, say)
    finally:
        server.shutdown()
        server.server_close()
    say(f"CPython: same training in this process ({tab['steps']} steps)")
    cpy = bench_cpython(root, preset, tab["steps"], seed, tab["lr"])
    load_after = os.getloadavg()

    tab_slices = tab["run"]["slices"]
    t_tab, t_cpy = throughput(tab_slices), throughput(cpy["slices"])
    v_tab, v_cpy = time_to_val(tab_slices, target_val), time_to_val(cpy["vals"], target_val)
    return {
        "preset": preset, "steps": tab["steps"], "seed": seed, "lr": tab["lr"],
        "params": cpy["params"], "target_val": target_val,
        "tab": {"tokens_per_s": t_tab["total"], "tokens_per_s_median_slice": t_tab["median"],
                "train_seconds": t_tab["seconds"], "tokens": t_tab["tokens"], "slices": len(tab_slices),
                "time_to_target": v_tab, "final_val": tab["run"]["finalVal"],
                "ready_s": tab["ready_s"], "load_ms": tab["load_ms"], "bytecode": tab["bytecode"],
                "chromium": tab["chromium"],
                "pyodide": PYODIDE_VERSION, "numpy": NUMPY_VERSION,
                "off_origin_requests": tab["off_origin_requests"]},
        "cpython": {"tokens_per_s": t_cpy["total"], "tokens_per_s_median_slice": t_cpy["median"],
                    "train_seconds": t_cpy["seconds"], "tokens": t_cpy["tokens"], "slices": len(cpy["slices"]),
                    "time_to_target": v_cpy, "val_every": cpy["val_every"], "final_val": cpy["final_val"],
                    "python": cpy["python"], "numpy": cpy["numpy"]},
        # Both sides follow the same trajectory (same seed and data order), so the tab's time at
        # the step where CPython's full validation crossed the target is a finer estimate than
        # the tab's own live points, which come every 25th of the run.
        "tab_seconds_at_cpython_step": seconds_at_step(tab_slices, v_cpy["step"]) if v_cpy else None,
        "same_batches": t_tab["tokens"] == t_cpy["tokens"],   # same seed, same data order on both sides
        "ratio": t_tab["total"] / t_cpy["total"] if t_tab["total"] and t_cpy["total"] else None,
        "ratio_median_slice": t_tab["median"] / t_cpy["median"] if t_tab["median"] and t_cpy["median"] else None,
        "cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": load_after,
    }


def print_bench(r: dict) -> None:
    tab, cpy = r["tab"], r["cpython"]

    def reach(v):
        if v is None:
            return "not reached"
        return f"{v['seconds']:.2f} s (step {v['step']}; after {v['after_seconds']:.2f} s)"

    rows = [
        ("", f"tab (Pyodide {tab['pyodide']}, numpy {tab['numpy']})", f"CPython {cpy['python']}, numpy {cpy['numpy']}"),
        ("tokens/s, total / training s", fmt_tps(tab["tokens_per_s"]), fmt_tps(cpy["tokens_per_s"])),
        ("tokens/s, median of slices", fmt_tps(tab["tokens_per_s_median_slice"]),
         fmt_tps(cpy["tokens_per_s_median_slice"])),
        ("training seconds", f"{tab['train_seconds']:.2f} ({tab['slices']} slices)",
         f"{cpy['train_seconds']:.2f} ({cpy['slices']} slices)"),
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
          f"  [median of slices: {fmt_ratio(tab['tokens_per_s_median_slice'], cpy['tokens_per_s_median_slice'])}]")
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
    print(f"  {r['cpus']} CPUs, load average {r['loadavg_before'][0]:.2f} before, {r['loadavg_after'][0]:.2f} after")
    print("  tokens = predicted tokens (letters and end-of-name); training s exclude page load, validation and "
          "samples; the tab's validation points are its live estimates (a subset of the held-out names, "
          f"a few per run), CPython's use every held-out name every {cpy['val_every']} steps")
