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
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from . import __version__
from .config import Config, presets
from .data import MAX_DISTINCT_CHARS, SPECIALS, DataError, Vocab
from .model import GPT, MAX_PARAMS, param_count

FORMAT = "zcgpt-checkpoint"
VERSION = 1
MAX_BYTES = MAX_PARAMS * 32 + 2**20  # ~25 characters per parameter, plus the rest
MAX_DEPTH = 16      # a checkpoint nests 4 deep; Python in the tab dies before a RecursionError
MAX_INT_DIGITS = 20  # no field needs more (2**64 has 20 digits)
# A JSON string, or an unterminated one (to the end, so the scan stays linear).
_STRING = re.compile(r'"(?:[^"\\]|\\[\s\S])*+"|"[\s\S]*')
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))


class CheckpointError(ValueError):
    """A file that is not a loadable checkpoint; the message is one sentence saying why."""


def _short(v, n=40):
    r = repr(v)
    return r if len(r) <= n else r[:n] + "…"


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


def to_dict(model, vocab, step=0, metrics=None, seed=None, resume=None) -> dict:
    """The checkpoint as a JSON-ready dict; refuses non-finite parameters (a diverged run).
    `resume`, when given, is the state a run needs to go on (Trainer.state), kept as it is."""
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
        **({"resume": resume} if resume is not None else {}),
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
        raise CheckpointError(f"not a zcgpt checkpoint: format is {_short(d.get('format'))},"
                              f" expected {FORMAT!r}.")
    version = d.get("version")
    if version != VERSION:
        raise CheckpointError(f"checkpoint version {_short(version)} is not supported; this zcgpt"
                              f" ({__version__}) reads version {VERSION}.")
    for key in ("config", "vocab", "params"):
        _need(key in d, f"the {key!r} entry is missing")
    if isinstance(d["config"], dict):  # 1e400 parses as inf
        for k, v in d["config"].items():
            _need(not isinstance(v, float) or math.isfinite(v),
                  f"config field {_short(k)} is {v}, not a finite number")
    try:
        config = Config.from_dict(d["config"])
    except (TypeError, ValueError, OverflowError) as e:
        raise CheckpointError(f"not a usable zcgpt checkpoint: {str(e)[:200]}.") from None

    itos = d["vocab"]
    _need(isinstance(itos, list) and itos[:2] == list(SPECIALS),
          "the vocabulary must be a list starting with <BOS>, <EOS>")
    _need(len(itos) <= len(SPECIALS) + MAX_DISTINCT_CHARS,
          f"the vocabulary has {len(itos) - 2} characters; the limit is {MAX_DISTINCT_CHARS}")
    try:
        vocab = Vocab(itos[2:])
    except DataError as e:
        raise CheckpointError(f"not a usable zcgpt checkpoint: {e}") from None
    _need(vocab.itos == itos, "the vocabulary characters are not unique and sorted")

    step, seed = d.get("step", 0), d.get("seed")
    _need(_is_int(step) and step >= 0, "step must be a non-negative integer")
    _need(seed is None or _is_int(seed), "seed must be an integer or null")
    metrics = _checked_metrics(d.get("metrics") or {})

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
              f"parameter {name} has shape {_short(shape)}, but the config and vocabulary"
              f" ({vocab.size} tokens) need {list(p.shape)}")
        data = entry["data"]
        _need(isinstance(data, list) and len(data) == p.size,
              f"parameter {name} has {len(data) if isinstance(data, list) else 'no list of'} values,"
              f" expected {p.size}")
        _need(all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in data),
              f"parameter {name} holds something other than numbers")
        try:
            arr = np.array(data, dtype=np.float64)
        except OverflowError:  # an integer beyond float64
            arr = np.array([x if abs(x) < 2**1000 else math.inf for x in data])
        # what the model's dtype can hold: finite, and within float32's range for float32
        big = np.finfo(model.dtype).max
        bad = np.flatnonzero(~(np.abs(arr) <= big))
        if bad.size:
            i = int(bad[0])
            _need(False, f"parameter {name} value {i} is {_short(data[i], 24)}, which"
                         f" {model.dtype} cannot hold (finite, at most {big:.3g} in size)")
        p[...] = arr.astype(model.dtype).reshape(p.shape)
    meta = {"format": FORMAT, "version": VERSION, "step": step, "seed": seed, "metrics": metrics,
            "zcgpt_version": d.get("zcgpt_version"), "resume": d.get("resume")}
    return model, vocab, meta


# metrics that are numbers (or null, for none): a file holding anything else there is refused
NUMBER_METRICS = ("train_loss", "val_loss", "bigram_val_loss", "seconds", "tokens", "tokens_per_s", "novelty",
                  "n_train", "n_val")


