"""Shared fixtures: a local HTTP target that can be taken down, and helpers
for waiting with a deadline (every wait in these tests is bounded)."""

from __future__ import annotations

import http.server
import threading
import time
from typing import Callable, Iterator

import pytest


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Target:
    """An HTTP server on 127.0.0.1 answering 200 until :meth:`down` closes
    its socket (probes then get `connection refused`)."""

    def __init__(self) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.is_up = True

    def down(self) -> None:
        if self.is_up:
            self.is_up = False
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)


@pytest.fixture
def target() -> Iterator[Target]:
    t = Target()
    yield t
    t.down()


def wait_until(what: str, within: float, cond: Callable[[], bool]) -> None:
    """Poll ``cond`` every 50 ms; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within}s waiting for {what}")
        time.sleep(0.05)
