"""Sharing steps between workers (zcgpt.shards): the bits depend on `shards`, never on how many
workers computed the shards, which did which, in what order they answered, or who dropped out.

The helpers here are zcgpt.shards.Helper objects behind a fake transport that carries every
message as bytes, as the tab's MessageChannels do, and delivers answers in a shuffled order.
"""

import json
import random

import numpy as np
import pytest

from zcgpt.app import App
from zcgpt.config import presets
from zcgpt.data import make_dataset
from zcgpt.protocol import TO_PAGE, check_message
from zcgpt.run import Run, Schedule
from zcgpt.shards import WAIT, Helper, Pool, pack, unpack
from zcgpt.train import Trainer, shard_bounds

from conftest import ROOT

NAMES = (ROOT / "names.txt").read_text(encoding="utf-8").splitlines()[:800]


class Transport:
    """Helpers in this process: what the leader sends is queued as bytes and answered when the
    run waits, in a shuffled order. `silent` helpers never answer; `failing` ones say they failed."""

    def __init__(self, n, seed=0, silent=(), failing=()):
        self.helpers = {hid: Helper() for hid in range(1, n + 1)}
        self.queue = []
        self.rng = random.Random(seed)
        self.silent, self.failing = set(silent), set(failing)
        self.pool = Pool(self.send, tune=False)
        for hid in self.helpers:
            self.pool.add(hid)

    def send(self, hid, header, arrays):
        header, blob = pack(header, arrays)
        self.queue.append((hid, json.dumps(header), bytes(blob)))

    def deliver(self):
        """Every queued message reaches its helper; the answers reach the pool, shuffled.
        Returns the reasons the pool gave to drop helpers."""
        answers, dropped = [], []
        for hid, text, blob in self.queue:
            header = json.loads(text)
            if hid in self.silent:
                continue
            if hid in self.failing and header["type"] == "work":
                answers.append((hid, {"type": "failed", "run": header["run"], "step": header["step"],
                                      "message": "MemoryError: out of memory"}, b""))
                continue
            reply = self.helpers[hid].handle(header, unpack(header, blob))
            if reply is not None:
                h, grads = pack(*reply)
                answers.append((hid, json.loads(json.dumps(h)), bytes(grads)))
        self.queue = []
        self.rng.shuffle(answers)
        for hid, header, blob in answers:
            reason = self.pool.arrive(hid, header, unpack(header, blob))
            if reason:
                dropped.append(reason)
                self.pool.drop(hid)
        return dropped


def dataset():
    return make_dataset(NAMES, 0.1, seed=3)


def config(**changes):
    return presets["tiny"].replace(**{"steps": 40, "shards": 6, **changes})


def run_alone(cfg):
    tr = Trainer(cfg, dataset(), seed=5)
    losses = [tr.train_step(watch=i % 10 == 0) for i in range(cfg.steps)]
    return tr, losses


def run_shared(cfg, transport, on_wait=None):
    tr = Trainer(cfg, dataset(), seed=5)
    transport.pool.begin(1, cfg, tr.dataset.vocab.size, tr.seed)
    run = Run(tr, Schedule(10, 0, ()), pool=transport.pool)
    waits = 0
    for item in run.steps():
        if item is WAIT:
            waits += 1
            if on_wait:
                on_wait(transport, waits)
            transport.deliver()
    return tr, run, waits


def same_bits(a, b):
    return a.model.flat.tobytes() == b.model.flat.tobytes() and a.opt.m.tobytes() == b.opt.m.tobytes()


def test_shard_bounds_cover_the_batch_in_order():
    for n in (1, 5, 64):
        for s in (1, 2, 3, 6, 7, 100):
            b = shard_bounds(n, s)
            assert len(b) == min(n, s) and b[0][0] == 0 and b[-1][1] == n
            assert all(hi > lo for lo, hi in b) and all(b[i][1] == b[i + 1][0] for i in range(len(b) - 1))


def test_shards_add_up_to_the_whole_batch_gradient():
    tr = Trainer(config(steps=1, dtype="float64"), dataset(), seed=5)
    work = tr.next_work()
    assert len(work.shards) == 6
    sharded = tr.compute(work)
    one = Trainer(config(steps=1, shards=1, dtype="float64"), dataset(), seed=5)
    w1 = one.next_work()
    (loss1, grad1), = one.compute(w1)
    assert sum(l for l, _ in sharded) == pytest.approx(loss1, rel=1e-12)
    np.testing.assert_allclose(sum(g for _, g in sharded), grad1, rtol=1e-9, atol=1e-15)


def test_shards_change_the_run_and_one_shard_is_the_plain_step():
    a, la = run_alone(config(shards=1))
    b, lb = run_alone(config(shards=6))
    assert not same_bits(a, b)                               # a different recipe
    assert la[0] == pytest.approx(lb[0], rel=1e-5)           # of the same batch


