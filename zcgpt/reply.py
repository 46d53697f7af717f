"""What the page's backend modules share: the limits the page's form uses too, and how a
reply is made (a message dict, a refusal, a sentence)."""

from .config import Config
from .console import json_number
from .data import MAX_FILE_BYTES

CONFIG_FIELDS = set(Config.__dataclass_fields__) | {"seed"}

# Limits the page's form uses too: it reads them from the "ready" message.
LIMITS = {
    "steps": [1, 100_000],
    "seed": [0, 2 ** 32 - 1],
    "lr": [1e-5, 1.0],
    "generate": [1, 200],          # names per Generate
    "temperature": [0.05, 5.0],
    "data_bytes": MAX_FILE_BYTES,  # an uploaded list
    "model_bytes": 64 * 2 ** 20,   # an uploaded model file
    "workers": [1, 16],            # Pythons in the tab sharing a run's steps (#workers=N)
}


def out(kind, **fields):
    """A message to the page; JSON has no NaN or infinity, so those become null."""
    return {"type": kind, **{k: json_number(v) for k, v in fields.items()}}


class Refused(Exception):
    """A request the backend turns down, with the sentence the page shows."""


def in_range(value, name):
    lo, hi = LIMITS[name]
    if not lo <= value <= hi:
        shown = repr(value) if len(repr(value)) <= 20 else repr(value)[:17] + "..."
        raise Refused(f"{name} must be between {lo} and {hi}, got {shown}")
    return value


clean = json_number   # a number for a message: NaN and infinity become None


def sentence(exc):
    """An exception's message as a sentence: capital first (unless it starts with a field's
    name), full stop last."""
    text = str(exc).strip() or type(exc).__name__
    if text.split()[0] not in CONFIG_FIELDS:      # a field's name keeps its spelling
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
