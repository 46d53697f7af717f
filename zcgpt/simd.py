"""The tab's matrix products on WebAssembly SIMD: kernels/gemm.c, run on numpy's arrays in place.

Pyodide's numpy has no BLAS and no SIMD. The build compiles kernels/gemm.c to a small wasm
module (kernels/gemm.wasm) that the page hands each worker; `install` instantiates it against
Pyodide's own WebAssembly.Memory, so the kernel reads numpy's arrays where they are, by address,
and writes a fresh output array; then it hands the kernel to kernels.use_gemm. Every sum runs
in the order of k (see gemm.c): the same bits in every worker and every browser with SIMD, equal
to a sequential loop in numpy, and a few last bits away from numpy's own products. Attention's
batched products stay with numpy: on these shapes, a call's checks cost more than it saves.

Before each call the arrays are checked here: dtype, C-contiguity, shapes, and that every index
the kernel will read or write lies inside its array. Where WebAssembly has no SIMD, or
Pyodide's memory cannot be found, nothing is installed and numpy computes as before. The
desktop never installs it (its numpy has BLAS); tests/test_kernels.py runs the Python side on
CPython with a stand-in kernel, tests/test_simd.py the real one in Pyodide under node.
"""

import numpy as np

ENGINE = "simd"
WASM_FILE = "gemm.wasm"   # where the page's config puts kernels/gemm.wasm in the worker's files
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
ADDRESS_LIMIT = 2 ** 32   # wasm32 addresses
INDEX_LIMIT = 2 ** 31     # the kernel's indices are C ints


def address(a):
    """The address of a's first element in Pyodide's memory."""
    return a.__array_interface__["data"][0]


def check_reach(a, at, last_index, address_limit=ADDRESS_LIMIT):
    """Refuse a call in which the kernel would touch index `last_index` of `a` (at address
    `at`), or an index or address the kernel cannot hold."""
    if not 0 <= last_index < a.size < INDEX_LIMIT or at + a.nbytes > address_limit:
        raise ValueError(f"the kernel would reach index {last_index} of an array of {a.size} at {at}")


class Gemm:
    """The kernel's products, called with numpy arrays. `functions` maps each dtype of DTYPES
    to the kernel's function for it (gemm_f32, gemm_f64); addresses must stay under
    `address_limit` (wasm32's in the tab)."""

    engine = ENGINE

    def __init__(self, functions, address_limit=ADDRESS_LIMIT):
        self.functions = dict(functions)
        self.address_limit = address_limit

    def product(self, a, b, a_transposed=False):
        # a (M, K), or (K, M) read down its columns when a_transposed; b (K, N) -> (M, N)
        fn = self.functions.get(a.dtype)
        if fn is None or b.dtype != a.dtype:
            raise TypeError(f"the SIMD kernel multiplies float32 or float64 pairs, not {a.dtype} by {b.dtype}")
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"the SIMD kernel multiplies matrices, not shapes {a.shape} and {b.shape}")
        if not (a.flags.c_contiguous and b.flags.c_contiguous):
            raise ValueError("the SIMD kernel needs C-contiguous operands")
        if a_transposed:
            K, M = a.shape
            row_step, k_step = 1, M
        else:
            M, K = a.shape
            row_step, k_step = K, 1
        if b.shape[0] != K:
            raise ValueError(f"shapes {a.shape}{'.T' if a_transposed else ''} and {b.shape} do not fit")
        N = b.shape[1]
        out = np.empty((M, N), dtype=a.dtype)
        if out.size == 0:
            return out
        if K == 0:
            out[...] = 0
            return out
        pa, pb, pc = address(a), address(b), address(out)
        limit = self.address_limit
        check_reach(a, pa, (M - 1) * row_step + (K - 1) * k_step, limit)
        check_reach(b, pb, (K - 1) * N + N - 1, limit)
        check_reach(out, pc, (M - 1) * N + N - 1, limit)
        fn(M, N, K, pa, row_step, k_step, pb, N, pc)
        return out

    def dot_rows(self, a, b):
        # (N, K), (M, K) -> a @ b.T (N, M); b is a weight, so a contiguous b.T is a small copy
        return self.product(np.ascontiguousarray(a), np.ascontiguousarray(b.T))

    def transposed_product(self, a, b):
        # (N, I), (N, J) -> a.T @ b (I, J)
        return self.product(np.ascontiguousarray(a), np.ascontiguousarray(b), a_transposed=True)


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
        gemm = Gemm({DTYPES[0]: exports.gemm_f32, DTYPES[1]: exports.gemm_f64})
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
