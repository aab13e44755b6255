"""The fetch stage's HTTP client: HTTP/1.1 GETs on asyncio streams, parsed by h11.

Why not httpx here (the rest of roundup uses it): with every feed on one host answering
304, httpx's client over httpcore and anyio spent about 2 ms of CPU per request, and
importing that stack cost more than a tenth of a second on every hourly run; this module
spends about 0.3 ms per request on the standard library's event loop and h11's parser.
It does only what the fetch stage asks: a GET without a body, HTTP/1.1 without upgrades,
no cookies, no auth, no redirects (the stage follows those itself, to tell permanent hops
from temporary ones) and no content decoding (the stage decodes, to cap decoded bytes).

The seam is :class:`Transport`: anything with an async ``get`` returning an
:class:`Answer`. :class:`Http11Transport` is the one on the network; tests pass their own.

Connections are kept per origin (scheme, host, port) and reused once an answer has been
read to its end and neither side asked to close. The caller bounds how many requests are
in flight to a host (the stage's ``fetch.per_host``), so the pool adds no limit of its own.
A kept connection that the server closed in the meantime is found out on its first read:
the GET is then sent once more, on a new connection.

Proxies come from the environment (``http_proxy``, ``https_proxy``, ``all_proxy``,
``no_proxy``): a plain-http request goes to the proxy in absolute form, an https one
through a ``CONNECT`` tunnel.

Every failure is a :class:`TransportError` whose message is written for the person who
reads the fetch summary: :class:`InvalidURL`, :class:`ConnectFailed`, :class:`TimedOut`,
:class:`ConnectionLost`, :class:`NotHTTP`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import socket
import ssl
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import h11

READ_SIZE = 65_536  # bytes asked of the socket per read
CLOSE_WAIT = 1.0  # seconds for the last connections to close when the fetch ends
HAPPY_EYEBALLS_DELAY = 0.25  # seconds before the next address of a host is tried too
DEFAULT_PORTS = {"http": 80, "https": 443}
# what may stay as it is in a request target; anything else is percent-encoded
TARGET_SAFE = "/%!$&'()*+,;=:@-._~?"
HOST_NAME = re.compile(r"[a-z0-9._~!$&'()*+,;=%-]+|[0-9a-f:.]+", re.ASCII)

T = TypeVar("T")
Origin = tuple[str, str, int]  # scheme, host, port


class TransportError(Exception):
    """An exchange failed; the message says why, for people."""


class InvalidURL(TransportError):
    """The URL cannot be requested (no host, a bad port, not http or https)."""


class ConnectFailed(TransportError):
    """No connection: the name does not resolve, nothing listens, TLS or the proxy refused."""


class TimedOut(TransportError):
    """No progress within the timeout while connecting, sending or reading."""


class ConnectionLost(TransportError):
    """The connection broke while the request or the answer was under way."""


class NotHTTP(TransportError):
    """What came back is not an HTTP/1.1 answer, or it ended before it was complete."""


@dataclass(frozen=True, slots=True)
class Target:
    """A URL reduced to what a GET needs: ASCII throughout, percent-encoded."""

    scheme: str  # "http" or "https"
    host: str  # lower-case; an IDN in its xn-- form; an IPv6 address without brackets
    port: int
    path: str  # path and query, starting with "/"

    @property
    def origin(self) -> Origin:
        return (self.scheme, self.host, self.port)

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path}"


def parse_target(url: str) -> Target:
    """``url`` as a :class:`Target`; raises :class:`InvalidURL` saying what is wrong."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL("not an http or https URL")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidURL("no host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidURL(f"the host name {parts.hostname!r} is not a valid name") from None
    if not HOST_NAME.fullmatch(host):
        raise InvalidURL(f"the host name {host!r} has characters no host name has")
    path = urllib.parse.quote(parts.path or "/", safe=TARGET_SAFE)
    if parts.query:
        path += "?" + urllib.parse.quote(parts.query, safe=TARGET_SAFE)
    return Target(scheme, host, port or DEFAULT_PORTS[scheme], path)


