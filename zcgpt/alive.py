"""How long the worker's next synchronous call may keep it silent, so the page's liveness check
(site/js/main.js) does not take a long step for a dead Python. Before a call expected to take
over QUIET_S the worker posts "busy" {seconds, what}; the page then waits that long plus its
usual margin. Calls are judged by their size (a list's characters), by the design's estimate
(zcgpt.design.call_seconds) and, once a run has stepped, by its measured step time.
"""

from .data import Vocab, split_sizes
from .design import DesignError, call_seconds, design_config
from .driver import TICK_S, VAL_FRAC
from .kernels import engine

QUIET_S = 2.0          # calls expected to be shorter need no word
MARGIN = 3.0           # times the expected seconds the page waits
CHARS_PER_S = 1e6      # a list is read, checked and split at least this fast (a floor well under what the tab does)
HEARTBEAT_S = 10.0     # a list check, every data.HEARTBEAT_LINES lines, says it may take this long
                       # to the next


def busy(seconds, what):
    """The "busy" message for a call of about `seconds`, or None when it is too short to mention."""
    if seconds < QUIET_S / MARGIN:
        return None
    return {"type": "busy", "seconds": round(MARGIN * seconds, 1), "what": what}


def for_text(chars, what="checking the list"):
    """A call that reads `chars` characters (a message's JSON, a list, a model file)."""
    return busy(chars / CHARS_PER_S, what)


def heartbeat():
    """What a long list check posts every data.HEARTBEAT_LINES lines."""
    return {"type": "busy", "seconds": HEARTBEAT_S, "what": "checking the list"}


def for_message(app, msg):
    """Before App.handle(msg): "busy", or None."""
    kind = msg.get("type")
    if kind == "data":
        return for_text(len(msg.get("b64") or msg.get("text") or ""))
    if kind in ("load_model", "inspect"):
        return for_text(len(msg.get("text") or ""), "reading the model")
    if kind == "train" and app.job is None and app.items is not None:
        chars = sum(map(len, app.items)) + len(msg.get("snapshot") or "") + len(app.loaded or "")
        step, val, _ = design_calls(app, msg)
        return busy(chars / CHARS_PER_S + step + val, "setting the run up")
    return None


def for_work(app):
    """Before App.work(TICK_S): the tick, its last step and a live validation, or None."""
    job = app.job
    if job is None:
        return None
    tr = job.trainer
    if job.calls is None:     # the design's guess, once per run
        ds = tr.dataset
        job.calls = call_seconds(tr.config, ds.vocab.size, ds.train[:2000] + ds.val[:200], len(ds.val),
                                 app.timings, engine())
    step, val, chunk = job.calls
    if job.final is not None or job.stop or job.run.done:     # the final evaluation, chunk by chunk
        return busy(chunk, "measuring the validation loss")
    done = tr.step - job.step0
    if done > 0 and job.run.train_seconds > 0:
        step = max(step / MARGIN, job.run.train_seconds / done)   # measured: trusted, within reason
    snapshot = tr.model.num_params() / 1e6 if job.pending_snapshot or job.snapshot_s < 60 else 0.0
    return busy(TICK_S + step + val + snapshot, "training")


def design_calls(app, msg):
    """(step, validation, final chunk) seconds of the design a "train" message asks for (zeros when
    unknown)."""
    if msg.get("snapshot") is not None or msg.get("from_model"):
        return 0.0, 0.0, 0.0     # their design is read later; their first tick says it is busy
    try:
        config = design_config(msg["preset"], msg["changes"])
    except (DesignError, TypeError, ValueError):
        return 0.0, 0.0, 0.0     # refused by App.on_train, quickly
    items = app.items
    return call_seconds(config, Vocab.from_items(items[:2000]).size, items[:2000],
                        split_sizes(len(items), VAL_FRAC), app.timings, engine())
