"""The page's backend: what the Python worker in the tab does, as plain methods on plain dicts.

`App.handle(msg)` takes one message from the page (zcgpt/protocol.py lists them all) and returns
the messages to send back. A run is long, so `train` only sets it up; the worker then calls
`App.work(seconds)` while `App.has_work()`, posting what each call returns, and lets the page's
messages (pause, stop, reset) in between. Nothing here imports `js`: pytest runs it on CPython,
and site/worker.py is only the Pyodide adapter around it.
"""

import base64
import binascii
import hashlib
import math
import time
import traceback

from . import __version__, checkpoint
from .checkpoint import CheckpointError
from .config import field_help
from .data import DataError, Dataset, Vocab, decode_text, make_dataset, parse_lines, split_sizes
from .design import (KEEP_TIMINGS, DesignError, Timing, design_config, estimate, field_table, parse_link,
                     preset_table, read_timings, run_work, timing_dict)
from .kernels import engine
from .prng import Rng
from .protocol import ProtocolError, check_message
from .reply import LIMITS, Refused, clean, in_range, out, sentence
from .run import Run, Schedule
from .sample import generate
from .shards import WAIT
from .train import Trainer, TrainingDiverged
from .views import Views

VAL_FRAC = 0.1
TICK_S = 0.04         # seconds of a run's work between two looks at the page's messages
SAMPLE_EVERY_S = 1.0   # seconds of training between live samples of names
SNAPSHOT_S = 15.0      # seconds of training between copies of the run for the page to keep
LIVE_SAMPLES = 8
NOVELTY_SAMPLES = 200  # names drawn at the end of a run to measure the share of new ones


class Job:
    """The run in progress: its Run, the step generator, and what the page's counters need."""

    def __init__(self, run_id, run, seed, preset, t0):
        self.id = run_id
        self.run = run
        self.steps = run.steps()
        self.final = None        # the final evaluation's generator, once training has ended
        self.seed = seed
        self.preset = preset
        self.stop = False
        self.busy = 0.0          # seconds spent on this run (pauses excluded)
        self.last_sample = 0.0
        self.last_snapshot = 0.0
        self.pending_snapshot = False
        self.open = None         # the OpenTick of a step waiting for helpers
        self.t0 = t0             # when the page's "train" arrived (time.perf_counter)
        self.timed = True        # its time from Train to "done" measures the tab (no pause, not continued)

    @property
    def trainer(self):
        return self.run.trainer


class OpenTick:
    """A tick of work that a step waiting for helpers interrupted: where it started."""

    def __init__(self, t0, tokens0, train0):
        self.t0, self.tokens0, self.train0 = t0, tokens0, train0
        self.points = []


