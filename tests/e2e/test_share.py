"""Your own data, model files both ways with the command line, shared links, run comparison.

Driven like a person would: type or upload a list, press buttons, read what the page shows.
One tab is shared by the tests of this module, in file order.
"""

import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FROZEN_TASK_MS, open_lab

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"

WORDS = ["river", "meadow", "harbor", "summit", "canyon", "prairie", "lagoon", "glacier", "valley", "forest",
         "delta", "tundra", "marsh", "island", "ridge", "bayou", "steppe", "savanna", "fjord", "mesa",
         "butte", "cove", "creek", "dune", "estuary", "geyser", "grove", "heath", "inlet", "knoll"]
LINK = {"preset": "tiny", "seed": 11, "steps": 1200, "lr": 0.02}


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "zcgpt", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def generate(page, n):
    page.fill("#gen-n", str(n))
    page.click("#generate")
    page.wait_for_function(f"document.querySelectorAll('#generated li.name').length === {n}")
    return page.locator("#generated li.name .n").all_inner_texts()


def test_built_in_list_is_described_before_training(tab):
    page = tab.page
    assert page.locator("#dataset option").first.inner_text().startswith("names")
    text = page.inner_text("#data-summary")
    assert "29,910 items" in text and "vocabulary 28 tokens" in text and "longest" in text, text


def test_pasted_list_is_checked_like_the_cli(tab, tmp_path):
    page = tab.page
    open_lab(page, "data")
    page.click(".paste summary")
    bad = "\n".join(WORDS[:2] + ["x" * 300] + WORDS[2:])
    page.fill("#data-text", bad)
    page.click("#data-use")
    page.wait_for_selector("#data-error:not([hidden])")
    err = page.inner_text("#data-error")
    # the CLI's own sentence for the same text, line number included
    (tmp_path / "pasted list").write_text(bad)
    cli = run_cli("train", "--data", str(tmp_path / "pasted list"), "--steps", "1", "--out", str(tmp_path / "m.json"))
    assert cli.returncode == 1
    assert "line 3 is 300 characters long" in err, err
    assert cli.stderr.split("error: ", 1)[1].strip().replace(str(tmp_path) + "/", "") in err
    assert "29,910 items" in page.inner_text("#data-summary")   # nothing changed

    page.fill("#data-text", "\n".join(WORDS) + "\n\n" + WORDS[0] + "\n")
    page.click("#data-use")
    page.wait_for_function("document.querySelector('#data-summary').textContent.includes('30 items')")
    assert page.is_hidden("#data-error")
    summary = page.inner_text("#data-summary")
    longest = max(WORDS, key=len)
    assert f"vocabulary {len(set(''.join(WORDS))) + 2} tokens" in summary, summary
    assert f"longest “{longest}” ({len(longest)} characters)" in summary, summary
    assert page.input_value("#dataset") == "yours"
    run = tab.train(60)
    assert run["finalStep"] == 60
    letters = set("".join(WORDS))
    for name in generate(page, 10):
        assert set(name.lower()) <= letters, name


def test_rejected_file_keeps_the_trained_model(tab, tmp_path):
    page = tab.page
    bad = tmp_path / "places.txt"
    bad.write_bytes(b"paris\nlyon\xff\nnice\n")
    page.set_input_files("#data-file", str(bad))
    page.wait_for_selector("#data-error:not([hidden])")
    err = page.inner_text("#data-error")
    assert "places.txt is not UTF-8 text: line 2 has the invalid byte 0xff." in err, err
    assert "30 items" in page.inner_text("#data-summary")
    assert page.is_enabled("#generate")
    assert len(generate(page, 5)) == 5          # the model trained before is still there

    good = tmp_path / "cities.txt"
    good.write_text("paris\nlyon\nnice\nlille\nnantes\nrennes\nreims\nbrest\nmetz\ntours\n")
    page.set_input_files("#data-file", str(good))
    page.wait_for_function("document.querySelector('#data-summary').textContent.includes('10 items')")
    assert "cities.txt" in page.input_value("#dataset") or "cities.txt" in page.inner_text("#dataset")
    page.select_option("#dataset", "names")
    page.wait_for_function("document.querySelector('#data-summary').textContent.includes('29,910 items')")


