"""The fetch stage's HTTP transport: HTTP/1.1 on asyncio streams, parsed by h11.

It is an ``httpx.AsyncBaseTransport``, so the fetch stage speaks httpx's request and
response types, and a test can put ``httpx.MockTransport`` in its place.

Why not httpx's own transport: with every feed on one host answering 304, that stack
(httpcore's pool over anyio) spent about 2 ms of CPU per request and a tenth of a second
on imports, which made a warm hourly run of 150 feeds CPU-bound; this one spends about
0.3 ms per request, on the standard library's event loop and h11's parser. It does only
what the fetch stage asks of it: GET and HEAD without a body, HTTP/1.1 without upgrades,
no cookies, auth or redirects (the stage follows those itself).

Connections are kept per origin (scheme, host, port) and reused once a response has been
read to its end and neither side asked to close. The caller bounds how many requests are
in flight to a host (the stage's ``fetch.per_host``), so the pool adds no limit of its own.
A kept connection that the server has closed in the meantime is found out on its first
read: the request is then sent once more, on a new connection, which is safe for a GET.

Proxies come from the environment (``http_proxy``, ``https_proxy``, ``all_proxy``,
``no_proxy``): a plain-http request goes to the proxy in absolute form, an https one
through a ``CONNECT`` tunnel.

Errors are httpx's: ``ConnectError``/``ConnectTimeout`` while connecting, ``ReadError``/
``ReadTimeout``/``WriteError``/``WriteTimeout`` after, ``RemoteProtocolError`` for an
answer that is not HTTP/1.1 or ends early, ``LocalProtocolError`` for a header h11 will
not send. Timeouts come from the request's ``timeout`` extension, as httpx sets it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import ssl
import urllib.request
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

import h11
import httpx

READ_SIZE = 65_536  # bytes asked of the socket per read
DEFAULT_PORTS = {"http": 80, "https": 443}

T = TypeVar("T")
Origin = tuple[str, str, int]  # scheme, host, port


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
    protocol: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    reused: bool = False  # it carried an earlier response
    answered: bool = False  # some of this response's bytes have arrived

    def close(self) -> None:
        # no wait for the close to complete: a peer that never acknowledges it must not
        # hold the caller, and nothing is sent after close()
        self.writer.close()


@dataclass(frozen=True, slots=True)
class _Timeouts:
    connect: float | None
    read: float | None
    write: float | None

    @classmethod
    def of(cls, request: httpx.Request) -> _Timeouts:
        given = request.extensions.get("timeout", {})
        return cls(given.get("connect"), given.get("read"), given.get("write"))


class _Stale(Exception):
    """A kept connection turned out closed before any of the answer arrived."""


class Http11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 requests without a body, on pooled asyncio connections (see the module)."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        self._proxies: dict[tuple[str, str], str | None] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return its response, whose body streams from the socket."""
        if request.method not in ("GET", "HEAD"):
            raise httpx.UnsupportedProtocol(
                f"this transport sends GET and HEAD only, not {request.method}"
            )
        url = request.url
        if url.scheme not in DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"not an http or https URL: {url}")
        origin = (url.scheme, url.host, url.port or DEFAULT_PORTS[url.scheme])
        timeouts = _Timeouts.of(request)
        connection = self._kept(origin)
        if connection is not None:
            try:
                return await self._exchange(origin, connection, request, timeouts)
            except _Stale:
                pass  # closed while idle: one more try, on a new connection
        connection = await self._connect(origin, timeouts)
        return await self._exchange(origin, connection, request, timeouts)

    async def aclose(self) -> None:
        """Close every kept connection."""
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

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

    def keep(self, origin: Origin, connection: _Connection) -> None:
        """Keep the connection for the origin's next request, if both sides allow it."""
        protocol = connection.protocol
        if protocol.our_state is h11.DONE and protocol.their_state is h11.DONE:
            protocol.start_next_cycle()
            connection.answered = False
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.close()

    async def _connect(self, origin: Origin, timeouts: _Timeouts) -> _Connection:
        scheme, host, port = origin
        proxy = self._proxy(scheme, host)
        context = self._context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeouts.connect):
                if proxy is None:
                    reader, writer = await asyncio.open_connection(
                        host, port, ssl=context, server_hostname=host if context else None
                    )
                    return _Connection(reader, writer)
                return await self._through(httpx.URL(proxy), origin, context)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} in time") from None
        except OSError as exc:  # ssl.SSLError included
            raise httpx.ConnectError(_connect_failure(exc, host, port)) from None

    async def _through(
        self, proxy: httpx.URL, origin: Origin, context: ssl.SSLContext | None
    ) -> _Connection:
        """A connection to the proxy; for https, tunnelled to the origin with CONNECT."""
        _, host, port = origin
        reader, writer = await asyncio.open_connection(
            proxy.host, proxy.port or DEFAULT_PORTS.get(proxy.scheme, 80)
        )
        connection = _Connection(reader, writer)
        if context is None:
            return connection  # plain http: requests go to the proxy in absolute form
        authority = f"{host}:{port}".encode()
        headers = [(b"Host", authority), *_proxy_authorization(proxy)]
        try:
            writer.write(
                connection.protocol.send(
                    h11.Request(method=b"CONNECT", target=authority, headers=headers)
                )
            )
            writer.write(connection.protocol.send(h11.EndOfMessage()))
            answer = await _next(connection, None)
            if not isinstance(answer, h11.Response) or not 200 <= answer.status_code < 300:
                status = answer.status_code if isinstance(answer, h11.Response) else "no answer"
                raise httpx.ProxyError(f"the proxy refused a tunnel to {host}:{port} ({status})")
            await writer.start_tls(context, server_hostname=host)
        except BaseException:
            connection.close()
            raise
        return _Connection(reader, writer)  # a fresh h11 state for the tunnelled exchange

    def _proxy(self, scheme: str, host: str) -> str | None:
        key = (scheme, host)
        if key not in self._proxies:
            self._proxies[key] = environment_proxy(scheme, host)
        return self._proxies[key]

    def _context(self) -> ssl.SSLContext:
        """The CA certificates are loaded on the first https request, a tenth of a second."""
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    # --- one exchange ----------------------------------------------------------------

    async def _exchange(
        self, origin: Origin, connection: _Connection, request: httpx.Request, timeouts: _Timeouts
    ) -> httpx.Response:
        url = request.url
        absolute = origin[0] == "http" and self._proxy(origin[0], origin[1]) is not None
        target = str(url).encode("ascii") if absolute else url.raw_path
        headers = [
            *request.headers.raw,
            *_proxy_headers(self._proxy(origin[0], origin[1]), absolute),
        ]
        try:
            try:
                data = connection.protocol.send(
                    h11.Request(method=request.method, target=target, headers=headers)
                ) + (connection.protocol.send(h11.EndOfMessage()) or b"")
            except h11.LocalProtocolError as exc:
                raise httpx.LocalProtocolError(str(exc)) from None
            await _write(connection, data or b"", timeouts.write)
            head = await _next(connection, timeouts.read)
            while isinstance(head, h11.InformationalResponse):
                head = await _next(connection, timeouts.read)
            if not isinstance(head, h11.Response):
                raise _Stale() if not connection.answered else _ended_early(url)
        except _Stale:
            connection.close()
            if connection.reused:
                raise
            raise httpx.RemoteProtocolError(
                f"{url.host} closed the connection without answering"
            ) from None
        except BaseException:
            connection.close()
            raise
        stream = _Body(self, origin, connection, timeouts.read)
        return httpx.Response(
            head.status_code,
            headers=head.headers.raw_items(),
            stream=stream,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )


