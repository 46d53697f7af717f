"""Training: batches of names, Adam with linear decay, evaluation.

Batching departs from zeroclaw (one name per step): the `tiny` and `small` presets take
shuffled batches. With `shuffle=False` and `batch_size=1` (the `zeroclaw` preset) step s trains
on train[s % len(train)] exactly as zeroclaw does. Names longer than the block are cut to
block_size tokens as zeroclaw cuts them (`zeroclaw_truncation`), or else to block_size
predicted positions.
"""

import math

import numpy as np

from .model import GPT, batch_arrays
from .prng import Lanes, Rng, mix_key

DATA_STREAM = 0x5EED_DA7A  # the batch-order generator is seeded apart from the weights
DROPOUT_STREAM = 0xD20B_0D70  # and the dropout masks apart from both


def encode_items(items, vocab, config):
    """Names -> tokens (n, block_size + 1) padded with EOS, and predicted positions per name (n,)."""
    block_size = config.block_size
    keep = block_size if config.zeroclaw_truncation else block_size + 1
    rows = np.full((len(items), block_size + 1), vocab.EOS, dtype=np.int64)
    npred = np.zeros(len(items), dtype=np.int64)
    for i, item in enumerate(items):
        toks = vocab.encode(item)[:keep]
        rows[i, :len(toks)] = toks
        npred[i] = len(toks) - 1
    return rows, npred


EXPLODED = 3.0   # a step loss this many times the start (the first loss, or ln V if higher) is divergence


def part_of(name):
    """The part of the model a parameter belongs to: 'embedding', 'block 1', ... or 'head'."""
    if name in ("wte", "wpe"):
        return "embedding"
    if name.startswith("l"):
        return f"block {int(name[1:].split('.')[0]) + 1}"
    return "head"


def part_norms(arrays):
    """{part: L2 norm} over a dict of parameter-shaped arrays."""
    sq = {}
    for name, a in arrays.items():
        sq[part_of(name)] = sq.get(part_of(name), 0.0) + float(np.vdot(a, a))
    return {part: math.sqrt(v) for part, v in sq.items()}


def part_stats(model, grad_norms, before):
    """{part: [gradient norm, |update| / |weights|]} of the step that turned `before` into
    model.flat (the same step's numbers: no second pass)."""
    delta = model._views(model.flat - before)
    steps, weights = part_norms(delta), part_norms(model.params)
    return {part: [grad_norms[part], steps[part] / weights[part] if weights[part] > 0 else 0.0]
            for part in grad_norms}


