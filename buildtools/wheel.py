"""A pure-Python wheel of the zcgpt package, written with zipfile.

Neither `pip wheel --no-build-isolation` (no `wheel` package here) nor `python -m build` works
offline on this project's machines, and the wheel is trivial: every file of the package folder
(globbed, so new modules are never left out), METADATA, WHEEL and RECORD. Fixed timestamps and
sorted entries make it reproducible.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import tomllib
import zipfile
from pathlib import Path

from . import BuildError, log


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
    """The wheel of `root`/<project name>/ (from pyproject.toml), written to `out_dir`."""
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
