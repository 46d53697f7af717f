"""The page's Python half: runs in a PyScript worker, trains zcgpt, reports by messages.

The page (js/runtime.js) starts this file with PyScript's PyWorker and talks JSON both ways:
the page calls worker.postMessage(json) and we answer with js.postMessage(json). Without
SharedArrayBuffer (no COOP/COEP headers on GitHub Pages) a worker cannot touch the DOM, so
Python computes and the page draws.

Loading is staged so the page can say what it waits for. Pyodide installed numpy and the
zcgpt wheel while it booted (the page lists them in PyScript's config); the "init" message
brings absolute URLs (a worker runs from a blob: URL, where relative URLs do not resolve) of
the names and of numpy's compiled modules, and we unpack those, import numpy, import zcgpt and
read the names in turn.

Training runs as an asyncio task in slices of about SLICE_S seconds; between slices it awaits
asyncio.sleep(0), which lets the worker's event loop deliver the page's messages (pause,
stop, reset), so Stop is answered within one slice.
"""

import asyncio
import importlib.util
import io
import json
import math
import os
import sys
import time
import traceback
import zipfile

import js
from polyscript import xworker
from pyodide.ffi import create_proxy
from pyodide.http import pyfetch

SLICE_S = 0.04         # seconds of training between yields (Stop latency is about this)
SAMPLE_EVERY_S = 1.0   # seconds of training between live name samples
# The reported curve depends on steps only, never on the tab's speed, so a shared link replays
# it bit for bit: a train point every `report_every` steps (mean loss of those steps), a
# validation estimate about VAL_POINTS times a run on a fixed subset of the held-out names.
MAX_POINTS = 400       # train points per run at most
VAL_POINTS = 25        # live validation estimates per run
VAL_WORK = 2 ** 20     # parameters x names of one live estimate: ~25 ms for tiny in a tab
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
    "model": None,       # the model generate uses: the last run's, or one loaded from a file
    "vocab": None,       # its vocabulary
    "meta": None,        # step, seed and metrics written into a downloaded checkpoint
    "loaded": None,      # text of an uploaded checkpoint (re-read for each continued run)
    "data_name": "names.txt",
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


async def unpack_bytecode(url):
    """Put the build's compiled numpy modules into site-packages (see compile_bytecode in build.py).

    Only a speed-up: Python compiles numpy from source if this fails, so a failure is a warning.
    """
    try:
        resp = await pyfetch(url)
        if not resp.ok:
            raise OSError(f"HTTP {resp.status}")
        data = await resp.bytes()
        numpy_dir = importlib.util.find_spec("numpy").submodule_search_locations[0]   # no import
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            zf.extractall(os.path.dirname(numpy_dir))
    except Exception as exc:
        js.console.warn(f"zcgpt: numpy's bytecode not used ({url}: {type(exc).__name__}: {exc})")


def bytecode_report():
    """How many imported standard-library and numpy modules came from bytecode, and how many not."""
    out = {"stdlib_pyc": 0, "stdlib_py": 0, "numpy_pyc": 0, "numpy_py": 0}
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None) or ""
        if ".zip/" in path:
            out["stdlib_pyc" if path.endswith(".pyc") else "stdlib_py"] += 1
        elif (name == "numpy" or name.startswith("numpy.")) and path.endswith(".py"):
            cached = getattr(mod, "__cached__", None)
            out["numpy_pyc" if cached and os.path.exists(cached) else "numpy_py"] += 1
    return out


