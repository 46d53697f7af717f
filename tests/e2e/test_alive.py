"""Issue 21, cases 3, 7, 8, 9 and 10: long work stays alive, links cap the workers, model-file
metrics are checked, link values are echoed cut and isolated, a second Train leaves a run alone."""

import json
import math
import sys
import urllib.parse

from conftest import ROOT, open_lab, press_train_now

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NAMES = [n for n in (ROOT / "names.txt").read_text(encoding="utf-8").split("\n") if n.strip()]

# Catches the leader worker (the one "init" goes to), so a test can send it what the page would not.
LEADER_SCRIPT = """
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (data, ...rest) {
  if (typeof data === 'string' && data.startsWith('{"type":"init"')) window.__leader = this;
  return post.call(this, data, ...rest);
};
"""


def no_restart(tab):
    page = tab.page
    assert page.get_attribute("body", "data-restarts") is None, page.inner_text("#status")
    assert "stopped answering" not in page.inner_text("#status")


def test_a_25_mb_list_is_checked_and_trains_without_a_restart(server, open_tab, tmp_path):
    """Case 3: the check of a big upload and the first Train on it take longer than the page's
    10 s liveness limit on a slow machine; Python says it is busy, so it is not killed."""
    lines, suffixes = [], [a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "abcdefghijklmnopqrstuvwxyz"]
    size, i = 0, 0
    while size < 25 * 2 ** 20:
        block = [n + suffixes[i] for n in NAMES]
        lines += block
        size += sum(len(x) + 1 for x in block)
        i += 1
    path = tmp_path / "big.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = len(set(lines))
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    open_lab(page, "data")
    page.set_input_files("#data-file", str(path))
    page.wait_for_function(f"document.getElementById('data-summary').textContent.includes('{items:,}')"
                           f" || document.getElementById('data-summary').textContent.includes('{items}')",
                           timeout=240_000)
    no_restart(tab)
    run = tab.train(20, timeout_s=600)
    assert run["finalStep"] == 20
    no_restart(tab)
    tab.close()


def test_a_big_design_trains_its_steps_without_a_restart(server, open_tab):
    """Case 3: each step of this 4.7 M-parameter design outlasts the liveness limit. It is within
    every limit the page states (and one step is estimated well under design.STEP_MAX_SECONDS),
    so the page trains it: each tick says how long it may be busy first."""
    tab = open_tab(server.url + "#preset=small&n_embd=256&n_layer=6&batch_size=400&steps=3")
    page = tab.page
    tab.wait_state("ready")
    page.wait_for_function("!document.getElementById('train').disabled", timeout=60_000)
    page.click("#train")
    page.wait_for_function("['done', 'error'].includes(document.body.dataset.state) || document.body.dataset.restarts",
                           timeout=900_000)
    no_restart(tab)
    assert page.get_attribute("body", "data-state") == "done", page.inner_text("#status")
    run = page.evaluate("window.zcgpt.run")
    assert run["finalStep"] == 3 and run["params"] > 4_000_000
    assert page.get_attribute("body", "data-busy"), "Python never said it was busy"   # its last long call
    no_restart(tab)
    tab.close()


def test_a_link_asking_for_16_workers_gets_what_a_run_can_use(server, open_tab):
    """Case 7: #workers=16 starts no more workers than the most shards a preset uses (within the
    device-memory default), and the status line says so."""
    tab = open_tab(server.url + "#workers=16")
    page = tab.page
    tab.wait_state("ready")
    most = page.evaluate("""() => {
      const shards = Math.max(...Object.values(window.zcgpt.presets).map((p) => p.shards || 1));
      const memory = navigator.deviceMemory ? Math.floor(navigator.deviceMemory * 1024 * 0.25 / 100) : 16;
      return Math.max(1, Math.min(shards, memory, 16));
    }""")
    assert most < 16
    page.wait_for_function("document.getElementById('status').textContent.includes('asks for 16 workers')")
    assert f"so {most} start" in page.inner_text("#status")
    assert page.input_value("#workers") == str(most)
    assert page.evaluate("window.zcgpt.workers") <= most
    tab.close()


