"""``roundup serve``: the unsubscribe endpoint on a socket, for the website's reverse proxy.

The standard library's threading HTTP server runs :class:`~roundup.unsubscribe.Unsubscribes`.
It listens on loopback by default (the proxy forwards ``/unsubscribe/`` to it). A POST is
vetted before a byte of its body is read: the Host (:meth:`Unsubscribes.vet`), then its
framing (:func:`~roundup.desk.web.body_length`, at most
:data:`~roundup.unsubscribe.MAX_BODY` bytes). A client that goes silent for
``read_timeout`` seconds is dropped, so a slow client cannot hold a thread for ever.

Usage (tests serve from a background thread)::

    with create_server(config, secret=secret, clock=now, port=0) as server:
        httpx.post(server.url + "unsubscribe/" + token, data={"List-Unsubscribe": "One-Click"})
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from roundup.config import Config
from roundup.desk.web import Refused, Request, Response, body_length
from roundup.errors import ConfigError, RoundupError
from roundup.unsubscribe import MAX_BODY, PATH_PREFIX, Page, Unsubscribes

DEFAULT_PORT = 8766
# seconds a client may go silent mid-request: a mail provider's POST takes milliseconds
READ_TIMEOUT = 10.0


class UnsubscribeServer(ThreadingHTTPServer):
    """The unsubscribe app on a socket. ``with server:`` serves it from a background thread."""

    daemon_threads = True  # an idle keep-alive connection must not keep the process alive

    def __init__(
        self, app: Unsubscribes, host: str, port: int, *, read_timeout: float = READ_TIMEOUT
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.app = app
        self.read_timeout = read_timeout
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's own address, ending in "/"."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def __enter__(self) -> UnsubscribeServer:
        # shutdown() waits up to one poll interval: keep it short so tests stop quickly
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()


class _Handler(BaseHTTPRequestHandler):
    server: UnsubscribeServer
    server_version = "roundup-serve"
    sys_version = ""  # the Server header need not name the Python version
    protocol_version = "HTTP/1.1"  # keep-alive for proxies; every answer has a length

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)  # every read and write

    def do_GET(self) -> None:
        self._send(self.server.app.handle(self._request()))

    def do_HEAD(self) -> None:
        """What GET answers, without the page: some link checkers ask this first."""
        self._send(self.server.app.handle(self._request()), body=False)

    def do_POST(self) -> None:
        head = self._request()
        try:
            refused = self.server.app.vet(head)
            if refused is not None:
                raise refused
            length = body_length(
                self.headers.get_all("Content-Length") or [],
                transfer_encoding=self.headers.get("Transfer-Encoding"),
                limit=MAX_BODY,
            )
        except Refused as exc:
            self._refuse(exc)
            return
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self._refuse(Refused(408, "The request body stopped arriving."))
            return
        except OSError:  # the client hung up mid-body: nobody is left to answer
            self.close_connection = True
            return
        if len(body) < length:
            self.close_connection = True
            return
        self._send(self.server.app.handle(replace(head, body=body)))

    def _request(self) -> Request:
        return Request(
            method=self.command,
            path=urlsplit(self.path).path,
            headers={name.lower(): value for name, value in self.headers.items()},
        )

    def _refuse(self, refused: Refused) -> None:
        """Answer and close: the unread body must not pass for the next request."""
        self.close_connection = True
        answer = self.server.app.page(refused.status, Page("Not possible", (refused.message,)))
        self._send(replace(answer, headers=(*answer.headers, ("Connection", "close"))))

    def _send(self, response: Response, *, body: bool = True) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            if body:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client went away: nobody left to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no line per request: the addresses of readers stay out of the logs


def create_server(
    config: Config,
    *,
    secret: str,
    clock: Callable[[], datetime],
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    read_timeout: float = READ_TIMEOUT,
) -> UnsubscribeServer:
    """The unsubscribe service listening on ``host``:``port`` (0: a free port), not serving.

    Raises :class:`ConfigError` without ``smtp.subscribers`` or a secret, and
    :class:`RoundupError` when the port cannot be had.
    """
    if not secret:
        raise ConfigError("no signing secret: set $ROUNDUP_SECRET to the one the sends use")
    app = Unsubscribes(config, secret=secret, clock=clock)
    app.warm_up()  # raises without direct sends, or with a subscribers CSV it cannot read
    try:
        return UnsubscribeServer(app, host, port, read_timeout=read_timeout)
    except OSError as exc:
        raise RoundupError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another with --port"
        ) from None


def serve(
    config: Config,
    *,
    secret: str,
    secret_source: str,
    clock: Callable[[], datetime],
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    announce: Callable[[str], None] = print,
) -> None:
    """Answer unsubscribes until Ctrl+C or SIGTERM ends the process."""
    server = create_server(config, secret=secret, clock=clock, host=host, port=port)
    try:
        for line in startup_lines(config, server, secret_source):
            announce(line)
        with suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        server.server_close()


def startup_lines(config: Config, server: UnsubscribeServer, secret_source: str) -> list[str]:
    """What ``roundup serve`` says when it starts: where, for which URL, with which secret."""
    public = config.newsletter.unsubscribe_url
    prefixes = server.app.prefixes
    lines = [f"Answering unsubscribes at {server.url}{prefixes[-1].lstrip('/')}{{token}}"]
    if not public:
        lines.append(
            "Warning: newsletter.unsubscribe_url is not set, so no issue links here; set it"
            f" to https://YOUR-SITE{PATH_PREFIX}{{token}} and proxy {PATH_PREFIX} to this port."
        )
    elif len(prefixes) == 1 and PATH_PREFIX + "{token}" not in public:
        lines.append(
            f"Proxy {public} here, its path rewritten to {PATH_PREFIX}{{token}} (only a path"
            " that ends in {token} is answered as it is)."
        )
    else:
        base = public.split("{token}")[0]
        lines.append(f"Proxy {base} here, the path unchanged.")
    lines.append(f"Tokens are checked with the secret from {secret_source}.")
    lines.append("Press Ctrl+C to stop.")
    return lines
