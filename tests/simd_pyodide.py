"""Run inside the shipped Pyodide under node by tests/test_simd.py (through tests/simd_node.mjs):
`serve` answers one JSON request with one JSON line. Arrays travel as base64 of their bytes.

    install                       simd.install() as a worker calls it: the engine and its note
    product  fn a b [b_view]      kernels.dot_rows or transposed_product on the installed engine
    refuse                        what Gemm.product says to operands it must not take
    guard                         the raw kernel writes its output and nothing around it
    fallback                      simd.load and install where SIMD or the memory is missing
    train    steps dtype          a short training run's losses with the kernel, then with numpy
"""
import base64
import json
import traceback

import numpy as np

from zcgpt import kernels, presets, simd
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


def serve(line):
    try:
        req = json.loads(line)
        return json.dumps({"ok": globals()["do_" + req["op"]](req)})
    except Exception:
        return json.dumps({"error": traceback.format_exc()})