def model_file(tmp_path, name, **metrics):
    from zcgpt import checkpoint
    from zcgpt.config import presets
    from zcgpt.data import Vocab
    from zcgpt.model import GPT
    vocab = Vocab.from_items(NAMES)
    model = GPT(presets["tiny"], vocab.size)
    d = json.loads(checkpoint.dumps(model, vocab, step=10, seed=1))
    d["metrics"] = metrics
    path = tmp_path / name
    path.write_text(json.dumps(d), encoding="utf-8")
    return path


def test_a_model_file_with_a_string_metric_is_refused_in_a_sentence(server, open_tab, tmp_path):
    """Case 8: metrics.val_loss "x" ends in a clear note (not "Reading…", no toFixed error); a file
    whose preset is unknown loads without it, and Generate works."""
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    open_lab(page, "keep")
    page.set_input_files("#model-file", str(model_file(tmp_path, "bad.json", val_loss="x")))
    page.wait_for_function("document.getElementById('model-note').textContent.includes('metrics.val_loss')",
                           timeout=30_000)
    assert "finite number" in page.inner_text("#model-note")
    assert page.get_attribute("body", "data-state") == "ready"
    page.set_input_files("#model-file", str(model_file(tmp_path, "odd.json", preset="enormous", val_loss=2.5)))
    page.wait_for_function("document.getElementById('model-note').textContent.startsWith('Loaded odd.json')",
                           timeout=30_000)
    assert "validation loss 2.500" in page.inner_text("#model-note")
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#generated li.name').length > 0", timeout=30_000)
    assert "undefined" not in page.inner_text("body") and "NaN" not in page.inner_text("body")
    assert not [e for e in tab.errors if "pageerror" in e or "toFixed" in e], tab.errors
    tab.close()


def test_link_values_are_echoed_cut_and_isolated(server, open_tab):
    """Case 9: a 1,900-character #data= with a right-to-left override is echoed cut and isolated
    (U+2068 … U+2069), the override left out; so is a note Python writes."""
    data = "\u202e" + "x" * 1900     # the hash stays under its 2,000 characters
    tab = open_tab(server.url + "#data=" + urllib.parse.quote(data) + "&preset=" + urllib.parse.quote("\u202enope"))
    page = tab.page
    tab.wait_state("ready")
    page.wait_for_function("document.getElementById('status').textContent.includes('built-in list')")
    status = page.inner_text("#status")
    assert "\u202e" not in status and len(status) < 400, status
    assert "\u2068" + "x" * 39 + "…\u2069" in status
    assert "\u2068nope\u2069" in status
    tab.close()


def test_a_second_train_while_a_run_goes_leaves_it_going(server, open_tab):
    """Case 10: a second "train" reaching Python mid-run is refused without touching the run:
    the page stays training, and Stop works."""
    tab = open_tab(server.url, init_script=LEADER_SCRIPT)
    page = tab.page
    tab.wait_state("ready")
    press_train_now(page, 20000)
    page.wait_for_function("window.zcgpt.run && window.zcgpt.run.points.length > 0", timeout=60_000)
    page.evaluate("window.__leader.postMessage(JSON.stringify({type: 'train', preset: 'tiny', seed: 1, changes: {}}))")
    page.wait_for_function("document.getElementById('status').textContent.includes('already going')", timeout=30_000)
    assert page.get_attribute("body", "data-state") == "training"
    assert not page.is_disabled("#stop") and not page.is_disabled("#pause")
    page.click("#stop")
    page.wait_for_selector("body[data-state=done]", timeout=60_000)
    run = page.evaluate("window.zcgpt.run")
    assert run["stopped"] and 0 < run["finalStep"] < 20000 and math.isfinite(run["finalVal"])
    tab.close()
