"""Debian's chromium driven by PyPI's Playwright (it never downloads a browser): one path, one
set of launch flags and one availability check for the bench and the browser tests."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

CHROMIUM = os.environ.get("ZCGPT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def unavailable() -> str | None:
    """Why no browser can be driven here (what to install), or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed: pip install playwright (it drives Debian's chromium)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}: apt-get install chromium, or set ZCGPT_CHROMIUM"
    return None


def launch(playwright):
    """A headless Chromium from a started sync_playwright()."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def off_origin(urls, origin: str) -> list[str]:
    """Requests that leave the page's origin (blob: URLs are the page's own worker code)."""
    return [u for u in urls if not u.startswith((origin + "/", "blob:" + origin, "data:"))]
