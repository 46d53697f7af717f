"""The GPT: forward and analytic backward in plain numpy, layer by layer.

Shape key: B batch (names), T positions, C n_embd, H heads, D head size (C // H),
F MLP width (mlp_ratio * C), V vocabulary, N = B * T rows.

Departures from GPT-2, all zeroclaw's (zeroclawgpt, the Rust original, after Karpathy's
microgpt): RMSNorm without weights instead of LayerNorm, no biases, squared ReLU in the MLP,
lm_head tied to wte, no norm after the embedding or before lm_head (the latter optional here),
output projections (wo, fc2) start at zero. Departures from zeroclaw: batches of names padded to
a common length (a mask keeps padding out of the loss and so out of every gradient), more than
one layer, a choice of activation, optional dropout (GPT-2's on the embedding and on each
branch before it joins the residual stream; none on the attention weights), and one flat
parameter vector so the optimizer is a few array ops.

Weights are stored (out, in) like zeroclaw's, so a linear layer is x @ W.T. Scalars are plain
Python floats: a numpy float64 scalar would silently promote a float32 model to float64.
Padding sits after each name's last token; causal attention never lets a real position see
it, so only the loss mask is needed to make padding invisible. The sums, means and constant
arrays the layers need come from kernels.py.
"""

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from .kernels import (causal_bias, dot_rows, eye, fused_layers, mean_last, ones, softmax_last,
                      sum_last, transposed_product)
from .prng import Rng

RMS_EPS = 1e-5
GELU_K = math.sqrt(2.0 / math.pi)


# --- layers: each forward returns (out, cache); its backward sits right below it ---------

def embedding_forward(wte, wpe, idx):
    # (V, C), (T_max, C), (B, T) -> (B, T, C)
    T = idx.shape[1]
    return wte[idx] + wpe[:T]


def embedding_backward(dx, idx, dwte, dwpe):
    # (B, T, C) -> accumulates into dwte (V, C) and dwpe (T_max, C)
    B, T, C = dx.shape
    onehot = eye(dwte.shape[0], dx.dtype)[idx.ravel()]                 # (N, V)
    dwte += transposed_product(onehot, dx.reshape(B * T, C))   # a matmul, not the slow np.add.at
    dwpe[:T] += (ones(B, dx.dtype) @ dx.reshape(B, T * C)).reshape(T, C)


class NormCache(NamedTuple):
    y: np.ndarray       # (..., C) the normalised output
    rstd: np.ndarray    # (..., 1) 1 / root mean square of the input


def rmsnorm_forward(x):
    # (..., C) -> (..., C); no learned scale
    if (fused := fused_layers()) is not None:    # the tab's SIMD kernel: the same in one call
        y, rstd = fused.rmsnorm_forward(x, RMS_EPS)
        return y, NormCache(y, rstd)
    rstd = (mean_last(x * x) + RMS_EPS) ** -0.5                       # (..., 1)
    y = x * rstd
    return y, NormCache(y, rstd)


def rmsnorm_backward(dy, cache):
    # (..., C) -> (..., C)
    y, rstd = cache.y, cache.rstd
    if (fused := fused_layers()) is not None:
        return fused.rmsnorm_backward(dy, y, rstd)
    return rstd * (dy - y * mean_last(dy * y))


def linear_forward(x, w):
    # (N, in), (out, in) -> (N, out)
    return dot_rows(x, w), x


def linear_backward(dy, x, w, dw):
    # (N, out) -> dx (N, in); accumulates dw (out, in)
    dw += transposed_product(dy, x)
    return dot_rows(dy, w.T)                                   # dy @ w


class AttentionCache(NamedTuple):
    q: np.ndarray       # (B, H, T, D)
    k: np.ndarray       # (B, H, T, D)
    v: np.ndarray       # (B, H, T, D)
    att: np.ndarray     # (B, H, T, T) softmax weights: att[b, h, i, j] = how much i reads j


