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
are retried with exponential backoff through the injected ``sleep``, so tests drive retries
instantly.

Time is bounded twice, because ``timeout`` only bounds each read and a server that drips a
byte per read would hold the run (and its lock) for ever: each feed has ``deadline``
seconds from the moment it first holds its slots, retries and waits included, and the
whole fetch has ``budget`` seconds. A feed that runs out of either is a failed feed like
any other. The only clock read is the event loop's monotonic one, for those two limits.

Usage::

    results = fetch_many([FetchRequest(key=url, url=url)], FetchSettings())
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import os
import stat
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urljoin

from roundup.config import FetchSettings
from roundup.transport import (
    Answer,
    Http11Transport,
    InvalidURL,
    Target,
    TimedOut,
    Transport,
    TransportError,
    parse_target,
)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
MAX_REDIRECTS = 5
BACKOFF_FIRST = 0.5  # seconds before the first retry; doubles on each further one
BACKOFF_MAX = 60.0  # so retries=10 never sleeps for minutes
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
DRAIN_MAX = 64 * 1024  # bytes of an unneeded body read to keep its connection open
GONE = "HTTP 410 Gone: the feed was removed; delete it from feeds.yaml"

FetchStatus = Literal["fetched", "not_modified", "unchanged", "gone", "failed"]
Sleep = Callable[[float], Awaitable[None]]
OnResult = Callable[["FetchResult"], Awaitable[None] | None]


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
    """What every feed's task shares: the transport, the settings and the limits.

    The transport is :class:`roundup.transport.Http11Transport` unless one is injected.

    ``unparsed`` bounds the bodies downloaded (or downloading) that the caller's
    ``on_result`` has not yet taken: when the caller is slower than the network, downloads
    wait instead of piling bodies up in memory.
    """

    settings: FetchSettings
    sleep: Sleep
    slots: asyncio.Semaphore  # all feeds together
    unparsed: asyncio.Semaphore  # bodies not yet handed to on_result
    transport: Transport
    budget_end: float  # the event loop's time at which the whole fetch must be over
    headers: list[tuple[str, str]]  # sent with every request
    hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    def host_slots(self, url: Target) -> asyncio.Semaphore:
        return self.hosts.setdefault(url.host, asyncio.Semaphore(self.settings.per_host))


@dataclass(slots=True)
class _Limits:
    """One feed's two time limits: its own deadline and the run's budget.

    Both cancel whatever the feed is doing when they expire: a read, a retry wait, or a
    wait for a slot. The deadline starts when the feed first holds its slots, not when it
    is queued, so a feed waiting behind the others of its host has spent none of its time.
    """

    settings: FetchSettings
    budget: asyncio.Timeout
    deadline: asyncio.Timeout

    def start(self) -> None:
        """Start the deadline once; later slots (retries, redirects) count against it."""
        if self.deadline.when() is None:
            self.deadline.reschedule(_now() + self.settings.deadline)

    def left(self) -> float:
        """Seconds until the first of the two limits expires."""
        return self._first_end() - _now()

    def first(self) -> str:
        """The limit that expires first, named as the error messages and feeds.yaml do."""
        if self.budget.when() == self._first_end():
            return _budget_name(self.settings)
        return _deadline_name(self.settings)

    def expired_reason(self) -> str | None:
        """Why the feed was stopped, or None when neither limit has expired."""
        if self.deadline.expired():
            return f"no complete answer within {_deadline_name(self.settings)}"
        if not self.budget.expired():
            return None
        if self.deadline.when() is None:  # still queued for a slot
            return f"not fetched: {_budget_name(self.settings)} ran out before it had a turn"
        return f"no complete answer before {_budget_name(self.settings)} ran out"

    def _first_end(self) -> float:
        ends = [end for end in (self.budget.when(), self.deadline.when()) if end is not None]
        return min(ends)


def _now() -> float:
    return asyncio.get_running_loop().time()


