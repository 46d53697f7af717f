"""Output helpers: lines that survive a closed pipe and short figures for the command line, and
numbers as JSON can carry them (for the command line's --json and the page's messages alike)."""

import math
import os


class Lines:
    """print() to a stream that goes quiet once its reader has left (`train | head -3`), so the
    work goes on and the run is still saved."""

    def __init__(self, stream):
        self.stream, self.gone = stream, False

    def __call__(self, msg):
        if self.gone:
            return
        try:
            print(msg, file=self.stream, flush=True)
        except BrokenPipeError:
            self.gone = True
            silence(self.stream)


def silence(stream):
    """Point a stream whose reader left at devnull, so the flush at exit does not complain
    (the recipe in Python's docs for SIGPIPE)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests)
        pass


def fmt_time(s):
    s = int(round(s))
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def fmt_rate(r):
    return f"{r / 1e3:.1f}k" if r >= 1e3 else f"{r:.0f}"


def json_number(x):
    """x, or None for a float NaN or infinity: JSON has neither, so they are written as null."""
    return None if isinstance(x, float) and not math.isfinite(x) else x
