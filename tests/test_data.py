"""The loader: vocabulary order, dedup, the seeded split, and one clear sentence per bad input."""

from pathlib import Path

import pytest

from zcgpt.data import (MAX_DISTINCT_CHARS, MAX_LINE_CHARS, DataError, Vocab, load_lines,
                        make_dataset, parse_lines)


def write(tmp_path, data, name="items.txt"):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return p


# --- vocabulary ----------------------------------------------------------------------------

def test_vocab_order_specials_then_sorted_chars():
    v = Vocab.from_items(["emma", "zoe", "ava"])
    assert v.itos == ["<BOS>", "<EOS>", "a", "e", "m", "o", "v", "z"]
    assert (v.BOS, v.EOS, v.size) == (0, 1, 8)
    assert v.stoi["a"] == 2 and v.stoi["z"] == 7


def test_encode_decode_round_trip():
    v = Vocab.from_items(["emma", "zoe"])
    ids = v.encode("zoe")
    assert ids[0] == v.BOS and ids[-1] == v.EOS and len(ids) == 5
    assert v.decode(ids) == "zoe"
    assert v.decode([v.BOS, v.stoi["m"], v.EOS, v.stoi["a"]]) == "m"  # stops at EOS


def test_encode_unknown_character_names_it():
    v = Vocab.from_items(["emma"])
    with pytest.raises(DataError, match="'x'.*not in the vocabulary"):
        v.encode("max")


# --- parsing -------------------------------------------------------------------------------

def test_parse_strips_skips_blanks_and_dedups_keeping_first_order():
    text = "  liam \r\nemma\n\n\tliam\nava\nemma\n"
    assert parse_lines(text, "f") == ["liam", "emma", "ava"]


def test_parse_keeps_case_and_inner_spaces():
    assert parse_lines("Ann Marie\nann marie\n", "f") == ["Ann Marie", "ann marie"]


def test_bom_is_not_part_of_the_first_item(tmp_path):
    assert load_lines(write(tmp_path, b"\xef\xbb\xbfanna\nbob\n")) == ["anna", "bob"]


@pytest.mark.parametrize("data, pattern", [
    (b"", r"items\.txt is empty\."),
    (b"\n  \n\n", r"items\.txt has only blank lines\."),
    (b"anna\nanna\n  anna \n", r"only 1 distinct non-blank line; at least 2"),
    (b"anna\nbob\n\x00\x01\x02", r"looks binary: line 3 contains a NUL byte"),
    (b"anna\nb\xe9b\n", r"not UTF-8 text: line 2 has the invalid byte 0xe9"),
    (b"anna\nbob\ncl\x1bre\n", r"line 3 contains the control character U\+001B"),
    (b"anna\nbob\n" + b"x" * (MAX_LINE_CHARS + 1) + b"\n",
     rf"line 3 is {MAX_LINE_CHARS + 1} characters long; the limit is {MAX_LINE_CHARS}"),
])
def test_bad_files_give_one_sentence_with_the_line(tmp_path, data, pattern):
    with pytest.raises(DataError, match=pattern) as e:
        load_lines(write(tmp_path, data))
    msg = str(e.value)
    assert "items.txt" in msg and "\n" not in msg and msg.endswith(".")


def test_too_many_distinct_characters_names_the_line(tmp_path):
    lines = ["ab", "cd"] + [chr(0x4E00 + i) * 3 for i in range(MAX_DISTINCT_CHARS)]
    # 4 letters + 256 ideographs: the 257th distinct character arrives on line 2 + 253 = 255
    with pytest.raises(DataError, match=r"more than 256 distinct characters .*line 255\b"):
        load_lines(write(tmp_path, "\n".join(lines)))


def test_line_of_exactly_the_limit_is_fine(tmp_path):
    items = load_lines(write(tmp_path, "a" * MAX_LINE_CHARS + "\nbob\n"))
    assert len(items[0]) == MAX_LINE_CHARS


def test_file_size_limit(tmp_path, monkeypatch):
    import zcgpt.data
    monkeypatch.setattr(zcgpt.data, "MAX_FILE_BYTES", 2**20)
    p = write(tmp_path, b"anna\n" * 300_000)
    with pytest.raises(DataError, match=r"items\.txt is 1\.4 MB; the limit is 1 MB"):
        load_lines(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match=r"nope\.txt: no such file\."):
        load_lines(tmp_path / "nope.txt")
    with pytest.raises(DataError, match=r"is a directory"):
        load_lines(tmp_path)


def test_names_txt_loads():
    items = load_lines(Path(__file__).resolve().parent.parent / "names.txt")
    assert len(items) == 29910 and items[:2] == ["emma", "liam"]


# --- split ---------------------------------------------------------------------------------

ITEMS = [f"n{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(200)]


def test_split_is_deterministic_disjoint_and_covers_everything():
    a, b = make_dataset(ITEMS, 0.1, seed=7), make_dataset(ITEMS, 0.1, seed=7)
    assert (a.train, a.val) == (b.train, b.val)
    assert len(a.val) == 20 and len(a.train) == 180
    assert not set(a.train) & set(a.val)
    assert sorted(a.train + a.val) == sorted(ITEMS)
    # both parts keep file order
    assert a.train == [x for x in ITEMS if x in set(a.train)]
    assert a.val == [x for x in ITEMS if x in set(a.val)]


def test_split_depends_on_the_seed():
    assert make_dataset(ITEMS, 0.1, seed=1).val != make_dataset(ITEMS, 0.1, seed=2).val


def test_val_frac_zero_keeps_everything_in_file_order():
    d = make_dataset(ITEMS, 0.0, seed=3)
    assert d.train == ITEMS and d.val == []


def test_vocab_comes_from_all_items_even_held_out_ones():
    items = ["aa", "bb", "cc", "dd", "ez"]
    for seed in range(5):
        assert make_dataset(items, 0.4, seed).vocab.chars == list("abcdez")


def test_split_keeps_at_least_one_on_each_side():
    d = make_dataset(["ab", "cd"], 0.9, seed=0)
    assert len(d.train) == 1 and len(d.val) == 1
    d = make_dataset(["ab", "cd", "ef"], 0.01, seed=0)
    assert len(d.val) == 1


@pytest.mark.parametrize("frac", [-0.1, 1.0, 1.5])
def test_bad_val_frac(frac):
    with pytest.raises(DataError, match=r"validation fraction must be in \[0, 1\)"):
        make_dataset(ITEMS, frac)
