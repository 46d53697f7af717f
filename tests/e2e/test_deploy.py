"""A new deployment of the page, served from the same origin as the old one (issue 21, case 2).

Build A is a copy of dist/ in a temporary folder; build B is that folder with two modules
changed the way a real release changes them: page.js (loaded at start) gains an export that
writer.js (loaded when "Write a name" is first shown) imports. A page of A that loaded B's
writer.js would fail with a SyntaxError. The page of A must go on with A's code, say that a
new version is ready, and reload into B only when asked and never while a run trains; another
open tab of A must refuse B's code when B takes over.
"""

import json
import shutil
import time

import pytest

from conftest import ROOT, Server, press_train_now
from buildtools.dist import write_manifest

NEW = "A new version of zcgpt is ready"
STALE = "zcgpt was updated in another tab: reload to use the new version"


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "dist"
    shutil.copytree(ROOT / "dist", folder)
    server = Server("/", folder)
    yield folder, server
    server.stop()


def deploy_b(folder):
    """Write build B into the served folder; its build hash."""
    with open(folder / "js" / "page.js", "a") as f:
        f.write("\nexport const deployed = 'B';\n")
    with open(folder / "js" / "writer.js", "a") as f:
        f.write("\nimport { deployed } from './page.js';\nwindow.zcgptWriterBuild = deployed;\n")
    return write_manifest(folder)["build"]


def controller_build(page):
    return page.evaluate("""(() => {
        const c = navigator.serviceWorker.controller;
        return c && new URL(c.scriptURL).searchParams.get('build'); })()""")


def until(page, script, what, timeout_s=60):
    """Wait for a page condition (a promise of a boolean) to hold."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script):
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def installed(build):
    """True once build's worker has its complete copy (waiting or already in charge)."""
    return f"""navigator.serviceWorker.getRegistration().then((r) => !!r && [r.waiting, r.active]
        .some((w) => w && w.scriptURL.endsWith('build={build}')))"""


def test_a_new_build_waits_for_the_visitor_and_never_mixes(site, open_tab):
    folder, server = site
    old = json.loads((folder / "manifest.json").read_text())["build"]
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    page.wait_for_selector("body[data-offline=ready]", timeout=60000)
    other = tab.context.new_page()          # a second tab of build A, in the same browser
    other_errors = []
    other.on("pageerror", lambda e: other_errors.append(str(e)))
    other.goto(server.url)
    other.wait_for_selector("body[data-state=ready]", timeout=90000)

    new = deploy_b(folder)
    assert new != old
    page.reload()                           # served by A's copy; B's worker installs meanwhile
    tab.wait_state("ready")
    until(page, installed(new), "build B's worker never installed")

    # The page of A keeps A's worker and code: a lazily loaded view works and is A's.
    assert controller_build(page) == old
    page.click("#tab-writer")
    page.wait_for_selector("#w-next", timeout=30000)
    assert page.evaluate("window.zcgptWriterBuild") is None

    # The visitor is told, with a real button in a status region.
    page.wait_for_selector("#update:not([hidden])", timeout=60000)
    assert NEW in page.inner_text("#update")
    assert page.get_attribute("#update", "role") == "status"
    assert page.is_enabled("#update-reload")

    # While a run trains (here paused, so no timing decides), the button waits for its end.
    page.select_option("#preset", "tiny")
    press_train_now(page, 20000)
    tab.wait_state("training")
    page.click("#pause")
    tab.wait_state("paused")
    assert page.is_disabled("#update-reload")
    assert "run" in page.inner_text("#update-why")
    assert controller_build(page) == old
    page.click("#stop")
    tab.wait_state("done")
    assert page.is_enabled("#update-reload")
    assert controller_build(page) == old    # nothing changed by itself

    with page.expect_navigation():
        page.click("#update-reload")
    tab.wait_state("ready")
    assert controller_build(page) == new
    text = page.evaluate("fetch('js/writer.js').then((r) => r.text())")
    assert "window.zcgptWriterBuild = deployed;" in text
    page.click("#tab-writer")
    page.wait_for_selector("#w-next", timeout=30000)
    assert page.evaluate("window.zcgptWriterBuild") == "B"
    # the run trained under A is still in this browser; A's copy goes once B is in charge
    page.wait_for_function("window.zcgpt.runRecords().length >= 1")
    until(page, f"caches.keys().then((k) => k.join() === 'zcgpt-{new}')", "A's copy was not deleted")

    # The other tab of A: B took over it too; it says so and refuses B's code.
    other.wait_for_selector("#update:not([hidden])", timeout=30000)
    assert STALE in other.inner_text("#update")
    assert controller_build(other) == new
    other.click("#tab-writer")
    other.wait_for_function(f"document.getElementById('status').textContent.includes({json.dumps(STALE)})")
    assert other.evaluate("window.zcgptWriterBuild") is None
    assert other.query_selector("#w-next") is None
    # ... and when its Python dies, it does not start B's worker.py and wheel under A's page
    other.evaluate("window.zcgpt.terminateWorker()")
    other.wait_for_selector("body[data-state=error]", timeout=60000)
    assert STALE in other.inner_text("#status")
    assert other.evaluate("document.body.dataset.restarts") is None
    assert other_errors == []
    assert tab.errors == []
    tab.close()
