"""The tab's SIMD kernel: kernels/gemm.c (products) and kernels/layers.c (attention, RMSNorm,
the loss) compiled into one module, dist/kernels/gemm.wasm, with clang and lld.

clang (apt `clang`) compiles for wasm32 with SIMD, no libc and no fused multiply-adds; wasm-ld
(apt `lld`) links a module that imports its memory (Pyodide's, see zcgpt/simd.py) and exports
the functions of EXPORTS. The output depends on the sources and the compiler's version only: two
builds give the same bytes (tests/test_build.py checks it), and build.json records its sha256.
Without clang or wasm-ld the build ships no kernel and the page computes with numpy.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import BuildError

SOURCES = ("kernels/gemm.c", "kernels/layers.c")
OUTPUT = "kernels/gemm.wasm"
EXPORTS = tuple(f"{name}_{precision}" for name in ("gemm", "attention_forward", "attention_backward",
                                                   "rmsnorm_forward", "rmsnorm_backward", "cross_entropy")
                for precision in ("f32", "f64"))
CLANG = ("clang", "clang-14")
WASM_LD = ("wasm-ld", "wasm-ld-14")
CFLAGS = ("--target=wasm32", "-msimd128", "-O3", "-nostdlib", "-ffreestanding", "-ffp-contract=off",
          "-fno-ident")
LDFLAGS = ("--no-entry", "--import-memory", "--strip-all") + tuple(f"--export={name}" for name in EXPORTS)
MISSING = "the page computes with numpy; `apt-get install clang lld` gives it the SIMD kernel"


def compilers() -> tuple[str, str] | None:
    """(clang, wasm-ld) found on PATH, or None."""
    clang = next((shutil.which(c) for c in CLANG if shutil.which(c)), None)
    ld = next((shutil.which(c) for c in WASM_LD if shutil.which(c)), None)
    return (clang, ld) if clang and ld else None


def compile_kernel(root: Path, wasm: Path) -> dict | None:
    """Compile the kernel to `wasm` -> what build.json says of it, or None without the tools."""
    found = compilers()
    if found is None:
        return None
    clang, ld = found
    wasm.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zcgpt-kernel-") as tmp:
        objs = [str(Path(tmp) / Path(source).with_suffix(".o").name) for source in SOURCES]
        compiles = [[clang, *CFLAGS, "-c", str(root / source), "-o", obj] for source, obj in zip(SOURCES, objs)]
        for cmd in compiles + [[ld, *LDFLAGS, *objs, "-o", str(wasm)]]:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise BuildError(f"compiling the SIMD kernel with `{' '.join(cmd)}` failed:\n"
                                 f"{(proc.stdout + proc.stderr).strip()}")
    version = subprocess.run([clang, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    data = wasm.read_bytes()
    return {"file": OUTPUT, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "exports": list(EXPORTS), "compiler": version}
