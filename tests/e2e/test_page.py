"""The page as a visitor uses it: load, train tiny, watch the loss fall, stop, reset, generate.

One tab is loaded once and shared by the tests of this module, in file order (loading Python
takes seconds); the sub-path test opens a second, phone-sized tab.
"""

import math
import time

from pathlib import Path

import pytest

from buildtools.chromium import off_origin
from buildtools.dist import built_with_bytecode as dist_built_with_bytecode
from conftest import ANSWER_MS, FROZEN_TASK_MS

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
DIST = Path(__file__).resolve().parents[2] / "dist"

TRAIN_STEPS = 400


def built_with_bytecode():
    return dist_built_with_bytecode(DIST)


@pytest.fixture(scope="module")
def tab(server, open_tab, metrics):
    t0 = time.monotonic()
    tab = open_tab(server.url)
    ARTIFACTS.mkdir(exist_ok=True)
    tab.page.screenshot(path=str(ARTIFACTS / "loading-desktop.png"))
    assert "Loading" in tab.page.inner_text("#status") or tab.page.is_enabled("#train")
    tab.wait_state("ready")
    metrics["cold_ready_ms"] = round(tab.page.evaluate("window.zcgpt.readyMs"))
    metrics["load_stage_ms"] = tab.page.evaluate("window.zcgpt.loadMs")
    metrics["cold_ready_wall_s"] = round(time.monotonic() - t0, 2)
    return tab


@pytest.fixture(scope="module")
def trained(tab, metrics):
    page = tab.page
    page.select_option("#preset", "tiny")
    page.fill("#steps", str(TRAIN_STEPS))
    page.fill("#seed", "7")
    page.click("#train")
    tab.wait_state("done", timeout_s=180)
    run = page.evaluate("window.zcgpt.run")
    metrics["tiny_steps"] = run["finalStep"]
    metrics["tiny_tokens_per_s"] = round(run["tokensPerS"])
    metrics["tiny_train_seconds"] = round(run["busy"], 2)
    metrics["tiny_final_val"] = run["finalVal"]
    return run


def test_page_becomes_ready(tab):
    page = tab.page
    page.wait_for_function("!document.getElementById('train').disabled", timeout=10000)   # once Python accepts the design
    for stage in ("python", "numpy", "zcgpt", "data"):
        assert "done" in page.get_attribute(f'#stages li[data-stage="{stage}"]', "class")
    assert "Ready in" in page.inner_text("#status")
    assert len(page.get_attribute("body", "data-chars")) >= 26


def test_python_starts_from_the_builds_bytecode(tab, metrics):
    # build.py compiles the standard library and numpy once; the tab must not compile them again.
    if not built_with_bytecode():
        pytest.skip("dist/ was built without bytecode (no node on PATH, or --no-bytecode)")
    counts = tab.page.evaluate("window.zcgpt.bytecode")
    metrics["bytecode_modules"] = counts
    assert counts["stdlib_pyc"] > 100 and counts["stdlib_py"] == 0, counts
    assert counts["numpy_pyc"] > 50 and counts["numpy_py"] == 0, counts


def test_training_lowers_loss_and_reports_validation(trained):
    points = trained["points"]
    assert trained["finalStep"] == TRAIN_STEPS
    uniform = trained["uniform"]
    assert uniform == pytest.approx(math.log(28))
    assert trained["initVal"] == pytest.approx(uniform, abs=0.1)   # untrained: a uniform guess
    first = points[0][1]                    # mean train loss of the first reported steps
    last = [loss for _, loss, _ in points[-5:]]
    assert max(last) < first - 0.3, (points[:3], last)
    assert max(last) < uniform - 0.5, last  # learned well below a uniform guess
    vals = [v for _, _, v in points if v is not None]
    assert len(vals) >= 2
    assert trained["finalVal"] is not None and trained["finalVal"] < uniform - 0.5


def test_stats_and_chart_are_shown(tab, trained):
    page = tab.page
    assert page.inner_text("#stat-step") == f"{TRAIN_STEPS} / {TRAIN_STEPS}"
    assert page.inner_text("#stat-val") != "—"
    assert page.inner_text("#stat-tps") != "—"
    assert page.get_attribute("#progress", "aria-valuenow") == "100"
    assert page.locator("#chart canvas").count() == 1   # uPlot drew it


def test_names_appear_made_of_vocabulary_letters(tab, trained):
    page = tab.page
    chars = set(page.get_attribute("body", "data-chars"))
    names = page.locator("#samples li.name .n").all_inner_texts()
    tags = page.locator("#samples li.name .tag").all_inner_texts()
    assert len(names) == 8
    assert set(tags) <= {"new", "in training set"}
    for name in names:
        assert name and set(name.lower()) <= chars, name


def test_generate_with_prefix_and_temperature(tab, trained):
    page = tab.page
    assert page.is_enabled("#generate")
    page.fill("#gen-n", "12")
    page.fill("#prefix", "ma")
    page.eval_on_selector("#temperature", "el => { el.value = '0.6'; el.dispatchEvent(new Event('input')); }")
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#generated li.name').length === 12")
    names = [n.lower() for n in page.locator("#generated li.name .n").all_inner_texts()]
    assert all(n.startswith("ma") for n in names), names
    assert "at temperature 0.60" in page.inner_text("#gen-note")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trained-desktop.png"), full_page=True)


