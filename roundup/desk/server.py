"""The desk on a socket: the standard library's threading HTTP server, and ``serve``.

``create_server`` returns a :class:`DeskServer` bound to its port; tests serve it from a
background thread with ``with server:``, ``serve`` runs it in the foreground until Ctrl+C.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from roundup.config import Config
from roundup.desk.app import Clock, Desk, create_app
from roundup.desk.web import Request, Response
from roundup.errors import RoundupError
from roundup.pipeline import ensure_draft, resolve_window

MAX_BODY = 1_000_000  # bytes: more than any intro and notes; a larger body is refused

_COMMON_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


class DeskServer(ThreadingHTTPServer):
    """The desk on a socket. ``with server:`` serves it from a background thread."""

    daemon_threads = True  # a browser's idle connection must not keep the process alive

    def __init__(self, desk: Desk, host: str, port: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.desk = desk
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

    def do_GET(self) -> None:
        self._answer(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(Response(413, b"request body too large", "text/plain"))
            return
        self._answer(self.rfile.read(length))

    def _answer(self, body: bytes) -> None:
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        self._send(self.server.desk.handle(request))

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
) -> DeskServer:
    """The desk listening on ``host``:``port`` (0: a free port), not yet serving."""
    desk = create_app(
        config,
        week=week,
        clock=clock,
        secret=secret,
        host=host,
        approver=approver,
        transport=transport,
    )
    try:
        return DeskServer(desk, host, port)
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
    announce: Callable[[str], None] = print,
) -> None:
    """Run the desk for ``week`` until Ctrl+C, creating the week's draft if it has none."""
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
