"""Designing a model on the page: which Config fields it edits, what a design costs, and the
settings a page address (its #hash) carries.

A design is a preset plus `changes`, a dict of Config fields by their own names; a link holds
exactly that (`#preset=tiny&n_layer=2&block_size=24&seed=7&data=names`).
"""

import functools
import math
import re
import urllib.parse
from dataclasses import asdict, dataclass, fields

from .config import CHOICES, Config, presets, type_name
from .model import MAX_PARAMS, param_count
from .run import VAL_POINTS, live_val_size

# The fields the page's designer shows, in its order (steps and lr sit in the main form).
DESIGN_FIELDS = ("n_embd", "n_head", "n_layer", "block_size", "mlp_ratio", "activation",
                 "final_norm", "tied_head", "batch_size", "shards", "steps", "lr", "warmup_steps",
                 "weight_decay", "grad_clip", "dropout")
# What the page suggests for each preset: a run of seconds to a minute in a tab (the presets'
# own step counts are for the desktop), and one line about it.
PAGE_PRESETS = {
    "tiny": (2000, "tiny learns in seconds: shuffled batches of names."),
    "small": (500, "small is wider and deeper: about ten times slower per step, lower loss in the end."),
    "medium": (2000, "medium is wider and deeper again, with dropout: five times small's work per step,"
                     " about 2 minutes on one worker here; the lowest loss of a long run."),
    "zeroclaw": (5000, "zeroclaw is the reference's exact recipe: one name per step in file order,"
                       " names cut to the block."),
}
LINK_EXTRA = ("preset", "seed", "data", "workers", "pretrained")   # link keys that are not Config fields
MAX_LINK_CHARS = 2000
TAB_MEMORY_MB = 1024      # a design needing more (weights, Adam, one step's activations) is refused
TAB_MAX_SECONDS = 30 * 60
STEP_MAX_SECONDS = 60     # a design whose one step (or one live validation) would take longer is
                          # refused: the tab's Python could not answer the page for that long

# A run's time in a tab, from Train to "done": its steps, each with a cost that does not scale
# with multiply-adds (Python and numpy calls, per step and per layer of each shard) besides the
# products themselves (a tab's numpy has no BLAS); a share on top for live samples and messages;
# the validations; a fixed start. Fitted to a headless Chromium tab on a shared 2-core machine;
# a tab that has finished runs scales its two parts by what it measured (part_scales).
FIXED_S = 0.35             # setting the run up, the first and last messages
STEP_S = 2e-4              # per step
SHARD_LAYER_S = 4.5e-4     # per step, for each layer of each shard (shards x n_layer)
STEP_MADDS_PER_S = 1.55e9  # training's multiply-adds
EVAL_MADDS_PER_S = 1.8e9   # the validations' multiply-adds (forward only, on whole blocks)
BETWEEN_STEPS = 0.06       # live samples, messages and the ends of ticks, as a share of the steps' time
SIMD_MADDS = 3.0           # the products' speed-up where the tab runs the SIMD kernel (zcgpt/simd.py)
KEEP_TIMINGS = 5           # the tab's newest finished runs that scale the estimate


def field_types():
    return {f.name: type_name(f) for f in fields(Config)}


