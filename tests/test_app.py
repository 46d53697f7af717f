"""The page's backend (zcgpt.app) on CPython: every message kind, good and bad.

Every message the backend sends is checked against zcgpt.protocol.TO_PAGE; a refused message
gets one sentence and leaves the backend as it was.
"""

import base64
import json
import math
import urllib.parse
from dataclasses import asdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zcgpt import checkpoint
from zcgpt.app import LIMITS, App
from zcgpt.protocol import TO_PAGE, TO_WORKER, check_message
from zcgpt.run import Run, Schedule

from conftest import ROOT

NAMES = (ROOT / "names.txt").read_text(encoding="utf-8").splitlines()[:600]
TRAIN = {"type": "train", "preset": "tiny", "seed": 7, "changes": {"steps": 30, "lr": 0.01}}


def train_msg(steps=30, lr=0.01, **fields):
    return {**TRAIN, "changes": {"steps": steps, "lr": lr}, **fields}


def first_snapshot(app, tick=0.0):
    """Work the run in `app` until its first snapshot (SNAPSHOT_S patched low) -> that message."""
    while True:
        snap = next((m for m in checked(app.work(tick)) if m["type"] == "snapshot"), None)
        if snap is not None:
            return snap


def checked(msgs):
    for m in msgs:
        check_message(m, TO_PAGE)
        json.dumps(m, allow_nan=False)          # the page gets real JSON
    return msgs


def send(app, msg):
    return checked(app.handle(msg))


def drive(app, seconds=10.0):
    """Run the app's work to the end, as the worker does between messages."""
    msgs = []
    while app.has_work():
        msgs += checked(app.work(seconds))
    return msgs


def kinds(msgs):
    return [m["type"] for m in msgs]


def snapshot(app):
    """What a refused message must leave as it was."""
    return (app.items, app.data_name, app.job, app.paused, app.run_id, app.model, app.vocab,
            app.record and json.dumps(asdict(app.record)), app.loaded, app.gen_count)


@pytest.fixture
def app():
    a = App()
    checked([a.start("\n".join(NAMES), "names.txt", seconds=0.0, numpy="x", bytecode={})])
    return a


@pytest.fixture
def trained(app):
    send(app, TRAIN)
    drive(app)
    return app


def test_ready_lists_presets_and_limits():
    a = App()
    # a repeated name counts once (the list is deduplicated as the CLI's loader does)
    ready = checked([a.start("\n".join(NAMES + NAMES[:5]), "names.txt", seconds=0.5, numpy="2.0", bytecode={})])[0]
    assert len(set(NAMES)) == len(NAMES) and ready["items"] == len(NAMES)
    assert list(ready["presets"])[:2] == ["tiny", "small"]
    tiny = ready["presets"]["tiny"]
    assert tiny["params"] > 0 and tiny["page_steps"] >= 1 and tiny["note"]
    assert ready["limits"] == LIMITS
    assert ready["engine"] == "numpy"                    # CPython never installs the SIMD kernel


def test_train_reports_the_run_loop_points(app):
    start = send(app, TRAIN)
    assert kinds(start) == ["start"]
    msgs = drive(app)
    assert kinds(msgs)[-2:] == ["halted", "done"]
    points = [p for m in msgs if m["type"] == "progress" for p in m["points"]]
    # the same points as the package's run loop on the same settings
    from zcgpt.config import presets
    from zcgpt.data import make_dataset
    from zcgpt.train import Trainer
    tr = Trainer(presets["tiny"].replace(steps=30, lr=0.01), make_dataset(NAMES, 0.1, 7), 7)
    run = Run(tr, Schedule.for_page(tr))
    want = [[p.step, p.train_loss, p.val_loss] for p in run.finish()]
    assert points == want
    assert msgs[-1]["val"] == run.val_loss
    assert start[0]["report_every"] == run.schedule.report_every


def test_two_runs_with_one_seed_repeat_bit_for_bit(app):
    curves = []
    for _ in range(2):
        send(app, TRAIN)
        msgs = drive(app)
        curves.append(([p for m in msgs if m["type"] == "progress" for p in m["points"]], msgs[-1]["val"]))
    assert curves[0] == curves[1]


