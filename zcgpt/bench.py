"""`python -m zcgpt bench`: training throughput of each preset and the zeroclaw run's wall time.

Both go through the package's one run loop (zcgpt.run). The zeroclaw run trains on the
reference's 300 names when the reference figures are found (the repository keeps them in
tests/data/), else on the first 300 names of --data.
"""

import json
import math
import time
from pathlib import Path

from .config import presets
from .data import DataError

REFERENCE = Path("tests") / "data" / "zeroclaw_reference.json"
MAX_REFERENCE_BYTES = 16 * 2**20  # read whole: a cap far above the real file, so a wrong path is refused


def find_reference(path):
    """--reference, else tests/data/ of the checkout this package runs from (or of the current
    directory); None for an installed package away from a checkout."""
    if path is not None:
        return Path(path)
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (base / REFERENCE).is_file():
            return (base / REFERENCE).resolve()
    return None


def load_reference(path):
    """(names, losses per step or None) from a zeroclaw reference file; DataError if unusable."""
    def bad(why):
        return DataError(f"{path} is not a usable zeroclaw reference file: {why}.")

    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_REFERENCE_BYTES + 1)
    except FileNotFoundError:
        raise DataError(f"{path}: no such reference file.") from None
    except OSError as e:
        raise DataError(f"{path} cannot be read ({e.strerror or e}).") from None
    if len(raw) > MAX_REFERENCE_BYTES:
        raise bad(f"it is over {MAX_REFERENCE_BYTES // 2**20} MB")
    try:
        ref = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):  # ValueError: bad JSON, or an int of 5,000 digits
        raise bad("not valid UTF-8 JSON") from None
    except RecursionError:
        raise bad("its JSON is nested too deeply") from None
    if not isinstance(ref, dict):
        raise bad("the top level is not a JSON object")
    names = ref.get("names")
    if not (isinstance(names, list) and len(names) >= 2 and all(
            isinstance(n, str) and n.strip() == n and n and n.isprintable() for n in names)):
        raise bad("'names' must be a list of at least 2 one-line names")
    losses = ref.get("loss_per_step")
    if losses is not None and not (isinstance(losses, list) and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
            for x in losses)):
        raise bad("'loss_per_step' must be a list of finite numbers")
    return names, losses


def bench_preset(name, items, seconds):
    from .data import make_dataset
    from .run import Run, Schedule
    from .train import Trainer

    # measures for `seconds` or to the end of the preset's recipe, whichever comes first
    tr = Trainer(presets[name], make_dataset(items, 0.1, 0), seed=0)
    run = Run(tr, Schedule(report_every=tr.config.steps, val_every=0, val_items=(), val_last=False))
    steps = run.steps()
    for _ in range(3):  # warm-up: first calls allocate
        next(steps)
    tok0, steps0, t0 = tr.tokens_seen, tr.step, time.perf_counter()
    for _ in steps:
        if time.perf_counter() - t0 >= seconds and tr.step - steps0 >= 5:
            break
    dt = time.perf_counter() - t0
    return {"tokens_per_s": round((tr.tokens_seen - tok0) / dt, 1), "steps": tr.step - steps0,
            "seconds": round(dt, 3), "params": tr.model.num_params(),
            "batch_size": presets[name].batch_size}


def bench_zeroclaw(names, steps, reference_losses=None):
    from .data import make_dataset
    from .run import Run, Schedule
    from .train import Trainer

    tr = Trainer(presets["zeroclaw"], make_dataset(names, 0.0, 42), seed=42)
    # a point every step: its train loss is that step's loss
    run = Run(tr, Schedule(report_every=1, val_every=0, val_items=(), val_last=False))
    t0, losses = time.perf_counter(), []
    for point in run.steps():
        losses.append(point.train_loss)
        if len(losses) == steps:
            break
    out = {"steps": steps, "seconds": round(time.perf_counter() - t0, 3),
           "final_loss": losses[-1], "mean_loss_last_500": sum(losses[-500:]) / len(losses[-500:])}
    if reference_losses and len(reference_losses) >= steps:
        # float32 rounding differences grow over thousands of steps, so compare the start
        # step by step and the end on average
        k = min(100, steps)
        out["max_abs_diff_first_100"] = max(abs(a - b) for a, b in zip(losses[:k], reference_losses))
        ref_tail = reference_losses[:steps][-500:]
        out["reference_mean_loss_last_500"] = sum(ref_tail) / len(ref_tail)
    return out


def run_bench(items, data_name, seconds, zeroclaw_steps, reference, report):
    """Each preset's throughput for `seconds`, then zeroclaw's run of `zeroclaw_steps` (0: none)
    on the reference's names when found, else on the first 300 items; report(name, figures) after
    each preset and report(None, figures) after the zeroclaw run. Returns {"presets": {name: figures}, "zeroclaw": figures}."""
    names, ref_losses, source = items[:300], None, f"first 300 of {data_name}"
    if zeroclaw_steps:  # a bad reference file stops the bench before it runs
        ref_path = find_reference(reference)
        if ref_path is not None:
            (names, ref_losses), source = load_reference(ref_path), str(ref_path)
    result = {"presets": {}}
    for name in presets:
        result["presets"][name] = r = bench_preset(name, items, seconds)
        report(name, r)
    if zeroclaw_steps:
        z = bench_zeroclaw(names, zeroclaw_steps, ref_losses)
        z["names"], z["n_names"] = source, len(names)
        result["zeroclaw"] = z
        report(None, z)
    return result
