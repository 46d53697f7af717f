"""Fuzz the readers: random bytes, text and JSON thrown at the data loader and the checkpoint
loader must give a clean result or the one-sentence error (DataError, CheckpointError), never
another exception.

Seeded (derandomize) and bounded, so a run repeats and all of it takes seconds; raise
max_examples locally to hunt further.
"""

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zcgpt import checkpoint as ck
from zcgpt.config import presets
from zcgpt.data import BAD_CHAR, MAX_LINE_CHARS, DataError, Vocab, load_lines, make_dataset, parse_lines
from zcgpt.model import GPT

FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True)

# every code point, lone surrogates included (JSON text and pasted text can hold them)
any_char = st.characters(exclude_categories=())
# lines that look like names now and then, so the loader also gets past its first checks
name_like = st.text(st.sampled_from("abcdeé \t\r\x00\x7f\ud800"), max_size=12)
lines_text = st.lists(st.one_of(name_like, st.text(any_char, max_size=20)), max_size=30).map("\n".join)

json_leaf = st.one_of(
    st.none(), st.booleans(), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(), st.integers(min_value=10**19, max_value=10**500), st.text(any_char, max_size=8))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20)


def assert_one_sentence(e):
    msg = str(e)
    assert msg and "\n" not in msg and len(msg) < 400, msg
    assert "Traceback" not in msg


def check_items(items):
    assert len(items) >= 2 and len(set(items)) == len(items)
    for item in items:
        assert item == item.strip() and 0 < len(item) <= MAX_LINE_CHARS
        assert not BAD_CHAR.search(item), repr(item)
    make_dataset(items, 0.1, 0)  # a clean result is usable as it stands


def parse_or_error(text):
    try:
        items = parse_lines(text, "fuzz.txt")
    except DataError as e:
        assert_one_sentence(e)
        assert "fuzz.txt" in str(e)
        return
    check_items(items)


# --- data -----------------------------------------------------------------------------------

@FUZZ
@given(st.text(any_char, max_size=200))
def test_parse_lines_random_text(text):
    parse_or_error(text)


@FUZZ
@given(lines_text)
@example("emma\nav\ud800a\n")  # a lone surrogate, as a pasted list can hold
def test_parse_lines_random_lines(text):
    parse_or_error(text)


@FUZZ
@given(st.binary(max_size=300) | lines_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_load_lines_random_bytes(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.txt"
        path.write_bytes(data)
        try:
            items = load_lines(path)
        except DataError as e:
            assert_one_sentence(e)
            return
        check_items(items)


# --- checkpoints ------------------------------------------------------------------------------

def good_dict():
    vocab = Vocab("abcde")
    config = presets["zeroclaw"].replace(n_embd=8, n_head=2, block_size=4, steps=10)
    return ck.to_dict(GPT(config, vocab.size, seed=1), vocab, step=3, seed=1)


GOOD = json.dumps(good_dict())


def loads_or_error(text):
    try:
        model, vocab, meta = ck.loads(text)
    except ck.CheckpointError as e:
        assert_one_sentence(e)
        return False
    for name, p in model.params.items():
        assert p.dtype == model.dtype and bool((abs(p) <= 3.4e38).all()), name  # finite, in range
    assert vocab.size == model.vocab_size and isinstance(meta["step"], int)
    return True


@FUZZ
@given(st.text(any_char, max_size=200))
def test_checkpoint_random_text(text):
    loads_or_error(text)


@FUZZ
@given(st.binary(max_size=300))
def test_checkpoint_file_random_bytes(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.json"
        path.write_bytes(data)
        try:
            ck.load(path)
        except ck.CheckpointError as e:
            assert_one_sentence(e)
            assert str(path) in str(e)


@FUZZ
@given(json_value)
def test_checkpoint_random_json(value):
    loads_or_error(json.dumps(value))


@FUZZ
@given(st.integers(1, 20_000), st.sampled_from(["[", '{"a":', '[{"b":']))
def test_checkpoint_deep_json(depth, opener):
    closer = {"[": "]", '{"a":': "}", '[{"b":': "}]"}[opener]
    assert not loads_or_error(opener * depth + "1" + closer * depth)


def paths(d, prefix=()):
    """Every (path) to a value inside a checkpoint dict, lists cut to their first items."""
    yield prefix
    if isinstance(d, dict):
        for k, v in d.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d[:3]):
            yield from paths(v, prefix + (i,))


PATHS = list(paths(good_dict()))[1:]


@FUZZ
@given(st.sampled_from(PATHS), json_value)
def test_checkpoint_with_one_value_replaced(path, value):
    d = good_dict()
    *parents, last = path
    target = d
    for k in parents:
        target = target[k]
    target[last] = value
    loads_or_error(json.dumps(d))


@FUZZ
@given(st.integers(0, len(GOOD)), st.text(any_char, max_size=3))
def test_checkpoint_text_cut_or_spliced(at, extra):
    loads_or_error(GOOD[:at] + extra + GOOD[at + len(extra):])
    loads_or_error(GOOD[:at])


def test_the_good_checkpoint_loads():
    assert loads_or_error(GOOD)
    assert not math.isnan(ck.loads(GOOD)[2]["step"])


@pytest.mark.parametrize("digits", [21, 400, 5000, 100_000])
def test_checkpoint_huge_integers(digits):
    assert not loads_or_error(GOOD.replace('"step": 3', '"step": 1' + "0" * (digits - 1)))