def attention_forward(qkv, B, T, H):
    # (N, 3C) -> (N, C): causal multi-head self-attention
    if (fused := fused_layers()) is not None:    # the tab's SIMD kernel: the same in one call
        return fused.attention_forward(qkv, B, T, H)
    C = qkv.shape[1] // 3
    D = C // H
    qkv = qkv.reshape(B, T, 3, H, D).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D)
    q, k, v = qkv[0], qkv[1], qkv[2]
    att = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(D))   # (B, H, T, T)
    att += causal_bias(T, att.dtype)
    att, _ = softmax_last(att)
    y = np.empty((B, T, H, D), dtype=att.dtype)
    np.matmul(att, v, out=y.transpose(0, 2, 1, 3))             # (B, H, T, D) written as (B, T, H, D)
    return y.reshape(B * T, C), AttentionCache(q, k, v, att)


def attention_backward(dy, cache):
    # (N, C) -> dqkv (N, 3C)
    if (fused := fused_layers()) is not None:
        return fused.attention_backward(dy, cache)
    q, k, v, att = cache.q, cache.k, cache.v, cache.att
    B, H, T, D = q.shape
    dy = dy.reshape(B, T, H, D).transpose(0, 2, 1, 3)         # (B, H, T, D)
    datt = dy @ v.transpose(0, 1, 3, 2)                        # (B, H, T, T)
    # softmax backward; masked entries have att == 0 so they get no gradient
    datt = att * (datt - sum_last(datt * att))
    datt *= 1.0 / math.sqrt(D)
    dqkv = np.empty((B, T, 3, H, D), dtype=att.dtype)
    heads = lambda i: dqkv[:, :, i].transpose(0, 2, 1, 3)      # (B, H, T, D) view of part i
    np.matmul(datt, k, out=heads(0))                           # dq
    np.matmul(datt.transpose(0, 1, 3, 2), q, out=heads(1))     # dk
    np.matmul(att.transpose(0, 1, 3, 2), dy, out=heads(2))     # dv
    return dqkv.reshape(B * T, 3 * H * D)


def attention_step(qkv, keys, values, H):
    # (B, 3C) at one new position -> (B, C). Sampling's attention_forward: it appends this
    # position's k and v (B, H, D) to keys and values (a KV cache) and reads all of them.
    # No backward and no cache: nothing trains on it.
    B, C = qkv.shape[0], qkv.shape[1] // 3
    D = C // H
    q, k, v = np.split(qkv, 3, axis=1)                                  # (B, C) each
    keys.append(k.reshape(B, H, D))
    values.append(v.reshape(B, H, D))
    K = np.stack(keys, axis=2)                                          # (B, H, t+1, D)
    V = np.stack(values, axis=2)
    att = np.einsum("bhd,bhsd->bhs", q.reshape(B, H, D), K) * (1.0 / math.sqrt(D))
    att -= att.max(axis=-1, keepdims=True)
    att = np.exp(att)
    att /= att.sum(axis=-1, keepdims=True)                              # (B, H, t+1)
    y = np.einsum("bhs,bhsd->bhd", att, V).reshape(B, C)
    return y, None


def act_forward(h, kind):
    # (N, F) -> (N, F)
    if kind == "relu2":
        r = np.maximum(h, 0)
        return r * r, r
    if kind == "relu":
        return np.maximum(h, 0), h
    t = np.tanh(GELU_K * (h + 0.044715 * h ** 3))
    return 0.5 * h * (1 + t), (h, t)


def act_backward(da, cache, kind):
    # (N, F) -> (N, F)
    if kind == "relu2":
        return da * (2 * cache)
    if kind == "relu":
        return da * (cache > 0)
    h, t = cache
    dt = GELU_K * (1 + 3 * 0.044715 * h * h) * (1 - t * t)
    return da * (0.5 * (1 + t) + 0.5 * h * dt)


def dropout_masks(p, drop, shape, dtype):
    # -> shape (K, N, C): K masks, each entry 0 with probability p and 1 / (1 - p) otherwise (the
    # expected value is unchanged), from the shard's prng.Lanes `drop`; K Nones without dropout.
    # One draw for the whole forward pass: many small ones would each pay numpy's overhead.
    if drop is None or p == 0:
        return [None] * shape[0]
    cut = np.uint32(min(round(p * 2 ** 32), 2 ** 32 - 1))
    mask = (drop.u32_array(math.prod(shape)).reshape(shape) >= cut).astype(dtype)
    mask *= 1.0 / (1.0 - p)
    return mask


def dropout_forward(x, mask):
    # (N, C), (N, C) or None -> (N, C)
    return x if mask is None else x * mask


def dropout_backward(dout, mask):
    # (N, C) -> (N, C)
    return dout if mask is None else dout * mask


