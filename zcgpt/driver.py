"""The page's run driver: one training run, stepped in ticks of time between the page's messages.

The worker calls `Job.work(seconds)` again and again; each call steps the Run for about a tick
(TICK_S), then hands back what the page needs: progress with the points reported, live names
now and then, a snapshot to continue from every SNAPSHOT_S of training, then the final
evaluation in chunks. zcgpt.app owns the job and routes the page's messages in between.
"""

import math
import time
from dataclasses import dataclass, field

from . import checkpoint
from .checkpoint import CheckpointError
from .data import DataError, list_hash, make_dataset
from .design import Timing, run_work
from .kernels import engine
from .prng import Rng
from .reply import LIMITS, Refused, clean, out
from .run import RECIPE, Run, Schedule, saved_run, train_on
from .sample import generate
from .shards import WAIT
from .train import Trainer

VAL_FRAC = 0.1         # share of the list held out for validation
TICK_S = 0.04          # seconds of a run's work between two looks at the page's messages
SAMPLE_EVERY_S = 1.0   # seconds of training between live samples of names
SNAPSHOT_S = 15.0      # seconds of training between copies of the run for the page to keep
LIVE_SAMPLES = 8
NOVELTY_SAMPLES = 200  # names drawn at the end of a run to measure the share of new ones


@dataclass
class ModelRecord:
    """What a saved model file says about the model in use: the steps it has been trained over
    all its runs, the seed of its last run, and its metrics."""
    step: int
    seed: int
    metrics: dict = field(default_factory=dict)   # preset, data, engine, losses... (JSON values)

    @classmethod
    def for_run(cls, step, seed, preset, data):
        return cls(step, seed, {"preset": preset, "data": data, "engine": engine()})

    @classmethod
    def from_file(cls, meta):
        """The record of a loaded model file (checkpoint.loads's meta), its metrics kept as they are."""
        return cls(meta["step"], meta["seed"], dict(meta["metrics"]))

    def save(self, model, vocab, resume=None):
        """The model as a zcgpt model file with this record (and `resume`, the state to continue from)."""
        return checkpoint.dumps(model, vocab, step=self.step, seed=self.seed, metrics=self.metrics,
                                resume=resume)


@dataclass
class Start:
    """A run about to start: its Run, the steps its model had before it, and the seconds it has
    trained already (a continued run's first part)."""
    run: Run
    base_step: int = 0
    busy: float = 0.0


def prepare_run(items, config, seed, pool=None, snapshot=None, loaded=None):
    """The Start of the page's Train on `items`. From scratch; continued from `snapshot` (the text
    of a snapshot the page kept: its own design, vocabulary and state); or on from `loaded` (the
    text of a model file; its design, with this run's steps and lr). Refused says why not."""
    try:
        ds = make_dataset(items, VAL_FRAC, seed)
        model, state, start = None, None, {}
        if loaded is not None:
            model, ds, config, start["base_step"] = from_loaded(loaded, ds, config.steps, config.lr)
        elif snapshot is not None:
            model, state, ds, config, start = from_snapshot(snapshot, ds, items)
        tr = Trainer(config, ds, seed, model=model)
        run = Run(tr, Schedule.for_page(tr), pool=pool)
        if state is not None:
            tr.restore(state["trainer"])
            run.restore(state["run"])
    except (DataError, CheckpointError, ValueError) as exc:
        raise Refused(str(exc)) from None
    return Start(run, **start)


def from_snapshot(text, ds, items):
    """A kept snapshot's model, its state, the split in its vocabulary, its config and start
    (run.saved_run); checked against the list in use (a run goes on only on its own list)."""
    if len(text) > LIMITS["model_bytes"]:
        raise Refused("the saved run is too big to go on from")
    model, vocab, meta = checkpoint.loads(text)
    state = meta.get("resume")
    if not isinstance(state, dict) or not {"trainer", "run", "data"} <= set(state):
        raise Refused("this model file holds no saved run to go on from")
    if state["data"] != list_hash(items) or vocab.unknown("".join(ds.vocab.chars)):
        raise Refused("the saved run trained on another list: choose that list first")
    config, ds, base_step, busy = saved_run(model, vocab, state, ds)
    return model, state, ds, config, {"base_step": base_step, "busy": busy}


