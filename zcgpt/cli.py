"""The command line: `python -m zcgpt train | sample | eval | bench`.

A thin layer: every Config field is a flag (`--n-embd`, `--lr`, ...) that overrides the chosen
preset, and the work is done by data, train, sample and checkpoint. Mistakes end with one line
on stderr, never a traceback:
    exit 0  done; also when the reader of stdout left early (`train | head -3` still trains and
            saves, only the progress lines stop)
    exit 2  the command line is wrong (unknown flag or preset, bad value, bad config combination)
    exit 1  an input file is wrong (missing, not text, bad checkpoint, unknown characters), the
            checkpoint cannot be written (checked before training), or training diverged (no
            checkpoint is written then)
    exit 130  interrupted with Ctrl-C (train saves what it has first, if it got to train)
"""

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from . import __version__
from .checkpoint import CheckpointError
from .console import Lines, fmt_rate, fmt_time, json_number, silence
from .config import CHOICES, Config, field_help, presets, type_name
from .data import DataError
from .train import TrainingDiverged

EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPT = 130
MAX_SAMPLES = 100_000
MAX_SEED = 2**64  # the generator takes 64 bits of the seed
MAX_BATCH_TOKENS = 2**15  # positions a step: 32 times the presets' (64 x 16)
SAMPLE_FLAGS = {"n": "-n", "temperature": "--temperature", "top_k": "--top-k", "prefix": "--prefix"}
DEFAULT_PRESET = "tiny"
DEFAULT_SEED = 42
PAGE_VAL_FRAC = 0.1  # the share the page holds out (zcgpt.driver.VAL_FRAC), so of its saved runs
RECIPE = ("steps", "lr", "warmup_steps")  # the run's length and rate: a preset's do not count with --init


class UsageError(Exception):
    """A bad command-line value (exit 2)."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a mistake in one line instead of usage text."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


# --- flags ---------------------------------------------------------------------------------

def finite_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return v


def add_config_flags(p):
    comments = field_help()
    g = p.add_argument_group("model and training settings (override the preset)")
    for f in dataclasses.fields(Config):
        t = type_name(f)
        text = comments.get(f.name) or f"Config.{f.name}"
        values = {name: getattr(c, f.name) for name, c in presets.items()}
        if len(set(values.values())) == 1:
            shown = f"every preset: {next(iter(values.values()))}"
        else:
            shown = ", ".join(f"{name} {v}" for name, v in values.items())
        kw = {"default": None, "dest": f"cfg_{f.name}",
              "help": f"{text} [{shown}]".replace("%", "%%")}
        flag = "--" + f.name.replace("_", "-")
        if t == "bool":
            g.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif t == "int":
            g.add_argument(flag, type=int, metavar="N", **kw)
        elif t == "float":
            g.add_argument(flag, type=finite_float, metavar="X", **kw)
        else:
            choices = CHOICES.get(f.name)
            g.add_argument(flag, choices=choices, metavar=None if choices else "NAME", **kw)


def given_fields(args) -> dict:
    """The Config fields given as flags: {name: value}."""
    return {f.name: getattr(args, f"cfg_{f.name}") for f in dataclasses.fields(Config)
            if getattr(args, f"cfg_{f.name}") is not None}


def config_from_args(args) -> Config:
    overrides = given_fields(args)
    try:
        config = presets[args.preset or DEFAULT_PRESET].replace(**overrides)
    except ValueError as e:
        raise UsageError(str(e)) from None
    check_range(config, overrides)
    tokens = config.batch_size * config.block_size
    need(tokens <= MAX_BATCH_TOKENS, f"--batch-size {config.batch_size} of --block-size"
                                     f" {config.block_size} is {tokens:,} positions a step; the"
                                     f" limit is {MAX_BATCH_TOKENS:,}")
    return config


def check_range(config, overrides):
    """A float the model's dtype cannot hold would act as 0 or inf (1e-320 or 1e308 in float32)."""
    import numpy as np
    fi = np.finfo(config.dtype)
    tiny, big = float(fi.tiny), float(fi.max)
    for name, v in overrides.items():
        if isinstance(v, float) and v != 0 and not tiny <= abs(v) <= big:
            raise UsageError(f"--{name.replace('_', '-')} {v} is out of {config.dtype}'s range"
                             f" ({tiny:.2g} to {big:.2g} in size, or 0)")


