""""See inside": a visitor opens the panels, types a prefix, picks a name — during and after training.

One tab for the module, used in file order: the panels' code must not load before one is opened;
then the source panel (needs no model), then the others while tiny trains, after it stops, and
with the deeper small preset. A phone-sized tab checks the layout at 375 px.
"""

from pathlib import Path

import pytest

from buildtools.chromium import off_origin
from conftest import FROZEN_TASK_MS

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PANELS = ("probs", "attention", "embedding", "source")


def open_panel(page, name):
    """Show a view with the keyboard, as someone tabbing through the page would."""
    if page.is_hidden(f"#inside-{name}"):
        page.focus(f"#tab-{name}")
        page.keyboard.press("Enter")
    page.wait_for_selector(f"#inside-{name}:not([hidden]) .inside-body > *")
    assert page.get_attribute(f"#tab-{name}", "aria-selected") == "true"


def step_shown(page, name):
    return int(page.get_attribute(f"#inside-{name}", "data-step") or 0)


def letters(page):
    return set(page.get_attribute("body", "data-chars"))


@pytest.fixture(scope="module")
def tab(server, open_tab, metrics):
    tab = open_tab(server.url)
    tab.wait_state("ready")
    metrics["inside_tab_ready_ms"] = round(tab.page.evaluate("window.zcgpt.readyMs"))
    tab.panels_from_ms = tab.page.evaluate("performance.now()")   # before any panel is opened
    yield tab
    tab.close()        # an idle tab still makes its offline copy: not while later modules measure


def test_panels_load_nothing_until_opened(tab):
    page = tab.page
    assert not any("inside" in u for u in tab.requests), [u for u in tab.requests if "inside" in u]
    for name in PANELS:
        assert page.locator(f"#inside-{name} .inside-body > *").count() == 0
    open_panel(page, "source")
    assert any(u.endswith("/js/inside.js") for u in tab.requests)
    assert any(u.endswith("/inside.css") for u in tab.requests)


def test_source_panel_shows_the_installed_forward_pass(tab):
    page = tab.page
    page.wait_for_selector("#src-view pre")
    heads = page.locator("#src-view h3 code").all_inner_texts()
    assert heads[0] == "GPT.forward" and "attention_forward" in heads
    code = page.inner_text("#src-view")
    assert "def forward(self, idx, drop=None):" in code and "def attention_forward" in code
    assert "inspect.getsource" in page.inner_text("#src-note")


def test_panels_before_training_ask_for_a_model(tab):
    page = tab.page
    open_panel(page, "probs")
    page.wait_for_function("document.getElementById('probs-note').textContent.startsWith('Train')")
    assert page.locator("#probs-view .prow").count() == 0


def test_probs_follow_typing_while_training(tab):
    page = tab.page
    page.select_option("#preset", "tiny")
    page.fill("#steps", "100000")
    page.fill("#seed", "3")
    page.click("#train")
    page.wait_for_function("document.querySelectorAll('#probs-view .prow:not(.paxis)').length > 0", timeout=30000)
    page.fill("#probs-text", "")
    page.locator("#probs-text").press_sequentially("ma", delay=60)
    page.wait_for_function("document.querySelectorAll('#probs-view .prow:not(.paxis)').length === 3")
    chars = letters(page)
    rows = page.locator("#probs-view .prow:not(.paxis)")
    assert rows.locator(".ctx").all_inner_texts() == ["^", "m", "a"]
    for i in range(3):
        bars = rows.nth(i).locator(".pbar")
        assert set(bars.evaluate_all("bs => bs.map(b => b.dataset.ch)")) == chars | {"."}
        heights = bars.evaluate_all("bs => bs.map(b => Number(b.style.getPropertyValue('--p')))")
        assert max(heights) == 1.0      # each row is scaled to its likeliest letter
        chances = bars.evaluate_all("bs => bs.map(b => parseFloat(b.title.split(': ')[1]))")
        assert 90 < sum(chances) <= 101, chances   # the rest is the start token's, which never comes next
    # the five likeliest letters after "ma", as labelled bars, likeliest first
    top = page.locator("#probs-top .t5 .pc").all_inner_texts()
    assert len(top) == 5
    top = [float(x.rstrip("%")) for x in top]
    assert top == sorted(top, reverse=True) and top[0] > 5, top
    # the letter that came next is marked: m after the start, a after m
    assert rows.nth(0).locator(".pbar.next").get_attribute("data-ch") == "m"
    assert rows.nth(1).locator(".pbar.next").get_attribute("data-ch") == "a"
    assert rows.nth(2).locator(".pbar.next").count() == 0
    axis = page.locator("#probs-view .paxis .axis span").all_inner_texts()
    assert set(axis) == chars | {"."}
    # the model keeps learning under the panel: it asks again and shows a later step
    first = step_shown(page, "probs")
    page.wait_for_function(f"Number(document.getElementById('inside-probs').dataset.step) > {first}", timeout=10000)
    assert page.get_attribute("body", "data-state") == "training"


