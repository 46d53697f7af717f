"""The page's Python, trimmed: only the modules it loads, as bytecode, from the official files.

python_stdlib.zip  npm's standard library reduced to the modules the page loads (imports.py
                   records them under the shipped Pyodide) plus STDLIB_MARGIN, each as a .pyc
                   in place of its source; plus sitecustomize (sitecustomize_pyodide.py), which
                   names a left-out module should anything ever import one, and the list of
                   what was left out.
numpy wheel        the official wheel (its sha256 checked against Pyodide's lock first) with
                   the modules the page loads as .pyc in place of their sources and the compiled
                   extensions it loads byte for byte; no tests, f2py, distutils, typing stubs,
                   headers or subpackages the page never imports. Its METADATA, WHEEL and
                   LICENSE.txt stay; RECORD lists what it holds.

Both are pure functions of their inputs (sorted entries, fixed times, one compression level):
the same bytes on every build. zcgpt's own wheel keeps its sources (the page shows them).
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile

from . import BuildError

DATE = (1980, 1, 1, 0, 0, 0)
LEVEL = 9
LEFT_OUT_FILE = "zcgpt-left-out.txt"     # read by sitecustomize_pyodide.py
HOOK_PYC = "sitecustomize.pyc"

# Standard-library modules shipped although the recording may not load them: the page reaches
# them only in some cases. A name ending in ".*" is a whole package.
STDLIB_MARGIN = (
    # an error report with source lines (zcgpt's files, read through linecache and tokenize)
    "traceback", "linecache", "tokenize", "token",
    # codecs looked up by name when a text is decoded or encoded (utf-8 is built in)
    "encodings.ascii", "encodings.latin_1", "encodings.utf_8_sig", "encodings.utf_16", "encodings.utf_16_le",
    "encodings.utf_16_be", "encodings.utf_32", "encodings.utf_32_le", "encodings.utf_32_be",
    "encodings.unicode_escape", "encodings.raw_unicode_escape", "encodings.cp1252",
    # Pyodide's own Python API, which its JavaScript side may call into at any time
    "pyodide.*", "_pyodide.*", "importlib.*",
)
# Never shipped, whatever loads them: the recording's own tools and Windows-only modules.
STDLIB_NEVER = ("asyncio.windows_events", "asyncio.windows_utils", "asyncio.proactor_events")


def module_name(path: str) -> str | None:
    """'json/decoder.py' -> 'json.decoder'; 'json/__init__.py' -> 'json'; an extension module's
    file -> its name; None for anything else."""
    if path.endswith(".py"):
        stem = path[:-3]
    elif path.endswith(".so"):
        stem = path[:-3].split(".")[0]     # name.cpython-312-wasm32-emscripten.so
    else:
        return None
    stem = stem.removesuffix("/__init__")
    return stem.replace("/", ".")


def margin_entries(sources: list[str], margin) -> set[str]:
    """The .py entries of `sources` that `margin` names (a module, or a package with '.*')."""
    out = set()
    for name in margin:
        whole = name.endswith(".*")
        base = name.removesuffix(".*").replace(".", "/")
        hits = [s for s in sources
                if s in (base + ".py", base + "/__init__.py") or (whole and s.startswith(base + "/"))]
        if not hits:
            raise BuildError(f"the safety margin names {name!r}, which the standard library zip does not have")
        out.update(hits)
    return out


def write_zip(entries: dict[str, bytes]) -> bytes:
    """A zip of `entries` (name -> bytes; names ending in '/' are folders), sorted, fixed times."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, DATE)
            info.external_attr = (0o40755 << 16 | 0x10) if name.endswith("/") else 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name], compresslevel=LEVEL)
    return buf.getvalue()


