"""zcgpt: a small GPT in plain numpy that learns names — on the desktop and in a browser tab."""

import os

# zcgpt's matrices are tiny: BLAS threads only contend (on a busy 2-core machine the `small`
# preset ran 10x slower with them). This takes effect only if numpy is not imported yet,
# as for `python -m zcgpt`; an explicit setting in the environment wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__version__ = "0.1.0"

from .config import Config, presets
from .model import GPT

__all__ = ["Config", "GPT", "presets", "__version__"]
