"""A Hub stand-in for the tests: a real HTTP server on 127.0.0.1 serving checkpoint folders at the Hub's
file URLs, `/{repo}/resolve/{revision}/{file}`, with HEAD and Range as the Hub answers them; it counts the
bytes it sends per file, and can be slow, refuse (401) or cut a response short."""

import hashlib
import http.server
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path

_PATH = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class Hub:
    def __init__(self):
        self.repos = {}            # repo -> {file name: bytes}
        self.sent = {}             # (repo, file) -> bytes of body sent
        self.requests = []         # (method, path, Authorization header)
        self.slow, self.refused, self.cut = set(), set(), set()     # repos answered that way

    def serve(self, repo: str, folder: Path):
        self.repos[repo] = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}

    def commit(self, repo: str) -> str:
        return hashlib.sha1(repr(sorted(self.repos[repo])).encode() + repo.encode()).hexdigest()


def _handler(hub: Hub):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_HEAD(self):
            self._answer(body=False)

        def do_GET(self):
            self._answer(body=True)

        def _answer(self, body: bool):
            hub.requests.append((self.command, self.path, self.headers.get("Authorization", "")))
            match = _PATH.match(self.path)
            repo = match["repo"] if match else ""
            if repo in hub.slow:
                time.sleep(2)
            if repo in hub.refused:
                return self._empty(401)
            data = hub.repos.get(repo, {}).get(match["file"]) if match else None
            if data is None:
                return self._empty(404)
            first, last, status = 0, len(data) - 1, 200
            wanted = _RANGE.match(self.headers.get("Range", ""))
            if wanted:
                first = int(wanted[1])
                last = min(int(wanted[2]) if wanted[2] else len(data) - 1, len(data) - 1)
                status = 206
            chunk = data[first:last + 1]
            self.send_response(status)
            self.send_header("Content-Length", str(len(chunk)))
            self.send_header("X-Repo-Commit", hub.commit(repo))
            self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
            if status == 206:
                self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
            self.end_headers()
            if body:
                if repo in hub.cut:
                    chunk = chunk[: len(chunk) // 2]
                self.wfile.write(chunk)
                key = (repo, match["file"])
                hub.sent[key] = hub.sent.get(key, 0) + len(chunk)
                if repo in hub.cut:
                    self.close_connection = True

        def _empty(self, status: int):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def running(hub: Hub):
    """The server on a free loopback port; yields its endpoint URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
