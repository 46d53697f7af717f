"""Runs have owners (issue 21, cases 1, 4, 5, 6, the CSV half of 9, the page's half of 8).

Two live pages of one browser context share IndexedDB, Web Locks and BroadcastChannel: a run
one page trains is "running" in the other, never cut off there, and its end shows there without
a reload; a copy older than the stored record is refused. Clear waits for a run in training and
clears every page. A killed Python's run is cut off at once and continues. When storage is full
a run's card offers no Use/Model and its record claims no snapshot or model. CSV cells that
begin with = + - @ are neutralised; a model file's odd metrics show as "—".

Pages are opened with ?snapshot_s=1 (a snapshot every second of training).
"""

import csv
import json
from pathlib import Path

from conftest import open_lab, press_train_now

STORED = """() => new Promise((resolve, reject) => {
  const q = indexedDB.open('zcgpt');
  q.onerror = () => reject(q.error);
  q.onsuccess = () => {
    const db = q.result;
    const t = db.transaction(['runs', 'texts']);
    const out = {};
    t.objectStore('runs').getAll().onsuccess = (e) => { out.runs = e.target.result.map((r) => ({ id: r.id,
      status: r.status, hasSnapshot: Boolean(r.hasSnapshot), hasModel: Boolean(r.hasModel), version: r.version ?? null })); };
    t.objectStore('texts').getAllKeys().onsuccess = (e) => { out.texts = e.target.result; };
    t.oncomplete = () => { db.close(); resolve(out); };
  };
})"""

CARD = "#runs-body li.run-card"


def ready(page):
    page.wait_for_selector("body[data-state=ready]", timeout=90_000)
    page.wait_for_selector("body[data-runs-loaded]")


def snapshot_row(page):
    page.wait_for_selector(f"{CARD}[data-status=running][data-snapshot=yes]", state="attached", timeout=120_000)


def clear(page):
    open_lab(page, "runs")
    page.click("#runs-clear")
    page.wait_for_function("document.getElementById('runs-clear').textContent.startsWith('Delete')")
    page.click("#runs-clear")


def test_a_run_trained_in_another_tab_stays_its_own(server, open_tab):
    url = server.url + "?snapshot_s=1"
    tab = open_tab(url)
    b = tab.page
    ready(b)
    b.fill("#seed", "2")
    press_train_now(b, 3000)
    snapshot_row(b)
    b.click("#pause")
    b.wait_for_selector("body[data-state=paused]")

    a = tab.context.new_page()
    a.goto(url)
    a.wait_for_selector("body[data-runs-loaded]", timeout=90_000)
    open_lab(a, "runs")
    row = a.locator(CARD).first
    assert row.get_attribute("data-status") == "running"          # B owns it: not cut off
    assert row.locator("[data-act=continue]").count() == 0
    assert "cut off" not in a.inner_text("#runs-body")
    assert [r["status"] for r in a.evaluate(STORED)["runs"]] == ["running"]
    a.evaluate("""() => { window.__cut = false; new MutationObserver(() => {
      if (document.querySelector('#runs-body [data-status=interrupted]')) window.__cut = true;
    }).observe(document.getElementById('runs-body'), { subtree: true, childList: true, attributes: true }); }""")

    b.bring_to_front()
    b.click("#pause")                                             # resume: B finishes its run
    b.wait_for_selector("body[data-state=done]", timeout=180_000)
    a.wait_for_selector(f"{CARD}[data-status=done] [data-act=use]", timeout=60_000)   # seen in A, no reload
    assert not a.evaluate("window.__cut")
    assert "cut off" not in a.inner_text("#runs-body")
    stored = a.evaluate(STORED)
    assert stored["runs"][0]["status"] == "done" and stored["runs"][0]["hasModel"]

    # an older copy of the record is refused, and the stored one stays as it is
    said = a.evaluate("""async () => {
      const { openStore } = await import('./js/store.js');
      const store = await openStore();
      const [r] = await store.all();
      try { await store.put({ ...r, version: (r.version ?? 1) - 1, status: 'running', hasModel: false }); return 'written'; }
      catch (e) { return `${e.constructor.name}: ${e.message}`; }
    }""")
    assert said.startswith("StaleError") and "changed in another tab" in said, said
    after = a.evaluate(STORED)["runs"][0]
    assert after["status"] == "done" and after["hasModel"]
    a.close()
    tab.close()


def test_clear_during_a_run_and_from_another_tab(server, open_tab):
    url = server.url + "?snapshot_s=1"
    tab = open_tab(url)
    page = tab.page
    ready(page)
    press_train_now(page, 3000)
    snapshot_row(page)
    clear(page)                                                    # refused while it trains, with the reason
    page.wait_for_function("document.getElementById('runs-note').textContent.includes('Nothing was cleared')")
    assert "is training" in page.inner_text("#runs-note")
    assert page.locator(CARD).count() == 1 and len(page.evaluate(STORED)["runs"]) == 1
    assert page.is_enabled("#runs-clear")
    page.click("#stop")
    page.wait_for_selector("body[data-state=done]", timeout=60_000)
    page.wait_for_selector(f"{CARD} [data-act=use]", timeout=60_000)
    clear(page)
    page.wait_for_function("document.getElementById('runs-note').textContent.includes('are gone')")
    assert page.locator(CARD).count() == 0
    assert page.evaluate(STORED) == {"runs": [], "texts": []}

    press_train_now(page, 30)                                      # a new run: Clear works again
    page.wait_for_selector("body[data-state=done]", timeout=60_000)
    page.wait_for_selector(f"{CARD} [data-act=use]", timeout=60_000)
    assert page.is_enabled("#runs-clear")

    other = tab.context.new_page()
    other.goto(url)
    other.wait_for_selector("body[data-runs-loaded='1']", timeout=90_000)
    clear(other)
    other.wait_for_function("document.getElementById('runs-note').textContent.includes('are gone')")
    page.wait_for_function(f"document.querySelectorAll('{CARD}').length === 0")   # this tab's rows go too
    assert page.evaluate(STORED) == {"runs": [], "texts": []}
    other.close()
    tab.close()