def test_cli_model_works_in_the_page(tab, tmp_path):
    page = tab.page
    out = tmp_path / "cli.json"
    cli = run_cli("train", "--steps", "50", "--seed", "5", "--out", str(out), "--samples", "0")
    assert cli.returncode == 0, cli.stderr
    page.set_input_files("#model-file", str(out))
    page.wait_for_function("document.querySelector('#model-note').textContent.startsWith('Loaded')")
    note = page.inner_text("#model-note")
    assert "cli.json" in note and "trained 50 steps" in note, note
    names = generate(page, 12)
    chars = set(page.get_attribute("body", "data-model-chars"))
    assert len(chars) == 26
    assert all(n == "(Empty)" or set(n.lower()) <= chars for n in names), names   # 50 steps: crude names

    # train on from it: the run starts where the command line stopped
    open_lab(page, "keep")
    page.check("#continue")
    run = tab.train(30)
    assert run["finalStep"] == 30 and run["from_model"]
    assert run["points"][0][1] < math.log(28) - 0.3, run["points"][:3]   # not a fresh model


def test_page_model_works_in_the_cli(tab, tmp_path):
    page = tab.page
    page.click("#reset")
    tab.wait_state("ready")
    run = tab.train(80, seed=9)
    open_lab(page, "keep")
    with page.expect_download() as dl:
        page.click("#model-save")
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.name == "zcgpt-step80.json"
    d = json.loads(path.read_text())
    assert d["format"] == "zcgpt-checkpoint" and d["step"] == 80 and d["seed"] == 9
    assert d["metrics"]["val_loss"] == pytest.approx(run["finalVal"])
    cli = run_cli("sample", "--model", str(path), "-n", "8", "--seed", "1")
    assert cli.returncode == 0, cli.stderr
    names = cli.stdout.split()
    assert len(names) == 8 and all(set(n) <= set("abcdefghijklmnopqrstuvwxyz") for n in names), names
    ev = run_cli("eval", "--model", str(path), "--data", "names.txt", "--json")
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["loss"] < math.log(28)


@pytest.mark.parametrize("content,expect", [
    ('{"format": "something-else", "version": 1}', "not a zcgpt checkpoint: format is 'something-else'"),
    ('{"format": "zcgpt-checkpoint", "version": 1, "config": {', "invalid JSON at line 1"),
    ("\x89PNG\r\n", "invalid JSON"),
])
def test_corrupt_or_foreign_model_file_is_refused(tab, tmp_path, content, expect):
    page = tab.page
    f = tmp_path / "bad.json"
    f.write_text(content)
    page.set_input_files("#model-file", str(f))
    page.wait_for_function("document.querySelector('#model-note').classList.contains('error')")
    note = page.inner_text("#model-note")
    assert expect in note and "Nothing changed" in note, note
    assert page.is_enabled("#generate")
    assert len(generate(page, 3)) == 3          # the page's own model is untouched
    page.eval_on_selector("#model-note", "el => el.className = 'note'")


def cli_points(preset, seed, steps, lr, **changes):
    """The page's train points computed by CPython: the package's run loop and the page's schedule."""
    from zcgpt import presets
    from zcgpt.data import load_lines, make_dataset
    from zcgpt.run import Run, Schedule
    from zcgpt.train import Trainer
    tr = Trainer(presets[preset].replace(steps=steps, lr=lr, **changes),
                 make_dataset(load_lines(ROOT / "names.txt"), 0.1, seed), seed)
    return [(p.step, p.train_loss) for p in Run(tr, Schedule.for_page(tr)).steps() if p is not None]


