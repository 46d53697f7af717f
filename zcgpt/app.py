"""The page's backend as a message router: `App.handle(msg)` takes one message from the page
(zcgpt/protocol.py lists them all) and calls `on_<type>`, which returns the messages to send back.
`train` only sets a run up (zcgpt.driver); the worker then calls `App.work(seconds)` while
`App.has_work()`, posting what each call returns, and lets the page's messages in between.
Nothing here imports `js`: pytest runs it on CPython; site/worker.py is the Pyodide adapter.
"""

import time
import traceback

from . import __version__, checkpoint, helpers
from .checkpoint import CheckpointError
from .config import field_help
from .data import DataError, Vocab, decode_upload, parse_lines, split_sizes
from .design import (KEEP_TIMINGS, DesignError, design_config, estimate, field_table, parse_link, preset_table,
                     read_timings, timing_dict)
from .driver import VAL_FRAC, Job, ModelRecord, label, prepare_run
from .kernels import engine
from .prng import Rng
from .protocol import ProtocolError, check_message
from .reply import LIMITS, Refused, clean, in_range, out, sentence
from .sample import SamplingError, check_sampling, generate
from .train import TrainingDiverged
from .views import Views


SAMPLING_WORDS = {"n": "the number of names", "temperature": "the temperature", "top_k": "top-k",
                  "prefix": "the prefix"}


