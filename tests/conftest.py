import json
import os
from pathlib import Path

# The matrices here are tiny: BLAS threads only fight each other on a 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "testdata" / "zeroclaw_reference.json"


@pytest.fixture(scope="session")
def reference():
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} is missing (it sits beside the repo as ../shared)")
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope="session")
def names_path():
    return ROOT / "names.txt"
