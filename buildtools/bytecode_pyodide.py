"""Run inside Pyodide by bytecode.mjs: compile the stdlib zip and numpy to bytecode.

Reads /work/bytecode.json and /work/python_stdlib.zip; writes /work/out/python_stdlib.zip
(every original entry, plus a .pyc beside each .py) and /work/out/numpy-bytecode.zip
(numpy's __pycache__ files). The .pyc files are unchecked-hash ones: Python takes them without
comparing file times, and each carries the hash of its source.
"""
import importlib.util
import json
import os
import py_compile
import zipfile

MODE = py_compile.PycInvalidationMode.UNCHECKED_HASH
SKIP_NUMPY_DIRS = ("tests", "__pycache__", "f2py", "_pyinstaller")


def pyc(source, shown_as, scratch):
    """The bytecode of the file `source`, naming `shown_as` in tracebacks."""
    out = os.path.join(scratch, "out.pyc")
    py_compile.compile(source, cfile=out, dfile=shown_as, doraise=True, invalidation_mode=MODE)
    with open(out, "rb") as f:
        return f.read()


def compile_stdlib(src_zip, out_zip, source_only, scratch):
    """Copy `src_zip` to `out_zip` with a .pyc after each .py outside the `source_only` top-level
    names; returns how many were compiled."""
    n = 0
    src = os.path.join(scratch, "src.py")
    with zipfile.ZipFile(src_zip) as zin, zipfile.ZipFile(out_zip, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data)
            if not info.filename.endswith(".py") or info.filename.split("/")[0] in source_only:
                continue
            with open(src, "wb") as f:
                f.write(data)
            try:
                code = pyc(src, "/lib/python312.zip/" + info.filename, scratch)
            except py_compile.PyCompileError:
                continue   # a few test files are invalid on purpose
            entry = zipfile.ZipInfo(info.filename[:-3] + ".pyc", info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(entry, code)
            n += 1
    return n


def compile_numpy(out_zip, scratch):
    """numpy's __pycache__ files (its tests and build helpers left out) into `out_zip`."""
    site = os.path.dirname(importlib.util.find_spec("numpy").submodule_search_locations[0])
    n = 0
    with zipfile.ZipFile(out_zip, "w", zipfile.ZIP_DEFLATED) as zout:
        for folder, dirs, files in os.walk(os.path.join(site, "numpy")):   # top-down: pruned below
            dirs[:] = sorted(d for d in dirs if d not in SKIP_NUMPY_DIRS)
            for name in sorted(files):
                if name.endswith(".py"):
                    source = os.path.join(folder, name)
                    rel = os.path.relpath(importlib.util.cache_from_source(source), site)
                    entry = zipfile.ZipInfo(rel, (1980, 1, 1, 0, 0, 0))
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    zout.writestr(entry, pyc(source, source, scratch))
                    n += 1
    return n


def main():
    with open("/work/bytecode.json") as f:
        cfg = json.load(f)
    print("stdlib", compile_stdlib("/work/python_stdlib.zip", "/work/out/python_stdlib.zip",
                                   tuple(cfg["stdlib_source_only"]), "/tmp"))
    print("numpy", compile_numpy("/work/out/numpy-bytecode.zip", "/tmp"))


if __name__ == "__main__":
    main()