def cross_entropy_forward(logits, targets, weights):
    # (N, V), (N,), (N,) weights = mask / n_predicted -> scalar mean NLL
    if (fused := fused_layers()) is not None:    # the tab's SIMD kernel: loss and gradient in one call
        return fused.cross_entropy(logits, targets, weights)
    probs, log_norm = softmax_last(logits)                     # (N, V), (N, 1)
    rows = np.arange(len(targets))
    nll = log_norm[:, 0] - logits[rows, targets]               # -log p, exact even where p underflows
    return float(nll @ weights), (probs, rows)


def cross_entropy_backward(targets, weights, cache):
    # -> dlogits (N, V)
    if (fused := fused_layers()) is not None:
        return fused.cross_entropy_backward(cache)
    probs, rows = cache
    dlogits = probs                                            # reuses the buffer
    dlogits[rows, targets] -= 1
    dlogits *= weights[:, None]
    return dlogits


# --- one transformer block: the layers above, composed --------------------------------------

class BlockParams(NamedTuple):
    """One block's weights, or their gradients: views into the model's flat vector."""
    qkv: np.ndarray     # (3C, C): wq, wk, wv, adjacent in the flat vector
    wo: np.ndarray      # (C, C)
    fc1: np.ndarray     # (F, C)
    fc2: np.ndarray     # (C, F)


class BlockCache(NamedTuple):
    xn: np.ndarray      # (N, C) input of the q, k, v projection
    norm1: NormCache
    attention: Any      # AttentionCache (None from attention_step)
    y: np.ndarray       # (N, C) attention output, input of wo
    xn2: np.ndarray     # (N, C) input of fc1
    norm2: NormCache
    act: Any            # act_forward's cache
    a: np.ndarray       # (N, F) activation, input of fc2
    drop1: Any          # (N, C) dropout mask of the attention branch, None without dropout
    drop2: Any          # (N, C) dropout mask of the MLP branch


def block_forward(x, w, attend, activation, masks=(None, None)):
    # (N, C) -> (N, C): attention, then the MLP, each on a normalised copy added to the stream.
    # attend: (N, 3C) q, k, v -> (N, C), cache; attention_forward in training,
    # attention_step with a KV cache when sampling. masks: the dropout masks (N, C) of the two
    # branches' outputs before they join the stream (GPT-2's residual dropout), or Nones.
    xn, c_n1 = rmsnorm_forward(x)
    qkv, _ = linear_forward(xn, w.qkv)                                 # (N, 3C)
    y, c_att = attend(qkv)                                             # (N, C)
    x = x + dropout_forward(dot_rows(y, w.wo), masks[0])
    xn2, c_n2 = rmsnorm_forward(x)
    h, _ = linear_forward(xn2, w.fc1)                                  # (N, F)
    a, c_act = act_forward(h, activation)
    x = x + dropout_forward(dot_rows(a, w.fc2), masks[1])
    return x, BlockCache(xn, c_n1, c_att, y, xn2, c_n2, c_act, a, masks[0], masks[1])


def block_backward(dx, cache, w, dw, activation):
    # (N, C) -> (N, C); accumulates the block's weight gradients into dw (a BlockParams)
    c = cache
    da = linear_backward(dropout_backward(dx, c.drop2), c.a, w.fc2, dw.fc2)   # (N, F)
    dh = act_backward(da, c.act, activation)
    dxn2 = linear_backward(dh, c.xn2, w.fc1, dw.fc1)                   # (N, C)
    dx = dx + rmsnorm_backward(dxn2, c.norm2)
    dy = linear_backward(dropout_backward(dx, c.drop1), c.y, w.wo, dw.wo)     # (N, C)
    dqkv = attention_backward(dy, c.attention)                         # (N, 3C)
    dxn = linear_backward(dqkv, c.xn, w.qkv, dw.qkv)
    return dx + rmsnorm_backward(dxn, c.norm1)


# --- batches ---------------------------------------------------------------------------

def batch_arrays(rows, npred, dtype, total=None):
    """Token rows (B, >= T+1), padded after each name, and predicted positions per row (B,)
    -> inputs (B, T), targets (B, T), loss weights (B*T,): 1/total on each predicted position,
    0 on padding. total is npred.sum() (the weights sum to 1), or the token count of the whole
    batch these rows are a shard of (the shards' losses and gradients then add up to the batch's)."""
    T = int(npred.max())
    mask = (np.arange(T) < npred[:, None]).astype(dtype)     # (B, T)
    mask *= 1.0 / float(npred.sum() if total is None else total)
    return rows[:, :T], rows[:, 1:T + 1], mask.reshape(-1)


