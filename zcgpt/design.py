"""Designing a model on the page: which Config fields it edits, what a design costs, and the
settings a page address (its #hash) carries.

A design is a preset plus `changes`, a dict of Config fields by their own names; a link holds
exactly that (`#preset=tiny&n_layer=2&block_size=24&seed=7&data=names`).
"""

import math
import urllib.parse
from dataclasses import fields

from .config import ACTIVATIONS, Config, presets
from .model import MAX_PARAMS, param_count

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
                     " about 5 minutes on one worker here; the lowest loss of a long run."),
    "zeroclaw": (5000, "zeroclaw is the reference's exact recipe: one name per step in file order,"
                       " names cut to the block."),
}
CHOICES = {"activation": ACTIVATIONS}
LINK_EXTRA = ("preset", "seed", "data", "workers")   # link keys that are not Config fields
MAX_LINK_CHARS = 2000
TAB_MEMORY_MB = 1024      # a design needing more (weights, Adam, one step's activations) is refused
TAB_MAX_SECONDS = 30 * 60
GUESS_MADDS_PER_S = 2.5e9  # a tab's numpy has no BLAS; replaced by the rate the tab measures


def field_types():
    return {f.name: (f.type if isinstance(f.type, str) else f.type.__name__) for f in fields(Config)}


def field_table(help_text):
    """What the designer needs of each field: name, type, help and the choices of a str."""
    types = field_types()
    return [{"name": n, "type": types[n], "help": help_text.get(n, ""), "choices": list(CHOICES.get(n, ()))}
            for n in DESIGN_FIELDS]


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


def estimate(config, vocab_size, items, madds_per_s):
    """What a design costs: params, tokens and multiply-adds per step (forward and backward),
    memory in MB, seconds for the whole run at `madds_per_s`, and the reason to refuse it."""
    params = param_count(config, vocab_size)
    tokens = config.batch_size * mean_predicted(items, config)
    T = config.block_size
    madds = 3 * tokens * multiply_adds_per_token(config, vocab_size, T)   # backward ~ 2x forward
    rows = config.batch_size * T
    floats_per_row = config.n_layer * (10 * config.n_embd + 3 * config.mlp_ratio * config.n_embd
                                       + 2 * config.n_head * T) + 3 * vocab_size
    memory_mb = (4 * params + rows * floats_per_row) * 4 / 2 ** 20
    seconds = config.steps * madds / madds_per_s
    refused = None
    if params > MAX_PARAMS:
        refused = f"{params:,} parameters is more than zcgpt builds ({MAX_PARAMS:,})"
    elif memory_mb > TAB_MEMORY_MB:
        refused = f"it needs about {memory_mb:,.0f} MB of memory; a tab has about {TAB_MEMORY_MB:,}"
    elif seconds > TAB_MAX_SECONDS:
        refused = (f"it would train for about {seconds / 60:,.0f} minutes here; fewer steps or a smaller"
                   f" model keep it under {TAB_MAX_SECONDS // 60}")
    return {"params": params, "tokens_per_step": round(tokens, 1), "multiply_adds": round(madds),
            "memory_mb": round(memory_mb, 1), "est_seconds": round(seconds, 2), "refused": refused}


def parse_link(text, limits):
    """A page address's hash -> {"settings": checked values, "notes": a sentence per value left
    out}. Settings are the preset, seed and data, any designer field by its Config name, and
    the number of workers (the page's, not the run's: any number gives the same run)."""
    if len(text) > MAX_LINK_CHARS:
        return {"settings": {}, "notes": [f"the link is over {MAX_LINK_CHARS} characters, so it was ignored"]}
    types, settings, notes, seen = field_types(), {}, [], set()
    for key, value in urllib.parse.parse_qsl(text.lstrip("#"), keep_blank_values=True):
        shown = value if len(value) <= 20 else value[:17] + "..."
        if key not in LINK_EXTRA and key not in DESIGN_FIELDS:
            notes.append(f"“{key[:20]}” is not a setting here")
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
