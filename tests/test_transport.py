"""The fetch stage's transport against raw sockets, a TLS server and a CONNECT proxy, all
on 127.0.0.1: what it sends, when it keeps a connection, and every way an answer fails."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from roundup.transport import Http11Transport, environment_proxy

Handler = Callable[[socket.socket], None]


class RawServer:
    """Accepts connections on 127.0.0.1 and hands each to ``handler`` in a thread."""

    def __init__(self, handler: Handler, context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.context = context
        self.connections = 0
        self.requests: list[bytes] = []  # each request's head, as received
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/feed.xml", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> RawServer:
        self._accepting.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(conn)
            if self.context is not None:
                try:
                    conn = stack.enter_context(self.context.wrap_socket(conn, server_side=True))
                except (ssl.SSLError, OSError):
                    return  # the client refused our certificate: what a test looks for
            with contextlib.suppress(OSError):
                self.handler(_Recorder(conn, self.requests))  # type: ignore[arg-type]


class _Recorder:
    """A socket whose reads of a request head are recorded in ``requests``."""

    def __init__(self, conn: socket.socket, requests: list[bytes]) -> None:
        self.conn = conn
        self.requests = requests

    def head(self) -> bytes | None:
        """The next request's head, or None when the client closed the connection."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.conn.recv(4096)
            if not chunk:
                return None
            data += chunk
        self.requests.append(data)
        return data

    def sendall(self, data: bytes) -> None:
        self.conn.sendall(data)

    def close(self) -> None:
        self.conn.close()


def answer(body: bytes = b"<rss/>", extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode("latin-1") + body


def keep_answering(reply: bytes) -> Handler:
    """Answer every request on the connection with ``reply``."""

    def handler(conn: socket.socket) -> None:
        recorder: _Recorder = conn  # type: ignore[assignment]
        while recorder.head() is not None:
            recorder.sendall(reply)

    return handler


def once(reply: bytes) -> Handler:
    """Answer one request with ``reply``, then close the connection."""

    def handler(conn: socket.socket) -> None:
        recorder: _Recorder = conn  # type: ignore[assignment]
        if recorder.head() is not None:
            recorder.sendall(reply)

    return handler


async def get(transport: Http11Transport, url: str, timeout: float = 5.0) -> tuple[int, bytes, str]:
    """One GET through the transport: status, decoded body, reason phrase."""
    request = httpx.Request("GET", url, extensions={"timeout": httpx.Timeout(timeout).as_dict()})
    response = await transport.handle_async_request(request)
    try:
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    finally:
        await response.aclose()
    return response.status_code, body, response.reason_phrase


def run_gets(urls: list[str], timeout: float = 5.0, **kwargs: object) -> list[object]:
    """GET each URL in turn on one transport; an exception is returned in its place."""

    async def main() -> list[object]:
        results: list[object] = []
        async with Http11Transport(**kwargs) as transport:  # type: ignore[arg-type]
            for url in urls:
                try:
                    results.append(await get(transport, url, timeout))
                except httpx.HTTPError as exc:
                    results.append(exc)
        return results

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


# --- what is sent, what comes back ---------------------------------------------------


def test_a_request_is_an_http11_get_with_the_callers_headers() -> None:
    with RawServer(keep_answering(answer())) as server:
        [result] = run_gets([server.url("/feed.xml?a=1")])
    assert result == (200, b"<rss/>", "OK")
    head = server.requests[0].decode()
    assert head.startswith("GET /feed.xml?a=1 HTTP/1.1\r\n")
    assert f"host: 127.0.0.1:{server.port}\r\n" in head.lower()


@pytest.mark.parametrize(
    ("reply", "body"),
    [
        (answer(b"abc"), b"abc"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"abcde",
        ),
        (
            answer(gzip.compress(b"zipped"), "Content-Encoding: gzip\r\n"),
            b"zipped",
        ),  # decoded by httpx's response, as with any transport
        (b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"after"), b"after"),
    ],
)
def test_bodies_are_read_whatever_their_framing(reply: bytes, body: bytes) -> None:
    with RawServer(keep_answering(reply)) as server:
        [result] = run_gets([server.url()])
    assert result == (200, body, "OK")


def test_a_body_ended_by_closing_the_connection() -> None:
    with RawServer(once(b"HTTP/1.1 200 OK\r\n\r\nto the end")) as server:
        results = run_gets([server.url(), server.url()])
    assert results == [(200, b"to the end", "OK")] * 2
    assert server.connections == 2  # such a connection cannot carry another answer


# --- keeping connections ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "connections"),
    [
        (answer(), 1),
        (answer(extra="Connection: close\r\n"), 3),  # the server said it will close
        (b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\n<rss/>", 3),  # HTTP/1.0 closes
    ],
)
def test_connections_are_kept_when_both_sides_allow(reply: bytes, connections: int) -> None:
    def handler(conn: socket.socket) -> None:
        recorder: _Recorder = conn  # type: ignore[assignment]
        while recorder.head() is not None:
            recorder.sendall(reply)
            if b"close" in reply or reply.startswith(b"HTTP/1.0"):
                return

    with RawServer(handler) as server:
        results = run_gets([server.url()] * 3)
    assert [result[0] for result in results] == [200] * 3  # type: ignore[index]
    assert server.connections == connections


def test_a_kept_connection_the_server_closed_is_replaced() -> None:
    """A server may close an idle kept connection: the GET is sent again on a new one."""
    with RawServer(once(answer())) as server:
        results = run_gets([server.url()] * 3)
    assert results == [(200, b"<rss/>", "OK")] * 3
    assert server.connections == 3


