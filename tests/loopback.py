"""A loopback HTTP server for the fetch tests (dtp_core.fetch, the datasets stage, the checkpoint
files): serves a folder, and can misbehave on request.

    with serve(folder) as mirror:
        mirror.url                      # http://127.0.0.1:<port>
        mirror.fail("a/b.png", "503", "503")   # the next two GETs of a/b.png answer 503
        mirror.fail("a/b.png", "truncate")     # promise the whole file, send half, hang up
        mirror.fail("a/b.png", "corrupt")      # the right length, different bytes
        mirror.fail("a/b.png", "stall")        # send half, then wait until the server stops
        mirror.requests["a/b.png"]      # how many GETs it got
"""

from __future__ import annotations

import collections
import contextlib
import threading
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Mirror(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path):
        self.folder = folder
        self.faults: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.requests: collections.Counter = collections.Counter()
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fail(self, path: str, *faults: str) -> None:
        self.faults[path].extend(faults)


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(args[2].folder), **kwargs)

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_GET(self):
        path = urllib.parse.unquote(self.path.lstrip("/"))
        self.server.requests[path] += 1
        fault = self.server.faults[path].popleft() if self.server.faults[path] else None
        if fault is None:
            return super().do_GET()
        if fault.isdigit():
            return self.send_error(int(fault))
        data = (self.server.folder / path).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault == "corrupt":
            self.wfile.write(bytes(b ^ 0xFF for b in data[:64]) + data[64:])
        elif fault in ("truncate", "stall"):
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            if fault == "stall":
                self.server.stopping.wait(30)
            self.close_connection = True


@contextlib.contextmanager
def serve(folder: str | Path):
    server = _Mirror(Path(folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