def test_a_second_train_while_one_runs_is_refused(app):
    send(app, TRAIN)
    before = snapshot(app)
    reply = send(app, TRAIN)
    assert kinds(reply) == ["error"] and "already" in reply[0]["message"]
    assert snapshot(app) == before


def test_pause_unpause_stop(app):
    send(app, train_msg(2000))
    checked(app.work(0.01))
    assert send(app, {"type": "pause", "by": "user"}) == [{"type": "paused", "paused": True, "by": "user"}]
    assert not app.has_work()
    send(app, {"type": "unpause"})
    assert app.has_work()
    checked(app.work(0.01))
    assert send(app, {"type": "stop"}) == []
    msgs = drive(app)
    assert kinds(msgs)[0] == "halted" and msgs[0]["stopped"] is True
    assert msgs[-1]["type"] == "done" and msgs[-1]["stopped"] and msgs[-1]["step"] < 2000


def test_reset_forgets_the_run_and_model_but_keeps_the_list(app):
    send(app, train_msg(2000))
    checked(app.work(0.01))
    assert kinds(send(app, {"type": "reset"})) == ["reset"]
    assert app.job is None and app.model is None and not app.has_work()
    assert app.items is not None
    assert send(app, {"type": "generate", "n": 3, "temperature": 1.0, "prefix": "", "seed": 0})[0]["note"]


def test_diverging_run_is_an_error_not_a_crash(app, monkeypatch):
    from zcgpt.train import Trainer, TrainingDiverged
    real = Trainer.train_step

    def blow_up(self, watch=False):
        if self.step == 5:
            raise TrainingDiverged("training diverged at step 6 (the loss is nan); try a smaller learning rate")
        return real(self, watch)

    monkeypatch.setattr(Trainer, "train_step", blow_up)
    send(app, TRAIN)
    msgs = drive(app)
    assert kinds(msgs)[-1] == "error"
    assert msgs[-1]["where"] == "train" and msgs[-1]["message"].startswith("Training diverged at step 6")
    assert not app.has_work() and app.job is None
    monkeypatch.setattr(Trainer, "train_step", real)
    assert kinds(send(app, TRAIN)) == ["start"]        # the next run starts as usual