@pytest.mark.parametrize("helpers", [1, 2, 3, 5, 8])
def test_any_number_of_helpers_gives_the_same_bits(helpers):
    alone, losses = run_alone(config())
    tr, run, waits = run_shared(config(), Transport(helpers, seed=helpers))
    assert waits >= tr.config.steps                         # the helpers did share the steps
    assert same_bits(alone, tr) and list(run.tail) == losses


def test_dropout_masks_depend_on_the_shard_not_on_who_computes_it():
    cfg = config(dropout=0.2)
    alone, losses = run_alone(cfg)
    assert not same_bits(alone, run_alone(config())[0])     # dropout is on: another run
    for helpers in (1, 2, 5):
        tr, run, waits = run_shared(cfg, Transport(helpers, seed=helpers))
        assert waits >= cfg.steps
        assert same_bits(alone, tr) and list(run.tail) == losses


def test_a_helper_that_dies_mid_run_loses_nothing():
    alone, _ = run_alone(config())
    t = Transport(3, seed=1)

    def kill(transport, waits):
        if waits == 17:
            transport.silent.add(2)                          # its answers to step 17 never come
        if waits == 18:
            assert transport.pool.drop(2)                    # the page saw it die
    tr, run, _ = run_shared(config(), t, on_wait=kill)
    assert same_bits(alone, tr) and t.pool.helpers == [1, 3]


def test_a_helper_that_fails_is_dropped_and_its_shards_done_by_the_leader():
    alone, _ = run_alone(config())
    t = Transport(2, failing={1})
    tr, _, _ = run_shared(config(), t)
    assert same_bits(alone, tr) and t.pool.helpers == [2]


def test_the_tuner_tries_each_count_then_keeps_the_fastest_and_tries_again_later():
    from zcgpt.shards import TRIAL_EVERY, TRIAL_STEPS, Tuner
    cost = {3: 5.0, 2: 4.0, 1: 4.1, 0: 6.0}          # seconds a step takes with that many helpers
    t, seen = Tuner(), []
    for _ in range(4 * TRIAL_STEPS + 10):
        k = t.count(3)
        seen.append(k)
        t.timed(k, cost[k])
    assert seen[:4 * TRIAL_STEPS] == [3] * TRIAL_STEPS + [2] * TRIAL_STEPS + [1] * TRIAL_STEPS + [0] * TRIAL_STEPS
    assert set(seen[4 * TRIAL_STEPS:]) == {1}          # within 3 % of the fastest: the fewer helpers
    for _ in range(TRIAL_EVERY - 10):
        t.timed(t.count(3), cost[t.count(3)])
    assert t.count(3) == 3                             # a new round of trials
    assert t.count(2) == 2 and t.trying == [2, 1, 0]   # a helper left: the round starts again
    assert Tuner(tune=False).count(5) == 5


def waiting_step(helpers):
    """A pool of `helpers` on a clock the test sets, and a step of a new run waiting for them."""
    clock = [0.0]
    t = Transport(helpers)
    t.pool.clock = lambda: clock[0]
    tr = Trainer(config(), dataset(), seed=5)
    t.pool.begin(1, tr.config, tr.dataset.vocab.size, tr.seed)
    gen = t.pool.gather(tr, tr.next_work())
    assert next(gen) is WAIT and t.pool.waiting
    return clock, t, tr, gen


def test_overdue_helpers_are_named():
    clock, t, _, _ = waiting_step(2)
    assert t.pool.overdue(10.0) == []
    clock[0] = 11.0
    assert sorted(t.pool.overdue(10.0)) == [1, 2]


def test_overdue_waits_longer_for_a_run_whose_answers_are_slow():
    clock, t, tr, gen = waiting_step(1)
    clock[0] = 2.0                                   # the first answer took 2 s
    t.deliver()
    with pytest.raises(StopIteration):
        next(gen)
    gen = t.pool.gather(tr, tr.next_work())
    assert next(gen) is WAIT
    clock[0] = 2.0 + 15.0
    assert t.pool.overdue(3.0) == []                 # 15 s < 10 x 2 s
    clock[0] = 2.0 + 21.0
    assert t.pool.overdue(3.0) == [1]


def test_late_and_foreign_answers_are_ignored():
    _, t, tr, _ = waiting_step(1)
    grads = [np.zeros_like(tr.model.flat)] * 3
    assert t.pool.arrive(1, {"type": "grads", "run": 1, "step": 99, "shards": [0, 2, 4], "losses": [0.0] * 3},
                         grads) is None                      # another step: no news
    assert t.pool.arrive(1, {"type": "grads", "run": 1, "step": 0, "shards": [1], "losses": [0.0]},
                         grads[:1]).startswith("it answered other shards")
    assert t.pool.waiting


def test_pack_and_unpack_keep_every_array_and_refuse_short_messages():
    arrays = [np.arange(5, dtype=np.float32), np.array([[1, 2], [3, 4]], dtype=np.int64), np.zeros(0)]
    header, blob = pack({"type": "x"}, arrays)
    back = unpack(json.loads(json.dumps(header)), bytes(blob))
    assert all(a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes() for a, b in zip(arrays, back))
    with pytest.raises(ValueError, match="past the end"):
        unpack(header, bytes(blob)[:-1])


