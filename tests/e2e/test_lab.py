"""The learner's lab: design a model, keep every run across reloads, continue a cut-off run,
compare runs, and survive a full storage quota. Each test uses its own browser context, so its
own IndexedDB."""

import json
import subprocess
import sys
from pathlib import Path

from conftest import open_lab, press_train_now

ROOT = Path(__file__).resolve().parents[2]

QUOTA_SCRIPT = """
(() => {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    if (window.__quotaFull) throw new DOMException('simulated', 'QuotaExceededError');
    return put.apply(this, args);
  };
})();
"""


def design(page, **fields):
    open_lab(page, "design")
    for name, value in fields.items():
        target = "#steps" if name == "steps" else "#lr" if name == "lr" else f"#f-{name}"
        page.fill(target, str(value))


def train_now(tab, timeout_s=120):
    page = tab.page
    page.wait_for_function("!document.getElementById('train').disabled")
    page.click("#train")
    tab.wait_state("done", timeout_s=timeout_s)


def download_params(page):
    open_lab(page, "keep")
    with page.expect_download() as dl:
        page.click("#model-save")
    return json.loads(Path(dl.value.path()).read_text())["params"]


def rows(page):
    open_lab(page, "runs")
    return page.locator("#runs-body li.run-card")


def test_invalid_design_says_why_and_cannot_start(server, open_tab):
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    design(page, n_embd=30)
    page.wait_for_function("document.getElementById('p-n_embd').textContent.includes('not divisible')")
    assert "n_embd 30 is not divisible by n_head 4" in page.inner_text("#design-cost")
    assert page.is_disabled("#train")
    design(page, n_embd=32)
    page.wait_for_function("!document.getElementById('train').disabled")
    assert page.inner_text("#p-n_embd") == ""
    assert "parameters" in page.inner_text("#design-cost")
    tab.close()


def test_design_train_reload_find_generate_and_link(server, open_tab, tmp_path):
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    design(page, n_layer=2, block_size=24, steps=300)
    train_now(tab)
    params = download_params(page)
    assert len(params) == 2 + 2 * 6            # wte, wpe and two blocks of six matrices (tied head)
    assert len(params["wpe"]["data"]) == 24 * 20
    link = page.input_value("#share-url")
    assert "n_layer=2" in link and "block_size=24" in link

    page.reload()
    tab.wait_state("ready")
    page.wait_for_selector("body[data-runs-loaded='1']")
    row = rows(page).first
    assert row.get_attribute("data-status") == "done"
    assert "n_layer 2, block_size 24" in row.inner_text() and "300 / 300" in row.inner_text()
    assert row.locator(".run-name").inner_text() == "run 1 · tiny, 2 layers, context 24"
    row.locator("input[type=checkbox]").check()                 # its curve comes back on the chart
    page.wait_for_selector("#chart-legend li[data-run='1']")
    assert "run 1 · tiny, 2 layers, context 24" in page.inner_text("#chart-legend")
    row.locator("button[data-act=command]").click()           # the same run on the desktop
    page.wait_for_function("document.getElementById('runs-note').textContent.includes('python -m zcgpt train')")
    command = page.inner_text("#runs-note").split("python -m zcgpt train", 1)[1].split()
    assert command[:2] == ["--preset", "tiny"] and "--n-layer" in command and "--block-size" in command
    cli = subprocess.run([sys.executable, "-m", "zcgpt", "train", *command, "--samples", "0", "--json",
                          "--out", str(tmp_path / "m.json")], cwd=ROOT, capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    summary = json.loads(cli.stdout.splitlines()[-1])
    assert summary["steps"] == 300 and summary["params"] == sum(len(p["data"]) for p in params.values())
    row.locator("button[data-act=use]").click()
    tab.wait_state("done")
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#generated li.name').length > 0")

    other = open_tab(link)                                      # a fresh context: no runs, no model
    other.wait_state("ready")
    assert other.page.input_value("#f-n_layer") == "2" and other.page.input_value("#f-block_size") == "24"
    train_now(other)
    assert download_params(other.page) == params                # the same run, bit for bit
    other.close()
    tab.close()


def test_a_run_cut_off_by_a_reload_continues_to_the_same_model(server, open_tab, metrics):
    steps = 12000                                               # > 15 s of training (SIMD kernel too): a snapshot
    whole = open_tab(server.url)
    whole.wait_state("ready")
    design(whole.page, steps=steps)
    train_now(whole, timeout_s=400)
    want_val = whole.page.evaluate("window.zcgpt.run.finalVal")
    want = download_params(whole.page)
    whole.close()

    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    design(page, steps=steps)
    page.wait_for_function("!document.getElementById('train').disabled")
    page.click("#train")
    page.wait_for_selector("#runs-body li[data-status=running][data-snapshot=yes]", state="attached", timeout=120000)
    page.reload()
    tab.wait_state("ready")
    open_lab(page, "runs")
    page.wait_for_selector("#runs-body li[data-status=interrupted]")
    page.click("#runs-body li[data-status=interrupted] button[data-act=continue]")
    tab.wait_state("done", timeout_s=400)
    got_val = page.evaluate("window.zcgpt.run.finalVal")
    metrics["continued_val"] = [want_val, got_val]
    assert got_val == want_val
    assert download_params(page) == want
    assert rows(page).count() == 1 and rows(page).first.get_attribute("data-status") == "done"
    tab.close()


def test_a_full_quota_is_said_and_earlier_runs_stay(server, open_tab):
    tab = open_tab(server.url, init_script=QUOTA_SCRIPT)
    page = tab.page
    tab.wait_state("ready")
    press_train_now(page, 60)
    page.wait_for_selector("body[data-state=done]", timeout=120000)
    page.wait_for_function("document.querySelector('#runs-body li button[data-act=use]') !== null")
    page.evaluate("window.__quotaFull = true")
    press_train_now(page, 70)
    page.wait_for_selector("body[data-state=done]", timeout=120000)
    page.wait_for_function("document.getElementById('runs-note').textContent.includes('full')")
    assert "Earlier runs are safe" in page.inner_text("#runs-note")
    page.reload()                                               # the quota is back to normal
    page.wait_for_selector("body[data-runs-loaded]", timeout=90000)
    assert page.locator("#runs-body li").count() == 1
    assert "60 / 60" in page.inner_text("#runs-body")
    tab.close()


def test_cli_model_rows_exports_and_clear(server, open_tab, tmp_path):
    out = tmp_path / "cli.json"
    subprocess.run([sys.executable, "-m", "zcgpt", "train", "--steps", "40", "--samples", "0", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    page.set_input_files("#model-file", str(out))
    page.wait_for_selector("#runs-body li[data-status=loaded]", state="attached")
    assert "cli.json" in page.inner_text("#runs-body")
    open_lab(page, "runs")
    with page.expect_download() as dl:
        page.click("#runs-csv")
    csv = Path(dl.value.path()).read_text().splitlines()
    assert csv[0].startswith("id,name,started,start,preset") and len(csv) == 2
    assert csv[1].split(",")[1] == "run 1 · cli.json"
    page.click("#runs-clear")
    page.click("#runs-clear")
    page.wait_for_function("document.querySelectorAll('#runs-body li').length === 0")
    page.reload()
    page.wait_for_selector("body[data-runs-loaded='0']", timeout=90000)
    tab.close()
