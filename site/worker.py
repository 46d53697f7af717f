"""The page's Python half: runs in a PyScript worker, trains zcgpt, reports by messages.

The page (js/runtime.js) starts this file with PyScript's PyWorker and talks JSON both ways:
the page calls worker.postMessage(json) and we answer with js.postMessage(json). Without
SharedArrayBuffer (no COOP/COEP headers on GitHub Pages) a worker cannot touch the DOM, so
Python computes and the page draws.

Loading is staged so the page can say what it waits for: the interpreter is up when this file
runs; the "init" message then brings absolute URLs (a worker runs from a blob: URL, where
relative URLs do not resolve) and we load numpy, the zcgpt wheel and the names in turn.

Training runs as an asyncio task in slices of about SLICE_S seconds; between slices it awaits
asyncio.sleep(0), which lets the worker's event loop deliver the page's messages (pause,
stop, reset), so Stop is answered within one slice.
"""

import asyncio
import json
import math
import sys
import time
import traceback

import js
import pyodide_js
from polyscript import xworker
from pyodide.ffi import create_proxy
from pyodide.http import pyfetch

SLICE_S = 0.04         # seconds of training between yields (Stop latency is about this)
VAL_EVERY_S = 0.3      # seconds of training between validation estimates
SAMPLE_EVERY_S = 1.0   # seconds of training between live name samples
VAL_EVAL_S = 0.04      # budget of one live validation estimate (it runs between two yields)
LIVE_SAMPLES = 8
MAX_GENERATE = 200

state = {
    "items": None,       # the names, as zcgpt.data.parse_lines returns them
    "ds": None,          # zcgpt Dataset of the loaded names
    "train_set": None,   # set(ds.train), for "new" vs "in training set"
    "trainer": None,     # the current Trainer (kept after a run for generation)
    "task": None,        # the running training task
    "paused": False,
    "stop": False,
    "run_id": 0,
    "gen_count": 0,
}


def clean(x):
    """JSON has no NaN or infinity: send null instead."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def post(kind, **fields):
    fields = {k: clean(v) for k, v in fields.items()}
    js.postMessage(json.dumps({"type": kind, **fields}))


def post_error(where, exc):
    post("error", where=where, message=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())


def quiet(_msg):
    """Swallow Pyodide's 'Loading numpy' chatter (the page shows its own progress)."""


async def load(msg):
    t0 = time.perf_counter()
    post("stage", stage="numpy", python=sys.version.split()[0])
    await pyodide_js.loadPackage("numpy", messageCallback=create_proxy(quiet))
    import numpy
    post("stage", stage="zcgpt", numpy=numpy.__version__)
    await pyodide_js.loadPackage(msg["wheel"], messageCallback=create_proxy(quiet))
    import zcgpt
    from zcgpt import presets
    from zcgpt.data import Vocab, parse_lines
    post("stage", stage="data", zcgpt=zcgpt.__version__)
    resp = await pyfetch(msg["data"])
    if not resp.ok:
        raise RuntimeError(f"could not load {msg['data']} (HTTP {resp.status})")
    text = await resp.string()
    items = parse_lines(text, msg["data"].rsplit("/", 1)[-1])
    state["items"] = items
    vocab = Vocab.from_items(items)
    post("ready",
         seconds=time.perf_counter() - t0,
         numpy=numpy.__version__,
         zcgpt=zcgpt.__version__,
         items=len(items),
         vocab_size=vocab.size,
         chars="".join(vocab.chars),
         presets={name: {**cfg.to_dict(), "params": count_params(cfg, vocab.size)}
                  for name, cfg in presets.items()})


def count_params(cfg, vocab_size):
    from zcgpt.model import param_shapes
    return sum(math.prod(shape) for _, shape in param_shapes(cfg, vocab_size))


def label(names):
    train_set = state["train_set"]
    return [{"name": n, "new": n not in train_set} for n in names]


def sample_names(trainer, n, seed, temperature=1.0, prefix=""):
    from zcgpt.prng import Rng
    from zcgpt.sample import generate
    return generate(trainer.model, state["ds"].vocab, n, Rng(seed), temperature=temperature, prefix=prefix)