class _Body(httpx.AsyncByteStream):
    """A response's body, read from the socket as the caller iterates.

    Closing it hands the connection back when the body was read to its end, and closes the
    connection otherwise: the unread rest would be taken for the next answer.
    """

    def __init__(
        self,
        transport: Http11Transport,
        origin: Origin,
        connection: _Connection,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._connection: _Connection | None = connection
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        try:
            while True:
                event = await _next(connection, self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self._release(keep=True)
                    return
                else:
                    raise _ended_early(None)
        except BaseException:
            self._release(keep=False)
            raise

    async def aclose(self) -> None:
        self._release(keep=False)

    def _release(self, *, keep: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if keep:
            self._transport.keep(self._origin, connection)
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
                raise _ended_early(None) from None
            raise httpx.RemoteProtocolError(f"not an HTTP/1.1 answer: {exc}") from None
        if event is h11.PAUSED:  # only after a whole answer, which no caller reads past
            raise httpx.RemoteProtocolError("more data after the end of the answer")
        if event is not h11.NEED_DATA:
            if isinstance(event, h11.ConnectionClosed) and not connection.answered:
                raise _Stale()
            assert isinstance(event, h11.Event)
            return event
        data = await _timed(
            connection.reader.read(READ_SIZE), timeout, httpx.ReadTimeout, httpx.ReadError
        )
        if data:
            connection.answered = True
        elif not connection.answered:
            raise _Stale()
        protocol.receive_data(data)


async def _write(connection: _Connection, data: bytes, timeout: float | None) -> None:
    connection.writer.write(data)
    await _timed(connection.writer.drain(), timeout, httpx.WriteTimeout, httpx.WriteError)


async def _timed(
    step: Awaitable[T],
    timeout: float | None,
    on_timeout: type[httpx.TimeoutException],
    on_error: type[httpx.NetworkError],
) -> T:
    try:
        async with asyncio.timeout(timeout):
            return await step
    except TimeoutError:
        raise on_timeout(f"no progress in {timeout:g} s") from None
    except OSError as exc:  # ssl.SSLError included
        raise on_error(_reason(exc)) from None


def _ended_early(url: httpx.URL | None) -> httpx.RemoteProtocolError:
    where = f" from {url.host}" if url is not None else ""
    return httpx.RemoteProtocolError(f"the answer{where} ended before it was complete")


def _reason(exc: OSError) -> str:
    if exc.errno and not isinstance(exc, ssl.SSLError | socket.gaierror):
        return f"[Errno {exc.errno}] {os.strerror(exc.errno)}"  # asyncio's own words vary
    return str(exc) or type(exc).__name__


def _connect_failure(exc: OSError, host: str, port: int) -> str:
    """Why a connection could not be opened, in words that say what to look at."""
    if isinstance(exc, socket.gaierror):
        return f"the host name {host} does not resolve ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return f"{host}:{port} refused the connection (nothing listens there)"
    return _reason(exc)


def _proxy_authorization(proxy: httpx.URL) -> list[tuple[bytes, bytes]]:
    if not proxy.username:
        return []
    secret = f"{proxy.username}:{proxy.password}".encode()
    return [(b"Proxy-Authorization", b"Basic " + base64.b64encode(secret))]


def _proxy_headers(proxy: str | None, absolute: bool) -> list[tuple[bytes, bytes]]:
    """What a request sent to a plain-http proxy adds: its credentials, if any."""
    if proxy is None or not absolute:
        return []
    return _proxy_authorization(httpx.URL(proxy))
