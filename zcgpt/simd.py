"""The tab's SIMD kernel: kernels/gemm.c's products and kernels/layers.c's whole layers, run on
numpy's arrays in place.

Pyodide's numpy has no BLAS and no SIMD, and each of its calls costs microseconds before it
computes. The build compiles both C files into one small wasm module (kernels/gemm.wasm) that
the page hands each worker; `install` instantiates it against Pyodide's own WebAssembly.Memory,
so the kernel reads numpy's arrays where they are, by address, and writes fresh output arrays;
then it hands the kernel to kernels.use_gemm. Gemm runs the two weight products: every sum in
the order of k (see gemm.c), equal to a sequential loop in numpy and a few last bits away from
numpy's own products. Layers runs attention and RMSNorm, forward and backward, and the loss
with its gradient, one call each where numpy makes ten to twenty; model.py hands them over
(kernels.fused_layers). Every sum in the kernel runs in a fixed order: the same bits in every
worker and every browser with SIMD.

Before each call the arrays are checked here: dtype, shapes, strides, and that the kernel's
indices and addresses fit, so it reads only their elements and writes only its outputs. Where
WebAssembly has no SIMD, or Pyodide's memory cannot be found, nothing is installed and numpy
computes as before. The desktop never installs it (its numpy has BLAS); tests/test_kernels.py
runs the products' Python side on CPython with a stand-in kernel, tests/test_simd.py the real
module in Pyodide under node.
"""

import math
from typing import NamedTuple

import numpy as np

ENGINE = "simd"
WASM_FILE = "gemm.wasm"   # where the page's config puts kernels/gemm.wasm in the worker's files
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
ITEMSIZES = {d.str: d.itemsize for d in DTYPES}   # "<f4": 4, "<f8": 8 (wasm is little-endian)
ADDRESS_LIMIT = 2 ** 32   # wasm32 addresses
INDEX_LIMIT = 2 ** 31     # the kernel's indices are C ints
LAYER_FUNCTIONS = ("attention_forward", "attention_backward", "rmsnorm_forward", "rmsnorm_backward",
                   "cross_entropy")


def address(a):
    """The address of a's first element in Pyodide's memory."""
    return a.__array_interface__["data"][0]


