"""The run loop (zcgpt.run) and the Trainer's divergence check."""

import math

import pytest

from zcgpt.config import presets
from zcgpt.data import make_dataset
from zcgpt.run import MAX_POINTS, TAIL, VAL_POINTS, Run, Schedule, live_val_size
from zcgpt.train import EXPLODED, Trainer, TrainingDiverged

from conftest import ROOT

NAMES = (ROOT / "names.txt").read_text(encoding="utf-8").splitlines()[:2000]


def trainer(steps=40, seed=3, **changes):
    return Trainer(presets["tiny"].replace(steps=steps, **changes), make_dataset(NAMES, 0.1, seed), seed)


def test_points_are_window_means_on_the_schedule():
    """Against a plain loop: the mean of the step losses between points, validation where due."""
    tr, ref = trainer(), trainer()
    run = Run(tr, Schedule(report_every=7, val_every=14, val_items=tuple(ref.dataset.val[:50]), val_last=False))
    points = [p for p in run.steps() if p is not None]
    losses = [ref.train_step() for _ in range(40)]
    want_steps = [7, 14, 21, 28, 35, 40]
    assert [p.step for p in points] == want_steps
    lo = 0
    for p in points:
        assert p.train_loss == pytest.approx(sum(losses[lo:p.step]) / (p.step - lo), rel=0, abs=0)
        lo = p.step
    assert [p.val_loss is not None for p in points] == [False, True, False, True, False, False]
    assert run.train_loss == sum(losses[-TAIL:]) / len(losses[-TAIL:])


def test_val_every_off_the_report_grid_still_gets_its_point():
    run = Run(trainer(steps=12), Schedule(report_every=5, val_every=3, val_items=("anna",), val_last=True))
    points = [p for p in run.steps() if p is not None]
    assert [(p.step, p.val_loss is not None) for p in points] == [
        (3, True), (5, False), (6, True), (9, True), (10, False), (12, True)]


def test_page_schedule():
    names = (ROOT / "names.txt").read_text(encoding="utf-8").splitlines()
    tr = Trainer(presets["tiny"].replace(steps=2000), make_dataset(names, 0.1, 3), 3)
    s = Schedule.for_page(tr)
    assert s.report_every == math.ceil(2000 / MAX_POINTS)
    assert s.val_every % s.report_every == 0 and round(2000 / s.val_every) == VAL_POINTS
    val = tr.dataset.val
    n = live_val_size(tr.model.num_params(), len(val))
    assert len(s.val_items) == n and set(s.val_items) <= set(val)
    assert val.index(s.val_items[-1]) > len(val) * 0.9            # spread over the file, not its head


def test_live_val_size_is_a_power_of_two_bounded_by_work():
    assert live_val_size(10, 50) == 50                      # all of a small set
    assert live_val_size(4880, 3000) == 128                 # 2**20 / 4880 = 214 -> 128
    assert live_val_size(10 ** 7, 3000) == 64               # never fewer than 64


def test_finish_runs_to_the_end_and_evaluates_everything():
    tr = trainer(steps=25)
    run = Run(tr, Schedule.for_page(tr))
    points = run.finish()
    assert run.done and points[-1].step == 25 and points[-1].val_loss is not None
    assert run.val_loss == pytest.approx(tr.evaluate(), rel=1e-12)
    assert run.tokens_per_s() > 0 and run.train_seconds > 0


def test_one_seed_one_curve():
    a, b = (Run(t, Schedule.for_page(t)).finish() for t in (trainer(), trainer()))
    assert a == b


def test_a_loss_that_explodes_is_divergence():
    tr = trainer(steps=50, lr=1e6)
    with pytest.raises(TrainingDiverged, match=r"diverged at step \d+ \(the loss rose to"):
        for _ in range(50):
            tr.train_step()
    assert tr.step < 50


def test_a_sane_run_is_not_called_diverged():
    tr = trainer(steps=300, lr=0.03)
    losses = [tr.train_step() for _ in range(300)]
    assert max(losses) < EXPLODED * tr.start_loss


def test_a_nan_loss_is_divergence(monkeypatch):
    tr = trainer()
    tr.train_step()
    monkeypatch.setattr(tr.model, "loss_arrays", lambda *a, **k: float("nan"))
    with pytest.raises(TrainingDiverged, match="the loss is nan"):
        tr.train_step()


def test_trainer_state_round_trip_and_refusals():
    a, b = trainer(steps=30), trainer(steps=30)
    for _ in range(11):
        a.train_step()
    state = a.state()
    b.model.flat[...] = a.model.flat             # the weights travel in the checkpoint beside it
    b.restore(json_round_trip(state))
    assert [a.train_step() for _ in range(19)] == [b.train_step() for _ in range(19)]
    assert (a.model.flat == b.model.flat).all()
    for bad, words in [
        ({**state, "order": state["order"][:-1]}, "order must be a permutation"),
        ({**state, "order": [0] * len(state["order"])}, "order must be a permutation"),
        ({**state, "m": state["m"][:-1]}, "m needs"),
        ({**state, "v": [-1.0] * len(state["v"])}, "m and v must be finite"),
        ({**state, "rng": [1, 2, 3]}, "rng must be four"),
        ({**state, "step": 31}, "past the end"),
        ({**state, "cursor": -1}, "cursor must be a whole number"),
        ([], "not an object"),
    ]:
        with pytest.raises(ValueError, match=words):
            trainer(steps=30).restore(bad)


def json_round_trip(x):
    import json
    return json.loads(json.dumps(x))
