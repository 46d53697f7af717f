"""zcgpt.shards' messages over a MessageChannel port, in Pyodide only (site/worker.py and
site/helper.py; CPython never imports this module).

A message is a JS array [the header as JSON, one ArrayBuffer with every array's bytes]; the
buffer is transferred, not copied again, so the copy out of Python's memory here is the only one.
"""

import json

import js

from .shards import pack, unpack

# looked up once: each lookup on the worker's global object costs tens of microseconds
ArrayBuffer, Uint8Array, array_of = js.ArrayBuffer, js.Uint8Array, js.Array.of


def post(port, header, arrays):
    header, blob = pack(header, arrays)
    buffer = ArrayBuffer.new(blob.nbytes)
    Uint8Array.new(buffer).assign(blob)
    port.postMessage(array_of(json.dumps(header), buffer), array_of(buffer))


def read(event):
    """(header, arrays) of a port's message event; ValueError when it is not one of ours."""
    try:
        text, buffer = event.data
        header = json.loads(text)
        blob = Uint8Array.new(buffer).to_bytes()
    except Exception as exc:
        raise ValueError(f"unreadable message ({exc})") from None
    return header, unpack(header, blob)
