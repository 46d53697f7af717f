"""Every kind of run is a record that can be continued (issue 20): from scratch, from a pre-trained
model, from a model file, on an uploaded list, and on two workers. Each is trained once without a
break; then again, cut off by a reload after its first snapshot and continued from the runs
table: the final model is the uninterrupted run's, bit for bit.

The page is opened with ?snapshot_s=1 (a snapshot every second of training, 15 s otherwise) so a
run of a few seconds has one to continue from.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, open_lab, press_train_now

STEPS = 3000
SEED = 5
NAMES = (ROOT / "names.txt").read_text().split()


def final_model(page):
    """The model of the run just finished, as the Keep & share card downloads it."""
    open_lab(page, "keep")
    with page.expect_download() as dl:
        page.click("#model-save")
    return json.loads(Path(dl.value.path()).read_text())


def first_row(page):
    open_lab(page, "runs")
    return page.locator("#runs-body li.run-card").first


def load_pretrained(page, preset, data):
    open_lab(page, "data")
    page.select_option("#preset", preset)
    page.select_option("#dataset", data)
    page.wait_for_function(f"document.getElementById('pretrained-load').textContent.includes('{preset} on {data}')")
    page.click("#pretrained-load")
    page.wait_for_function("document.getElementById('model-note').textContent.startsWith('Loaded')")


def choose_list(page, name):
    open_lab(page, "data")
    page.select_option("#dataset", name)
    page.wait_for_function(f"document.getElementById('data-summary').textContent.startsWith('{name}:')")


def upload_list(page, path):
    open_lab(page, "data")
    page.set_input_files("#data-file", str(path))
    page.wait_for_function(f"document.getElementById('data-summary').textContent.startsWith('{path.name}:')")


def upload_model(page, path):
    open_lab(page, "keep")
    page.set_input_files("#model-file", str(path))
    page.wait_for_function("document.getElementById('model-note').textContent.startsWith('Loaded')")


def train(page):
    page.fill("#seed", str(SEED))
    press_train_now(page, STEPS)


def cut_off_and_continue(tab):
    """After the run's first snapshot, reload; press the row's Continue; wait for the end."""
    page = tab.page
    # the card is drawn again once the snapshot is stored
    page.wait_for_selector("#runs-body li.run-card[data-status=running][data-snapshot=yes]", state="attached",
                           timeout=120_000)
    page.reload()
    page.wait_for_selector("body[data-state=ready], body[data-state=done]", timeout=90_000)
    page.wait_for_selector("body[data-runs-loaded]")
    if "pretrained=" in page.url:       # the address is the run's link: its model loads again
        page.wait_for_function("document.getElementById('model-note').textContent.startsWith('Loaded')")
    row = first_row(page)
    assert row.get_attribute("data-status") == "interrupted"
    row.locator("button[data-act=continue]").click()
    # the record itself: the page is "done" already when the address's pre-trained model loaded
    page.wait_for_function("(() => { const r = window.zcgpt.runRecords()[0];"
                           " return r.status === 'done' && r.valLoss != null; })()", timeout=180_000)
    tab.wait_state("done", timeout_s=180)
    assert "Something went wrong" not in page.inner_text("#status")
    return page.evaluate("window.zcgpt.runRecords()[0]")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A model the command line trained on names, 300 steps, 24 wide."""
    folder = tmp_path_factory.mktemp("model")
    out = folder / "cli-model.json"
    subprocess.run([sys.executable, "-m", "zcgpt", "train", "--steps", "300", "--n-embd", "24", "--seed", "3",
                    "--samples", "0", "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def own_list(tmp_path_factory):
    path = tmp_path_factory.mktemp("list") / "my-names.txt"
    path.write_text("\n".join(NAMES[::3]) + "\n")
    return path


KINDS = ["scratch", "pretrained", "model file", "own list", "two workers"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_run_cut_off_by_a_reload_continues_to_the_same_bits(server, open_tab, kind, model_file, own_list):
    url = server.url + "?snapshot_s=1" + ("#workers=2" if kind == "two workers" else "")
    tab = open_tab(url)
    page = tab.page
    tab.wait_state("ready")

    def prepare():
        if kind == "pretrained":           # the issue's case: cities' model, trained on names
            load_pretrained(page, "tiny", "cities")
            choose_list(page, "names")
        elif kind == "model file":
            upload_model(page, model_file)
        elif kind == "own list":
            upload_list(page, own_list)

    prepare()
    train(page)
    page.wait_for_function("(() => { const r = window.zcgpt.runRecords()[0];"
                           " return r && r.status === 'done' && r.valLoss != null; })()", timeout=180_000)
    whole = page.evaluate("window.zcgpt.runRecords()[0]")
    want = final_model(page)

    prepare()
    train(page)
    got_record = cut_off_and_continue(tab)
    got = final_model(page)
    assert got["params"] == want["params"], kind                # bit for bit
    assert got["step"] == want["step"]
    assert got_record["valLoss"] == whole["valLoss"] and got_record["status"] == "done"
    # the record says what the run was, both times
    assert got_record["start"] == whole["start"] and got_record["config"] == whole["config"]
    assert got_record["params"] == whole["params"] and got_record["stepsDone"] == STEPS
    if kind == "pretrained":
        assert whole["start"]["kind"] == "pretrained" and whole["start"]["data"] == "cities"
        assert whole["baseStep"] > 0 and got["step"] == whole["baseStep"] + STEPS
    elif kind == "model file":
        assert whole["start"] == {"kind": "file", "name": model_file.name, "step": 300}
        assert whole["config"]["n_embd"] == 24
    else:
        assert whole["start"] == {"kind": "scratch"}
    # the continued run's curve is the whole run's, and its time counts both parts
    assert [p[0] for p in got_record["points"]] == [p[0] for p in whole["points"]]
    assert got_record["points"][-1][1:] == whole["points"][-1][1:]
    assert got_record["seconds"] > 0
    assert tab.errors == []
    tab.close()


def test_a_run_from_a_pre_trained_model_is_named_linked_and_repeated_by_its_command(server, open_tab, tmp_path):
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    load_pretrained(page, "tiny", "cities")
    page.fill("#seed", "7")
    press_train_now(page, 400)
    tab.wait_state("done")
    row = first_row(page)
    name = row.locator(".run-name").inner_text()
    assert name == "run 1 · from pre-trained tiny on cities, seed 7", name
    assert "steps before" in row.inner_text() and "tiny, seed" not in row.inner_text()
    record = page.evaluate("window.zcgpt.runRecords()[0]")
    # the command line's --init repeats it: the same validation loss (the tab computes with its
    # own kernel, so equal to float precision, not bit for bit)
    row.locator("button[data-act=command]").click()
    page.wait_for_function("document.getElementById('runs-note').textContent.includes('python -m zcgpt train')")
    command = page.inner_text("#runs-note").split("python -m zcgpt train", 1)[1].split()
    assert command[:2] == ["--init", "dist/pretrained/tiny-cities.json"], command
    cli = subprocess.run([sys.executable, "-m", "zcgpt", "train", *command, "--samples", "0", "--json",
                          "--out", str(tmp_path / "m.json")], cwd=ROOT, capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    summary = json.loads(cli.stdout.splitlines()[-1])
    assert summary["val_loss"] == pytest.approx(record["valLoss"], abs=2e-3)
    assert summary["model_step"] == record["baseStep"] + 400
    # its link names the pre-trained model; opened fresh, it loads it and repeats the run
    link = row.locator("a", has_text="Link").get_attribute("href")
    assert "pretrained=tiny.cities" in link and "data=cities" in link
    other = open_tab(link)
    other.wait_state("done")        # the pre-trained model is loaded: generate or train on
    assert other.page.is_checked("#continue")
    press_train_now(other.page, 400)
    other.wait_state("done")
    again = other.page.evaluate("window.zcgpt.runRecords()[0]")
    assert again["valLoss"] == record["valLoss"] and again["start"]["kind"] == "pretrained"
    other.close()
    tab.close()


def test_a_run_from_a_model_file_says_why_it_has_no_link(server, open_tab, model_file):
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    upload_model(page, model_file)
    press_train_now(page, 50)
    tab.wait_state("done")
    row = page.locator("#runs-body li.run-card").first
    open_lab(page, "runs")
    assert row.locator("a", has_text="Link").count() == 0
    assert f"No link: it started from the model file {model_file.name}" in row.inner_text()
    open_lab(page, "keep")
    assert "This run has no link" in page.inner_text("#share-note")
    assert row.locator(".run-name").inner_text() == f"run 2 · from {model_file.name}"
    tab.close()
