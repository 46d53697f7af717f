"""One training run: step a Trainer to the end of its recipe and report points on a schedule.

The schedule counts steps, never seconds, so the reported curve of a run is the same wherever
it runs (the CLI, the page, the bench, the tests) and a shared link repeats it bit for bit.
Callers add only what is theirs: the CLI prints, the page cuts the work into ticks of time and posts.
"""

import math
import time
from collections import deque
from dataclasses import dataclass

from .data import DataError, Dataset
from .train import evaluate_chunks, mean_loss

MAX_POINTS = 400       # the page's train points per run at most
VAL_POINTS = 25        # the page's live validation points per run
VAL_WORK = 2 ** 20     # parameters x names of one live validation point on the page
TAIL = 100             # steps whose mean loss is the run's final train loss
WATCH_POINTS = 100     # points per run that carry gradient statistics, when watched


@dataclass
class Point:
    """One point of the curve: mean train loss since the last point, and maybe a validation."""
    step: int
    train_loss: float
    val_loss: float | None = None
    parts: dict | None = None    # with Run.watch: {part: [gradient norm, update/weight]} at this step


@dataclass(frozen=True)
class Schedule:
    """When a run reports: a point every `report_every` steps, every `val_every` steps (0: never)
    with the loss on `val_items`, and at the last step (with that loss too if `val_last`)."""
    report_every: int
    val_every: int
    val_items: tuple
    val_last: bool = True

    @classmethod
    def for_page(cls, trainer):
        """The page's schedule: at most MAX_POINTS train points, about VAL_POINTS validations on a
        fixed subset of the held-out names spread over the file (live_val_size of them)."""
        steps, val = trainer.config.steps, trainer.dataset.val
        report_every = max(1, -(-steps // MAX_POINTS))
        val_every = report_every * max(1, round(steps / VAL_POINTS / report_every))
        n = live_val_size(trainer.model.num_params(), len(val))
        subset = tuple(val[::max(1, len(val) // n)][:n]) if n else ()
        return cls(report_every, val_every, subset)


def train_on(model, vocab, dataset, steps, lr):
    """A new run that trains a model further (the page's "Train on from the loaded model", the
    CLI's --init): its design with this run's steps and lr (the warm-up cut to fit), and the
    dataset's split in the model's vocabulary -> (config, dataset). DataError if the data has
    characters the model has never seen."""
    unknown = vocab.unknown("".join(dataset.vocab.chars))
    if unknown:
        raise DataError(f"the data has characters the loaded model has never seen: {' '.join(unknown)}"
                        f" (pick the data it was trained on)")
    config = model.config.replace(steps=steps, lr=lr,
                                  warmup_steps=min(model.config.warmup_steps, max(0, steps - 1)))
    return config, Dataset(vocab, dataset.train, dataset.val)


RECIPE = ("steps", "lr", "warmup_steps")   # what a run on from a model sets anew (train_on)


def saved_run(model, vocab, state, dataset):
    """What a page snapshot's saved run (its `resume` state) goes on with -> (config, dataset,
    base_step, busy): the model's design with the run's recipe, the split in the model's
    vocabulary, the steps the model had before the run and the seconds it trained. ValueError
    when the state does not fit, DataError when the data has characters the model never saw."""
    base_step, busy, recipe = state.get("base_step", 0), state.get("busy", 0.0), state.get("recipe", {})
    if not (isinstance(base_step, int) and not isinstance(base_step, bool) and base_step >= 0
            and isinstance(busy, (int, float)) and not isinstance(busy, bool) and 0 <= busy < 1e9
            and isinstance(recipe, dict) and set(recipe) <= set(RECIPE)):
        raise ValueError("the saved run does not fit: base_step, busy or recipe")
    _, dataset = train_on(model, vocab, dataset, model.config.steps, model.config.lr)   # the unknown check
    return model.config.replace(**recipe), dataset, base_step, float(busy)


def live_val_size(params, n_val):
    """Held-out names one live validation scores: about VAL_WORK / params, as a power of two
    from 64 up to all of them. It depends on the model only, so every run repeats."""
    n = 64
    while n * 2 <= n_val and n * 2 * params <= VAL_WORK:
        n *= 2
    return min(n, n_val)


class Run:
    """Steps `trainer` to trainer.config.steps, yielding after every step.

    `steps()` yields None, or the Point that step closes; with a pool, also shards.WAIT while
    a step waits for helpers (the caller lets their answers in, then goes on). Time is measured (train_seconds
    excludes the live validations, for honest tokens per second) but never decides anything.
    """

    def __init__(self, trainer, schedule, pool=None):
        self.trainer = trainer
        self.schedule = schedule
        self.pool = pool                 # zcgpt.shards.Pool sharing steps with helper workers
        self.tail = deque(maxlen=TAIL)   # the last step losses
        self.window = []                 # step losses since the last point
        self.train_seconds = 0.0
        self.eval_seconds = 0.0
        self.val_loss = None             # over every held-out name, after final_eval()
        self.watch = False               # gradient statistics on about WATCH_POINTS reported steps
        steps, every = trainer.config.steps, schedule.report_every
        self.watch_every = every * max(1, round(steps / WATCH_POINTS / every))

    @property
    def done(self):
        return self.trainer.step >= self.trainer.config.steps

    @property
    def train_loss(self):
        """Mean loss of the last TAIL steps (None before the first)."""
        return sum(self.tail) / len(self.tail) if self.tail else None

    def steps(self):
        tr, sch = self.trainer, self.schedule
        last = tr.config.steps
        while tr.step < last:
            t0 = time.perf_counter()
            watch = self.watch and ((tr.step + 1) % self.watch_every == 0 or tr.step + 1 == last)
            if self.pool is None:
                loss = tr.train_step(watch)
            else:                        # yields WAIT while helpers compute their shards
                work = tr.next_work()
                loss = tr.apply(work, (yield from self.pool.gather(tr, work)), watch)
            self.train_seconds += time.perf_counter() - t0
            self.tail.append(loss)
            self.window.append(loss)
            s = tr.step
            val_due = (s < last and sch.val_every and s % sch.val_every == 0) or (sch.val_last and s == last)
            if not (s % sch.report_every == 0 or val_due or s == last):
                yield None
                continue
            point = Point(s, sum(self.window) / len(self.window), parts=tr.watched if watch else None)
            self.window = []
            if val_due and sch.val_items:
                t0 = time.perf_counter()
                point.val_loss = tr.evaluate(list(sch.val_items))
                self.eval_seconds += time.perf_counter() - t0
            yield point

    def final_eval(self):
        """Loss per predicted token over every held-out name into self.val_loss, yielding after
        each fixed chunk (the page lets its messages in between)."""
        model, ds, chunks = self.trainer.model, self.trainer.dataset, []
        for chunk in evaluate_chunks(model, ds.vocab, ds.val):
            chunks.append(chunk)
            yield
        self.val_loss = mean_loss(chunks) if ds.val else None

    def finish(self):
        """Run every remaining step and the final evaluation; returns the points reported."""
        points = [p for p in self.steps() if p is not None]
        for _ in self.final_eval():
            pass
        return points

    def state(self):
        """The loss windows, so a restored run reports the same points (see Trainer.state)."""
        return {"window": list(self.window), "tail": list(self.tail)}

    def restore(self, state):
        ok = isinstance(state, dict) and all(
            isinstance(state.get(k), list) and all(isinstance(x, float) and math.isfinite(x) for x in state[k])
            for k in ("window", "tail"))
        if not ok:
            raise ValueError("the saved run does not fit: its loss windows must be lists of numbers")
        self.window = list(state["window"])
        self.tail = deque(state["tail"][-TAIL:], maxlen=TAIL)

    def tokens_per_s(self):
        return self.trainer.tokens_seen / self.train_seconds if self.train_seconds > 0 else 0.0