def build_parser():
    p = Parser(prog="python -m zcgpt",
               description="zcgpt: a small GPT in plain numpy that learns to make up names.",
               epilog="Exit status: 0 ok, 1 bad input file, unwritable --out or diverged training,"
                      " 2 bad command line, 130 interrupted.")
    p.add_argument("--version", action="version", version=f"zcgpt {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    t = sub.add_parser("train", help="train a model on a text file with one name per line",
                       description="Train on a text file (one item per line) and save a checkpoint.")
    t.add_argument("--data", default="names.txt", metavar="PATH",
                   help="UTF-8 text file, one item per line, or the name of a built-in list (names, icelandic,"
                        " words, cities, sounds; `python build.py data` writes them) (default: names.txt in"
                        " the current directory)")
    t.add_argument("--preset", default=None, choices=list(presets),
                   help=f"starting configuration; the flags below override it (default: {DEFAULT_PRESET})")
    t.add_argument("--seed", type=int, default=None,
                   help=f"seeds the weights, the train/validation split and the batch order (default:"
                        f" {DEFAULT_SEED})")
    t.add_argument("--init", default=None, metavar="FILE",
                   help="train on from a zcgpt model file: its design and vocabulary, this run's --steps"
                        " and --lr (default: the file's) and a fresh optimizer; a run the page saved"
                        " goes on where it stopped, with its own settings")
    t.add_argument("--val-frac", type=finite_float, default=0.1, metavar="F",
                   help="share of the items held out for validation, in [0, 1) (default: 0.1)")
    t.add_argument("--out", default="model.json", metavar="FILE",
                   help="checkpoint to write (default: model.json)")
    t.add_argument("--eval-every", type=int, default=None, metavar="K",
                   help="validation loss every K steps (default: 10 times per run; 0 = only at the end)")
    t.add_argument("--log-every", type=int, default=None, metavar="K",
                   help="progress line every K steps (default: about 50 lines per run)")
    t.add_argument("--samples", type=int, default=10, metavar="N",
                   help="names to show after training, marked new or seen (default: 10)")
    t.add_argument("--json", action="store_true",
                   help="progress to stderr; the last line of stdout is a JSON summary")
    add_config_flags(t)

    s = sub.add_parser("sample", help="print names made up by a trained model",
                       description="Print generated names, one per line, and nothing else, on stdout.")
    s.add_argument("--model", default="model.json", metavar="FILE",
                   help="checkpoint written by train (default: model.json)")
    s.add_argument("-n", "--num", type=int, default=20, metavar="N", help="how many names (default: 20)")
    s.add_argument("--temperature", type=finite_float, default=1.0, metavar="T",
                   help="above 1 wilder, below 1 safer; must be > 0 (default: 1.0)")
    s.add_argument("--top-k", type=int, default=0, metavar="K",
                   help="sample only among the K likeliest characters (default: 0 = all)")
    s.add_argument("--prefix", default="", metavar="P", help="every name starts with these letters")
    s.add_argument("--seed", type=int, default=0, help="sampling seed; same seed, same names (default: 0)")

    e = sub.add_parser("eval", help="mean loss per token of a model on a text file",
                       description="Negative log-likelihood per predicted token (nats) over every"
                                   " non-blank line of a file, duplicates included.")
    e.add_argument("--model", default="model.json", metavar="FILE",
                   help="checkpoint written by train (default: model.json)")
    e.add_argument("--data", default="names.txt", metavar="PATH",
                   help="UTF-8 text file, one item per line (default: names.txt)")
    e.add_argument("--json", action="store_true", help="print one JSON object with loss and tokens")

    b = sub.add_parser("bench", help="training speed of each preset and the zeroclaw run time",
                       description="Training throughput (predicted tokens per second) of each preset"
                                   " on the names, and the wall time of the 5000-step zeroclaw run"
                                   " on the seed's 300 reference names.")
    b.add_argument("--data", default="names.txt", metavar="PATH",
                   help="names for the throughput runs (default: names.txt)")
    b.add_argument("--reference", default=None, metavar="FILE",
                   help="zeroclaw_reference.json (default: tests/data/ of the repository, if present)")
    b.add_argument("--seconds", type=finite_float, default=3.0, metavar="S",
                   help="time spent measuring each preset, at most its whole recipe (default: 3)")
    b.add_argument("--zeroclaw-steps", type=int, default=5000, metavar="N",
                   help="steps of the zeroclaw run, at most 5000 (default: 5000; 0 skips it)")
    b.add_argument("--json", action="store_true", help="print one JSON object with all the figures")
    return p


