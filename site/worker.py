"""The Pyodide adapter around zcgpt.app: messages in, messages out, training in ticks.

js/runtime.js starts this file in a PyScript worker. Pyodide installed numpy and the zcgpt
wheel while it booted; the "init" message brings the absolute URL (a worker runs from a blob:
URL, where relative ones mean nothing) of the names. The page's config puts the SIMD kernel
among the worker's files: zcgpt/simd.py installs it, or says why numpy computes. Everything
else is zcgpt.app.App, which pytest runs on CPython; zcgpt/protocol.py lists the messages.

A run goes in ticks of about TICK_S seconds; between them the worker's event loop delivers
the page's messages (pause, stop, reset), so Stop is answered within one tick.

This worker is the leader of the tab's workers: helper workers (site/helper.py) that the page
starts join by a MessageChannel port each ("helper" brings it). zcgpt.shards.Pool deals each
step's shards; while a step waits for the helpers' gradients this loop awaits their answer, and
a helper silent for OVERDUE_S is dropped (its shards come back here: the bits stay the same).
"""

import asyncio
import json
import sys
import time

import js
from polyscript import xworker
from pyodide.ffi import create_proxy
from pyodide.http import pyfetch

app = None          # zcgpt.app.App, once zcgpt is imported
alive = None        # zcgpt.alive: "busy" before a long call (the page then waits for it)
wire = None         # zcgpt.ports, the helpers' messages (imported with zcgpt)
worker_task = None  # the task running app.work() while there is work
ports = {}          # helper id -> its MessageChannel port
answered = None     # a future the work loop awaits while a step waits for helpers
watchdog = None     # the timer of the next look for silent helpers, while there is work


def post(msg):
    js.postMessage(json.dumps(msg))


def post_error(where, exc):
    post({"type": "error", "where": where, "message": f"{type(exc).__name__}: {exc}"})


def bytecode_report():
    """How many imported standard-library and numpy modules came from bytecode (the build ships
    .pyc files in place of sources), and how many were compiled here from a .py."""
    counts = {"stdlib_pyc": 0, "stdlib_py": 0, "numpy_pyc": 0, "numpy_py": 0}
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None) or ""
        kind = "pyc" if path.endswith(".pyc") else "py" if path.endswith(".py") else None
        if kind and ".zip/" in path:
            counts["stdlib_" + kind] += 1
        elif kind and (name == "numpy" or name.startswith("numpy.")):
            counts["numpy_" + kind] += 1
    return counts


async def fetch_text(url):
    resp = await pyfetch(url)
    if not resp.ok:
        raise OSError(f"HTTP {resp.status}")
    return await resp.string()


async def on_init(msg):
    """Import numpy and zcgpt, read the names, then "ready" (each stage announced first)."""
    global app, wire, alive
    t0 = time.perf_counter()
    post({"type": "stage", "stage": "numpy", "python": sys.version.split()[0]})
    import numpy
    post({"type": "stage", "stage": "zcgpt", "numpy": numpy.__version__})
    import zcgpt
    from zcgpt import simd
    from zcgpt import alive
    from zcgpt.app import App
    _, engine_note = simd.install()   # the SIMD kernel if it starts here, else numpy (say why)
    post({"type": "stage", "stage": "data", "zcgpt": zcgpt.__version__})
    name = msg["data"].rsplit("/", 1)[-1]
    try:
        text = await fetch_text(msg["data"])
    except Exception as exc:
        raise RuntimeError(f"could not load {name} ({exc})") from None
    app = App()
    app.heartbeat = lambda: post(alive.heartbeat())
    from zcgpt import ports as wire
    from zcgpt.shards import Pool
    app.pool = Pool(send_to_helper)
    app.pool.wake = wake
    post(app.start(text, name, link=msg.get("hash") or "", timings=msg.get("timings"), snapshot_s=msg.get("snapshot_s"),
                   seconds=time.perf_counter() - t0, numpy=numpy.__version__, bytecode=bytecode_report(),
                   engine_note=engine_note))


