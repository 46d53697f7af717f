"""A helper worker: computes the shards of each step that the leader (site/worker.py) deals it.

js/workers.js starts this file in a PyScript worker of its own once the leader is ready, then
sends "attach" with one end of a MessageChannel whose other end the leader holds. From then on
everything goes over that port: zcgpt.shards.Helper answers "join" and "work" (the header as
JSON, the arrays as buffers). To the page it says only that it is attached.
"""

import json

import js
from polyscript import xworker
from pyodide.ffi import create_proxy

import numpy  # noqa: F401  (imported now, while the page waits, rather than at the first step)
from zcgpt import ports as wire
from zcgpt import simd
from zcgpt.shards import Helper

gemm, _ = simd.install()   # the same kernel file as the leader's; "join" says which engine to run
helper = Helper(gemm)
port = None


def on_port_message(event):
    try:
        header, arrays = wire.read(event)
        reply = helper.handle(header, arrays)
    except Exception as exc:   # a message it cannot read, or no memory left: the leader drops it
        reply = {"type": "failed", "message": f"{type(exc).__name__}: {exc}"}, []
    if reply is not None:
        wire.post(port, *reply)


def on_message(event):
    global port
    try:
        msg = json.loads(event.data)
    except (TypeError, ValueError):
        return   # PyScript's own traffic
    if isinstance(msg, dict) and msg.get("type") == "attach" and event.ports.length:
        if port is not None:
            port.close()
        port = event.ports[0]
        port.onmessage = create_proxy(on_port_message)
        js.postMessage(json.dumps({"type": "attached"}))


xworker.onmessage = create_proxy(on_message)
