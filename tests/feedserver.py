"""A real HTTP/1.1 server on 127.0.0.1 for fetch tests, with programmable routes.

Usage::

    from tests.feedserver import FeedServer, Reply

    with FeedServer() as server:
        server.route("/feed.xml", Reply(500), Reply(200, b"<rss/>"))  # the last reply repeats
        server.route("/drip", Reply(200, b"x" * 60, drip=1.0))  # a byte a second for a minute
        server.route("/busy", Reply(503, headers={"Retry-After": "120"}))
        url = server.url("/feed.xml")
        ...  # fetch it
        assert server.requests_to("/feed.xml")[0].headers["User-Agent"]

or take the ``feed_server`` fixture (``from tests.feedserver import feed_server_fixture``).

It runs a ``ThreadingHTTPServer`` in a background thread on a random port. Every request
is recorded with its headers, how many body bytes were sent back and whether the whole
body went out (``completed`` is False when the client hung up early). The server also
tracks the peak number of requests in flight per *group*, the first path segment
(``/slow/3`` is in group ``slow``), from receipt until the response starts.
"""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

NO_BODY = frozenset({204, 304})


@dataclass(frozen=True)
class Reply:
    """One programmed response."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # override Date, Content-Length...
    delay: float = 0.0  # seconds to wait before answering (cut short when the server stops)
    gzip: bool = False  # send the body gzip-compressed, with Content-Encoding: gzip
    chunked: bool = False  # Transfer-Encoding: chunked, no Content-Length
    repeat: int = 1  # send ``body`` this many times: a large body without a large bytes object
    # seconds before each byte of the body, sent one at a time (once, neither gzipped nor
    # chunked): every read gets a byte long before any read timeout, so only a total
    # deadline ends the response early (the waits are cut short when the server stops)
    drip: float = 0.0


@dataclass
class Received:
    """One request the server received, and how its response went."""

    method: str
    path: str
    headers: Message  # case-insensitive: headers["if-none-match"]
    bytes_sent: int = 0  # body bytes written to the socket
    completed: bool = False  # False when the client hung up before the whole body went out


class FeedServer:
    """A threaded HTTP server with per-path replies; use it as a context manager."""

    def __init__(self) -> None:
        self._routes: dict[str, list[Reply]] = {}
        self._cond = threading.Condition()
        self._in_flight: Counter[str] = Counter()
        self._peak: Counter[str] = Counter()
        self._busy = 0
        self.connections = 0  # TCP connections accepted: a reused one is counted once
        self._stopping = threading.Event()
        self.received: list[Received] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, *replies: Reply) -> str:
        """Answer ``path`` with ``replies`` in turn, repeating the last; return its URL."""
        with self._cond:
            self._routes[path] = list(replies) or [Reply()]
        return self.url(path)

    def requests_to(self, path: str) -> list[Received]:
        with self._cond:
            return [request for request in self.received if request.path == path]

    def peak(self, group: str) -> int:
        """The most requests of ``group`` that were in flight at once."""
        with self._cond:
            return self._peak[group]

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every response has been written or abandoned."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._busy == 0, timeout):
                raise AssertionError(f"feed server still busy after {timeout} s")

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # wakes delayed replies so that their threads end now
        self._httpd.shutdown()
        self._httpd.server_close()  # joins the handler threads (daemon_threads is off)
        self._thread.join()

    # --- the handler's side --------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        record = Received(handler.command, handler.path, handler.headers)
        group = handler.path.split("/")[1].split("?")[0]
        with self._cond:
            self.received.append(record)
            reply = self._next_reply(handler.path)
            self._busy += 1
            self._in_flight[group] += 1
            self._peak[group] = max(self._peak[group], self._in_flight[group])
        try:
            self._stopping.wait(reply.delay)
            # out of flight before the first byte: the client cannot start its next request
            # before this, so the peak count has no race with a fast client
            with self._cond:
                self._in_flight[group] -= 1
            self._respond(handler, reply, record)
        except OSError:  # the client hung up (timeout, oversize body): what tests look for
            handler.close_connection = True
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def _next_reply(self, path: str) -> Reply:
        replies = self._routes.get(path)
        if not replies:
            return Reply(404, b"no such route")
        return replies.pop(0) if len(replies) > 1 else replies[0]

    def _respond(self, handler: _Handler, reply: Reply, record: Received) -> None:
        body = b"" if reply.status in NO_BODY else reply.body
        if reply.gzip:
            body = gzip.compress(body * reply.repeat)
        repeat = 1 if reply.gzip else reply.repeat
        handler.send_response_only(reply.status)
        for name, value in _headers(handler, reply, len(body) * repeat).items():
            handler.send_header(name, value)
        handler.end_headers()
        if reply.drip:
            self._drip(handler, body, reply.drip, record)
            return
        for _ in range(repeat if body else 0):
            handler.wfile.write(_chunk(body) if reply.chunked else body)
            record.bytes_sent += len(body)
        if reply.chunked and reply.status not in NO_BODY:
            handler.wfile.write(b"0\r\n\r\n")
        record.completed = True

    def _drip(self, handler: _Handler, body: bytes, every: float, record: Received) -> None:
        for index in range(len(body)):
            if self._stopping.wait(every):
                return  # the test is over: end the thread instead of dripping on
            handler.wfile.write(body[index : index + 1])
            record.bytes_sent += 1
        record.completed = True


def _headers(handler: _Handler, reply: Reply, length: int) -> dict[str, str]:
    """Default headers, then the reply's own, which replace defaults of any case."""
    defaults = {"Server": "feedserver", "Date": handler.date_time_string()}
    if reply.chunked:
        defaults["Transfer-Encoding"] = "chunked"
    elif reply.status not in NO_BODY:
        defaults["Content-Length"] = str(length)
    if reply.gzip:
        defaults["Content-Encoding"] = "gzip"
    own = {name.lower() for name in reply.headers}
    kept = {name: value for name, value in defaults.items() if name.lower() not in own}
    return {**kept, **reply.headers}


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close() joins every handler thread
    request_queue_size = 128  # many feeds connect at once; the default 5 would drop SYNs
    owner: FeedServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked responses
    timeout = 10  # an idle keep-alive connection cannot hold up shutdown for longer
    server: _Server

    def setup(self) -> None:
        super().setup()  # one handler per connection: count it
        with self.server.owner._cond:
            self.server.owner.connections += 1

    def do_GET(self) -> None:
        self.server.owner._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest shows the assertions, not an access log."""


# registered under the name ``feed_server``; import ``feed_server_fixture`` into a test module
# (or list this module in ``pytest_plugins``) to use it, without the import shadowing the
# test's ``feed_server`` argument
@pytest.fixture(name="feed_server")
def feed_server_fixture() -> Iterator[FeedServer]:
    """A running :class:`FeedServer`, stopped after the test."""
    with FeedServer() as server:
        yield server