# The designer's words for a field: a label a learner reads first (the field's name follows it)
# and one line of what it does. A field without an entry shows its name and its Config comment.
FIELD_WORDS = {
    "n_embd": ("Width", "How many numbers describe each letter inside the model. Wider can learn more, "
                        "and each step takes longer."),
    "n_head": ("Attention heads", "How many separate ways each letter can look back at the letters before it. "
                                  "Must divide the width."),
    "n_layer": ("Layers", "Blocks stacked one on another, each with attention and an MLP. Deeper can "
                          "learn more, and is slower."),
    "block_size": ("Context", "The most letters the model sees at once; longer items are cut."),
    "mlp_ratio": ("MLP size", "How many times wider than the model the MLP's hidden layer is."),
    "activation": ("Activation", "The bend in the MLP: relu2 (squared ReLU, the original's), relu or gelu."),
    "final_norm": ("Norm before output", "Rescale each position's vector before it is turned into "
                                         "letter scores."),
    "tied_head": ("Tied output", "Score the next letter with the same table that turns letters into "
                                 "vectors: fewer parameters."),
    "batch_size": ("Batch", "How many names one step learns from; the step follows their average."),
    "shards": ("Shards", "Each step's batch is cut into this many shards, computed one by one and added "
                         "in order. The tab's workers share a step by shards, so any number of workers "
                         "gives the same result."),
    "steps": ("Steps", "How many times the model is updated."),
    "lr": ("Learning rate", "How big the first steps are; it falls to 0 by the last step."),
    "warmup_steps": ("Warm-up steps", "Steps over which the learning rate first rises from 0."),
    "weight_decay": ("Weight decay", "Pulls the weights a little toward 0 every step, which can keep "
                                     "the model from memorising."),
    "grad_clip": ("Gradient clip", "The largest a step's gradient may be; bigger ones are scaled down "
                                   "(0: no limit)."),
    "dropout": ("Dropout", "While training, each step drops this share of the signals at random, so the "
                           "model cannot lean on any one of them and memorises less."),
}


def field_table(help_text):
    """What the designer needs of each field: name, label, type, help and the choices of a str."""
    types = field_types()
    table = []
    for n in DESIGN_FIELDS:
        label, help_line = FIELD_WORDS.get(n, (n, help_text.get(n, "")))
        table.append({"name": n, "label": label, "type": types[n], "help": help_line,
                      "choices": list(CHOICES.get(n, ()))})
    return table


class DesignError(ValueError):
    """A design the page refuses; `problems` maps field names to sentences."""

    def __init__(self, problems):
        super().__init__(next(iter(problems.values())))
        self.problems = problems


def design_config(preset, changes):
    """The Config of a preset with `changes` (Config fields by name); DesignError naming each
    field that is unknown, of the wrong type or out of range."""
    if preset not in presets:
        raise DesignError({"preset": f"there is no preset called {preset!r}"})
    types, problems, clean = field_types(), {}, {}
    for name, value in changes.items():
        if name not in DESIGN_FIELDS:
            problems[name] = f"“{name[:20]}” is not a setting the page can change"
            continue
        t = types[name]
        if t == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = {"int": isinstance(value, int) and not isinstance(value, bool),
              "float": isinstance(value, float) and math.isfinite(value),
              "bool": isinstance(value, bool), "str": isinstance(value, str)}[t]
        if not ok:
            problems[name] = f"{name} must be {'a finite number' if t == 'float' else t}"
        else:
            clean[name] = value
    if not problems:
        try:
            config = Config(**{**presets[preset].to_dict(), **clean})
        except TypeError as exc:           # cannot happen with known fields, but say so
            raise DesignError({"preset": str(exc)}) from None
        problems = config.problems()
    if problems:
        raise DesignError(problems)
    return config


def mean_predicted(items, config):
    """Mean predicted positions per item (letters + EOS, cut to the block)."""
    keep = config.block_size if config.zeroclaw_truncation else config.block_size + 1
    return sum(min(len(x) + 2, keep) - 1 for x in items) / max(1, len(items))


def multiply_adds_per_token(config, vocab_size, T):
    """Multiply-adds of one position's forward pass with a context of T (a matmul count)."""
    C, F = config.n_embd, config.mlp_ratio * config.n_embd
    per_layer = 4 * C * C + 2 * C * F + 2 * T * C      # q, k, v, o; the MLP; scores and mixing
    return config.n_layer * per_layer + vocab_size * C  # + lm_head


@dataclass(frozen=True)
class Work:
    """A run in the units the time model counts."""
    steps: int
    step_madds: int      # multiply-adds of one step, forward and backward
    shard_layers: int    # shards x n_layer: the blocks a step goes through, one shard at a time
    eval_madds: int      # multiply-adds of the validations: the live ones and the final one


@dataclass(frozen=True)
class Timing:
    """A finished run of this tab: its work and the seconds from Train to "done"."""
    work: Work
    seconds: float


class TimingError(ValueError):
    """A kept timing that does not fit (the page's storage is not to be trusted)."""


