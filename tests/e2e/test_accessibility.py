"""An accessibility audit of the workspace: axe-core (npm, pinned by sha512 in buildtools/pins.py,
kept in the download cache) injected into the page after a run, on a desktop in light colours
and on a phone in dark ones, with the inside views and the set-up panels open."""

import tarfile
from pathlib import Path

import pytest

from buildtools import BuildError
from buildtools.fetch import fetch_npm
from buildtools.pins import AXE
from conftest import open_lab

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def axe_source():
    try:
        tgz = fetch_npm(AXE, ROOT / ".cache")
    except BuildError as exc:
        pytest.skip(f"axe-core could not be fetched: {exc}")
    with tarfile.open(tgz) as tar:
        return tar.extractfile("package/axe.min.js").read().decode()


def violations(page, axe_source):
    page.add_script_tag(content=axe_source)
    return page.evaluate("""axe.run().then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact,
        where: v.nodes.slice(0, 3).map((n) => n.target.join(' '))})))""")


@pytest.mark.parametrize("width,height,scheme,views", [
    (1280, 800, "light", ("probs", "attention")),
    (375, 740, "dark", ("embedding", "grads")),
])
def test_no_axe_findings(server, browser, axe_source, width, height, scheme, views):
    ctx = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = ctx.new_page()
    page.goto(server.url)
    page.wait_for_selector("body[data-state=ready]", timeout=90000)
    page.fill("#steps", "150")
    page.wait_for_function("!document.getElementById('train').disabled")
    page.click("#train")
    page.wait_for_selector("body[data-state=done]", timeout=120000)
    found = {}
    for view in views:
        page.click(f"#tab-{view}")
        page.wait_for_selector(f"#inside-{view} .inside-body > *")
        found[view] = violations(page, axe_source)
    for panel in ("design", "runs", "keep"):
        open_lab(page, panel)
        found[panel] = violations(page, axe_source)
    ctx.close()
    assert all(v == [] for v in found.values()), found
