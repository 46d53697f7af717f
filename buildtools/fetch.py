"""Checksums and the download cache: every fetched file is checked against its pin (pins.py)
and kept in a git-ignored cache, so a second build makes no network call at all.

Fetching goes through the ordinary clients: `npm pack` for npm packages, `pip download` for PyPI.
"""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import BuildError, log
from .pins import NpmPackage, PypiFile


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


def cache_path(item: NpmPackage | PypiFile, cache: Path) -> Path:
    """Where a pinned download sits in the cache."""
    if isinstance(item, NpmPackage):
        return cache / "npm" / item.tarball
    return cache / "pypi" / item.filename


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
                    "the registry served different bytes than the pinned checksum in buildtools/pins.py; "
                    "nothing was cached. Check the version pin, or the network path (a proxy rewriting files?)")
        os.replace(got, path)
    return path


def fetch_npm(pkg: NpmPackage, cache: Path) -> Path:
    def fetch(tmp: Path) -> Path:
        npm = shutil.which("npm") or "npm"
        run_fetch([npm, "pack", f"{pkg.name}@{pkg.version}", "--pack-destination", str(tmp)],
                  cwd=tmp, what=f"{pkg.name}@{pkg.version} from npm")
        return tmp / pkg.tarball
    return cached(cache_path(pkg, cache), pkg.integrity, fetch)


def fetch_pypi(pf: PypiFile, cache: Path) -> Path:
    def fetch(tmp: Path) -> Path:
        req = tmp / "requirements.txt"
        req.write_text(f"{pf.name}=={pf.version} --hash=sha256:{pf.sha256}\n")
        run_fetch([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--require-hashes", "-r", str(req), "-d", str(tmp / "out")],
                  cwd=tmp, what=f"{pf.name}=={pf.version} from PyPI")
        return tmp / "out" / pf.filename
    return cached(cache_path(pf, cache), pf.sha256, fetch)