class App:
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
        self.record = None       # the ModelRecord a saved model file of `model` carries
        self.loaded = None       # text of an uploaded checkpoint, read afresh for each run from it
        self.timings = []        # the tab's newest finished runs (zcgpt.design.Timing), for a design's time
        self.watch = False       # the page's gradient panel is open: points carry part_stats
        self.pool = None         # zcgpt.shards.Pool of the tab's helper workers (None: train alone)
        self.snapshot_s = None   # training seconds between snapshots (None: zcgpt.driver.SNAPSHOT_S)
        self.heartbeat = None    # called now and then inside a long list check (zcgpt.data.numbered_lines)
        self.views = Views(lambda: (self.model, self.vocab, self.current_step()))

    # ---------- the adapter's entry points ----------

    def start(self, text, source, link="", timings=None, snapshot_s=None, **runtime):
        """The built-in names at start-up -> "ready", with the settings of the page's address
        (`link`: its hash), the runtime's versions and the runs the page kept (`timings`, any
        that does not fit left out). `snapshot_s`: the page's ?snapshot_s= (tests, the curious)."""
        if snapshot_s is not None:
            self.snapshot_s = min(600.0, max(0.5, float(snapshot_s)))
        self.items, self.data_name, self.timings = parse_lines(text, source), source, read_timings(timings)
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
            msgs = job.work(seconds, self.paused)
        except TrainingDiverged as exc:
            self.end_job()
            return [out("error", where="train", message=sentence(exc))]
        except Exception:
            self.end_job()     # a bug: the run ends (the adapter reports it) rather than spin
            raise
        if job.ended:       # a run timed from Train to "done" joins the tab's timings
            self.job, timing = None, job.timing()
            if timing is not None:
                self.timings = (self.timings + [timing])[-KEEP_TIMINGS:]
            msgs.append(job.done([timing_dict(t) for t in self.timings] if timing else None))
        return msgs

    def end_job(self):
        self.job = None
        if self.pool is not None:
            self.pool.cancel()

    # ---------- one method per message ----------

    def on_train(self, msg):
        t0 = time.perf_counter()
        if self.job is not None:   # "train_again": the page leaves the run going as it is
            return [out("error", where="train_again", message="A run is already going: stop or reset it first.")]
        if self.items is None:
            raise Refused("there is no list to train on yet")
        preset, seed = msg["preset"], in_range(msg["seed"], "seed")
        config = None          # a continued run goes on with its snapshot's design, accepted before
        if msg.get("snapshot") is None:
            config, problems, cost = self.judge(preset, msg["changes"])
            if problems:
                raise Refused(next(iter(problems.values())))
            if cost["refused"]:
                raise Refused(f"this model is too big for the tab: {cost['refused']}")
        if msg.get("from_model") and self.loaded is None:
            raise Refused("there is no loaded model to train on: load a model file first")
        start = prepare_run(self.items, config, seed, self.pool, msg.get("snapshot"),
                            self.loaded if msg.get("from_model") else None)
        run = start.run
        self.run_id += 1
        self.paused = False
        self.record = ModelRecord.for_run(start.base_step, seed, preset, self.data_name)
        self.job = Job(self.run_id, start, self.record, self.pool, self.items, t0, self.snapshot_s)
        if self.pool is not None:
            self.pool.begin(self.run_id, run.trainer.config, run.trainer.dataset.vocab.size, seed)
        run.watch = self.watch
        self.model, self.vocab, self.train_set = run.trainer.model, run.trainer.dataset.vocab, self.job.train_set
        return [self.job.start(preset, from_model=bool(msg.get("from_model")))]

    def on_design(self, msg):
        """What a design costs (parameters, work per step, memory, time here), or its problems."""
        config, problems, cost = self.judge(msg["preset"], msg["changes"])
        if cost is None:
            return [out("design", id=msg["id"], problems=problems)]
        return [out("design", id=msg["id"], problems=problems, measured=bool(self.timings),
                    config=config.to_dict(), **cost)]

    def judge(self, preset, changes):
        """A design -> (config, problems, cost): problems maps fields to sentences ({}: none);
        cost (zcgpt.design.estimate) is None when there are problems, config when it does not stand."""
        try:
            config = design_config(preset, changes)
        except DesignError as exc:
            return None, {k: sentence(v) for k, v in exc.problems.items()}, None
        problems = {}
        for name in ("steps", "lr"):
            try:
                in_range(getattr(config, name), name)
            except Refused as exc:
                problems[name] = sentence(exc)
        if problems:
            return config, problems, None
        items = self.items or ["x"]
        n_val = split_sizes(len(items), VAL_FRAC) if len(items) > 1 else 0
        vocab_size = Vocab.from_items(items).size if self.items else 28
        return config, problems, estimate(config, vocab_size, items, n_val, self.timings, engine())

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
        self.end_job()
        self.paused = False
        self.model = self.vocab = self.loaded = self.record = None
        self.train_set = set()
        return [out("reset")]

    def on_generate(self, msg):
        if self.model is None or not self.current_step():
            return [out("generated", names=[], note="Train first.")]
        n, prefix, temperature = msg["n"], msg["prefix"], float(msg["temperature"])
        try:
            check_sampling(self.vocab, self.model.config.block_size, n, temperature, 0, prefix,
                           max_n=LIMITS["generate"][1])
        except SamplingError as exc:
            return [out("generated", names=[], note=sentence(f"{SAMPLING_WORDS[exc.arg]} {exc.detail}"))]
        self.gen_count += 1
        seed = msg["seed"] * 1000 + self.gen_count
        names = generate(self.model, self.vocab, n, Rng(seed), temperature=temperature, prefix=prefix)
        return [out("generated", names=label(names, self.train_set), temperature=temperature, prefix=prefix)]

    def on_data(self, msg):
        """Check a list as the CLI does; a refused list changes nothing (the old one and any
        trained model stay)."""
        via, source = msg["via"], msg["name"].replace("\\", "/").rsplit("/", 1)[-1] or "upload.txt"
        try:
            text = decode_upload(msg["b64"], source) if msg.get("b64") is not None else msg.get("text") or ""
        except DataError as exc:
            return [out("data_error", source=source, via=via, message=str(exc))]
        return self.use_list(text, source, via)

    def use_list(self, text, source, via):
        """A list's text -> "data" (now the list the next run trains on) or "data_error"."""
        try:
            items = parse_lines(text, source, self.heartbeat)
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
        text = self.record.save(self.model, self.vocab)
        keep = {"keep": True} if msg.get("keep") else {}
        return [out("checkpoint", text=text, step=self.record.step, bytes=len(text), **keep)]

    def on_helper(self, msg):
        if self.pool is None:
            raise Refused("this worker cannot share steps with helpers")
        return helpers.joined(self.pool, msg["id"], self.shards())

    def on_helper_gone(self, msg):
        return helpers.gone(self.pool, msg["id"], msg.get("reason"), self.shards()) if self.pool is not None else []

    def from_helper(self, hid, header, arrays):      # the adapter's, with its pool: a helper answered
        return helpers.answered(self.pool, hid, header, arrays, self.shards())

    def overdue(self, limit):                        # the adapter's, with its pool: helpers too slow
        return helpers.overdue(self.pool, limit, self.shards())

    def shards(self):
        return self.job.trainer.config.shards if self.job is not None else None

    def on_inspect(self, msg):
        return self.views.inspect(msg)

    def on_write(self, msg):
        return self.views.write(msg)

    def on_ping(self, msg): return [out("pong", id=msg["id"])]

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
        self.record = ModelRecord.from_file(meta)
        self.train_set = set(self.items or [])
        metrics = {k: clean(v) for k, v in meta["metrics"].items()
                   if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        return [out("model_loaded", name=name, step=meta["step"], seed=meta["seed"],
                    params=model.num_params(), vocab_size=vocab.size, chars="".join(vocab.chars),
                    config=model.config.to_dict(), metrics=metrics)]

    # ---------- helpers ----------

    def current_step(self):
        """Steps the model in use has been trained (during a run too)."""
        if self.record is None:
            return 0
        return self.record.step + (self.job.trainer.step if self.job is not None else 0)