def test_shared_link_repeats_the_run_bit_for_bit(server, open_tab, metrics):
    link = server.url + "#" + "&".join(f"{k}={v}" for k, v in {**LINK, "data": "names"}.items())
    tab = open_tab(link)
    page = tab.page
    tab.wait_state("ready")
    assert "Settings from the link" in page.inner_text("#status")
    assert (page.input_value("#preset"), page.input_value("#seed"), page.input_value("#steps"),
            page.input_value("#lr")) == ("tiny", "11", "1200", "0.02")
    runs = []
    for _ in range(2):
        page.click("#train")
        tab.wait_state("done", timeout_s=120)
        runs.append(page.evaluate("window.zcgpt.run"))
        assert page.input_value("#share-url") == link
    first, second = runs
    assert [p[0] for p in first["points"]] == list(range(3, 1201, 3))   # a point every 3 steps
    assert first["points"] == second["points"]          # train and validation, bit for bit
    assert first["finalVal"] == second["finalVal"]

    # The command line's engine on the same settings, in this process. Both run float32, but
    # wasm numpy (no BLAS) sums in another order: the last bits differ from the first step and,
    # as in any training, the difference grows chaotically. The bounds come from CPython against
    # itself with one weight nudged by 1 ulp (tiny, seed 11, lr 0.02, these 400 points):
    # <= 1.0e-6 relative to step 30, single points up to 6.8e-3 later, 300-step means 2.7e-4.
    # Another setting breaks them: lr 0.021 gives 1.9e-2 by step 30, points up to 3.7e-2, means
    # 4e-3; seed 12 gives points up to 0.2. The tab measured 9.5e-7, 6.6e-3 and 1.6e-4.
    cli = cli_points(LINK["preset"], LINK["seed"], LINK["steps"], LINK["lr"])
    page_pts = [(s, loss) for s, loss, _ in first["points"]]
    assert [s for s, _ in cli] == [s for s, _ in page_pts]
    rel = [abs(a - b) / abs(b) for (_, a), (_, b) in zip(page_pts, cli)]
    metrics["link_rel_diff_vs_cpython_to_step_30"] = max(r for (s, _), r in zip(page_pts, rel) if s <= 30)
    metrics["link_first_step_rel_diff_over_1e-5"] = next((s for (s, _), r in zip(page_pts, rel) if r > 1e-5), None)
    metrics["link_max_rel_diff_vs_cpython"] = max(rel)
    for (step, a), (_, b), r in zip(page_pts, cli, rel):
        assert r <= (1e-5 if step <= 30 else 1.5e-2), (step, a, b, r)
    blocks = []
    for lo in range(0, len(cli), 100):
        pa, pb = [x for _, x in page_pts[lo:lo + 100]], [x for _, x in cli[lo:lo + 100]]
        blocks.append(abs(sum(pa) - sum(pb)) / sum(pb))
    metrics["link_rel_diff_vs_cpython_300_step_means"] = max(blocks)
    assert max(blocks) <= 2e-3, blocks
    tab.close()


def legend(page):
    return page.locator("#chart-legend li").all_inner_texts()


def roughness(values):
    xs = [v for v in values if v is not None]
    return sum(abs(a - b) for a, b in zip(xs, xs[1:]))


