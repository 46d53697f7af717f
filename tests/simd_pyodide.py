"""Run inside the shipped Pyodide under node by tests/test_simd.py (through tests/simd_node.mjs):
`serve` answers one JSON request with one JSON line. Arrays travel as base64 of their bytes.

    install                       simd.install() as a worker calls it: the engine and its note
    product  fn a b [b_view]      kernels.dot_rows or transposed_product on the installed engine
    refuse                        what Gemm.product says to operands it must not take
    guard                         the raw kernel writes its output and nothing around it
    fallback                      simd.load and install where SIMD or the memory is missing
    train    steps dtype          a short training run's losses with the kernel, then with numpy
    layers   qkv dy B T H x dx    model.py's attention and RMSNorm, forward and backward, and its
             logits targets w     loss and gradient, on the kernel's layers
    layers_refuse                 what Layers says to arrays it must not take
    layers_guard                  the raw layer functions write their outputs and nothing around them
"""
import base64
import json
import traceback

import numpy as np

from zcgpt import kernels, model, presets, simd
from zcgpt.data import make_dataset, parse_lines
from zcgpt.train import Trainer

gemm = None


def unpack(d):
    a = np.frombuffer(base64.b64decode(d["data"]), dtype=d["dtype"]).reshape(d["shape"])
    return a.copy()


def pack(a):
    return {"data": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode(), "dtype": a.dtype.str,
            "shape": list(a.shape)}


