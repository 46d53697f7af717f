"""The tab's SIMD kernel (kernels/gemm.c, zcgpt/simd.py) in the shipped Pyodide under node.

One Pyodide serves every case (tests/simd_node.mjs runs tests/simd_pyodide.py): Hypothesis draws
shapes (1, odd, prime, large), float32 and float64, and strided operands here, Pyodide computes
them through zcgpt.kernels with the kernel installed as a worker installs it, and this side
checks the bits against a sequential sum over k in numpy (what gemm.c promises) and the values
against numpy's own product. The kernel's whole layers (kernels/layers.c: attention and
RMSNorm, forward and backward, and the loss with its gradient) are checked against model.py's numpy layers on this side, over
drawn shapes. Then: what the Python side refuses, that the kernel writes only its outputs, the
fallback to numpy, and a short training run with the kernel and without.
"""

import base64
import json
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zcgpt import model
from zcgpt.simd import sequential_product

from conftest import ROOT

DIST = ROOT / "dist"
HERE = ROOT / "tests"


class Pyodide:
    """The node process serving requests, one JSON line each way."""

    def __init__(self, proc):
        self.proc = proc

    def ask(self, op, **fields):
        self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"node stopped: {self.proc.stderr.read()[-3000:]}"
        reply = json.loads(line)
        assert "error" not in reply, reply["error"]
        return reply["ok"]


@pytest.fixture(scope="module")
def pyodide():
    node = shutil.which("node")
    if node is None:
        pytest.skip("no `node` on PATH")
    if not (DIST / "build.json").is_file():
        pytest.skip("dist/ not built: run `python build.py` first")
    info = json.loads((DIST / "build.json").read_text())
    if info.get("kernel") is None:
        pytest.skip("this build has no SIMD kernel (no clang or wasm-ld): `apt-get install clang lld`")
    proc = subprocess.Popen([node, str(HERE / "simd_node.mjs"), str(DIST / "pyodide"), str(DIST / info["wheel"]),
                             str(DIST / info["kernel"]["file"]), str(HERE / "simd_pyodide.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first == "ready\n", first + proc.stderr.read()[-3000:]
        py = Pyodide(proc)
        installed = py.ask("install")
        assert installed == {"engine": "simd", "note": None}, installed
        yield py
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def pack(a):
    return {"data": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode(), "dtype": a.dtype.str,
            "shape": list(a.shape)}


def unpack(d):
    return np.frombuffer(base64.b64decode(d["data"]), dtype=d["dtype"]).reshape(d["shape"])


SIZES = st.one_of(st.sampled_from([1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 97, 128]), st.integers(1, 40),
                  st.sampled_from([211, 256, 263]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=SIZES, inner=SIZES, cols=SIZES, dtype=st.sampled_from(["float32", "float64"]),
       fn=st.sampled_from(["dot_rows", "transposed_product"]), b_view=st.booleans(), seed=st.integers(0, 2**32 - 1))
@example(rows=1, inner=1, cols=1, dtype="float32", fn="dot_rows", b_view=False, seed=0)
@example(rows=263, inner=97, cols=211, dtype="float64", fn="transposed_product", b_view=False, seed=1)
@example(rows=160, inner=20, cols=60, dtype="float32", fn="dot_rows", b_view=True, seed=2)
def test_kernel_gives_the_sequential_sums_bits(pyodide, rows, inner, cols, dtype, fn, b_view, seed):
    rng = np.random.default_rng(seed)
    if fn == "dot_rows":                          # (N, K), (M, K) -> a @ b.T
        a = rng.standard_normal((rows, inner)).astype(dtype)
        b = rng.standard_normal((cols, inner)).astype(dtype)
        want = sequential_product(a, b.T)
        close = a @ b.T
    else:                                         # (N, I), (N, J) -> a.T @ b
        a = rng.standard_normal((inner, rows)).astype(dtype)
        b = rng.standard_normal((inner, cols)).astype(dtype)
        want = sequential_product(a.T, b)
        close = a.T @ b
    # b_view: b reaches the kernel as a transposed (strided) view, as dot_rows(dy, w.T) passes it
    sent = pack(b.T) if b_view else pack(b)
    got = pyodide.ask("product", fn=fn, a=pack(a), b=sent, b_view="T" if b_view else None)
    assert got["engine"] == "simd"
    out = unpack(got["out"])
    assert out.dtype == np.dtype(dtype) and out.shape == want.shape
    assert np.array_equal(out, want), np.abs(out - want).max()
    tol = 1e-4 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out, close, rtol=tol, atol=tol * np.sqrt(inner))


def test_python_side_refuses_what_the_kernel_must_not_get(pyodide):
    said = pyodide.ask("refuse")
    assert said.pop("fits") is None and said.pop("a read as it lies") is None
    assert said["mixed dtypes"].startswith("TypeError") and said["int arrays"].startswith("TypeError")
    assert said["byte-swapped"].startswith("TypeError")
    for case in ("rows of b apart", "b broadcast", "backwards", "shapes do not fit", "not matrices", "past int indices",
                 "past the memory"):
        assert said[case].startswith("ValueError"), (case, said[case])


def test_kernel_writes_its_output_and_nothing_else(pyodide):
    for dtype, seen in pyodide.ask("guard").items():
        assert seen == {"output": True, "around": True, "inputs": True}, dtype


def test_numpy_computes_where_simd_or_the_memory_or_the_file_is_missing(pyodide):
    seen = pyodide.ask("fallback")
    assert "no SIMD" in seen["no_simd"]
    assert seen["lost"] and "no memory here" in seen["no_memory"]
    assert seen["missing"] and "no SIMD kernel" in seen["no_file"]
    assert seen["engine_after"] == "numpy" and seen["numpy_bits"]


@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-4), ("float64", 1e-10)])
def test_training_with_the_kernel_matches_numpy(pyodide, dtype, rtol):
    losses = pyodide.ask("train", steps=40, dtype=dtype)
    simd, plain = np.array(losses["simd"]), np.array(losses["numpy"])
    assert simd[-1] < simd[0] - 0.3                              # it learned
    np.testing.assert_allclose(simd, plain, rtol=rtol)
    assert losses["simd_val"] == pytest.approx(losses["numpy_val"], rel=rtol)
    if dtype == "float32":
        assert not np.array_equal(simd, plain), "another summation order: the last bits differ"


