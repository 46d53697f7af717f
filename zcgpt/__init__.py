"""zcgpt: a small GPT in plain numpy that learns names — on the desktop and in a browser tab."""

__version__ = "0.1.0"

__all__ = ["Config", "GPT", "presets", "__version__"]


def __getattr__(name):
    """Config, presets and GPT on first use, so `python -m zcgpt` answers Ctrl-C during its
    start-up with one line (numpy is imported inside the command's own error handling)."""
    if name in ("Config", "presets"):
        from . import config
        return getattr(config, name)
    if name == "GPT":
        from .model import GPT
        return GPT
    raise AttributeError(f"module 'zcgpt' has no attribute {name!r}")