async def train(msg, run_id):
    from zcgpt import presets
    from zcgpt.data import make_dataset
    from zcgpt.train import Trainer

    seed = int(msg["seed"])
    base = presets[msg["preset"]]
    cfg = base.replace(steps=int(msg["steps"]), lr=float(msg["lr"]))
    ds = make_dataset(state["items"], val_frac=0.1, seed=seed)
    state["ds"] = ds
    state["train_set"] = set(ds.train)
    tr = Trainer(cfg, ds, seed)
    state["trainer"] = tr
    n_live = live_val_size(tr, ds.val)
    val_subset = ds.val[::max(1, len(ds.val) // n_live)][:n_live]   # spread over the file, not its head
    init_val = tr.evaluate(val_subset)   # about ln(V) before any step
    post("start", run=run_id, preset=msg["preset"], steps=cfg.steps, lr=cfg.lr, seed=seed, init_val=init_val,
         params=tr.model.num_params(), vocab_size=ds.vocab.size, uniform=math.log(ds.vocab.size),
         n_train=len(ds.train), n_val=len(ds.val), config=cfg.to_dict())

    busy = 0.0                 # seconds spent training (pauses excluded)
    last_val = -VAL_EVERY_S    # so the first slice also reports a validation point
    last_sample = 0.0
    val_loss = None
    while tr.step < cfg.steps and not state["stop"]:
        if state["run_id"] != run_id:
            return               # reset: a newer run (or none) owns the state now
        if state["paused"]:
            await asyncio.sleep(0.05)
            continue
        t0 = time.perf_counter()
        tokens0 = tr.tokens_seen
        losses = []
        while tr.step < cfg.steps and time.perf_counter() - t0 < SLICE_S:
            losses.append(tr.train_step())
        train_s = time.perf_counter() - t0
        busy += train_s
        extra = {}
        if busy - last_val >= VAL_EVERY_S or tr.step == cfg.steps:
            last_val = busy
            val_loss = tr.evaluate(val_subset)
            extra["val"] = val_loss
        if busy - last_sample >= SAMPLE_EVERY_S:
            last_sample = busy
            extra["samples"] = label(sample_names(tr, LIVE_SAMPLES, seed + tr.step))
        busy += time.perf_counter() - t0 - train_s
        post("progress", run=run_id, step=tr.step, steps=cfg.steps, loss=sum(losses) / len(losses),
             tokens=tr.tokens_seen, slice_tokens=tr.tokens_seen - tokens0, slice_s=train_s,
             busy=busy, **extra)
        await asyncio.sleep(0)   # let the page's messages in

    if state["run_id"] != run_id:
        return
    stopped = state["stop"]
    post("halted", run=run_id, stopped=stopped, step=tr.step, steps=cfg.steps)
    final_val = await evaluate_all(tr, ds.val) if tr.step > 0 else None
    if state["run_id"] != run_id:
        return
    samples = label(sample_names(tr, LIVE_SAMPLES, seed + tr.step)) if tr.step > 0 else []
    post("done", run=run_id, stopped=stopped, step=tr.step, steps=cfg.steps, val=final_val,
         tokens=tr.tokens_seen, busy=busy, samples=samples)


def live_val_size(tr, val):
    """How many held-out names one live estimate can score within VAL_EVAL_S (64 to all)."""
    probe = val[:64]
    if len(probe) < 64:
        return len(val)
    t0 = time.perf_counter()
    tr.evaluate(probe)
    per_name = max(1e-6, (time.perf_counter() - t0) / len(probe))
    n = 64
    while n * 2 <= len(val) and n * 2 * per_name <= VAL_EVAL_S:
        n *= 2
    return n


async def evaluate_all(tr, val, chunk=1024):
    """Mean loss per predicted token over every held-out name, yielding between chunks.

    Fixed chunks (Trainer.evaluate's own size), so the result does not depend on how fast
    this tab happens to be.
    """
    from zcgpt.train import encode_items
    if not val:
        return None
    total = tokens = 0.0
    for i in range(0, len(val), chunk):
        part = val[i:i + chunk]
        n = float(encode_items(part, tr.dataset.vocab, tr.config)[1].sum())
        total += tr.evaluate(part) * n
        tokens += n
        await asyncio.sleep(0)   # Reset can still get in
    return total / tokens


async def run_training(msg, run_id):
    try:
        await train(msg, run_id)
    except Exception as exc:  # report to the page rather than die silently in the worker
        post_error("train", exc)
    finally:
        if state["run_id"] == run_id:
            state["task"] = None


def on_generate(msg):
    tr = state["trainer"]
    if tr is None or tr.step == 0:
        post("generated", names=[], note="train first")
        return
    vocab = state["ds"].vocab
    prefix = str(msg.get("prefix", ""))
    unknown = sorted({ch for ch in prefix if ch not in vocab.stoi})
    if unknown:
        post("generated", names=[], note=f"the prefix uses characters not in the names: {''.join(unknown)}")
        return
    n = max(1, min(MAX_GENERATE, int(msg.get("n", 20))))
    temperature = max(0.05, float(msg.get("temperature", 1.0)))
    state["gen_count"] += 1
    seed = int(msg.get("seed", 0)) * 1000 + state["gen_count"]
    names = sample_names(tr, n, seed, temperature=temperature, prefix=prefix)
    post("generated", names=label(names), temperature=temperature, prefix=prefix)


# ---------- "See inside": what the model in this tab does with a name ----------

def inspect_model():
    """(model, vocab, step) the panels look at: the one generate uses, during training too."""
    tr = state["trainer"]
    model, vocab = state.get("model"), state.get("vocab")
    if model is None and tr is not None:
        model, vocab = tr.model, tr.dataset.vocab
    step = tr.step if tr is not None else (state.get("meta") or {}).get("step")
    return model, vocab, step


def on_inspect(msg):
    """One panel's data, computed between two training slices (so during training too)."""
    what, rid = msg.get("what"), msg.get("id")
    try:
        post("insight", what=what, id=rid, **inspect_answer(what, str(msg.get("text", ""))))
    except Exception as exc:   # a panel shows it; training and the rest of the page go on
        post("insight", what=what, id=rid, note=f"Could not look inside: {type(exc).__name__}: {exc}")


def inspect_answer(what, text):
    import numpy as np
    from zcgpt import insight
    if what == "source":
        return {"parts": insight.forward_source()}
    model, vocab, step = inspect_model()
    if model is None or not step:
        return {"note": "Train a model (or start training) to look inside it."}
    out = {"step": step, "itos": vocab.itos}
    if what == "embedding":
        coords, share = insight.embedding_pca(model.params["wte"])
        return {**out, "coords": np.round(coords, 5).tolist(), "share": share.tolist()}
    try:
        tokens = insight.context_tokens(vocab, text, model.config.block_size)
    except ValueError as exc:
        return {"note": str(exc).capitalize() + ".", "text": text}
    if what == "probs":
        return {**out, "text": text, "probs": np.round(insight.next_token_probs(model, tokens), 4).tolist()}
    if what == "attention":
        return {**out, "text": text, "att": np.round(insight.attention_maps(model, tokens), 3).tolist()}
    raise ValueError(f"no panel called {what!r}")


def on_message(event):
    try:
        msg = json.loads(event.data)
    except (TypeError, ValueError):
        return  # not ours
    kind = msg.get("type")
    try:
        if kind == "init":
            asyncio.ensure_future(guard(load(msg), "load"))
        elif kind == "train":
            if state["task"] is not None:
                post("error", where="train", message="already training")
                return
            state["run_id"] += 1
            state["paused"] = False
            state["stop"] = False
            state["task"] = asyncio.ensure_future(run_training(msg, state["run_id"]))
        elif kind == "pause":
            state["paused"] = True
            post("paused", paused=True, by=msg.get("by", "user"))
        elif kind == "resume":
            state["paused"] = False
            post("paused", paused=False, by=msg.get("by", "user"))
        elif kind == "stop":
            state["stop"] = True
            state["paused"] = False
        elif kind == "reset":
            state["run_id"] += 1
            state["stop"] = True
            state["paused"] = False
            state["task"] = None
            state["trainer"] = None
            post("reset")
        elif kind == "generate":
            on_generate(msg)
        elif kind == "inspect":
            on_inspect(msg)
    except Exception as exc:
        post_error(kind, exc)


async def guard(coro, where):
    try:
        await coro
    except Exception as exc:
        post_error(where, exc)


xworker.onmessage = create_proxy(on_message)   # the page sends "init" once this file has run