def _deadline_name(settings: FetchSettings) -> str:
    return f"the {settings.deadline:g} s deadline (fetch.deadline)"


def _budget_name(settings: FetchSettings) -> str:
    return f"the {settings.budget:g} s fetch budget (fetch.budget)"


async def fetch_all(
    requests: Sequence[FetchRequest],
    settings: FetchSettings,
    *,
    transport: Transport | None = None,
    sleep: Sleep = asyncio.sleep,
    on_result: OnResult | None = None,
) -> list[FetchResult]:
    """Fetch every request concurrently; return the results in the order of ``requests``.

    At most ``settings.concurrency`` requests are in flight, and ``settings.per_host`` to any
    one host. Each feed ends within ``settings.deadline`` seconds of getting its turn, and
    every feed within ``settings.budget`` seconds of the call. A bad feed never raises.

    ``on_result`` is called as each feed finishes, and awaited when it returns an
    awaitable; an exception it raises cancels the run and propagates. It takes each body
    over: the returned results then carry none, so that a large run does not hold every
    body until its end, and while ``settings.concurrency`` bodies wait on it no new
    download starts.
    """
    async with contextlib.AsyncExitStack() as closing:
        if transport is None:
            transport = await closing.enter_async_context(Http11Transport())
        run = _Run(
            settings,
            sleep,
            slots=asyncio.Semaphore(settings.concurrency),
            unparsed=asyncio.Semaphore(settings.concurrency),
            transport=transport,
            budget_end=_now() + settings.budget,
            headers=[
                ("User-Agent", settings.user_agent),
                ("Accept", ACCEPT),
                # what _read_body decodes
                ("Accept-Encoding", "gzip, deflate"),
            ],
        )

        async def one(request: FetchRequest) -> FetchResult:
            body = _Body(run.unparsed)
            try:
                result = await _fetch_one(run, request, body)
                if on_result is None:
                    return result
                handed = on_result(result)
                if inspect.isawaitable(handed):
                    await handed
            finally:
                body.release()
            return result if result.body is None else replace(result, body=None)

        try:
            # a TaskGroup, unlike gather, cancels the other feeds if on_result raises, so
            # none outlives the transports
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(request)) for request in requests]
        except ExceptionGroup as errors:
            raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


