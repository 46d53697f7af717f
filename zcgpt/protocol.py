"""Every message between the page and its Python worker, with its fields, in one table.

Messages are JSON objects with a "type" and the fields below. A field's spec is a type name
(str, int, number, bool, list, dict, any) with "?" when it may be left out or null. The
worker checks what it receives against TO_WORKER (check_message); tests check what the
backend sends against TO_PAGE, and that the page's JavaScript sends and handles exactly these
kinds (tests/test_protocol.py).
"""

import math

# page -> worker
TO_WORKER = {
    "init": {"data": "str", "hash": "str?", "timings": "list?", "snapshot_s": "number?"},   # start-up: the names' URL, the address's
                                                               # hash, the runs the page kept (done's timings)
    "train": {"preset": "str", "seed": "int", "changes": "dict", "data": "str?", "from_model": "bool?",
              "snapshot": "str?"},                         # snapshot: a "snapshot" text to continue from
    "design": {"preset": "str", "changes": "dict", "id": "int"},   # changes: Config fields by name
    "pause": {"by": "str?"},                                   # by: "user" or "hidden" (tab in the background)
    "unpause": {"by": "str?"},
    "stop": {},
    "reset": {},
    "generate": {"n": "int", "temperature": "number", "prefix": "str", "seed": "int"},
    "data": {"via": "str", "name": "str", "text": "str?", "b64": "str?"},   # pasted text or a file's base64
    "builtin": {"name": "str", "url": "str"},                  # a list shipped with the page
    "save": {"keep": "bool?"},                                 # keep: a copy for the page, not a download
    "ping": {"id": "int"},
    "helper": {"id": "int"},                                   # a helper worker's port comes with it
    "helper_gone": {"id": "int", "reason": "str?"},            # it died, failed or was let go
    "watch": {"gradients": "bool"},                            # the gradient panel opened or closed
    "write": {"id": "int", "seed": "int", "temperature": "number", "top_k": "int", "prefix": "str",
              "upto": "int"},                              # the first `upto` letters of one name                                     # the page checks Python still answers
    "load_model": {"name": "str", "text": "str"},
    "inspect": {"what": "str", "id": "int", "text": "str?"},   # what: probs, attention, embedding, source
}