@pytest.mark.parametrize("msg, words", [
    ({"type": "train", "preset": "nope", "seed": 1, "changes": {}}, "no preset called 'nope'"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {"steps": 0}}, "steps must be at least 1"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {"steps": 10 ** 400}}, "steps must be between"),
    ({"type": "train", "preset": "tiny", "seed": -1, "changes": {}}, "seed must be between"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {"lr": 5}}, "lr must be between"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {"steps": "10"}}, "steps must be int"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {"steps": True}}, "steps must be int"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {"lr": float("nan")}}, "lr must be a finite number"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {"n_embd": 30}}, "not divisible by n_head 4"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {"dtype": "float64"}}, "is not a setting the page"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {"n_embd": 1024, "n_layer": 8}}, "too big for the tab"),
    ({"type": "train", "preset": "small", "seed": 1, "changes": {"steps": 100000, "n_layer": 8, "n_embd": 128}},
     "minutes here"),      # this backend measured its (CPython) speed: only a far bigger run is too long
    ({"type": "train", "preset": "tiny", "seed": 1}, "needs the field 'changes'"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": [], "x": 1}, "unknown field(s) x"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": [1]}, "'changes' must be dict"),
    ({"type": "train", "preset": "tiny", "seed": 1, "changes": {}, "from_model": True}, "no loaded model"),
    ({"type": "design", "preset": "tiny", "changes": {}}, "needs the field 'id'"),
    ({"type": "generate", "n": "3", "temperature": 1.0, "prefix": "", "seed": 0}, "'n' must be int"),
    ({"type": "generate", "n": 3, "temperature": 1.0, "seed": 0}, "needs the field 'prefix'"),
    ({"type": "pause", "by": 3}, "'by' must be str"),
    ({"type": "data", "via": "paste", "name": 5, "text": "a\nb"}, "'name' must be str"),
    ({"type": "data", "name": "x"}, "needs the field 'via'"),
    ({"type": "load_model", "name": "m.json"}, "needs the field 'text'"),
    ({"type": "load_model", "name": "m.json", "text": {"a": 1}}, "'text' must be str"),
    ({"type": "inspect", "what": "probs", "id": "1"}, "'id' must be int"),
    ({"type": "save", "please": True}, "unknown field(s) please"),
    ({"type": "stop", "now": 1}, "unknown field(s) now"),
    ({"type": "reset", "all": 1}, "unknown field(s) all"),
    ({"type": "unpause", "by": []}, "'by' must be str"),
    ({"type": "ping"}, "needs the field 'id'"),
    ({"type": "helper"}, "needs the field 'id'"),
    ({"type": "helper", "id": 1}, "cannot share steps with helpers"),
    ({"type": "helper_gone", "id": "2"}, "'id' must be int"),
    ({"type": "watch", "gradients": 1}, "'gradients' must be bool"),
    ({"type": "write", "id": 1, "seed": 0, "temperature": 1.0, "top_k": 0, "prefix": ""}, "needs the field 'upto'"),
    ({"type": "write", "id": 1, "seed": 0, "temperature": 1.0, "top_k": 0, "prefix": "", "upto": 99},
     "upto and top_k must fit"),
    ({"type": "write", "id": 1, "seed": -5, "temperature": 1.0, "top_k": 0, "prefix": "", "upto": 2},
     "seed must be between"),
    ({"type": "save", "keep": "yes"}, "'keep' must be bool"),
    ({"type": "launch"}, "unknown message type 'launch'"),
    ({"kind": "train"}, "unknown message type None"),
    (["train"], "must be a JSON object"),
    ({"type": 7}, "unknown message type 7"),
])
def test_bad_messages_get_one_sentence_and_change_nothing(trained, msg, words):
    before = snapshot(trained)
    reply = send(trained, msg)
    assert kinds(reply) == ["error"], reply
    text = reply[0]["message"]
    assert words.lower() in text.lower() and text.endswith(".") and "\n" not in text and "Error" not in text
    assert snapshot(trained) == before


def test_every_message_kind_has_a_bad_input_case():
    cases = {m.get("type") for m, _ in test_bad_messages_get_one_sentence_and_change_nothing.pytestmark[0].args[1]
             if isinstance(m, dict)}
    adapter_only = {"init", "builtin"}          # handled in site/worker.py before the app
    assert set(TO_WORKER) - adapter_only <= cases


def test_generate(trained):
    reply = send(trained, {"type": "generate", "n": 5, "temperature": 0.8, "prefix": "ma", "seed": 3})[0]
    assert len(reply["names"]) == 5 and all(x["name"].startswith("ma") for x in reply["names"])
    assert trained.gen_count == 1


@pytest.mark.parametrize("fields, note", [
    ({"prefix": "m4"}, "The prefix 'm4' has characters the model has never seen: '4'"),
    ({"prefix": "a" * 17}, "at most 15 letters"),
    ({"prefix": "a" * 16}, "at most 15 letters"),
    ({"n": 0}, "The number of names must be between 1 and 200, got 0."),
    ({"n": 201}, "The number of names must be between 1 and 200, got 201."),
    ({"temperature": 0.0}, "The temperature must be between 1e-06 and 1e+06, got 0.0."),
])
def test_generate_refusals_are_notes(trained, fields, note):
    msg = {"type": "generate", "n": 5, "temperature": 1.0, "prefix": "", "seed": 0, **fields}
    reply = send(trained, msg)[0]
    assert reply["type"] == "generated" and reply["names"] == [] and note in reply["note"]


def test_generate_before_training_says_train_first(app):
    reply = send(app, {"type": "generate", "n": 5, "temperature": 1.0, "prefix": "", "seed": 0})[0]
    assert reply["names"] == [] and reply["note"] == "Train first."