def test_runs_compare_on_the_chart_smoothed_named_and_renamed(tab):
    page = tab.page
    page.click("#reset")
    tab.wait_state("ready")
    ids = []
    for lr in ("0.01", "0.03", "0.02"):
        tab.train(90, seed=4, lr=lr)
        page.wait_for_function("window.zcgpt.runRecords()[0]?.status === 'done'")
        ids.append(page.evaluate("window.zcgpt.runRecords()[0].id"))
    first, second, third = ids
    # the current run is drawn once; the two before it are ticked for it, each with its short name
    page.wait_for_function("document.querySelectorAll('#chart-legend li[data-run]').length === 3")
    names = page.locator("#chart-legend li[data-run]").all_inner_texts()
    assert names[0] == f"run {third} · tiny, lr 0.02, seed 4: train", names
    assert re.fullmatch(rf"run {second} · tiny, lr 0\.03, seed 4\s*val \d\.\d{{3}}", names[1]), names
    assert re.fullmatch(rf"run {first} · tiny, seed 4\s*val \d\.\d{{3}}", names[2]), names
    assert sum(f"run {third} ·" in x for x in legend(page)) == 1
    open_lab(page, "runs")
    card = page.locator(f"#runs-body li[data-id='{second}']")
    assert card.locator(".run-name").inner_text() == f"run {second} · tiny, lr 0.03, seed 4"
    assert card.locator("input[type=checkbox]").is_checked()

    # smoothed (the control starts at 0.8), with validation points; raw on demand
    def drawn_at(smoothing):
        page.eval_on_selector("#smoothing", f"el => {{ el.value = '{smoothing}'; el.dispatchEvent(new Event('input')); }}")
        page.wait_for_function(f"window.zcgpt.chart.drawnSmoothing() === {smoothing}")
        return {d["label"]: d["values"] for d in page.evaluate("window.zcgpt.chart.drawn()")}

    assert page.input_value("#smoothing") == "0.8"
    key = f"run {second} · tiny, lr 0.03, seed 4"
    smooth_train = drawn_at(0.9)[f"{key}: train"]
    vals = [v for v in drawn_at(0.9)[f"{key}: validation"] if v is not None]
    assert len(vals) >= 3, vals
    raw = drawn_at(0)
    raw_train = raw[f"{key}: train"]
    assert all(v is None for v in raw["train (raw)"])        # no faint raw line behind a raw one
    assert roughness(smooth_train) < 0.6 * roughness(raw_train), (roughness(smooth_train), roughness(raw_train))
    stored = page.evaluate(f"window.zcgpt.runRecords().find((r) => r.id === {second}).points.map((p) => p[1])")
    assert [v for v in raw_train if v is not None] == [v for v in stored if v is not None]
    drawn_at(0.8)

    # a name of your own goes to the card, the legend and the exports
    card.locator("button[data-act=rename]").click()
    card.locator(".run-name input").fill("high lr")
    card.locator(".run-name input").press("Enter")
    page.wait_for_function(f"document.querySelector('#chart-legend li[data-run=\"{second}\"]').textContent.startsWith('high lr')")
    assert card.locator(".run-name").inner_text() == "high lr"
    with page.expect_download() as dl:
        page.click("#runs-json")
    records = json.loads(Path(dl.value.path()).read_text())
    assert next(r for r in records if r["id"] == second)["name"] == "high lr"
    with page.expect_download() as dl:
        page.click("#runs-csv")
    assert f"{second},high lr," in Path(dl.value.path()).read_text()

    # the run the chart draws as current takes its new name too, and stays drawn after Reset
    last = page.locator(f"#runs-body li[data-id='{third}']")
    last.locator("button[data-act=rename]").click()
    last.locator(".run-name input").fill("last one")
    last.locator(".run-name input").press("Enter")
    page.wait_for_function("document.querySelector('#chart-legend li[data-run=current]').textContent.startsWith('last one')")
    page.click("#reset")
    tab.wait_state("ready")
    page.wait_for_selector(f"#chart-legend li[data-run='{third}']")
    assert page.locator(f"#chart-legend li[data-run='{third}']").inner_text().startswith("last one")
    assert last.locator("input[type=checkbox]").is_checked()
    tab.train(90, seed=4)            # the next test saves a trained model
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".live").screenshot(path=str(ARTIFACTS / "compare-runs.png"))