async def on_builtin(msg):
    """A list shipped with the page: fetch it, then check it as any other list."""
    from zcgpt.protocol import check_message
    check_message(msg)
    try:
        text = await fetch_text(msg["url"])
    except Exception as exc:   # offline without a cached copy, say
        post({"type": "data_error", "source": msg["name"], "via": "builtin",
              "message": f"Could not load {msg['name']} ({exc})."})
        return
    say_busy(alive.for_text(len(text)))
    for reply in app.use_list(text, msg["name"], "builtin"):
        post(reply)


def send_to_helper(hid, header, arrays):
    wire.post(ports[hid], header, arrays)


def on_helper_message(hid, event):
    try:
        header, arrays = wire.read(event)
    except ValueError as exc:
        header, arrays = {"type": "failed", "message": str(exc)}, []
    post_all(app.from_helper(hid, header, arrays))


def attach_helper(hid, port):
    ports[hid] = port
    port.onmessage = create_proxy(lambda event: on_helper_message(hid, event))


def wake():
    if answered is not None and not answered.done():
        answered.set_result(None)


async def helpers_answer():
    """Wait until the step in flight can go on (a helper answered or was dropped)."""
    global answered
    answered = asyncio.get_event_loop().create_future()
    try:
        await answered
    finally:
        answered = None


def post_all(replies):
    """Post the app's replies; close the port of any helper it dropped."""
    for reply in replies:
        if reply.get("type") == "workers" and reply.get("dropped") in ports:
            ports.pop(reply["dropped"]).close()
        post(reply)


def watch_helpers(last=None):
    """Every second while a run goes on: drop helpers that owe an answer for too long (one that
    was ended without a word, say: see zcgpt.shards.Pool.overdue); their shards come back here.
    After a gap far over a second (the tab was frozen or the machine slept) no one is judged."""
    global watchdog
    from zcgpt.shards import OVERDUE_S
    now = time.perf_counter()
    if last is not None and now - last > 2.5:
        app.pool.pardon()
    post_all(app.overdue(OVERDUE_S))
    watchdog = asyncio.get_event_loop().call_later(1.0, watch_helpers, now)


async def work():
    """Run the app's work in ticks while it has any, letting messages in between."""
    global worker_task
    from zcgpt.driver import TICK_S
    try:
        watch_helpers()
        while app.has_work():
            say_busy(alive.for_work(app))
            for reply in app.work(TICK_S):
                post(reply)
            if app.waiting():
                await helpers_answer()
            else:
                await asyncio.sleep(0)
    finally:
        if watchdog is not None:
            watchdog.cancel()
        worker_task = None


ASYNC = {"init": on_init, "builtin": on_builtin}   # the rest is app.handle's


def say_busy(msg):
    if msg is not None:
        post(msg)


def on_message(event):
    global worker_task
    if alive is not None and isinstance(event.data, str):
        say_busy(alive.for_text(len(event.data), "reading a message"))   # a big list's JSON, say
    try:
        msg = json.loads(event.data)
    except (TypeError, ValueError):
        return   # PyScript's own traffic
    kind = msg.get("type") if isinstance(msg, dict) else None
    if kind in ASYNC:
        asyncio.ensure_future(guard(ASYNC[kind](msg), kind))
        return
    if app is None:
        if kind != "helper":   # a helper is joined again once this worker is ready
            post({"type": "error", "where": str(kind), "message": "Python is still starting."})
        return
    if kind == "helper" and isinstance(msg.get("id"), int):
        if not event.ports.length:
            post({"type": "error", "where": "helper", "message": "A helper came without its port."})
            return
        attach_helper(msg["id"], event.ports[0])
    elif kind == "helper_gone" and msg.get("id") in ports:
        ports.pop(msg["id"]).close()
    say_busy(alive.for_message(app, msg))
    post_all(app.handle(msg))
    if not app.waiting():
        wake()            # reset, say: the step the loop waited for is no more
    if app.has_work() and worker_task is None:
        worker_task = asyncio.ensure_future(guard(work(), "train"))


async def guard(coro, where):
    try:
        await coro
    except Exception as exc:
        post_error(where, exc)


xworker.onmessage = create_proxy(on_message)   # the page sends "init" once this file has run