def test_pasted_list(app):
    reply = send(app, {"type": "data", "via": "paste", "name": "pasted list", "text": "oslo\nlima\nrome\n"})[0]
    assert reply["type"] == "data" and reply["items"] == 3 and reply["longest_len"] == 4
    assert app.items == ["oslo", "lima", "rome"]


def test_a_refused_list_changes_nothing(trained):
    before = snapshot(trained)
    reply = send(trained, {"type": "data", "via": "paste", "name": "pasted list", "text": "only one"})[0]
    assert reply["type"] == "data_error" and reply["message"]
    assert snapshot(trained) == before


@pytest.mark.parametrize("raw, words", [
    (b"ab\x00cd\n", "looks binary: line 1"),
    (b"ok\n\xff\xfe\n", "is not UTF-8 text: line 2"),
])
def test_uploaded_files_are_checked_like_the_cli(app, raw, words):
    before = snapshot(app)
    reply = send(app, {"type": "data", "via": "file", "name": "C:\\Users\\me\\list.txt",
                       "b64": base64.b64encode(raw).decode()})[0]
    assert reply["type"] == "data_error" and reply["source"] == "list.txt"
    assert reply["message"].startswith("list.txt") and words in reply["message"]
    assert snapshot(app) == before


def test_uploaded_file_good_and_garbled(app):
    good = send(app, {"type": "data", "via": "file", "name": "cities.txt",
                      "b64": base64.b64encode("oslo\nlima\nkyïv\n".encode()).decode()})[0]
    assert good["type"] == "data" and good["chars"] == "aiklmosvyï" and good["source"] == "cities.txt"
    bad = send(app, {"type": "data", "via": "file", "name": "x.txt", "b64": "not base64!"})[0]
    assert bad["type"] == "data_error" and "bad base64" in bad["message"]


def test_save_and_load_model_round_trip(trained):
    saved = send(trained, {"type": "save"})[0]
    assert saved["type"] == "checkpoint" and saved["step"] == 30
    model, vocab, meta = checkpoint.loads(saved["text"])
    assert meta["step"] == 30 and math.isfinite(meta["metrics"]["val_loss"])
    assert meta["metrics"]["engine"] == "numpy"          # what computed it (the tab's kernel: "simd")

    other = App()
    other.start("\n".join(NAMES), "names.txt", seconds=0.0, numpy="x", bytecode={})
    loaded = send(other, {"type": "load_model", "name": "m.json", "text": saved["text"]})[0]
    assert loaded["type"] == "model_loaded" and loaded["step"] == 30 and loaded["params"] == model.num_params()
    a = send(trained, {"type": "generate", "n": 4, "temperature": 1.0, "prefix": "", "seed": 9})[0]["names"]
    b = send(other, {"type": "generate", "n": 4, "temperature": 1.0, "prefix": "", "seed": 9})[0]["names"]
    assert a == b                                  # the same model and the same draw
    # and train on from it: steps add up
    send(other, train_msg(10, from_model=True))
    done = drive(other)[-1]
    assert done["type"] == "done"
    assert checkpoint.loads(send(other, {"type": "save"})[0]["text"])[2]["step"] == 40


def test_ping_and_a_kept_copy(trained):
    assert send(trained, {"type": "ping", "id": 4}) == [{"type": "pong", "id": 4}]
    kept = send(trained, {"type": "save", "keep": True})[0]
    assert kept["keep"] is True and checkpoint.loads(kept["text"])[2]["step"] == 30
    assert "keep" not in send(trained, {"type": "save"})[0]


def test_save_before_any_model(app):
    reply = send(app, {"type": "save"})[0]
    assert reply["type"] == "model_error" and reply["action"] == "save"


@pytest.mark.parametrize("text", ["", "{", "[]", '{"format": "other"}', "[" * 5000 + "]" * 5000])
def test_a_refused_model_file_changes_nothing(trained, text):
    before = snapshot(trained)
    reply = send(trained, {"type": "load_model", "name": "bad.json", "text": text})[0]
    assert reply["type"] == "model_error" and reply["message"].startswith("bad.json: ")
    assert snapshot(trained) == before


