"""Speed helpers for the layers in model.py: each computes what its name says, fast on small shapes.

numpy reduces a short last axis slowly (it vectorises along the contiguous axis), while a
matmul with a column of ones runs at BLAS speed; so sums and means over the last axis are
matmuls here, and the constant vectors, identities and masks they need are built once and kept.
Pure numpy, no I/O: the same file runs in the browser tab (Pyodide) and on the desktop. In the
tab, the worker may hand use_gemm a SIMD kernel (zcgpt/simd.py) for the two weight products,
which may also compute whole layers (fused_layers).
"""

import sys

import numpy as np

# Pyodide's numpy (the browser tab) has no BLAS: there a few products take another route.
NO_BLAS = sys.platform == "emscripten"

# Without BLAS, matmul's innermost loop runs along a row of the output, one multiply-add at a
# time through generic strides, while einsum over contiguous operands runs an unrolled innermost
# loop along the axis the operands' layout puts last: einsum is the faster of the two once that
# loop is longer than this (the crossover measured in Pyodide, for the summed axis as for the
# output's).
LONG_LOOP = 32

_CONSTS = {}   # (kind, size, ..., dtype) -> a constant array, built on first use
_GEMM = None   # the tab's SIMD kernel (zcgpt.simd.Gemm) once the worker installs one


def use_gemm(gemm):
    """Run dot_rows and transposed_product on `gemm` (a zcgpt.simd.Gemm), and the layers of its
    `layers` if it has them, or on numpy again with None. Only the tab's workers call this, at
    start-up; the desktop never does."""
    global _GEMM
    _GEMM = gemm


def fused_layers():
    """The tab's kernel for whole layers (zcgpt.simd.Layers: attention, RMSNorm and the loss in
    one call each), or None: model.py computes them with numpy."""
    return getattr(_GEMM, "layers", None)


def engine():
    """What computes the products: "simd" (the tab's kernel) or "numpy"."""
    return "numpy" if _GEMM is None else _GEMM.engine


def _fill(n, value, dtype):
    # (n,) filled with value
    key = ("fill", n, value, np.dtype(dtype).str)
    if key not in _CONSTS:
        _CONSTS[key] = np.full(n, value, dtype=dtype)
    return _CONSTS[key]


def ones(n, dtype):
    # (n,) of ones
    return _fill(n, 1.0, dtype)


def eye(n, dtype):
    # (n, n) identity; its rows are one-hot vectors
    key = ("eye", n, np.dtype(dtype).str)
    if key not in _CONSTS:
        _CONSTS[key] = np.eye(n, dtype=dtype)
    return _CONSTS[key]


def causal_bias(T, dtype):
    # (T, T): 0 on and below the diagonal, -inf above
    key = ("causal", T, np.dtype(dtype).str)
    if key not in _CONSTS:
        _CONSTS[key] = np.triu(np.full((T, T), -np.inf, dtype=dtype), k=1)
    return _CONSTS[key]


def mean_last(a):
    # (..., K) -> (..., 1)
    K = a.shape[-1]
    return (a.reshape(-1, K) @ _fill(K, 1.0 / K, a.dtype)).reshape(a.shape[:-1] + (1,))


def sum_last(a):
    # (..., K) -> (..., 1)
    K = a.shape[-1]
    return (a.reshape(-1, K) @ ones(K, a.dtype)).reshape(a.shape[:-1] + (1,))


def softmax_last(z):
    """Softmax over the last axis -> (probs, log of each row's normaliser). One global max
    instead of a max per row (a per-row max over a short axis costs more than the rest of the
    softmax); a row so far below the global max that it underflows is redone with its own."""
    shift = z.max()
    if not np.isfinite(shift):         # diverged: a nan loss tells the trainer, which says so
        nan = np.full_like(z, np.nan)
        return nan, nan[..., :1]
    e = z - shift
    np.exp(e, out=e)
    sums = sum_last(e)                                         # (..., 1)
    if sums.min() < 1e-30:
        shift = z.max(axis=-1, keepdims=True)
        e = z - shift
        np.exp(e, out=e)
        sums = sum_last(e)
    e /= sums
    return e, shift + np.log(sums)


def dot_rows(a, b):
    # (N, K), (M, K) -> a @ b.T (N, M): every row of a dotted with every row of b
    if _GEMM is not None:
        return _GEMM.dot_rows(a, b)
    if not NO_BLAS:
        return a @ b.T
    K, M = a.shape[1], b.shape[0]
    if K > LONG_LOOP and K >= M:
        # innermost loop along K: the dot product of a row of a and a row of b
        return np.einsum("nk,mk->nm", np.ascontiguousarray(a), np.ascontiguousarray(b))
    if M > LONG_LOOP:
        # innermost loop along M: row k of b.T, times a[n, k], added to output row n
        return np.einsum("nk,km->nm", np.ascontiguousarray(a), np.ascontiguousarray(b.T))
    return a @ b.T


def transposed_product(a, b):
    # (N, I), (N, J) -> a.T @ b (I, J): a weight gradient, summed over the N rows
    if _GEMM is not None:
        return _GEMM.transposed_product(a, b)
    if NO_BLAS and a.shape[0] > LONG_LOOP:
        return np.einsum("in,jn->ij", np.ascontiguousarray(a.T), np.ascontiguousarray(b.T))
    return np.dot(a.T, b)   # BLAS takes the transposes as they are; copies would only cost