# worker -> page
TO_PAGE = {
    "stage": {"stage": "str", "python": "str?", "numpy": "str?", "zcgpt": "str?"},
    "ready": {"seconds": "number", "numpy": "str", "zcgpt": "str", "bytecode": "dict", "items": "int",
              "vocab_size": "int", "chars": "str", "longest": "str", "presets": "dict", "limits": "dict", "fields": "list", "link": "dict",
              "engine": "str", "engine_note": "str?"},        # engine: "simd" or "numpy"; the note says why numpy
    "start": {"run": "int", "preset": "str", "steps": "int", "lr": "number", "seed": "int",
              "init_val": "number?", "params": "int", "vocab_size": "int", "uniform": "number",
              "n_train": "int", "n_val": "int", "config": "dict", "report_every": "int",
              "val_every": "int", "val_items": "int", "from_model": "bool", "base_step": "int",
              "continued_at": "int", "busy": "number"},             # busy: seconds trained before (continued)
    "progress": {"run": "int", "step": "int", "steps": "int", "loss": "number?", "points": "list",
                 "tokens": "int", "tick_tokens": "int", "tick_s": "number", "busy": "number",
                 "val": "number?", "samples": "list?", "parts": "list?",   # parts: [[step, {part: [grad, ratio]}]]
                 "workers": "int?"},                           # workers sharing the steps
    "paused": {"paused": "bool", "by": "str"},
    "snapshot": {"run": "int", "step": "int", "text": "str", "ms": "number"},   # the run so far, for the page
                                                                              # to keep; ms: what it cost
    "halted": {"run": "int", "stopped": "bool", "step": "int", "steps": "int"},
    "done": {"run": "int", "stopped": "bool", "step": "int", "steps": "int", "val": "number?",
             "tokens": "int", "busy": "number", "samples": "list", "train_loss": "number?",
             "novelty": "number?", "shared": "dict?",   # shared: ms per step of sharing it (shards.Pool)
             "timings": "list?"},      # the tab's newest timed runs, for the page to keep (zcgpt.design)
    "design": {"id": "int", "problems": "dict", "measured": "bool?", "config": "dict?", "params": "int?",
               "tokens_per_step": "number?", "multiply_adds": "int?", "memory_mb": "number?",
               "est_seconds": "number?", "refused": "str?"},
    "written": {"id": "int", "note": "str?", "prefix": "str?", "letters": "list?", "itos": "list?",
                "probs": "list?", "att": "list?", "done": "bool?", "step": "int?"},
    "generated": {"names": "list", "note": "str?", "temperature": "number?", "prefix": "str?"},
    "reset": {},
    "data": {"source": "str", "via": "str", "items": "int", "vocab_size": "int", "chars": "str",
             "longest": "str", "longest_len": "int", "first": "list"},
    "data_error": {"source": "str", "via": "str", "message": "str"},
    "checkpoint": {"text": "str", "step": "int", "bytes": "int", "keep": "bool?"},
    "pong": {"id": "int"},
    "busy": {"seconds": "number", "what": "str"},              # a long call starts: the page waits this
                                                               # long before taking silence for death
    "workers": {"helpers": "int", "working": "int?", "dropped": "int?", "reason": "str?"},   # helper
                                                      # count; working: sharing this run's steps
    "model_loaded": {"name": "str", "step": "int", "seed": "int", "params": "int", "vocab_size": "int",
                     "chars": "str", "config": "dict", "metrics": "dict"},
    "model_error": {"action": "str", "name": "str?", "message": "str"},
    "insight": {"what": "str?", "id": "int?", "note": "str?", "step": "int?", "itos": "list?",
                "text": "str?", "probs": "list?", "att": "list?", "coords": "list?", "share": "list?",
                "parts": "list?"},
    "error": {"where": "str", "message": "str", "trace": "str?"},
}

# page -> helper worker (site/helper.py), and back; the rest goes between the leader and its
# helpers over their own port (zcgpt/shards.py)
TO_HELPER = {"attach": {}}                                     # a MessageChannel port comes with it
FROM_HELPER = {"attached": {}}

_TYPES = {"str": str, "int": int, "number": (int, float), "bool": bool, "list": list, "dict": dict,
          "any": object}


class ProtocolError(ValueError):
    """A message that does not match the table: one sentence, naming the message and field."""


def check_message(msg, table=TO_WORKER):
    """The message's kind if `msg` matches `table`; ProtocolError naming what does not."""
    if not isinstance(msg, dict):
        raise ProtocolError(f"a message must be a JSON object, got {type(msg).__name__}")
    kind = msg.get("type")
    if not isinstance(kind, str) or kind not in table:
        raise ProtocolError(f"unknown message type {kind!r}")
    spec = table[kind]
    extra = sorted(set(msg) - set(spec) - {"type"})
    if extra:
        raise ProtocolError(f"message {kind!r} has unknown field(s) {', '.join(extra)}")
    for name, want in spec.items():
        optional = want.endswith("?")
        t = want.rstrip("?")
        value = msg.get(name)
        if value is None:
            if optional:
                continue
            raise ProtocolError(f"message {kind!r} needs the field {name!r} ({t})")
        ok = isinstance(value, _TYPES[t]) and not (t in ("int", "number") and isinstance(value, bool))
        if ok and t == "number":
            ok = math.isfinite(value)
        if not ok:
            raise ProtocolError(f"message {kind!r}: {name!r} must be {'a finite number' if t == 'number' else t},"
                                f" got {_short(value)}")
    return kind


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
