"""The build's two runs of the shipped Pyodide under Node.js (bytecode.mjs), each cached.

compile  every module of Pyodide's standard library and of numpy to bytecode (bytecode_pyodide.py),
         once per pinned runtime: the tab then never compiles them, which is over a second of
         the page's start.
record   which of those files the page loads (imports_pyodide.py, with numpy and the zcgpt wheel
         installed as the page installs them); see imports.py. Rerun when zcgpt or the worker
         changes.

trim.py builds the shipped python_stdlib.zip and numpy wheel from both. Each result is cached
under a hash of everything that goes in, so a build without changes runs no node at all.
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
from .pins import PROVISA, PYODIDE

HERE = Path(__file__).resolve().parent
NODE_SCRIPT = HERE / "bytecode.mjs"
COMPILE_SCRIPT = HERE / "bytecode_pyodide.py"
HOOK = HERE / "sitecustomize_pyodide.py"
COMPILED = ("stdlib-pyc.zip", "numpy-pyc.zip")
# Files whose docstrings are kept (path prefixes in the stdlib zip or site-packages), because
# they are read while importing: Pyodide's own packages document its JavaScript API from them,
# and numpy's multiarray hands its dispatchers' docstrings to functions written in C. Everything
# else is compiled without docstrings (see bytecode_pyodide.py).
KEEP_DOCSTRINGS = ("pyodide/", "_pyodide/", "numpy/_core/multiarray.py")
TIMEOUT_S = 600
NO_NODE = ("it needs node 18 or newer; `python build.py --no-bytecode` builds without it (the official "
           "files, untrimmed: a first visit then downloads more and Python starts "
           "about 1 s slower)")


def key_of(*parts) -> str:
    """A short hash of the things a cached result depends on (text, bytes or JSON-able values)."""
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True).encode()
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


def script_key() -> list[str]:
    return [PYODIDE.integrity, PROVISA.sha256, KEEP_DOCSTRINGS] + [
        p.read_text(encoding="utf-8") for p in (NODE_SCRIPT, COMPILE_SCRIPT, HOOK)]


def run_node(node: str, pyo: Path, work: Path, script: Path, packages: list[str], what: str) -> str:
    """Run `script` in the Pyodide of `pyo` under node, /work being `work`; its stdout."""
    cmd = [node, str(NODE_SCRIPT), str(pyo.resolve()), str(work), str(script), *packages]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        failed, tail = proc.returncode != 0, (proc.stdout + proc.stderr).strip().splitlines()[-15:]
    except subprocess.TimeoutExpired:
        proc, failed, tail = None, True, [f"(no result after {TIMEOUT_S} s)"]
    if failed:
        raise BuildError(f"{what} with `{' '.join(cmd)}` failed:\n" + "\n".join(tail) + f"\n  {NO_NODE}")
    return proc.stdout


def replace_cached(done: Path, out: Path) -> None:
    """Move a fresh result `out` to the cache folder `done`, dropping results for other inputs."""
    for old in done.parent.iterdir():
        if old.is_dir() and not old.name.startswith("."):
            shutil.rmtree(old)
    os.replace(out, done)


def compiled(pyo: Path, cache: Path) -> Path | None:
    """The folder holding stdlib-pyc.zip and numpy-pyc.zip for the Pyodide in `pyo` (npm's
    stdlib zip, the official numpy); compiled under node if not cached. None without node."""
    done = cache / "bytecode" / key_of(*script_key())
    if all((done / name).is_file() for name in COMPILED):
        return done
    node = shutil.which("node")
    if node is None:
        return None
    done.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=done.parent, prefix=".compile-") as tmp:
        work = Path(tmp)
        (work / "out").mkdir()
        shutil.copyfile(pyo / "python_stdlib.zip", work / "python_stdlib.zip")
        shutil.copyfile(HOOK, work / "sitecustomize.py")
        (work / "bytecode.json").write_text(json.dumps({"keep_docstrings": KEEP_DOCSTRINGS}))
        log("      compiling the standard library and numpy with Pyodide under node (once; cached)")
        stdout = run_node(node, pyo, work, COMPILE_SCRIPT, ["numpy"], "compiling bytecode")
        if not all((work / "out" / name).is_file() for name in COMPILED):
            raise BuildError(f"compiling bytecode wrote no {', '.join(COMPILED)}: {stdout[-500:]}\n  {NO_NODE}")
        log("      " + ", ".join(stdout.split("\n")[-3:-1]) + " modules compiled")
        replace_cached(done, work / "out")
    return done