# --- helpers -------------------------------------------------------------------------------

def need(cond, msg):
    if not cond:
        raise UsageError(msg)


def need_seed(seed):
    need(0 <= seed < MAX_SEED, f"--seed must be a non-negative integer below 2**64, got {seed}")


def same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        try:
            return Path(a).resolve() == Path(b).resolve()
        except (OSError, RuntimeError):
            return False


def check_out(path, inputs):
    """The checkpoint path, refused before any work if it names an input ({flag: path}) or if
    no file can be put there. The save writes a temporary file beside it and renames it."""
    out = Path(path)
    for flag, p in inputs.items():
        if same_file(out, p):
            raise DataError(f"--out {out} is the {flag} file; choose another name for the"
                            f" checkpoint.")
    why = ("it is a directory" if out.is_dir() else
           "it is not a regular file" if out.exists() and not out.is_file() else
           f"no directory {out.parent}" if not out.parent.is_dir() else None)
    if why is None:
        try:
            fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
            os.close(fd)
            os.unlink(tmp)
        except OSError as e:
            why = f"no file can be created in {out.parent} ({e.strerror or e})"
    if why:
        raise DataError(f"cannot write the checkpoint to {out}: {why}.")
    return out


def count_cut(items, npred):
    """Items whose tokens do not all fit the block (npred: predicted positions kept per item)."""
    if npred is None:
        return 0
    return sum(int(n) < len(item) + 1 for item, n in zip(items, npred))


def load_checkpoint(path):
    from .checkpoint import load
    return load(path)


# --- train ---------------------------------------------------------------------------------

def read_init(args):
    """The --init file -> (model, vocab, meta, saved run's state or None), after refusing flags
    that would change what the file decides: the design (any Config field but steps and lr) and,
    for a saved run, its steps, lr, seed and split too."""
    model, vocab, meta = load_checkpoint(args.init)
    state = meta.get("resume")
    if state is not None and not (isinstance(state, dict) and {"trainer", "run", "data"} <= set(state)
                                  and meta["seed"] is not None):
        raise CheckpointError(f"{args.init}: its saved run is incomplete (it needs the trainer, the"
                              f" run, the list's fingerprint and the seed).")
    config, file = model.config, f"the model in {args.init}"
    if state is not None:             # the run's own steps, lr and warm-up (a run on from a model)
        try:
            config = model.config.replace(**{k: v for k, v in (state.get("recipe") or {}).items() if k in RECIPE})
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{args.init}: its saved run does not fit ({e}).") from None
    keep = () if state is None else ("steps", "lr")
    for name, v in given_fields(args).items():
        flag, own = f"--{name.replace('_', '-')}", getattr(config, name)
        if name in keep and v != own:
            raise UsageError(f"{flag} {v}: the saved run in {args.init} goes on with its own {name}"
                             f" {own}; leave the flag out")
        if name not in ("steps", "lr") and v != own:
            raise UsageError(f"{flag} {v}: {file} has {name} {own}, and with --init the design comes"
                             f" from the file; leave the flag out")
    if args.preset is not None:
        for f in dataclasses.fields(Config):
            v, own = getattr(presets[args.preset], f.name), getattr(config, f.name)
            if f.name not in RECIPE and f.name not in given_fields(args) and v != own:
                raise UsageError(f"--preset {args.preset} has {f.name} {v} but {file} has {own}, and"
                                 f" with --init the design comes from the file; leave --preset out")
    if state is not None:
        need(args.seed is None or args.seed == meta["seed"],
             f"--seed {args.seed}: the saved run in {args.init} goes on with its own seed"
             f" {meta['seed']}; leave the flag out")
        need(args.val_frac == PAGE_VAL_FRAC,
             f"--val-frac {args.val_frac}: the saved run in {args.init} holds out {PAGE_VAL_FRAC} of"
             f" the list, as the page does; leave the flag out")
    return model, vocab, meta, state


