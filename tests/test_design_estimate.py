"""zcgpt.design's time model: the guess, its scaling by a tab's finished runs, and the kept
timings read back from the page's storage (untrusted: what does not fit is refused)."""

import math

import pytest

from zcgpt.design import (KEEP_TIMINGS, Timing, TimingError, Work, design_config, estimate, guess_seconds,
                          guess_parts, part_scales, read_timing, read_timings, run_work, timing_dict)

from conftest import ROOT

NAMES = (ROOT / "names.txt").read_text(encoding="utf-8").splitlines()
N_VAL = round(len(NAMES) * 0.1)


def work(preset="tiny", **changes):
    return run_work(design_config(preset, changes), 28, NAMES, N_VAL)


def seconds(preset="tiny", timings=(), **changes):
    return estimate(design_config(preset, changes), 28, NAMES, N_VAL, timings)["est_seconds"]


def timing(w, factor):
    """A run of `w` that took `factor` times the guess."""
    return Timing(w, factor * guess_seconds(w))


def test_the_guess_grows_with_steps_layers_width_and_shards():
    base = guess_seconds(work(steps=2000))
    assert guess_seconds(work(steps=4000)) > 1.8 * base
    assert guess_seconds(work(steps=2000, n_layer=2)) > 1.5 * base
    assert guess_seconds(work(steps=2000, n_embd=64)) > 3 * base
    assert guess_seconds(work(steps=2000, shards=1)) < base     # fewer shards: less overhead per step
    assert guess_seconds(work(steps=1)) > 0.3                   # start-up and validations cost on their own


def test_a_tab_that_ran_slower_scales_every_estimate_by_the_same_factor():
    default, other = work(steps=2000), work(steps=600, n_layer=2, n_embd=32)
    assert seconds(steps=600, n_layer=2, n_embd=32) == pytest.approx(guess_seconds(other), abs=0.01)
    measured = [timing(default, 1.6)]
    scaled = seconds(steps=600, n_layer=2, n_embd=32, timings=measured)
    assert scaled == pytest.approx(1.6 * guess_seconds(other), rel=0.01)


def test_runs_of_one_shape_scale_both_parts_alike_by_their_geometric_mean():
    w = work(steps=500)
    assert part_scales(()) == (1.0, 1.0)
    assert part_scales((timing(w, 2.0), timing(w, 0.5))) == pytest.approx((1.0, 1.0), rel=0.01)
    old = (timing(w, 10.0),) * 3
    assert part_scales(old + (timing(w, 1.2),) * KEEP_TIMINGS) == pytest.approx((1.2, 1.2), rel=0.01)   # the old ones are out


def test_runs_of_two_shapes_tell_faster_products_from_slower_python():
    """A tab whose products run 2.5x the model's rate (the SIMD kernel) and whose Python is 1.2x
    slower: after a run of each of two shapes, a third shape is estimated within a few per cent,
    where one factor for both parts is off by more."""
    def real(w):
        overhead, madds = guess_parts(w)
        return 1.2 * overhead + madds / 2.5

    default, wide, third = work(steps=2000), work(steps=600, n_layer=2, n_embd=32), work("small", steps=300)
    both = (Timing(default, real(default)), Timing(wide, real(wide)))
    a, b = part_scales(both)
    assert a == pytest.approx(1.2, rel=0.1) and b == pytest.approx(1 / 2.5, rel=0.1)
    overhead, madds = guess_parts(third)
    assert (a * overhead + b * madds) / real(third) == pytest.approx(1, abs=0.05)
    one = part_scales(both[:1])
    assert abs((one[0] * overhead + one[1] * madds) / real(third) - 1) > 0.08


def test_the_simd_engine_guesses_faster_products_and_the_same_overhead():
    w = work(steps=600, n_layer=2, n_embd=32)
    (o, m), (o_simd, m_simd) = guess_parts(w), guess_parts(w, "simd")
    assert o_simd == o and 0 < m_simd < m / 2
    assert seconds(steps=600, n_layer=2, n_embd=32) > estimate(
        design_config("tiny", {"steps": 600, "n_layer": 2, "n_embd": 32}), 28, NAMES, N_VAL, (), "simd")["est_seconds"]


