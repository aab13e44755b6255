"""The benchmark feed server: loopback only, many addresses, realistic feeds, real latency.

It serves either N synthetic feeds (deterministic, about 30 entries and 40 KB each, HTML
content, half RSS 2.0 and half Atom) or every feed file under a folder (``--corpus``), on
one port of each of the addresses 127.0.0.2 ... 127.0.0.(H+1) -- the whole of 127/8 is
loopback on Linux, no setup needed -- so that a client's per-host limits apply as they do
on the internet: feed *i* is linked at ``http://127.0.0.(2 + i % H):PORT/...``.

The HTTP/1.1 is minimal but honest: persistent connections (keep-alive), ETag and
Last-Modified on every 200, ``If-None-Match`` / ``If-Modified-Since`` answered with 304,
gzip when asked for and enabled, and a fixed per-request latency (``asyncio.sleep`` before
the response, 304s included) standing in for the round trip to a distant server.

From a benchmark, run it in its own process so that it never competes for the client's
GIL::

    with FeedServer(feeds=300, hosts=50, latency=0.1) as server:
        server.urls           # one URL per feed
        server.stats()        # requests, statuses, bytes, peak concurrency per host
        server.reset_stats()

By hand (foreground, stops after --seconds)::

    .venv/bin/python -m benchmarks.feedserver --feeds 300 --latency 0.1 --write-config /tmp/f.yaml
    .venv/bin/python -m benchmarks.feedserver --corpus ../shared/corpora

Everything stops by itself: the server process exits after ``max_seconds`` (default one
hour), when its parent goes away, and idle connections close after 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip as gzip_module
import hashlib
import html
import json
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import socket
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

FIRST_HOST = 2  # 127.0.0.1 is left alone: other services and tests live there
MAX_HOSTS = 250
IDLE_TIMEOUT = 30.0  # seconds a keep-alive connection may sit idle
HEADER_LIMIT = 64 * 1024
BASE_TIME = datetime(2025, 6, 8, 12, 0, tzinfo=UTC)  # synthetic entries are dated before this
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json")


# --- synthetic feeds ------------------------------------------------------------------

_WORD_TEXT = """
system data network feed reader update release policy market energy climate research team
model city water public health school report study court budget council vote science space
launch mission battery solar wind rail transport bridge museum history music festival film
review book author interview letter opinion analysis design software open source security
privacy browser kernel compiler database cloud cache protocol standard draft version feature
bug patch test benchmark performance memory storage archive library language garden harbor
river mountain island forest coast weather season harvest kitchen recipe market price trade
export import factory worker union strike election minister parliament reform tax pension
housing rent street night morning weekend holiday travel journey flight station ticket map
guide local regional national global quiet bright careful sudden early late rapid slow new
old small large first last simple complex fair strange common rare modern ancient
"""
_WORDS = _WORD_TEXT.split()


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(count))


def _title(rng: random.Random) -> str:
    words = _words(rng, rng.randint(4, 10)).split()
    text = " ".join(w.capitalize() if k % 3 == 0 else w for k, w in enumerate(words))
    if rng.random() < 0.15:
        text += " & " + rng.choice(_WORDS)  # escaped once in the XML, as feeds do
    if rng.random() < 0.1:
        text = text.replace(" ", " \u2019", 1)
    return text[0].upper() + text[1:]


def _paragraph(rng: random.Random, site: str) -> str:
    """One block of entry HTML, with the markup real feeds carry (and some they should not)."""
    kind = rng.random()
    text = _words(rng, rng.randint(25, 60))
    words = text.split()
    cut = rng.randint(3, len(words) - 3)
    link = rng.choice(
        (
            f'<a href="https://news{rng.randint(1, 40)}.example/{words[0]}/{rng.randint(1, 9999)}'
            f'?utm_source=rss&amp;utm_medium=feed">{words[cut]}</a>',
            f'<a href="/{words[1]}/{rng.randint(1, 999)}.html">{words[cut]}</a>',
            f'<a href="{site}tag/{words[2]}" title="More on {words[2]}">{words[cut]}</a>',
            f"<strong>{words[cut]}</strong>",
            f"<em>{words[cut]}</em> &amp; more",
        )
    )
    body = " ".join([*words[:cut], link, *words[cut + 1 :]])
    if kind < 0.55:
        return f"<p>{body}.</p>"
    if kind < 0.65:
        return f"<blockquote><p>{body}&#8230;</p></blockquote>"
    if kind < 0.72:
        items = "".join(
            f"<li>{_words(rng, rng.randint(3, 8))}</li>" for _ in range(rng.randint(2, 5))
        )
        return f"<ul>{items}</ul>"
    if kind < 0.80:
        src = rng.choice(
            (
                f"/wp-content/uploads/{rng.randint(1, 999)}.jpg",
                f"{site}img/{rng.randint(1, 999)}.png",
            )
        )
        return (
            f'<figure><img src="{src}" width="{rng.choice((600, 800, 1200))}" height="400" '
            f'alt="{_words(rng, 3)}" class="wp-image" style="border:0" />'
            f"<figcaption>{_words(rng, 6)}</figcaption></figure>"
        )
    if kind < 0.85:
        return (
            f"<pre><code>def {words[0]}():\n    return &quot;{words[1]}&quot; &lt; 3\n</code></pre>"
        )
    if kind < 0.89:
        return f'<p style="color:#333" onclick="track()">{body} &mdash; {_words(rng, 5)}</p>'
    if kind < 0.92:
        script = f"window.dataLayer=window.dataLayer||[];dataLayer.push({{'{words[0]}':1}});"
        return f"<script>{script}</script><p>{body}</p>"
    if kind < 0.95:
        player = f"https://video.example/embed/{rng.randint(1, 99999)}"
        return f'<iframe src="{player}" width="560" height="315"></iframe><p>{body}</p>'
    if kind < 0.98:
        return (
            f"<p>{body}</p>"
            f'<img src="https://pixel.wp.com/g.gif?blog={rng.randint(1, 9999)}'
            f'&amp;post={rng.randint(1, 9999)}" '
            f'width="1" height="1" alt="" />'
        )
    return f"<h3>{_words(rng, 5)}</h3><p>{body}</p>"


@dataclass(frozen=True)
class SyntheticEntry:
    title: str
    link: str
    guid: str
    published: datetime
    author: str
    tags: tuple[str, ...]
    summary: str  # HTML
    content: str  # HTML


def synthetic_entries(
    index: int, *, entries: int = 30, size: int = 40_000, seed: int = 1
) -> list[SyntheticEntry]:
    """The entries of synthetic feed ``index``: the same for the same arguments, always."""
    rng = random.Random(seed * 1_000_003 + index)
    site = f"https://site{index}.example/"
    per_entry = max(400, size // max(entries, 1) - 420)  # XML wrapping is about 420 bytes
    result = []
    for j in range(entries):
        title = _title(rng)
        slug = "-".join(title.lower().split()[:5]).replace("&", "and").replace("\u2019", "")
        blocks: list[str] = []
        while sum(len(b) for b in blocks) < per_entry * 0.42:  # escaping and CDATA add the rest
            blocks.append(_paragraph(rng, site))
        summary = f"<p>{_words(rng, rng.randint(20, 35))}&#8230;</p>"
        published = BASE_TIME - timedelta(hours=j * 5 + rng.randint(0, 4), minutes=index % 60)
        result.append(
            SyntheticEntry(
                title=title,
                link=f"{site}{published:%Y/%m}/{slug}/",
                guid=f"{site}?p={index * 1000 + j}",
                published=published,
                author=rng.choice(
                    (
                        "Ada Lovelace",
                        "Grace Hopper",
                        "Alan Turing",
                        "Edsger Dijkstra",
                        "Barbara Liskov",
                    )
                ),
                tags=tuple(sorted({rng.choice(_WORDS) for _ in range(rng.randint(1, 4))})),
                summary=summary,
                content="\n".join(blocks),
            )
        )
    return result


def synthetic_feed(
    index: int, *, entries: int = 30, size: int = 40_000, seed: int = 1
) -> tuple[bytes, str]:
    """Feed ``index`` as (body, content type): RSS 2.0 for even indices, Atom for odd ones."""
    items = synthetic_entries(index, entries=entries, size=size, seed=seed)
    if index % 2 == 0:
        return _rss(index, items), "application/rss+xml; charset=utf-8"
    return _atom(index, items), "application/atom+xml; charset=utf-8"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _rss(index: int, items: list[SyntheticEntry]) -> bytes:
    site = f"https://site{index}.example/"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>Synthetic Feed {index} &amp; Friends</title>",
        f"<link>{site}</link>",
        f"<description>Benchmark feed number {index}</description>",
        "<language>en-us</language>",
        f"<lastBuildDate>{format_datetime(BASE_TIME, usegmt=True)}</lastBuildDate>",
    ]
    for e in items:
        out += [
            "<item>",
            f"<title>{html.escape(e.title, quote=False)}</title>",
            f"<link>{e.link}</link>",
            f'<guid isPermaLink="false">{html.escape(e.guid)}</guid>',
            f"<pubDate>{format_datetime(e.published, usegmt=True)}</pubDate>",
            f"<dc:creator>{e.author}</dc:creator>",
            *(f"<category>{tag}</category>" for tag in e.tags),
            f"<description>{html.escape(e.summary, quote=False)}</description>",
            f"<content:encoded>{_cdata(e.content)}</content:encoded>",
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out).encode("utf-8")


def _atom(index: int, items: list[SyntheticEntry]) -> bytes:
    site = f"https://site{index}.example/"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{site}">',
        f"<title>Synthetic Feed {index} &amp; Friends</title>",
        f'<link rel="alternate" type="text/html" href="{site}"/>',
        f"<id>tag:site{index}.example,2025:feed</id>",
        f"<updated>{BASE_TIME.isoformat()}</updated>",
    ]
    for e in items:
        out += [
            "<entry>",
            f'<title type="html">{html.escape(html.escape(e.title, quote=False))}</title>',
            f'<link rel="alternate" type="text/html" href="{e.link}"/>',
            f"<id>{html.escape(e.guid)}</id>",
            f"<published>{e.published.isoformat()}</published>",
            f"<updated>{e.published.isoformat()}</updated>",
            f"<author><name>{e.author}</name></author>",
            *(f'<category term="{tag}"/>' for tag in e.tags),
            f'<summary type="html">{html.escape(e.summary, quote=False)}</summary>',
            f'<content type="html">{html.escape(e.content, quote=False)}</content>',
            "</entry>",
        ]
    out += ["</feed>", ""]
    return "\n".join(out).encode("utf-8")


# --- what the server serves -----------------------------------------------------------


@dataclass
class Resource:
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    modified_at: float  # epoch seconds, for If-Modified-Since
    gzipped: bytes | None = None


@dataclass(frozen=True)
class Spec:
    """What to serve and how; picklable, so it crosses into the server process."""

    feeds: int = 300
    hosts: int = 50
    latency: float = 0.1
    gzip: bool = False
    corpus: str | None = None  # serve the feed files under this folder instead
    entries: int = 30
    size: int = 40_000
    seed: int = 1
    port: int = 0
    max_seconds: float = 3600.0


def build_site(spec: Spec) -> dict[str, Resource]:
    """Path -> resource, in feed order."""
    site: dict[str, Resource] = {}
    if spec.corpus:
        root = Path(spec.corpus)
        files = sorted(
            p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in FEED_SUFFIXES
        )
        for number, path in enumerate(files):
            rel = path.relative_to(root).as_posix()
            body = path.read_bytes()
            site["/" + urllib.parse.quote(rel)] = _resource(body, _content_type(path), number)
        return site
    for index in range(spec.feeds):
        body, content_type = synthetic_feed(
            index, entries=spec.entries, size=spec.size, seed=spec.seed
        )
        site[f"/feed-{index:05d}.xml"] = _resource(body, content_type, index)
    return site


def _content_type(path: Path) -> str:
    return {
        ".json": "application/feed+json",
        ".rss": "application/rss+xml",
        ".atom": "application/atom+xml",
        ".rdf": "application/rdf+xml",
    }.get(path.suffix.lower(), "application/xml")


def _resource(body: bytes, content_type: str, number: int) -> Resource:
    modified_at = BASE_TIME.timestamp() - number * 60
    return Resource(
        body=body,
        content_type=content_type,
        etag='"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"',
        last_modified=formatdate(modified_at, usegmt=True),
        modified_at=modified_at,
    )


def host_addresses(hosts: int) -> list[str]:
    if not 1 <= hosts <= MAX_HOSTS:
        raise ValueError(f"hosts must be 1..{MAX_HOSTS}")
    return [f"127.0.0.{FIRST_HOST + k}" for k in range(hosts)]


def feed_urls(paths: list[str], hosts: int, port: int) -> list[str]:
    addresses = host_addresses(hosts)
    return [f"http://{addresses[i % hosts]}:{port}{path}" for i, path in enumerate(paths)]


# --- the HTTP server ------------------------------------------------------------------


@dataclass
class Stats:
    requests: int = 0
    connections: int = 0
    bytes_out: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    in_flight: int = 0
    peak_in_flight: int = 0
    host_in_flight: Counter[str] = field(default_factory=Counter)
    host_peak: Counter[str] = field(default_factory=Counter)
    gzip_responses: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "connections": self.connections,
            "bytes_out": self.bytes_out,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "peak_in_flight": self.peak_in_flight,
            "peak_in_flight_per_host": max(self.host_peak.values(), default=0),
            "hosts_seen": len(self.host_peak),
            "gzip_responses": self.gzip_responses,
        }


class Server:
    """The asyncio HTTP/1.1 server itself (runs in whichever process calls :meth:`run`)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.site = build_site(spec)
        self.stats = Stats()
        self.port = 0
        self._servers: list[asyncio.base_events.Server] = []
        self._stop: asyncio.Event | None = None

    async def start(self) -> None:
        addresses = host_addresses(self.spec.hosts)
        for _attempt in range(20):
            port = self.spec.port or _free_port(addresses[0])
            try:
                for address in addresses:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        sock.bind((address, port))
                    except OSError:
                        sock.close()
                        raise
                    self._servers.append(
                        await asyncio.start_server(
                            self._client, sock=sock, backlog=1024, limit=HEADER_LIMIT
                        )
                    )
                self.port = port
                return
            except OSError:
                for server in self._servers:
                    server.close()
                self._servers.clear()
                if self.spec.port:
                    raise
        raise OSError("no port free on every loopback address")

    async def serve(self, until: asyncio.Event) -> None:
        self._stop = until
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), timeout=self.spec.max_seconds)
        for server in self._servers:
            server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        host = writer.get_extra_info("sockname")[0]
        # As nginx and Apache do on kept connections. asyncio sets it only on sockets made
        # with proto IPPROTO_TCP, which ours (proto 0) are not: without it, Nagle's
        # algorithm held each body behind its head until the client's delayed ACK, 40 ms
        # on every answer after a connection's first, a cost of this server, not of HTTP.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
                except (
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                    TimeoutError,
                    ConnectionError,
                ):
                    return
                keep_alive = await self._exchange(head, reader, writer, host)
                if not keep_alive:
                    return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _exchange(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            writer.write(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length", "0")
        if length.isdigit() and int(length):
            await reader.readexactly(min(int(length), 1 << 20))
        connection = headers.get("connection", "").lower()
        keep_alive = (
            "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        )
        stats = self.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.host_in_flight[host] += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        stats.host_peak[host] = max(stats.host_peak[host], stats.host_in_flight[host])
        try:
            if self.spec.latency > 0:
                await asyncio.sleep(self.spec.latency)
            status, extra, body = self._respond(method, target, headers)
            reason = {200: "OK", 304: "Not Modified", 404: "Not Found", 405: "Method Not Allowed"}[
                status
            ]
            out = [
                f"HTTP/1.1 {status} {reason}",
                f"Date: {formatdate(usegmt=True)}",
                "Server: roundup-bench",
            ]
            out += [f"{k}: {v}" for k, v in extra.items()]
            out.append(f"Content-Length: {len(body)}")
            if not keep_alive:
                out.append("Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
            if method != "HEAD" and body:
                writer.write(body)
                stats.bytes_out += len(body)
            stats.statuses[status] += 1
            await writer.drain()
        except ConnectionError:
            return False
        finally:
            stats.in_flight -= 1
            stats.host_in_flight[host] -= 1
        return keep_alive

    def _respond(
        self, method: str, target: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        path = urllib.parse.urlsplit(target).path
        if path == "/__stats":
            return (
                200,
                {"Content-Type": "application/json"},
                json.dumps(self.stats.as_dict()).encode(),
            )
        if path == "/__index.json":
            return 200, {"Content-Type": "application/json"}, json.dumps(list(self.site)).encode()
        if method not in ("GET", "HEAD"):
            return 405, {"Allow": "GET, HEAD"}, b""
        resource = self.site.get(path)
        if resource is None:
            return 404, {"Content-Type": "text/plain"}, b"not found\n"
        validators = {"ETag": resource.etag, "Last-Modified": resource.last_modified}
        if _not_modified(resource, headers):
            return 304, validators, b""
        extra = {"Content-Type": resource.content_type, **validators, "Vary": "Accept-Encoding"}
        if self.spec.gzip and "gzip" in headers.get("accept-encoding", "").lower():
            if resource.gzipped is None:
                resource.gzipped = gzip_module.compress(resource.body, compresslevel=6, mtime=0)
            self.stats.gzip_responses += 1
            return 200, {**extra, "Content-Encoding": "gzip"}, resource.gzipped
        return 200, extra, resource.body


def _not_modified(resource: Resource, headers: dict[str, str]) -> bool:
    if "if-none-match" in headers:
        tags = [t.strip().removeprefix("W/") for t in headers["if-none-match"].split(",")]
        return "*" in tags or resource.etag in tags
    since = headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since).timestamp() >= resource.modified_at
        except (TypeError, ValueError):
            return False
    return False


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


# --- running it in a separate process ---------------------------------------------------


def _child(conn: multiprocessing.connection.Connection, spec: Spec) -> None:
    """The server process: build the site, bind, report ready, serve until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    asyncio.run(_child_main(conn, spec))


async def _child_main(conn: multiprocessing.connection.Connection, spec: Spec) -> None:
    started = time.perf_counter()
    server = Server(spec)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_message() -> None:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone: stop
            loop.remove_reader(conn.fileno())
            stop.set()
            return
        if message == "stats":
            conn.send(server.stats.as_dict())
        elif message == "reset":
            server.stats = Stats()
            conn.send(True)
        else:
            loop.remove_reader(conn.fileno())
            stop.set()

    loop.add_reader(conn.fileno(), on_message)
    conn.send(
        {
            "port": server.port,
            "paths": list(server.site),
            "bytes": sum(len(r.body) for r in server.site.values()),
            "build_seconds": time.perf_counter() - started,
        }
    )
    await server.serve(stop)


class FeedServer:
    """The server in a separate process, as a context manager."""

    def __init__(self, **spec: Any) -> None:
        self.spec = Spec(**spec)
        self.urls: list[str] = []
        self.paths: list[str] = []
        self.port = 0
        self.total_bytes = 0
        self.build_seconds = 0.0
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_child, args=(child_conn, self.spec), daemon=True)
        self._child_conn = child_conn

    def __enter__(self) -> FeedServer:
        self._process.start()
        self._child_conn.close()
        if not self._conn.poll(300):
            self.close()
            raise RuntimeError("the feed server did not start within 300 s")
        ready = self._conn.recv()
        self.port = ready["port"]
        self.paths = ready["paths"]
        self.total_bytes = ready["bytes"]
        self.build_seconds = ready["build_seconds"]
        self.urls = feed_urls(self.paths, self.spec.hosts, self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def mean_size(self) -> float:
        return self.total_bytes / max(len(self.paths), 1)

    def stats(self) -> dict[str, Any]:
        self._conn.send("stats")
        if not self._conn.poll(30):
            raise RuntimeError("the feed server did not answer")
        result: dict[str, Any] = self._conn.recv()
        return result

    def reset_stats(self) -> None:
        self._conn.send("reset")
        if self._conn.poll(30):
            self._conn.recv()

    def close(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(OSError, BrokenPipeError):
                self._conn.send("stop")
            self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._conn.close()


@contextlib.contextmanager
def serving(**spec: Any) -> Iterator[FeedServer]:
    with FeedServer(**spec) as server:
        yield server


# --- command line ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.feedserver", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--feeds", type=int, default=300, help="synthetic feeds to serve (default 300)"
    )
    parser.add_argument(
        "--hosts", type=int, default=50, help="loopback addresses 127.0.0.2... (default 50)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.1, help="seconds per request (default 0.1)"
    )
    parser.add_argument("--gzip", action="store_true", help="gzip bodies for clients that ask")
    parser.add_argument("--corpus", help="serve the feed files under this folder instead")
    parser.add_argument(
        "--port", type=int, default=0, help="port on every address (default: any free)"
    )
    parser.add_argument(
        "--seconds", type=float, default=600, help="stop after this long (default 600)"
    )
    parser.add_argument(
        "--write-config", metavar="PATH", help="write a roundup feeds.yaml listing the feeds"
    )
    args = parser.parse_args(argv)
    spec = Spec(
        feeds=args.feeds,
        hosts=args.hosts,
        latency=args.latency,
        gzip=args.gzip,
        corpus=os.path.abspath(args.corpus) if args.corpus else None,
        port=args.port,
        max_seconds=args.seconds,
    )

    async def run() -> None:
        server = Server(spec)
        await server.start()
        urls = feed_urls(list(server.site), spec.hosts, server.port)
        size = sum(len(r.body) for r in server.site.values())
        print(
            f"serving {len(urls)} feeds ({size / 1e6:.1f} MB) on 127.0.0.{FIRST_HOST}-"
            f"127.0.0.{FIRST_HOST + spec.hosts - 1} port {server.port},"
            f" latency {spec.latency * 1000:g} ms;"
            f" stats at {urls[0].rsplit('/', 1)[0]}/__stats; stopping in {spec.max_seconds:g} s",
            flush=True,
        )
        if args.write_config:
            from benchmarks.common import feeds_yaml

            target = Path(args.write_config).absolute()
            target.parent.mkdir(parents=True, exist_ok=True)
            written = feeds_yaml(urls, target.parent)
            if written != target:
                written.replace(target)
            print(f"wrote {target}", flush=True)
        await server.serve(asyncio.Event())

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
