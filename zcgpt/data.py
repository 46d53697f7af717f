"""Items (one per line of a UTF-8 text file), their character vocabulary, and the train/val split.

zeroclaw reads names.txt and keeps every line; here any one-item-per-line text file works, lines
are stripped and deduplicated (first occurrence wins), and bad input stops with one sentence that
names the file and line (DataError). The split is drawn from the run's seed with our own
xoshiro128+ generator, so the desktop and the browser hold out the same items.
"""

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .prng import Rng

MAX_LINE_CHARS = 256    # longer "names" are almost surely not one item per line
MAX_DISTINCT_CHARS = 256  # the vocabulary (and wte) would be mostly noise beyond this
MAX_FILE_BYTES = 64 * 2**20  # 300 times names.txt; training encodes every item up front
SPECIALS = ("<BOS>", "<EOS>")
# Not allowed in an item: control characters but tab, and lone surrogates (a pasted or
# JSON-escaped half of a UTF-16 pair is not a character and cannot be printed).
BAD_CHAR = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
# Salt added to the run seed for the split, so the held-out set does not share a stream
# with the initial weights (which start from Rng(seed) itself).
SPLIT_SALT = 0x5EED5


class DataError(ValueError):
    """Bad input data; the message is one sentence naming the file and line where it applies."""


def _char_name(ch: str) -> str:
    return repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"


