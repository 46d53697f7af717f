"""One dataclass holds every setting of a run (model shape and training recipe), plus presets.

The CLI mirrors these fields as flags, checkpoints store them as a plain dict, and the page
sends the same dict to the worker, so a run is described the same way everywhere.
"""

import inspect
import math
import re
from dataclasses import asdict, dataclass, fields, replace

ACTIVATIONS = ("relu2", "relu", "gelu")
DTYPES = ("float32", "float64")
# The str fields and the values each may take (the CLI's flags and the page's designer offer these).
CHOICES = {"activation": ACTIVATIONS, "dtype": DTYPES}
# Old field name -> new name: checkpoints written before a rename still load.
RENAMED = {"seed_truncation": "zeroclaw_truncation"}


def type_name(f) -> str:
    """A dataclass field's type as a name ("int", "float", "bool", "str"), whether the annotation
    is the type itself or a string."""
    return f.type if isinstance(f.type, str) else f.type.__name__


def _renamed(d: dict) -> dict:
    for old, new in RENAMED.items():
        if old in d:
            if new in d:
                raise ValueError(f"bad config: {old} is the old name of {new}; give only one")
            d = {(new if k == old else k): v for k, v in d.items()}
    return d


@dataclass(frozen=True)
class Config:
    # --- model ---
    n_embd: int = 16            # C: width of the residual stream
    n_head: int = 4             # H: attention heads (head size C // H)
    n_layer: int = 1            # transformer blocks
    block_size: int = 16        # T max: positions the model sees (wpe rows)
    mlp_ratio: int = 4          # MLP hidden width = mlp_ratio * C
    activation: str = "relu2"   # relu2 (squared ReLU, zeroclaw's), relu or gelu
    tied_head: bool = True      # lm_head reuses wte (zeroclaw's choice) or has its own matrix
    final_norm: bool = False    # RMSNorm before lm_head (zeroclaw has none)
    init_std: float = 0.02      # N(0, init_std) for every drawn matrix
    zero_init_out: bool = True  # wo and fc2 start at zero (still drawn, to keep the stream in step)
    dtype: str = "float32"      # float64 for gradient checks
    # --- training ---
    steps: int = 5000           # optimizer steps; the learning rate decays linearly to 0 over them
    batch_size: int = 32        # names per step
    shards: int = 1             # pieces each step's batch is cut into (at most batch_size), each
                                # computed on its own and summed in shard order: the tab's workers
                                # share a step by shards, so a run depends on shards, never on how
                                # many workers computed it
    lr: float = 1e-2            # peak learning rate
    warmup_steps: int = 0       # linear warmup before the decay
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.0   # AdamW-style decoupled decay on matrices (0 = plain Adam)
    grad_clip: float = 0.0      # clip the global gradient norm to this (0 = off)
    dropout: float = 0.0        # share of the embedding and of each block's attention and MLP
                                # outputs zeroed in a training step (0 = off; never when sampling)
    shuffle: bool = True        # shuffled epochs; False = file order, one batch after another
    sort_window: int = 16       # with shuffle: sort each run of this many batches by length, so a
                                # batch pads little (1 = off); batch order is shuffled again after
    zeroclaw_truncation: bool = False  # cut a long name to block_size tokens as zeroclaw does
                                       # (its last wpe row then goes unused); False keeps
                                       # block_size predicted positions (16 fit 15 letters + EOS)

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    def validate(self) -> "Config":
        """self, or ValueError naming the first field that is wrong."""
        problems = self.problems()
        if problems:
            raise ValueError(f"bad config: {next(iter(problems.values()))}")
        return self

    def problems(self) -> dict:
        """field name -> what is wrong with it, for every field that is (empty when all is well)."""
        out = {}

        def need(cond, name, msg):
            if not cond and name not in out:
                out[name] = msg

        for f in fields(self):
            v = getattr(self, f.name)
            t = type_name(f)
            want = {"int": int, "float": (int, float), "bool": bool, "str": str}[t]
            bad = not isinstance(v, want) or (t != "bool" and isinstance(v, bool))
            need(not bad, f.name, f"{f.name} must be {t}, got {v!r}")
        for f in fields(self):
            v = getattr(self, f.name)
            if type_name(f) == "float" and f.name not in out:
                need(math.isfinite(v), f.name, f"{f.name} must be a finite number, got {v!r}")
        if out:
            return out                      # the checks below compare values of the right types
        for name in ("n_embd", "n_head", "n_layer", "block_size", "mlp_ratio", "steps", "batch_size",
                     "shards", "sort_window"):
            need(getattr(self, name) >= 1, name, f"{name} must be at least 1")
        if self.n_head >= 1:
            need(self.n_embd % self.n_head == 0, "n_embd",
                 f"n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        need(self.activation in ACTIVATIONS, "activation", f"activation must be one of {', '.join(ACTIVATIONS)}")
        need(self.dtype in DTYPES, "dtype", f"dtype must be one of {', '.join(DTYPES)}")
        need(self.lr > 0, "lr", "lr must be positive")
        need(0 <= self.warmup_steps < self.steps, "warmup_steps", "warmup_steps must be in [0, steps)")
        need(0 <= self.beta1 < 1, "beta1", "betas must be in [0, 1)")
        need(0 <= self.beta2 < 1, "beta2", "betas must be in [0, 1)")
        need(self.eps > 0, "eps", "eps must be positive and init_std non-negative")
        need(self.init_std >= 0, "init_std", "eps must be positive and init_std non-negative")
        need(self.weight_decay >= 0, "weight_decay", "weight_decay and grad_clip must be >= 0")
        need(self.grad_clip >= 0, "grad_clip", "weight_decay and grad_clip must be >= 0")
        need(0 <= self.dropout < 1, "dropout", "dropout must be in [0, 1)")
        return out

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        if not isinstance(d, dict):
            raise ValueError("bad config: expected a JSON object")
        d = _renamed(d)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"bad config: unknown field(s) {', '.join(unknown)}")
        floats = {f.name for f in fields(cls) if type_name(f) == "float"}
        d = {k: (float(v) if k in floats and isinstance(v, int) and not isinstance(v, bool) else v)
             for k, v in d.items()}
        return cls(**d).validate()

    def replace(self, **changes) -> "Config":
        return replace(self, **changes).validate()


