"""Your own data, model files both ways with the command line, shared links, run comparison.

Driven like a person would: type or upload a list, press buttons, read what the page shows.
One tab is shared by the tests of this module, in file order.
"""

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"

WORDS = ["river", "meadow", "harbor", "summit", "canyon", "prairie", "lagoon", "glacier", "valley", "forest",
         "delta", "tundra", "marsh", "island", "ridge", "bayou", "steppe", "savanna", "fjord", "mesa",
         "butte", "cove", "creek", "dune", "estuary", "geyser", "grove", "heath", "inlet", "knoll"]
LINK = {"preset": "tiny", "seed": 11, "steps": 240, "lr": 0.02}


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "zcgpt", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tab(server, open_tab):
    tab = open_tab(server.url)
    tab.wait_state("ready")
    return tab


def train(tab, steps, preset="tiny", seed=None, lr=None):
    page = tab.page
    page.select_option("#preset", preset)
    page.fill("#steps", str(steps))
    if seed is not None:
        page.fill("#seed", str(seed))
    if lr is not None:
        page.fill("#lr", str(lr))
    page.click("#train")
    tab.wait_state("done", timeout_s=120)
    return page.evaluate("window.zcgpt.run")


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
    run = train(tab, 60)
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
    page.check("#continue")
    run = train(tab, 30)
    assert run["finalStep"] == 30 and run["from_model"]
    assert run["points"][0][1] < math.log(28) - 0.3, run["points"][:3]   # not a fresh model


def test_page_model_works_in_the_cli(tab, tmp_path):
    page = tab.page
    page.click("#reset")
    tab.wait_state("ready")
    run = train(tab, 80, seed=9)
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