def init_trainer(args, init, items):
    """The Trainer of a run from --init (see read_init) -> (trainer, Run.state to restore or
    None, steps the model had before the run). Raises DataError for a list the model or
    the saved run does not fit."""
    from .data import list_hash, make_dataset
    from .run import saved_run, train_on
    from .train import Trainer

    model, vocab, meta, state = init
    if state is None:
        config = model.config
        steps = config.steps if args.cfg_steps is None else args.cfg_steps
        lr = config.lr if args.cfg_lr is None else args.cfg_lr
        ds = make_dataset(items, args.val_frac, args.seed)
        try:
            config, ds = train_on(model, vocab, ds, steps, lr)
        except DataError as e:
            raise DataError(f"{args.data}: {e}.") from None
        except ValueError as e:
            raise UsageError(str(e)) from None
        check_range(config, {"lr": lr})
        return Trainer(config, ds, args.seed, model=model), None, meta["step"]
    if state["data"] != list_hash(items):
        raise DataError(f"{args.data} is not the list the saved run in {args.init} trained on;"
                        f" give it that list.")
    try:
        config, ds, before, _ = saved_run(model, vocab, state, make_dataset(items, PAGE_VAL_FRAC, args.seed))
        tr = Trainer(config, ds, args.seed, model=model)
        tr.restore(state["trainer"])
    except ValueError as e:
        raise DataError(f"{args.init}: {e}.") from None
    return tr, state["run"], before