def outcome(fn):
    try:
        fn()
    except (TypeError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def do_install(req):
    global gemm
    gemm, note = simd.install()
    return {"engine": kernels.engine(), "note": note}


def do_product(req):
    a, b = unpack(req["a"]), unpack(req["b"])
    if req.get("b_view") == "T":          # b arrives as its transpose's bytes: a strided view
        b = b.T
    out = getattr(kernels, req["fn"])(a, b)
    return {"out": pack(out), "engine": kernels.engine()}


def do_refuse(req):
    f4 = np.ones((3, 4), np.float32)
    f8 = np.ones((4, 5), np.float64)
    return {
        "mixed dtypes": outcome(lambda: gemm.product(f4, f8)),
        "int arrays": outcome(lambda: gemm.product(np.ones((3, 4), np.int32), np.ones((4, 5), np.int32))),
        "rows of b apart": outcome(lambda: gemm.product(f4, np.ones((5, 4), np.float32).T)),
        "b broadcast": outcome(lambda: gemm.product(f4, np.broadcast_to(np.ones((4, 1), np.float32), (4, 5)))),
        "backwards": outcome(lambda: gemm.product(f4[::-1], np.ones((4, 5), np.float32))),
        "shapes do not fit": outcome(lambda: gemm.product(f4, np.ones((5, 5), np.float32))),
        "not matrices": outcome(lambda: gemm.product(np.ones(4, np.float32), np.ones((4, 5), np.float32))),
        "byte-swapped": outcome(lambda: gemm.product(f4.astype(">f4"), np.ones((4, 5), ">f4"))),
        "past int indices": outcome(lambda: simd.check_reach(simd.address(f4), 2 ** 31, 4)),
        "past the memory": outcome(lambda: simd.check_reach(2 ** 32 - 8, 2, 4)),
        "fits": outcome(lambda: gemm.product(f4, np.ones((4, 5), np.float32))),
        "a read as it lies": outcome(lambda: gemm.product(np.ones((4, 3), np.float32).T, np.ones((4, 5), np.float32))),
    }


def do_guard(req):
    """The kernel on operands and an output inside larger arrays full of a sentinel."""
    report = {}
    for dtype in simd.DTYPES:
        M, N, K = 7, 9, 5
        a = np.arange(M * K, dtype=dtype).reshape(M, K) / 10
        b = np.arange(K * N, dtype=dtype).reshape(K, N) / 7
        a0, b0 = a.copy(), b.copy()
        space = np.full(M * N + 64, -7.5, dtype=dtype)
        out = space[32:32 + M * N].reshape(M, N)
        gemm.functions[dtype.str](M, N, K, simd.address(a), K, 1, simd.address(b), N, simd.address(out))
        report[dtype.name] = {
            "output": bool(np.array_equal(out, simd.sequential_product(a, b))),
            "around": bool(np.all(space[:32] == -7.5) and np.all(space[32 + M * N:] == -7.5)),
            "inputs": bool(np.array_equal(a, a0) and np.array_equal(b, b0)),
        }
    return report


def do_fallback(req):
    wasm = open(simd.WASM_FILE, "rb").read()
    broken = wasm[:8] + b"\xff" + wasm[9:]          # a module this WebAssembly will not take
    _, no_simd = simd.load(broken)
    found = simd.pyodide_memory
    simd.pyodide_memory = lambda: (_ for _ in ()).throw(LookupError("no memory here"))
    try:
        lost, no_memory = simd.load(wasm)
    finally:
        simd.pyodide_memory = found
    missing, no_file = simd.install("no-such-kernel.wasm")
    engine_after = kernels.engine()
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    numpy_bits = np.array_equal(kernels.dot_rows(a, a), a @ a.T)
    simd.install()                                  # back to the kernel for the other requests
    return {"no_simd": no_simd, "no_memory": no_memory, "lost": lost is None, "no_file": no_file,
            "missing": missing is None, "engine_after": engine_after, "numpy_bits": bool(numpy_bits)}


def do_train(req):
    names = ["emma", "liam", "olivia", "noah", "ava", "mia", "lucas", "amelia", "ethan", "harper",
             "evelyn", "james", "luna", "henry", "sofia", "theodore", "ella", "jack", "aria", "leo"] * 5
    config = presets[req.get("preset", "tiny")].replace(steps=req["steps"], dtype=req["dtype"])
    losses = {}
    for engine in ("simd", "numpy"):
        kernels.use_gemm(gemm if engine == "simd" else None)
        tr = Trainer(config, make_dataset(parse_lines("\n".join(names), "names"), 0.2, 3), 3)
        losses[engine] = [float(tr.train_step()) for _ in range(req["steps"])]
        losses[engine + "_val"] = float(tr.evaluate(list(tr.dataset.val)))
    kernels.use_gemm(gemm)
    return losses


def do_layers(req):
    assert kernels.fused_layers() is gemm.layers is not None
    qkv, dy, x, dx = (unpack(req[k]) for k in ("qkv", "dy", "x", "dx"))
    y, cache = model.attention_forward(qkv, req["B"], req["T"], req["H"])
    dqkv = model.attention_backward(dy, cache)
    xn, norm = model.rmsnorm_forward(x)
    dxn = model.rmsnorm_backward(dx, norm)
    logits, targets, weights = (unpack(req[k]) for k in ("logits", "targets", "weights"))
    loss, ce = model.cross_entropy_forward(logits, targets, weights)
    dlogits = model.cross_entropy_backward(targets, weights, ce)
    return {"y": pack(y), "att": pack(cache.att), "dqkv": pack(dqkv), "xn": pack(xn), "rstd": pack(norm.rstd),
            "dxn": pack(dxn), "loss": loss, "dlogits": pack(dlogits),
            "qkv_kept": bool(np.array_equal(qkv, unpack(req["qkv"]), equal_nan=True))}


def do_layers_refuse(req):
    layers = gemm.layers
    f4 = np.ones((8, 12), np.float32)                 # B=2, T=4 rows of 3C=12 (C=4, H=2)
    _, cache = layers.attention_forward(f4, 2, 4, 2)
    return {
        "int qkv": outcome(lambda: layers.attention_forward(f4.astype(np.int32), 2, 4, 2)),
        "rows not B*T": outcome(lambda: layers.attention_forward(f4, 3, 4, 2)),
        "heads do not divide": outcome(lambda: layers.attention_forward(f4, 2, 4, 3)),
        "no heads": outcome(lambda: layers.attention_forward(f4, 2, 4, 0)),
        "mixed dtypes": outcome(lambda: layers.attention_backward(np.ones((8, 4)), cache)),
        "dy of another shape": outcome(lambda: layers.attention_backward(np.ones((8, 5), np.float32), cache)),
        "a cache whose parts disagree": outcome(lambda: layers.attention_backward(
            np.ones((8, 4), np.float32), cache._replace(shape=(4, 4, 2), att=np.zeros((4, 2, 4, 4), np.float32)))),
        "attention weights of another shape": outcome(lambda: layers.attention_backward(
            np.ones((8, 4), np.float32), cache._replace(att=np.zeros((2, 2, 4, 3), np.float32)))),
        "float targets": outcome(lambda: layers.cross_entropy(f4, np.full(8, 2.7), f4[:, 0].copy())),
        "numpy's cache": outcome(lambda: layers.attention_backward(np.ones((8, 4), np.float32),
                                                                   model.AttentionCache(None, None, None, None))),
        "norm shapes": outcome(lambda: layers.rmsnorm_backward(f4, f4[:, :5], np.ones((8, 1), np.float32))),
        "target past the vocabulary": outcome(lambda: layers.cross_entropy(f4, np.array([0] * 7 + [12]), f4[:, 0].copy())),
        "negative target": outcome(lambda: layers.cross_entropy(f4, np.array([-1] + [0] * 7), f4[:, 0].copy())),
        "weights of another length": outcome(lambda: layers.cross_entropy(f4, np.zeros(8, np.int64), f4[0].copy())),
        "numpy's loss cache": outcome(lambda: layers.cross_entropy_backward((f4, None))),
        "last target fits": outcome(lambda: layers.cross_entropy(f4, np.array([0] * 7 + [11]), f4[:, 0].copy())),
        "past the memory": outcome(lambda: simd.Layers(layers.functions, address_limit=simd.address(f4) + 8)
                                   .rmsnorm_forward(f4, 1e-5)),
        "fits": outcome(lambda: layers.attention_backward(np.ones((8, 4), np.float32), cache)),
        "strided input": outcome(lambda: layers.rmsnorm_forward(np.ones((12, 8), np.float32).T, 1e-5)),
    }


def do_layers_guard(req):
    """Each layer function with every output inside a larger array of a sentinel."""
    report = {}
    for dtype in simd.DTYPES:
        fns = gemm.layers.functions[dtype.str]
        B, T, H, D = 2, 5, 3, 4
        C = H * D
        qkv = np.sin(np.arange(B * T * 3 * C, dtype=dtype)).reshape(B * T, 3 * C)   # no numpy.random in the page
        dy = np.cos(np.arange(B * T * C, dtype=dtype)).reshape(B * T, C)
        inputs = [qkv.copy(), dy.copy()]
        spaces, outs = [], []
        for n in (B * H * T * T, B * T * C, T, B * T * 3 * C, B * T * C, B * T, B * T * C, B * T * C, 1):
            space = np.full(n + 64, -7.5, dtype=dtype)
            spaces.append(space)
            outs.append(space[32:32 + n])
        att, y, ds, dqkv, xn, rstd, dxn, dlogits, loss = outs
        targets = np.arange(B * T, dtype=np.int64) % C
        weights = np.full(B * T, 1 / (B * T), dtype=dtype)
        a = simd.address
        fns["attention_forward"](B, T, H, D, 0.5, a(qkv), a(att), a(y))
        fns["attention_backward"](B, T, H, D, 0.5, a(qkv), a(att), a(dy), a(ds), a(dqkv))
        fns["rmsnorm_forward"](B * T, C, 1e-5, a(dy), a(xn), a(rstd))
        fns["rmsnorm_backward"](B * T, C, a(dy), a(xn), a(rstd), a(dxn))
        status = fns["cross_entropy"](B * T, C, a(dy), a(targets), a(weights), a(dlogits), a(loss))
        report[dtype.name] = {
            "outputs": bool(status == 0 and all(np.isfinite(o).all() for o in (att, y, dqkv, xn, rstd, dxn, dlogits, loss))),
            "around": bool(all(np.all(s[:32] == -7.5) and np.all(s[-32:] == -7.5) for s in spaces)),
            "inputs": bool(np.array_equal(qkv, inputs[0]) and np.array_equal(dy, inputs[1])
                           and np.array_equal(targets, np.arange(B * T) % C)),
        }
    return report


def serve(line):
    try:
        req = json.loads(line)
        return json.dumps({"ok": globals()["do_" + req["op"]](req)})
    except Exception:
        return json.dumps({"error": traceback.format_exc()})