def numpy_layers(qkv, dy, x, dx, B, T, H, logits, targets, weights):
    """model.py's layers computed here, in numpy (no kernel is installed on this side)."""
    y, cache = model.attention_forward(qkv, B, T, H)
    xn, norm = model.rmsnorm_forward(x)
    loss, ce = model.cross_entropy_forward(logits.copy(), targets, weights)
    return {"y": y, "att": cache.att, "dqkv": model.attention_backward(dy, cache), "xn": xn,
            "rstd": norm.rstd, "dxn": model.rmsnorm_backward(dx, norm), "loss": loss,
            "dlogits": model.cross_entropy_backward(targets, weights, ce)}


def kernel_layers(pyodide, qkv, dy, x, dx, B, T, H, logits, targets, weights):
    got = pyodide.ask("layers", qkv=pack(qkv), dy=pack(dy), x=pack(x), dx=pack(dx), B=B, T=T, H=H,
                      logits=pack(logits), targets=pack(targets), weights=pack(weights))
    assert got.pop("qkv_kept")
    return {k: v if k == "loss" else unpack(v) for k, v in got.items()}


def loss_inputs(rng, N, V, dtype, scale=1.0):
    """logits (N, V), targets (N,) int64, weights (N,) summing to 1 over a few unmasked rows."""
    logits = (scale * rng.standard_normal((N, V))).astype(dtype)
    targets = rng.integers(0, V, N).astype(np.int64)
    mask = rng.random(N) < 0.8
    mask[0] = True
    return logits, targets, (mask / mask.sum()).astype(dtype)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(B=st.integers(1, 5), T=st.sampled_from([1, 2, 3, 7, 8, 16, 17]), H=st.integers(1, 4),
       D=st.sampled_from([1, 2, 3, 4, 5, 8, 13, 16]), V=st.sampled_from([1, 2, 5, 28, 61]),
       dtype=st.sampled_from(["float32", "float64"]), scale=st.sampled_from([0.1, 1.0, 8.0]),
       seed=st.integers(0, 2**32 - 1))
