"""Run inside the shipped Pyodide under node by tests/test_build.py (through buildtools/bytecode.mjs,
with numpy from dist's lock and the zcgpt wheel installed as the page installs them).

Writes /work/found.json: where numpy, json and zcgpt were loaded from, whether a training step
gives a finite loss, a traceback raised inside zcgpt, a function's source, and the error of
importing modules the build left out (and of one that exists nowhere).
"""
import importlib
import inspect
import json
import traceback

import numpy

import zcgpt.data
import zcgpt.model
from zcgpt import presets
from zcgpt.data import make_dataset, parse_lines
from zcgpt.train import Trainer

found = {"numpy_file": numpy.__file__, "json_file": json.__file__, "zcgpt_file": zcgpt.model.__file__}

names = ["emma", "liam", "olivia", "noah", "ava", "mia", "lucas", "amelia", "ethan", "harper"] * 3
trainer = Trainer(presets["tiny"].replace(steps=3), make_dataset(parse_lines("\n".join(names), "names"), 0.2, 1), 1)
found["loss_finite"] = bool(numpy.isfinite(trainer.train_step()))

try:
    parse_lines(None, "nothing")          # fails inside zcgpt, whatever the message
except Exception:
    found["traceback"] = traceback.format_exc()
# the line of zcgpt/data.py that the traceback names, shown under it
lines = found.get("traceback", "").splitlines()
found["source_line_shown"] = any('zcgpt/data.py", line' in line and i + 1 < len(lines)
                                 and lines[i + 1].startswith("    ") and lines[i + 1].strip()
                                 for i, line in enumerate(lines))
found["source"] = inspect.getsource(zcgpt.model.GPT.forward)

found["left_out"] = {}
for name in ("imaplib", "numpy.random", "no_such_module_anywhere"):
    try:
        importlib.import_module(name)
        found["left_out"][name] = "imported"
    except ImportError as exc:
        found["left_out"][name] = f"{type(exc).__name__}: {exc}"

with open("/work/found.json", "w") as f:
    json.dump(found, f, indent=1)