def element_strides(interface, size):
    """A matrix's strides in elements, from its __array_interface__ (None there: C order).
    Refuses strides the kernel cannot take: negative, or not whole elements. An axis of length 1
    is never stepped along: its stride is 0."""
    (rows, cols), strides = interface["shape"], interface["strides"]
    if strides is None:
        return (cols if rows > 1 else 0), (1 if cols > 1 else 0)
    if any(n > 1 and (s < 0 or s % size) for n, s in zip((rows, cols), strides)):
        raise ValueError(f"the SIMD kernel needs strides of whole elements, not negative, not {strides}")
    return tuple(s // size if n > 1 else 0 for n, s in zip((rows, cols), strides))


def check_reach(at, last, size, address_limit=ADDRESS_LIMIT):
    """Refuse a call in which the kernel would reach element `last` (of `size` bytes) from
    address `at`: past its int indices or wasm32's addresses -> the end of the bytes it touches."""
    end = at + (last + 1) * size
    if not 0 <= last < INDEX_LIMIT or end > address_limit:
        raise ValueError(f"the kernel would reach element {last} from address {at}")
    return end


class Gemm:
    """The kernel's products, called with numpy arrays. `functions` maps each dtype of DTYPES
    to the kernel's function for it (gemm_f32, gemm_f64); addresses must stay under
    `address_limit` (wasm32's in the tab).

    Before each call: both operands matrices of one float dtype, shapes that fit, B's rows
    contiguous, strides of whole elements, and the last element the kernel will touch in each
    array within its int indices and wasm32's memory. The kernel walks A and B by their own
    shapes and strides and writes a new array, so it touches only their elements. Each array's
    facts come from one look at its __array_interface__ (numpy's attributes cost a lookup
    each): a step makes hundreds of calls, and checking is most of a small one's time."""

    engine = ENGINE

    def __init__(self, functions, address_limit=ADDRESS_LIMIT, layers=None):
        self.functions = {np.dtype(d).str: fn for d, fn in dict(functions).items()}
        self.address_limit = address_limit
        self.layers = layers     # the same module's whole layers (a Layers), or None

    def _function(self, ia, ib, a, b):
        fn = self.functions.get(ia["typestr"])
        if fn is None or ib["typestr"] != ia["typestr"]:
            raise TypeError(f"the SIMD kernel multiplies float32 or float64 pairs, not {a.dtype} by {b.dtype}")
        return fn, ITEMSIZES[ia["typestr"]]

    def product(self, a, b, a_transposed=False):
        # a (M, K), or (K, M) read down its columns when a_transposed; b (K, N) -> new (M, N)
        ia, ib = a.__array_interface__, b.__array_interface__
        fn, size = self._function(ia, ib, a, b)
        if len(ia["shape"]) != 2 or len(ib["shape"]) != 2:
            raise ValueError(f"the SIMD kernel multiplies matrices, not shapes {a.shape} and {b.shape}")
        (r, c), (K, N) = ia["shape"], ib["shape"]
        s0, s1 = element_strides(ia, size)
        M, Ka, sam, sak = (c, r, s1, s0) if a_transposed else (r, c, s0, s1)
        if Ka != K:
            raise ValueError(f"shapes {a.shape}{'.T' if a_transposed else ''} and {b.shape} do not fit")
        sbk, sbn = element_strides(ib, size)
        if N > 1 and sbn != 1:           # a broadcast row (stride 0) is not contiguous either
            raise ValueError("the SIMD kernel needs B's rows contiguous")
        out = np.empty((M, N), dtype=a.dtype)
        if M == 0 or N == 0:
            return out
        if K == 0:
            out[...] = 0
            return out
        pa, pb, pc = ia["data"][0], ib["data"][0], address(out)
        limit = self.address_limit
        check_reach(pa, (M - 1) * sam + (K - 1) * sak, size, limit)
        check_reach(pb, (K - 1) * sbk + N - 1, size, limit)
        check_reach(pc, M * N - 1, size, limit)           # a new array: it overlaps nothing
        fn(M, N, K, pa, sam, sak, pb, sbk, pc)
        return out

    def dot_rows(self, a, b):
        # (N, K), (M, K) -> a @ b.T (N, M); b is a weight, so a contiguous b.T is a small copy
        return self.product(a, np.ascontiguousarray(b.T))

    def transposed_product(self, a, b):
        # (N, I), (N, J) -> a.T @ b (I, J); a is read down its columns as it lies
        return self.product(a, np.ascontiguousarray(b), a_transposed=True)


def head_size(qkv_shape, B, T, H):
    """D, where q, k and v of qkv_shape (B*T, 3C) are B x T rows of H heads of D; else ValueError."""
    N, C3 = qkv_shape
    if min(B, T, H, C3) < 1 or N != B * T or C3 % (3 * H):
        raise ValueError(f"q, k and v of shape {qkv_shape} are not {B}x{T} rows of {H} heads")
    return C3 // 3 // H


class AttentionCache(NamedTuple):
    """What Layers.attention_backward needs of a forward pass (model.AttentionCache's part in the
    tab): the input as it was, and the softmax weights insight.py reads."""
    qkv: np.ndarray     # (B*T, 3C)
    att: np.ndarray     # (B, H, T, T)
    shape: tuple        # (B, T, H)


class CrossEntropyCache(NamedTuple):
    """What Layers.cross_entropy_backward returns: the gradient, computed with the loss."""
    dlogits: np.ndarray     # (N, V)


class Layers:
    """The kernel's whole layers (kernels/layers.c): causal self-attention and RMSNorm, forward
    and backward, and the loss with its gradient, one call each where numpy makes ten to twenty
    small ones. model.py hands a layer over when kernels.fused_layers() has one; the maths is
    model.py's. `functions` maps each dtype of DTYPES to {name: the kernel's function for it}.

    Before each call: every float array of one dtype, the shapes the layer takes, and every
    array's last element within the kernel's int indices and wasm32's memory; the kernel itself
    refuses a target outside the vocabulary. An input that is not C-contiguous is copied first
    (the kernel reads rows as they lie in memory); outputs are new arrays, so the kernel writes
    nothing else. Each array is looked at once (its __array_interface__): in Pyodide every
    lookup costs a microsecond or two, and a step makes a hundred of these calls."""

    def __init__(self, functions, address_limit=ADDRESS_LIMIT):
        self.functions = {np.dtype(d).str: dict(fns) for d, fns in dict(functions).items()}
        self.address_limit = address_limit

    def _targets(self, targets):
        """Token ids as the kernel reads them (contiguous little-endian int64) and their address."""
        if targets.dtype.kind not in "iu":       # numpy would not index with 2.7; nor does the kernel
            raise TypeError(f"the loss's targets are token ids, not {targets.dtype}")
        t = np.ascontiguousarray(targets, dtype="<i8")
        at = t.__array_interface__["data"][0]
        check_reach(at, t.size - 1, 8, self.address_limit)
        return t, at

    def _inputs(self, name, arrays, counts):
        """-> (the kernel's `name` for the arrays' dtype, [array, address, array, address, ...]),
        each array C-contiguous (a copy where it was not) and holding its count of elements."""
        out, typestr = [], None
        for a, count in zip(arrays, counts):
            ia = a.__array_interface__
            if ia["strides"] is not None:          # None: C-contiguous
                a = np.ascontiguousarray(a)
                ia = a.__array_interface__
            typestr = typestr or ia["typestr"]
            if ia["typestr"] != typestr or typestr not in self.functions:
                raise TypeError(f"the SIMD kernel's layers take float32 or float64 arrays of one dtype,"
                                f" not {typestr} with {a.dtype}")
            if a.size != count:
                raise ValueError(f"the SIMD kernel's {name} expected {count} elements, not shape {a.shape}")
            at = ia["data"][0]
            check_reach(at, count - 1, ITEMSIZES[typestr], self.address_limit)
            out += [a, at]
        return self.functions[typestr][name], out

    def _output(self, shape, dtype):
        """A new array and its address."""
        a = np.empty(shape, dtype=dtype)
        at = a.__array_interface__["data"][0]
        check_reach(at, max(a.size, 1) - 1, a.itemsize, self.address_limit)
        return a, at

    def attention_forward(self, qkv, B, T, H):
        # (B*T, 3C) -> y (B*T, C), AttentionCache: causal multi-head self-attention
        N, C3 = qkv.shape
        D = head_size(qkv.shape, B, T, H)
        fn, (qkv, p_qkv) = self._inputs("attention_forward", [qkv], [N * C3])
        att, p_att = self._output((B, H, T, T), qkv.dtype)
        y, p_y = self._output((N, H * D), qkv.dtype)
        fn(B, T, H, D, 1.0 / math.sqrt(D), p_qkv, p_att, p_y)
        return y, AttentionCache(qkv, att, (B, T, H))

    def attention_backward(self, dy, cache):
        # (B*T, C) -> dqkv (B*T, 3C)
        if not isinstance(cache, AttentionCache):
            raise TypeError("the SIMD kernel's attention goes back only from its own forward pass")
        (B, T, H), (N, C3) = cache.shape, cache.qkv.shape
        D = head_size(cache.qkv.shape, B, T, H)               # the kernel walks B, T, H
        if cache.att.shape != (B, H, T, T):
            raise ValueError(f"an attention cache whose parts disagree: {B}x{T} rows of {H} heads,"
                             f" weights {cache.att.shape}")
        fn, (dy, p_dy, _, p_qkv, _, p_att) = self._inputs(
            "attention_backward", [dy, cache.qkv, cache.att], [N * H * D, N * C3, B * H * T * T])
        ds, p_ds = self._output(T, dy.dtype)                  # the kernel's scratch row
        dqkv, p_dqkv = self._output((N, C3), dy.dtype)
        fn(B, T, H, D, 1.0 / math.sqrt(D), p_qkv, p_att, p_dy, p_ds, p_dqkv)
        return dqkv

    def rmsnorm_forward(self, x, eps):
        # (..., C) -> y (..., C), rstd (..., 1)
        C = x.shape[-1]
        N = x.size // C if C else 0
        if N == 0:
            return np.empty_like(x), np.empty(x.shape[:-1] + (1,), dtype=x.dtype)
        fn, (x, p_x) = self._inputs("rmsnorm_forward", [x], [N * C])
        y, p_y = self._output(x.shape, x.dtype)
        rstd, p_r = self._output(x.shape[:-1] + (1,), x.dtype)
        fn(N, C, eps, p_x, p_y, p_r)
        return y, rstd

    def rmsnorm_backward(self, dy, y, rstd):
        # (..., C), (..., C), (..., 1) -> dx (..., C)
        if y.shape != dy.shape or rstd.shape != dy.shape[:-1] + (1,):
            raise ValueError(f"RMSNorm's backward got shapes {dy.shape}, {y.shape}, {rstd.shape}")
        C = dy.shape[-1]
        N = dy.size // C if C else 0
        if N == 0:
            return np.empty_like(dy)
        fn, (dy, p_dy, _, p_y, _, p_r) = self._inputs("rmsnorm_backward", [dy, y, rstd], [N * C, N * C, N])
        dx, p_dx = self._output(dy.shape, dy.dtype)
        fn(N, C, p_dy, p_y, p_r, p_dx)
        return dx

    def cross_entropy(self, logits, targets, weights):
        # (N, V), (N,) ids, (N,) weights -> (the weighted sum of -log p, CrossEntropyCache)
        N, V = logits.shape
        if targets.shape != (N,) or weights.shape != (N,) or N == 0 or V == 0:
            raise ValueError(f"the loss got logits {logits.shape}, targets {targets.shape}, weights {weights.shape}")
        fn, (logits, p_l, _, p_w) = self._inputs("cross_entropy", [logits, weights], [N * V, N])
        targets, p_t = self._targets(targets)
        dlogits, p_g = self._output((N, V), logits.dtype)
        loss, p_loss = self._output(1, logits.dtype)
        if fn(N, V, p_l, p_t, p_w, p_g, p_loss) != 0:
            raise ValueError(f"a target is outside the vocabulary of {V}")
        return float(loss[0]), CrossEntropyCache(dlogits)

    def cross_entropy_backward(self, cache):
        # -> dlogits (N, V), computed with the loss
        if not isinstance(cache, CrossEntropyCache):
            raise TypeError("the SIMD kernel's loss goes back only from its own forward pass")
        return cache.dlogits


def sequential_product(a, b):
    """a (M, K) @ b (K, N) summed over k in turn, in numpy: the kernel's bits exactly."""
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for k in range(a.shape[1]):
        out = out + a[:, k:k + 1] * b[k:k + 1, :]
    return out


def self_check(gemm):
    """Whether `gemm` gives the sequential sums' bits on odd shapes, both ways round and in
    both dtypes (it would not if its memory were not numpy's)."""
    for dtype in DTYPES:
        a = (np.arange(35, dtype=dtype).reshape(7, 5) % 11 - 5) / dtype.type(3)
        b = (np.arange(45, dtype=dtype).reshape(5, 9) % 7 - 3) / dtype.type(7)
        want = sequential_product(a, b)
        if not (np.array_equal(gemm.product(a, b), want)
                and np.array_equal(gemm.product(np.ascontiguousarray(a.T), b, a_transposed=True), want)):
            return False
    return True


def pyodide_memory():
    """Pyodide's own WebAssembly.Memory, where numpy's arrays live. Pyodide 0.27 does not hand
    it out, but its dynamic linker keeps the main module's imports, memory among them, as the
    "__main__" library; the same Memory backs Pyodide's HEAP8 view."""
    import js
    import pyodide_js
    module = pyodide_js._module
    memory = js.Reflect.get(module.LDSO.loadedLibsByName, "__main__").exports.memory
    if not js.Object.is_(memory.buffer, module.HEAP8.buffer):
        raise LookupError("the memory found is not the one numpy's arrays live in")
    return memory


def load(wasm):
    """(a Gemm running `wasm`, the kernel module's bytes, on Pyodide's memory, None), or
    (None, why not)."""
    try:
        import js
        from pyodide.ffi import to_js
    except ImportError:
        return None, "this Python has no WebAssembly"
    try:
        code = to_js(wasm)
        if not js.WebAssembly.validate(code):
            return None, "this browser's WebAssembly has no SIMD"
        memory = pyodide_memory()
        env = js.Object.fromEntries(to_js({"memory": memory}))
        imports = js.Object.fromEntries(to_js({"env": env}))
        exports = js.WebAssembly.Instance.new(js.WebAssembly.Module.new(code), imports).exports
        precisions = {DTYPES[0]: "f32", DTYPES[1]: "f64"}
        layers = Layers({d: {name: getattr(exports, f"{name}_{p}") for name in LAYER_FUNCTIONS}
                         for d, p in precisions.items()})
        gemm = Gemm({d: getattr(exports, f"gemm_{p}") for d, p in precisions.items()}, layers=layers)
    except Exception as exc:   # no memory found, a module that does not link: numpy it is
        return None, f"the SIMD kernel could not start ({type(exc).__name__}: {exc})"
    if not self_check(gemm):
        return None, "the SIMD kernel failed its self-check"
    return gemm, None


def install(path=WASM_FILE):
    """Load the kernel from `path` and route kernels' products through it -> (the Gemm, None),
    or (None, why not) and numpy computes. A worker calls this once, before any model exists."""
    from . import kernels
    try:
        with open(path, "rb") as f:
            gemm, why = load(f.read())
    except OSError:
        gemm, why = None, "the page has no SIMD kernel"
    kernels.use_gemm(gemm)
    return gemm, why