class Vocab:
    """Token ids: 0 = <BOS>, 1 = <EOS>, then the item characters in sorted order."""

    BOS = 0
    EOS = 1

    def __init__(self, chars):
        chars = list(chars)
        for ch in chars:
            if not isinstance(ch, str) or len(ch) != 1 or BAD_CHAR.match(ch):
                raise DataError(f"vocabulary entries must be single characters (no control"
                                f" characters or lone surrogates), got {repr(ch)[:40]}.")
        chars = sorted(set(chars))
        self.chars = chars
        self.itos = list(SPECIALS) + chars
        self.stoi = {ch: i for i, ch in enumerate(self.itos)}

    @classmethod
    def from_items(cls, items) -> "Vocab":
        return cls(set("".join(items)))

    @property
    def size(self) -> int:
        return len(self.itos)

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocab({''.join(self.chars)!r})"

    def unknown(self, text: str) -> list[str]:
        """Characters of text that are not in the vocabulary, in order of first appearance."""
        return list(dict.fromkeys(ch for ch in text if ch not in self.stoi))

    def encode(self, text: str) -> list[int]:
        """[BOS] + character ids + [EOS]."""
        bad = self.unknown(text)
        if bad:
            raise DataError(f"character {_char_name(bad[0])} in {text!r} is not in the vocabulary.")
        return [self.BOS] + [self.stoi[ch] for ch in text] + [self.EOS]

    def decode(self, ids) -> str:
        """Characters up to the first EOS; BOS tokens are skipped."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.EOS:
                break
            if i != self.BOS:
                out.append(self.itos[i])
        return "".join(out)


HEARTBEAT_LINES = 200_000   # a long check calls its heartbeat after each this many lines


def numbered_lines(text: str, source: str, heartbeat=None, every=HEARTBEAT_LINES) -> list[tuple[int, str]]:
    """(line number, stripped line) for every non-blank line, checked for binary content and length.

    Lines are split on "\\n" only (a stray \\r is stripped), so the numbers match an editor's.
    `heartbeat()` is called after every `every` lines (the page's worker says it is still busy).
    """
    if text.startswith("\ufeff"):
        text = text[1:]  # a UTF-8 byte order mark is not part of the first item
    if not text.strip():
        raise DataError(f"{source} is empty." if not text else f"{source} has only blank lines.")
    out = []
    for n, raw in enumerate(text.split("\n"), start=1):
        if heartbeat is not None and n % every == 0:
            heartbeat()
        line = raw.strip()
        if not line:
            continue
        if "\x00" in line:
            raise DataError(f"{source} looks binary: line {n} contains a NUL byte.")
        bad = BAD_CHAR.search(line)
        if bad:
            raise DataError(f"{source} line {n} contains {bad_char_name(bad.group())};"
                            f" expected plain text, one item per line.")
        if len(line) > MAX_LINE_CHARS:
            raise DataError(f"{source} line {n} is {len(line)} characters long; the limit is"
                            f" {MAX_LINE_CHARS} (is this one item per line?).")
        out.append((n, line))
    return out


def bad_char_name(ch: str) -> str:
    kind = "a lone surrogate" if "\ud800" <= ch <= "\udfff" else "the control character"
    return f"{kind} U+{ord(ch):04X}"


def check_charset(numbered, source: str) -> None:
    """Refuse more than MAX_DISTINCT_CHARS distinct characters, naming the line that crosses it."""
    seen = set()
    for n, line in numbered:
        seen.update(line)
        if len(seen) > MAX_DISTINCT_CHARS:
            raise DataError(f"{source} has more than {MAX_DISTINCT_CHARS} distinct characters"
                            f" (the limit is crossed on line {n}); expected short items such as names.")


def parse_lines(text: str, source: str = "input", heartbeat=None) -> list[str]:
    """Validated, stripped, deduplicated items (first occurrence order); DataError if unusable.
    `heartbeat`: see numbered_lines."""
    numbered = numbered_lines(text, source, heartbeat)
    check_charset(numbered, source)
    items = list(dict.fromkeys(line for _, line in numbered))
    if len(items) < 2:
        raise DataError(f"{source} has only {len(items)} distinct non-blank line; at least 2 are needed.")
    return items


def read_text(path) -> str:
    """The file decoded as UTF-8; DataError for a missing file, a directory or undecodable bytes."""
    p = Path(path)
    try:
        if p.is_file() and p.stat().st_size > MAX_FILE_BYTES:
            raise DataError(f"{path} is {p.stat().st_size / 2**20:.1f} MB; the limit is"
                            f" {MAX_FILE_BYTES // 2**20} MB of one-item-per-line text.")
        with open(p, "rb") as f:  # capped: /dev/zero or a FIFO must not fill the memory
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a directory, not a text file.") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied.") from None
    except OSError as e:
        raise DataError(f"{path} cannot be read ({e.strerror or e}).") from None
    if len(data) > MAX_FILE_BYTES:
        raise DataError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB, the limit for"
                        f" one-item-per-line text.")
    return decode_text(data, str(path))


def decode_text(data: bytes, source: str) -> str:
    """Bytes of a one-item-per-line file as text; DataError for binary or non-UTF-8 bytes."""
    if len(data) > MAX_FILE_BYTES:
        raise DataError(f"{source} is {len(data) / 2**20:.1f} MB; the limit is"
                        f" {MAX_FILE_BYTES // 2**20} MB of one-item-per-line text.")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise DataError(f"{source} looks binary: line {line} contains a NUL byte.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(f"{source} is not UTF-8 text: line {line} has the invalid byte"
                        f" 0x{data[e.start]:02x}.") from None


def decode_upload(b64: str, source: str) -> str:
    """A file the page sent as base64 -> its text, checked as decode_text checks a file."""
    if len(b64) // 4 * 3 > MAX_FILE_BYTES:
        raise DataError(f"{source} is over the limit of {MAX_FILE_BYTES // 2**20} MB"
                        " of one-item-per-line text.")
    try:
        raw = base64.b64decode(b64, validate=True)
    except binascii.Error:
        raise DataError(f"{source} did not arrive intact (bad base64); try again.") from None
    return decode_text(raw, source)


# Where `--data NAME` finds a built-in list that is not a file: `python build.py data` writes
# them to data/, the build keeps them in .cache/lists/ (fetched data is never committed).
LIST_DIRS = ("data", ".cache/lists")


def find_list(arg) -> Path:
    """A data argument as a path: the file itself if there is one, else the built-in list of that
    name in LIST_DIRS (of the current directory, then of the checkout); DataError if neither."""
    p = Path(arg)
    if p.exists() or p.suffix or len(p.parts) != 1:
        return p
    checkout = Path(__file__).resolve().parents[1]
    for base in dict.fromkeys((Path.cwd(), checkout)):
        if arg == "names" and (base / "names.txt").is_file():
            return base / "names.txt"
        for d in LIST_DIRS:
            if (base / d / f"{arg}.txt").is_file():
                return base / d / f"{arg}.txt"
    raise DataError(f"{arg}: no such file, and no built-in list of that name in {' or '.join(d + '/' for d in LIST_DIRS)}"
                    f" (`python build.py data` in the checkout writes the built-in lists).")


def load_lines(path) -> list[str]:
    """Items of a UTF-8 text file with one item per line (see parse_lines)."""
    return parse_lines(read_text(path), str(path))


@dataclass
class Dataset:
    vocab: Vocab
    train: list[str]  # file order; the Trainer shuffles if config.shuffle
    val: list[str]    # file order; empty when val_frac is 0


def split_sizes(n: int, val_frac: float) -> int:
    """Number of held-out items: round(n * val_frac), at least 1 if val_frac > 0, leaving 1 to train."""
    if not 0 <= val_frac < 1:
        raise DataError(f"the validation fraction must be in [0, 1), got {val_frac}.")
    if val_frac == 0:
        return 0
    return min(max(1, round(n * val_frac)), n - 1)


def make_dataset(items, val_frac: float = 0.1, seed: int = 0) -> Dataset:
    """Vocabulary from all items; a seeded random val_frac of them held out, both parts in file order."""
    items = list(items)
    if len(items) < 2:
        raise DataError(f"need at least 2 items to train on, got {len(items)}.")
    n_val = split_sizes(len(items), val_frac)
    held = set()
    if n_val:
        perm = Rng(int(seed) + SPLIT_SALT).permutation(len(items))
        held = {int(i) for i in perm[:n_val]}
    train = [x for i, x in enumerate(items) if i not in held]
    val = [x for i, x in enumerate(items) if i in held]
    return Dataset(Vocab.from_items(items), train, val)


def list_hash(items) -> str:
    """A short fingerprint of a list, to tell whether a saved run trained on it."""
    return hashlib.sha256("\n".join(items).encode("utf-8", "surrogatepass")).hexdigest()[:16]
