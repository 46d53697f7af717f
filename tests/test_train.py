"""Training against zeroclaw's recorded run, convergence on real names, sampling."""

import numpy as np
import pytest

from zcgpt import presets
from zcgpt.baseline import bigram_loss
from zcgpt.data import Dataset, Vocab, load_lines, make_dataset
from zcgpt.prng import Rng
from zcgpt.sample import generate, novelty
from zcgpt.train import Trainer


def zeroclaw_run(reference, dtype):
    names = reference["names"]
    ds = Dataset(vocab=Vocab.from_items(names), train=names, val=[])
    tr = Trainer(presets["zeroclaw"].replace(dtype=dtype), ds, seed=42)
    return np.array([tr.train_step() for _ in range(5000)])


@pytest.fixture(scope="module")
def float32_run(reference):
    return zeroclaw_run(reference, "float32")


def window_gaps(losses, reference):
    want = np.array(reference["loss_per_step"])
    return np.abs(losses.reshape(10, 500).mean(axis=1) - want.reshape(10, 500).mean(axis=1))


def test_zeroclaw_first_100_steps_match_the_reference(float32_run, reference):
    want = np.array(reference["loss_per_step"][:100])
    assert np.max(np.abs(float32_run[:100] - want)) < 1e-4


def test_zeroclaw_window_means_float64(reference):
    # Two runs part ways chaotically after ~250 steps; what must agree is the 500-step means.
    assert np.max(window_gaps(zeroclaw_run(reference, "float64"), reference)) < 0.03


def test_zeroclaw_window_means_float32(float32_run, reference):
    # In float32 both runs add rounding noise at every step, which widens the chaotic spread:
    # over 1-ulp nudges of single weights this port's worst window gap ranged 0.020-0.036
    # (0.011-0.021 in float64; this exact run: 0.030). The bound is that measured spread.
    assert np.max(window_gaps(float32_run, reference)) < 0.045


@pytest.fixture(scope="module")
def names_ds(names_path):
    return make_dataset(load_lines(names_path), val_frac=0.1, seed=42)


@pytest.fixture(scope="module")
def trained_tiny(names_ds):
    tr = Trainer(presets["tiny"].replace(steps=1500), names_ds, seed=42)
    for _ in range(1500):
        tr.train_step()
    return tr


def test_tiny_beats_the_bigram_baseline(trained_tiny, names_ds):
    bigram = bigram_loss(names_ds.train, names_ds.val, names_ds.vocab)
    assert 2.3 < bigram < 2.6
    assert trained_tiny.evaluate() < bigram - 0.05


def test_same_seed_same_run(names_ds):
    runs = []
    for _ in range(2):
        tr = Trainer(presets["tiny"].replace(steps=50), names_ds, seed=7)
        runs.append([tr.train_step() for _ in range(20)])
    assert runs[0] == runs[1]
    other = Trainer(presets["tiny"].replace(steps=50), names_ds, seed=8)
    assert [other.train_step() for _ in range(20)] != runs[0]


def test_epochs_cover_every_name_once(names_ds):
    tr = Trainer(presets["tiny"], names_ds, seed=1)
    order = tr.epoch_order()
    assert sorted(order.tolist()) == list(range(len(names_ds.train)))


def test_sorted_windows_pad_less_than_random_batches(names_ds):
    sorted_tr = Trainer(presets["tiny"], names_ds, seed=1)
    plain_tr = Trainer(presets["tiny"].replace(sort_window=1), names_ds, seed=1)

    def padding(tr):
        pad = real = 0
        for _ in range(200):
            _, npred = tr.next_batch()
            pad += npred.max() * len(npred) - npred.sum()
            real += npred.sum()
        return pad / real

    assert padding(sorted_tr) < 0.5 * padding(plain_tr)


