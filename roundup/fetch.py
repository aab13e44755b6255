"""The fetch stage: download every feed concurrently and politely, and never raise for one.

``fetch_all`` takes one :class:`FetchRequest` per feed and returns one :class:`FetchResult`
per feed, in the same order. Each result says what happened:

* ``fetched``       a new body, with its sha256, ETag and Last-Modified for next time
* ``not_modified``  the server answered 304 to our conditional GET
* ``unchanged``     a 200 whose body hashes the same as the last parsed one
* ``gone``          HTTP 410: the publisher removed the feed
* ``failed``        anything else, with a one-line human reason in ``error``

Redirects are followed here rather than by httpx, so that a chain made only of permanent
hops (301, 308) can be reported as ``moved_to``. Connection errors, timeouts, 429 and 5xx
are retried with exponential backoff through the injected ``sleep``; nothing here reads a
clock, so tests drive retries instantly.

Usage::

    results = fetch_many([FetchRequest(key=url, url=url)], FetchSettings())
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin

import httpx

from roundup.config import FetchSettings

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer is treated as down for this run
BACKOFF_FIRST = 0.5  # seconds before the first retry; doubles on each further one
BACKOFF_MAX = 60.0  # so retries=10 never sleeps for minutes
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
GONE = "HTTP 410 Gone: the feed was removed; delete it from feeds.yaml"

FetchStatus = Literal["fetched", "not_modified", "unchanged", "gone", "failed"]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One feed to fetch, with what the store remembers from the last successful fetch."""

    key: str  # the feed's key: its URL as configured, or a local file's absolute path
    url: str  # what to fetch now: an http(s) URL, or an absolute local path
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # sha256 hex of the last body that was parsed


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of fetching one feed; ``body`` is set only when ``status == "fetched"``."""

    key: str
    url: str  # the URL requested
    status: FetchStatus
    body: bytes | None = None
    body_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    http_status: int | None = None
    moved_to: str | None = None  # the final URL, when every redirect hop was permanent
    error: str | None = None  # human reason for "failed" and "gone"
    attempts: int = 1


class _Retryable(Exception):
    """One attempt failed in a way that a later attempt may not (network, 429, 5xx)."""

    def __init__(
        self, reason: str, *, http_status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.retry_after = retry_after


@dataclass(slots=True)
class _Run:
    """What every feed's task shares: the clients, the settings and the concurrency limits.

    One client per host: httpx's pool examines every open connection on each request, so
    a single pool of hundreds of connections spends more time searching than fetching.
    """

    settings: FetchSettings
    sleep: Sleep
    slots: asyncio.Semaphore  # all feeds together
    transport: httpx.AsyncBaseTransport | None
    clients: contextlib.AsyncExitStack
    ssl_context: ssl.SSLContext | None = None  # loaded once, shared by every client
    hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    pools: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def host_slots(self, url: str) -> asyncio.Semaphore:
        return self.hosts.setdefault(_host(url), asyncio.Semaphore(self.settings.per_host))

    def client(self, url: str) -> httpx.AsyncClient:
        host = _host(url)
        if host not in self.pools:
            if self.ssl_context is None and self.transport is None:
                self.ssl_context = httpx.create_ssl_context()
            client = _client(self.settings, self.transport, self.ssl_context)
            # registered without awaiting, so two feeds of one host never make two clients
            self.clients.push_async_callback(client.aclose)
            self.pools[host] = client
        return self.pools[host]


def _host(url: str) -> str:
    """The URL's host, lower-cased; raises httpx.InvalidURL for a URL that cannot be requested."""
    host = httpx.URL(url).host  # httpx's own parse, so that it rejects what httpx would
    if not host:
        raise httpx.InvalidURL("no host")
    return host


async def fetch_all(
    requests: Sequence[FetchRequest],
    settings: FetchSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """Fetch every request concurrently; return the results in the order of ``requests``.

    At most ``settings.concurrency`` requests are in flight, and ``settings.per_host`` to any
    one host. ``on_result`` is called as each feed finishes (for a progress display); an
    exception it raises cancels the run and propagates. A bad feed never raises.
    """
    async with contextlib.AsyncExitStack() as clients:
        run = _Run(settings, sleep, asyncio.Semaphore(settings.concurrency), transport, clients)

        async def one(request: FetchRequest) -> FetchResult:
            result = await _fetch_one(run, request)
            if on_result is not None:
                on_result(result)
            return result

        try:
            # a TaskGroup, unlike gather, cancels the other feeds if on_result raises, so
            # none outlives the clients
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(request)) for request in requests]
        except ExceptionGroup as errors:
            raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