def cmd_train(args):
    from . import checkpoint
    from .baseline import bigram_loss
    from .data import find_list, load_lines, make_dataset
    from .model import MAX_PARAMS, param_count
    from .prng import Rng
    from .sample import generate, novelty
    from .run import Run, Schedule
    from .train import Trainer

    init = read_init(args) if args.init is not None else None
    continued = init is not None and init[3] is not None
    if continued:
        args.seed = init[2]["seed"]
    elif args.seed is None:
        args.seed = DEFAULT_SEED
    config = config_from_args(args) if init is None else None
    need(0 <= args.val_frac < 1, f"--val-frac must be in [0, 1), got {args.val_frac}")
    need_seed(args.seed)
    need(args.eval_every is None or args.eval_every >= 0, "--eval-every must be 0 or more")
    need(args.log_every is None or args.log_every >= 1, "--log-every must be at least 1")
    need(0 <= args.samples <= MAX_SAMPLES, f"--samples must be between 0 and {MAX_SAMPLES}")
    args.data = find_list(args.data)
    inputs = {"--data": args.data, **({"--init": args.init} if init is not None else {})}
    out = check_out(args.out, inputs)

    items = load_lines(args.data)
    before, run_state = 0, None   # steps the model had when this command began
    if init is None:
        ds = make_dataset(items, args.val_frac, args.seed)
        n_params = param_count(config, ds.vocab.size)
        need(n_params <= MAX_PARAMS, f"this configuration has {n_params:,} parameters; zcgpt is made"
                                     f" for models under {MAX_PARAMS:,}")
        tr = Trainer(config, ds, args.seed)
        preset = args.preset or DEFAULT_PRESET
    else:
        tr, run_state, before = init_trainer(args, init, items)
        config, ds = tr.config, tr.dataset
        preset = init[2]["metrics"].get("preset")
        preset = preset if isinstance(preset, str) else None
    start_step, start_tokens = tr.step, tr.tokens_seen
    steps = config.steps
    eval_every = max(1, steps // 10) if args.eval_every is None else args.eval_every
    log_every = args.log_every or max(1, steps // 50)
    say = Lines(sys.stderr if args.json else sys.stdout)

    say(f"{len(items)} items from {args.data}: {len(ds.train)} train, {len(ds.val)} validation;"
        f" vocabulary {ds.vocab.size} tokens")
    if continued:
        say(f"continuing the saved run in {args.init} at step {tr.step:,} of {steps:,}: Adam's"
            f" moments and the batch order from the file")
    elif init is not None:
        say(f"on from {args.init} ({before:,} steps trained before): a fresh optimizer")
    # the checkpoint's step is the model's: the steps it had before the run, plus the run's
    offset = before
    before += tr.step if continued else 0
    design = f"preset {preset}" if init is None else f"the design of {args.init}"
    say(f"{design}, seed {args.seed}: {tr.model.num_params()} parameters, {steps} steps"
        f" of {config.batch_size} names")
    cut = count_cut(ds.train, getattr(tr, "npred", None))
    if cut:
        say(f"note: {cut} training items do not fit block_size {config.block_size} and are cut short")
    # the final evaluation below covers the last step
    run = Run(tr, Schedule(report_every=log_every, val_every=eval_every, val_items=tuple(ds.val),
                           val_last=False))
    if run_state is not None:
        try:
            run.restore(run_state)
        except ValueError as e:
            raise DataError(f"{args.init}: {e}.") from None
    t0, interrupted = time.perf_counter(), False
    try:
        for p in run.steps():
            if p is None:
                continue
            eta = (time.perf_counter() - t0) / (p.step - start_step) * (steps - p.step)
            val = "val    -  " if p.val_loss is None else f"val {p.val_loss:.4f}"
            say(f"step {p.step:>{len(str(steps))}}/{steps} | loss {p.train_loss:.4f} | {val}"
                f" | {fmt_rate((tr.tokens_seen - start_tokens) / max(run.train_seconds, 1e-9))} tok/s"
                f" | eta {fmt_time(eta)}")
    except KeyboardInterrupt:
        interrupted = True
        say(f"interrupted at step {tr.step}; saving what there is")
    except TrainingDiverged as e:
        raise DataError(f"{e} (--lr).") from None
    seconds = time.perf_counter() - t0
    if tr.step == start_step:
        return EXIT_INTERRUPT

    # save first: a Ctrl-C during the final evaluation must not lose the run
    checkpoint.save(out, tr.model, ds.vocab, step=offset + tr.step, metrics={}, seed=args.seed)
    for _ in run.final_eval():
        pass
    val_loss, train_loss = run.val_loss, run.train_loss
    # makemore's sanity check: a transformer should beat next-letter-from-this-letter counts
    bigram = bigram_loss(ds.train, ds.val, ds.vocab) if ds.val else None
    rng = Rng(args.seed)
    names = generate(tr.model, ds.vocab, max(200, args.samples), rng) if not interrupted else []
    train_set, val_set = set(ds.train), set(ds.val)
    nov = novelty(names, train_set) if names else float("nan")
    summary = {
        "preset": preset, "seed": args.seed, "data": str(args.data), "out": str(out),
        "steps": tr.step, "params": tr.model.num_params(),
        "init": None if init is None else str(args.init), "continued": continued,
        "base_step": before, "model_step": offset + tr.step,
        "train_loss": json_number(train_loss), "val_loss": json_number(val_loss),
        "bigram_val_loss": json_number(bigram),
        "seconds": round(seconds, 3), "tokens": tr.tokens_seen - start_tokens,
        "tokens_per_s": round((tr.tokens_seen - start_tokens) / run.train_seconds, 1)
        if run.train_seconds > 0 else 0.0,
        "n_train": len(ds.train), "n_val": len(ds.val),
        "novelty": json_number(nov), "samples": names[:args.samples], "interrupted": interrupted,
    }
    metrics = {k: summary[k] for k in ("train_loss", "val_loss", "bigram_val_loss", "seconds", "tokens",
                                       "tokens_per_s", "novelty", "preset", "data", "n_train", "n_val")}
    checkpoint.save(out, tr.model, ds.vocab, step=offset + tr.step, metrics=metrics, seed=args.seed)

    val = "n/a (no validation set)" if val_loss is None else \
        f"{val_loss:.4f} (bigram baseline {bigram:.4f})"
    say(f"done: {tr.step - start_step} steps in {fmt_time(seconds)}, train loss {train_loss:.4f} (last"
        f" {len(run.tail)} steps), val loss {val}, {fmt_rate(summary['tokens_per_s'])} tok/s")
    say(f"saved {out}")
    if names and args.samples:
        say(f"samples ({nov:.0%} of {len(names)} are new):")
        for name in names[:args.samples]:
            seen = "in train" if name in train_set else "in val" if name in val_set else "new"
            say(f"  {name:<20} {seen}")
    if args.json:
        (say if say.stream is sys.stdout else Lines(sys.stdout))(json.dumps(summary))
    return EXIT_INTERRUPT if interrupted else 0


# --- sample --------------------------------------------------------------------------------

def cmd_sample(args):
    from .prng import Rng
    from .sample import SamplingError, check_sampling, generate

    need_seed(args.seed)
    model, vocab, _ = load_checkpoint(args.model)
    try:
        check_sampling(vocab, model.config.block_size, args.num, args.temperature, args.top_k, args.prefix)
    except SamplingError as e:
        raise UsageError(f"{SAMPLE_FLAGS[e.arg]} {e.detail}") from None
    names = generate(model, vocab, args.num, Rng(args.seed), args.temperature, args.top_k, args.prefix)
    sys.stdout.write("".join(name + "\n" for name in names))
    sys.stdout.flush()
    return 0


# --- eval ----------------------------------------------------------------------------------

def cmd_eval(args):
    from .data import check_charset, find_list, numbered_lines, read_text
    from .train import encode_items, evaluate

    model, vocab, _ = load_checkpoint(args.model)
    args.data = find_list(args.data)
    numbered = numbered_lines(read_text(args.data), str(args.data))
    check_charset(numbered, str(args.data))
    for n, line in numbered:
        unknown = vocab.unknown(line)
        if unknown:
            raise DataError(f"{args.data} line {n}: {' '.join(map(repr, unknown))} not in the"
                            f" model's vocabulary.")
    items = [line for _, line in numbered]
    loss = evaluate(model, vocab, items)
    npred = encode_items(items, vocab, model.config)[1]
    tokens, cut = int(npred.sum()), count_cut(items, npred)
    if args.json:
        print(json.dumps({"loss": loss, "tokens": tokens, "lines": len(items), "lines_cut": cut,
                          "model": str(args.model), "data": str(args.data)}))
    else:
        note = f"; {cut} lines cut to the model's block" if cut else ""
        print(f"{loss:.4f} nats per token ({tokens} tokens, {len(items)} lines of {args.data}{note})")
    return 0


# --- entry ---------------------------------------------------------------------------------

def cmd_bench(args):
    from .bench import run_bench
    from .data import load_lines

    need(args.seconds > 0, "--seconds must be positive")
    zc_steps = presets["zeroclaw"].steps
    need(0 <= args.zeroclaw_steps <= zc_steps, f"--zeroclaw-steps must be between 0 and {zc_steps}")
    say = Lines(sys.stderr if args.json else sys.stdout)

    def report(name, r):
        if name is not None:
            say(f"{name:<9} {r['params']:>7} params  batch {r['batch_size']:>3}"
                f"  {fmt_rate(r['tokens_per_s']):>7} tok/s  ({r['steps']} steps in {r['seconds']:.1f}s)")
            return
        say(f"zeroclaw  {r['steps']} steps on {r['n_names']} names ({r['names']}): {r['seconds']:.2f}s,"
            f" mean loss of the last 500 steps {r['mean_loss_last_500']:.4f}")
        if "max_abs_diff_first_100" in r:
            say(f"          reference: mean loss of the last 500 steps"
                f" {r['reference_mean_loss_last_500']:.4f}; first 100 steps differ by at most"
                f" {r['max_abs_diff_first_100']:.1e}")

    result = run_bench(load_lines(args.data), str(args.data), args.seconds, args.zeroclaw_steps,
                       args.reference, report)
    if args.json:
        Lines(sys.stdout)(json.dumps(result))
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "bench": cmd_bench}


def main(argv=None) -> int:
    err, prog = Lines(sys.stderr), "python -m zcgpt"
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints escaped
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        prog = f"python -m zcgpt {args.command}"
        return COMMANDS[args.command](args)
    except SystemExit as e:  # argparse: --help, --version, or a bad flag (already reported)
        return e.code
    except UsageError as e:
        err(f"{prog}: error: {e} (see --help)")
        return EXIT_USAGE
    except (DataError, CheckpointError) as e:
        err(f"{prog}: error: {e}")
        return EXIT_DATA
    except TrainingDiverged as e:  # train adds the flag to turn; elsewhere (bench) as it is
        err(f"{prog}: error: {e}.")
        return EXIT_DATA
    except KeyboardInterrupt:
        err(f"{prog}: interrupted")
        return EXIT_INTERRUPT
    except MemoryError:
        err(f"{prog}: error: not enough memory for this configuration.")
        return EXIT_DATA
    except BrokenPipeError:  # `python -m zcgpt sample | head`: the reader left, not an error
        silence(sys.stdout)
        return 0
