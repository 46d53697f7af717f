"""The built-in lists and the pre-trained models (issue 11): each list trains and shows names,
says where it comes from and under which licence; a pre-trained model loads in one click and
generates before any training; neither is fetched unless asked for.
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = json.loads((ROOT / "dist" / "build.json").read_text()) if (ROOT / "dist" / "build.json").is_file() else {}
LISTS = [d["name"] for d in BUILD.get("datasets", [])]


def test_first_visit_fetches_no_list_or_model(tab):
    page = tab.page
    # the offline copy is complete (it fetches the rest of the build once the page is idle) ...
    page.wait_for_selector("body[data-offline=ready]", state="attached", timeout=120_000)
    # ... without the extra lists and the pre-trained models
    asked = [u for u in tab.requests if "/lists/" in u or "/pretrained/" in u]
    assert not asked, asked
    manifest = json.loads((ROOT / "dist" / "manifest.json").read_text())
    assert manifest["on_demand"] and all(p.startswith(("lists/", "pretrained/")) for p in manifest["on_demand"])
    assert not set(manifest["on_demand"]) & set(manifest["runtime"])


def test_the_select_offers_every_built_in_list(tab):
    assert len(LISTS) >= 5 and LISTS[0] == "names"
    values = tab.page.eval_on_selector_all("#dataset option", "os => os.map(o => o.value)")
    assert values == LISTS


@pytest.mark.parametrize("name", LISTS)
def test_each_list_says_its_source_and_licence_trains_and_shows_names(tab, name):
    page = tab.page
    entry = next(d for d in BUILD["datasets"] if d["name"] == name)
    page.select_option("#dataset", name)
    summary = f"{name}: {entry['items']:,} items"
    page.wait_for_function(f"document.getElementById('data-summary').textContent.startsWith({json.dumps(summary)})")
    assert page.evaluate("document.body.dataset.chars") == entry["chars"]
    source = page.inner_text("#data-source")
    assert entry["source"] in source and entry["licence"] in source, source
    run = tab.train(40)
    assert run["points"] and run["finalVal"] is not None
    names = [n for n in page.locator("#samples li.name .n").all_text_contents() if n != "(empty)"]
    assert names and all(set(n) <= set(entry["chars"]) for n in names), names


def test_a_pre_trained_model_loads_in_one_click_and_generates_before_training(server, open_tab):
    tab = open_tab(server.url)
    tab.wait_state("ready")
    page = tab.page
    assert page.evaluate("window.zcgpt.run") is None
    model = next(m for m in BUILD["pretrained"] if m["preset"] == "tiny" and m["data"] == "cities")
    page.select_option("#dataset", "cities")
    page.wait_for_function("document.body.dataset.chars.includes(' ')")
    button = page.locator("#pretrained-load")
    assert "pre-trained tiny on cities" in button.inner_text()
    assert f"{model['val_loss']:.3f}" in button.inner_text()
    button.click()
    tab.wait_state("done")
    assert "pre-trained" in page.inner_text("#pretrained-note")
    assert f"{model['val_loss']:.3f}" in page.inner_text("#pretrained-note")
    # the page asks for this one model only (the offline copy's service worker may pass it on)
    assert {u for u in tab.requests if "/pretrained/" in u} == {server.url.rstrip("/") + "/" + model["path"]}
    page.fill("#gen-n", "10")
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#generated li.name').length === 10")
    names = page.locator("#generated li.name .n").all_text_contents()
    assert len(names) == 10 and all(n.strip() for n in names)
    # "train on" continues from it: the run starts from the model's step
    assert page.is_checked("#continue")
    run = tab.train(20)
    assert run["from_model"] and run["points"]
    assert not tab.errors, tab.errors
    tab.close()
