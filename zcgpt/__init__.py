"""zcgpt: a small GPT in plain numpy that learns names — on the desktop and in a browser tab."""

import os

# zcgpt's matrices are tiny: BLAS threads only contend with each other. This takes effect
# only if numpy is not imported yet, as for `python -m zcgpt`; an explicit setting in the
# environment wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _keep_freed_arrays():
    """glibc hands every freed block over 128 KiB back to the kernel and maps it again on the
    next step (mmap, munmap, page faults), which the larger presets pay for at every step.
    Raising the thresholds keeps that memory in the process. Linux/glibc only; a no-op
    elsewhere (macOS, Windows, Pyodide)."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc.mallopt(M_MMAP_THRESHOLD, 256 * 2**20)
        libc.mallopt(M_TRIM_THRESHOLD, 512 * 2**20)
    except (OSError, AttributeError, ImportError):
        pass


_keep_freed_arrays()

__version__ = "0.1.0"

__all__ = ["Config", "GPT", "presets", "__version__"]


def __getattr__(name):
    """Config, presets and GPT on first use, so `python -m zcgpt` answers Ctrl-C during its
    start-up with one line (numpy is imported inside the command's own error handling)."""
    if name in ("Config", "presets"):
        from . import config
        return getattr(config, name)
    if name == "GPT":
        from .model import GPT
        return GPT
    raise AttributeError(f"module 'zcgpt' has no attribute {name!r}")
