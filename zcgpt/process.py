"""Process settings for a desktop run of zcgpt: call tune_process() first thing in an entry
point (`python -m zcgpt`, `python build.py bench`'s CPython side), before numpy is imported.

Importing zcgpt changes nothing in the process; these settings are for the programs that
train with it, and take effect only if applied before numpy loads.
"""

import os

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def tune_process():
    """Set the process up for zcgpt's training on CPython.

    One BLAS thread: zcgpt's matrices are tiny, so more threads only contend with each other.
    A variable already set in the environment is left as it is. Takes effect only if numpy is
    not imported yet.

    Freed arrays stay in the process: glibc hands every freed block over 128 KiB back to the
    kernel and maps it again on the next step (mmap, munmap, page faults), which the larger
    presets pay for at every step; raising glibc's thresholds keeps that memory. Linux/glibc
    only; a no-op elsewhere (macOS, Windows, Pyodide).
    """
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc.mallopt(M_MMAP_THRESHOLD, 256 * 2**20)
        libc.mallopt(M_TRIM_THRESHOLD, 512 * 2**20)
    except (OSError, AttributeError, ImportError):
        pass