def run_work(config, vocab_size, items, n_val):
    """The Work of a page run of `config` on `items` (n_val of them held out)."""
    tokens = config.batch_size * mean_predicted(items, config)
    T = config.block_size
    step_madds = 3 * tokens * multiply_adds_per_token(config, vocab_size, T)   # backward ~ 2x forward
    # each validation pads its names to the block (the longest name, for names lists)
    val_names = n_val + (VAL_POINTS + 1) * live_val_size(param_count(config, vocab_size), n_val)
    eval_madds = val_names * eval_madds_per_name(config, vocab_size, items)
    return Work(config.steps, round(step_madds), config.shards * config.n_layer, round(eval_madds))


def eval_madds_per_name(config, vocab_size, items):
    """Multiply-adds of scoring one held-out name (each validation pads its names to the block:
    to the longest name, for names lists)."""
    positions = min(config.block_size, max((len(x) for x in items), default=1) + 1)
    return positions * multiply_adds_per_token(config, vocab_size, config.block_size)


EVAL_CHUNK = 1024          # held-out names the final evaluation scores between two looks at messages


def call_seconds(config, vocab_size, items, n_val, timings=(), engine="numpy"):
    """(seconds of one training step, of one live validation, of one chunk of the final evaluation)
    on `engine`, scaled as estimate()'s: the longest calls a run makes without a word to the page
    (the worker says it is busy first)."""
    work = run_work(config, vocab_size, items, n_val)
    fa, fb = part_scales(tuple(timings), engine)
    speed = SIMD_MADDS if engine == "simd" else 1.0
    step = fa * (STEP_S + work.shard_layers * SHARD_LAYER_S) + fb * work.step_madds / STEP_MADDS_PER_S / speed
    per_name = fb * eval_madds_per_name(config, vocab_size, items) / EVAL_MADDS_PER_S / speed
    return step, per_name * live_val_size(param_count(config, vocab_size), n_val), per_name * min(EVAL_CHUNK, n_val)


def guess_parts(work, engine="numpy"):
    """(seconds of overhead, seconds of multiply-adds) of `work` on `engine`, by the constants above."""
    overhead = FIXED_S + (1 + BETWEEN_STEPS) * work.steps * (STEP_S + work.shard_layers * SHARD_LAYER_S)
    madds = (1 + BETWEEN_STEPS) * work.steps * work.step_madds / STEP_MADDS_PER_S + work.eval_madds / EVAL_MADDS_PER_S
    return overhead, madds / (SIMD_MADDS if engine == "simd" else 1.0)


def guess_seconds(work, engine="numpy"):
    """Seconds from Train to "done" for `work` on `engine`, by the constants above."""
    return sum(guess_parts(work, engine))


# log10 of the factors tried for the overhead and the multiply-adds, and how strongly the fit
# keeps them equal when the runs cannot tell them apart (runs of one shape)
SCALE_GRID = [i / 20 for i in range(-30, 31)]
SAME_SCALE_WEIGHT = 0.01


@functools.lru_cache(maxsize=8)
def part_scales(timings, engine="numpy"):
    """(overhead factor, multiply-add factor) that fit this tab's newest runs best, in log
    seconds: runs of one shape give one factor for both (their geometric mean); runs of other
    shapes tell a faster engine (the SIMD kernel) from a slower Python."""
    recent = timings[-KEEP_TIMINGS:]
    if not recent:
        return 1.0, 1.0
    parts = [(*guess_parts(t.work, engine), math.log(t.seconds)) for t in recent]

    def misfit(a, b):
        fa, fb = 10 ** a, 10 ** b
        return (sum((math.log(fa * o + fb * m) - s) ** 2 for o, m, s in parts)
                + SAME_SCALE_WEIGHT * (a - b) ** 2)

    # one factor for both (the runs' geometric mean), or the best of a coarse grid
    same = sum(s - math.log(o + m) for o, m, s in parts) / len(parts) / math.log(10)
    best = min([(same, same)] + [(a, b) for a in SCALE_GRID for b in SCALE_GRID], key=lambda ab: misfit(*ab))
    step = SCALE_GRID[1] - SCALE_GRID[0]
    while step > 1e-4:                  # then a pattern search: the best neighbour, or a finer step
        a, b = best
        near = min(((a + da, b + db) for da in (-step, 0, step) for db in (-step, 0, step)),
                   key=lambda ab: misfit(*ab))
        if near == best:
            step /= 2
        best = near
    return 10 ** best[0], 10 ** best[1]


