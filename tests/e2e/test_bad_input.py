"""What the page does with bad input: one row per case, in a table a reader can extend by a line.

Each row opens a fresh tab (with the row's link), does one thing a careless or hostile user
might, and checks the sentence the page shows, the state it is left in, and that Python in the
tab still answers (a short training run works afterwards).
"""

import json

import pytest

from conftest import open_lab

DEEP = "[" * 5000 + "]" * 5000
HUGE_INT = '{"format": "zcgpt-checkpoint", "version": 1' + "0" * 400 + "}"

# (id, link hash, action, input, where the sentence shows, words in it, state after)
ROWS = [
    ("unknown preset in link", "#preset=nope&seed=5", None, None,
     "#status", "there is no model “\u2068nope\u2069”", "ready"),
    ("negative steps in link", "#steps=-1", None, None,
     "#status", "steps “\u2068-1\u2069” is not a whole number from 1 to 100000", "ready"),
    ("unknown key in link", "#colour=red&seed=7", None, None,
     "#status", "“\u2068colour\u2069” is not a setting here", "ready"),
    ("one-line list", "", "paste", "only one",
     "#data-error", "has only 1 distinct non-blank line", "ready"),
    ("empty list", "", "paste", "   \n\n",
     "#data-error", "pasted list has only blank lines", "ready"),
    ("binary upload", "", "upload", b"ab\x00\x01cd\n",
     "#data-error", "looks binary: line 1", "ready"),
    ("latin-1 upload", "", "upload", "zoë\nchloé\n".encode("latin-1"),
     "#data-error", "is not UTF-8 text: line 1", "ready"),
    ("model nested 5,000 deep", "", "model", DEEP,
     "#model-note", "nested more than", "ready"),
    ("model with a 401-digit number", "", "model", HUGE_INT,
     "#model-note", "401 digits", "ready"),
    ("model that is not JSON", "", "model", "hello",
     "#model-note", "not a zcgpt checkpoint", "ready"),
    ("list counted in characters", "", "paste", "🐱cat\n🐶dog\n🦊fox\n",
     "#data-summary", "(11 characters + start/end", "ready"),
]


def act(page, action, value, tmp_path):
    if action == "paste":
        page.click(".paste summary")
        page.fill("#data-text", value)
        page.click("#data-use")
    elif action == "upload":
        path = tmp_path / "list.txt"
        path.write_bytes(value)
        page.set_input_files("#data-file", str(path))
    elif action == "model":
        path = tmp_path / "bad.json"
        path.write_text(value)
        page.set_input_files("#model-file", str(path))


@pytest.mark.parametrize("name, link, action, value, where, words, state", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input(server, open_tab, tmp_path, name, link, action, value, where, words, state):
    tab = open_tab(server.url + link)
    page = tab.page
    tab.wait_state("ready")
    act(page, action, value, tmp_path)
    page.wait_for_function("([sel, words]) => document.querySelector(sel).textContent.includes(words)",
                           arg=[where, words], timeout=20000)
    assert page.get_attribute("body", "data-state") == state
    if action is None:   # a refused link value leaves the preset's own
        preset = page.input_value("#preset")
        assert preset == "tiny"
        assert page.input_value("#steps") == str(page.evaluate("window.zcgpt.presets.tiny.page_steps"))
    run = tab.train(30)                      # Python still answers and trains
    assert run["finalStep"] == 30
    assert not [e for e in tab.errors if "pageerror" in e], tab.errors
    tab.close()


def test_generated_names_go_with_reset(server, open_tab):
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    tab.train(50)
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#generated li.name').length > 0")
    page.click("#reset")
    tab.wait_state("ready")
    assert page.locator("#generated li.name").count() == 0
    page.fill("#prefix", "q9")
    tab.train(50)
    page.click("#generate")
    page.wait_for_function("document.querySelector('#gen-note').textContent.includes('never seen')")
    note = page.inner_text("#gen-note")
    assert "Error" not in note and note.endswith("."), note
    tab.close()


def test_a_killed_worker_is_replaced_and_keeps_the_list_and_model(server, open_tab, metrics):
    """Python dies mid-run (as after a fatal error): the page notices, starts a fresh worker,
    and gives it back the pasted list and the last trained model, without a reload."""
    tab = open_tab(server.url)
    page = tab.page
    tab.wait_state("ready")
    words = ["oslo", "lima", "rome", "paris", "berlin", "madrid", "vienna", "prague", "warsaw", "dublin"]
    act(page, "paste", "\n".join(words), None)
    page.wait_for_function("document.querySelector('#data-summary').textContent.includes('10 items')")
    tab.train(100)
    with page.expect_download() as saved:
        open_lab(page, "keep")
        page.click("#model-save")
    before = json.loads(open(saved.value.path()).read())
    page.fill("#steps", "20000")          # minutes of training: far from done when Python is killed
    page.click("#train")
    page.wait_for_function("window.zcgpt.run && window.zcgpt.run.points.length > 5")
    t0 = page.evaluate("performance.now()")
    page.evaluate("window.zcgpt.terminateWorker()")
    page.wait_for_selector("body[data-restarts='1']", timeout=60000)
    tab.wait_state("done", timeout_s=60)
    metrics["restart_ms"] = round(page.evaluate("performance.now()") - t0)
    status = page.inner_text("#status")
    assert "stopped answering" in status and "the run in progress was lost" in status
    assert "your list and the model you had before that run are back" in status
    assert "pasted list: 10 items" in page.inner_text("#data-summary")
    with page.expect_download() as saved:
        open_lab(page, "keep")
        page.click("#model-save")
    after = json.loads(open(saved.value.path()).read())
    assert after["params"] == before["params"] and after["step"] == before["step"] == 100
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#generated li.name').length > 0")
    run = tab.train(20)                      # and it trains on
    assert run["finalStep"] == 20
    tab.close()