class App(Views):
    def __init__(self):
        self.items = None        # the list the next run trains on (zcgpt.data.parse_lines)
        self.data_name = "names.txt"
        self.job = None          # the run being trained or evaluated
        self.paused = False
        self.run_id = 0
        self.gen_count = 0
        self.model = None        # the model generate, save and the inside views use
        self.vocab = None
        self.train_set = set()   # its training names, for "new" versus "in training set"
        self.meta = None         # step, seed and metrics written into a downloaded checkpoint
        self.loaded = None       # text of an uploaded checkpoint, read afresh for each run from it
        self.timings = []        # the tab's newest finished runs (zcgpt.design.Timing), for a design's time
        self.watch = False       # the page's gradient panel is open: points carry part_stats
        self.pool = None         # zcgpt.shards.Pool of the tab's helper workers (None: train alone)

    # ---------- the adapter's entry points ----------

    def start(self, text, source, link="", timings=None, **runtime):
        """The built-in names at start-up -> the "ready" message, with the settings of the
        page's address (`link`: its hash) and the runtime's versions and timings. `timings`:
        the runs the page kept (timing_dict's form; any that does not fit is left out)."""
        self.items = parse_lines(text, source)
        self.data_name = source
        self.timings = read_timings(timings)
        vocab = Vocab.from_items(self.items)
        return out("ready", zcgpt=__version__, items=len(self.items), vocab_size=vocab.size,
                   chars="".join(vocab.chars), longest=max(self.items, key=len),
                   presets=preset_table(vocab.size), limits=LIMITS, fields=field_table(field_help()),
                   link=parse_link(link, LIMITS), engine=engine(), **runtime)

    def handle(self, msg):
        """One message from the page -> the messages to send back."""
        kind = msg.get("type") if isinstance(msg, dict) else None
        try:
            kind = check_message(msg)
            return getattr(self, "on_" + kind)(msg)
        except (ProtocolError, Refused) as exc:
            return [out("error", where=kind if isinstance(kind, str) else "message", message=sentence(exc))]
        except Exception as exc:   # a bug: say so, and keep the worker alive
            return [out("error", where=str(kind), message=f"{type(exc).__name__}: {exc}",
                        trace=traceback.format_exc())]

    def has_work(self):
        """A run to step (unpaused), or a step in flight: a pause waits for its end."""
        return self.job is not None and (not self.paused or self.job.open is not None)

    def waiting(self):
        """The step in flight waits for helpers: the adapter should let their answers in."""
        return self.pool is not None and self.pool.waiting and self.job is not None

    def work(self, seconds):
        """About `seconds` of the run's work -> messages (progress; halted; done at the end)."""
        job = self.job
        try:
            if job.final is not None:
                return self.final_chunk(job)
            if job.open is None and (job.stop or job.run.done):
                if self.pool is not None:
                    self.pool.cancel()
                job.final = job.run.final_eval() if job.trainer.step > 0 else iter(())
                return [out("halted", run=job.id, stopped=job.stop, step=job.trainer.step,
                            steps=job.trainer.config.steps)]
            msgs = self.train_tick(job, seconds)
            if msgs and job.pending_snapshot:
                job.pending_snapshot = False
                msgs.append(self.snapshot(job))
            return msgs
        except TrainingDiverged as exc:
            self.end_job()
            return [out("error", where="train", message=sentence(exc))]
        except Exception:
            self.end_job()     # a bug: the run ends (the adapter reports it) rather than spin
            raise

    def end_job(self):
        self.job = None
        if self.pool is not None:
            self.pool.cancel()

    def snapshot(self, job):
        """The run so far as a checkpoint with the state to go on from (see on_train's snapshot)."""
        t0, tr = time.perf_counter(), job.trainer
        resume = {"trainer": tr.state(), "run": job.run.state(), "data": data_hash(self.items)}
        text = checkpoint.dumps(tr.model, tr.dataset.vocab, step=tr.step, seed=job.seed,
                                metrics={"preset": job.preset, "data": self.data_name, "engine": engine()},
                                resume=resume)
        return out("snapshot", run=job.id, step=tr.step, text=text, ms=1000 * (time.perf_counter() - t0))

    def train_tick(self, job, seconds):
        """Steps for about `seconds` -> [progress]; [] when a step waits for helpers (the tick
        goes on at the next call, once they have answered)."""
        tr, run = job.trainer, job.run
        if job.open is None:
            job.open = OpenTick(time.perf_counter(), tr.tokens_seen, run.train_seconds)
        sl = job.open
        for point in job.steps:
            if point is WAIT:
                return []
            if point is not None:
                sl.points.append(point)
                if point.val_loss is not None:
                    break          # send the validation now: it took part of this tick
            if time.perf_counter() - sl.t0 >= seconds or self.paused or job.stop:
                break
        job.open = None
        points, train_s = sl.points, run.train_seconds - sl.train0
        extra = {}
        if points and points[-1].val_loss is not None:
            extra["val"] = points[-1].val_loss
        if job.busy + train_s - job.last_sample >= SAMPLE_EVERY_S:
            job.last_sample = job.busy + train_s
            extra["samples"] = self.label(self.sample(LIVE_SAMPLES, job.seed + tr.step))
        job.busy += time.perf_counter() - sl.t0
        self.meta["metrics"]["train_loss"] = run.train_loss
        if job.busy - job.last_snapshot >= SNAPSHOT_S and not run.done:
            job.last_snapshot = job.busy
            job.pending_snapshot = True
        workers = self.pool.workers(tr.config.shards) if self.pool is not None else 1
        return [out("progress", run=job.id, step=tr.step, steps=tr.config.steps,
                   loss=points[-1].train_loss if points else None,
                   points=[[p.step, clean(p.train_loss), clean(p.val_loss)] for p in points],
                   tokens=tr.tokens_seen, tick_tokens=tr.tokens_seen - sl.tokens0, tick_s=train_s,
                   busy=job.busy, workers=workers, **extra,
                   **({"parts": [[p.step, p.parts] for p in points if p.parts]} if self.watch else {}))]

    def final_chunk(self, job):
        """One chunk of the final evaluation; at the end, the run's "done"."""
        if next(job.final, StopIteration) is not StopIteration:
            return []
        tr, run = job.trainer, job.run
        samples = self.label(self.sample(LIVE_SAMPLES, job.seed + tr.step)) if tr.step > 0 else []
        drawn = self.sample(NOVELTY_SAMPLES, job.seed + tr.step + 1) if tr.step > 0 else []
        novelty = sum(n not in self.train_set for n in drawn) / len(drawn) if drawn else None
        self.meta["step"] += tr.step
        self.meta["metrics"].update(val_loss=run.val_loss, novelty=novelty, n_train=len(tr.dataset.train),
                                    n_val=len(tr.dataset.val), tokens=tr.tokens_seen,
                                    seconds=round(job.busy, 3))
        self.job = None
        kept = None
        if job.timed and not job.stop:
            ds = tr.dataset
            work = run_work(tr.config, ds.vocab.size, ds.train + ds.val, len(ds.val))
            self.timings = (self.timings + [Timing(work, time.perf_counter() - job.t0)])[-KEEP_TIMINGS:]
            kept = [timing_dict(t) for t in self.timings]
        return [out("done", run=job.id, stopped=job.stop, step=tr.step, steps=tr.config.steps,
                    val=run.val_loss, tokens=tr.tokens_seen, busy=job.busy, samples=samples,
                    train_loss=run.train_loss, novelty=novelty, timings=kept,
                    shared=self.pool.per_step_ms() if self.pool is not None else None)]

    # ---------- one method per message ----------

    def on_train(self, msg):
        t0 = time.perf_counter()
        if self.job is not None:
            raise Refused("a run is already going: stop or reset it first")
        if self.items is None:
            raise Refused("there is no list to train on yet")
        preset, seed = msg["preset"], in_range(msg["seed"], "seed")
        config = self.checked_design(preset, msg["changes"])
        try:
            ds = make_dataset(self.items, VAL_FRAC, seed)
            model, base_step, state = None, 0, None
            if msg.get("from_model"):
                model, ds, config, base_step = self.continue_from_loaded(ds, config.steps, config.lr)
            elif msg.get("snapshot") is not None:
                model, state = self.saved_run(msg["snapshot"], config, ds)
            tr = Trainer(config, ds, seed, model=model)
            run = Run(tr, Schedule.for_page(tr), pool=self.pool)
            if state is not None:
                tr.restore(state["trainer"])
                run.restore(state["run"])
        except (DataError, CheckpointError, ValueError) as exc:
            raise Refused(str(exc)) from None
        schedule = run.schedule
        self.run_id += 1
        self.paused = False
        self.job = Job(self.run_id, run, seed, preset, t0)
        self.job.timed = tr.step == 0
        if self.pool is not None:
            self.pool.begin(self.run_id, config, ds.vocab.size, seed)
        run.watch = self.watch
        self.model, self.vocab, self.train_set = tr.model, ds.vocab, set(ds.train)
        self.meta = {"step": base_step, "seed": seed,
                     "metrics": {"preset": preset, "data": self.data_name, "engine": engine()}}
        init_val = tr.evaluate(list(schedule.val_items)) if schedule.val_items else None
        return [out("start", run=self.run_id, preset=preset, steps=config.steps, lr=config.lr, seed=seed,
                    init_val=init_val, params=tr.model.num_params(), vocab_size=ds.vocab.size,
                    uniform=math.log(ds.vocab.size), n_train=len(ds.train), n_val=len(ds.val),
                    config=config.to_dict(), report_every=schedule.report_every,
                    val_every=schedule.val_every, val_items=len(schedule.val_items),
                    from_model=bool(msg.get("from_model")), base_step=base_step, continued_at=tr.step)]

    def saved_run(self, text, config, ds):
        """The model and state of a snapshot the page kept, checked against this run's design
        and data."""
        if len(text) > LIMITS["model_bytes"]:
            raise Refused("the saved run is too big to go on from")
        model, vocab, meta = checkpoint.loads(text)
        state = meta.get("resume")
        if not isinstance(state, dict) or not {"trainer", "run", "data"} <= set(state):
            raise Refused("this model file holds no saved run to go on from")
        if model.config != config:
            raise Refused("the saved run is of another design than the one asked for")
        if state["data"] != data_hash(self.items) or vocab != ds.vocab:
            raise Refused("the saved run trained on another list: choose that list first")
        return model, state

    def checked_design(self, preset, changes):
        """The Config of a design the tab can train, or Refused with the first reason."""
        try:
            config = design_config(preset, changes)
        except DesignError as exc:
            raise Refused(str(exc)) from None
        in_range(config.steps, "steps")
        in_range(config.lr, "lr")
        refused = estimate(config, Vocab.from_items(self.items).size, self.items, self.n_val(),
                           self.timings, engine())["refused"]
        if refused:
            raise Refused(f"this model is too big for the tab: {refused}")
        return config

    def on_design(self, msg):
        """What a design costs (parameters, work per step, memory, time here), or its problems."""
        items = self.items or []
        try:
            config = design_config(msg["preset"], msg["changes"])
        except DesignError as exc:
            return [out("design", id=msg["id"], problems={k: sentence(v) for k, v in exc.problems.items()})]
        problems = {}
        for name in ("steps", "lr"):
            try:
                in_range(getattr(config, name), name)
            except Refused as exc:
                problems[name] = sentence(exc)
        cost = estimate(config, Vocab.from_items(items).size if items else 28, items or ["x"], self.n_val(),
                        self.timings, engine())
        return [out("design", id=msg["id"], problems=problems, measured=bool(self.timings),
                    config=config.to_dict(), **cost)]

    def n_val(self):
        """Names the next run holds out for validation."""
        return split_sizes(len(self.items), VAL_FRAC) if self.items and len(self.items) > 1 else 0

    def continue_from_loaded(self, ds, steps, lr):
        """The uploaded model (read afresh), the split in its vocabulary, its config, its step."""
        if self.loaded is None:
            raise Refused("there is no loaded model to train on: load a model file first")
        model, vocab, meta = checkpoint.loads(self.loaded)
        unknown = vocab.unknown("".join(ds.vocab.chars))
        if unknown:
            raise DataError(f"the data has characters the loaded model has never seen: {' '.join(unknown)}"
                            f" (pick the data it was trained on)")
        config = model.config.replace(steps=steps, lr=lr,
                                      warmup_steps=min(model.config.warmup_steps, max(0, steps - 1)))
        return model, Dataset(vocab, ds.train, ds.val), config, meta["step"]

    def on_watch(self, msg):
        """The gradient panel opened or closed: points of this run and later ones carry (or
        stop carrying) each part's gradient norm and update-to-weight ratio."""
        self.watch = msg["gradients"]
        if self.job is not None:
            self.job.run.watch = self.watch
        return []

    def on_pause(self, msg):
        self.paused = True
        if self.job is not None:
            self.job.timed = False    # its time from Train to "done" holds the pause
        return [out("paused", paused=True, by=msg.get("by") or "user")]

    def on_unpause(self, msg):
        self.paused = False
        return [out("paused", paused=False, by=msg.get("by") or "user")]

    def on_stop(self, msg):
        if self.job is not None:
            self.job.stop = True
        self.paused = False
        return []

    def on_reset(self, msg):
        self.run_id += 1       # a late message of the old run is then no news to the page
        self.job = None
        if self.pool is not None:
            self.pool.cancel()
        self.paused = False
        self.model = self.vocab = self.loaded = self.meta = None
        self.train_set = set()
        return [out("reset")]

    def on_generate(self, msg):
        if self.model is None or not self.current_step():
            return [out("generated", names=[], note="Train first.")]
        lo, hi = LIMITS["generate"]
        n, prefix = msg["n"], msg["prefix"]
        if not lo <= n <= hi:
            return [out("generated", names=[], note=f"Ask for {lo} to {hi} names.")]
        t_lo, t_hi = LIMITS["temperature"]
        temperature = min(t_hi, max(t_lo, float(msg["temperature"])))
        unknown = self.vocab.unknown(prefix)
        if unknown:
            return [out("generated", names=[], note="The prefix uses characters not in the names:"
                                                    f" {''.join(unknown)}.")]
        room = self.model.config.block_size - 1
        if len(prefix) > room:
            return [out("generated", names=[], note=f"A prefix can have at most {room} letters:"
                                                    f" the model sees {room + 1} positions.")]
        self.gen_count += 1
        seed = msg["seed"] * 1000 + self.gen_count
        names = generate(self.model, self.vocab, n, Rng(seed), temperature=temperature, prefix=prefix)
        return [out("generated", names=self.label(names), temperature=temperature, prefix=prefix)]

    def on_data(self, msg):
        """Check a list as the CLI does; a refused list changes nothing (the old one and any
        trained model stay)."""
        via, source = msg["via"], msg["name"].replace("\\", "/").rsplit("/", 1)[-1] or "upload.txt"
        try:
            if msg.get("b64") is not None:
                b64 = msg["b64"]
                if len(b64) // 4 * 3 > LIMITS["data_bytes"]:
                    raise DataError(f"{source} is over the limit of {LIMITS['data_bytes'] // 2 ** 20} MB"
                                    " of one-item-per-line text.")
                try:
                    raw = base64.b64decode(b64, validate=True)
                except binascii.Error:
                    raise DataError(f"{source} did not arrive intact (bad base64); try again.") from None
                text = decode_text(raw, source)
            else:
                text = msg.get("text") or ""
            return self.use_list(text, source, via)
        except DataError as exc:
            return [out("data_error", source=source, via=via, message=str(exc))]

    def use_list(self, text, source, via):
        """A list's text -> "data" (now the list the next run trains on) or "data_error"."""
        try:
            items = parse_lines(text, source)
        except DataError as exc:
            return [out("data_error", source=source, via=via, message=str(exc))]
        self.items, self.data_name = items, source
        vocab = Vocab.from_items(items)
        longest = max(items, key=len)
        return [out("data", source=source, via=via, items=len(items), vocab_size=vocab.size,
                    chars="".join(vocab.chars), longest=longest, longest_len=len(longest),
                    first=items[:5])]

    def on_save(self, msg):
        if self.model is None:
            return [out("model_error", action="save",
                        message="There is no model to save yet: train one or load one.")]
        meta = self.meta
        text = checkpoint.dumps(self.model, self.vocab, step=meta["step"], seed=meta["seed"],
                                metrics=meta["metrics"])
        keep = {"keep": True} if msg.get("keep") else {}
        return [out("checkpoint", text=text, step=meta["step"], bytes=len(text), **keep)]

    def on_helper(self, msg):
        """A helper worker is ready (the adapter holds its port): it shares the next steps."""
        if self.pool is None:
            raise Refused("this worker cannot share steps with helpers")
        self.pool.add(msg["id"])
        return [self.workers_note()]

    def on_helper_gone(self, msg):
        """A helper died, failed to boot or was let go: its ticks go to the others."""
        if self.pool is None or not self.pool.drop(msg["id"]):
            return []
        return [self.workers_note(dropped=msg["id"], reason=msg.get("reason") or "it stopped")]

    def from_helper(self, hid, header, arrays):
        """A helper's answer (through the adapter) -> messages for the page (a dropped helper)."""
        reason = self.pool.arrive(hid, header, arrays) if self.pool is not None else None
        return self.on_helper_gone({"id": hid, "reason": reason}) if reason else []

    def overdue(self, limit):
        """Drop the helpers that owe the step in flight an answer for over `limit` seconds."""
        msgs = []
        for hid in self.pool.overdue(limit) if self.pool is not None else []:
            waited = self.pool.overdue_limit(limit)
            msgs += self.on_helper_gone({"id": hid, "reason": f"it did not answer for {waited:.3g} s"})
        return msgs

    def workers_note(self, **dropped):
        shards = self.job.trainer.config.shards if self.job is not None else None
        return out("workers", helpers=len(self.pool.helpers),
                   working=self.pool.workers(shards) if shards else None, **dropped)

    def on_ping(self, msg):
        return [out("pong", id=msg["id"])]

    def on_load_model(self, msg):
        name, text = msg["name"], msg["text"]
        if self.job is not None:
            return [out("model_error", action="load", name=name,
                        message="A run is going: stop or reset it before loading a model.")]
        if len(text) > LIMITS["model_bytes"]:
            return [out("model_error", action="load", name=name,
                        message=f"{name} is too big for a zcgpt model file.")]
        try:
            model, vocab, meta = checkpoint.loads(text)
        except CheckpointError as exc:
            return [out("model_error", action="load", name=name, message=f"{name}: {exc}")]
        self.loaded = text
        self.model, self.vocab = model, vocab
        self.meta = {"step": meta["step"], "seed": meta["seed"], "metrics": dict(meta["metrics"])}
        self.train_set = set(self.items or [])
        metrics = {k: clean(v) for k, v in meta["metrics"].items()
                   if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        return [out("model_loaded", name=name, step=meta["step"], seed=meta["seed"],
                    params=model.num_params(), vocab_size=vocab.size, chars="".join(vocab.chars),
                    config=model.config.to_dict(), metrics=metrics)]

    # ---------- helpers ----------

    def current_step(self):
        """Steps the model in use has been trained (during a run too)."""
        if self.meta is None:
            return 0
        return self.meta["step"] + (self.job.trainer.step if self.job is not None else 0)

    def sample(self, n, seed):
        return generate(self.model, self.vocab, n, Rng(seed))

    def label(self, names):
        return [{"name": n, "new": n not in self.train_set} for n in names]



def data_hash(items):
    """A short fingerprint of a list, to tell whether a saved run trained on it."""
    return hashlib.sha256("\n".join(items).encode("utf-8", "surrogatepass")).hexdigest()[:16]