def timing_dict(timing):
    """A Timing as the page keeps it (plain JSON)."""
    return {**asdict(timing.work), "seconds": timing.seconds}


def read_timing(d):
    """A kept timing (timing_dict's form) -> Timing, or TimingError saying what does not fit."""
    if not isinstance(d, dict):
        raise TimingError("a timing must be an object")
    if "slice_layers" in d and "shard_layers" not in d:    # kept before the field's rename
        d = {("shard_layers" if k == "slice_layers" else k): v for k, v in d.items()}
    want = [f.name for f in fields(Work)] + ["seconds"]
    if set(d) != set(want):
        raise TimingError(f"a timing has the fields {', '.join(want)}")
    ints = {k: d[k] for k in want[:-1]}
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1e15 for v in ints.values()):
        raise TimingError("a timing's steps and counts must be whole numbers from 0 to 1e15")
    seconds = d["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 24 * 3600:
        raise TimingError("a timing's seconds must be a number above 0 and at most a day")
    timing = Timing(Work(**ints), float(seconds))
    if ints["steps"] < 1 or not 1 / 50 <= timing.seconds / guess_seconds(timing.work) <= 50:
        raise TimingError("a timing is over 50 times off the model's guess: not a run of this page")
    return timing


def read_timings(raw):
    """The timings of a list the page kept, newest last, leaving out any that do not fit."""
    timings = []
    for d in raw[-KEEP_TIMINGS:] if isinstance(raw, list) else []:
        try:
            timings.append(read_timing(d))
        except TimingError:
            continue
    return timings


def estimate(config, vocab_size, items, n_val, timings=(), engine="numpy"):
    """What a design costs: params, tokens and multiply-adds per step (forward and backward),
    memory in MB, seconds from Train to "done" on `engine` (scaled by the tab's `timings`), and
    the reason to refuse it."""
    params = param_count(config, vocab_size)
    tokens = config.batch_size * mean_predicted(items, config)
    work = run_work(config, vocab_size, items, n_val)
    T = config.block_size
    rows = config.batch_size * T
    floats_per_row = config.n_layer * (10 * config.n_embd + 3 * config.mlp_ratio * config.n_embd
                                       + 2 * config.n_head * T) + 3 * vocab_size
    memory_mb = (4 * params + rows * floats_per_row) * 4 / 2 ** 20
    overhead, madds = guess_parts(work, engine)
    fa, fb = part_scales(tuple(timings), engine)
    seconds = fa * overhead + fb * madds
    refused = None
    if params > MAX_PARAMS:
        refused = f"{params:,} parameters is more than zcgpt builds ({MAX_PARAMS:,})"
    elif memory_mb > TAB_MEMORY_MB:
        refused = f"it needs about {memory_mb:,.0f} MB of memory; a tab has about {TAB_MEMORY_MB:,}"
    elif max(call_seconds(config, vocab_size, items, n_val, timings, engine)) > STEP_MAX_SECONDS:
        calls = dict(zip(("step", "validation", "chunk of the final validation"),
                         call_seconds(config, vocab_size, items, n_val, timings, engine)))
        what = max(calls, key=calls.get)
        refused = (f"one {what} would take about {calls[what]:,.0f} s here,"
                   f" and the tab's Python cannot stay silent over {STEP_MAX_SECONDS} s")
    elif seconds > TAB_MAX_SECONDS:
        refused = (f"it would train for about {seconds / 60:,.0f} minutes here; fewer steps or a smaller"
                   f" model keep it under {TAB_MAX_SECONDS // 60}")
    return {"params": params, "tokens_per_step": round(tokens, 1), "multiply_adds": work.step_madds,
            "memory_mb": round(memory_mb, 1), "est_seconds": round(seconds, 2), "refused": refused}


def parse_link(text, limits):
    """A page address's hash -> {"settings": checked values, "notes": a sentence per value left
    out}. Settings are the preset, seed and data, any designer field by its Config name, and
    the number of workers (the page's, not the run's: any number gives the same run)."""
    if len(text) > MAX_LINK_CHARS:
        return {"settings": {}, "notes": [f"the link is over {MAX_LINK_CHARS} characters, so it was ignored"]}
    types, settings, notes, seen = field_types(), {}, [], set()
    for key, value in urllib.parse.parse_qsl(text.lstrip("#"), keep_blank_values=True):
        shown = echo(value)
        if key not in LINK_EXTRA and key not in DESIGN_FIELDS:
            notes.append(f"“{echo(key)}” is not a setting here")
            continue
        if key in seen:
            notes.append(f"{key} is given twice (the first one counts)")
            continue
        seen.add(key)
        if key == "preset":
            if value in presets:
                settings[key] = value
            else:
                notes.append(f"there is no model “{shown}” (there are {', '.join(presets)})")
        elif key == "data":
            settings[key] = value      # the page knows its built-in lists
        elif key == "pretrained":      # "tiny.cities": the run starts from that pre-trained model
            preset, _, data = value.partition(".")
            if preset in presets and data.isalpha() and data.isascii() and len(data) <= 20:
                settings[key] = value
            else:
                notes.append(f"there is no pre-trained model “{shown}” (they are named like tiny.names)")
        elif key in ("seed", "workers"):
            lo, hi = limits[key]
            number = _number(value, "int")
            if number is None or not lo <= number <= hi:
                notes.append(f"{key} “{shown}” is not a whole number from {lo} to {hi}")
            else:
                settings[key] = number
        else:
            parsed = _typed(value, types[key], key)
            lo, hi = limits.get(key, (None, None))
            if parsed is None or (lo is not None and not lo <= parsed <= hi):
                span = f" from {lo:g} to {hi:g}" if lo is not None else ""
                notes.append(f"{key} “{shown}” is not {_kind(types[key], key)}{span}")
            else:
                settings[key] = parsed
    # each field is checked alone; a combination that does not work falls back field by field
    fields_given = {k: v for k, v in settings.items() if k in DESIGN_FIELDS}
    base = settings.get("preset", "tiny")
    while fields_given:
        try:
            design_config(base, fields_given)
            break
        except DesignError as exc:
            name = next(n for n in exc.problems if n in fields_given) if \
                any(n in fields_given for n in exc.problems) else next(iter(fields_given))
            notes.append(f"{exc.problems.get(name, str(exc))}, so {name} stays the preset's")
            del fields_given[name]
            del settings[name]
    return {"settings": settings, "notes": notes}


BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def echo(text, most=20):
    """Text from a link as a note shows it: its bidi controls left out, cut to `most` characters
    ("…" ending a cut one), and isolated (U+2068 … U+2069), so no right-to-left override in it
    turns the rest of the sentence around."""
    text = BIDI_CONTROLS.sub("", text)
    text = text if len(text) <= most else text[:most - 1] + "…"
    return f"\u2068{text}\u2069"


def _number(text, t):
    try:
        value = int(text, 10) if t == "int" else float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _typed(text, t, key):
    if t == "bool":
        return {"true": True, "1": True, "false": False, "0": False}.get(text.lower())
    if t == "str":
        return text if text in CHOICES.get(key, (text,)) else None
    return _number(text, t)


def _kind(t, key):
    if t == "bool":
        return "true or false"
    if t == "str":
        return f"one of {', '.join(CHOICES.get(key, ()))}"
    return "a whole number" if t == "int" else "a number"


def preset_table(vocab_size):
    """Each preset for the page: its config, parameters, suggested steps and note."""
    table = {}
    for name in sorted(presets, key=lambda n: list(PAGE_PRESETS).index(n) if n in PAGE_PRESETS else 99):
        config = presets[name]
        steps, note = PAGE_PRESETS.get(name, (1000, ""))
        table[name] = {**config.to_dict(), "params": param_count(config, vocab_size),
                       "page_steps": steps, "note": note}
    return table
