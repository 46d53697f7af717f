"""A static server for dist/ like GitHub Pages: explicit MIME types, no COOP/COEP headers, no
folder listings, optionally under a sub-path (as a project's Pages site is)."""
from __future__ import annotations

import functools
import http.server
import os
import urllib.parse
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


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with explicit MIME types and no extra headers (no COOP/COEP), like GitHub Pages.

    `base` is the URL path the folder is served under ('/' or e.g. '/zcgpt/'); anything outside it is 404.
    """
    protocol_version = "HTTP/1.1"  # keep-alive, as a real host would; the page fetches ~20 files
    base = "/"
    quiet = False

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
                quiet: bool = False) -> http.server.ThreadingHTTPServer:
    """A ready (not yet serving) HTTP server for `directory` under URL path `base`. Port 0 = any free port."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BuildError(f"{directory} does not exist: run `python build.py` first")
    handler = type("ZcgptHandler", (Handler,), {"base": normalize_base(base), "quiet": quiet})
    return http.server.ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(directory)))
