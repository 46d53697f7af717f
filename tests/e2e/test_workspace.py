"""The first screen is where it learns: what a visitor sees without scrolling 4 s after Train,
on a desktop and on a phone, in light and dark colours, and the runs as cards on a phone."""

import re
import time
from pathlib import Path

from conftest import open_lab

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
AFTER_TRAIN_S = 4


def visible_share(page, selector):
    """Share of the element's box inside the viewport (0 when it is not rendered)."""
    return page.evaluate("""(sel) => {
        const r = document.querySelector(sel).getBoundingClientRect();
        if (!r.width || !r.height) return 0;
        const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
        const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
        return (w * h) / (r.width * r.height);
    }""", selector)


def train_without_scrolling(page, steps):
    """Press Train the way a person does: no scrolling first (Playwright's own click may scroll)."""
    page.fill("#steps", str(steps))
    page.wait_for_function("!document.getElementById('train').disabled")
    page.evaluate("document.getElementById('train').click()")
    pressed = time.monotonic()
    page.wait_for_selector("body[data-state=training]")
    return pressed


def wait_until(pressed, seconds=AFTER_TRAIN_S):
    time.sleep(max(0.0, pressed + seconds - time.monotonic()))


def test_desktop_first_screen_holds_the_run_the_chart_the_names_and_the_views(server, open_tab, metrics):
    tab = open_tab(server.url, width=1280, height=800)
    page = tab.page
    tab.wait_state("ready")
    # before any run the chart says what will appear there
    page.wait_for_selector("#chart-empty")
    assert "Press Train" in page.inner_text("#chart-empty")
    pressed = train_without_scrolling(page, 20000)
    page.wait_for_function("document.querySelectorAll('#samples li.name').length >= 3", timeout=30000)
    wait_until(pressed)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "first-screen-desktop.png"))
    assert page.evaluate("scrollY") == 0
    shares = {sel: visible_share(page, sel) for sel in ("#chart", "#stop", "#pause", "#train", "#tab-probs",
                                                        "#tab-attention", ".stats", "#preset", "#steps")}
    metrics["first_screen_desktop_visible"] = shares
    assert shares["#chart"] >= 0.8, shares
    assert all(v == 1 for k, v in shares.items() if k != "#chart"), shares
    names = page.locator("#samples li.name")
    assert names.count() >= 3
    for i in range(3):
        assert visible_share(page, f"#samples li.name:nth-child({i + 1})") == 1
        assert names.nth(i).locator(".tag").inner_text() in ("new", "in training set")
    assert page.is_enabled("#stop")
    assert page.is_hidden("#chart-empty")
    # nothing of the set-up stands between Train and the chart
    train_box, chart_box = page.locator("#train").bounding_box(), page.locator("#chart").bounding_box()
    lab_box = page.locator(".lab").bounding_box()
    assert lab_box["x"] + lab_box["width"] <= chart_box["x"], (lab_box, chart_box)
    assert chart_box["y"] > train_box["y"]

    # the views beside the chart: each opens with its plain sentence and follows the training
    for view, what in (("probs", "#probs-view .prow"), ("attention", "#att-view svg")):
        page.click(f"#tab-{view}")
        assert page.locator(f"#inside-{view} .intro").is_visible()
        page.wait_for_selector(what, timeout=30000)
        step = int(page.get_attribute(f"#inside-{view}", "data-step") or 0)
        page.wait_for_function(f"Number(document.getElementById('inside-{view}').dataset.step) > {step}",
                               timeout=15000)
        assert visible_share(page, f"#tab-{view}") == 1
    assert page.get_attribute("body", "data-state") == "training"
    page.screenshot(path=str(ARTIFACTS / "first-screen-desktop-attention.png"))
    page.click("#stop")
    tab.wait_state("done", timeout_s=60)
    assert tab.errors == []
    tab.close()


def test_phone_brings_the_chart_into_view_and_shows_runs_as_cards(server, open_tab, metrics):
    tab = open_tab(server.url, width=375, height=740)
    page = tab.page
    tab.wait_state("ready")
    assert page.is_hidden("#lab-data")          # the set-up tabs take no room until asked
    pressed = train_without_scrolling(page, 2000)
    wait_until(pressed)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "first-screen-phone.png"))
    share = visible_share(page, "#chart")
    metrics["first_screen_phone_chart_visible"] = share
    assert share >= 0.8, share
    tab.wait_state("done", timeout_s=120)
    # the step counter is not cut
    assert page.evaluate("(() => { const e = document.getElementById('stat-step'); "
                         "return e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().right <= innerWidth; })()")
    assert page.inner_text("#stat-step") == "2,000 / 2,000"

    tab.train(60, seed=3)
    open_lab(page, "runs")
    cards = page.locator("#runs-body li.run-card")
    assert cards.count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for i in range(2):
        card = cards.nth(i)
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
        text = card.locator(".figs").inner_text()
        assert re.search(r"val \d\.\d{3}", text) and "train " in text and "new " in text and "%" in text, text
        for fig in card.locator(".figs > span").all():
            b = fig.bounding_box()
            assert b["x"] >= 0 and b["x"] + b["width"] <= 375, (text, b)
    page.locator(".lab").screenshot(path=str(ARTIFACTS / "runs-phone.png"))
    assert tab.errors == []
    tab.close()


def rgb(page, color):
    """Any CSS colour as the browser's rgb(...) text."""
    return page.evaluate("""(c) => { const e = document.createElement('i'); e.style.color = c;
        document.body.append(e); const v = getComputedStyle(e).color; e.remove(); return v; }""", color)


def test_dark_colour_scheme_darkens_the_page_the_chart_and_the_views(server, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url)
    page.wait_for_selector("body[data-state=ready]", timeout=90000)

    def luminance(css):
        r, g, b = [int(x) for x in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    lum = lambda sel, prop: luminance(page.eval_on_selector(sel, f"e => getComputedStyle(e).{prop}"))  # noqa: E731
    assert lum("body", "backgroundColor") < 0.15
    assert lum(".card.live", "backgroundColor") < 0.2
    assert lum("body", "color") > 0.7
    press = page.locator("#train")
    page.fill("#steps", "300")
    page.wait_for_function("!document.getElementById('train').disabled")
    press.click()
    page.wait_for_selector("body[data-state=done]", timeout=120000)
    # the chart's axes are drawn in a light ink, its grid in a dark one
    colors = page.evaluate("window.zcgpt.chart.colors()")
    assert page.evaluate("document.querySelector('#chart canvas') !== null")
    assert luminance(rgb(page, colors["axis"])) > 0.45 and luminance(rgb(page, colors["grid"])) < 0.3, colors
    page.click("#tab-attention")
    page.wait_for_selector("#att-view svg rect.future")
    assert lum("#att-view svg rect.future", "fill") < 0.25
    page.screenshot(path=str(ARTIFACTS / "dark-desktop.png"))
    assert errors == []
    ctx.close()
