"""Checkpoints: exact round trip, and one clear CheckpointError for anything unloadable."""

import json

import numpy as np
import pytest

from zcgpt import checkpoint as ck
from zcgpt.config import presets
from zcgpt.data import Vocab, make_dataset
from zcgpt.model import GPT
from zcgpt.prng import Rng
from zcgpt.train import Trainer

ITEMS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia", "zoe", "luna"]


@pytest.fixture(scope="module")
def trained():
    cfg = presets["tiny"].replace(steps=20, batch_size=4)
    ds = make_dataset(ITEMS, 0.2, seed=1)
    tr = Trainer(cfg, ds, seed=1)
    for _ in range(5):
        tr.train_step()
    return tr


def bits(model):
    return {k: v.tobytes() for k, v in model.params.items()}


def test_round_trip_is_bit_exact(tmp_path, trained):
    m, vocab = trained.model, trained.dataset.vocab
    path = tmp_path / "m.json"
    ck.save(path, m, vocab, step=trained.step, metrics={"val_loss": 2.5, "nan": float("nan")}, seed=1)
    m2, v2, meta = ck.load(path)
    assert bits(m2) == bits(m)
    assert m2.flat.dtype == m.flat.dtype == np.float32
    assert m2.config == m.config and v2 == vocab
    assert meta["step"] == 5 and meta["seed"] == 1
    assert meta["metrics"] == {"val_loss": 2.5, "nan": None}  # JSON has no NaN
    json.loads(path.read_text())  # strict JSON (no NaN/Infinity tokens)


def test_round_trip_float64_and_untied_head():
    cfg = presets["tiny"].replace(dtype="float64", tied_head=False, final_norm=True, n_layer=2)
    vocab = Vocab.from_items(ITEMS)
    m = GPT(cfg, vocab.size, seed=3)
    m.flat[...] = Rng(5).gauss(m.flat.size, 1.0).astype(np.float64) / 3.0  # full float64 mantissas
    m2, _, _ = ck.loads(ck.dumps(m, vocab))
    assert "lm_head" in m2.params and bits(m2) == bits(m)


def test_same_samples_after_reload(trained):
    from zcgpt.sample import generate
    m, vocab = trained.model, trained.dataset.vocab
    m2, v2, _ = ck.loads(ck.dumps(m, vocab))
    a = generate(m, vocab, 8, Rng(11), temperature=1.0)
    b = generate(m2, v2, 8, Rng(11), temperature=1.0)
    assert a == b and len(a) == 8


def test_evaluate_same_after_reload(trained):
    from zcgpt.train import evaluate
    m, vocab = trained.model, trained.dataset.vocab
    m2, v2, _ = ck.loads(ck.dumps(m, vocab))
    assert evaluate(m2, v2, ITEMS) == evaluate(m, vocab, ITEMS)


# --- bad files -----------------------------------------------------------------------------

@pytest.fixture()
def good(trained):
    return json.loads(ck.dumps(trained.model, trained.dataset.vocab, step=5, seed=1))


def expect(d_or_text, pattern):
    text = d_or_text if isinstance(d_or_text, str) else json.dumps(d_or_text)
    with pytest.raises(ck.CheckpointError, match=pattern) as e:
        ck.loads(text)
    assert "\n" not in str(e.value)


