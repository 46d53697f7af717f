"""Sharing a step between workers: the leader deals a step's shards, helpers compute some.

A step's batch is cut into `config.shards` shards (Trainer.next_work). In the tab, the worker
that runs the App is the leader; helper workers hold a copy of the model's shape and nothing
else. Each step the leader sends every helper the weights and the rows of its shards, computes
its own shards, and waits for the helpers' losses and gradients; Trainer.apply adds them all in
shard order. So the bits of a run depend on `shards` only: which worker computed a shard, or how
many there were, changes nothing.

Nothing here touches JavaScript. A message is a header (a dict that goes as JSON) and a list of
numpy arrays (that go as bytes, described in the header by pack/unpack); site/worker.py and
site/helper.py carry them over MessageChannel ports.

Leader -> helper: "join" {run, config, vocab_size, seed, engine} before a run's first step, then one "work"
{run, step, total, shards} per step with [weights, rows and npred of each shard].
Helper -> leader: "grads" {run, step, shards, losses} with [gradient of each shard], or
"failed" {run, step, message} (out of memory, say), after which the leader drops it.
"""

import time

import numpy as np

from . import kernels
from .config import Config
from .model import GPT
from .train import dropout_lanes, shard_result

WAIT = "wait"          # what Pool.gather (and so Run.steps) yields while helpers are computing
TRIAL_STEPS = 12       # steps timed with each number of helpers when the pool tries them
TRIAL_EVERY = 400      # steps between two rounds of trials
CLOSE = 1.03           # a count of helpers this close to the fastest counts as fast: fewer win
OVERDUE_S = 3.0        # a helper that has not answered a step in this long is dropped (or in
                       # OVERDUE_TIMES its slowest answer so far, for models whose steps are long)
OVERDUE_TIMES = 10


def pack(header, arrays):
    """(header naming each array's dtype, shape and offset, every array's bytes in one flat
    uint8 array): one buffer per message, so one copy and one transfer between workers."""
    specs, offset = [], 0
    for a in arrays:
        specs.append([a.dtype.str, list(a.shape), offset])
        offset += a.nbytes
    blob = np.empty(offset, dtype=np.uint8)
    for a, (_, _, at) in zip(arrays, specs):
        blob[at:at + a.nbytes] = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    return dict(header, arrays=specs), blob


def unpack(header, blob):
    """The arrays pack described, from its bytes (read-only views); ValueError when they do not fit."""
    out = []
    for dtype, shape, offset in header.get("arrays", []):
        dt = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        if offset < 0 or offset + count * dt.itemsize > len(blob):
            raise ValueError("an array runs past the end of the message")
        out.append(np.frombuffer(blob, dtype=dt, count=count, offset=offset).reshape(shape))
    return out


class Helper:
    """A helper worker's side: a model of the run's shape, and the shards it is asked for.
    `gemm` is the SIMD kernel this worker loaded (zcgpt.simd), or None: it computes with the
    engine the leader names, so a shard has the same bits whoever computes it."""

    def __init__(self, gemm=None):
        self.model = None
        self.run = None
        self.gemm = gemm
        self.seed = 0            # the run's seed: it keys the dropout masks of each shard

    def use_engine(self, engine):
        """Compute with the leader's engine -> None, or why this worker cannot."""
        if engine == "numpy":
            kernels.use_gemm(None)
        elif self.gemm is not None and engine == self.gemm.engine:
            kernels.use_gemm(self.gemm)
        else:
            return f"it cannot run the leader's {engine} engine"
        return None

    def handle(self, header, arrays):
        """One message from the leader -> the reply (header, arrays), or None."""
        kind = header.get("type")
        if kind == "join":
            self.run, self.model = None, None
            why = self.use_engine(header.get("engine", "numpy"))
            if why is not None:
                return {"type": "failed", "run": header["run"], "message": why}, []
            self.model = GPT(Config.from_dict(header["config"]), header["vocab_size"], seed=0)
            self.seed = int(header["seed"])
            self.run = header["run"]
            return None
        if kind != "work":
            return None
        reply = {"run": header["run"], "step": header["step"]}
        try:
            if header["run"] != self.run or self.model is None:
                raise ValueError(f"asked for run {header['run']} before joining it")
            weights, rest = arrays[0], arrays[1:]
            model = self.model
            if weights.shape != model.flat.shape:
                raise ValueError(f"{weights.size} weights for a model of {model.flat.size}")
            t0 = time.perf_counter()
            model.flat[...] = weights
            results = [shard_result(model, rest[2 * k], rest[2 * k + 1], header["total"],
                                    dropout_lanes(model.config, self.seed, header["step"], i))
                       for k, i in enumerate(header["shards"])]
        except (MemoryError, ValueError, KeyError, IndexError) as exc:
            return dict(reply, type="failed", message=f"{type(exc).__name__}: {exc}"), []
        return dict(reply, type="grads", shards=header["shards"], losses=[loss for loss, _ in results],
                    seconds=time.perf_counter() - t0), [grad for _, grad in results]


