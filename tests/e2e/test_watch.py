"""Watching the model: gradients while it trains, and a name written a letter at a time."""

import subprocess
import sys
from pathlib import Path

from conftest import open_lab

ROOT = Path(__file__).resolve().parents[2]


def test_gradient_panel_draws_while_training(server, open_tab):
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    page.click("#tab-grads")
    page.wait_for_selector("#grads-view", state="attached")
    # before any training the view says what will appear instead of showing empty charts
    assert page.is_hidden("#grads-view") and "Nothing to show yet" in page.inner_text("#grads-note")
    tab.start(3000)
    page.wait_for_function("Number(document.getElementById('grads-view').dataset.points || 0) > 3", timeout=60000)
    assert page.get_attribute("body", "data-state") == "training"
    legend = page.locator("#grads-grad .u-legend .u-label").all_inner_texts()
    assert [x for x in legend if x != "step"] == ["embedding", "block 1"], legend
    assert page.is_visible("#grads-view") and "rate (0.01)" in page.inner_text("#grads-note")
    page.click("#stop")
    tab.wait_state("done")
    tab.close()


def test_writing_a_name_step_by_step_matches_the_cli(server, open_tab, tmp_path):
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    tab.train(300)
    open_lab(page, "keep")
    with page.expect_download() as dl:
        page.click("#model-save")
    model = tmp_path / "m.json"
    model.write_bytes(Path(dl.value.path()).read_bytes())

    page.click("#tab-writer")
    page.wait_for_selector("#w-next")
    page.fill("#w-prefix", "ma")
    page.fill("#w-temp", "0.8")
    page.fill("#w-topk", "5")
    page.fill("#w-seed", "5")
    for i in range(1, 16):
        page.click("#w-next")
        page.wait_for_function(f"document.querySelectorAll('#w-name span').length === {i + 1}")
        if page.get_attribute("#w-name", "data-done") == "true":
            break
    assert page.get_attribute("#w-name", "data-done") == "true"       # it reached the end token
    word = page.get_attribute("#w-name", "data-word")
    assert page.locator("#w-bars .wbar.drawn .wch").inner_text() == "."
    assert page.locator("#w-att .watt-row").count() == 4                # 1 layer x 4 heads
    cli = subprocess.run([sys.executable, "-m", "zcgpt", "sample", "--model", str(model), "-n", "1", "--seed", "5",
                          "--temperature", "0.8", "--top-k", "5", "--prefix", "ma"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert cli.stdout.strip() == word
    page.click("#w-back")                                                # one step back: the end is undone
    page.wait_for_function("document.getElementById('w-name').dataset.done === 'false'")
    tab.close()