def test_a_timing_goes_to_the_page_and_back():
    t = Timing(work(steps=700, n_layer=3), 12.345)
    d = timing_dict(t)
    assert set(d) == {"steps", "step_madds", "shard_layers", "eval_madds", "seconds"}
    assert read_timing(d) == t
    assert read_timings([d, d]) == [t, t]
    old = {("slice_layers" if k == "shard_layers" else k): v for k, v in d.items()}   # kept before the rename
    assert read_timing(old) == t


GOOD = timing_dict(Timing(Work(2000, 7_000_000, 3, 500_000_000), 14.0))


@pytest.mark.parametrize("bad, words", [
    ("14 s", "must be an object"),
    ({**GOOD, "colour": 1}, "has the fields"),
    ({k: v for k, v in GOOD.items() if k != "seconds"}, "has the fields"),
    ({**GOOD, "steps": "2000"}, "whole numbers"),
    ({**GOOD, "steps": 2000.0}, "whole numbers"),
    ({**GOOD, "shard_layers": True}, "whole numbers"),
    ({**GOOD, "step_madds": -1}, "whole numbers"),
    ({**GOOD, "eval_madds": 10 ** 400}, "whole numbers"),
    ({**GOOD, "seconds": 0}, "above 0"),
    ({**GOOD, "seconds": math.inf}, "above 0"),
    ({**GOOD, "seconds": math.nan}, "above 0"),
    ({**GOOD, "seconds": "14"}, "above 0"),
    ({**GOOD, "seconds": None}, "above 0"),
    ({**GOOD, "steps": 0}, "50 times off"),
    ({**GOOD, "seconds": 0.01}, "50 times off"),
    ({**GOOD, "seconds": 20000}, "50 times off"),
])
def test_a_kept_timing_that_does_not_fit_is_refused_with_a_reason(bad, words):
    with pytest.raises(TimingError, match=words):
        read_timing(bad)


def test_kept_timings_that_do_not_fit_are_left_out():
    good = read_timing(GOOD)
    for raw in (None, "[]", {"0": GOOD}, 7, [], [None, [], "x", {**GOOD, "seconds": -1}]):
        assert read_timings(raw) == []
    assert read_timings([{**GOOD, "seconds": math.nan}, GOOD, 3]) == [good]
    assert len(read_timings([GOOD] * (KEEP_TIMINGS + 4))) == KEEP_TIMINGS


def test_a_design_whose_one_step_would_outlast_the_liveness_limit_is_refused_before_it_starts():
    from zcgpt.design import STEP_MAX_SECONDS, call_seconds
    big = design_config("small", {"n_embd": 256, "n_layer": 6, "batch_size": 400, "steps": 3})
    step, val, chunk = call_seconds(big, 28, NAMES, N_VAL)
    assert 0 < val < chunk and step < STEP_MAX_SECONDS and chunk < STEP_MAX_SECONDS    # the big design trains (its steps say busy)
    assert estimate(big, 28, NAMES, N_VAL)["refused"] is None
    slow = [Timing(work(), 20 * guess_seconds(work()))]   # a tab 20 times slower than the guess
    refused = estimate(big, 28, NAMES, N_VAL, slow)["refused"]
    assert refused and "would take about" in refused and f"over {STEP_MAX_SECONDS} s" in refused


def test_alive_says_busy_before_long_calls_only():
    from zcgpt import alive
    from zcgpt.app import App
    app = App()
    app.start("\n".join(NAMES), "names.txt")
    assert alive.for_message(app, {"type": "data", "via": "paste", "name": "a", "text": "ab\ncd"}) is None
    big = alive.for_message(app, {"type": "data", "via": "upload", "name": "a", "b64": "x" * 25_000_000})
    assert big["type"] == "busy" and big["seconds"] >= 25 and big["what"] == "checking the list"
    assert alive.for_message(app, {"type": "train", "preset": "tiny", "seed": 1, "changes": {}}) is None
    long = alive.for_message(app, {"type": "train", "preset": "small", "seed": 1,
                                   "changes": {"n_embd": 256, "n_layer": 6, "batch_size": 400, "steps": 3}})
    assert long["seconds"] > 10
    ticks = []
    app.heartbeat = lambda: ticks.append(alive.heartbeat())
    app.use_list("\n".join(f"{n}{i}" for i in range(8) for n in NAMES[:30000]), "big.txt", "upload")
    assert len(ticks) == 1 and ticks[0]["type"] == "busy"
