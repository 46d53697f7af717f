"""zcgpt: a small GPT in plain numpy that learns names — on the desktop and in a browser tab."""

__version__ = "0.1.0"

from .config import Config, presets
from .model import GPT

__all__ = ["Config", "GPT", "presets", "__version__"]