def test_killed_python_leaves_a_run_to_continue(server, open_tab):
    tab = open_tab(server.url + "?snapshot_s=1")
    page = tab.page
    ready(page)
    press_train_now(page, 3000)
    snapshot_row(page)
    page.evaluate("window.zcgpt.terminateWorker()")
    # cut off as soon as the page knows Python is gone, before Python is back
    page.wait_for_function(f"""document.body.dataset.state === 'loading'
      && document.querySelector('{CARD}')?.dataset.status === 'interrupted'""", timeout=60_000)
    page.wait_for_selector("body[data-restarts='1']", timeout=90_000)
    status = page.inner_text("#status")
    assert "cut off at step" in status and "your last model" not in status, status
    open_lab(page, "runs")
    page.click(f"{CARD} [data-act=continue]")
    page.wait_for_selector("body[data-state=done]", timeout=180_000)
    page.wait_for_selector(f"{CARD}[data-status=done] [data-act=use]", timeout=60_000)
    assert page.evaluate("window.zcgpt.run.finalStep") == 3000
    tab.close()


FULL_SCRIPT = """
window.__refused = [];
const put = IDBObjectStore.prototype.put;
IDBObjectStore.prototype.put = function (value, key) {
  if (window.__full && this.name === 'texts') {
    window.__refused.push(String(key));
    throw new DOMException('the disk is full', 'QuotaExceededError');
  }
  return put.call(this, value, key);
};
"""


def test_a_run_storage_could_not_keep_claims_nothing(server, open_tab):
    # Storage "fills up" for texts only: IndexedDB's put of a snapshot or model throws
    # QuotaExceededError, as a full disk does; the small run records still go in.
    tab = open_tab(server.url + "?snapshot_s=1", init_script=FULL_SCRIPT)
    page = tab.page
    ready(page)
    press_train_now(page, 30)                                      # run 1: kept with its model
    open_lab(page, "runs")
    page.wait_for_selector(f"{CARD} [data-act=use]", timeout=60_000)
    page.evaluate("window.__full = true")
    press_train_now(page, 2000)                                    # run 2: snapshots and model refused
    page.wait_for_selector("body[data-state=done]", timeout=180_000)
    page.wait_for_function(f"""window.__refused.some((k) => k.endsWith(':model'))
      && !window.zcgpt.runRecords()[0].hasModel && !window.zcgpt.runRecords()[0].hasSnapshot
      && document.querySelector('{CARD}')?.dataset.status === 'done'""", timeout=60_000)
    first = page.locator(CARD).first
    assert first.locator("[data-act=use]").count() == 0 and first.locator("[data-act=model]").count() == 0
    assert first.get_attribute("data-snapshot") == "no"
    assert "was not kept" in page.inner_text("#runs-note")
    assert page.locator(CARD).nth(1).locator("[data-act=use]").count() == 1
    stored = {r["id"]: r for r in page.evaluate(STORED)["runs"]}
    assert not stored[2]["hasSnapshot"] and not stored[2]["hasModel"], stored
    assert stored[1]["hasModel"]
    tab.close()


def test_csv_and_odd_metrics_of_a_model_file(server, open_tab, tmp_path):
    tab = open_tab(server.url)
    page = tab.page
    ready(page)
    press_train_now(page, 30)
    page.wait_for_selector("body[data-state=done]", timeout=60_000)
    open_lab(page, "keep")
    with page.expect_download() as dl:
        page.click("#model-save")
    model = json.loads(Path(dl.value.path()).read_text())
    # a string where a number belongs: Python refuses the file in one sentence, nothing is added
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**model, "metrics": {**model.get("metrics", {}), "val_loss": "x"}}))
    page.set_input_files("#model-file", str(bad))
    page.wait_for_function("document.getElementById('model-note').textContent.includes('Nothing changed')")
    assert "val_loss" in page.inner_text("#model-note")
    assert page.locator(f"{CARD}[data-status=loaded]").count() == 0
    # an unknown preset (dropped) and no losses, under a name that looks like a formula
    model["metrics"] = {k: v for k, v in model.get("metrics", {}).items() if k not in ("val_loss", "novelty")}
    model["metrics"]["preset"] = "huge"
    path = tmp_path / "=HYPERLINK(1).json"
    path.write_text(json.dumps(model))
    page.set_input_files("#model-file", str(path))
    page.wait_for_selector(f"{CARD}[data-status=loaded]", state="attached", timeout=60_000)
    open_lab(page, "runs")
    text = page.inner_text(f"{CARD}[data-status=loaded]")
    assert "NaN" not in text and "undefined" not in text, text
    assert "val —" in text and "new —" in text, text
    page.click(f"{CARD}[data-status=loaded] [data-act=rename]")     # a name of one's own that looks like a formula
    page.fill(f"{CARD}[data-status=loaded] input[type=text]", "@SUM(1)")
    page.press(f"{CARD}[data-status=loaded] input[type=text]", "Enter")
    with page.expect_download() as dl:
        page.click("#runs-csv")
    rows = list(csv.DictReader(open(dl.value.path(), newline="")))
    names = [r["name"] for r in rows]
    assert "'@SUM(1)" in names, names
    assert not any(v[:1] in "=+-@" and v for r in rows for v in r.values()), rows
    tab.close()
