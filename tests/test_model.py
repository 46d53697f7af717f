"""The model's math: init, gradients, padding, KV cache, against independent computations."""

import numpy as np
import pytest

from zcgpt import GPT, Config, presets

V = 11


def random_weights(model, seed=0, scale=0.3):
    model.flat[...] = np.random.default_rng(seed).normal(0, scale, model.flat.shape)
    return model


def numeric_check(model, batch, h=1e-5, drop=lambda: None):
    """Worst |numeric - analytic| / (1e-4 + |numeric|) per parameter tensor. `drop` makes the
    dropout generator of each pass: a fresh one with the same key gives every pass the same masks."""
    _, grads = model.loss_and_grads(batch, drop())
    worst = {}
    for name, p in model.params.items():
        num = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = model.loss(batch, drop())
            p[i] = old - h
            down = model.loss(batch, drop())
            p[i] = old
            num[i] = (up - down) / (2 * h)
        worst[name] = float(np.max(np.abs(num - grads[name]) / (1e-4 + np.abs(num))))
    return worst


def test_zeroclaw_init_matches_the_reference_checksums(reference):
    model = GPT(presets["zeroclaw"], vocab_size=28, seed=42)
    assert set(model.params) == set(reference["init"])
    for name, want in reference["init"].items():
        p = model.params[name].astype(np.float64)
        assert p.size == want["n"], name
        assert abs(p.sum() - want["sum"]) < 1e-6, name
        assert abs(np.abs(p).sum() - want["abssum"]) < 1e-6, name
        assert abs(p.reshape(-1)[0] - want["first"]) < 1e-6, name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_whole_step_stays_in_the_model_dtype(dtype):
    # a stray numpy float64 scalar would quietly run a float32 model in float64
    cfg = Config(n_layer=2, final_norm=True, activation="gelu", dtype=dtype)
    model = random_weights(GPT(cfg, V, seed=1), scale=0.1)
    logits, _ = model.forward(np.array([[0, 3, 4], [0, 5, 1]]))
    _, grads = model.loss_and_grads([[0, 3, 4, 5, 1], [0, 2, 1]])
    assert logits.dtype == dtype
    assert all(g.dtype == dtype for g in grads.values())
    cache = model.new_cache(2)
    assert model.decode_step(np.array([0, 0]), cache).dtype == dtype


def test_params_are_live_views():
    model = GPT(presets["tiny"], V, seed=1)
    batch = [[0, 3, 4, 1]]
    before = model.loss(batch)
    model.params["wte"][3] += 1.0
    assert model.loss(batch) != before


def test_gradients_zeroclaw_with_nonzero_weights():
    cfg = presets["zeroclaw"].replace(dtype="float64")
    model = random_weights(GPT(cfg, V, seed=3))
    worst = numeric_check(model, [[0, 3, 4, 5, 6, 1]])
    assert set(worst) == set(model.params)
    assert max(worst.values()) < 1e-5, worst


# ReLU's kink breaks central differences wherever a pre-activation sits within h of 0; the
# weight seeds are ones where none does (relu2 and gelu are smooth enough not to care).
@pytest.mark.parametrize("activation,seed", [("relu2", 1), ("gelu", 1), ("relu", 2)])
def test_gradients_two_layers_padded_batch(activation, seed):
    cfg = Config(n_embd=8, n_head=2, n_layer=2, block_size=8, activation=activation,
                 tied_head=False, final_norm=True, dtype="float64")
    model = random_weights(GPT(cfg, V, seed=5), seed=seed)
    batch = [[0, 3, 4, 5, 1], [0, 2, 1], [0, 9, 8, 7, 6, 5, 4, 1]]        # padded to 7 positions
    worst = numeric_check(model, batch)
    assert max(worst.values()) < 1e-5, worst


@pytest.mark.parametrize("tied_head", [True, False])
def test_gradients_with_dropout_and_a_fixed_mask(tied_head):
    from zcgpt.prng import Lanes
    cfg = Config(n_embd=8, n_head=2, n_layer=2, block_size=8, tied_head=tied_head, final_norm=True,
                 dropout=0.3, dtype="float64")
    model = random_weights(GPT(cfg, V, seed=5), seed=1)
    batch = [[0, 3, 4, 5, 1], [0, 2, 1], [0, 9, 8, 7, 6, 5, 4, 1]]
    drop = lambda: Lanes(11)
    worst = numeric_check(model, batch, drop=drop)
    assert max(worst.values()) < 1e-5, worst
    # the masks did act: another key, another loss; no generator, no dropout
    assert model.loss(batch, Lanes(12)) != model.loss(batch, drop())
    plain = GPT(cfg.replace(dropout=0.0), V, seed=5)
    plain.flat[...] = model.flat
    assert model.loss(batch) == plain.loss(batch) == plain.loss(batch, drop())