def test_samples_are_reproducible_and_made_of_the_vocabulary(trained_tiny, names_ds):
    a = generate(trained_tiny.model, names_ds.vocab, 30, Rng(3))
    b = generate(trained_tiny.model, names_ds.vocab, 30, Rng(3))
    assert a == b and len(a) == 30
    assert all(name and set(name) <= set(names_ds.vocab.chars) for name in a)
    assert generate(trained_tiny.model, names_ds.vocab, 30, Rng(4)) != a
    # a trained model invents names, but most look like names: not all new, not all copies
    assert 0.2 < novelty(a, set(names_ds.train)) <= 1.0


def test_prefix_and_top_k(trained_tiny, names_ds):
    names = generate(trained_tiny.model, names_ds.vocab, 20, Rng(5), prefix="ma", top_k=3)
    assert all(n.startswith("ma") for n in names)
    greedy = generate(trained_tiny.model, names_ds.vocab, 5, Rng(6), top_k=1)
    assert len(set(greedy)) == 1                      # top-1 is deterministic
    with pytest.raises(ValueError, match="never seen"):
        generate(trained_tiny.model, names_ds.vocab, 3, Rng(1), prefix="Ma")


def test_low_temperature_is_more_confident(trained_tiny, names_ds):
    cold = generate(trained_tiny.model, names_ds.vocab, 60, Rng(9), temperature=0.3)
    hot = generate(trained_tiny.model, names_ds.vocab, 60, Rng(9), temperature=1.5)
    assert len(set(cold)) < len(set(hot))


def test_bos_is_never_sampled(trained_tiny, names_ds):
    model = trained_tiny.model
    real = model.decode_step

    def bos_loving(tok, cache):                 # the start token is by far the likeliest
        logits = real(tok, cache)
        logits[:, names_ds.vocab.BOS] = 50.0
        return logits

    model.decode_step = bos_loving
    try:
        names = generate(model, names_ds.vocab, 10, Rng(2))
    finally:
        del model.decode_step
    assert all(len(n) >= 1 for n in names)


def test_a_prefix_may_fill_all_but_the_last_position(trained_tiny, names_ds):
    block = trained_tiny.model.config.block_size
    names = generate(trained_tiny.model, names_ds.vocab, 3, Rng(1), prefix="a" * (block - 1))
    assert all(n.startswith("a" * (block - 1)) and len(n) <= block for n in names)
    with pytest.raises(ValueError, match="no room"):
        generate(trained_tiny.model, names_ds.vocab, 3, Rng(1), prefix="a" * block)


def test_a_run_with_dropout_repeats_bit_for_bit_and_goes_on_from_a_saved_state(names_ds):
    cfg = presets["tiny"].replace(steps=40, dropout=0.2)

    def run(seed, stop=None):
        tr = Trainer(cfg, names_ds, seed=seed)
        losses = [tr.train_step() for _ in range(stop or cfg.steps)]
        return tr, losses

    a, la = run(7)
    b, lb = run(7)
    assert la == lb and a.model.flat.tobytes() == b.model.flat.tobytes()
    assert run(8)[1] != la
    plain = Trainer(cfg.replace(dropout=0.0), names_ds, seed=7)
    assert [plain.train_step() for _ in range(cfg.steps)] != la        # the masks do act
    # a trainer restored halfway draws the second half's masks as the first did
    half, lh = run(7, stop=20)
    resumed = Trainer(cfg, names_ds, seed=7)
    resumed.model.flat[...] = half.model.flat
    resumed.restore(half.state())
    lh += [resumed.train_step() for _ in range(20)]
    assert lh == la and resumed.model.flat.tobytes() == a.model.flat.tobytes()


def test_dropout_is_off_when_evaluating(names_ds):
    tr = Trainer(presets["tiny"].replace(steps=10, dropout=0.5), names_ds, seed=3)
    for _ in range(10):
        tr.train_step()
    first = tr.evaluate(names_ds.val[:200])
    assert tr.evaluate(names_ds.val[:200]) == first
    plain = Trainer(presets["tiny"].replace(steps=10), names_ds, seed=3)
    plain.model.flat[...] = tr.model.flat
    assert plain.evaluate(names_ds.val[:200]) == first
