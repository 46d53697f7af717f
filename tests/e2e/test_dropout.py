"""A run with dropout, started from a link, repeats bit for bit in the tab.

Its masks are keyed by the seed, the step and the shard (zcgpt.train.dropout_lanes): the model
the page's Download button saves is the same bits on 1 and 2 workers, and the tab draws the
masks the desktop draws (its first points agree with CPython's to float32 rounding, which other
masks could not do).
"""

import json

from conftest import open_lab
from test_share import cli_points

SEED, STEPS, DROPOUT = 13, 300, 0.2


def run_in_tab(open_tab, server, tmp_path, workers):
    link = f"#preset=tiny&seed={SEED}&steps={STEPS}&dropout={DROPOUT}&workers={workers}"
    tab = open_tab(server.url + link)
    page = tab.page
    tab.wait_state("ready")
    page.wait_for_function(f"document.body.dataset.workers === '{workers}'", timeout=60_000)
    assert page.input_value("#f-dropout") == str(DROPOUT)
    page.wait_for_function("!document.getElementById('train').disabled")
    page.click("#train")
    tab.wait_state("done", timeout_s=180)
    run = page.evaluate("window.zcgpt.run")
    open_lab(page, "keep")
    with page.expect_download() as saved:
        page.click("#model-save")
    path = tmp_path / f"w{workers}.json"
    saved.value.save_as(path)
    tab.close()
    return run, json.loads(path.read_text())


def test_a_run_with_dropout_repeats_bit_for_bit_on_any_number_of_workers(server, open_tab, tmp_path, metrics):
    run1, model1 = run_in_tab(open_tab, server, tmp_path, 1)
    run2, model2 = run_in_tab(open_tab, server, tmp_path, 2)
    assert model1["config"]["dropout"] == DROPOUT and model1["step"] == STEPS
    assert json.dumps(model2["params"]) == json.dumps(model1["params"])
    assert run2["points"] == run1["points"] and run2["finalVal"] == run1["finalVal"]
    assert run2["shared"]["steps"] > 0                              # the helper took part

    # the desktop's engine on the same link: the same masks, so the same losses to float32
    # rounding at first (another draw of masks moves a step's loss by about 1e-2)
    from zcgpt import presets
    cli = cli_points("tiny", SEED, STEPS, presets["tiny"].lr, dropout=DROPOUT)
    page_pts = [(s, loss) for s, loss, _ in run1["points"]]
    assert [s for s, _ in cli] == [s for s, _ in page_pts]
    rel = [abs(a - b) / abs(b) for (s, a), (_, b) in zip(page_pts, cli) if s <= 30]
    metrics["dropout_rel_diff_vs_cpython_to_step_30"] = max(rel)
    assert max(rel) <= 1e-5, rel
    no_drop = cli_points("tiny", SEED, STEPS, presets["tiny"].lr)
    assert max(abs(a - b) / b for (_, a), (_, b) in zip(cli[:10], no_drop[:10])) > 1e-3