def test_inspect_before_training_says_train_first(app):
    assert send(app, {"type": "inspect", "what": "probs", "id": 1, "text": "ma"})[0]["note"].startswith("Train")


def test_inspect_panels(trained):
    probs = send(trained, {"type": "inspect", "what": "probs", "id": 2, "text": "ma"})[0]
    assert probs["id"] == 2 and len(probs["probs"]) == 3 and abs(sum(probs["probs"][0]) - 1) < 1e-3
    att = send(trained, {"type": "inspect", "what": "attention", "id": 3, "text": "emma"})[0]
    assert len(att["att"]) == 1 and len(att["att"][0]) == 4        # layers, heads
    emb = send(trained, {"type": "inspect", "what": "embedding", "id": 4})[0]
    assert len(emb["coords"]) == len(emb["itos"])
    src = send(trained, {"type": "inspect", "what": "source", "id": 5})[0]
    assert any(part["source"].startswith("def forward(") for part in src["parts"])
    bad = send(trained, {"type": "inspect", "what": "probs", "id": 6, "text": "m4"})[0]
    assert "not in the vocabulary" in bad["note"].lower()
    nope = send(trained, {"type": "inspect", "what": "liver", "id": 7})[0]
    assert "no panel called 'liver'" in nope["note"]


@pytest.mark.parametrize("link, settings, notes", [
    ("#preset=tiny&seed=11&steps=1200&lr=0.02&data=names",
     {"preset": "tiny", "seed": 11, "steps": 1200, "lr": 0.02, "data": "names"}, []),
    ("", {}, []),
    ("#preset=nope", {}, ["no model “nope”"]),
    ("#steps=-1&seed=42", {"seed": 42}, ["steps “-1” is not a whole number from 1 to 100000"]),
    ("#lr=abc", {}, ["lr “abc” is not a number"]),
    ("#lr=nan&lr=0.1", {}, ["lr “nan”", "lr is given twice"]),
    ("#seed=4294967296", {}, ["seed “4294967296” is not a whole number from 0 to 4294967295"]),
    ("#colour=red", {}, ["“colour” is not a setting here"]),
    ("#pretrained=tiny.cities&data=cities&steps=300",
     {"pretrained": "tiny.cities", "data": "cities", "steps": 300}, []),
    ("#pretrained=huge.names", {}, ["no pre-trained model “huge.names”"]),
    ("#pretrained=tiny.<b>", {}, ["no pre-trained model “tiny.<b>”"]),
    ("#steps=" + "9" * 5000, {}, ["over 2000 characters"]),
])
def test_parse_link(link, settings, notes):
    from zcgpt.design import parse_link
    got = parse_link(link, LIMITS)
    assert got["settings"] == settings
    plain = [g.replace("\u2068", "").replace("\u2069", "") for g in got["notes"]]   # see the next test
    assert len(plain) == len(notes) and all(n in g for n, g in zip(notes, plain))


def test_link_notes_echo_values_cut_and_isolated():
    """A value a note echoes is cut to 20 characters and isolated for bidi, its own bidi controls
    left out: a right-to-left override in a link cannot turn the rest of the sentence around."""
    from zcgpt.design import parse_link
    notes = parse_link("#preset=ab\u202ecd" + "x" * 50 + "&\u202ekey\u2069=1&seed=\u2069\u202e9", LIMITS)["notes"]
    assert len(notes) == 3, notes
    for note in notes:
        assert "\u202e" not in note and note.count("\u2068") == 1 and note.count("\u2069") == 1, note
        inside = note[note.index("\u2068") + 1:note.index("\u2069")]
        assert len(inside) <= 20 and note.index("\u2068") < note.index("\u2069")
    assert "\u2068abcdxxxxxxxxxxxxxxx…\u2069" in notes[0]