@example(B=1, T=1, H=1, D=1, V=1, dtype="float32", scale=1.0, seed=0)
@example(B=4, T=16, H=4, D=8, V=28, dtype="float32", scale=1.0, seed=1)     # small's shard
@example(B=3, T=16, H=4, D=5, V=28, dtype="float64", scale=40.0, seed=2)    # far apart: exp underflows
def test_kernel_layers_match_numpys(pyodide, B, T, H, D, V, dtype, scale, seed):
    rng = np.random.default_rng(seed)
    C, N = H * D, B * T
    qkv = (scale * rng.standard_normal((N, 3 * C))).astype(dtype)
    dy, x, dx = (rng.standard_normal((N, C)).astype(dtype) for _ in range(3))
    loss_in = loss_inputs(rng, N, V, dtype, scale)
    got = kernel_layers(pyodide, qkv, dy, x, dx, B, T, H, *loss_in)
    want = numpy_layers(qkv, dy, x, dx, B, T, H, *loss_in)
    tol = 2e-4 if dtype == "float32" else 1e-10
    assert got.pop("loss") == pytest.approx(want.pop("loss"), rel=tol, abs=tol)
    for name, w in want.items():
        g = got[name]
        assert g.dtype == w.dtype and g.shape == w.shape, name
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol * max(1.0, float(np.abs(w).max())), err_msg=name)
    att = got["att"]
    assert np.all(np.triu(att[0, 0], k=1) == 0)                   # no position reads a later one
    np.testing.assert_allclose(att.sum(axis=-1), 1, rtol=tol)


def test_kernel_attention_turns_a_diverged_sequence_nan_and_leaves_the_others(pyodide):
    B, T, H, D = 2, 6, 2, 4
    rng = np.random.default_rng(3)
    qkv = rng.standard_normal((B * T, 3 * H * D)).astype("float32")
    qkv[0, H * D:2 * H * D] = np.nan                  # the keys of the first sequence's first position
    x = rng.standard_normal((B * T, H * D)).astype("float32")
    logits, targets, weights = loss_inputs(rng, B * T, 5, "float32")
    logits[3, 2] = np.nan
    got = kernel_layers(pyodide, qkv, x, x, x, B, T, H, logits, targets, weights)
    assert np.isnan(got["y"][:T]).all() and np.isfinite(got["y"][T:]).all()
    assert np.isnan(got["loss"]) and np.isnan(got["dlogits"][3]).all() and np.isfinite(got["dlogits"][4:]).all()


def test_layers_refuse_what_the_kernel_must_not_get(pyodide):
    said = pyodide.ask("layers_refuse")
    for case in ("fits", "strided input", "last target fits"):
        assert said.pop(case) is None, case
    for case in ("int qkv", "mixed dtypes", "numpy's cache", "numpy's loss cache", "float targets"):
        assert said[case].startswith("TypeError"), (case, said[case])
    for case in ("rows not B*T", "heads do not divide", "no heads", "dy of another shape", "norm shapes",
                 "past the memory", "target past the vocabulary", "negative target", "weights of another length",
                 "a cache whose parts disagree", "attention weights of another shape"):
        assert said[case].startswith("ValueError"), (case, said[case])


def test_kernel_layers_write_their_outputs_and_nothing_else(pyodide):
    for dtype, seen in pyodide.ask("layers_guard").items():
        assert seen == {"outputs": True, "around": True, "inputs": True}, dtype
