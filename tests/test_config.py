"""Config.problems: every field that is wrong, by name; validate raises the first."""

import math

import pytest

from zcgpt.config import Config, field_help, presets


def test_presets_have_no_problems():
    assert all(c.problems() == {} for c in presets.values())


@pytest.mark.parametrize("changes, field, words", [
    ({"n_embd": 30}, "n_embd", "not divisible by n_head 4"),
    ({"n_head": 0}, "n_head", "at least 1"),
    ({"lr": math.inf}, "lr", "finite number"),
    ({"eps": math.nan}, "eps", "finite number"),
    ({"init_std": -1.0}, "init_std", "non-negative"),
    ({"warmup_steps": 10, "steps": 10}, "warmup_steps", "[0, steps)"),
    ({"activation": "tanh"}, "activation", "one of relu2, relu, gelu"),
    ({"n_layer": "2"}, "n_layer", "must be int"),
    ({"final_norm": 1}, "final_norm", "must be bool"),
])
def test_problems_name_the_field(changes, field, words):
    c = Config(**{**presets["tiny"].to_dict(), **changes})
    problems = c.problems()
    assert field in problems and words in problems[field]
    with pytest.raises(ValueError, match="bad config: "):
        c.validate()


def test_every_problem_at_once():
    c = Config(**{**presets["tiny"].to_dict(), "n_embd": 30, "lr": -1.0, "grad_clip": -1.0})
    assert set(c.problems()) == {"n_embd", "lr", "grad_clip"}


def test_field_help_covers_every_field():
    from dataclasses import fields
    help_text = field_help()
    assert all(help_text.get(f.name) for f in fields(Config)), set(f.name for f in fields(Config)) - set(help_text)
