"""Each built-in list, as the build writes it from its pinned package: its count and alphabet,
and that zcgpt.data's loader takes it unchanged. Skips when the package is not in .cache/ yet
(`python build.py data` fetches it)."""

import pytest

from buildtools.datasets import LISTS, list_text
from buildtools.fetch import cache_path
from buildtools import ROOT
from zcgpt.data import find_list, parse_lines

ALPHABETS = {
    "icelandic": "abcdefghijklmnoprstuvwxyzáæéíðóöúýþ",
    "words": "abcdefghijklmnopqrstuvwxyz",
    "cities": " '-abcdefghijklmnopqrstuvwxyz",
    "sounds": " 012ABCDEFGHIJKLMNOPRSTUVWYZ",
}
COUNTS = {"icelandic": 3742, "words": 29177, "cities": 28806, "sounds": 49089}


@pytest.mark.parametrize("spec", LISTS, ids=[s.name for s in LISTS])
def test_list_count_and_alphabet(spec):
    wheel = cache_path(spec.package, ROOT / ".cache")
    if not wheel.is_file():
        pytest.skip(f"{wheel.name} is not cached: run `python build.py data`")
    text, licence = list_text(spec, wheel)
    items = parse_lines(text, spec.name)
    assert len(items) == COUNTS[spec.name] == spec.items
    assert "".join(sorted(set("".join(items)))) == ALPHABETS[spec.name]
    assert all(len(x) <= 15 for x in items)
    assert licence.strip()


def test_every_list_is_pinned_here():
    assert sorted(s.name for s in LISTS) == sorted(COUNTS)


def test_a_list_name_that_is_not_a_file_is_found_or_refused(tmp_path, monkeypatch):
    from zcgpt.data import DataError
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "zzlist.txt").write_text("a\nb\n")
    assert find_list("zzlist") == tmp_path / "data" / "zzlist.txt"
    (tmp_path / "zzlist").write_text("c\nd\n")   # a file of that name comes first
    assert find_list("zzlist").name == "zzlist"
    with pytest.raises(DataError, match="python build.py data"):
        find_list("no-such-list-here")