def test_truncated(good):
    text = json.dumps(good)
    expect(text[: len(text) // 2], r"invalid JSON at line 1 column \d+ \(the file looks truncated\)")


def test_corrupt_and_empty():
    expect("", r"the file is empty")
    expect("{not json", r"invalid JSON")
    expect("[1, 2]", r"top level is not a JSON object")


def test_other_format_and_version(good):
    expect(dict(good, format="something-else"), r"format is 'something-else', expected 'zcgpt-checkpoint'")
    expect({k: v for k, v in good.items() if k != "format"}, r"format is None")
    expect(dict(good, version=2), r"checkpoint version 2 is not supported.*reads version 1")


def test_bad_config(good):
    C = good["config"]["n_embd"]
    expect(dict(good, config=dict(good["config"], n_head=C + 1)),
           rf"n_embd {C} is not divisible by n_head {C + 1}")
    expect(dict(good, config=dict(good["config"], flux=1)), r"unknown field\(s\) flux")


def test_a_checkpoint_with_the_old_name_seed_truncation_loads(good):
    # zeroclaw_truncation was called seed_truncation before; such files must keep loading
    for old_value in (True, False):
        cfg = {("seed_truncation" if k == "zeroclaw_truncation" else k): v
               for k, v in good["config"].items()}
        cfg["seed_truncation"] = old_value
        m, _, _ = ck.from_dict(dict(good, config=cfg))
        assert m.config.zeroclaw_truncation is old_value
        assert ck.to_dict(m, Vocab(good["vocab"][2:]))["config"]["zeroclaw_truncation"] is old_value
    both = dict(good["config"], seed_truncation=True)
    expect(dict(good, config=both), r"seed_truncation is the old name of zeroclaw_truncation")


def test_vocab_param_mismatch(good):
    # one more character than wte has rows
    C = good["config"]["n_embd"]
    expect(dict(good, vocab=good["vocab"] + ["~"]), rf"parameter wte has shape \[\d+, {C}\].*need \[\d+, {C}\]")
    expect(dict(good, vocab=["a", "b"]), r"starting with <BOS>, <EOS>")
    expect(dict(good, vocab=good["vocab"][:2] + ["z", "a"]), r"not unique and sorted")


def test_wrong_shapes_and_values(good):
    p = dict(good["params"])
    p["wpe"] = dict(p["wpe"], shape=[4, 16])
    expect(dict(good, params=p), r"parameter wpe has shape \[4, 16\]")
    p = dict(good["params"])
    p["wpe"] = dict(p["wpe"], data=p["wpe"]["data"][:-1])
    expect(dict(good, params=p), r"parameter wpe has \d+ values, expected \d+")
    p = dict(good["params"])
    p["wpe"] = dict(p["wpe"], data=["x"] * len(p["wpe"]["data"]))
    expect(dict(good, params=p), r"other than numbers")
    p = {k: v for k, v in good["params"].items() if k != "l0.fc1"}
    expect(dict(good, params=p), r"parameter\(s\) l0.fc1 missing")
    expect(dict(good, params=dict(good["params"], extra={"shape": [1], "data": [0]})),
           r"unexpected parameter\(s\) extra")


def test_load_file_errors(tmp_path):
    with pytest.raises(ck.CheckpointError, match=r"no such checkpoint file"):
        ck.load(tmp_path / "missing.json")
    bad = tmp_path / "bin.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ck.CheckpointError, match=r"bin\.json is not a zcgpt checkpoint"):
        ck.load(bad)


def test_refuses_to_save_a_diverged_model(trained):
    m = GPT(trained.config, trained.dataset.vocab.size, seed=0)
    m.params["wpe"][0, 0] = np.nan
    with pytest.raises(ck.CheckpointError, match=r"wpe contains NaN"):
        ck.dumps(m, trained.dataset.vocab)


def test_oversized_config_is_refused_before_building_it(good):
    huge = dict(good["config"], n_embd=1024, n_head=8, n_layer=8)
    expect(dict(good, config=huge), r"[\d,]+ parameters; zcgpt loads models under")


def test_metrics_hold_numbers_where_numbers_belong(good):
    """A string, a bool or a list where a number metric belongs is refused with one sentence (the
    page would otherwise call toFixed on it); null stands for none."""
    for bad in ("x", True, [1], {"a": 1}):
        expect(dict(good, metrics={"val_loss": bad}), r"metrics\.val_loss must be a finite number or null")
    expect(dict(good, metrics={"novelty": "NaN%"}), r"metrics\.novelty must be a finite number or null")
    expect(dict(good, metrics=[1]), r"metrics must be an object")
    _, _, meta = ck.loads(json.dumps(dict(good, metrics={"val_loss": None, "train_loss": 2, "seconds": 1.5})))
    assert meta["metrics"] == {"val_loss": None, "train_loss": 2, "seconds": 1.5}


def test_an_unknown_preset_in_the_metrics_is_left_out(good):
    for preset in ("enormous", 7, ["tiny"]):
        _, _, meta = ck.loads(json.dumps(dict(good, metrics={"preset": preset, "val_loss": 2.0, "data": "x.txt"})))
        assert meta["metrics"] == {"val_loss": 2.0, "data": "x.txt"}
    _, _, meta = ck.loads(json.dumps(dict(good, metrics={"preset": "small"})))
    assert meta["metrics"] == {"preset": "small"}