def test_every_control_has_a_label_and_takes_the_keyboard(tab):
    page = tab.page
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.textContent.trim()))
        .map((el) => el.id || el.outerHTML)""")
    assert unlabelled == []

    def tab_through(start, n=40):
        page.focus(start)
        seen = []
        for _ in range(n):
            page.keyboard.press("Tab")
            seen.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        return seen

    # Tab from the training form's last field reaches Train, the views, generate, then the set-up
    open_lab(page, "data")
    seen = tab_through("#lr")
    for id_ in ("train", "tab-probs", "gen-n", "generate", "tab-data", "dataset", "data-file"):
        assert id_ in seen, (id_, seen)
    assert seen.index("train") < seen.index("tab-probs") < seen.index("dataset") < seen.index("data-file")
    # the set-up tabs answer the arrow keys; the keep panel's controls follow its tab
    page.focus("#tab-data")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.id") == "tab-keep" and page.is_visible("#model-save")
    seen = tab_through("#tab-keep", 8)
    assert seen.index("model-save") < seen.index("model-file") < seen.index("share-url") < seen.index("share-copy"), seen
    # a person can save the model with the keyboard alone
    page.focus("#model-save")
    with page.expect_download() as dl:
        page.keyboard.press("Enter")
    assert dl.value.suggested_filename == "zcgpt-step90.json"


def test_new_cards_fit_a_phone(server, open_tab):
    tab = open_tab(server.url + "#preset=tiny&seed=2&steps=60&lr=0.01&data=names", width=375, height=800)
    page = tab.page
    tab.wait_state("ready")
    page.click("#train")
    tab.wait_state("done", timeout_s=120)
    open_lab(page, "data")
    page.click(".paste summary")
    page.fill("#data-text", "one\n" + "y" * 400)
    page.click("#data-use")
    page.wait_for_selector("#data-error:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for name in ("data", "keep", "runs", "design"):
        open_lab(page, name)
        box = page.locator(f"#lab-{name}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (name, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
        if name == "keep":
            assert page.is_hidden("#continue-box")        # only once a model file is loaded
        page.locator(".lab").screenshot(path=str(ARTIFACTS / f"{name}-phone.png"))
    # pressing the open tab again closes it: on a phone the set-up takes no room until asked
    page.click("#tab-design")
    assert page.is_hidden("#lab-design")
    assert tab.errors == []
    tab.close()


def test_no_console_errors_and_no_long_tasks(tab):
    assert tab.errors == []
    longest, tasks = tab.longest_task_ms()
    assert longest < FROZEN_TASK_MS, tasks


def test_works_offline_after_the_first_visit(subpath_server, open_tab):
    tab = open_tab(subpath_server.url)
    page = tab.page
    tab.wait_state("ready")
    page.wait_for_selector("body[data-offline=ready]", timeout=60000)
    assert "works offline" in page.inner_text("#about")
    tab.context.set_offline(True)
    tab.requests.clear()
    page.reload()
    tab.wait_state("ready")
    page.fill("#steps", "40")
    page.click("#train")
    tab.wait_state("done", timeout_s=60)
    assert page.evaluate("window.zcgpt.run.finalStep") == 40
    assert len(generate(page, 5)) == 5
    scope = page.evaluate("navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL")
    assert scope.startswith(subpath_server.url + "sw.js?build="), scope
    tab.context.set_offline(False)
    assert tab.errors == []
    tab.close()


def controller_build(page):
    return page.evaluate("new URL(navigator.serviceWorker.controller.scriptURL).searchParams.get('build')")


def test_a_new_build_replaces_the_offline_copy_when_the_visitor_reloads(open_tab, tmp_path):
    import re
    import shutil
    from buildtools.dist import write_manifest
    site = tmp_path / "dist"
    shutil.copytree(ROOT / "dist", site)
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", "0", "--dir", str(site), "--quiet"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        url = re.search(r"(http://\S+)", proc.stdout.readline()).group(1)
        old = json.loads((site / "manifest.json").read_text())["build"]
        tab = open_tab(url)
        page = tab.page
        tab.wait_state("ready")
        page.wait_for_selector("body[data-offline=ready]", timeout=60000)
        assert page.evaluate("caches.keys()") == [f"zcgpt-{old}"]

        with open(site / "js" / "panels.js", "a") as f:     # a new build
            f.write("\n// build 2\n")
        new = write_manifest(site)["build"]
        assert new != old
        page.reload()
        tab.wait_state("ready")
        # the new build's worker copies the files and waits; the page says so and reloads when asked
        page.wait_for_selector("#update:not([hidden])", timeout=60000)
        assert controller_build(page) == old
        with page.expect_navigation():
            page.click("#update-reload")
        tab.wait_state("ready")
        # the new build's worker is in charge and deletes the old copy
        check = f"""(async () => (await caches.keys()).join() === 'zcgpt-{new}'
            && !!navigator.serviceWorker.controller?.scriptURL.endsWith('build={new}'))()"""
        deadline = time.monotonic() + 60
        while not page.evaluate(check):
            assert time.monotonic() < deadline, page.evaluate("caches.keys()")
            time.sleep(0.25)
        tab.context.set_offline(True)
        page.reload()                                           # now served from the new copy
        tab.wait_state("ready")
        text = page.evaluate("fetch('js/panels.js').then((r) => r.text())")
        assert text.endswith("// build 2\n"), text[-60:]
        tab.context.set_offline(False)
        assert tab.errors == []
        tab.close()
    finally:
        proc.terminate()
        proc.wait(10)
