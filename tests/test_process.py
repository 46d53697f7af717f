"""Importing zcgpt leaves the process alone; `python -m zcgpt` tunes it (zcgpt/process.py)
before numpy is imported."""

import os
import subprocess
import sys
from pathlib import Path

from zcgpt.process import BLAS_THREAD_VARS, tune_process

ROOT = Path(__file__).resolve().parent.parent


def python(code):
    """Run `code` in a fresh Python with no BLAS thread variable set; its stdout."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARS}
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_import_leaves_environment_and_malloc_alone():
    out = python("import sys, os, zcgpt\n"
                 "print(os.environ.get('OPENBLAS_NUM_THREADS'), 'ctypes' in sys.modules)")
    assert out == "None False"


def test_python_m_zcgpt_tunes_the_process_before_numpy():
    # runs zcgpt/__main__.py as `python -m zcgpt --version` does, noting whether numpy was
    # loaded when tune_process ran
    out = python("import os, runpy, sys\n"
                 "import zcgpt.process as p\n"
                 "real, seen = p.tune_process, []\n"
                 "p.tune_process = lambda: (seen.append('numpy' in sys.modules), real())\n"
                 "sys.argv = ['zcgpt', '--version']\n"
                 "try:\n"
                 "    runpy.run_module('zcgpt', run_name='__main__', alter_sys=True)\n"
                 "except SystemExit:\n"
                 "    pass\n"
                 "print(os.environ.get('OPENBLAS_NUM_THREADS'), seen)")
    assert out.splitlines()[-1] == "1 [False]"


def test_tune_process_sets_defaults_and_keeps_explicit_values(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    tune_process()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "3"
    assert os.environ["OMP_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "1"