# --- the model ---------------------------------------------------------------------------

def param_shapes(config, vocab_size):
    """Every parameter's name and shape, in the order they are drawn and stored."""
    C, F = config.n_embd, config.mlp_ratio * config.n_embd
    shapes = [("wte", (vocab_size, C)), ("wpe", (config.block_size, C))]
    for l in range(config.n_layer):
        shapes += [(f"l{l}.wq", (C, C)), (f"l{l}.wk", (C, C)), (f"l{l}.wv", (C, C)),
                   (f"l{l}.wo", (C, C)), (f"l{l}.fc1", (F, C)), (f"l{l}.fc2", (C, F))]
    if not config.tied_head:
        shapes.append(("lm_head", (vocab_size, C)))
    return shapes


def param_count(config, vocab_size):
    return sum(math.prod(shape) for _, shape in param_shapes(config, vocab_size))


# The initial draw runs zeroclaw's generator in pure Python, one number at a time: this cap
# keeps building a model quick.
MAX_PARAMS = 5_000_000


class ForwardCache(NamedTuple):
    idx: np.ndarray     # (B, T) token ids
    x: np.ndarray       # (N, C) input of lm_head
    norm_f: Any         # NormCache of the final RMSNorm, None without one
    blocks: list        # a BlockCache per block
    drop: Any = None    # (N, C) dropout mask of the embedding, None without dropout


@dataclass
class KVCache:
    """Keys and values of every position decoded so far, for sampling one position at a time."""
    keys: list          # per block: a list of (B, H, D), one per position
    values: list        # the same for values
    pos: int = 0        # the position decode_step reads next