class Pending:
    """The step in flight: each shard's (loss, gradient) once known, and who owes which."""

    def __init__(self, run, step, n, sent_at):
        self.run = run
        self.step = step
        self.results = [None] * n
        self.owed = {}           # helper id -> shard indices it has not answered yet
        self.orphans = []        # shards of dropped helpers, for the leader to compute
        self.sent_at = sent_at
        self.waiting_since = None  # when the leader, its own shards done, began to wait

    @property
    def complete(self):
        return all(r is not None for r in self.results)


class Tuner:
    """How many helpers make a step fastest: on a busy or small machine, sharing a short step
    can cost more in messages than it saves. Each round times TRIAL_STEPS steps with every
    count from all the helpers down to none, then uses the fastest (the fewest of those within
    CLOSE of it) until the next round, TRIAL_EVERY steps later or when a helper comes or goes.
    The count never changes a bit of the run, only its speed."""

    def __init__(self, tune=True):
        self.tune = tune        # False: always every helper (the tests of sharing itself)
        self.restart(0)

    def restart(self, most):
        self.most = most
        self.trying = list(range(most, -1, -1))   # counts still to time in this round
        self.times = {}                           # count -> step seconds of this round
        self.use = most
        self.left = TRIAL_EVERY

    def count(self, most):
        """Helpers to deal the next step to (at most `most`)."""
        if not self.tune:
            return most
        if most != self.most:
            self.restart(most)
        return min(self.trying[0] if self.trying else self.use, most)

    def timed(self, used, seconds):
        """A step with `used` helpers took `seconds`."""
        if not self.trying:
            self.left -= 1
            if self.left <= 0:
                self.restart(self.most)
            return
        if used != self.trying[0]:
            return                                # fewer helpers than asked for: no trial
        got = self.times.setdefault(used, [])
        got.append(seconds)
        if len(got) >= TRIAL_STEPS:
            self.trying.pop(0)
            if not self.trying:
                med = {k: sorted(v[2:])[len(v[2:]) // 2] for k, v in self.times.items()}   # warm-up out
                best = min(med.values())
                self.use = min(k for k, v in med.items() if v <= best * CLOSE)
                self.left = TRIAL_EVERY


class Pool:
    """The leader's side: its helpers, and one step's shards dealt between them and itself.

    `send(helper_id, header, arrays)` delivers a message to a helper (copying what it needs
    before it returns); `wake()` is called when the step in flight can go on. A Tuner picks
    how many of the helpers share each step.
    """

    def __init__(self, send, clock=None, tune=True):
        self.send = send
        self.clock = clock or time.perf_counter
        self.helpers = []        # ids, in the order they joined
        self.joining = None      # the join header of the current run
        self.pending = None
        self.wake = lambda: None
        # seconds of the shared steps: dealing (weights and rows out), the leader's own shards,
        # waiting for helpers, adding their answers in; and the helpers' own compute time
        self.stats = dict.fromkeys(("steps", "deal_s", "own_s", "wait_s", "arrive_s", "helper_s"), 0.0)
        self.slowest = 0.0       # seconds of this run's slowest answer, from dealing to arriving
        self.tuner = Tuner(tune)
        self.used = 0            # helpers the last step was dealt to
        self.used_steps = {}     # helpers dealt to -> steps of this run

    @property
    def waiting(self):
        """A step is in flight and the leader has nothing to do until a helper answers."""
        p = self.pending
        return p is not None and not p.complete and not p.orphans

    def workers(self, shards):
        """How many workers share the steps (the leader and the helpers dealt the last step,
        but for any dropped since)."""
        return 1 + min(self.used, len(self.helpers), max(0, shards - 1))

    def add(self, hid):
        if hid not in self.helpers:
            self.helpers.append(hid)
            if self.joining is not None:
                self.send(hid, self.joining, [])

    def drop(self, hid):
        """Forget a helper; its unanswered shards go to the leader. True if it was known."""
        if hid not in self.helpers:
            return False
        self.helpers.remove(hid)
        p = self.pending
        if p is not None and hid in p.owed:
            p.orphans.extend(p.owed.pop(hid))
            p.orphans.sort()
            self.wake()
        return True

    def begin(self, run, config, vocab_size, seed):
        """A new run: every helper (and any that come later) builds a model of its shape and
        keeps its seed (for the dropout masks)."""
        self.pending = None
        self.stats = dict.fromkeys(self.stats, 0.0)
        self.slowest = 0.0
        self.used_steps = {}
        self.used = 0
        self.tuner.restart(self.tuner.most)
        self.joining = {"type": "join", "run": run, "config": config.to_dict(), "vocab_size": vocab_size,
                        "seed": seed, "engine": kernels.engine()}
        for hid in self.helpers:
            self.send(hid, self.joining, [])

    def per_step_ms(self):
        """The stats of the shared steps so far, in milliseconds per step (None before one)."""
        n = self.stats["steps"]
        return {k.replace("_s", "_ms"): round(1000 * v / n, 3) for k, v in self.stats.items() if k != "steps"} \
            | {"steps": int(n), "helpers_used": {str(k): v for k, v in sorted(self.used_steps.items())}} if n else None

    def cancel(self):
        """The run ended or was reset: answers still on their way are no news."""
        self.pending = None
        self.joining = None

    def overdue_limit(self, limit=OVERDUE_S):
        """Seconds a helper may keep the leader waiting: `limit`, or OVERDUE_TIMES the slowest
        answer of this run if that is longer."""
        return max(limit, OVERDUE_TIMES * self.slowest)

    def overdue(self, limit=OVERDUE_S):
        """Helpers that have kept the leader waiting (its own shards done) past overdue_limit."""
        p = self.pending
        if p is None or p.waiting_since is None or self.clock() - p.waiting_since < self.overdue_limit(limit):
            return []
        return [hid for hid, owed in p.owed.items() if owed]

    def pardon(self):
        """The leader itself was not running (a frozen or sleeping tab): start the wait afresh."""
        if self.pending is not None and self.pending.waiting_since is not None:
            self.pending.waiting_since = self.clock()

    def gather(self, trainer, work):
        """Generator: deal `work`'s shards, compute the leader's, yield WAIT until every helper
        has answered (or been dropped); returns [(loss, gradient)] in shard order."""
        n = len(work.shards)
        start = self.clock()
        helpers = self.helpers[:self.tuner.count(min(len(self.helpers), n - 1))] if self.joining else []
        self.used = len(helpers)
        self.used_steps[self.used] = self.used_steps.get(self.used, 0) + 1
        if not helpers:
            results = trainer.compute(work)
            self.tuner.timed(0, self.clock() - start)
            return results
        # The leader keeps the larger share (the last ceil(n / workers) shards): a helper's
        # shards also wait for two messages. The others go round the helpers in turn.
        keep = -(-n // (len(helpers) + 1))
        mine = list(range(n - keep, n))
        dealt = {hid: [i for i in range(n - keep) if i % len(helpers) == k] for k, hid in enumerate(helpers)}
        t0 = self.clock()
        p = self.pending = Pending(self.joining["run"], work.step, n, t0)
        weights = trainer.model.flat
        for hid, idx in dealt.items():
            if not idx:
                continue
            p.owed[hid] = idx
            self.send(hid, {"type": "work", "run": p.run, "step": work.step, "total": work.total,
                            "shards": idx}, [weights] + [a for i in idx for a in work.shards[i]])
        st = self.stats
        t1 = self.clock()
        st["deal_s"] += t1 - t0
        while True:
            if mine:
                i = mine.pop(0)
            elif p.orphans:
                i = p.orphans.pop(0)
            elif p.complete:
                break
            else:
                t2 = self.clock()
                if p.waiting_since is None:
                    p.waiting_since = t2
                yield WAIT
                t1 += self.clock() - t2
                st["wait_s"] += self.clock() - t2
                continue
            if p.results[i] is None:
                p.results[i] = shard_result(trainer.model, *work.shards[i], work.total, trainer.drop(work, i))
        st["own_s"] += self.clock() - t1
        st["steps"] += 1
        self.pending = None
        self.tuner.timed(len(helpers), self.clock() - start)
        return p.results

    def arrive(self, hid, header, arrays):
        """A helper's answer. Returns None, or the reason to drop that helper (it failed)."""
        p = self.pending
        if header.get("type") == "failed":
            return header.get("message") or "it failed"
        if header.get("type") != "grads" or p is None or header.get("run") != p.run \
                or header.get("step") != p.step or hid not in p.owed:
            return None                              # a late answer to a step that is over
        losses = header.get("losses")
        if header.get("shards") != p.owed[hid] or len(arrays) != len(p.owed[hid]) \
                or not isinstance(losses, list) or len(losses) != len(arrays):
            return "it answered other shards than it was asked for"
        t0 = self.clock()
        for i, loss, grad in zip(header["shards"], header["losses"], arrays):
            if p.results[i] is None:
                p.results[i] = (float(loss), np.array(grad))   # a writable copy
        del p.owed[hid]
        self.slowest = max(self.slowest, self.clock() - p.sent_at)
        self.stats["arrive_s"] += self.clock() - t0
        self.stats["helper_s"] += float(header.get("seconds") or 0.0)
        if p.complete:
            self.wake()
        return None