def test_an_answer_with_too_few_losses_drops_its_helper():
    _, t, tr, _ = waiting_step(1)
    owed = t.pool.pending.owed[1]
    grads = [np.zeros_like(tr.model.flat)] * len(owed)
    reason = t.pool.arrive(1, {"type": "grads", "run": 1, "step": 0, "shards": owed, "losses": [0.0]}, grads)
    assert reason and reason.startswith("it answered other shards")


def test_the_leaders_own_shards_and_a_frozen_tab_are_not_held_against_helpers():
    clock, t, _, _ = waiting_step(1)                 # the wait began at 0
    clock[0] = 2.0
    t.pool.pending.waiting_since = 1.5               # (as if its own shards took 1.5 s)
    assert t.pool.overdue(1.0) == []                 # waited 0.5 s, not 2
    clock[0] = 10.0
    t.pool.pardon()                                  # the tab was frozen until now
    assert t.pool.overdue(1.0) == []
    clock[0] = 11.5
    assert t.pool.overdue(1.0) == [1]


def test_a_bug_mid_step_ends_the_run_instead_of_spinning(monkeypatch):
    app = App()
    app.start("\n".join(NAMES), "names.txt")
    app.pool = Transport(2).pool

    def broken(*a):
        raise RuntimeError("boom")
    monkeypatch.setattr(app.pool, "send", broken)
    app.handle({"type": "train", "preset": "tiny", "seed": 2, "changes": {"steps": 60}})
    with pytest.raises(RuntimeError):
        app.work(1.0)
    assert app.job is None and not app.has_work() and app.pool.pending is None


def test_helper_refuses_work_that_does_not_fit():
    h = Helper()
    reply, _ = h.handle({"type": "work", "run": 1, "step": 0, "total": 5, "shards": [0]}, [np.zeros(3)])
    assert reply["type"] == "failed" and "before joining" in reply["message"]
    h.handle({"type": "join", "run": 1, "config": config().to_dict(), "vocab_size": 27, "seed": 5}, [])
    reply, _ = h.handle({"type": "work", "run": 1, "step": 0, "total": 5, "shards": [0]},
                        [np.zeros(3, dtype=np.float32)])
    assert reply["type"] == "failed" and "3 weights" in reply["message"]


def test_app_with_helpers_trains_the_same_run_and_says_how_many_work():
    def train(transport):
        app = App()
        app.start("\n".join(NAMES), "names.txt")
        msgs = []
        if transport is not None:
            app.pool = transport.pool
            msgs += app.handle({"type": "helper", "id": 9})   # a fourth helper, that never answers
            transport.silent.add(9)
            transport.helpers[9] = Helper()
        msgs += app.handle({"type": "train", "preset": "tiny", "seed": 2, "changes": {"steps": 60, "shards": 6}})
        polls = 0
        while app.has_work():
            msgs += app.work(10.0)
            if app.waiting():
                polls += 1
                if polls == 5 and transport is not None:
                    msgs += app.handle({"type": "helper_gone", "id": 9, "reason": "the page stopped it"})
                transport.deliver()
        for m in msgs:
            check_message(m, TO_PAGE)
        ckpt = app.handle({"type": "save"})[0]["text"]
        return msgs, json.loads(ckpt)

    alone, ckpt_alone = train(None)
    shared, ckpt_shared = train(Transport(3, seed=4))
    assert ckpt_alone["params"] == ckpt_shared["params"]
    assert [m["points"] for m in alone if m["type"] == "progress"][-1] == \
        [m["points"] for m in shared if m["type"] == "progress"][-1]
    notes = [m for m in shared if m["type"] == "workers"]
    assert notes[0]["helpers"] == 4
    assert notes[-1]["dropped"] == 9 and notes[-1]["working"] == 4 and "stopped it" in notes[-1]["reason"]
    assert {m.get("workers") for m in shared if m["type"] == "progress"} <= {4, 5}


def test_helpers_compute_with_the_leaders_engine_or_are_dropped():
    from zcgpt import kernels

    class Kernel:                       # stands for a zcgpt.simd.Gemm this worker loaded
        engine = "simd"

    join = {"type": "join", "run": 1, "config": config().to_dict(), "vocab_size": 27, "seed": 0}
    pool = Pool(lambda *a: None)
    pool.begin(1, config(), 27, 0)
    assert pool.joining["engine"] == kernels.engine() == "numpy"   # CPython never has the kernel
    try:
        assert Helper().handle(dict(join, engine="numpy"), []) is None
        reply, _ = Helper().handle(dict(join, engine="simd"), [])   # the leader runs a kernel it has not
        assert reply["type"] == "failed" and "simd" in reply["message"]
        pool.add(4)
        assert pool.arrive(4, reply, []) == reply["message"]          # so the leader drops it
        helper = Helper(Kernel())
        assert helper.handle(dict(join, engine="simd"), []) is None and kernels.engine() == "simd"
        assert helper.handle(dict(join, engine="numpy"), []) is None and kernels.engine() == "numpy"
    finally:
        kernels.use_gemm(None)