def test_dropout_masks_zero_about_p_and_keep_the_mean():
    from zcgpt.model import dropout_masks
    from zcgpt.prng import Lanes
    for p in (0.1, 0.5):
        m = dropout_masks(p, Lanes(3), (3, 500, 64), np.float32)
        assert m.shape == (3, 500, 64) and m.dtype == np.float32
        assert set(np.unique(m).tolist()) == {0.0, np.float32(1 / (1 - p))}
        assert abs((m == 0).mean() - p) < 0.01
        assert abs(m.mean() - 1.0) < 0.02
        assert not np.array_equal(m[0], m[1])                       # each mask is drawn afresh
    assert dropout_masks(0.0, Lanes(3), (3, 5, 4), np.float32) == [None] * 3
    assert dropout_masks(0.2, None, (2, 5, 4), np.float32) == [None] * 2


# Wide enough (F = 40) and long enough (N = 42 rows) that the tab's products take every route:
# einsum along K (fc2 forward, fc1's dx), einsum along M (fc1 forward, fc2's dx) and over the N
# rows (weight gradients), matmul where both K and M are short (q, k, v).
NO_BLAS_CFG = Config(n_embd=8, n_head=2, n_layer=2, block_size=8, mlp_ratio=5, dtype="float64")
NO_BLAS_BATCH = [[0, 3, 4, 5, 1], [0, 2, 1], [0, 9, 8, 7, 6, 5, 4, 1], [0, 4, 4, 1],
                 [0, 7, 6, 5, 4, 1], [0, 10, 2, 3, 1]]


def test_the_batch_takes_every_route_of_the_no_blas_products():
    from zcgpt import kernels
    F = NO_BLAS_CFG.mlp_ratio * NO_BLAS_CFG.n_embd
    N = len(NO_BLAS_BATCH) * max(len(s) - 1 for s in NO_BLAS_BATCH)
    assert NO_BLAS_CFG.n_embd <= kernels.LONG_LOOP < min(F, N)


def test_the_no_blas_gradients_equal_the_blas_ones(monkeypatch):
    # The tab (Pyodide, no BLAS) computes some products with einsum: the same numbers up to
    # rounding, in float64 and in float32 at the small preset's shape.
    from zcgpt import kernels
    assert kernels.NO_BLAS is False                       # CPython here
    small = presets["small"].replace(n_layer=2)
    for cfg, tol in ((NO_BLAS_CFG, 1e-12), (small, 1e-5)):
        model = random_weights(GPT(cfg, V, seed=5), seed=1, scale=0.3 if cfg is NO_BLAS_CFG else 0.1)
        monkeypatch.setattr(kernels, "NO_BLAS", False)
        loss, grads = model.loss_and_grads(NO_BLAS_BATCH)
        monkeypatch.setattr(kernels, "NO_BLAS", True)
        loss2, grads2 = model.loss_and_grads(NO_BLAS_BATCH)
        assert loss2 == pytest.approx(loss, rel=tol)
        for name in grads:
            assert np.abs(grads[name]).max() > 0, name
            scale = np.abs(grads[name]).max()
            np.testing.assert_allclose(grads2[name], grads[name], rtol=tol, atol=tol * scale, err_msg=name)


def test_gradients_on_the_no_blas_route(monkeypatch):
    from zcgpt import kernels
    monkeypatch.setattr(kernels, "NO_BLAS", True)
    model = random_weights(GPT(NO_BLAS_CFG.replace(n_layer=1), V, seed=5), seed=3)
    worst = numeric_check(model, NO_BLAS_BATCH)
    assert max(worst.values()) < 1e-5, worst


def test_padding_changes_nothing():
    cfg = presets["tiny"].replace(dtype="float64", n_layer=2)
    model = random_weights(GPT(cfg, V, seed=2))
    short, long = [0, 5, 6, 1], [0, 2, 3, 4, 5, 6, 7, 8, 1]
    # the loss of a batch is the token-weighted mean of its rows' losses...
    loss, grads = model.loss_and_grads([short, long])
    l_s, g_s = model.loss_and_grads([short])
    l_l, g_l = model.loss_and_grads([long])
    assert loss == pytest.approx((3 * l_s + 8 * l_l) / 11, rel=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads[name], (3 * g_s[name] + 8 * g_l[name]) / 11,
                                   rtol=1e-9, atol=1e-13)
    # ...and whatever sits in the padding does not matter
    inputs, targets, weights = (a.copy() for a in model.encode_batch([short, long]))
    inputs[0, 3:] = 7
    targets[0, 3:] = 9
    assert model.loss_arrays(inputs, targets, weights) == pytest.approx(loss, rel=1e-12)


