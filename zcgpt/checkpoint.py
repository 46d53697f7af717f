"""Checkpoints: one versioned JSON file with the config, vocabulary, parameters, step and metrics.

The browser reads and writes the same format, so it is plain JSON (no NaN or Infinity) and every
parameter is a flat list of numbers with its shape. A float32 value goes through Python's float
(the shortest repr that round-trips float64), which round-trips float32 exactly as well.
Anything that is not a checkpoint this version can load stops with one sentence (CheckpointError).

Layout (version 1):
    {"format": "zcgpt-checkpoint", "version": 1, "zcgpt_version": "0.1.0",
     "config": Config.to_dict(), "vocab": ["<BOS>", "<EOS>", "a", ...],
     "params": {"wte": {"shape": [V, C], "data": [...]}, ...},
     "step": int, "seed": int | null, "metrics": {name: number | null, ...}}
"""

import json
import math
from pathlib import Path

import numpy as np

from . import __version__
from .config import Config
from .data import SPECIALS, DataError, Vocab
from .model import GPT, MAX_PARAMS, param_count

FORMAT = "zcgpt-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a loadable checkpoint; the message is one sentence saying why."""


def _clean_metric(v):
    # JSON has no NaN/Infinity: a missing value (e.g. val loss with no validation set) is null
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, (list, tuple)):
        return [_clean_metric(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _clean_metric(x) for k, x in v.items()}
    raise CheckpointError(f"metric value {v!r} cannot be stored in a checkpoint.")


def to_dict(model, vocab, step=0, metrics=None, seed=None) -> dict:
    """The checkpoint as a JSON-ready dict; refuses non-finite parameters (a diverged run)."""
    if model.vocab_size != vocab.size:
        raise CheckpointError(f"the model has {model.vocab_size} token rows but the vocabulary has"
                              f" {vocab.size} entries.")
    params = {}
    for name, p in model.params.items():
        if not np.all(np.isfinite(p)):
            raise CheckpointError(f"parameter {name} contains NaN or infinity (training diverged);"
                                  f" not saving it.")
        params[name] = {"shape": list(p.shape), "data": p.reshape(-1).astype(float).tolist()}
    return {
        "format": FORMAT,
        "version": VERSION,
        "zcgpt_version": __version__,
        "config": model.config.to_dict(),
        "vocab": list(vocab.itos),
        "params": params,
        "step": int(step),
        "seed": None if seed is None else int(seed),
        "metrics": _clean_metric(dict(metrics or {})),
    }


def _need(cond, msg):
    if not cond:
        raise CheckpointError(f"not a usable zcgpt checkpoint: {msg}.")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def from_dict(d) -> tuple:
    """(model, vocab, meta) from a checkpoint dict; meta has step, seed, metrics, format, version."""
    _need(isinstance(d, dict), "the top level is not a JSON object")
    if d.get("format") != FORMAT:
        raise CheckpointError(f"not a zcgpt checkpoint: format is {d.get('format')!r},"
                              f" expected {FORMAT!r}.")
    version = d.get("version")
    if version != VERSION:
        raise CheckpointError(f"checkpoint version {version!r} is not supported; this zcgpt"
                              f" ({__version__}) reads version {VERSION}.")
    for key in ("config", "vocab", "params"):
        _need(key in d, f"the {key!r} entry is missing")
    try:
        config = Config.from_dict(d["config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"not a usable zcgpt checkpoint: {e}.") from None

    itos = d["vocab"]
    _need(isinstance(itos, list) and itos[:2] == list(SPECIALS),
          "the vocabulary must be a list starting with <BOS>, <EOS>")
    try:
        vocab = Vocab(itos[2:])
    except DataError as e:
        raise CheckpointError(f"not a usable zcgpt checkpoint: {e}") from None
    _need(vocab.itos == itos, "the vocabulary characters are not unique and sorted")

    step, seed = d.get("step", 0), d.get("seed")
    _need(_is_int(step) and step >= 0, "step must be a non-negative integer")
    _need(seed is None or _is_int(seed), "seed must be an integer or null")
    metrics = d.get("metrics") or {}
    _need(isinstance(metrics, dict), "metrics must be an object")

    n = param_count(config, vocab.size)
    _need(n <= MAX_PARAMS, f"its config has {n:,} parameters; zcgpt loads models under {MAX_PARAMS:,}")
    model = GPT(config, vocab.size, init=False)
    params = d["params"]
    _need(isinstance(params, dict), "params must be an object")
    missing = [n for n in model.params if n not in params]
    extra = [n for n in params if n not in model.params]
    _need(not missing, f"parameter(s) {', '.join(missing)} missing for this config")
    _need(not extra, f"unexpected parameter(s) {', '.join(extra)} for this config")
    for name, p in model.params.items():
        entry = params[name]
        _need(isinstance(entry, dict) and "shape" in entry and "data" in entry,
              f"parameter {name} needs 'shape' and 'data'")
        shape = entry["shape"]
        _need(isinstance(shape, list) and tuple(shape) == p.shape,
              f"parameter {name} has shape {shape}, but the config and vocabulary ({vocab.size}"
              f" tokens) need {list(p.shape)}")
        data = entry["data"]
        _need(isinstance(data, list) and len(data) == p.size,
              f"parameter {name} has {len(data) if isinstance(data, list) else 'no list of'} values,"
              f" expected {p.size}")
        _need(all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in data),
              f"parameter {name} holds something other than numbers")
        arr = np.array(data, dtype=np.float64)
        _need(bool(np.all(np.isfinite(arr))), f"parameter {name} contains non-finite values")
        p[...] = arr.astype(model.dtype).reshape(p.shape)
    meta = {"format": FORMAT, "version": VERSION, "step": step, "seed": seed, "metrics": metrics,
            "zcgpt_version": d.get("zcgpt_version")}
    return model, vocab, meta


def dumps(model, vocab, step=0, metrics=None, seed=None) -> str:
    return json.dumps(to_dict(model, vocab, step, metrics, seed), allow_nan=False,
                      separators=(",", ":"))


def loads(text: str) -> tuple:
    if not isinstance(text, str) or not text.strip():
        raise CheckpointError("not a zcgpt checkpoint: the file is empty.")
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        cut = " (the file looks truncated)" if not text.rstrip().endswith("}") else ""
        raise CheckpointError(f"not a zcgpt checkpoint: invalid JSON at line {e.lineno} column"
                              f" {e.colno}{cut}.") from None
    except RecursionError:
        raise CheckpointError("not a zcgpt checkpoint: the JSON is nested too deeply.") from None
    return from_dict(d)


def save(path, model, vocab, step=0, metrics=None, seed=None) -> None:
    """Writes to a temporary file first, so an interrupted save never leaves half a checkpoint."""
    text = dumps(model, vocab, step, metrics, seed)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(f"cannot write the checkpoint {path} ({e.strerror or e}).") from None


def load(path) -> tuple:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file.") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path} is a directory, not a checkpoint file.") from None
    except OSError as e:
        raise CheckpointError(f"{path} cannot be read ({e.strerror or e}).") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path} is not a zcgpt checkpoint (not UTF-8 JSON).") from None
    try:
        return loads(text)
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