def _checked_metrics(metrics):
    """The file's metrics: each of NUMBER_METRICS a finite number or null (else CheckpointError);
    a preset this version does not know is left out (the model loads without it)."""
    _need(isinstance(metrics, dict), "metrics must be an object")
    for name in NUMBER_METRICS:
        v = metrics.get(name)
        ok = v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
        _need(ok, f"metrics.{name} must be a finite number or null, not {_short(v, 24)}")
    preset = metrics.get("preset")
    if preset is not None and not (isinstance(preset, str) and preset in presets):
        metrics = {k: v for k, v in metrics.items() if k != "preset"}
    return metrics


def dumps(model, vocab, step=0, metrics=None, seed=None, resume=None) -> str:
    return json.dumps(to_dict(model, vocab, step, metrics, seed, resume), allow_nan=False,
                      separators=(",", ":"))


def _depth(text):
    """Deepest nesting of [ and { outside strings, counted without recursion."""
    brackets = _STRING.sub("", text).encode("ascii", "ignore").translate(None, _NOT_BRACKET)
    depth = top = 0
    for i in range(0, len(brackets), 2**20):
        b = np.frombuffer(brackets[i:i + 2**20], np.uint8)
        c = depth + np.cumsum(np.where((b == ord("[")) | (b == ord("{")), 1, -1))
        top, depth = max(top, int(c.max())), int(c[-1])
        if top > MAX_DEPTH:
            break
    return top


class _HugeInt(Exception):
    pass


def _parse_int(s):
    if len(s.lstrip("-")) > MAX_INT_DIGITS:  # int() of thousands of digits is slow or refused
        raise _HugeInt(s)
    return int(s)


def _parse_constant(name):
    raise CheckpointError(f"not a zcgpt checkpoint: it holds {name}, which JSON does not allow.")


def loads(text: str) -> tuple:
    if not isinstance(text, str):
        raise CheckpointError(f"not a zcgpt checkpoint: expected text, got {type(text).__name__}.")
    if not text.strip():
        raise CheckpointError("not a zcgpt checkpoint: the file is empty.")
    if len(text) > MAX_BYTES:
        raise CheckpointError(f"not a zcgpt checkpoint: it is over {MAX_BYTES // 2**20} MB.")
    if _depth(text) > MAX_DEPTH:
        raise CheckpointError(f"not a zcgpt checkpoint: the JSON is nested more than {MAX_DEPTH}"
                              f" levels deep.")
    try:
        d = json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except json.JSONDecodeError as e:
        # cut short: an object that breaks off at the very end (or inside a string)
        cut = text.lstrip().startswith("{") and (e.pos >= len(text.rstrip())
                                                  or e.msg.startswith("Unterminated string"))
        raise CheckpointError(f"not a zcgpt checkpoint: invalid JSON at line {e.lineno} column"
                              f" {e.colno}{' (the file looks truncated)' if cut else ''}.") from None
    except _HugeInt as e:
        at = text.find(e.args[0])
        line, col = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        raise CheckpointError(f"not a usable zcgpt checkpoint: the integer at line {line} column"
                              f" {col} has {len(e.args[0].lstrip('-'))} digits, more than any field"
                              f" holds.") from None
    except RecursionError:
        raise CheckpointError("not a zcgpt checkpoint: the JSON is nested too deeply.") from None
    return from_dict(d)


def _umask():
    try:
        mask = os.umask(0)
        os.umask(mask)
        return mask
    except (AttributeError, OSError):
        return 0o022


def save(path, model, vocab, step=0, metrics=None, seed=None) -> None:
    """Writes a temporary file of its own beside `path` and renames it into place: an interrupted
    save never leaves half a checkpoint, and two saves to one path never share a file."""
    text = dumps(model, vocab, step, metrics, seed)
    path, tmp = Path(path), None
    if path.exists() and not path.is_file():  # the rename would replace a device or a FIFO
        raise CheckpointError(f"cannot write the checkpoint {path}: it is not a regular file.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a checkpoint is not
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise CheckpointError(f"cannot write the checkpoint {path} ({e.strerror or e}).") from None


def load(path) -> tuple:
    p = Path(path)
    try:
        with open(p, "rb") as f:  # capped: /dev/zero must not fill the memory
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file.") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path} is a directory, not a checkpoint file.") from None
    except OSError as e:
        raise CheckpointError(f"{path} cannot be read ({e.strerror or e}).") from None
    if len(raw) > MAX_BYTES:
        raise CheckpointError(f"{path} is larger than {MAX_BYTES // 2**20} MB; no zcgpt checkpoint"
                              f" is.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path} is not a zcgpt checkpoint (not UTF-8 JSON).") from None
    try:
        return loads(text)
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