def test_attention_heatmaps_for_a_name_while_training(tab):
    page = tab.page
    open_panel(page, "attention")
    page.fill("#att-text", "")
    page.locator("#att-text").press_sequentially("olivia", delay=40)
    page.wait_for_function("document.querySelector('#att-view svg') && "
                           "document.getElementById('inside-attention').dataset.step > 0")
    page.wait_for_function("(document.querySelector('#att-view svg')?.getAttribute('aria-label') || '')"
                           ".includes('a reads')")
    from zcgpt import presets
    tiny = presets["tiny"]
    maps = page.locator("#att-view figure.heatmap")
    assert maps.count() == tiny.n_layer * tiny.n_head
    assert page.locator("#att-view svg").count() == tiny.n_layer * tiny.n_head
    assert page.locator("#att-view svg").first.locator("rect").count() == 7 * 7   # ^olivia
    assert maps.last.locator("figcaption").inner_text() == f"layer {tiny.n_layer} · head {tiny.n_head}"
    label = page.get_attribute("#att-view svg", "aria-label")
    assert label.startswith("Layer 1, head 1: ^ reads ^, o reads ")   # the start can only read itself


def test_embedding_scatter_has_every_token(tab):
    page = tab.page
    open_panel(page, "embedding")
    page.wait_for_selector("#emb-view svg circle")
    assert page.locator("#emb-view circle").count() == 28
    shown = set(page.locator("#emb-view text").all_text_contents())
    assert shown == letters(page) | {"start", "end"}
    assert "PCA" in page.inner_text("#emb-note")


def test_panels_after_stop_and_bad_input(tab, metrics):
    page = tab.page
    page.click("#stop")
    tab.wait_state("done", timeout_s=30)
    final = page.evaluate("window.zcgpt.run.finalStep")
    for name in ("probs", "attention", "embedding"):      # a view shown again asks the model afresh
        open_panel(page, name)
        page.wait_for_function(f"Number(document.getElementById('inside-{name}').dataset.step) === {final}")
    offered = page.locator("#inside-names option").evaluate_all("os => os.map(o => o.value)")
    assert offered and set(offered) <= set(page.locator("#samples li.name .n").all_text_contents())
    open_panel(page, "probs")
    page.fill("#probs-text", "mar1a")
    page.wait_for_function("document.getElementById('probs-note').textContent.includes('vocabulary')")
    assert page.inner_text("#probs-note") == "Not in the vocabulary: 1."
    assert page.locator("#probs-view .prow").count() == 0
    page.fill("#probs-text", "Mari")        # capitals are read as the lowercase names
    page.wait_for_function("document.querySelectorAll('#probs-view .prow:not(.paxis)').length === 5")
    ARTIFACTS.mkdir(exist_ok=True)
    for name in PANELS:
        open_panel(page, name)
        page.locator(f"#inside-{name}").screenshot(path=str(ARTIFACTS / f"inside-{name}-desktop.png"))
    metrics["inside_step_shown"] = final


def test_deeper_model_gives_a_heatmap_per_layer_and_head(tab):
    from zcgpt import presets
    small = presets["small"]
    assert small.n_layer > 1
    page = tab.page
    page.click("#reset")
    tab.wait_state("ready")
    open_panel(page, "attention")
    page.wait_for_function("document.getElementById('att-note').textContent.startsWith('Train')")
    assert page.locator("#att-view svg").count() == 0   # reset: no model, no stale picture
    page.select_option("#preset", "small")
    page.fill("#steps", "5")
    page.click("#train")
    tab.wait_state("done", timeout_s=60)
    n = small.n_layer * small.n_head
    page.wait_for_function(f"document.querySelectorAll('#att-view svg').length === {n}")
    captions = page.locator("#att-view figcaption").all_inner_texts()
    assert captions[0] == "layer 1 · head 1" and captions[-1] == f"layer {small.n_layer} · head {small.n_head}"
    page.click("#reset")
    tab.wait_state("ready")


def test_no_long_task_error_or_foreign_request(tab, server, metrics):
    """Tasks from the first panel opened on (test_page checks the page's load for its own tab)."""
    _, tasks = tab.longest_task_ms()
    ours = [t for t in tasks if t["start"] >= tab.panels_from_ms]
    longest = max((t["ms"] for t in ours), default=0.0)
    metrics["inside_longest_main_thread_task_ms"] = round(longest)
    assert longest < FROZEN_TASK_MS, ours
    assert tab.errors == []
    assert off_origin(tab.requests, server.origin) == []


def test_panels_fit_a_phone(server, open_tab, metrics):
    tab = open_tab(server.url, width=375, height=800)
    page = tab.page
    tab.wait_state("ready")
    tab.train(300)
    opened = page.evaluate("performance.now()")
    drawn = {"probs": "#probs-view .prow", "attention": "#att-view svg", "embedding": "#emb-view circle",
             "source": "#src-view pre"}
    for name in PANELS:
        open_panel(page, name)
        page.wait_for_selector(drawn[name])
        # two animation frames: the layout the check reads has been done and painted
        page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.locator(f"#inside-{name}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (name, box)
        page.locator(f"#inside-{name}").screenshot(path=str(ARTIFACTS / f"inside-{name}-phone.png"))
    assert tab.errors == []
    _, tasks = tab.longest_task_ms()
    longest = max((t["ms"] for t in tasks if t["start"] >= opened), default=0)
    metrics["inside_phone_longest_task_ms"] = round(longest)
    assert longest < FROZEN_TASK_MS, tasks