def fetch_many(
    requests: Sequence[FetchRequest],
    settings: FetchSettings,
    *,
    transport: Transport | None = None,
    sleep: Sleep = asyncio.sleep,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """Synchronous :func:`fetch_all`, for callers without an event loop."""
    return asyncio.run(
        fetch_all(requests, settings, transport=transport, sleep=sleep, on_result=on_result)
    )


@dataclass(slots=True)
class _Body:
    """A feed's token in ``_Run.unparsed``: taken before its download, given back when the
    download ends without a body, or once the body has been handed over."""

    semaphore: asyncio.Semaphore
    held: bool = False

    async def acquire(self) -> None:
        if not self.held:
            await self.semaphore.acquire()
            self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.semaphore.release()


async def _fetch_one(run: _Run, request: FetchRequest, body: _Body) -> FetchResult:
    """Fetch one feed within its limits; every failure is a "failed" result, never raised."""
    limits = _Limits(run.settings, asyncio.timeout_at(run.budget_end), asyncio.timeout(None))
    try:
        async with limits.budget, limits.deadline:
            return await _fetch_within(run, request, limits, body)
    except TimeoutError:
        body.release()
        reason = limits.expired_reason()
        if reason is None:  # not our limits: a bug, since _fetch_within returns every error
            raise
        return _failed(request, reason)


async def _fetch_within(
    run: _Run, request: FetchRequest, limits: _Limits, body: _Body
) -> FetchResult:
    """Fetch one feed; a bad feed's failure is returned, only its limits may interrupt it."""
    try:
        if _is_local(request.url):
            await body.acquire()
            async with run.slots:
                limits.start()
                return _kept(
                    await asyncio.to_thread(_read_local, request, run.settings.max_bytes), body
                )
        return await _fetch_http(run, request, limits, body)
    except InvalidURL as exc:
        return _failed(request, f"invalid URL: {exc}")
    except Exception as exc:  # one bad feed must never abort the others
        return _failed(request, f"unexpected error: {type(exc).__name__}: {exc}")


def _is_local(url: str) -> bool:
    return not url.lower().startswith(("http://", "https://"))


async def _fetch_http(
    run: _Run, request: FetchRequest, limits: _Limits, body: _Body
) -> FetchResult:
    """Try up to ``retries + 1`` times, sleeping between attempts as the server or backoff says.

    A wait that would outlast the feed's limits is not started: the feed fails at once
    with the reason, rather than sleeping only to be stopped by its deadline.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            result = await _attempt(run, request, limits, body)
        except _Retryable as exc:
            wait = exc.retry_after if exc.retry_after is not None else _backoff(attempt)
            if exc.retry_after is not None and wait >= limits.left():
                reason = (
                    f"{exc.reason}: the server asked to be retried in {wait:g} s, "
                    f"past the end of {limits.first()}"
                )
                return _failed(request, reason, exc.http_status, attempt)
            if attempt > run.settings.retries:
                return _failed(request, _gave_up(exc.reason, attempt), exc.http_status, attempt)
            if wait >= limits.left():
                reason = f"{_gave_up(exc.reason, attempt)}: no time left to retry within "
                return _failed(request, reason + limits.first(), exc.http_status, attempt)
            await run.sleep(wait)
        else:
            # replace() costs as much as a header parse: only when there is something to say
            return result if attempt == 1 else replace(result, attempts=attempt)


def _gave_up(reason: str, attempts: int) -> str:
    return reason if attempts == 1 else f"{reason}; gave up after {attempts} attempts"


def _backoff(attempt: int) -> float:
    return min(BACKOFF_FIRST * 2.0 ** (attempt - 1), BACKOFF_MAX)


def _kept(result: FetchResult, body: _Body) -> FetchResult:
    """Keep the feed's token only when it carries a body for the caller to take over."""
    if result.body is None:
        body.release()
    return result


async def _attempt(run: _Run, request: FetchRequest, limits: _Limits, body: _Body) -> FetchResult:
    """One attempt: GET the URL and follow up to ``MAX_REDIRECTS`` redirects by hand."""
    url = request.url
    permanent = True
    for hop in range(MAX_REDIRECTS + 1):
        try:
            target = parse_target(url)
        except InvalidURL as exc:
            if hop == 0:
                raise
            return _failed(request, f"redirected to {url}: {exc}")
        # the host's slot first: a task waiting for a busy host must not hold a global slot
        async with run.host_slots(target):
            await body.acquire()
            try:
                async with run.slots:
                    limits.start()
                    step = await _exchange(run, request, target)
            except BaseException:
                body.release()
                raise
        if not isinstance(step, FetchResult) or step.body is None:
            body.release()
        if isinstance(step, FetchResult):
            moved = _moved_to(step, request.url, url, permanent)
            return step if moved is None else replace(step, moved_to=moved)
        status, url = step
        permanent = permanent and status in PERMANENT
    return _failed(request, f"too many redirects (more than {MAX_REDIRECTS})")


def _moved_to(result: FetchResult, first: str, final: str, permanent: bool) -> str | None:
    # only a working new URL is worth writing over the stored one
    worked = result.status in ("fetched", "not_modified", "unchanged")
    return final if permanent and worked and final != first else None


async def _exchange(run: _Run, request: FetchRequest, url: Target) -> FetchResult | tuple[int, str]:
    """One HTTP request and response: a result, or a redirect as ``(status, next URL)``."""
    try:
        answer = await run.transport.get(
            url, run.headers + _conditional(request), run.settings.timeout
        )
        try:
            step = await _handle(run, request, answer, url)
            await _drain(answer)
            return step
        finally:
            answer.close()
    except TimedOut:
        raise _Retryable(f"timed out after {run.settings.timeout:g} s") from None
    except InvalidURL as exc:  # e.g. a header the URL's parts cannot be sent in
        return _failed(request, f"invalid URL: {exc}")
    except TransportError as exc:
        raise _Retryable(f"connection failed: {exc}") from None


async def _drain(answer: Answer) -> None:
    """Read the rest of a short body we did not need (a 304's, a redirect's, an error page).

    A connection is reused only once its answer has been read to the end; closed unread,
    it is closed, and the next feed of the host pays for a new one: with every feed
    answering 304, that was one TCP connection per feed. A body of unknown or large length
    is not worth waiting for; failing to read it loses nothing, the answer is in.
    """
    if answer.consumed:
        return
    length = answer.headers.get("content-length", "")
    bodiless = answer.status in (204, 304)  # no body, whatever the headers say
    if not (bodiless or (length.isdigit() and int(length) <= DRAIN_MAX)):
        return
    with contextlib.suppress(TransportError):
        async for _chunk in answer.chunks():
            pass


def _conditional(request: FetchRequest) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    if request.etag:
        headers.append(("If-None-Match", request.etag))
    if request.last_modified:
        headers.append(("If-Modified-Since", request.last_modified))
    return headers


async def _handle(
    run: _Run, request: FetchRequest, answer: Answer, url: Target
) -> FetchResult | tuple[int, str]:
    """Turn one answer's status into a result, a redirect, or a retryable failure."""
    status = answer.status
    if status in REDIRECTS:
        location = answer.headers.get("location")
        if not location:
            return _failed(request, f"{_http(answer)} without a Location header", status)
        return status, urljoin(str(url), location)
    if status == 304:
        return _not_modified(request, answer)
    if 200 <= status < 300:
        return await _read_body(run, request, answer)
    if status == 410:
        return FetchResult(request.key, request.url, "gone", http_status=status, error=GONE)
    if status == 429 or status >= 500:
        wait = _retry_after(answer.headers) if status in RETRY_AFTER_STATUSES else None
        raise _Retryable(_http(answer), http_status=status, retry_after=wait)
    return _failed(request, _http(answer), status)


def _http(answer: Answer) -> str:
    reason = answer.reason
    if not reason:
        from http import HTTPStatus  # only for a server (or a test) that sends no reason

        try:
            reason = HTTPStatus(answer.status).phrase
        except ValueError:
            reason = ""
    return f"HTTP {answer.status} {reason}".rstrip()


def _not_modified(request: FetchRequest, answer: Answer) -> FetchResult:
    # a 304 may omit the validators; keep the stored ones so the next GET is conditional too
    return FetchResult(
        request.key,
        request.url,
        "not_modified",
        body_hash=request.body_hash,
        etag=answer.headers.get("etag") or request.etag,
        last_modified=answer.headers.get("last-modified") or request.last_modified,
        http_status=304,
    )


async def _read_body(run: _Run, request: FetchRequest, answer: Answer) -> FetchResult:
    """Stream and decode the body, giving up as soon as it is known to exceed ``max_bytes``
    (decoded: a small gzip that inflates past the limit is refused too)."""
    limit = run.settings.max_bytes
    declared = answer.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_big(request, limit, answer.status)
    coding = answer.headers.get("content-encoding", "").strip().lower()
    decoder = _Decoder(coding, limit)
    if decoder.unsupported:
        reason = f"cannot decode the response body: unsupported Content-Encoding {coding!r}"
        return _failed(request, reason, answer.status)
    try:
        async for chunk in answer.chunks():
            if not decoder.feed(chunk):
                return _too_big(request, limit, answer.status)
        if not decoder.finish():
            return _too_big(request, limit, answer.status)
    except zlib.error as exc:
        return _failed(request, f"cannot decode the response body: {exc}", answer.status)
    headers = answer.headers
    return _body_result(
        request,
        b"".join(decoder.parts),
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        content_type=headers.get("content-type"),
        http_status=answer.status,
    )


class _Inflater(Protocol):
    """What zlib's decompression objects offer (their type has no public name)."""

    @property
    def unconsumed_tail(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes: ...

    def flush(self) -> bytes: ...


class _Decoder:
    """Undoes a Content-Encoding of gzip or deflate, never holding more than ``limit`` + 1
    decoded bytes: a body that inflates past the limit is stopped as soon as it does."""

    def __init__(self, coding: str, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.total = 0
        self.unsupported = coding not in ("", "identity", "gzip", "x-gzip", "deflate")
        self._coding = coding
        self._zlib: _Inflater | None = None
        if coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)  # RFC 9110: the zlib format
        self._started = False

    def feed(self, chunk: bytes) -> bool:
        """Take one chunk of the body; False once the decoded bytes pass the limit."""
        if self._zlib is None:
            return self._keep(chunk)
        if not self._started and self._coding == "deflate":
            self._started = True
            if chunk and (chunk[0] & 0x0F) != 8:  # no zlib header: a raw deflate stream
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        data = chunk
        while data:
            out = self._zlib.decompress(data, self.limit - self.total + 1)
            if not self._keep(out):
                return False
            data = self._zlib.unconsumed_tail
        return True

    def finish(self) -> bool:
        if self._zlib is None:
            return True
        return self._keep(self._zlib.flush())

    def _keep(self, data: bytes) -> bool:
        if data:
            self.total += len(data)
            if self.total > self.limit:
                return False
            self.parts.append(data)
        return True


def _body_result(
    request: FetchRequest,
    body: bytes,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    content_type: str | None = None,
    http_status: int | None = None,
) -> FetchResult:
    """ "fetched" with the body, or "unchanged" when it hashes as the last parsed body."""
    digest = hashlib.sha256(body).hexdigest()
    unchanged = digest == request.body_hash
    return FetchResult(
        request.key,
        request.url,
        "unchanged" if unchanged else "fetched",
        body=None if unchanged else body,
        body_hash=digest,
        etag=etag,
        last_modified=last_modified,
        content_type=content_type,
        http_status=http_status,
    )


def _too_big(request: FetchRequest, limit: int, http_status: int | None = None) -> FetchResult:
    reason = f"body larger than {limit} bytes (raise fetch.max_bytes to accept it)"
    return _failed(request, reason, http_status)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait, or None when it said nothing usable.

    An HTTP-date is measured against the response's own ``Date`` header rather than our
    clock: the stage reads no clock, and a skewed local clock cannot stretch the wait.
    """
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    when, now = _http_date(value), _http_date(headers.get("date", ""))
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
    """Read a local feed file, refusing one larger than ``limit`` without reading it all.

    Only a regular file is read: a FIFO or a device could block the run for ever, and no
    deadline can stop a thread stuck in a read.
    """
    path = Path(request.url)
    body = b""
    try:
        # O_NONBLOCK so that opening a FIFO does not wait for a writer; the type is checked
        # on the open descriptor, so the path cannot be swapped between check and read
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            kind = _not_regular(os.fstat(fd).st_mode)
            if kind is None:
                os.set_blocking(fd, True)
                with open(fd, "rb", closefd=False) as handle:
                    body = handle.read(limit + 1)
        finally:
            os.close(fd)
    except FileNotFoundError:
        return _failed(request, f"no such file: {path}")
    except OSError as exc:
        return _failed(request, f"cannot read {path}: {exc.strerror or exc}")
    if kind is not None:
        return _failed(request, f"not a regular file: {path} is {kind}")
    if len(body) > limit:
        return _too_big(request, limit)
    return _body_result(request, body)


def _not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is, for the error message; None for a file."""
    if stat.S_ISREG(mode):
        return None
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "a special file")


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