presets = {
    # zeroclaw, exactly: one name per step in file order, names cut to the 8-position block.
    "zeroclaw": Config(n_embd=16, n_head=4, n_layer=1, block_size=8, steps=5000, batch_size=1,
                       lr=1e-2, shuffle=False, zeroclaw_truncation=True),
    # `shards` (see above) is how many workers in a tab can share a step: small cuts each batch
    # into 6, so up to 6 share its long steps; tiny into 3, since each shard is a pass of its own
    # on the desktop too and tiny's steps are short.
    # zeroclaw's size class (under 5,000 parameters), but every name fits the block, and
    # batched, shuffled, with a norm before lm_head; tuned for validation loss in a minute.
    "tiny": Config(n_embd=20, n_head=4, n_layer=1, block_size=16, mlp_ratio=3, final_norm=True,
                   steps=60000, batch_size=64, shards=3, lr=1e-2),
    # Tuned for validation loss in a few minutes of CPU: three layers rather than more width,
    # and weight decay to hold off overfitting (the step count stops before it sets in).
    "small": Config(n_embd=32, n_head=4, n_layer=3, block_size=16, final_norm=True,
                    steps=20000, batch_size=64, shards=6, lr=5e-3, weight_decay=0.1),
    # The best validation loss in five times tiny's time on the desktop (docs/medium.md): wider
    # and deeper than small, with dropout, which holds off the overfitting that stops small;
    # eight heads of 8 rather than four of 16. Three shards, not six: each shard is a pass of
    # its own, and three leave the desktop time for more steps; the step count is what fits in
    # five times tiny's time.
    "medium": Config(n_embd=64, n_head=8, n_layer=4, block_size=16, final_norm=True,
                     steps=22000, batch_size=64, shards=3, lr=4e-3, weight_decay=0.1, dropout=0.15),
}
for _c in presets.values():
    _c.validate()

# Help for the fields that carry no comment above.
EXTRA_HELP = {
    "beta1": "Adam decay rate of the gradient mean",
    "beta2": "Adam decay rate of the squared-gradient mean",
    "eps": "Adam epsilon added to the root of the squared-gradient mean",
}


def field_help() -> dict:
    """name -> the comment beside each Config field (or EXTRA_HELP's line), so the CLI's flags
    and the page's designer explain a field in the same words."""
    out = dict(EXTRA_HELP)
    try:
        src = inspect.getsource(Config)
    except (OSError, TypeError):
        return out
    last, indent = None, 0
    for line in src.splitlines():
        m = re.match(r"(\s+)(\w+)\s*:\s*[\w.]+\s*=[^#]*?(?:#\s*(.*))?$", line)
        if m:
            last = m.group(2) if m.group(3) else None
            indent = len(m.group(1))
            if last:
                out[last] = m.group(3).strip()
        elif last and re.match(rf"\s{{{indent + 1},}}#", line):  # the comment goes on below
            out[last] += " " + line.strip().lstrip("#").strip()
        else:
            last = None
    return out
