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

import pytest

from roundup.transport import (
    ConnectFailed,
    Http11Transport,
    InvalidURL,
    NotHTTP,
    Target,
    TimedOut,
    TransportError,
    environment_proxy,
    parse_target,
)

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
    """One GET through the transport: status, body as sent, reason phrase."""
    answer = await transport.get(parse_target(url), [("User-Agent", "test")], timeout)
    try:
        body = b"".join([chunk async for chunk in answer.chunks()])
    finally:
        answer.close()
    return answer.status, body, answer.reason


def run_gets(urls: list[str], timeout: float = 5.0, **kwargs: object) -> list[object]:
    """GET each URL in turn on one transport; an exception is returned in its place."""

    async def main() -> list[object]:
        results: list[object] = []
        async with Http11Transport(**kwargs) as transport:  # type: ignore[arg-type]
            for url in urls:
                try:
                    results.append(await get(transport, url, timeout))
                except TransportError as exc:
                    results.append(exc)
        return results

    return asyncio.run(main())


# no proxy variable of the test runner's environment reaches these tests
pytestmark = pytest.mark.usefixtures("clean_proxy_env")


# --- what is sent, what comes back ---------------------------------------------------


def test_a_request_is_an_http11_get_with_the_callers_headers() -> None:
    reply = answer(extra="ETag: a\r\nX-Twice: 1\r\nx-twice: 2\r\n")

    async def main(url: str) -> dict[str, str]:
        async with Http11Transport() as transport:
            got = await transport.get(parse_target(url), [("User-Agent", "test")], 5)
            got.close()
            return dict(got.headers)

    with RawServer(keep_answering(reply)) as server:
        headers = asyncio.run(main(server.url("/feed.xml?a=1")))
    assert server.requests[0].decode() == (
        f"GET /feed.xml?a=1 HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUser-Agent: test\r\n\r\n"
    )
    assert headers == {"content-length": "6", "etag": "a", "x-twice": "1, 2"}


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
            gzip.compress(b"zipped"),
        ),  # as sent: the fetch stage decodes, so that it can cap the decoded size
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
            got = await transport.get(parse_target(url), [], 5)
            got.close()  # nothing read
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
        (once(b""), NotHTTP, "127.0.0.1 closed the connection without answering"),
        (once(b"SSH-2.0-OpenSSH\r\n\r\n"), NotHTTP, "not an HTTP/1.1 answer: "),
        (
            once(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"),
            NotHTTP,
            "the answer from 127.0.0.1 ended before it was complete",
        ),
        (lambda conn: conn.head() and threading.Event().wait(1), TimedOut, "no answer for 0.3 s"),
    ],
)
def test_a_failed_answer_raises_a_transport_error(
    handler: Handler, error: type[Exception], text: str
) -> None:
    with RawServer(handler) as server:
        [result] = run_gets([server.url()], timeout=0.3)
    assert isinstance(result, error)
    assert text in str(result)


def test_a_refused_connection_is_a_connect_error() -> None:
    port = closed_port()
    [result] = run_gets([f"http://127.0.0.1:{port}/feed.xml"])
    assert isinstance(result, ConnectFailed)
    assert str(result).endswith(":" + str(port) + " refused the connection (nothing listens there)")


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://Example.ORG/feed", Target("http", "example.org", 80, "/feed")),
        ("https://example.org:8443", Target("https", "example.org", 8443, "/")),
        (
            "http://example.org/a b/é?q=a b&x=é#frag",
            Target("http", "example.org", 80, "/a%20b/%C3%A9?q=a%20b&x=%C3%A9"),
        ),
        ("http://example.org/%7Eu/?a=%2F", Target("http", "example.org", 80, "/%7Eu/?a=%2F")),
        ("http://bücher.example/", Target("http", "xn--bcher-kva.example", 80, "/")),
        ("http://[::1]:8080/x", Target("http", "::1", 8080, "/x")),
        ("http://example.org./", Target("http", "example.org", 80, "/")),
    ],
)
def test_urls_become_targets(url: str, target: Target) -> None:
    assert parse_target(url) == target


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https:///feed.xml", "no host"),
        ("http://[::1/feed.xml", "Invalid IPv6 URL"),
        ("http://example.org:99999/", "Port out of range 0-65535"),
        ("http://example.org:x/", "Port could not be cast to integer value as 'x'"),
        ("ftp://example.org/", "not an http or https URL"),
        ("http://exa mple.org/", "the host name 'exa mple.org' has characters no host name has"),
    ],
)
def test_unusable_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(InvalidURL) as refused:
        parse_target(url)
    assert str(refused.value) == reason


@pytest.mark.parametrize(
    "url", ["http://example.org/a?b", "https://[::1]:8443/", "http://example.org:8080/"]
)
def test_targets_print_as_urls(url: str) -> None:
    assert str(parse_target(url)) == url


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
    assert isinstance(refused, ConnectFailed)
    assert str(refused) == (
        "TLS: the certificate of 127.0.0.1 is not trusted (self-signed certificate)"
    )
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
    assert proxy.requests[0].decode() == (
        "GET http://feeds.invalid/feed.xml HTTP/1.1\r\nHost: feeds.invalid\r\n"
        "User-Agent: test\r\nProxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n\r\n"
    )


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