def from_loaded(text, ds, steps, lr):
    """A model file's model (read afresh for each run), the split in its vocabulary, its design
    with `steps` and `lr`, and the steps it had."""
    model, vocab, meta = checkpoint.loads(text)
    config, ds = train_on(model, vocab, ds, steps, lr)
    return model, ds, config, meta["step"]


class OpenTick:
    """A tick of work that a step waiting for helpers interrupted: where it started."""

    def __init__(self, t0, tokens0, train0):
        self.t0, self.tokens0, self.train0 = t0, tokens0, train0
        self.points = []


class Job:
    """The run in progress: its Run, the record its model will be saved with, and the counters
    the page's progress needs. `pool`: the helper workers sharing its steps (None: alone)."""

    def __init__(self, run_id, start, record, pool=None, items=(), t0=None, snapshot_s=None):
        self.id = run_id
        self.run = run = start.run
        self.record = record     # steps before this run + the run's own steps = the model's steps
        self.base_step = record.step
        self.pool = pool
        self.points = run.steps()  # the step generator: None, a Point, or WAIT per step
        self.final = None        # the final evaluation's generator, once training has ended
        self.ended = False       # the final evaluation is over: done() says how the run ended
        self.stop = False
        self.busy = start.busy   # seconds spent on this run (pauses excluded), both parts of a continued one
        self.last_sample = self.busy
        self.last_snapshot = self.busy
        self.pending_snapshot = False
        self.snapshot_s = SNAPSHOT_S if snapshot_s is None else snapshot_s   # training seconds between snapshots
        self.open = None         # the OpenTick of a step waiting for helpers
        self.step0 = run.trainer.step   # where this part of the run started (zcgpt.alive times its steps)
        self.t0 = time.perf_counter() if t0 is None else t0   # when the page's "train" arrived
        self.timed = run.trainer.step == 0   # Train to "done" measures the tab (no pause, not continued)
        self.list_hash = list_hash(items)
        self.train_set = set(run.trainer.dataset.train)
        self.novelty = None
        self.calls = None        # zcgpt.alive's guess of its step, validation and chunk seconds

    @property
    def trainer(self):
        return self.run.trainer

    @property
    def seed(self):
        return self.record.seed

    def start(self, preset, from_model=False):
        """The run's first message: its design and split, and its loss before any step."""
        tr, schedule, ds = self.trainer, self.run.schedule, self.trainer.dataset
        init_val = tr.evaluate(list(schedule.val_items)) if schedule.val_items and tr.step == 0 else None
        return out("start", run=self.id, preset=preset, steps=tr.config.steps, lr=tr.config.lr, seed=self.seed,
                   init_val=init_val, params=tr.model.num_params(), vocab_size=ds.vocab.size,
                   uniform=math.log(ds.vocab.size), n_train=len(ds.train), n_val=len(ds.val),
                   config=tr.config.to_dict(), report_every=schedule.report_every,
                   val_every=schedule.val_every, val_items=len(schedule.val_items),
                   from_model=from_model, base_step=self.base_step, continued_at=tr.step, busy=self.busy)

    def work(self, seconds, paused=False):
        """About `seconds` of the run's work -> messages: progress (and a snapshot when due);
        "halted" when training ends; nothing while a step waits for helpers or the final
        evaluation goes on. Sets `ended` after the evaluation's last chunk."""
        if self.final is not None:
            self.final_chunk()
            return []
        if self.open is None and (self.stop or self.run.done):
            if self.pool is not None:
                self.pool.cancel()
            self.final = self.run.final_eval() if self.trainer.step > 0 else iter(())
            return [out("halted", run=self.id, stopped=self.stop, step=self.trainer.step,
                        steps=self.trainer.config.steps)]
        msgs = self.train_tick(seconds, paused)
        if msgs and self.pending_snapshot:
            self.pending_snapshot = False
            msgs.append(self.snapshot())
        return msgs

    def train_tick(self, seconds, paused):
        """Steps for about `seconds` -> [progress]; [] when a step waits for helpers (the tick
        goes on at the next call, once they have answered)."""
        tr, run = self.trainer, self.run
        if self.open is None:
            self.open = OpenTick(time.perf_counter(), tr.tokens_seen, run.train_seconds)
        tick = self.open
        for point in self.points:
            if point is WAIT:
                return []
            if point is not None:
                tick.points.append(point)
                if point.val_loss is not None:
                    break          # send the validation now: it took part of this tick
            if time.perf_counter() - tick.t0 >= seconds or paused or self.stop:
                break
        self.open = None
        points, train_s = tick.points, run.train_seconds - tick.train0
        extra = {}
        if points and points[-1].val_loss is not None:
            extra["val"] = points[-1].val_loss
        if self.busy + train_s - self.last_sample >= SAMPLE_EVERY_S:
            self.last_sample = self.busy + train_s
            extra["samples"] = self.label(self.sample(LIVE_SAMPLES, self.seed + tr.step))
        self.busy += time.perf_counter() - tick.t0
        self.record.metrics["train_loss"] = run.train_loss
        if self.busy - self.last_snapshot >= self.snapshot_s and not run.done:
            self.last_snapshot = self.busy
            self.pending_snapshot = True
        if run.watch:
            extra["parts"] = [[p.step, p.parts] for p in points if p.parts]
        return [out("progress", run=self.id, step=tr.step, steps=tr.config.steps,
                    loss=points[-1].train_loss if points else None,
                    points=[[p.step, clean(p.train_loss), clean(p.val_loss)] for p in points],
                    tokens=tr.tokens_seen, tick_tokens=tr.tokens_seen - tick.tokens0, tick_s=train_s,
                    busy=self.busy, workers=self.workers(), **extra)]

    def workers(self):
        return self.pool.workers(self.trainer.config.shards) if self.pool is not None else 1

    def snapshot(self):
        """The run so far as a model file with the state to continue from (see App.on_train)."""
        t0, tr = time.perf_counter(), self.trainer
        resume = {"trainer": tr.state(), "run": self.run.state(), "data": self.list_hash,
                  "base_step": self.base_step, "busy": self.busy,
                  "recipe": {k: getattr(tr.config, k) for k in RECIPE}}
        record = ModelRecord(tr.step, self.seed, {k: v for k, v in self.record.metrics.items()
                                                  if k in ("preset", "data", "engine")})
        text = record.save(tr.model, tr.dataset.vocab, resume=resume)
        return out("snapshot", run=self.id, step=tr.step, text=text, ms=1000 * (time.perf_counter() - t0))

    def final_chunk(self):
        """One chunk of the final evaluation; after the last, the record's final metrics."""
        if next(self.final, StopIteration) is not StopIteration:
            return
        tr, run = self.trainer, self.run
        drawn = self.sample(NOVELTY_SAMPLES, self.seed + tr.step + 1) if tr.step > 0 else []
        self.novelty = sum(n not in self.train_set for n in drawn) / len(drawn) if drawn else None
        self.record.step = self.base_step + tr.step
        self.record.metrics.update(val_loss=run.val_loss, novelty=self.novelty, n_train=len(tr.dataset.train),
                                   n_val=len(tr.dataset.val), tokens=tr.tokens_seen, seconds=round(self.busy, 3))
        self.ended = True

    def done(self, timings=None):
        """The run's last message (after `ended`): how it ended, its losses and last names.
        `timings`: the tab's kept timings when this run added one."""
        tr, run = self.trainer, self.run
        samples = self.label(self.sample(LIVE_SAMPLES, self.seed + tr.step)) if tr.step > 0 else []
        return out("done", run=self.id, stopped=self.stop, step=tr.step, steps=tr.config.steps,
                   val=run.val_loss, tokens=tr.tokens_seen, busy=self.busy, samples=samples,
                   train_loss=run.train_loss, novelty=self.novelty, timings=timings,
                   shared=self.pool.per_step_ms() if self.pool is not None else None)

    def timing(self):
        """How long the run took from Train to "done" (zcgpt.design.Timing), if that measures the
        tab: None after a pause, a stop or for a continued run."""
        if not self.timed or self.stop:
            return None
        ds = self.trainer.dataset
        work = run_work(self.trainer.config, ds.vocab.size, ds.train + ds.val, len(ds.val))
        return Timing(work, time.perf_counter() - self.t0)

    def sample(self, n, seed):
        return generate(self.trainer.model, self.trainer.dataset.vocab, n, Rng(seed))

    def label(self, names):
        return label(names, self.train_set)


def label(names, train_set):
    """Names as the page shows them: each marked new, or seen in training."""
    return [{"name": n, "new": n not in train_set} for n in names]
