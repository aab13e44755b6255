"""Drive Debian's Chromium through Playwright, for tests that look at rendered pages.

Never runs ``playwright install``: the browser is the system's ``/usr/bin/chromium``. Tests
call :func:`require_chromium` first: it skips when Chromium is missing, except in CI
(``CI=true``), where a missing browser is a failure. Every page opened with
:func:`open_page` may reach only the loopback interface; other requests are answered by a
``fulfill`` callback (e.g. placeholder images) or aborted, and reported as blocked.
"""

from __future__ import annotations

import functools
import http.server
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# (url) -> (content type, body) to answer a non-loopback request, or None to abort it
Fulfill = Callable[[str], tuple[str, bytes] | None]


def require_chromium() -> None:
    """Skip the calling test when Chromium or Playwright is missing; fail instead in CI."""
    problem = ""
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed"
    if problem and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests must run in CI: {problem}")
    if problem:
        pytest.skip(problem)


@dataclass
class PageReport:
    """What went wrong while a page loaded."""

    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # loopback requests that failed or 4xx/5xx
    blocked: list[str] = field(default_factory=list)  # non-loopback requests we refused
    fulfilled: list[str] = field(default_factory=list)  # non-loopback requests we answered
    requests: list[str] = field(default_factory=list)  # every URL the page asked for


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium ``Browser``; closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(
    browser: object,
    url: str,
    *,
    width: int = 1024,
    height: int = 800,
    fulfill: Fulfill | None = None,
    color_scheme: str = "light",
) -> Iterator[tuple[object, PageReport]]:
    """Open ``url`` in a fresh context at ``width``; yield the page and its report."""
    report = PageReport()
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": height},
        color_scheme=color_scheme,
        java_script_enabled=True,
    )
    page = context.new_page()
    page.on("request", lambda request: report.requests.append(request.url))
    page.on("console", lambda message: _console(report, message))
    page.on("pageerror", lambda error: report.console_errors.append(str(error)))
    page.on("requestfailed", lambda request: _failed(report, request.url, request.failure))
    page.on("response", lambda response: _status(report, response.url, response.status))
    page.route("**/*", functools.partial(_route, report, fulfill))
    try:
        page.goto(url, wait_until="load")
        # lazy images are requested after "load": wait until the network settles
        page.wait_for_load_state("networkidle")
        yield page, report
    finally:
        context.close()


def _is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "file" or (parts.hostname or "") in LOOPBACK


def _route(report: PageReport, fulfill: Fulfill | None, route: object, request: object) -> None:
    url: str = request.url  # type: ignore[attr-defined]
    if _is_loopback(url) or url.startswith(("data:", "about:")):
        route.continue_()  # type: ignore[attr-defined]
        return
    answer = fulfill(url) if fulfill else None
    if answer is None:
        report.blocked.append(url)
        route.abort("blockedbyclient")  # type: ignore[attr-defined]
        return
    report.fulfilled.append(url)
    content_type, body = answer
    route.fulfill(status=200, content_type=content_type, body=body)  # type: ignore[attr-defined]


def _console(report: PageReport, message: object) -> None:
    if message.type == "error":  # type: ignore[attr-defined]
        text: str = message.text  # type: ignore[attr-defined]
        # a request we blocked on purpose logs an error too; it is reported as blocked
        if "ERR_BLOCKED_BY_CLIENT" not in text:
            report.console_errors.append(text)


def _failed(report: PageReport, url: str, failure: object) -> None:
    if _is_loopback(url):
        report.failed.append(f"{url}: {failure}")


def _status(report: PageReport, url: str, status: int) -> None:
    if _is_loopback(url) and status >= 400:
        report.failed.append(f"{url}: HTTP {status}")


def broken_images(page: object) -> list[str]:
    """The ``src`` of every image on ``page`` that did not load."""
    result: list[str] = page.evaluate(  # type: ignore[attr-defined]
        "() => Array.from(document.images)"
        ".filter(img => !img.complete || img.naturalWidth === 0).map(img => img.src)"
    )
    return result


def screenshot(page: object, name: str) -> Path:
    """Save a full-page PNG as ``tests/artifacts/<name>`` for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yields the base URL (ending in "/")."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def placeholder_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small PNG with a soft vertical gradient of ``rgb``: a stand-in for feed images."""
    rows = []
    for y in range(height):
        shade = 0.75 + 0.25 * y / max(height - 1, 1)
        pixel = bytes(min(255, int(channel * shade)) for channel in rgb)
        rows.append(b"\x00" + pixel * width)
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
