"""Several workers in one tab share each step (site/js/workers.js, zcgpt/shards.py).

A run's numbers depend on its `shards` setting only: the model the page's own Download button
saves, and every loss it reported, are the same for 1, 2 and 3 workers, and for a run that lost
a helper mid-way. Pause and Stop stay quick with every worker busy.
"""

import json

import pytest

from conftest import ANSWER_MS, FROZEN_TASK_MS, ROOT, open_lab

# The engine every worker runs: the SIMD kernel when the build made one (zcgpt/simd.py)
BUILD = ROOT / "dist" / "build.json"
ENGINE = "simd" if BUILD.is_file() and json.loads(BUILD.read_text()).get("kernel") else "numpy"

STEPS = 600
SEED = 11


def open_with(open_tab, server, workers, steps=STEPS):
    tab = open_tab(server.url + f"#preset=tiny&seed={SEED}&steps={steps}&workers={workers}")
    tab.wait_state("ready")
    tab.page.wait_for_function(f"document.body.dataset.workers === '{workers}'", timeout=60_000)
    return tab


def download(page, tmp_path):
    with page.expect_download() as saved:
        open_lab(page, "keep")
        page.click("#model-save")
    path = tmp_path / saved.value.suggested_filename
    saved.value.save_as(path)
    return json.loads(path.read_text())


def finish(tab, tmp_path):
    tab.wait_state("done", timeout_s=180)
    run = tab.page.evaluate("window.zcgpt.run")
    model = download(tab.page, tmp_path)
    return run, model


@pytest.fixture(scope="module")
def runs(server, open_tab, tmp_path_factory, metrics):
    """The same run on 1, 2 and 3 workers: {workers: (page's run record, downloaded model)}."""
    out = {}
    for n in (1, 2, 3):
        tab = open_with(open_tab, server, n)
        tab.page.evaluate("window.__longtasks.length = 0")
        tab.page.click("#train")
        run, model = finish(tab, tmp_path_factory.mktemp(f"w{n}"))
        run["engine_shown"] = tab.page.inner_text("#engine")
        out[n] = (run, model, tab.longest_task_ms()[0])
        metrics[f"workers_{n}_tokens_per_s"] = run["tokensPerS"]
        tab.close()
    return out


def test_same_bits_on_one_two_and_three_workers(runs):
    (run1, model1, _), *others = [runs[n] for n in (1, 2, 3)]
    assert model1["step"] == STEPS and model1["config"]["shards"] == 3
    assert model1["metrics"]["engine"] == ENGINE, "every worker ran the build's engine"
    assert run1["engine_shown"] == {"simd": "SIMD kernel", "numpy": "numpy"}[ENGINE]
    for run, model, _ in others:
        assert json.dumps(model["params"]) == json.dumps(model1["params"])
        assert run["points"] == run1["points"] and run["finalVal"] == run1["finalVal"]
    assert run1["shared"] is None                                   # one worker: nothing shared
    for n in (2, 3):       # the helpers took part (in the pool's trials at least: see shards.Tuner)
        assert runs[n][0]["shared"]["steps"] > 0 and runs[n][0]["shared"]["helper_ms"] > 0


def test_no_long_main_thread_task_while_workers_train(runs, metrics):
    longest = {n: runs[n][2] for n in (1, 2, 3)}
    metrics["workers_longest_task_ms"] = longest
    assert max(longest.values()) < FROZEN_TASK_MS, longest


def test_a_helper_killed_mid_run_changes_nothing(server, open_tab, runs, tmp_path):
    tab = open_with(open_tab, server, 3)
    page = tab.page
    page.click("#train")
    page.wait_for_function("(window.zcgpt.run?.points?.length || 0) > 20", timeout=60_000)
    killed = page.evaluate("window.zcgpt.terminateHelper(0)")
    assert killed is not None
    page.wait_for_function("document.body.dataset.workers === '2'", timeout=60_000)
    status = page.inner_text("#status")
    assert "continuing on 2 workers" in status, status
    run, model = finish(tab, tmp_path)
    tab.close()
    assert json.dumps(model["params"]) == json.dumps(runs[1][1]["params"])
    assert run["points"] == runs[1][0]["points"]


def test_pause_and_stop_are_quick_with_every_worker_busy(server, open_tab, metrics):
    tab = open_with(open_tab, server, 3, steps=20_000)
    page = tab.page
    page.evaluate("window.__longtasks.length = 0")
    page.click("#train")
    page.wait_for_function("document.body.dataset.working !== '0'", timeout=60_000)
    page.wait_for_timeout(1500)
    pause_ms = page.evaluate("""() => new Promise((resolve) => {
      const t0 = performance.now();
      const seen = new MutationObserver(() => {
        if (document.body.dataset.workerPaused === 'true') { seen.disconnect(); resolve(performance.now() - t0); }
      });
      seen.observe(document.body, { attributes: true });
      document.getElementById('pause').click();
    })""")
    page.click("#pause")                      # resume
    page.wait_for_timeout(1000)
    page.click("#stop")
    tab.wait_state("done", timeout_s=60)
    stop_ms = float(page.get_attribute("body", "data-stop-ms"))
    longest, _ = tab.longest_task_ms()
    metrics["workers_3_pause_ms"], metrics["workers_3_stop_ms"] = pause_ms, stop_ms
    metrics["workers_3_longest_task_ms"] = longest
    assert pause_ms < ANSWER_MS and stop_ms < ANSWER_MS, (pause_ms, stop_ms)
    assert longest < FROZEN_TASK_MS, longest
    tab.close()
