"""The desk on a socket: the standard library's threading HTTP server, and ``serve``.

``create_server`` returns a :class:`DeskServer` bound to its port; tests serve it from a
background thread with ``with server:``, ``serve`` runs it in the foreground until Ctrl+C.

A POST is vetted before a byte of its body is read: first the access policy (Host, access
token, CSRF token, Origin: :meth:`Desk.vet`), then its framing
(:func:`~roundup.desk.web.body_length`). A refused request gets its status and a one-line
message and the connection is closed, its body unread. A client that stops sending for
``read_timeout`` seconds is dropped, with 408 when it stalls inside a body.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from roundup.config import Config
from roundup.desk.app import Clock, Desk, create_app
from roundup.desk.web import Refused, Request, Response, body_length, failure
from roundup.errors import RoundupError
from roundup.pipeline import ensure_draft, resolve_window

# seconds a client may go silent while sending its request; the page's requests take
# milliseconds, and without a limit a client that never finishes holds a thread for ever
READ_TIMEOUT = 30.0

_COMMON_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    # nothing leaves for other sites; a plain form's POST still carries the desk's Origin
    # (under "no-referrer" browsers send "Origin: null", which the CSRF rules refuse)
    ("Referrer-Policy", "same-origin"),
)


class DeskServer(ThreadingHTTPServer):
    """The desk on a socket. ``with server:`` serves it from a background thread."""

    daemon_threads = True  # a browser's idle connection must not keep the process alive

    def __init__(
        self, desk: Desk, host: str, port: int, *, read_timeout: float = READ_TIMEOUT
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.desk = desk
        self.read_timeout = read_timeout
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where to open the desk; includes the access token when one is needed."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname()
        shown = f"[{host}]" if ":" in host else host
        token = f"?token={self.desk.access_token}" if self.desk.access_token else ""
        return f"http://{shown}:{port}/{token}"

    def start(self) -> None:
        """Serve from a background thread (tests); :func:`serve` runs in the foreground."""
        # shutdown() waits up to one poll interval: keep it short so stop() is quick
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="desk", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the thread."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> DeskServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server: DeskServer
    server_version = "roundup-desk"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)  # for every read and write

    def do_GET(self) -> None:
        self._send(self.server.desk.handle(self._request(b"")))

    def do_POST(self) -> None:
        head = self._request(b"")
        try:
            refused = self.server.desk.vet(head)  # who is asking, before anything else
            if refused is not None:
                raise refused
            length = body_length(
                self.headers.get_all("Content-Length") or [],
                transfer_encoding=self.headers.get("Transfer-Encoding"),
            )
        except Refused as exc:
            self._refuse(head, exc)
            return
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            wait = f"{self.server.read_timeout:g}"
            self._refuse(head, Refused(408, f"The request body stopped arriving for {wait} s."))
            return
        except OSError:  # the client hung up mid-body: nobody is left to answer
            self.close_connection = True
            return
        if len(body) < length:  # the same, seen as an early end of the stream
            self.close_connection = True
            return
        self._send(self.server.desk.handle(replace(head, body=body)))

    def _request(self, body: bytes) -> Request:
        parts = urlsplit(self.path)
        return Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )

    def _refuse(self, request: Request, refused: Refused) -> None:
        """Answer with the refusal and close: the unread body must not pass for a request."""
        self.close_connection = True
        answer = failure(request, refused.status, refused.message)
        self._send(replace(answer, headers=(*answer.headers, ("Connection", "close"))))

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in (*_COMMON_HEADERS, *response.headers):
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away (a preview frame reloaded): nobody left to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows the URL; a line per request would bury it


def create_server(
    config: Config,
    *,
    week: str,
    clock: Clock,
    secret: str,
    host: str = "127.0.0.1",
    port: int = 0,
    approver: str = "",
    transport: httpx.BaseTransport | None = None,
    allow_private_pages: bool = False,
    read_timeout: float = READ_TIMEOUT,
    link_transport: httpx.AsyncBaseTransport | None = None,
) -> DeskServer:
    """The desk listening on ``host``:``port`` (0: a free port), not yet serving.

    ``allow_private_pages`` lets add-by-URL read pages on loopback and private addresses
    (local testing); ``read_timeout`` is how long a client may go silent mid-request;
    ``link_transport`` replaces the network when the desk checks the issue's links.
    """
    desk = create_app(
        config,
        week=week,
        clock=clock,
        secret=secret,
        host=host,
        approver=approver,
        transport=transport,
        allow_private_pages=allow_private_pages,
        link_transport=link_transport,
    )
    try:
        return DeskServer(desk, host, port, read_timeout=read_timeout)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RoundupError(
            f"cannot listen on {host}:{port} ({reason}); choose another port with --port"
        ) from None


def serve(
    config: Config,
    *,
    week: str,
    clock: Clock,
    secret: str,
    host: str = "127.0.0.1",
    port: int = 0,
    approver: str = "",
    open_browser: bool = False,
    allow_private_pages: bool = False,
    announce: Callable[[str], None] = print,
) -> None:
    """Run the desk for ``week`` until Ctrl+C, creating the week's draft if it has none.

    ``allow_private_pages`` lets add-by-URL read pages on loopback and private addresses.
    """
    window = resolve_window(config, week, now=clock())
    ensure_draft(config, window)
    server = create_server(
        config,
        week=window.week,
        clock=clock,
        secret=secret,
        host=host,
        port=port,
        approver=approver,
        allow_private_pages=allow_private_pages,
    )
    try:
        announce(f"The editor's desk for {window.week} is at {server.url}")
        announce("Press Ctrl+C to stop it.")
        threading.Thread(target=_warm_up, args=(server.desk,), daemon=True).start()
        if open_browser:
            import webbrowser

            webbrowser.open(server.url)
        with suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        server.server_close()


def _warm_up(desk: Desk) -> None:
    """Render the page once while the browser starts, so the editor's first view is quick."""
    with suppress(Exception):  # any fault shows, with its message, when the page is loaded
        desk.views.page(desk.snapshot(), approver=desk.approver)