class Answer:
    """A response: its status line and headers, and its body as it arrives (not decoded).

    ``headers`` has lower-case names; a header sent more than once is joined with ", ".
    Read the body with :meth:`chunks`, then :meth:`close` the answer in every case: an
    answer read to its end gives its connection back for the next request.
    """

    def __init__(
        self,
        status: int,
        reason: str = "",
        headers: Mapping[str, str] | None = None,
        body: AsyncIterator[bytes] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers: Mapping[str, str] = dict(headers or {})
        self._body = body
        self._on_close = on_close
        self.consumed = body is None

    @classmethod
    def of(cls, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Answer:
        """An answer held in memory, as a test's transport gives."""

        async def chunks() -> AsyncIterator[bytes]:
            if body:
                yield body

        return cls(status, "", {k.lower(): v for k, v in (headers or {}).items()}, chunks())

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive; empty once read."""
        body, self._body = self._body, None
        if body is None:
            return
        async for chunk in body:
            yield chunk
        self.consumed = True

    def close(self) -> None:
        self._body = None
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()


class Transport(Protocol):
    """The fetch stage's seam to the network."""

    async def get(
        self, target: Target, headers: Sequence[tuple[str, str]], timeout: float | None
    ) -> Answer:
        """Send a GET for ``target`` with ``headers``; ``timeout`` bounds each step."""
        ...


def environment_proxy(scheme: str, host: str) -> str | None:
    """The proxy that the environment (``http_proxy``, ``https_proxy``, ``all_proxy``,
    ``no_proxy`` and their upper-case forms) names for ``scheme://host``, or None.

    Feeds are fetched through the same proxy that curl or pip would use on this machine.
    """
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


@dataclass(slots=True)
class _Connection:
    """One open connection and h11's view of the exchange on it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    host: str  # for messages
    protocol: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    reused: bool = False  # it carried an earlier answer
    answered: bool = False  # some of this answer's bytes have arrived

    def close(self) -> None:
        # no wait for the close to complete: a peer that never acknowledges it must not
        # hold the caller, and nothing is sent after close()
        self.writer.close()


@dataclass(frozen=True, slots=True)
class _Proxy:
    """A proxy from the environment, and the credentials its URL carries."""

    target: Target
    credentials: tuple[tuple[str, str], ...] = ()


class _Stale(Exception):
    """A connection turned out closed before any of the answer arrived."""


class Http11Transport:
    """GETs on pooled asyncio connections (see the module); use ``async with``."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        self._opened: list[asyncio.StreamWriter] = []  # every connection, to end them all
        self._proxies: dict[tuple[str, str], _Proxy | None] = {}

    async def __aenter__(self) -> Http11Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(
        self, target: Target, headers: Sequence[tuple[str, str]], timeout: float | None
    ) -> Answer:
        """Send a GET and return the answer, whose body streams from the socket."""
        connection = self._kept(target.origin)
        if connection is not None:
            try:
                return await self._exchange(target, connection, headers, timeout)
            except _Stale:
                pass  # closed while idle: once more, on a new connection
        connection = await self._connect(target, timeout)
        return await self._exchange(target, connection, headers, timeout)  # never stale

    async def aclose(self) -> None:
        """Close every connection, and wait (a second at most) for the closes to complete:
        a TLS connection ends with an exchange of its own, which must not be cut off."""
        self._idle.clear()
        writers, self._opened = self._opened, []
        for writer in writers:
            writer.close()
        if not writers:
            return
        closing = [asyncio.ensure_future(_closed(writer)) for writer in writers]
        _, late = await asyncio.wait(closing, timeout=CLOSE_WAIT)
        for task in late:
            task.cancel()

    # --- connections -----------------------------------------------------------------

    def _kept(self, origin: Origin) -> _Connection | None:
        kept = self._idle.get(origin)
        while kept:
            connection = kept.pop()
            if not connection.reader.at_eof() and not connection.writer.is_closing():
                connection.reused = True
                return connection
            connection.close()
        return None

    def _release(self, origin: Origin, connection: _Connection) -> None:
        """Keep the connection for the origin's next request when both sides allow it."""
        protocol = connection.protocol
        if protocol.our_state is h11.DONE and protocol.their_state is h11.DONE:
            protocol.start_next_cycle()
            connection.answered = False
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.close()

    async def _connect(self, target: Target, timeout: float | None) -> _Connection:
        proxy = self._proxy(target)
        context = self._context() if target.scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                if proxy is None:
                    reader, writer = await asyncio.open_connection(
                        target.host,
                        target.port,
                        ssl=context,
                        server_hostname=target.host if context else None,
                        # RFC 8305: a host whose IPv6 route is broken answers over IPv4
                        # after a quarter second, not after the whole connect timeout
                        happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                    )
                    self._opened.append(writer)
                    return _Connection(reader, writer, target.host)
                return await self._through(proxy, target, context)
        except TimeoutError:
            raise TimedOut(f"no connection to {target.authority} in {timeout:g} s") from None
        except OSError as exc:  # ssl.SSLError included
            raise ConnectFailed(_connect_failure(exc, target)) from None

    async def _through(
        self, proxy: _Proxy, target: Target, context: ssl.SSLContext | None
    ) -> _Connection:
        """A connection to the proxy; for https, tunnelled to the target with CONNECT."""
        reader, writer = await asyncio.open_connection(
            proxy.target.host, proxy.target.port, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY
        )
        self._opened.append(writer)
        connection = _Connection(reader, writer, target.host)
        if context is None:
            return connection  # plain http: requests go to the proxy in absolute form
        authority = f"{target.host}:{target.port}"
        headers = [("Host", authority), *proxy.credentials]
        try:
            request = h11.Request(method="CONNECT", target=authority, headers=headers)
            writer.write(connection.protocol.send(request) or b"")
            answer = await _next(connection, None)
            if not isinstance(answer, h11.Response) or not 200 <= answer.status_code < 300:
                status = answer.status_code if isinstance(answer, h11.Response) else "no answer"
                raise ConnectFailed(f"the proxy refused a tunnel to {authority} ({status})")
            await writer.start_tls(context, server_hostname=target.host)
        except BaseException:
            connection.close()
            raise
        # a fresh h11 state for the exchange inside the tunnel
        return _Connection(reader, writer, target.host)

    def _proxy(self, target: Target) -> _Proxy | None:
        key = (target.scheme, target.host)
        if key not in self._proxies:
            proxy = environment_proxy(target.scheme, target.host)
            self._proxies[key] = None if proxy is None else _proxy_from(proxy)
        return self._proxies[key]

    def _context(self) -> ssl.SSLContext:
        """The CA certificates are loaded on the first https request, a tenth of a second.

        They are certifi's (Mozilla's list), as httpx trusts, rather than the system's:
        a feed that fetched before keeps fetching wherever roundup runs.
        """
        if self._ssl_context is None:
            import certifi

            self._ssl_context = ssl.create_default_context(cafile=certifi.where())
        return self._ssl_context

    # --- one exchange ----------------------------------------------------------------

    async def _exchange(
        self,
        target: Target,
        connection: _Connection,
        headers: Sequence[tuple[str, str]],
        timeout: float | None,
    ) -> Answer:
        proxy = self._proxy(target)
        absolute = proxy is not None and target.scheme == "http"
        sent = [("Host", target.authority), *headers]
        if absolute and proxy is not None:
            sent += proxy.credentials
        try:
            try:
                request = h11.Request(
                    method="GET", target=str(target) if absolute else target.path, headers=sent
                )
                data = connection.protocol.send(request) or b""
                data += connection.protocol.send(h11.EndOfMessage()) or b""
            except h11.LocalProtocolError as exc:
                raise InvalidURL(f"cannot be sent: {exc}") from None
            connection.writer.write(data)
            await _timed(connection.writer.drain(), timeout)
            head = await _next(connection, timeout)
            while isinstance(head, h11.InformationalResponse):
                head = await _next(connection, timeout)
            if not isinstance(head, h11.Response):
                raise _ended_early(target.host)
        except (_Stale, ConnectionLost) as exc:
            connection.close()
            # a kept connection the server closed (or reset) before any of this answer came
            # is stale, not a failure of this feed: the caller sends the GET again
            if connection.reused and not connection.answered:
                raise _Stale() from None
            if isinstance(exc, ConnectionLost):
                raise
            raise NotHTTP(f"{target.host} closed the connection without answering") from None
        except BaseException:
            connection.close()
            raise
        reading = _Reading(self._release, target, connection, timeout)
        return Answer(
            head.status_code,
            head.reason.decode("latin-1"),
            _headers(head.headers),
            reading.chunks(),
            reading.close,
        )


class _Reading:
    """An answer's body, read from the socket as the caller iterates.

    Closing hands the connection back when the body was read to its end, and closes the
    connection otherwise: the unread rest would be taken for the next answer.
    """

    def __init__(
        self,
        release: Callable[[Origin, _Connection], None],
        target: Target,
        connection: _Connection,
        timeout: float | None,
    ) -> None:
        self._release = release
        self._target = target
        self._connection: _Connection | None = connection
        self._timeout = timeout
        self._complete = False

    async def chunks(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        try:
            while True:
                event = await _next(connection, self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self._complete = True
                    return
                else:
                    raise _ended_early(self._target.host)
        except _Stale:
            raise _ended_early(self._target.host) from None

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._complete:
            self._release(self._target.origin, connection)
        else:
            connection.close()


async def _next(connection: _Connection, timeout: float | None) -> h11.Event:
    """h11's next event, reading from the socket as it needs."""
    protocol = connection.protocol
    while True:
        try:
            event = protocol.next_event()
        except h11.RemoteProtocolError as exc:
            if connection.reader.at_eof():
                raise _ended_early(connection.host) from None
            raise NotHTTP(f"not an HTTP/1.1 answer: {exc}") from None
        if event is h11.PAUSED:  # only past the end of an answer, where no caller reads
            raise NotHTTP("more data after the end of the answer")
        if event is h11.NEED_DATA:
            data = await _timed(connection.reader.read(READ_SIZE), timeout)
            if data:
                connection.answered = True
            elif not connection.answered:
                raise _Stale()
            protocol.receive_data(data)
            continue
        if isinstance(event, h11.ConnectionClosed) and not connection.answered:
            raise _Stale()
        assert isinstance(event, h11.Event)
        return event


async def _closed(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):  # ssl.SSLError included: a peer that never replied
        await writer.wait_closed()


async def _timed(step: Awaitable[T], timeout: float | None) -> T:
    try:
        async with asyncio.timeout(timeout):
            return await step
    except TimeoutError:
        raise TimedOut(f"no answer for {timeout:g} s") from None
    except OSError as exc:  # ssl.SSLError included
        raise ConnectionLost(_reason(exc)) from None


def _headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:  # h11 gives names lower-cased
        key, text = name.decode("latin-1"), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _ended_early(host: str) -> NotHTTP:
    return NotHTTP(f"the answer from {host} ended before it was complete")


def _reason(exc: OSError) -> str:
    if exc.errno and not isinstance(exc, ssl.SSLError | socket.gaierror):
        return f"[Errno {exc.errno}] {os.strerror(exc.errno)}"  # asyncio's own words vary
    return str(exc) or type(exc).__name__


def _connect_failure(exc: OSError, target: Target) -> str:
    """Why a connection could not be opened, in words that say what to look at."""
    if isinstance(exc, socket.gaierror):
        return f"the host name {target.host} does not resolve ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return f"{target.authority} refused the connection (nothing listens there)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: the certificate of {target.host} is not trusted ({exc.verify_message})"
    return _reason(exc)


def _proxy_from(url: str) -> _Proxy:
    """The proxy named by ``url``, with Basic credentials when it has a user and password."""
    try:
        target = parse_target(url)
    except InvalidURL as exc:
        raise ConnectFailed(f"the proxy {url} from the environment is unusable: {exc}") from None
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return _Proxy(target)
    userinfo = (
        urllib.parse.unquote(parts.username) + ":" + urllib.parse.unquote(parts.password or "")
    )
    secret = base64.b64encode(userinfo.encode()).decode("ascii")
    return _Proxy(target, (("Proxy-Authorization", f"Basic {secret}"),))