def test_ready_carries_the_link():
    ready = App().start("a\nb\nc", "x.txt", link="#preset=small&steps=0")
    assert ready["link"] == {"settings": {"preset": "small"},
                             "notes": ["steps “\u20680\u2069” is not a whole number from 1 to 100000"]}


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300),
                 st.lists(st.tuples(st.sampled_from(["preset", "seed", "steps", "lr", "data", "x", ""]),
                                    st.text(max_size=30)), max_size=8)
                 .map(lambda kv: "#" + "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in kv))))
def test_parse_link_fuzz(link):
    """Any hash: no exception, only checked settings, and every other key named in a note."""
    from zcgpt.design import DESIGN_FIELDS, LINK_EXTRA, parse_link
    got = parse_link(link, LIMITS)
    s = got["settings"]
    assert set(s) <= set(LINK_EXTRA) | set(DESIGN_FIELDS) and all(isinstance(n, str) and n for n in got["notes"])
    for key in ("seed", "steps", "lr"):
        if key in s:
            lo, hi = LIMITS[key]
            assert lo <= s[key] <= hi and math.isfinite(s[key])
    json.dumps(got, allow_nan=False)


def test_design_reports_cost_and_problems(app):
    from zcgpt.config import Config
    from zcgpt.model import param_count
    ok = send(app, {"type": "design", "preset": "tiny", "changes": {"n_layer": 2, "block_size": 24}, "id": 1})[0]
    assert ok["id"] == 1 and ok["problems"] == {} and ok["refused"] is None
    assert ok["config"]["n_layer"] == 2 and ok["config"]["block_size"] == 24
    assert ok["params"] == param_count(Config(**ok["config"]), 28)
    assert ok["multiply_adds"] > 0 and ok["est_seconds"] > 0 and ok["measured"] is False
    bad = send(app, {"type": "design", "preset": "tiny", "changes": {"n_embd": 30}, "id": 3})[0]
    assert bad["problems"] == {"n_embd": "n_embd 30 is not divisible by n_head 4."}
    bad = send(app, {"type": "design", "preset": "tiny", "changes": {"lr": "x", "colour": 1}, "id": 2})[0]
    assert bad["problems"] == {"lr": "lr must be a finite number.",
                               "colour": "“colour” is not a setting the page can change."}
    huge = send(app, {"type": "design", "preset": "small", "changes": {"n_embd": 512, "n_layer": 12}, "id": 4})[0]
    assert huge["problems"] == {} and "parameters is more than zcgpt builds" in huge["refused"]
    wide = send(app, {"type": "design", "preset": "small",
                      "changes": {"n_embd": 128, "n_layer": 2, "batch_size": 4096, "block_size": 64}, "id": 6})[0]
    assert "MB of memory" in wide["refused"]
    slow = send(app, {"type": "design", "preset": "small", "changes": {"steps": 100000}, "id": 5})[0]
    assert "minutes" in slow["refused"]


def test_a_designed_model_trains_and_the_tab_measures_its_speed(app):
    start = send(app, {**TRAIN, "changes": {"steps": 20, "lr": 0.01, "n_layer": 2, "block_size": 24}})[0]
    assert start["config"]["n_layer"] == 2 and start["config"]["block_size"] == 24
    done = drive(app)[-1]
    assert done["type"] == "done" and done["step"] == 20
    model = checkpoint.loads(send(app, {"type": "save"})[0]["text"])[0]
    assert model.config.n_layer == 2 and model.config.block_size == 24


def test_a_finished_run_times_the_tab_and_the_page_gets_the_timings_back(app):
    """An unpaused run's time from "train" to "done" is kept (and sent for the page to keep);
    a fresh backend given those timings estimates at the speed this one measured."""
    design = {"type": "design", "preset": "tiny", "changes": {"steps": 2000}, "id": 1}
    guess = send(app, design)[0]
    assert guess["measured"] is False
    send(app, train_msg(40))
    done = drive(app)[-1]
    assert len(done["timings"]) == 1 and done["timings"][0]["steps"] == 40 and done["timings"][0]["seconds"] > 0
    measured = send(app, design)[0]
    assert measured["measured"] is True and measured["est_seconds"] != guess["est_seconds"]

    fresh = App()
    fresh.start("\n".join(NAMES), "names.txt", timings=done["timings"])
    assert send(fresh, design)[0] == measured
    broken = App()
    broken.start("\n".join(NAMES), "names.txt", timings=[{"steps": "x"}, None, 7])   # the page's storage lied
    assert send(broken, design)[0] == guess


@pytest.mark.parametrize("interrupt", ["pause", "stop", "continue"])
def test_a_paused_stopped_or_continued_run_does_not_time_the_tab(app, monkeypatch, interrupt):
    import zcgpt.driver as driver
    msg = train_msg(60)
    if interrupt == "continue":
        monkeypatch.setattr(driver, "SNAPSHOT_S", 0.0)
        send(app, msg)
        snap = None
        while snap is None:
            snap = next((m for m in checked(app.work(0.0)) if m["type"] == "snapshot"), None)
        send(app, {"type": "reset"})
        app.timings = []
        msg = {**msg, "snapshot": snap["text"]}
    send(app, msg)
    if interrupt in ("pause", "stop"):
        send(app, {"type": interrupt})
        send(app, {"type": "unpause"})
    done = drive(app)[-1]
    assert done["type"] == "done" and done["timings"] is None and app.timings == []


@pytest.mark.parametrize("kind", ["scratch", "from_model"])
def test_a_run_goes_on_from_its_snapshot_bit_for_bit(app, monkeypatch, kind):
    """Snapshot mid-run, a fresh backend (a reloaded page) goes on from it: the same points,
    the same final loss and the same parameters as a run never interrupted. A run on from a
    loaded model (of its own design: another width) goes on with that design."""
    import zcgpt.driver as driver
    msg = train_msg(60)
    if kind == "from_model":
        send(app, {**train_msg(20), "changes": {"steps": 20, "lr": 0.01, "n_embd": 24}})
        drive(app)
        model = send(app, {"type": "save"})[0]["text"]
        send(app, {"type": "reset"})
        send(app, {"type": "load_model", "name": "m.json", "text": model})
        msg = train_msg(60, from_model=True)

    def fresh_start():
        if kind == "from_model":
            send(app, {"type": "load_model", "name": "m.json", "text": model})
        return send(app, msg)[0]

    first = fresh_start()
    whole = drive(app)
    want_points = [p for m in whole if m["type"] == "progress" for p in m["points"]]
    want_file = send(app, {"type": "save"})[0]["text"]
    want_params = checkpoint.loads(want_file)[0].flat.copy()

    monkeypatch.setattr(driver, "SNAPSHOT_S", 0.0)
    fresh_start()
    snap = first_snapshot(app)
    assert 0 < snap["step"] < 60
    fresh = App()
    fresh.start("\n".join(NAMES), "names.txt")
    # the page asks with the run's record: its preset and changes, and the snapshot
    start = send(fresh, {**train_msg(60), "snapshot": snap["text"]})[0]
    assert start["type"] == "start" and start["continued_at"] == snap["step"]
    assert start["config"] == first["config"] and start["base_step"] == first["base_step"]
    assert start["init_val"] is None                     # the page keeps the first part's
    rest = drive(fresh)
    assert rest[0]["busy"] > 0 and all(m["busy"] >= rest[0]["busy"] for m in rest if "busy" in m)
    got_points = [p for m in rest if m["type"] == "progress" for p in m["points"]]
    assert got_points == [p for p in want_points if p[0] > snap["step"]]
    assert rest[-1]["val"] == whole[-1]["val"] and rest[-1]["train_loss"] == whole[-1]["train_loss"]
    got_file = send(fresh, {"type": "save"})[0]["text"]
    assert (checkpoint.loads(got_file)[0].flat == want_params).all()
    assert checkpoint.loads(got_file)[2]["step"] == checkpoint.loads(want_file)[2]["step"]


def test_a_continued_run_counts_the_seconds_of_its_first_part(app, monkeypatch):
    import zcgpt.driver as driver
    monkeypatch.setattr(driver, "SNAPSHOT_S", 0.0)
    send(app, train_msg(60))
    snap = first_snapshot(app, 0.01)
    earlier = json.loads(snap["text"])["resume"]["busy"]
    assert earlier > 0
    fresh = App()
    fresh.start("\n".join(NAMES), "names.txt")
    send(fresh, {**train_msg(60), "snapshot": snap["text"]})
    assert drive(fresh)[-1]["busy"] > earlier


def test_a_snapshot_only_goes_on_with_its_design_and_list(app, monkeypatch):
    import zcgpt.driver as driver
    monkeypatch.setattr(driver, "SNAPSHOT_S", 0.0)
    send(app, train_msg(60))
    snap = first_snapshot(app)
    plain = send(app, {"type": "save"})[0]["text"]          # a model file, not a saved run
    send(app, {"type": "reset"})
    before = snapshot(app)
    for msg, words in [
        (train_msg(60, snapshot="{}"), "not a zcgpt checkpoint"),
        (train_msg(60, snapshot="x"), "not a zcgpt checkpoint: invalid json"),
        (train_msg(60, snapshot=plain), "holds no saved run"),
    ]:
        reply = send(app, msg)
        assert kinds(reply) == ["error"] and words in reply[0]["message"].lower(), reply
        assert snapshot(app) == before
    send(app, {"type": "data", "via": "paste", "name": "p", "text": "\n".join(NAMES[:300])})
    reply = send(app, train_msg(60, snapshot=snap["text"]))
    assert "another list" in reply[0]["message"]


def test_done_reports_train_loss_and_novelty(trained):
    send(trained, train_msg(40))
    done = drive(trained)[-1]
    assert 0 <= done["novelty"] <= 1 and math.isfinite(done["train_loss"])


def test_watching_gradients_adds_part_stats_to_points(app):
    send(app, {"type": "watch", "gradients": True})
    send(app, train_msg(20))
    msgs = drive(app)
    parts = [pp for m in msgs if m["type"] == "progress" for pp in m.get("parts", [])]
    steps = [p[0] for m in msgs if m["type"] == "progress" for p in m["points"]]
    assert [s for s, _ in parts] == steps                     # 20 steps: every reported point
    first = parts[0][1]
    assert set(first) == {"embedding", "block 1"}
    assert all(g > 0 and r > 0 for g, r in first.values())
    assert parts[-1][1]["block 1"][1] == 0.0                 # the last step's learning rate is 0
    send(app, {"type": "watch", "gradients": False})
    send(app, train_msg(10))
    assert not any(m.get("parts") for m in drive(app))


def test_watching_changes_no_number_of_the_run(app):
    send(app, train_msg(25))
    plain = [m["points"] for m in drive(app) if m["type"] == "progress"]
    send(app, {"type": "watch", "gradients": True})
    send(app, train_msg(25))
    watched = [m["points"] for m in drive(app) if m["type"] == "progress"]
    assert plain == watched


def test_writing_a_name_step_by_step_matches_generate(trained):
    from zcgpt.prng import Rng
    from zcgpt.sample import generate
    want = generate(trained.model, trained.vocab, 1, Rng(11), 0.9, 5, "b")[0]
    letters = []
    for upto in range(1, 17):
        w = send(trained, {"type": "write", "id": upto, "seed": 11, "temperature": 0.9, "top_k": 5,
                           "prefix": "b", "upto": upto})[0]
        assert w["id"] == upto and len(w["probs"]) == trained.vocab.size
        assert abs(sum(w["probs"]) - 1) < 1e-3 and sum(p > 0 for p in w["probs"]) <= 5
        assert len(w["att"]) == 1 and len(w["att"][0]) == 4 and len(w["att"][0][0]) == len(w["letters"]) + 1
        letters = w["letters"]
        if w["done"]:
            break
    assert "b" + "".join(letters) == want
    assert letters[-1] == "" or len(want) == 16
    note = send(trained, {"type": "write", "id": 99, "seed": 1, "temperature": 1.0, "top_k": 0,
                          "prefix": "b9", "upto": 1})[0]
    assert note["note"] == "The start 'b9' has characters the model has never seen: '9'."