async def load(msg):
    t0 = time.perf_counter()
    post("stage", stage="numpy", python=sys.version.split()[0])
    if msg.get("bytecode"):
        await unpack_bytecode(msg["bytecode"])
    import numpy
    post("stage", stage="zcgpt", numpy=numpy.__version__)
    import zcgpt
    from zcgpt import presets
    from zcgpt.data import Vocab, parse_lines
    from zcgpt.model import param_count
    post("stage", stage="data", zcgpt=zcgpt.__version__)
    resp = await pyfetch(msg["data"])
    if not resp.ok:
        raise RuntimeError(f"could not load {msg['data']} (HTTP {resp.status})")
    text = await resp.string()
    items = parse_lines(text, msg["data"].rsplit("/", 1)[-1])
    state["items"] = items
    state["data_name"] = msg["data"].rsplit("/", 1)[-1]
    vocab = Vocab.from_items(items)
    post("ready",
         seconds=time.perf_counter() - t0,
         numpy=numpy.__version__,
         bytecode=bytecode_report(),
         zcgpt=zcgpt.__version__,
         items=len(items),
         vocab_size=vocab.size,
         chars="".join(vocab.chars),
         longest=max(items, key=len),
         presets={name: {**cfg.to_dict(), "params": param_count(cfg, vocab.size)}
                  for name, cfg in presets.items()})


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

    if state["run_id"] != run_id:     # reset before this task got to run: nothing to do
        return
    seed = int(msg["seed"])
    ds = make_dataset(state["items"], val_frac=0.1, seed=seed)
    if msg.get("from_model"):
        model, ds, cfg, base_step = continue_from_loaded(ds, int(msg["steps"]), float(msg["lr"]))
    else:
        model, base_step = None, 0
        cfg = presets[msg["preset"]].replace(steps=int(msg["steps"]), lr=float(msg["lr"]))
    state["ds"] = ds
    state["train_set"] = set(ds.train)
    tr = Trainer(cfg, ds, seed, model=model)
    state["trainer"] = tr
    state["model"], state["vocab"] = tr.model, ds.vocab
    state["meta"] = {"step": base_step, "seed": seed, "metrics": {"preset": msg.get("preset"),
                                                                  "data": state["data_name"]}}
    n_live = live_val_size(tr, ds.val)
    val_subset = ds.val[::max(1, len(ds.val) // n_live)][:n_live]   # spread over the file, not its head
    init_val = tr.evaluate(val_subset)   # about ln(V) before any step
    report_every = max(1, -(-cfg.steps // MAX_POINTS))
    val_every = report_every * max(1, round(cfg.steps / VAL_POINTS / report_every))
    post("start", run=run_id, preset=msg["preset"], steps=cfg.steps, lr=cfg.lr, seed=seed, init_val=init_val,
         params=tr.model.num_params(), vocab_size=ds.vocab.size, uniform=math.log(ds.vocab.size),
         n_train=len(ds.train), n_val=len(ds.val), config=cfg.to_dict(), report_every=report_every,
         val_every=val_every, val_items=len(val_subset), from_model=bool(model), base_step=base_step)

    busy = 0.0                 # seconds spent training (pauses excluded)
    last_sample = 0.0
    window = []                # losses since the last reported point
    tail = []                  # the last 100 step losses, for the checkpoint's train_loss
    while tr.step < cfg.steps and not state["stop"]:
        if state["run_id"] != run_id:
            return               # reset: a newer run (or none) owns the state now
        if state["paused"]:
            await asyncio.sleep(0.05)
            continue
        t0 = time.perf_counter()
        tokens0 = tr.tokens_seen
        points = []            # [step, mean train loss, validation loss or None]
        eval_s = 0.0
        while tr.step < cfg.steps and time.perf_counter() - t0 < SLICE_S:
            loss = tr.train_step()
            window.append(loss)
            tail = (tail + [loss])[-100:]
            if tr.step % report_every == 0 or tr.step == cfg.steps:
                points.append([tr.step, sum(window) / len(window), None])
                window = []
                if tr.step % val_every == 0 or tr.step == cfg.steps:
                    te = time.perf_counter()
                    points[-1][2] = tr.evaluate(val_subset)
                    eval_s += time.perf_counter() - te
                    break      # post it now: the estimate took part of this slice
        train_s = time.perf_counter() - t0 - eval_s
        busy += train_s
        extra = {}
        if points and points[-1][2] is not None:
            extra["val"] = points[-1][2]
        if busy - last_sample >= SAMPLE_EVERY_S:
            last_sample = busy
            extra["samples"] = label(sample_names(tr, LIVE_SAMPLES, seed + tr.step))
        busy += time.perf_counter() - t0 - train_s
        state["meta"]["metrics"]["train_loss"] = sum(tail) / len(tail) if tail else None
        post("progress", run=run_id, step=tr.step, steps=cfg.steps,
             loss=points[-1][1] if points else None, points=[[s, clean(l), clean(v)] for s, l, v in points],
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
    state["meta"]["step"] += tr.step
    state["meta"]["metrics"].update(val_loss=final_val, n_train=len(ds.train), n_val=len(ds.val),
                                    tokens=tr.tokens_seen, seconds=round(busy, 3))
    post("done", run=run_id, stopped=stopped, step=tr.step, steps=cfg.steps, val=final_val,
         tokens=tr.tokens_seen, busy=busy, samples=samples)


def live_val_size(tr, val):
    """How many held-out names one live estimate scores: about VAL_WORK / parameters, as a power
    of two from 64 to all. It depends on the model, not on the tab's speed, so runs repeat."""
    n = 64
    while n * 2 <= len(val) and n * 2 * tr.model.num_params() <= VAL_WORK:
        n *= 2
    return min(n, len(val))


async def evaluate_all(tr, val):
    """Mean loss per predicted token over every held-out name, yielding between chunks.

    Fixed chunks (Trainer.evaluate's own), so the result does not depend on how fast this tab
    happens to be.
    """
    from zcgpt.train import evaluate_chunks
    if not val:
        return None
    total = tokens = 0.0
    for loss_sum, n in evaluate_chunks(tr.model, tr.dataset.vocab, val):
        total += loss_sum
        tokens += n
        await asyncio.sleep(0)   # Reset can still get in
    return total / tokens


async def run_training(msg, run_id):
    try:
        await train(msg, run_id)
    except Exception as exc:  # report to the page rather than die silently in the worker
        if state["run_id"] == run_id:                  # a reset run's failure is no news
            post_error("train", exc)
    finally:
        if state["run_id"] == run_id:
            state["task"] = None


def on_generate(msg):
    from zcgpt.prng import Rng
    from zcgpt.sample import generate
    model, vocab, tr = state["model"], state["vocab"], state["trainer"]
    if model is None or (tr is not None and tr.step == 0 and not state["meta"]["step"]):
        post("generated", names=[], note="train first")
        return
    prefix = str(msg.get("prefix", ""))
    unknown = sorted({ch for ch in prefix if ch not in vocab.stoi})
    if unknown:
        post("generated", names=[], note=f"the prefix uses characters not in the names: {''.join(unknown)}")
        return
    n = max(1, min(MAX_GENERATE, int(msg.get("n", 20))))
    temperature = max(0.05, float(msg.get("temperature", 1.0)))
    state["gen_count"] += 1
    seed = int(msg.get("seed", 0)) * 1000 + state["gen_count"]
    names = generate(model, vocab, n, Rng(seed), temperature=temperature, prefix=prefix)
    post("generated", names=label(names), temperature=temperature, prefix=prefix)


# ---------- your own data, and model files (checkpoints) ----------

def describe(items):
    """What the page shows about a list before training on it."""
    from zcgpt.data import Vocab
    vocab = Vocab.from_items(items)
    longest = max(items, key=len)
    return {"items": len(items), "vocab_size": vocab.size, "chars": "".join(vocab.chars),
            "longest": longest, "longest_len": len(longest), "first": items[:5]}


def use_items(text, source, kind, b64=None):
    """Check a list like the CLI does; keep the old one (and any trained model) if it is refused.

    An uploaded file comes as base64 bytes and goes through zcgpt.data.load_lines, the CLI's
    own loader (UTF-8, binary and size checks included), from a scratch folder so that its
    messages name the file as the user knows it.
    """
    import base64
    import os
    from zcgpt.data import DataError, load_lines, parse_lines
    try:
        if b64 is None:
            items = parse_lines(text, source)
        else:
            source = os.path.basename(source.replace("\\", "/")) or "upload.txt"
            os.makedirs("/tmp/uploads", exist_ok=True)
            os.chdir("/tmp/uploads")
            with open(source, "wb") as f:
                f.write(base64.b64decode(b64))
            try:
                items = load_lines(source)
            finally:
                os.remove(source)
    except DataError as exc:
        post("data_error", source=source, via=kind, message=str(exc))
        return
    state["items"] = items
    state["data_name"] = source
    post("data", source=source, via=kind, **describe(items))


def on_data(msg):
    use_items(str(msg.get("text", "")), str(msg.get("name") or "pasted list"), msg.get("via", "paste"),
              msg.get("b64"))


async def on_builtin(msg):
    try:
        resp = await pyfetch(msg["url"])
    except Exception as exc:                       # offline without a cached copy, say
        post("data_error", source=msg["name"], via="builtin",
             message=f"could not load {msg['name']} ({exc}).")
        return
    if not resp.ok:
        post("data_error", source=msg["name"], via="builtin",
             message=f"could not load {msg['name']} (HTTP {resp.status}).")
        return
    use_items(await resp.string(), msg["name"], "builtin")


def continue_from_loaded(ds, steps, lr):
    """The uploaded model (read afresh), the split with the model's vocabulary, and the config."""
    from zcgpt import checkpoint
    from zcgpt.data import DataError, Dataset
    model, vocab, meta = checkpoint.loads(state["loaded"])
    unknown = vocab.unknown("".join(ds.vocab.chars))
    if unknown:
        raise DataError(f"the data has characters the loaded model has never seen: {' '.join(unknown)}"
                        f" (pick the data it was trained on).")
    cfg = model.config.replace(steps=steps, lr=lr,
                               warmup_steps=min(model.config.warmup_steps, max(0, steps - 1)))
    return model, Dataset(vocab, ds.train, ds.val), cfg, meta["step"]


def on_save(msg):
    from zcgpt import checkpoint
    if state["model"] is None:
        post("model_error", action="save", message="there is no model to save yet: train one or load one.")
        return
    meta = state["meta"]
    text = checkpoint.dumps(state["model"], state["vocab"], step=meta["step"], seed=meta["seed"],
                            metrics=meta["metrics"])
    post("checkpoint", text=text, step=meta["step"], bytes=len(text))


def on_load_model(msg):
    from zcgpt import checkpoint
    from zcgpt.checkpoint import CheckpointError
    name, text = str(msg.get("name") or "model.json"), msg.get("text")
    try:
        model, vocab, meta = checkpoint.loads(text)
    except CheckpointError as exc:
        post("model_error", action="load", name=name, message=f"{name}: {exc}")
        return
    state["loaded"] = text
    state["model"], state["vocab"], state["trainer"] = model, vocab, None
    state["meta"] = {"step": meta["step"], "seed": meta["seed"], "metrics": dict(meta["metrics"])}
    state["train_set"] = set(state["items"] or [])
    cfg = model.config
    post("model_loaded", name=name, step=meta["step"], seed=meta["seed"], params=model.num_params(),
         vocab_size=vocab.size, chars="".join(vocab.chars), config=cfg.to_dict(),
         metrics={k: clean(v) for k, v in meta["metrics"].items() if isinstance(v, (int, float, str))})


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
            state["model"] = state["loaded"] = None
            post("reset")
        elif kind == "generate":
            on_generate(msg)
        elif kind == "data":
            on_data(msg)
        elif kind == "builtin":
            asyncio.ensure_future(guard(on_builtin(msg), "data"))
        elif kind == "save":
            on_save(msg)
        elif kind == "load_model":
            on_load_model(msg)
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
