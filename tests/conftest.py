import json
import os
from pathlib import Path

# The matrices here are tiny: BLAS threads only fight each other on a 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest

ROOT = Path(__file__).resolve().parent.parent
# zeroclaw's recorded figures (see tests/data/README.md); part of the repository, never skipped
REFERENCE = ROOT / "tests" / "data" / "zeroclaw_reference.json"


@pytest.fixture(scope="session")
def reference():
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope="session")
def names_path():
    return ROOT / "names.txt"
