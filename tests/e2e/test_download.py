"""A first visit as a new visitor makes it, and a second one: what is sent, what the loading card
shows, what the offline copy keeps, and the shipped Python itself in the browser.

The page is served gzipped under a sub-path by the build's own server, in this process, so every
byte it sends is counted (buildtools/serve.py). The budgets are the issue's: at most 7 MB sent
until the page is ready, 8 MB for the whole first visit with the offline copy.
"""

import json
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from buildtools.dist import built_with_bytecode
from buildtools.serve import make_server

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
ARTIFACTS = ROOT / "artifacts"
BASE = "/zcgpt/"
UNTIL_READY_BUDGET = 7_000_000
FIRST_VISIT_BUDGET = 8_000_000


class Counted:
    """The build's server on `folder`, in a thread, under BASE; .url, .traffic."""

    def __init__(self, folder):
        self.srv = make_server(folder, port=0, base=BASE, quiet=True)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}{BASE}"
        self.traffic = self.srv.traffic

    def quiet(self, seconds=1.5, timeout=30):
        """Wait until nothing has been sent for `seconds`; the log then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.traffic.snapshot()
            if not log or time.monotonic() - log[-1].t >= seconds:
                return log
            time.sleep(0.2)
        return self.traffic.snapshot()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture(scope="module")
def counted():
    s = Counted(DIST)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def visit(counted, open_tab, metrics):
    """A first visit until the offline copy is complete: the tab, the log until ready, the whole log."""
    ARTIFACTS.mkdir(exist_ok=True)
    tab = open_tab(counted.url)
    page = tab.page
    page.wait_for_function("(document.getElementById('download-note')?.textContent || '').includes('MB')",
                           timeout=60000)
    page.screenshot(path=str(ARTIFACTS / "loading-first-visit.png"), clip={"x": 0, "y": 0, "width": 1200, "height": 300})
    tab.wait_state("ready")
    until_ready = counted.traffic.snapshot()
    page.screenshot(path=str(ARTIFACTS / "ready-first-visit.png"), clip={"x": 0, "y": 0, "width": 1200, "height": 300})
    page.wait_for_selector("body[data-offline=ready]", timeout=90000)
    whole = counted.quiet()
    metrics["first_visit_bytes_until_ready"] = sum(s.bytes for s in until_ready)
    metrics["first_visit_bytes"] = sum(s.bytes for s in whole)
    return tab, until_ready, whole


def test_first_visit_sends_at_most_7_mb_until_ready(visit):
    _, until_ready, _ = visit
    sent = sum(s.bytes for s in until_ready)
    assert sent <= UNTIL_READY_BUDGET, sorted(((s.bytes, s.path) for s in until_ready), reverse=True)[:8]


def test_whole_first_visit_with_the_offline_copy_sends_at_most_8_mb(visit):
    _, _, whole = visit
    sent = sum(s.bytes for s in whole)
    assert sent <= FIRST_VISIT_BUDGET, sorted(((s.bytes, s.path) for s in whole), reverse=True)[:8]


def test_every_file_is_downloaded_once(visit):
    _, _, whole = visit
    full = Counter(s.path for s in whole if s.status == 200 and not s.path.endswith("/manifest.json"))
    assert [p for p, n in full.items() if n > 1] == [], full
    manifest = json.loads((DIST / "manifest.json").read_text())
    for rel in manifest["runtime"]:           # Python's files, all sent before the page was ready
        assert full[BASE + rel] == 1, rel


def test_loading_card_showed_the_download_and_says_it_is_kept(visit):
    tab, _, _ = visit
    page = tab.page
    assert page.get_attribute("body", "data-copy") == "download"
    note = page.inner_text("#download-note")
    assert note.startswith("Downloaded ") and "kept in this browser" in note, note
    assert page.get_attribute("#download-bar", "aria-valuenow") == "100" and page.is_hidden("#download-bar")
    manifest = json.loads((DIST / "manifest.json").read_text())
    total = sum(manifest["files"][p]["gzip"] or manifest["files"][p]["bytes"] for p in manifest["runtime"])
    assert f"{total / 1e6:.1f} MB" in note     # the gzipped bytes, as the host sent them


def test_the_copy_holds_exactly_the_builds_bytes(visit):
    tab, _, _ = visit
    manifest = json.loads((DIST / "manifest.json").read_text())
    got = tab.page.evaluate("""async (files) => {
        const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('zcgpt-')));
        const out = {};
        for (const path of files) {
            const res = await cache.match(new URL(path, document.baseURI));
            if (!res) { out[path] = null; continue; }
            const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await res.arrayBuffer()));
            out[path] = 'sha256-' + btoa(String.fromCharCode(...digest));
        }
        return out;
    }""", list(manifest["files"]))
    # the extra lists and pre-trained models are kept only once the page asks for them
    on_demand = set(manifest["on_demand"])
    assert on_demand and all(got[path] is None for path in on_demand)
    assert {p: h for p, h in got.items() if p not in on_demand} == \
        {path: entry["sha256"] for path, entry in manifest["files"].items() if path not in on_demand}


def test_repeat_visit_starts_from_the_local_copy(visit, counted, metrics):
    tab, _, whole = visit
    page = tab.page
    page.reload()
    page.wait_for_function("document.body.dataset.copy === 'local'", timeout=30000)
    page.screenshot(path=str(ARTIFACTS / "loading-repeat-visit.png"), clip={"x": 0, "y": 0, "width": 1200, "height": 300})
    tab.wait_state("ready")
    assert "local copy" in page.inner_text("#download-note")
    assert page.is_hidden("#download-bar")
    metrics["repeat_visit_ready_ms"] = round(page.evaluate("window.zcgpt.readyMs"))
    again = counted.quiet()[len(whole):]
    assert sum(s.bytes for s in again) < 20_000, again     # manifest.json at most: is there a new build?
    assert tab.errors == []


def test_a_file_that_does_not_match_the_manifest_is_never_kept(open_tab, tmp_path):
    site = tmp_path / "dist"
    shutil.copytree(DIST, site)
    with open(site / "js" / "inside.js", "a") as f:   # not what the manifest says: never fetched before ready
        f.write("\n// changed after the build\n")
    server = Counted(site)
    try:
        tab = open_tab(server.url)
        tab.wait_state("ready")
        page = tab.page
        page.wait_for_function("document.body.dataset.copy === 'download'")
        complete = page.evaluate("""() => new Promise((resolve) => {
            const channel = new MessageChannel();
            channel.port1.onmessage = (e) => resolve(e.data);
            navigator.serviceWorker.controller.postMessage({ type: 'complete' }, [channel.port2]);
        })""")
        assert complete["ok"] is False and "js/inside.js" in complete["message"], complete
        kept = page.evaluate("""async () => {
            const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('zcgpt-')));
            return [!!(await cache.match(new URL('js/inside.js', document.baseURI))),
                    !!(await cache.match(new URL('js/main.js', document.baseURI)))];
        }""")
        assert kept == [False, True]
        assert page.get_attribute("body", "data-offline") is None
        tab.close()
    finally:
        server.stop()


def test_the_shipped_python_in_the_browser(counted, open_tab):
    """Pyodide as dist/ ships it, started in a tab: numpy from bytecode, zcgpt from its sources
    (a traceback from zcgpt shows its lines), and a left-out module named as such."""
    if not built_with_bytecode(DIST):
        pytest.skip("dist/ was built without bytecode (no node on PATH, or --no-bytecode)")
    info = json.loads((DIST / "build.json").read_text())
    tab = open_tab(counted.url)
    tab.wait_state("ready")
    found = tab.page.evaluate("""async (wheel) => {
        const { loadPyodide } = await import(new URL('pyodide/pyodide.mjs', document.baseURI).href);
        const py = await loadPyodide({ indexURL: new URL('pyodide/', document.baseURI).href,
                                       packages: ['numpy', new URL(wheel, document.baseURI).href] });
        return JSON.parse(py.runPython(`
import json, traceback, numpy, zcgpt.data
out = {"numpy": numpy.__file__}
try:
    zcgpt.data.parse_lines(None, "nothing")
except Exception:
    out["traceback"] = traceback.format_exc()
try:
    import imaplib
except ImportError as exc:
    out["imaplib"] = str(exc)
json.dumps(out)`));
    }""", info["wheel"])
    assert found["numpy"].endswith("numpy/__init__.pyc")
    lines = found["traceback"].splitlines()
    at = [i for i, line in enumerate(lines) if 'zcgpt/data.py", line' in line]
    assert at and lines[at[-1] + 1].startswith("    ") and lines[at[-1] + 1].strip(), found["traceback"]
    assert "imaplib" in found["imaplib"] and "zcgpt's build left it out" in found["imaplib"]
    tab.close()
