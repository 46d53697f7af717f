"""A static server for dist/ like GitHub Pages: explicit MIME types, no COOP/COEP headers, no
folder listings, optionally under a sub-path (as a project's Pages site is), text and wasm sent
gzipped to a client that accepts it (as static hosts do), and a count of every byte it sends
(the bench's download figures)."""
from __future__ import annotations

import datetime
import email.utils
import functools
import gzip
import http.server
import io
import os
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from . import BuildError

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".py": "text/plain; charset=utf-8",
    ".toml": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# Sent gzipped when the client accepts it, as static hosts do (GitHub Pages among them);
# zip archives and wheels are compressed already and go as they are.
GZIP_SUFFIXES = {".html", ".js", ".mjs", ".css", ".json", ".map", ".txt", ".py", ".toml", ".md", ".svg", ".wasm"}
GZIP_LEVEL = 6


def gzip_bytes(data: bytes) -> bytes:
    """`data` gzipped as the server sends it (no file name, no time: the same bytes every time)."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


@dataclass
class Sent:
    """One response: when it ended (time.monotonic()), what was asked, and the bytes on the wire."""
    t: float
    method: str
    path: str
    status: int
    bytes: int


class Traffic:
    """Every response a server sent, with its bytes (headers and body); thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.log: list[Sent] = []

    def add(self, sent: Sent) -> None:
        with self.lock:
            self.log.append(sent)

    def snapshot(self) -> list[Sent]:
        with self.lock:
            return list(self.log)

    def total(self) -> int:
        return sum(s.bytes for s in self.snapshot())


class CountingWriter(io.RawIOBase):
    """The connection's output, counting what is written through it."""

    def __init__(self, raw):
        self.raw = raw
        self.count = 0

    def writable(self):
        return True

    def write(self, b):
        n = self.raw.write(b)
        self.count += len(b) if n is None else n
        return n

    def flush(self):
        self.raw.flush()


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with explicit MIME types and no extra headers (no COOP/COEP), like GitHub Pages.

    `base` is the URL path the folder is served under ('/' or e.g. '/zcgpt/'); anything outside it is 404.
    """
    protocol_version = "HTTP/1.1"  # keep-alive, as a real host would; the page fetches ~20 files
    base = "/"
    quiet = False
    gzip = True
    traffic: Traffic | None = None
    gzipped: dict = {}              # (path, mtime_ns, size) -> gzipped bytes, shared by the server's threads

    def setup(self):
        super().setup()
        self.wfile = CountingWriter(self.wfile)

    def handle_one_request(self):
        before = self.wfile.count
        self._status = 0
        super().handle_one_request()
        if self.traffic is not None and self.wfile.count > before:
            path = urllib.parse.urlsplit(getattr(self, "_asked", "") or "").path
            self.traffic.add(Sent(time.monotonic(), getattr(self, "command", "") or "", path,
                                  self._status, self.wfile.count - before))

    def send_response(self, code, message=None):
        self._status = code
        super().send_response(code, message)

    def parse_request(self):
        ok = super().parse_request()
        self._asked = self.path
        return ok

    def accepts_gzip(self) -> bool:
        return any(part.split(";")[0].strip() == "gzip"
                   for part in self.headers.get("Accept-Encoding", "").split(","))

    def send_head(self):
        """A file's headers; its body (gzipped when the type and client allow) as a file object."""
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            index = os.path.join(path, "index.html")
            if not urllib.parse.urlsplit(self.path).path.endswith("/") or not os.path.isfile(index):
                return super().send_head()  # the redirect to the folder, or 404 (no listings)
            path = index
        elif path.endswith("/"):
            return super().send_head()
        try:
            f = open(path, "rb")
        except OSError:
            self.send_error(404, "File not found")
            return None
        with f:
            fs = os.fstat(f.fileno())
            if self.not_modified(fs.st_mtime):
                self.send_response(304)
                self.send_header("Last-Modified", self.date_time_string(fs.st_mtime))
                self.end_headers()
                return None
            body = f.read()
        squeeze = self.gzip and os.path.splitext(path)[1].lower() in GZIP_SUFFIXES
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        if squeeze:
            self.send_header("Vary", "Accept-Encoding")
            if self.accepts_gzip():
                key = (path, fs.st_mtime_ns, fs.st_size)
                if key not in self.gzipped:
                    self.gzipped[key] = gzip_bytes(body)
                body = self.gzipped[key]
                self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", self.date_time_string(fs.st_mtime))
        self.end_headers()
        return io.BytesIO(body)

    def not_modified(self, mtime: float) -> bool:
        """Whether an If-Modified-Since (without If-None-Match) covers a file last changed at `mtime`."""
        if "If-Modified-Since" not in self.headers or "If-None-Match" in self.headers:
            return False
        try:
            ims = email.utils.parsedate_to_datetime(self.headers["If-Modified-Since"])
        except (TypeError, IndexError, OverflowError, ValueError):
            return False
        if ims.tzinfo is None:
            ims = ims.replace(tzinfo=datetime.timezone.utc)
        changed = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc).replace(microsecond=0)
        return changed <= ims

    def guess_type(self, path):
        return MIME_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")

    def _rebase(self) -> bool:
        """Strip `base` from self.path; answer 404 / redirect and return False when outside it."""
        if self.base == "/":
            return True
        url = urllib.parse.urlsplit(self.path)
        if url.path == self.base.rstrip("/"):
            self.send_response(301)
            self.send_header("Location", self.base + (f"?{url.query}" if url.query else ""))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        if not url.path.startswith(self.base):
            self.send_error(404, f"not under {self.base}")
            return False
        self.path = "/" + url.path[len(self.base):] + (f"?{url.query}" if url.query else "")
        return True

    def do_GET(self):
        if self._rebase():
            super().do_GET()

    def do_HEAD(self):
        if self._rebase():
            super().do_HEAD()

    def list_directory(self, path):
        self.send_error(404, "no index.html here")  # GitHub Pages lists no folders
        return None

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


def normalize_base(base: str) -> str:
    base = "/" + base.strip("/") + "/"
    return "/" if base == "//" else base


def make_server(directory: Path, port: int = 8000, base: str = "/", host: str = "127.0.0.1",
                quiet: bool = False, gzip: bool = True) -> http.server.ThreadingHTTPServer:
    """A ready (not yet serving) HTTP server for `directory` under URL path `base`. Port 0 = any free port.

    Its `.traffic` (a Traffic) records every response and the bytes sent for it.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise BuildError(f"{directory} does not exist: run `python build.py` first")
    traffic = Traffic()
    handler = type("ZcgptHandler", (Handler,), {"base": normalize_base(base), "quiet": quiet, "gzip": gzip,
                                                 "traffic": traffic, "gzipped": {}})
    server = http.server.ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(directory)))
    server.traffic = traffic
    return server
