"""zcgpt.insight against independent computations: probabilities, attention, PCA, source."""

import numpy as np
import pytest

from zcgpt import GPT, Config
from zcgpt import insight
from zcgpt.data import Vocab

VOCAB = Vocab("abcdefghijklmnopqrstuvwxyz")
CFG = Config(n_embd=16, n_head=4, n_layer=2, block_size=8, dtype="float64")


@pytest.fixture
def model():
    m = GPT(CFG, VOCAB.size, seed=3)
    m.flat[...] = np.random.default_rng(0).normal(0, 0.5, m.flat.shape)   # not a flat init
    return m


def test_context_tokens_and_what_does_not_fit():
    assert insight.context_tokens(VOCAB, "ab", 8) == [VOCAB.BOS, VOCAB.stoi["a"], VOCAB.stoi["b"]]
    assert insight.context_tokens(VOCAB, "", 8) == [VOCAB.BOS]
    with pytest.raises(ValueError, match="not in the vocabulary: Q1"):
        insight.context_tokens(VOCAB, "aQ1", 8)
    with pytest.raises(ValueError, match="at most 7 letters"):
        insight.context_tokens(VOCAB, "abcdefgh", 8)


def test_probs_sum_to_one_and_match_forward(model):
    tokens = insight.context_tokens(VOCAB, "anna", CFG.block_size)
    probs = insight.next_token_probs(model, tokens)
    assert probs.shape == (5, VOCAB.size)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    logits, _ = model.forward(np.array([tokens]))
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs, z / z.sum(axis=1, keepdims=True), atol=1e-12)


def test_probs_of_a_prefix_do_not_depend_on_later_letters(model):
    short = insight.next_token_probs(model, insight.context_tokens(VOCAB, "ma", 8))
    long = insight.next_token_probs(model, insight.context_tokens(VOCAB, "mary", 8))
    np.testing.assert_allclose(long[:3], short, atol=1e-12)      # causal: later letters unseen


def test_attention_rows_sum_to_one_and_are_causal(model):
    tokens = insight.context_tokens(VOCAB, "olivia", CFG.block_size)
    att = insight.attention_maps(model, tokens)
    T = len(tokens)
    assert att.shape == (CFG.n_layer, CFG.n_head, T, T)
    np.testing.assert_allclose(att.sum(axis=-1), 1.0, atol=1e-12)
    assert np.all(att[..., np.triu_indices(T, k=1)[0], np.triu_indices(T, k=1)[1]] == 0)
    assert np.all(att[..., 0, 0] == 1.0)                        # the first position sees only itself


def test_attention_matches_a_slow_loop(model):
    tokens = insight.context_tokens(VOCAB, "eve", CFG.block_size)
    att = insight.attention_maps(model, tokens)
    # layer 0 by hand: embed, normalise, project, one softmax per (head, query) row
    P, C, H = model.params, CFG.n_embd, CFG.n_head
    D = C // H
    x = P["wte"][tokens] + P["wpe"][:len(tokens)]
    xn = x / np.sqrt((x * x).mean(axis=1, keepdims=True) + 1e-5)
    q, k = xn @ P["l0.wq"].T, xn @ P["l0.wk"].T
    for h in range(H):
        for i in range(len(tokens)):
            s = np.array([q[i, h * D:(h + 1) * D] @ k[j, h * D:(h + 1) * D] / np.sqrt(D) for j in range(i + 1)])
            w = np.exp(s - s.max())
            np.testing.assert_allclose(att[0, h, i, :i + 1], w / w.sum(), atol=1e-10)


def test_pca_shape_and_matches_covariance_eigenvectors(model):
    wte = model.params["wte"]
    coords, share = insight.embedding_pca(wte)
    assert coords.shape == (VOCAB.size, 2) and share.shape == (2,)
    x = wte - wte.mean(axis=0)
    evals, evecs = np.linalg.eigh(np.cov(x, rowvar=False))      # ascending
    top = evecs[:, ::-1][:, :2]
    ref = x @ top
    for a in range(2):                                          # equal up to each axis' sign
        sign = np.sign(ref[:, a] @ coords[:, a])
        np.testing.assert_allclose(coords[:, a], sign * ref[:, a], atol=1e-10)
    np.testing.assert_allclose(share, evals[::-1][:2] / evals.sum(), atol=1e-10)
    assert share[0] >= share[1] > 0


def test_pca_sign_is_stable():
    wte = np.random.default_rng(1).normal(size=(28, 16))
    a, _ = insight.embedding_pca(wte)
    b, _ = insight.embedding_pca(-wte)                          # same geometry, flipped
    np.testing.assert_allclose(a, b, atol=1e-10)
    assert all(a[np.argmax(np.abs(a[:, i])), i] > 0 for i in range(2))


def test_forward_source_is_the_installed_code():
    parts = insight.forward_source()
    names = [p["name"] for p in parts]
    assert names[0] == "GPT.forward" and "attention_forward" in names
    first = parts[0]
    import re
    called = set(re.findall(r"\b(\w+_forward)\(", first["source"])) - {"forward"}
    assert called and called <= set(names), (called, names)         # every layer forward it calls
    assert "softmax_last" in names and "causal_bias" in names       # and what attention calls
    files = {p["name"]: p["file"] for p in parts}
    assert files["causal_bias"] == "zcgpt/kernels.py" and files["block_forward"] == "zcgpt/model.py"
    assert len(names) == len(set(names))
    assert first["source"].startswith("def forward(self, idx, drop=None):")
    assert "block_forward(" in first["source"] and "attention_forward" in first["source"]
    assert "block_forward" in names and "rmsnorm_forward" in names
    assert first["file"] == "zcgpt/model.py" and first["line"] > 1
    import zcgpt.model
    text = open(zcgpt.model.__file__, encoding="utf-8").read().splitlines()
    att = next(p for p in parts if p["name"] == "attention_forward")
    assert text[att["line"] - 1] == att["source"].splitlines()[0]