def test_an_unread_body_closes_its_connection() -> None:
    async def main(url: str) -> None:
        async with Http11Transport() as transport:
            request = httpx.Request("GET", url)
            response = await transport.handle_async_request(request)
            await response.aclose()  # nothing read
            assert (await get(transport, url))[0] == 200

    with RawServer(keep_answering(answer(b"x" * 10_000))) as server:
        asyncio.run(main(server.url()))
    assert server.connections == 2


# --- failures ------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("handler", "error", "text"),
    [
        (once(b""), httpx.RemoteProtocolError, "closed the connection without answering"),
        (once(b"SSH-2.0-OpenSSH\r\n\r\n"), httpx.RemoteProtocolError, "not an HTTP/1.1 answer"),
        (
            once(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"),
            httpx.RemoteProtocolError,
            "ended before it was complete",
        ),
        (lambda conn: conn.head() and threading.Event().wait(1), httpx.ReadTimeout, "0.3 s"),
    ],
)
def test_a_failed_answer_raises_httpx_s_error(
    handler: Handler, error: type[Exception], text: str
) -> None:
    with RawServer(handler) as server:
        [result] = run_gets([server.url()], timeout=0.3)
    assert isinstance(result, error)
    assert text in str(result)


def test_a_refused_connection_is_a_connect_error() -> None:
    port = closed_port()
    [result] = run_gets([f"http://127.0.0.1:{port}/feed.xml"])
    assert isinstance(result, httpx.ConnectError)
    assert str(result).endswith(":" + str(port) + " refused the connection (nothing listens there)")


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_only_get_and_head_are_sent(method: str) -> None:
    async def main() -> None:
        async with Http11Transport() as transport:
            await transport.handle_async_request(httpx.Request(method, "http://127.0.0.1/"))

    with pytest.raises(httpx.UnsupportedProtocol, match=f"not {method}"):
        asyncio.run(main())


# --- TLS and proxies -------------------------------------------------------------------


@pytest.fixture(name="certificate", scope="module")
def certificate_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl program."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl program is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def tls_server(certificate: tuple[Path, Path], handler: Handler) -> RawServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return RawServer(handler, context)


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    return context


def test_https_is_verified(certificate: tuple[Path, Path]) -> None:
    """The default context (the CA bundle) refuses a self-signed certificate; a context that
    trusts it reads the answer."""
    with tls_server(certificate, keep_answering(answer())) as server:
        [refused] = run_gets([server.url(scheme="https")])
        [accepted] = run_gets([server.url(scheme="https")], ssl_context=trusting(certificate))
    assert isinstance(refused, httpx.ConnectError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused)
    assert accepted == (200, b"<rss/>", "OK")


def connect_proxy(seen: list[bytes]) -> Handler:
    """A CONNECT proxy: it records the request line, then pipes bytes both ways."""

    def handler(conn: socket.socket) -> None:
        recorder: _Recorder = conn  # type: ignore[assignment]
        head = recorder.head()
        if head is None:
            return
        seen.append(head.split(b"\r\n")[0])
        host, _, port = head.split(b" ")[1].decode().rpartition(":")
        with socket.create_connection((host, int(port))) as upstream:
            recorder.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            pipes = [
                threading.Thread(target=_pipe, args=(recorder.conn, upstream), daemon=True),
                threading.Thread(target=_pipe, args=(upstream, recorder.conn), daemon=True),
            ]
            for pipe in pipes:
                pipe.start()
            for pipe in pipes:
                pipe.join(5)

    return handler


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def test_https_goes_through_the_proxy_s_tunnel(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bytes] = []
    with (
        tls_server(certificate, once(answer(b"tunnelled"))) as origin,
        RawServer(connect_proxy(seen)) as proxy,
    ):
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.port}")
        [result] = run_gets([origin.url(scheme="https")], ssl_context=trusting(certificate))
    assert result == (200, b"tunnelled", "OK")
    assert seen == [f"CONNECT 127.0.0.1:{origin.port} HTTP/1.1".encode()]


def test_plain_http_goes_to_the_proxy_in_absolute_form(monkeypatch: pytest.MonkeyPatch) -> None:
    with RawServer(keep_answering(answer())) as proxy:
        monkeypatch.setenv("http_proxy", f"http://user:secret@127.0.0.1:{proxy.port}")
        [result] = run_gets(["http://feeds.invalid/feed.xml"])
    assert result == (200, b"<rss/>", "OK")
    head = proxy.requests[0].decode()
    assert head.startswith("GET http://feeds.invalid/feed.xml HTTP/1.1\r\n")
    assert "proxy-authorization: basic dxnlcjpzzwnyzxq=\r\n" in head.lower()


@pytest.mark.parametrize(
    ("env", "scheme", "host", "proxy"),
    [
        ({}, "http", "a.example", None),
        ({"http_proxy": "http://127.0.0.1:3128"}, "http", "a.example", "http://127.0.0.1:3128"),
        ({"HTTPS_PROXY": "127.0.0.1:3128"}, "https", "a.example", "http://127.0.0.1:3128"),
        ({"http_proxy": "http://127.0.0.1:3128"}, "https", "a.example", None),
        ({"all_proxy": "http://127.0.0.1:8080"}, "https", "a.example", "http://127.0.0.1:8080"),
        ({"http_proxy": "http://p:1", "no_proxy": "a.example"}, "http", "a.example", None),
        ({"http_proxy": "http://p:1", "no_proxy": ".example"}, "http", "b.a.example", None),
        ({"http_proxy": "http://p:1", "no_proxy": "b.example"}, "http", "a.example", "http://p:1"),
        ({"http_proxy": "http://p:1", "no_proxy": "*"}, "http", "a.example", None),
    ],
)
def test_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    scheme: str,
    host: str,
    proxy: str | None,
) -> None:
    """The proxy variables curl and pip read choose the proxy of each scheme and host."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert environment_proxy(scheme, host) == proxy