class GPT:
    """Parameters live in one flat vector; `params` maps names to live views of it.
    init=False leaves them at zero (for a checkpoint about to overwrite them)."""

    def __init__(self, config, vocab_size, seed=42, init=True):
        config.validate()
        self.config = config
        self.vocab_size = int(vocab_size)
        self.dtype = np.dtype(config.dtype)
        self.shapes = param_shapes(config, self.vocab_size)
        n = param_count(config, self.vocab_size)
        self.flat = np.zeros(n, dtype=self.dtype)
        self.grad_flat = np.zeros(n, dtype=self.dtype)
        self.offsets, off = {}, 0
        for name, shape in self.shapes:
            self.offsets[name] = off
            off += int(np.prod(shape))
        self.params = self._views(self.flat)
        self.grads = self._views(self.grad_flat)
        rng = Rng(seed)
        zero = ("wo", "fc2") if config.zero_init_out else ()
        for name, p in (self.params.items() if init else ()):
            draw = rng.gauss(p.size, config.init_std)             # drawn even when zeroed
            if name.split(".")[-1] not in zero:
                p[...] = draw.reshape(p.shape)
        self.blocks = [self._block(self.params, self.flat, l) for l in range(config.n_layer)]
        self.dblocks = [self._block(self.grads, self.grad_flat, l) for l in range(config.n_layer)]

    def _views(self, flat):
        return {name: flat[self.offsets[name]:self.offsets[name] + int(np.prod(shape))].reshape(shape)
                for name, shape in self.shapes}

    def _block(self, views, flat, layer):
        # q, k, v of a layer are adjacent in the flat vector: one (3C, C) view projects all three
        C = self.config.n_embd
        off = self.offsets[f"l{layer}.wq"]
        qkv = flat[off:off + 3 * C * C].reshape(3 * C, C)
        return BlockParams(qkv, views[f"l{layer}.wo"], views[f"l{layer}.fc1"], views[f"l{layer}.fc2"])

    def num_params(self):
        return int(self.flat.size)

    # --- batches ---------------------------------------------------------------------

    def encode_batch(self, batch):
        """Whole sequences ([BOS] ... [EOS]) -> inputs (B, T), targets (B, T), weights (B*T,)."""
        npred = np.array([len(s) - 1 for s in batch])
        if npred.min() < 1:
            raise ValueError("every sequence needs at least two tokens")
        if npred.max() > self.config.block_size:
            raise ValueError(f"a sequence of {npred.max() + 1} tokens does not fit block_size"
                             f" {self.config.block_size}")
        rows = np.zeros((len(batch), npred.max() + 1), dtype=np.int64)
        for i, s in enumerate(batch):
            rows[i, :len(s)] = s
        return batch_arrays(rows, npred, self.dtype)

    # --- forward and backward ------------------------------------------------------------

    def forward(self, idx, drop=None):
        """(B, T) token ids -> logits (B*T, V) and the ForwardCache backward needs. `drop`, a
        prng.Lanes, draws the dropout masks of a training step (None: no dropout, as in
        evaluation and sampling)."""
        cfg, P = self.config, self.params
        B, T = idx.shape
        x = embedding_forward(P["wte"], P["wpe"], idx).reshape(B * T, -1)   # (N, C)
        masks = dropout_masks(cfg.dropout, drop, (1 + 2 * cfg.n_layer,) + x.shape, x.dtype)
        x = dropout_forward(x, masks[0])
        attend = partial(attention_forward, B=B, T=T, H=cfg.n_head)         # (N, 3C) -> (N, C)
        caches = []
        for l, w in enumerate(self.blocks):
            x, c_block = block_forward(x, w, attend, cfg.activation, masks[1 + 2 * l:3 + 2 * l])  # (N, C)
            caches.append(c_block)
        c_f = None
        if cfg.final_norm:
            x, c_f = rmsnorm_forward(x)
        head = P["wte"] if cfg.tied_head else P["lm_head"]
        logits = dot_rows(x, head)                                          # (N, V)
        return logits, ForwardCache(idx, x, c_f, caches, masks[0])

    def backward(self, dlogits, cache):
        """Accumulates every parameter's gradient into self.grads."""
        cfg, P, G = self.config, self.params, self.grads
        head, dhead = (P["wte"], G["wte"]) if cfg.tied_head else (P["lm_head"], G["lm_head"])
        dx = linear_backward(dlogits, cache.x, head, dhead)                 # (N, C)
        if cfg.final_norm:
            dx = rmsnorm_backward(dx, cache.norm_f)
        for l in reversed(range(cfg.n_layer)):
            dx = block_backward(dx, cache.blocks[l], self.blocks[l], self.dblocks[l], cfg.activation)
        B, T = cache.idx.shape
        dx = dropout_backward(dx, cache.drop)
        embedding_backward(dx.reshape(B, T, -1), cache.idx, G["wte"], G["wpe"])

    def loss_arrays(self, inputs, targets, weights, grad=True, drop=None):
        """Loss of encoded arrays; with grad, fills self.grad_flat (zeroed first). `drop`: see
        forward."""
        logits, fcache = self.forward(inputs, drop)
        tflat = targets.reshape(-1)
        loss, ccache = cross_entropy_forward(logits, tflat, weights)
        if grad:
            self.grad_flat[...] = 0
            self.backward(cross_entropy_backward(tflat, weights, ccache), fcache)
        return loss

    def loss_and_grads(self, batch, drop=None):
        """batch: list of whole token sequences -> (mean NLL, {name: gradient copy})."""
        loss = self.loss_arrays(*self.encode_batch(batch), drop=drop)
        return loss, {k: g.copy() for k, g in self.grads.items()}

    def loss(self, batch, drop=None):
        return self.loss_arrays(*self.encode_batch(batch), grad=False, drop=drop)

    # --- incremental decoding with a KV cache ------------------------------------------

    def new_cache(self, B):
        """An empty KVCache for decoding B sequences side by side."""
        L = self.config.n_layer
        return KVCache([[] for _ in range(L)], [[] for _ in range(L)])

    def decode_step(self, tok, cache):
        """tok (B,) ids at the next position -> logits (B, V); appends keys/values to cache."""
        cfg, P = self.config, self.params
        x = P["wte"][tok] + P["wpe"][cache.pos]                             # (B, C)
        for l, w in enumerate(self.blocks):
            attend = partial(attention_step, keys=cache.keys[l], values=cache.values[l], H=cfg.n_head)
            x, _ = block_forward(x, w, attend, cfg.activation)              # (B, C)
        if cfg.final_norm:
            x, _ = rmsnorm_forward(x)
        cache.pos += 1
        return x @ (P["wte"] if cfg.tied_head else P["lm_head"]).T         # (B, V)
