"""Run inside Pyodide by bytecode.mjs, with numpy and the zcgpt wheel installed the way the page
installs them: record which files of the standard library and of numpy the page can load.

Reads /work/imports.json ({"sources": {path: text}, "skip": [...]}: the page's Python, collected
by imports.py, and zcgpt's command-line modules). Imports every module their import statements
name, anywhere in a file, and every module of the zcgpt package but those skipped, then does
what the page does beyond importing (a traceback with source lines, a function's source for the
source panel), and writes /work/out/imports.json:
  stdlib   the entries of python_stdlib.zip that were loaded
  numpy    the files of numpy (modules and compiled extensions) that were loaded
  missing  the named modules that did not import (JavaScript modules of the page, say)
"""
import ast
import importlib
import inspect
import json
import os
import sys
import traceback

STDLIB_AT = "/lib/python312.zip/"


def imported_names(sources):
    """The absolute module names the import statements of `sources` ({path: text}) mention:
    {'modules': [...], 'maybe': [...]}, sorted. `from a.b import c` gives the module a.b, and
    a.b.c as 'maybe': c is a submodule only if a.b is a package."""
    modules, maybe = set(), set()
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text, path)):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module)
                maybe.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return {"modules": sorted(modules), "maybe": sorted(maybe - modules)}


def try_import(name, missing):
    try:
        importlib.import_module(name)
    except Exception as exc:   # the page's JavaScript modules (js, polyscript) are not here
        missing[name] = f"{type(exc).__name__}: {exc}"


def exercise():
    """What the page does besides importing: report an error from zcgpt with its source lines,
    and show a function's source (the source panel)."""
    import zcgpt.data
    import zcgpt.model
    try:
        zcgpt.data.parse_lines(None, "nothing")   # fails inside zcgpt, whatever its message
    except Exception:
        traceback.format_exc()
    inspect.getsource(zcgpt.model)


def loaded_files():
    """{'stdlib': zip entries, 'numpy': numpy's files} of every module loaded so far."""
    stdlib, numpy = set(), set()
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)
        path = getattr(module, "__file__", None) or getattr(spec, "origin", None) or ""
        if path.startswith(STDLIB_AT):
            stdlib.add(path[len(STDLIB_AT):])
        elif "/site-packages/numpy/" in path:
            numpy.add(path[path.index("/site-packages/") + len("/site-packages/"):])
    return {"stdlib": sorted(stdlib), "numpy": sorted(numpy)}


def main():
    with open("/work/imports.json") as f:
        job = json.load(f)
    wanted = imported_names(job["sources"])
    missing = {}
    import zcgpt
    for file in sorted(os.listdir(zcgpt.__path__[0])):
        name = "zcgpt." + file[:-3]
        if file.endswith(".py") and file != "__init__.py" and name not in job["skip"]:
            try_import(name, missing)
    for name in wanted["modules"]:
        try_import(name, missing)
    for name in wanted["maybe"]:
        parent = sys.modules.get(name.rpartition(".")[0])
        if parent is not None and hasattr(parent, "__path__"):
            try_import(name, {})
    exercise()
    with open("/work/out/imports.json", "w") as f:
        json.dump({**loaded_files(), "missing": missing}, f, indent=1, sort_keys=True)
    print("recorded", len(sys.modules), "modules")


if __name__ == "__main__":
    main()