def shard_bounds(n, shards):
    """(lo, hi) rows of each shard of an n-row batch cut into `shards` (n at most), in order, as
    even as can be."""
    shards = min(shards, n)
    return [(s * n // shards, (s + 1) * n // shards) for s in range(shards)]


def dropout_lanes(config, seed, step, index):
    """The generator of the dropout masks of shard `index` of step `step` (None without dropout).
    It is keyed by the run's seed, the step and the shard only, so whichever worker computes a
    shard draws the same masks, and a run repeats bit for bit."""
    if config.dropout == 0:
        return None
    return Lanes(mix_key(seed ^ DROPOUT_STREAM, step, index))


def shard_loss(model, rows, npred, total, drop=None):
    """Loss of one shard of a batch whose predicted tokens number `total`; fills model.grad_flat
    with the shard's gradient. The shards' losses (and gradients) add up to the batch's. `drop`:
    the shard's dropout_lanes."""
    with np.errstate(over="ignore", invalid="ignore"):    # divergence is reported by the caller
        return model.loss_arrays(*batch_arrays(rows, npred, model.dtype, total), drop=drop)


def shard_result(model, rows, npred, total, drop=None):
    """(loss, a copy of the gradient) of one shard: what a worker contributes to a shared step."""
    return shard_loss(model, rows, npred, total, drop), model.grad_flat.copy()


class StepWork:
    """One step's batch as its shards: `shards[i]` is (rows, npred) of shard i, `total` the
    batch's predicted tokens. Whoever computes a shard (this process or a worker in the tab)
    gets the same numbers from shard_loss; Trainer.apply adds them in shard order."""

    def __init__(self, step, shards, total, arrays=None):
        self.step = step
        self.shards = shards
        self.total = total
        self.arrays = arrays     # a one-shard step's ready-made arrays (zeroclaw's fixed order)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class TrainingDiverged(ArithmeticError):
    """The loss stopped being a finite number or blew up far above where it started (usually:
    the learning rate is too high)."""


class Adam:
    """Adam on one flat vector, bias correction folded into the step size (zeroclaw's form)."""

    def __init__(self, config, n):
        self.c = config
        self.m = np.zeros(n, dtype=config.dtype)
        self.v = np.zeros(n, dtype=config.dtype)

    def lr_at(self, step):
        """Scheduled learning rate for 0-based step (before bias correction)."""
        c, t = self.c, step + 1
        lr = c.lr * (1.0 - t / c.steps) if t <= c.steps else 0.0
        if c.warmup_steps and t <= c.warmup_steps:
            lr = c.lr * t / c.warmup_steps * (1.0 - t / c.steps)
        return lr

    def update(self, p, g, step):
        c, t = self.c, step + 1
        if c.grad_clip > 0:
            norm = float(np.sqrt(g @ g))
            if norm > c.grad_clip:
                g *= c.grad_clip / norm
        lr = self.lr_at(step)
        if c.weight_decay > 0:
            p *= 1.0 - lr * c.weight_decay
        m, v = self.m, self.v
        m *= c.beta1
        m += (1 - c.beta1) * g
        v *= c.beta2
        g *= g
        v += (1 - c.beta2) * g                                  # g is scratch from here on
        step_size = lr * math.sqrt(1 - c.beta2 ** t) / (1 - c.beta1 ** t)
        np.sqrt(v, out=g)
        g += c.eps
        np.divide(m, g, out=g)
        g *= step_size
        p -= g


class Trainer:
    """Owns a model, its optimizer and the batch order; one call of train_step is one step."""

    def __init__(self, config, dataset, seed=42, model=None):
        self.config = config.validate()
        self.dataset = dataset
        self.seed = int(seed)
        self.model = model if model is not None else GPT(config, dataset.vocab.size, seed)
        if len(dataset.train) == 0:
            raise ValueError("the training split is empty")
        self.rows, self.npred = encode_items(dataset.train, dataset.vocab, config)
        self.opt = Adam(config, self.model.num_params())
        self.rng = Rng(self.seed ^ DATA_STREAM)
        self.order = np.arange(len(self.rows))
        self.cursor = len(self.rows) if config.shuffle else 0
        self.step = 0
        self.tokens_seen = 0
        self.start_loss = None     # what divergence is measured against (see EXPLODED)
        self.watched = None        # the last watched step's part_stats
        # One name per step in file order (zeroclaw's way): each step's arrays are built once.
        self.fixed = None
        if config.batch_size == 1 and not config.shuffle:
            self.fixed = [batch_arrays(self.rows[i:i + 1], self.npred[i:i + 1], self.model.dtype)
                          for i in range(len(self.rows))]

    def next_batch(self):
        n, B = len(self.rows), self.config.batch_size
        take, got = [], 0
        while got < B:
            if self.cursor >= n:
                self.order = self.epoch_order()
                self.cursor = 0
            k = min(B - got, n - self.cursor)
            take.append(self.order[self.cursor:self.cursor + k])
            self.cursor += k
            got += k
        sel = take[0] if len(take) == 1 else np.concatenate(take)
        return self.rows[sel], self.npred[sel]

    def epoch_order(self):
        """Indices of one pass over the training names: file order, or shuffled and then, one
        window of sort_window batches at a time, grouped by length into batches that are
        themselves shuffled (the batch has less padding; its names are still random)."""
        n, B, W = len(self.rows), self.config.batch_size, self.config.sort_window
        if not self.config.shuffle:
            return np.arange(n)
        order = self.rng.permutation(n)
        if W <= 1:
            return order
        for lo in range(0, n, W * B):
            win = order[lo:lo + W * B]
            win = win[np.argsort(self.npred[win], kind="stable")]
            batches = [win[i:i + B] for i in range(0, len(win), B)]
            order[lo:lo + len(win)] = np.concatenate([batches[i] for i in self.rng.permutation(len(batches))])
        return order

    def train_step(self, watch=False):
        """One optimizer step; returns its loss. With `watch`, self.watched holds each part's
        gradient norm and update-to-weight ratio of this step (see part_stats)."""
        work = self.next_work()
        return self.apply(work, self.compute(work), watch)

    def next_work(self):
        """The next step's batch, cut into config.shards shards."""
        if self.fixed is not None:
            i = self.step % len(self.fixed)
            return StepWork(self.step, [(self.rows[i:i + 1], self.npred[i:i + 1])], int(self.npred[i]),
                            arrays=self.fixed[i])
        rows, npred = self.next_batch()
        shards = [(rows[lo:hi], npred[lo:hi]) for lo, hi in shard_bounds(len(rows), self.config.shards)]
        return StepWork(self.step, shards, int(npred.sum()))

    def drop(self, work, index):
        """The dropout generator of shard `index` of `work` (see dropout_lanes)."""
        return dropout_lanes(self.config, self.seed, work.step, index)

    def compute(self, work):
        """[(loss, gradient)] of each shard of `work`, in order, computed here."""
        model = self.model
        if work.arrays is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                return [(model.loss_arrays(*work.arrays, drop=self.drop(work, 0)), model.grad_flat)]
        if len(work.shards) == 1:
            rows, npred = work.shards[0]
            return [(shard_loss(model, rows, npred, work.total, self.drop(work, 0)), model.grad_flat)]
        return [shard_result(model, rows, npred, work.total, self.drop(work, i))
                for i, (rows, npred) in enumerate(work.shards)]

    def apply(self, work, results, watch=False):
        """Add the shards' losses and gradients in shard order, check for divergence, take the
        Adam step; returns the step's loss. `results` may come from other workers: the sum is
        the same bits whoever computed which shard."""
        loss, grad = results[0]
        for next_loss, next_grad in results[1:]:
            loss += next_loss
            grad += next_grad
        if not math.isfinite(loss):
            raise TrainingDiverged(f"training diverged at step {self.step + 1} (the loss is {loss});"
                                   " try a smaller learning rate")
        if self.start_loss is None:
            self.start_loss = max(loss, math.log(self.dataset.vocab.size))
        elif loss > EXPLODED * self.start_loss:
            raise TrainingDiverged(f"training diverged at step {self.step + 1} (the loss rose to {loss:.4g},"
                                   f" from {self.start_loss:.4g} at the start); try a smaller learning rate")
        if watch:
            grads = part_norms(self.model._views(grad))
            before = self.model.flat.copy()
        self.opt.update(self.model.flat, grad, self.step)
        if watch:
            self.watched = part_stats(self.model, grads, before)
        self.step += 1
        self.tokens_seen += work.total
        return loss

    def state(self):
        """What this trainer needs to go on exactly where it is (Adam's moments, the batch
        order, the generator), as JSON-ready values; see restore."""
        return {"step": self.step, "tokens_seen": self.tokens_seen, "start_loss": self.start_loss,
                "m": self.opt.m.astype(float).tolist(), "v": self.opt.v.astype(float).tolist(),
                "rng": list(self.rng.s), "order": self.order.tolist(), "cursor": self.cursor}

    def restore(self, state):
        """Go on from `state` (from state() of a trainer with the same config, data and seed);
        ValueError naming the first entry that does not fit."""
        def need(cond, what):
            if not cond:
                raise ValueError(f"the saved run does not fit: {what}")

        need(isinstance(state, dict), "its state is not an object")
        n, rows = self.model.num_params(), len(self.rows)
        for key in ("step", "tokens_seen", "cursor"):
            need(_is_int(state.get(key)) and state[key] >= 0, f"{key} must be a whole number")
        need(state["step"] <= self.config.steps, "it is past the end of its run")
        need(state["cursor"] <= rows, "cursor is past the end of the data")
        start = state.get("start_loss")
        need(start is None or (isinstance(start, float) and math.isfinite(start)), "start_loss")
        for key in ("m", "v"):
            need(isinstance(state.get(key), list) and len(state[key]) == n, f"{key} needs {n} numbers")
        rng, order = state.get("rng"), state.get("order")
        need(isinstance(rng, list) and len(rng) == 4 and all(_is_int(x) and 0 <= x < 2 ** 32 for x in rng),
             "rng must be four 32-bit integers")
        need(isinstance(order, list) and len(order) == rows and all(_is_int(i) for i in order)
             and sorted(order) == list(range(rows)), f"order must be a permutation of {rows} rows")
        try:
            m = np.array(state["m"], dtype=np.float64)
            v = np.array(state["v"], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise ValueError("the saved run does not fit: m and v must hold numbers") from None
        need(np.all(np.isfinite(m)) and np.all(np.isfinite(v)) and np.all(v >= 0), "m and v must be finite")
        self.opt.m[...] = m
        self.opt.v[...] = v
        self.step, self.tokens_seen, self.cursor = state["step"], state["tokens_seen"], state["cursor"]
        self.start_loss = start
        self.rng.s = list(rng)
        self.order = np.array(order, dtype=np.int64)

    def evaluate(self, items=None, chunk=1024):
        """Mean NLL per predicted token (every character and EOS) over items (default: val)."""
        items = self.dataset.val if items is None else items
        return evaluate(self.model, self.dataset.vocab, items, chunk)


def evaluate(model, vocab, items, chunk=1024):
    """Mean NLL per predicted token of items; nan for none."""
    return mean_loss(evaluate_chunks(model, vocab, items, chunk))


def mean_loss(chunks):
    """Mean NLL per predicted token from evaluate_chunks' (summed NLL, tokens); nan for none."""
    total = tokens = 0.0
    for loss_sum, n in chunks:
        total += loss_sum
        tokens += n
    return total / tokens if tokens else float("nan")


def evaluate_chunks(model, vocab, items, chunk=1024):
    """(summed NLL, predicted tokens) per chunk of items, for a caller that wants to yield
    between chunks (the page does, so Reset can get in)."""
    rows, npred = encode_items(items, vocab, model.config)
    for i in range(0, len(rows), chunk):
        inputs, targets, w = batch_arrays(rows[i:i + chunk], npred[i:i + chunk], model.dtype)
        with np.errstate(over="ignore", invalid="ignore"):    # a diverged model scores nan
            loss = model.loss_arrays(inputs, targets, w, grad=False)
        n = float(npred[i:i + chunk].sum())
        yield loss * n, n