def slow_attention(q, k, v):
    """One head, one sequence, a loop per position: the plain definition."""
    T, D = q.shape
    out = np.zeros_like(v)
    for t in range(T):
        scores = np.array([q[t] @ k[s] / np.sqrt(D) for s in range(t + 1)])
        w = np.exp(scores - scores.max())
        w /= w.sum()
        out[t] = sum(w[s] * v[s] for s in range(t + 1))
    return out


def test_attention_matches_the_loop_definition():
    from zcgpt.model import attention_forward
    B, T, H, D = 2, 5, 3, 4
    qkv = np.random.default_rng(0).normal(size=(B * T, 3 * H * D))
    y, _ = attention_forward(qkv, B, T, H)
    parts = qkv.reshape(B, T, 3, H, D)
    for b in range(B):
        for h in range(H):
            want = slow_attention(parts[b, :, 0, h], parts[b, :, 1, h], parts[b, :, 2, h])
            np.testing.assert_allclose(y.reshape(B, T, H, D)[b, :, h], want, rtol=1e-10)


def test_softmax_survives_rows_far_below_the_global_max():
    from zcgpt.kernels import softmax_last
    z = np.array([[0.0, 1.0, 2.0], [-2000.0, -2001.0, -2003.0]])
    p, log_norm = softmax_last(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], softmax_last(z[1:] + 2000)[0][0])
    np.testing.assert_allclose(np.exp(z - log_norm), p)


def test_kv_cache_decoding_equals_full_forward():
    cfg = presets["tiny"].replace(dtype="float64", n_layer=2, final_norm=True)
    model = random_weights(GPT(cfg, V, seed=4))
    seqs = np.array([[0, 3, 4, 5, 6, 7, 2], [0, 9, 9, 1, 2, 3, 4]])
    full, _ = model.forward(seqs)                                   # (B*T, V)
    cache = model.new_cache(2)
    steps = [model.decode_step(seqs[:, t], cache) for t in range(seqs.shape[1])]
    inc = np.stack(steps, axis=1).reshape(full.shape)
    np.testing.assert_allclose(inc, full, rtol=1e-10, atol=1e-12)


def test_caches_carry_names():
    cfg = Config(n_layer=2, final_norm=True, dtype="float64")
    model = random_weights(GPT(cfg, V, seed=1), scale=0.1)
    _, cache = model.forward(np.array([[0, 3, 4]]))
    assert cache.idx.shape == (1, 3) and len(cache.blocks) == 2 and cache.norm_f is not None
    assert cache.blocks[1].attention.att.shape == (1, cfg.n_head, 3, 3)
    kv = model.new_cache(1)
    for tok in (0, 3):
        model.decode_step(np.array([tok]), kv)
    assert kv.pos == 2 and len(kv.keys[1]) == len(kv.values[1]) == 2
    assert kv.keys[0][0].shape == (1, cfg.n_head, cfg.head_size)


def test_loss_at_init_is_uniform_guess():
    model = GPT(Config(), 27, seed=0)           # small random logits: nearly a uniform guess
    batch = [[0] + list(np.random.default_rng(0).integers(2, 27, 8)) + [1] for _ in range(16)]
    assert model.loss(batch) == pytest.approx(np.log(27), abs=0.02)


def test_a_batch_can_be_overfitted():
    from zcgpt.train import Adam
    cfg = presets["tiny"].replace(steps=300, lr=3e-2)
    model = GPT(cfg, V, seed=0)
    batch = [[0, 3, 4, 5, 1], [0, 6, 7, 1], [0, 8, 9, 10, 2, 1]]
    opt = Adam(cfg, model.num_params())
    first = model.loss(batch)
    for step in range(300):
        model.loss_and_grads(batch)
        opt.update(model.flat, model.grad_flat, step)
    # all but the first letter is memorisable; that one is a 1-in-3 guess at 3 of 12 positions
    floor = 3 * np.log(3) / 12
    assert first > 2.0
    assert floor <= model.loss(batch) < floor + 0.01


def test_sequences_longer_than_the_block_are_refused():
    model = GPT(presets["zeroclaw"], V, seed=0)
    with pytest.raises(ValueError, match="block_size"):
        model.loss([[0] + [3] * 9 + [1]])
