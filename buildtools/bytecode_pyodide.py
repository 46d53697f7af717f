"""Run inside Pyodide by bytecode.mjs: compile the standard library, numpy and the build's
import hook to bytecode, once per pinned runtime.

Reads /work/bytecode.json ({"keep_docstrings": path prefixes}), /work/python_stdlib.zip
(npm's) and /work/sitecustomize.py (sitecustomize_pyodide.py); writes /work/out/stdlib-pyc.zip
(a `name.pyc` for every `name.py` of the stdlib zip, plus `sitecustomize.pyc`) and
/work/out/numpy-pyc.zip (`numpy/.../name.pyc` for every module of the installed numpy). trim.py
picks from these what the page ships, in place of the sources.

Modules are compiled without their docstrings, as `python -OO` would (asserts stay): the page
never reads them, and they are much of the bytecode's size. Files that read docstrings while
importing keep theirs (bytecode.py's KEEP_DOCSTRINGS). The .pyc files are unchecked-hash ones:
no file times in them (the same bytes on every build), and each carries the hash of its source,
which the tests check. Tracebacks name the source's path, where it would be.
"""
import ast
import importlib.util
import json
import os
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

STDLIB_AT = "/lib/python312.zip/"
DATE = (1980, 1, 1, 0, 0, 0)


def without_docstrings(tree):
    """`tree` with the docstring of its module, classes and functions removed."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.copy_location(ast.Pass(), first)]
    return tree


def pyc(source, shown_as, docstrings=True):
    """The .pyc bytes of `source` (bytes), naming `shown_as` in tracebacks; SyntaxError if invalid."""
    tree = ast.parse(source, shown_as)
    code = compile(tree if docstrings else without_docstrings(tree), shown_as, "exec", dont_inherit=True)
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))


def put(zout, name, data):
    entry = zipfile.ZipInfo(name, DATE)
    entry.compress_type = zipfile.ZIP_DEFLATED
    zout.writestr(entry, data)


def compile_stdlib(src_zip, out_zip, keep_docstrings, hook=None):
    """A .pyc for every .py of `src_zip` (and `hook`'s source as sitecustomize.pyc) into
    `out_zip`, docstrings removed except in paths starting with one of `keep_docstrings`;
    returns how many were compiled."""
    n = 0
    with zipfile.ZipFile(src_zip) as zin, zipfile.ZipFile(out_zip, "w") as zout:
        for info in sorted(zin.infolist(), key=lambda i: i.filename):
            if not info.filename.endswith(".py"):
                continue
            keep = info.filename.startswith(keep_docstrings)
            try:
                code = pyc(zin.read(info), STDLIB_AT + info.filename, docstrings=keep)
            except SyntaxError:
                continue   # a few test files are invalid on purpose
            put(zout, info.filename[:-3] + ".pyc", code)
            n += 1
        if hook is not None:
            put(zout, "sitecustomize.pyc", pyc(hook, STDLIB_AT + "sitecustomize.py"))
    return n


def compile_numpy(out_zip, keep_docstrings):
    """`numpy/.../name.pyc` for every numpy module (tests too: trim.py leaves them out) into
    `out_zip`, docstrings removed as in compile_stdlib."""
    site = os.path.dirname(importlib.util.find_spec("numpy").submodule_search_locations[0])
    n = 0
    with zipfile.ZipFile(out_zip, "w") as zout:
        for folder, dirs, files in os.walk(os.path.join(site, "numpy")):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".py"):
                    source = os.path.join(folder, name)
                    rel = os.path.relpath(source, site)
                    with open(source, "rb") as f:
                        code = pyc(f.read(), source, docstrings=rel.startswith(keep_docstrings))
                    put(zout, rel[:-3] + ".pyc", code)
                    n += 1
    return n


def main():
    with open("/work/bytecode.json") as f:
        cfg = json.load(f)
    with open("/work/sitecustomize.py", "rb") as f:
        hook = f.read()
    keep = tuple(cfg["keep_docstrings"])
    print("stdlib", compile_stdlib("/work/python_stdlib.zip", "/work/out/stdlib-pyc.zip", keep, hook))
    print("numpy", compile_numpy("/work/out/numpy-pyc.zip", keep))


if __name__ == "__main__":
    main()