def start_long_run(page):
    """Press Train for a run far too long to finish, once it is past step 30."""
    page.fill("#steps", "100000")
    page.click("#train")
    page.wait_for_function("(window.zcgpt.run.points.at(-1) || [0])[0] > 30", timeout=60000)


def test_pause_resume_stop_reset(tab, trained, metrics):
    page = tab.page
    start_long_run(page)

    page.click("#pause")
    tab.wait_state("paused")
    page.wait_for_selector("body[data-worker-paused=true]")   # any tick under way has landed
    step = page.evaluate("window.zcgpt.run.points.at(-1)[0]")
    for _ in range(3):        # Python answers in order: progress would have come before each answer
        page.evaluate("window.zcgpt.roundTrip()")
    assert page.evaluate("window.zcgpt.run.points.at(-1)[0]") == step, "kept training while paused"
    assert page.inner_text("#pause") == "Resume"
    page.click("#pause")
    tab.wait_state("training")
    page.wait_for_function(f"window.zcgpt.run.points.at(-1)[0] > {step}", timeout=10000)

    # A hidden tab pauses itself and resumes when shown again.
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    tab.wait_state("paused")
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    tab.wait_state("training")

    page.click("#stop")
    page.wait_for_selector("body[data-stop-ms]", timeout=5000)
    stop_ms = int(page.get_attribute("body", "data-stop-ms"))
    metrics["stop_ms"] = stop_ms
    assert stop_ms < ANSWER_MS
    tab.wait_state("done", timeout_s=30)
    run = page.evaluate("window.zcgpt.run")
    assert run["stopped"] and run["finalStep"] < 100000

    page.click("#reset")
    tab.wait_state("ready")
    assert page.inner_text("#stat-step") == "—"
    assert page.locator("#samples li.name").count() == 0
    assert page.is_disabled("#generate")
    page.wait_for_function("!document.getElementById('train').disabled", timeout=10000)   # once Python accepts the design


def test_reset_while_training_then_train_again(tab, trained):
    page = tab.page
    start_long_run(page)
    page.click("#reset")
    tab.wait_state("ready")
    page.fill("#steps", "120")
    page.click("#train")
    tab.wait_state("done", timeout_s=60)
    run = page.evaluate("window.zcgpt.run")
    steps = [p[0] for p in run["points"]]
    assert run["finalStep"] == 120 and not run["stopped"]
    assert steps == sorted(steps) and steps[-1] == 120, steps   # nothing from the old run
    page.click("#reset")
    tab.wait_state("ready")


@pytest.mark.parametrize("preset,steps", [("zeroclaw", 100), ("small", 5)])
def test_other_presets_train(tab, trained, preset, steps):
    page = tab.page
    page.select_option("#preset", preset)
    page.fill("#steps", str(steps))
    page.click("#train")
    tab.wait_state("done", timeout_s=120)
    run = page.evaluate("window.zcgpt.run")
    assert run["finalStep"] == steps and run["preset"] == preset
    assert run["finalVal"] < run["uniform"] + 0.1
    assert page.locator("#samples li.name").count() == 8
    page.click("#reset")
    tab.wait_state("ready")


def test_no_long_main_thread_task(tab, trained, metrics):
    """From navigation through every run above (tiny, pause/stop/reset, the other presets)."""
    longest, tasks = tab.longest_task_ms()
    metrics["longest_main_thread_task_ms"] = round(longest)
    assert longest < FROZEN_TASK_MS, tasks


def test_no_console_errors(tab, trained):
    assert tab.errors == []


def test_every_request_stays_on_origin(tab, trained, server):
    assert off_origin(tab.requests, server.origin) == []
    # the worker's own fetches are in the record too
    assert any(u.endswith(".wasm") for u in tab.requests)
    assert any(u.endswith("zcgpt-0.1.0-py3-none-any.whl") for u in tab.requests)


def test_under_a_sub_path_on_a_phone(subpath_server, open_tab, metrics):
    assert subpath_server.url.endswith("/zcgpt/")
    tab = open_tab(subpath_server.url, width=375, height=800)
    page = tab.page
    tab.wait_state("ready")
    tab.train(150)
    assert page.locator("#samples li.name").count() == 8
    page.fill("#gen-n", "10")
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#generated li.name').length === 10")
    # nothing wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / "trained-phone.png"), full_page=True)
    assert off_origin(tab.requests, subpath_server.origin) == []
    if built_with_bytecode():   # its zip is fetched by URL: check it is found under a sub-path too
        assert tab.page.evaluate("window.zcgpt.bytecode")["numpy_py"] == 0
    assert all("/zcgpt/" in u for u in tab.requests if u.startswith(subpath_server.origin)), tab.requests
    assert tab.errors == []
    longest, tasks = tab.longest_task_ms()
    metrics["phone_longest_main_thread_task_ms"] = round(longest)
    assert longest < FROZEN_TASK_MS, tasks
