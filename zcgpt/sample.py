"""Sampling names with a KV cache: many at once, with temperature, top-k and a prefix."""

import numpy as np

MAX_NAMES = 100_000            # names one call may ask for
TEMPERATURES = (1e-6, 1e6)     # beyond these, sampling is greedy or uniform already


class SamplingError(ValueError):
    """A sampling argument that does not fit: `arg` names it ("n", "temperature", "top_k",
    "prefix"); the CLI puts its flag in front of `detail`, the page its own words."""

    def __init__(self, arg, detail):
        super().__init__(f"{arg} {detail}")
        self.arg, self.detail = arg, detail


def check_sampling(vocab, block_size, n=1, temperature=1.0, top_k=0, prefix="", max_n=MAX_NAMES):
    """The one check of sampling arguments, used by the CLI and the page before generate."""
    if not 1 <= n <= max_n:
        raise SamplingError("n", f"must be between 1 and {max_n}, got {n}")
    lo, hi = TEMPERATURES
    if not lo <= temperature <= hi:
        raise SamplingError("temperature", f"must be between {lo:g} and {hi:g}, got {temperature}")
    if top_k < 0:
        raise SamplingError("top_k", f"must be 0 (off) or more, got {top_k}")
    unknown = vocab.unknown(prefix)
    if unknown:
        raise SamplingError("prefix", f"{prefix!r} has characters the model has never seen: "
                                      + " ".join(map(repr, unknown)))
    if len(prefix) + 1 > block_size:
        raise SamplingError("prefix", f"{prefix!r} is too long: the model sees {block_size} positions,"
                                      f" so a prefix has at most {block_size - 1} letters")


def prefix_tokens(vocab, prefix):
    unknown = sorted({ch for ch in prefix if ch not in vocab.stoi})
    if unknown:
        raise ValueError(f"prefix {prefix!r} has characters the model has never seen: "
                         f"{' '.join(map(repr, unknown))}")
    return [vocab.BOS] + [vocab.stoi[ch] for ch in prefix]


def generate(model, vocab, n, rng, temperature=1.0, top_k=0, prefix=""):
    """n names (strings, prefix included); each ends at EOS or when the block is full."""
    if n < 1:
        return []
    start = prefix_tokens(vocab, prefix)
    block = model.config.block_size
    out = np.full((n, block), vocab.EOS)                            # sampled ids, EOS-padded
    for t, (_, tok) in enumerate(sample_steps(model, vocab, n, rng, temperature, top_k, prefix)):
        out[:, t] = tok
    return [prefix + vocab.decode(row) for row in out[:, :block - len(start) + 1].tolist()]


def sample_steps(model, vocab, n, rng, temperature=1.0, top_k=0, prefix=""):
    """Draw n names side by side, one position at a time: yields (p, tok) per position, the
    (n, V) probabilities the draw used (after temperature and top-k) and the (n,) ids drawn
    (EOS for a name that has ended). Stops when every name has ended or the block is full."""
    if not temperature > 0:
        raise ValueError("temperature must be positive")
    block = model.config.block_size
    start = prefix_tokens(vocab, prefix)
    if len(start) > block:
        raise ValueError(f"prefix {prefix!r} leaves no room: the model sees {block} positions")
    cache = model.new_cache(n)
    for tok in start[:-1]:                                          # feed the prefix
        model.decode_step(np.full(n, tok), cache)
    tok = np.full(n, start[-1])
    alive = np.ones(n, dtype=bool)
    for _ in range(len(start) - 1, block):
        logits = model.decode_step(tok, cache).astype(np.float64) / temperature  # (n, V)
        logits[:, vocab.BOS] = -np.inf                              # a name never restarts
        if 0 < top_k < logits.shape[1]:
            kth = np.partition(logits, -top_k, axis=1)[:, -top_k][:, None]
            logits[logits < kth] = -np.inf
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        tok = rng.categorical_rows(p)
        tok[~alive] = vocab.EOS
        yield p / p.sum(axis=1, keepdims=True), tok
        alive &= tok != vocab.EOS
        if not alive.any():
            break


def novelty(names, train_set):
    """Share of names that are not in the training set (zeroclaw's were mostly memorised)."""
    if not names:
        return float("nan")
    return sum(name not in train_set for name in names) / len(names)
