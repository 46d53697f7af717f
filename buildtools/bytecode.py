"""Bytecode for Pyodide's standard library and numpy, compiled once under Node.js.

Both ship .py sources only, so without this the tab compiles every module it imports at every
visit (over a second of the page's start). The build runs the very Pyodide it ships under node
(bytecode.mjs) to run bytecode_pyodide.py: python_stdlib.zip gains a .pyc beside each .py
(every original entry unchanged), and numpy's __pycache__ files go to a zip the worker unpacks
before `import numpy`. The result is cached under a key of everything that goes in, so node
runs once per pinned runtime.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import BuildError, log
from .pins import NUMPY_VERSION, PROVISA, PYODIDE

NUMPY_BYTECODE = f"numpy-{NUMPY_VERSION}-bytecode.zip"
# Standard-library packages a page never imports (test runners, debuggers, GUI, process pools):
# left as sources to keep the download small. Importing one still works, from source.
STDLIB_SOURCE_ONLY = ("unittest", "test", "idlelib", "lib2to3", "tkinter", "turtledemo", "turtle.py",
                      "ensurepip", "venv", "multiprocessing", "pydoc.py", "pydoc_data", "doctest.py",
                      "pdb.py", "mailbox.py", "xmlrpc", "wsgiref", "curses", "dbm")

HERE = Path(__file__).resolve().parent
NODE_SCRIPT = HERE / "bytecode.mjs"
PYODIDE_SCRIPT = HERE / "bytecode_pyodide.py"
OUTPUTS = ("python_stdlib.zip", "numpy-bytecode.zip")
TIMEOUT_S = 600


def bytecode_cache(cache: Path) -> Path:
    """The cache folder of the compiled files, named by a hash of everything that goes in."""
    key = json.dumps([PYODIDE.integrity, PROVISA.sha256, STDLIB_SOURCE_ONLY,
                      NODE_SCRIPT.read_text(encoding="utf-8"), PYODIDE_SCRIPT.read_text(encoding="utf-8")])
    return cache / "bytecode" / hashlib.sha256(key.encode()).hexdigest()[:16]


def run_node(node: str, pyo: Path, done: Path) -> None:
    """Compile with the Pyodide in `pyo` under node into the cache folder `done`."""
    done.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=done.parent, prefix=".compile-") as tmp:
        work = Path(tmp)
        (work / "out").mkdir()
        (work / "bytecode.json").write_text(json.dumps({"stdlib_source_only": STDLIB_SOURCE_ONLY}))
        shutil.copyfile(pyo / "python_stdlib.zip", work / "python_stdlib.zip")
        log("      compiling the standard library and numpy with Pyodide under node (once; cached)")
        cmd = [node, str(NODE_SCRIPT), str(pyo.resolve()), str(work), str(PYODIDE_SCRIPT)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
            failed, tail = proc.returncode != 0, (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        except subprocess.TimeoutExpired:
            failed, tail = True, [f"(no result after {TIMEOUT_S} s)"]
        if failed or not all((work / "out" / name).is_file() for name in OUTPUTS):
            raise BuildError(f"compiling bytecode with `{' '.join(cmd)}` failed:\n" + "\n".join(tail) +
                             "\n  it needs node 18 or newer; `python build.py --no-bytecode` builds without "
                             "(the page then starts about 1 s slower)")
        log("      " + ", ".join(proc.stdout.split("\n")[-3:-1]) + " modules compiled")
        # Only the current key is kept: older folders are for runtimes no longer pinned.
        for old in done.parent.iterdir():
            if old.is_dir() and not old.name.startswith("."):
                shutil.rmtree(old)
        os.replace(work / "out", done)


def compile_bytecode(pyo: Path, cache: Path) -> bool:
    """Put bytecode beside the Pyodide in `pyo`; False, with a warning, without node."""
    done = bytecode_cache(cache)
    if not all((done / name).is_file() for name in OUTPUTS):
        node = shutil.which("node")
        if node is None:
            log("      warning: no `node` on PATH: shipping sources only; the page starts about 1 s slower")
            return False
        run_node(node, pyo, done)
    shutil.copyfile(done / "python_stdlib.zip", pyo / "python_stdlib.zip")
    shutil.copyfile(done / "numpy-bytecode.zip", pyo / NUMPY_BYTECODE)
    return True