def fetch_many(
    requests: Sequence[FetchRequest],
    settings: FetchSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """Synchronous :func:`fetch_all`, for callers without an event loop."""
    return asyncio.run(
        fetch_all(requests, settings, transport=transport, sleep=sleep, on_result=on_result)
    )


def _client(
    settings: FetchSettings,
    transport: httpx.AsyncBaseTransport | None,
    ssl_context: ssl.SSLContext | None,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport,
        verify=ssl_context if ssl_context is not None else True,
        http2=False,
        timeout=httpx.Timeout(settings.timeout),
        # our semaphores already bound concurrency; a smaller pool would only add waits
        limits=httpx.Limits(max_connections=settings.per_host),
        headers={
            "User-Agent": settings.user_agent,
            "Accept": ACCEPT,
            # only what httpx itself decodes, whatever optional decoders are installed
            "Accept-Encoding": "gzip, deflate",
        },
        follow_redirects=False,  # we follow them, to tell permanent hops from temporary ones
    )


async def _fetch_one(run: _Run, request: FetchRequest) -> FetchResult:
    """Fetch one feed; every failure becomes a "failed" result, never an exception."""
    try:
        if _is_local(request.url):
            async with run.slots:
                return await asyncio.to_thread(_read_local, request, run.settings.max_bytes)
        return await _fetch_http(run, request)
    except httpx.InvalidURL as exc:
        return _failed(request, f"invalid URL: {exc}")
    except Exception as exc:  # one bad feed must never abort the others
        return _failed(request, f"unexpected error: {type(exc).__name__}: {exc}")


def _is_local(url: str) -> bool:
    return not url.lower().startswith(("http://", "https://"))


async def _fetch_http(run: _Run, request: FetchRequest) -> FetchResult:
    """Try up to ``retries + 1`` times, sleeping between attempts as the server or backoff says."""
    attempt = 0
    while True:
        attempt += 1
        try:
            result = await _attempt(run, request)
        except _Retryable as exc:
            wait = exc.retry_after if exc.retry_after is not None else _backoff(attempt)
            if exc.retry_after is not None and wait > MAX_RETRY_AFTER:
                reason = f"server asked to retry after {wait:g} s ({exc.reason})"
                return _failed(request, reason, exc.http_status, attempt)
            if attempt > run.settings.retries:
                reason = (
                    exc.reason
                    if attempt == 1
                    else f"{exc.reason}; gave up after {attempt} attempts"
                )
                return _failed(request, reason, exc.http_status, attempt)
            await run.sleep(wait)
        else:
            return replace(result, attempts=attempt)


def _backoff(attempt: int) -> float:
    return min(BACKOFF_FIRST * 2.0 ** (attempt - 1), BACKOFF_MAX)


async def _attempt(run: _Run, request: FetchRequest) -> FetchResult:
    """One attempt: GET the URL and follow up to ``MAX_REDIRECTS`` redirects by hand."""
    url = request.url
    permanent = True
    for _ in range(MAX_REDIRECTS + 1):
        # the host's slot first: a task waiting for a busy host must not hold a global slot
        async with run.host_slots(url), run.slots:
            step = await _exchange(run, request, url)
        if isinstance(step, FetchResult):
            return replace(step, moved_to=_moved_to(step, request.url, url, permanent))
        status, url = step
        permanent = permanent and status in PERMANENT
    return _failed(request, f"too many redirects (more than {MAX_REDIRECTS})")


def _moved_to(result: FetchResult, first: str, final: str, permanent: bool) -> str | None:
    # only a working new URL is worth writing over the stored one
    worked = result.status in ("fetched", "not_modified", "unchanged")
    return final if permanent and worked and final != first else None


async def _exchange(run: _Run, request: FetchRequest, url: str) -> FetchResult | tuple[int, str]:
    """One HTTP request and response: a result, or a redirect as ``(status, next URL)``."""
    try:
        client = run.client(url)
        async with client.stream("GET", url, headers=_conditional(request)) as response:
            return await _handle(run, request, response)
    except httpx.TimeoutException:
        raise _Retryable(f"timed out after {run.settings.timeout:g} s") from None
    except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
        raise _Retryable(f"connection failed: {_describe(exc)}") from None
    except httpx.DecodingError as exc:
        return _failed(request, f"cannot decode the response body: {_describe(exc)}")
    except httpx.HTTPError as exc:  # e.g. an unsupported scheme in a redirect
        return _failed(request, _describe(exc))


def _conditional(request: FetchRequest) -> dict[str, str]:
    headers: dict[str, str] = {}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    return headers


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


async def _handle(
    run: _Run, request: FetchRequest, response: httpx.Response
) -> FetchResult | tuple[int, str]:
    """Turn one response's status into a result, a redirect, or a retryable failure."""
    status = response.status_code
    if status in REDIRECTS:
        location = response.headers.get("Location")
        if not location:
            return _failed(request, f"{_http(response)} without a Location header", status)
        return status, urljoin(str(response.url), location)
    if status == 304:
        return _not_modified(request, response)
    if 200 <= status < 300:
        return await _read_body(run, request, response)
    if status == 410:
        return FetchResult(request.key, request.url, "gone", http_status=status, error=GONE)
    if status == 429 or status >= 500:
        wait = _retry_after(response.headers) if status in RETRY_AFTER_STATUSES else None
        raise _Retryable(_http(response), http_status=status, retry_after=wait)
    return _failed(request, _http(response), status)


def _http(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def _not_modified(request: FetchRequest, response: httpx.Response) -> FetchResult:
    # a 304 may omit the validators; keep the stored ones so the next GET is conditional too
    return FetchResult(
        request.key,
        request.url,
        "not_modified",
        body_hash=request.body_hash,
        etag=response.headers.get("ETag") or request.etag,
        last_modified=response.headers.get("Last-Modified") or request.last_modified,
        http_status=304,
    )


async def _read_body(run: _Run, request: FetchRequest, response: httpx.Response) -> FetchResult:
    """Stream the body, giving up as soon as it is known to exceed ``max_bytes``."""
    limit = run.settings.max_bytes
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_big(request, limit, response.status_code)
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():  # decoded bytes: a gzip bomb is caught too
        total += len(chunk)
        if total > limit:
            return _too_big(request, limit, response.status_code)
        chunks.append(chunk)
    result = _body_result(request, b"".join(chunks))
    return replace(
        result,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        content_type=response.headers.get("Content-Type"),
        http_status=response.status_code,
    )


def _body_result(request: FetchRequest, body: bytes) -> FetchResult:
    """ "fetched" with the body, or "unchanged" when it hashes as the last parsed body."""
    digest = hashlib.sha256(body).hexdigest()
    if digest == request.body_hash:
        return FetchResult(request.key, request.url, "unchanged", body_hash=digest)
    return FetchResult(request.key, request.url, "fetched", body=body, body_hash=digest)


def _too_big(request: FetchRequest, limit: int, http_status: int | None = None) -> FetchResult:
    reason = f"body larger than {limit} bytes (raise fetch.max_bytes to accept it)"
    return _failed(request, reason, http_status)


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked us to wait, or None when it said nothing usable.

    An HTTP-date is measured against the response's own ``Date`` header rather than our
    clock: the stage reads no clock, and a skewed local clock cannot stretch the wait.
    """
    value = headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    when, now = _http_date(value), _http_date(headers.get("Date", ""))
    if when is None or now is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _http_date(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _read_local(request: FetchRequest, limit: int) -> FetchResult:
    """Read a local feed file, refusing one larger than ``limit`` without reading it all."""
    path = Path(request.url)
    try:
        with path.open("rb") as handle:
            body = handle.read(limit + 1)
    except FileNotFoundError:
        return _failed(request, f"no such file: {path}")
    except OSError as exc:
        return _failed(request, f"cannot read {path}: {exc.strerror or exc}")
    if len(body) > limit:
        return _too_big(request, limit)
    return _body_result(request, body)


def _failed(
    request: FetchRequest, reason: str, http_status: int | None = None, attempts: int = 1
) -> FetchResult:
    return FetchResult(
        request.key,
        request.url,
        "failed",
        http_status=http_status,
        error=reason,
        attempts=attempts,
    )