def folders_of(paths) -> set[str]:
    """Every folder entry ('a/', 'a/b/') the files `paths` sit in."""
    out = set()
    for p in paths:
        parts = p.split("/")[:-1]
        out.update("/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1))
    return out


def trim_stdlib(official: bytes, compiled: bytes, loaded: list[str], left_out_numpy=(),
                margin=STDLIB_MARGIN) -> tuple[bytes, list[str]]:
    """The shipped python_stdlib.zip from npm's (`official`), the compile step's .pyc files
    (`compiled`), the recorded entries (`loaded`) and the safety `margin`; and the names of the
    modules left out.

    `left_out_numpy` are module names of numpy the wheel leaves out; the hook names them too.
    """
    with zipfile.ZipFile(io.BytesIO(official)) as zf:
        sources = [n for n in zf.namelist() if n.endswith(".py")]
    never = {n.replace(".", "/") + ".py" for n in STDLIB_NEVER}
    keep = ({n for n in loaded if n.endswith(".py")} | margin_entries(sources, margin)) - never
    unknown = keep - set(sources)
    if unknown:
        raise BuildError(f"the recording names files the standard library zip does not have: {sorted(unknown)[:5]}")
    entries = {}
    with zipfile.ZipFile(io.BytesIO(compiled)) as zc:
        have = set(zc.namelist())
        for src in keep:
            pyc = src[:-3] + ".pyc"
            if pyc not in have:
                raise BuildError(f"no bytecode for {src} in the compile step's output: delete .cache/bytecode and build again")
            entries[pyc] = zc.read(pyc)
        entries[HOOK_PYC] = zc.read(HOOK_PYC)
    entries.update(dict.fromkeys(folders_of(entries), b""))
    left_out = sorted({module_name(s) for s in sources if s not in keep} | set(left_out_numpy))
    entries[LEFT_OUT_FILE] = ("\n".join(left_out) + "\n").encode()
    return write_zip(entries), left_out


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def trim_numpy(official: bytes, compiled: bytes, loaded: list[str]) -> tuple[bytes, list[str]]:
    """The shipped numpy wheel from the official one, the compile step's .pyc files and the
    recorded files (`loaded`: numpy/... modules and extensions); and the names of the modules
    left out."""
    loaded = set(loaded)
    entries, left_out = {}, set()
    with zipfile.ZipFile(io.BytesIO(official)) as zw, zipfile.ZipFile(io.BytesIO(compiled)) as zc:
        have = set(zc.namelist())
        names = zw.namelist()
        info_dir = next((n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")), None)
        if info_dir is None:
            raise BuildError("the numpy wheel has no .dist-info folder")
        for name in names:
            if name.startswith(info_dir + "/"):
                if name.rsplit("/", 1)[1] in ("METADATA", "WHEEL", "LICENSE.txt"):
                    entries[name] = zw.read(name)
                continue
            module = module_name(name)
            if name not in loaded:
                if module is not None and "/tests/" not in name:
                    left_out.add(module)
                continue
            if name.endswith(".so"):
                entries[name] = zw.read(name)          # the compiled extension, byte for byte
            elif name[:-3] + ".pyc" in have:
                entries[name[:-3] + ".pyc"] = zc.read(name[:-3] + ".pyc")
            else:
                raise BuildError(f"no bytecode for {name} in the compile step's output: delete .cache/bytecode and build again")
    missing = loaded - set(names)
    if missing:
        raise BuildError(f"the recording names files the numpy wheel does not have: {sorted(missing)[:5]}")
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name in sorted(entries):
        writer.writerow([name, record_hash(entries[name]), len(entries[name])])
    writer.writerow([f"{info_dir}/RECORD", "", ""])
    entries[f"{info_dir}/RECORD"] = record.getvalue().encode()
    return write_zip(entries), sorted(left_out)


def trimmed_wheel_name(official_name: str) -> str:
    """numpy-2.0.2-cp312-... -> numpy-2.0.2+zcgpt-cp312-...: a local version, as PEP 440 marks a
    build changed downstream (Pyodide reads the name only for its package name)."""
    name, version, rest = official_name.split("-", 2)
    return f"{name}-{version}+zcgpt-{rest}"
