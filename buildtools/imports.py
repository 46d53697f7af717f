"""Which files of the standard library and of numpy the page loads, found under the shipped Pyodide.

The page's Python is collected here: site/worker.py and site/helper.py, the zcgpt package, and PyScript's own
`pyscript` package, which its worker may import before the page's code runs (its files are
string literals in PyScript's bundle). imports_pyodide.py then finds every import statement in
them (at the top of a file or inside a function, with the shipped Python's own `ast`), imports
those modules and every module of zcgpt under node, with numpy and the zcgpt wheel installed as
the page installs them, and lists the files that loaded (Pyodide's own start-up included).
trim.py ships those plus a named safety margin. The result is cached under a hash of its inputs.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from . import BuildError, log
from .bytecode import HERE, key_of, replace_cached, run_node, script_key

RECORD_SCRIPT = HERE / "imports_pyodide.py"
# zcgpt's command line: the page never imports these (__main__ would run it).
DESKTOP_ONLY = ("zcgpt.__main__", "zcgpt.cli", "zcgpt.bench", "zcgpt.process")


# A file of PyScript's `pyscript` package in its bundle: "name.py":"<source as a JS string>".
PYSCRIPT_FILE = re.compile(r'"([A-Za-z_0-9]+\.py)":"((?:[^"\\]|\\.)*)"')


def page_sources(root: Path) -> dict[str, str]:
    """The page's own Python, by path: site/worker.py, site/helper.py and the zcgpt package without
    its command line."""
    package = sorted(p for p in (root / "zcgpt").rglob("*.py") if "__pycache__" not in p.parts)
    desktop = {f"{name.replace('.', '/')}.py" for name in DESKTOP_ONLY}
    worker = [p for p in (root / "site" / "worker.py", root / "site" / "helper.py") if p.is_file()]
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in worker + package if p.relative_to(root).as_posix() not in desktop}


def pyscript_sources(pyscript_dir: Path) -> dict[str, str]:
    """The files of PyScript's `pyscript` package, by path, as its bundle (core-*.js) carries them."""
    out = {}
    for bundle in sorted(pyscript_dir.glob("core-*.js")):
        for name, body in PYSCRIPT_FILE.findall(bundle.read_text(encoding="utf-8")):
            try:
                out[f"pyscript/{name}"] = json.loads(f'"{body}"')
            except ValueError:
                raise BuildError(f"{bundle.name}: cannot read PyScript's {name} (not a JSON-style string)") from None
    if "pyscript/__init__.py" not in out:
        raise BuildError(f"no pyscript/__init__.py found in {pyscript_dir}/core-*.js: has PyScript changed how "
                         "it ships its Python package? (buildtools/imports.py reads it)")
    return out


def record_imports(pyo: Path, cache: Path, wheel: Path, sources: dict[str, str]) -> dict | None:
    """{'stdlib': zip entries, 'numpy': numpy files, 'missing': {name: why}} the page loads, for
    the Pyodide and numpy in `pyo`, the zcgpt `wheel` and the import statements of `sources`
    (page_sources and pyscript_sources); None without node."""
    job = {"sources": sources, "skip": list(DESKTOP_ONLY)}
    key = key_of(*script_key(), RECORD_SCRIPT.read_text(encoding="utf-8"), wheel.read_bytes(), job)
    done = cache / "imports" / key
    if (done / "imports.json").is_file():
        return json.loads((done / "imports.json").read_text(encoding="utf-8"))
    node = shutil.which("node")
    if node is None:
        return None
    done.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=done.parent, prefix=".record-") as tmp:
        work = Path(tmp)
        (work / "out").mkdir()
        (work / "imports.json").write_text(json.dumps(job))
        shutil.copyfile(wheel, work / wheel.name)
        log("      recording what the page imports, with Pyodide under node (cached until zcgpt or the worker changes)")
        run_node(node, pyo, work, RECORD_SCRIPT, ["numpy", str(work / wheel.name)], "recording the imports")
        replace_cached(done, work / "out")
    return json.loads((done / "imports.json").read_text(encoding="utf-8"))
