"""Looking inside a trained GPT: next-letter probabilities, attention maps, embeddings, source.

Pure numpy like model.py (no I/O), and none of the model's math is repeated here: the
probabilities are GPT.forward's logits through the model's own softmax, the attention maps are
the softmax weights GPT.forward keeps in its cache for backward, and the source is read from
the installed package, so the page shows the code that actually runs.

Shape key: T positions of one sequence ([BOS] + letters), V vocabulary, C n_embd, H heads, L layers.
"""

import inspect
import re
import textwrap
from pathlib import PurePath

import numpy as np

from . import kernels
from .model import GPT, softmax_last

SOURCE_MODULES = (GPT.__module__, kernels.__name__)   # where the forward pass's source lives


def context_tokens(vocab, text, block_size):
    """[BOS] + the ids of text -> list of T ids; ValueError naming what does not fit."""
    unknown = vocab.unknown(text)
    if unknown:
        raise ValueError(f"not in the vocabulary: {''.join(unknown)}")
    if len(text) + 1 > block_size:
        raise ValueError(f"at most {block_size - 1} letters fit the model's {block_size} positions")
    return [vocab.BOS] + [vocab.stoi[ch] for ch in text]


def _forward_one(model, tokens):
    # (T,) ids -> logits (T, V), GPT.forward's ForwardCache
    return model.forward(np.asarray([tokens], dtype=np.int64))


def next_token_probs(model, tokens):
    """(T,) ids -> (T, V) float64: row t is p(next token | tokens[:t + 1])."""
    logits, _ = _forward_one(model, tokens)
    probs, _ = softmax_last(logits.astype(np.float64))
    return probs


def attention_maps(model, tokens):
    """(T,) ids -> (L, H, T, T) float64: att[l, h, i, j] = how much position i reads position j."""
    _, cache = _forward_one(model, tokens)
    # each block's AttentionCache holds att (1, H, T, T) for the one sequence
    return np.stack([block.attention.att[0] for block in cache.blocks]).astype(np.float64)


def embedding_pca(wte, k=2):
    """(V, C) token embeddings -> coords (V, k), share of variance of each axis (k,).

    Centred, then projected on the top right-singular vectors. Each axis is signed so that its
    largest coordinate is positive: the picture does not flip between two calls."""
    x = np.asarray(wte, dtype=np.float64)
    x = x - x.mean(axis=0)                                  # (V, C)
    _, s, vt = np.linalg.svd(x, full_matrices=False)        # s (min(V, C),), vt (., C)
    coords = x @ vt[:k].T                                   # (V, k)
    big = np.argmax(np.abs(coords), axis=0)
    coords *= np.where(coords[big, np.arange(coords.shape[1])] < 0, -1.0, 1.0)
    var = s * s
    share = var[:k] / var.sum() if var.sum() > 0 else np.zeros(min(k, len(var)))
    return coords, share


def forward_parts(root=GPT.forward):
    """root and the functions of model.py and kernels.py it names, depth first in the order
    they first appear in the code.

    Found from the code objects rather than listed by hand, so the panel keeps up with model.py;
    small private helpers (_name) are left out."""
    seen, order = set(), []

    def visit(fn):
        seen.add(fn)
        order.append(fn)
        src = inspect.getsource(fn)
        glob = fn.__globals__
        called = {glob[n] for n in fn.__code__.co_names
                  if not n.startswith("_") and inspect.isfunction(glob.get(n))
                  and glob[n].__module__ in SOURCE_MODULES}
        first = lambda f: re.search(rf"\b{f.__name__}\b", src).start()
        for callee in sorted(called, key=first):
            if callee not in seen:
                visit(callee)

    visit(root)
    return order


def forward_source():
    """[{name, file, line, source}] of each part of the forward pass, from the installed package."""
    parts = []
    for fn in forward_parts():
        lines, first = inspect.getsourcelines(fn)
        parts.append({"name": fn.__qualname__, "file": "zcgpt/" + PurePath(inspect.getfile(fn)).name,
                      "line": first, "source": textwrap.dedent("".join(lines)).rstrip()})
    return parts


def write_steps(model, vocab, rng, upto, temperature=1.0, top_k=0, prefix=""):
    """One name written a letter at a time, as `generate` writes it for n=1 and the same
    generator: the first `upto` positions it samples. Returns the letters drawn (EOS as ""),
    the probabilities each draw used ((steps, V) float64), and the attention of the last
    drawn position's input at every layer and head ((L, H, T) float64)."""
    from .sample import sample_steps     # sample imports nothing from here; keeps the import light
    probs, drawn = [], []
    for p, tok in sample_steps(model, vocab, 1, rng, temperature, top_k, prefix):
        if len(drawn) == upto:
            break
        probs.append(p[0])
        drawn.append(int(tok[0]))
    letters = [("" if t == vocab.EOS else vocab.itos[t]) for t in drawn]
    context = [vocab.BOS] + [vocab.stoi[ch] for ch in prefix + "".join(letters[:-1])]
    att = attention_maps(model, context)[:, :, -1, :] if drawn else np.zeros((0, 0, 0))
    return letters, np.array(probs), att
