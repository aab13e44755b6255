"""The fetch stage against a real HTTP server on 127.0.0.1 (tests/feedserver.py)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import os
import socket
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from roundup.config import FetchSettings
from roundup.fetch import (
    ACCEPT,
    GONE,
    FetchRequest,
    FetchResult,
    fetch_all,
    fetch_many,
)
from roundup.transport import Answer, Target
from tests.feedserver import FeedServer, Reply, feed_server_fixture  # noqa: F401  (fixture)

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
SETTINGS = FetchSettings(timeout=5.0, retries=2, user_agent="roundup-test/1")
BIG = 65_536  # bytes per write of an oversize body
LIMIT = 100_000


class FakeSleep:
    """Records each requested wait and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def fetch_one(
    url: str,
    settings: FetchSettings = SETTINGS,
    sleep: FakeSleep | None = None,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    body_hash: str | None = None,
) -> FetchResult:
    """Fetch one URL with what the store would remember, waiting through a fake sleep."""
    request = FetchRequest(url, url, etag, last_modified, body_hash)
    [result] = fetch_many([request], settings, sleep=sleep or FakeSleep())
    return result


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- plain responses -------------------------------------------------------------------


def test_200_returns_body_hash_and_validators(feed_server: FeedServer) -> None:
    """A 200 is "fetched" with its body, sha256, ETag, Last-Modified and Content-Type."""
    headers = {"ETag": '"v1"', "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"}
    url = feed_server.route("/feed.xml", Reply(200, RSS, {**headers, "Content-Type": "text/xml"}))
    result = fetch_one(url)
    assert result == FetchResult(
        key=url,
        url=url,
        status="fetched",
        body=RSS,
        body_hash=sha(RSS),
        etag='"v1"',
        last_modified="Wed, 21 Oct 2015 07:28:00 GMT",
        content_type="text/xml",
        http_status=200,
    )


def test_sends_user_agent_accept_and_gzip(feed_server: FeedServer) -> None:
    """Every request carries the configured User-Agent, the feed Accept list and gzip."""
    fetch_one(feed_server.route("/feed.xml", Reply(200, RSS)))
    [received] = feed_server.requests_to("/feed.xml")
    assert received.headers["User-Agent"] == "roundup-test/1"
    assert received.headers["Accept"] == ACCEPT
    assert "gzip" in received.headers["Accept-Encoding"]


@pytest.mark.parametrize(
    ("validators", "expected"),
    [
        ({"etag": '"abc"'}, {"If-None-Match": '"abc"', "If-Modified-Since": None}),
        (
            {"last_modified": "Wed, 21 Oct 2015 07:28:00 GMT"},
            {"If-None-Match": None, "If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT"},
        ),
        (
            {"etag": 'W/"x"', "last_modified": "Thu, 01 Jan 2015 00:00:00 GMT"},
            {"If-None-Match": 'W/"x"', "If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"},
        ),
    ],
)
def test_304_is_not_modified_after_conditional_get(
    feed_server: FeedServer, validators: dict[str, str], expected: dict[str, str | None]
) -> None:
    """Stored validators are sent as If-None-Match/If-Modified-Since; 304 → "not_modified"."""
    url = feed_server.route("/feed.xml", Reply(304))
    etag, last_modified = validators.get("etag"), validators.get("last_modified")
    result = fetch_one(url, etag=etag, last_modified=last_modified, body_hash="h")
    [received] = feed_server.requests_to("/feed.xml")
    assert {name: received.headers[name] for name in expected} == expected
    assert (result.status, result.body, result.http_status) == ("not_modified", None, 304)
    # a 304 without validators keeps the stored ones for the next conditional GET
    assert (result.etag, result.last_modified, result.body_hash) == (etag, last_modified, "h")


def test_no_validators_sends_a_plain_get(feed_server: FeedServer) -> None:
    """Without a stored ETag or Last-Modified no conditional header is sent."""
    fetch_one(feed_server.route("/feed.xml", Reply(200, RSS)))
    [received] = feed_server.requests_to("/feed.xml")
    assert (received.headers["If-None-Match"], received.headers["If-Modified-Since"]) == (
        None,
        None,
    )


def test_same_body_hash_is_unchanged(feed_server: FeedServer) -> None:
    """A 200 whose sha256 equals the stored body_hash is "unchanged", with no body."""
    url = feed_server.route("/feed.xml", Reply(200, RSS, {"ETag": '"v2"'}))
    result = fetch_one(url, body_hash=sha(RSS))
    assert (result.status, result.body, result.body_hash) == ("unchanged", None, sha(RSS))
    assert (result.etag, result.http_status) == ('"v2"', 200)


def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    """A gzip-encoded body comes back decoded, and its hash is of the decoded bytes."""
    body = RSS * 200
    result = fetch_one(feed_server.route("/feed.xml", Reply(200, body, gzip=True)))
    [received] = feed_server.requests_to("/feed.xml")
    assert (result.status, result.body, result.body_hash) == ("fetched", body, sha(body))
    assert received.bytes_sent < len(body)  # it really travelled compressed


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # the zlib format RFC 9110 names
        ("deflate", _raw_deflate),  # what some servers send instead
        ("identity", bytes),
        ("GZip", gzip.compress),
    ],
)
def test_encoded_bodies_are_decoded(
    feed_server: FeedServer, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = RSS * 50
    headers = {"Content-Encoding": coding}
    result = fetch_one(feed_server.route("/feed.xml", Reply(200, encode(body), headers)))
    assert (result.status, result.body) == ("fetched", body)


def test_an_unknown_encoding_fails_with_its_name(feed_server: FeedServer) -> None:
    headers = {"Content-Encoding": "br"}
    result = fetch_one(feed_server.route("/feed.xml", Reply(200, b"\x1b\x00", headers)))
    assert (result.status, result.error) == (
        "failed",
        "cannot decode the response body: unsupported Content-Encoding 'br'",
    )


# --- redirects and status codes --------------------------------------------------------


@pytest.mark.parametrize(
    ("hops", "moved"),
    [
        ([301], True),
        ([308], True),
        ([301, 308, 301], True),
        ([302], False),
        ([303], False),
        ([307], False),
        ([301, 302], False),
        ([302, 301], False),
    ],
)
def test_redirect_chain_sets_moved_to_only_when_all_permanent(
    feed_server: FeedServer, hops: list[int], moved: bool
) -> None:
    """moved_to is the final URL when every hop is 301/308, else None; the body arrives."""
    final = feed_server.route("/new/feed.xml", Reply(200, RSS))
    url = redirect_chain(feed_server, hops, "/new/feed.xml")
    result = fetch_one(url)
    assert (result.status, result.body, result.url) == ("fetched", RSS, url)
    assert result.moved_to == (final if moved else None)


def redirect_chain(server: FeedServer, hops: list[int], target: str) -> str:
    """Route /hop/0 → /hop/1 → ... → ``target`` with the given statuses; return the first URL.

    Location headers alternate between absolute and relative, to cover both.
    """
    paths = [f"/hop/{index}" for index in range(len(hops))] + [target]
    locations = [path if index % 2 else server.url(path) for index, path in enumerate(paths)]
    routes = [
        server.route(path, Reply(status, headers={"Location": location}))
        for path, status, location in zip(paths, hops, locations[1:], strict=False)
    ]
    return routes[0]


def test_permanent_redirect_to_a_failure_is_not_a_move(feed_server: FeedServer) -> None:
    """A 301 that leads to a 404 fails and does not report the broken URL as moved_to."""
    feed_server.route("/old", Reply(301, headers={"Location": "/missing"}))
    result = fetch_one(feed_server.url("/old"))
    assert (result.status, result.error, result.moved_to) == ("failed", "HTTP 404 Not Found", None)


def test_redirect_loop_fails_after_five_hops(feed_server: FeedServer) -> None:
    """More than five redirects fail with a clear reason, having made six requests."""
    url = feed_server.route("/loop", Reply(302, headers={"Location": "/loop"}))
    result = fetch_one(url)
    assert (result.status, result.error) == ("failed", "too many redirects (more than 5)")
    assert len(feed_server.requests_to("/loop")) == 6


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "HTTP 301 Moved Permanently without a Location header"),
        (
            {"Location": "ftp://feeds.example/feed.xml"},
            "redirected to ftp://feeds.example/feed.xml: not an http or https URL",
        ),
    ],
)
def test_unusable_redirect_fails(
    feed_server: FeedServer, headers: dict[str, str], error: str
) -> None:
    """A redirect without a Location, or to a non-HTTP URL, fails without a retry."""
    url = feed_server.route("/feed.xml", Reply(301, headers=headers))
    result = fetch_one(url)
    assert (result.status, result.error, result.attempts) == ("failed", error, 1)


def test_410_is_gone(feed_server: FeedServer) -> None:
    """HTTP 410 → "gone" with advice to delete the feed, and no retry."""
    url = feed_server.route("/feed.xml", Reply(410))
    sleep = FakeSleep()
    result = fetch_one(url, sleep=sleep)
    assert (result.status, result.error, result.http_status) == ("gone", GONE, 410)
    assert (result.attempts, sleep.calls) == (1, [])


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, "HTTP 400 Bad Request"),
        (401, "HTTP 401 Unauthorized"),
        (403, "HTTP 403 Forbidden"),
        (404, "HTTP 404 Not Found"),
        (451, "HTTP 451 Unavailable For Legal Reasons"),
    ],
)
def test_other_4xx_fail_without_retry(feed_server: FeedServer, status: int, error: str) -> None:
    """A 4xx other than 410 and 429 is "failed" with the status named, after one attempt."""
    url = feed_server.route("/feed.xml", Reply(status))
    result = fetch_one(url)
    assert (result.status, result.error, result.http_status) == ("failed", error, status)
    assert len(feed_server.requests_to("/feed.xml")) == result.attempts == 1


# --- retries ---------------------------------------------------------------------------


def test_500_then_success_is_retried(feed_server: FeedServer) -> None:
    """A 500 followed by a 200 is "fetched" on the second attempt after a 0.5 s backoff."""
    url = feed_server.route("/feed.xml", Reply(500), Reply(200, RSS))
    sleep = FakeSleep()
    result = fetch_one(url, sleep=sleep)
    assert (result.status, result.body, result.attempts) == ("fetched", RSS, 2)
    assert sleep.calls == [0.5]


def test_500_always_fails_after_all_attempts(feed_server: FeedServer) -> None:
    """A feed that always answers 500 fails after retries+1 attempts with doubling backoff."""
    url = feed_server.route("/feed.xml", Reply(500))
    sleep = FakeSleep()
    result = fetch_one(url, sleep=sleep)
    assert result.status == "failed"
    assert result.error == "HTTP 500 Internal Server Error; gave up after 3 attempts"
    assert (result.attempts, result.http_status, sleep.calls) == (3, 500, [0.5, 1.0])
    assert len(feed_server.requests_to("/feed.xml")) == 3


def at(seconds: int) -> str:
    """An HTTP-date ``seconds`` after a fixed instant."""
    return format_datetime(
        datetime(2024, 5, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=seconds), True
    )


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (429, {"Retry-After": "2"}, 2.0),
        (503, {"Retry-After": "0"}, 0.0),
        (503, {"Date": at(0), "Retry-After": at(5)}, 5.0),
        (429, {"Date": at(0), "Retry-After": at(-30)}, 0.0),  # a date in the past: no wait
        (429, {"Retry-After": "soon"}, 0.5),  # unusable: the normal backoff
        (429, {}, 0.5),
        (502, {"Retry-After": "7"}, 0.5),  # only 429 and 503 carry a meaningful Retry-After
    ],
)
def test_retry_after_is_honoured(
    feed_server: FeedServer, status: int, headers: dict[str, str], wait: float
) -> None:
    """429/503 wait as Retry-After says (seconds, or an HTTP-date against Date), then retry."""
    url = feed_server.route("/feed.xml", Reply(status, headers=headers), Reply(200, RSS))
    sleep = FakeSleep()
    result = fetch_one(url, sleep=sleep)
    assert (result.status, result.attempts, sleep.calls) == ("fetched", 2, [wait])


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "3600"}, {"Date": at(0), "Retry-After": at(3600)}],
)
def test_retry_after_too_long_fails_at_once(
    feed_server: FeedServer, headers: dict[str, str]
) -> None:
    """A Retry-After past the feed's deadline fails the feed now instead of stalling the run."""
    url = feed_server.route("/feed.xml", Reply(429, headers=headers))
    sleep = FakeSleep()
    result = fetch_one(url, sleep=sleep)
    assert result.status == "failed"
    assert result.error == (
        "HTTP 429 Too Many Requests: the server asked to be retried in 3600 s, "
        "past the end of the 60 s deadline (fetch.deadline)"
    )
    assert (result.attempts, sleep.calls) == (1, [])


def test_connection_refused_is_retried_then_failed() -> None:
    """A refused connection is retried, then "failed" with a connection reason."""
    sleep = FakeSleep()
    result = fetch_one(f"http://127.0.0.1:{closed_port()}/feed.xml", sleep=sleep)
    assert (result.status, result.attempts, sleep.calls) == ("failed", 3, [0.5, 1.0])
    assert result.error is not None
    assert result.error.startswith("connection failed: ")
    assert result.error.endswith("; gave up after 3 attempts")


# --- time limits -----------------------------------------------------------------------


def test_timeout_fails_with_reason(feed_server: FeedServer) -> None:
    """A server slower than the timeout fails with "timed out", after retries."""
    url = feed_server.route("/feed.xml", Reply(200, RSS, delay=5.0))
    settings = FetchSettings(timeout=0.2, retries=1)
    sleep = FakeSleep()
    result = fetch_one(url, settings, sleep)
    assert (result.status, result.attempts, sleep.calls) == ("failed", 2, [0.5])
    assert result.error == "timed out after 0.2 s; gave up after 2 attempts"


def test_slow_server_within_timeout_succeeds(feed_server: FeedServer) -> None:
    """A server that answers after 0.3 s with a 2 s timeout is fetched on the first try."""
    url = feed_server.route("/feed.xml", Reply(200, RSS, delay=0.3))
    result = fetch_one(url, FetchSettings(timeout=2.0, retries=0))
    assert (result.status, result.body, result.attempts) == ("fetched", RSS, 1)


# --- the deadline and the budget -------------------------------------------------------

DRIP = b"d" * 60  # one byte a second: a minute for the whole body, each read well in time


def requests_for(*urls: str) -> list[FetchRequest]:
    return [FetchRequest(key=url, url=url) for url in urls]


def good_feeds(server: FeedServer, count: int = 3) -> list[str]:
    return [server.route(f"/good/{n}", Reply(200, b"feed %d" % n)) for n in range(count)]


def test_dripping_feed_fails_at_its_deadline_and_the_others_are_fetched(
    feed_server: FeedServer,
) -> None:
    """A body that would drip for 60 s fails at the 1 s deadline; the run's other feeds work.

    Each read gets its byte within a second, far inside the 5 s read timeout, so only the
    deadline can end it; the server sent a few bytes, not the minute's worth.
    """
    drip = feed_server.route("/drip", Reply(200, DRIP, drip=1.0))
    good = good_feeds(feed_server)
    settings = FetchSettings(timeout=5.0, deadline=1.0)
    results = fetch_many(requests_for(good[0], drip, *good[1:]), settings)
    outcome = {result.url: (result.status, result.error) for result in results}
    assert outcome[drip] == (
        "failed",
        "no complete answer within the 1 s deadline (fetch.deadline)",
    )
    assert [outcome[url] for url in good] == [("fetched", None)] * 3
    [received] = feed_server.requests_to("/drip")
    assert received.bytes_sent < len(DRIP) // 2


def test_budget_ends_the_running_feed_and_the_queued_ones(feed_server: FeedServer) -> None:
    """When the fetch budget is spent, the feed still running and those still queued fail.

    One feed at a time: the first is fetched, the dripping second holds the only slot
    until the 1 s budget runs out (its own 60 s deadline is far off), and the third never
    gets a turn.
    """
    first, queued = good_feeds(feed_server, 2)
    drip = feed_server.route("/drip", Reply(200, DRIP, drip=1.0))
    settings = FetchSettings(concurrency=1, deadline=60.0, budget=1.0)
    results = fetch_many(requests_for(first, drip, queued), settings)
    assert [(result.status, result.error) for result in results] == [
        ("fetched", None),
        ("failed", "no complete answer before the 1 s fetch budget (fetch.budget) ran out"),
        (
            "failed",
            "not fetched: the 1 s fetch budget (fetch.budget) ran out before it had a turn",
        ),
    ]
    assert feed_server.requests_to("/good/1") == []


def test_deadline_starts_when_the_feed_gets_its_turn(feed_server: FeedServer) -> None:
    """Time spent queued behind other feeds is not charged to a feed's own deadline.

    Five feeds of 0.5 s each, one at a time, take 2.5 s together: more than the 2 s
    deadline, yet each feed's own time is well inside it.
    """
    urls = [feed_server.route(f"/slow/{n}", Reply(200, RSS, delay=0.5)) for n in range(5)]
    results = fetch_many(requests_for(*urls), FetchSettings(concurrency=1, deadline=2.0))
    assert [result.status for result in results] == ["fetched"] * 5


@pytest.mark.parametrize(
    ("settings", "limit"),
    [
        (FetchSettings(), "the 60 s deadline (fetch.deadline)"),
        (FetchSettings(deadline=600.0, budget=100.0), "the 100 s fetch budget (fetch.budget)"),
    ],
    ids=["deadline", "budget"],
)
def test_503_retry_after_120_fails_now_naming_the_wait(
    feed_server: FeedServer, settings: FetchSettings, limit: str
) -> None:
    """A 503 asking for 120 s, beyond what the limits leave, fails at once and says so.

    The fake sleep would return at once; it is never even asked to wait.
    """
    url = feed_server.route("/busy", Reply(503, headers={"Retry-After": "120"}))
    sleep = FakeSleep()
    result = fetch_one(url, settings, sleep)
    assert (result.status, result.http_status, result.attempts) == ("failed", 503, 1)
    assert result.error == (
        "HTTP 503 Service Unavailable: the server asked to be retried in 120 s, "
        f"past the end of {limit}"
    )
    assert sleep.calls == []
    assert len(feed_server.requests_to("/busy")) == 1


def test_retry_after_within_the_deadline_is_still_honoured(feed_server: FeedServer) -> None:
    """A 503 asking for 120 s is waited out when the deadline leaves room for it."""
    url = feed_server.route("/busy", Reply(503, headers={"Retry-After": "120"}), Reply(200, RSS))
    sleep = FakeSleep()
    result = fetch_one(url, FetchSettings(deadline=600.0), sleep)
    assert (result.status, result.attempts, sleep.calls) == ("fetched", 2, [120.0])


def test_backoff_past_the_deadline_gives_up_with_the_reason(feed_server: FeedServer) -> None:
    """With retries to spare, a backoff that would outlast the deadline is not started.

    The feed fails with the server's own reason and no sleep reaches the deadline.
    """
    url = feed_server.route("/feed.xml", Reply(500))
    sleep = FakeSleep()
    result = fetch_one(url, FetchSettings(retries=10, deadline=5.0), sleep)
    assert result.status == "failed"
    assert (result.error or "").startswith("HTTP 500 Internal Server Error; gave up after ")
    assert (result.error or "").endswith(
        " attempts: no time left to retry within the 5 s deadline (fetch.deadline)"
    )
    assert 1 < result.attempts < 11
    assert len(sleep.calls) == result.attempts - 1
    assert all(wait < 5.0 for wait in sleep.calls)


# --- body size -------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversize_body_is_refused_without_reading_it(
    feed_server: FeedServer, chunked: bool
) -> None:
    """A body over max_bytes fails, and the client hangs up long before the server is done."""
    repeat = 1000  # 65 MB offered: far more than loopback socket buffers hold
    url = feed_server.route("/big", Reply(200, b"x" * BIG, chunked=chunked, repeat=repeat))
    result = fetch_one(url, FetchSettings(max_bytes=LIMIT, retries=0))
    assert (result.status, result.body, result.http_status) == ("failed", None, 200)
    assert result.error == f"body larger than {LIMIT} bytes (raise fetch.max_bytes to accept it)"
    feed_server.wait_idle()
    [received] = feed_server.requests_to("/big")
    assert not received.completed
    assert received.bytes_sent < BIG * repeat // 2


@pytest.mark.parametrize(
    ("size", "status"),
    [(LIMIT, "fetched"), (LIMIT + 1, "failed")],
)
def test_max_bytes_boundary(feed_server: FeedServer, size: int, status: str) -> None:
    """A chunked body of exactly max_bytes is accepted; one byte more is refused."""
    url = feed_server.route("/feed.xml", Reply(200, b"y" * size, chunked=True))
    assert fetch_one(url, FetchSettings(max_bytes=LIMIT)).status == status


def test_corrupt_gzip_body_fails(feed_server: FeedServer) -> None:
    """A body that claims gzip but is not fails with a decoding reason, not an exception."""
    headers = {"Content-Encoding": "gzip"}
    url = feed_server.route("/feed.xml", Reply(200, b"plain text, not gzip", headers))
    result = fetch_one(url)
    assert result.status == "failed"
    assert (result.error or "").startswith("cannot decode the response body: ")


def test_oversize_gzip_body_is_measured_decoded(feed_server: FeedServer) -> None:
    """The limit applies to decoded bytes: a small gzip that inflates past it is refused."""
    url = feed_server.route("/bomb", Reply(200, b"\0" * (LIMIT * 20), gzip=True))
    result = fetch_one(url, FetchSettings(max_bytes=LIMIT))
    assert (result.status, result.error) == (
        "failed",
        f"body larger than {LIMIT} bytes (raise fetch.max_bytes to accept it)",
    )


# --- concurrency -----------------------------------------------------------------------


def slow_feeds(server: FeedServer, group: str, count: int, delay: float) -> list[FetchRequest]:
    urls = [server.route(f"/{group}/{n}", Reply(200, RSS, delay=delay)) for n in range(count)]
    return [FetchRequest(key=url, url=url) for url in urls]


@pytest.mark.parametrize(
    ("concurrency", "per_host", "peak"),
    [(32, 2, 2), (3, 10, 3), (1, 4, 1)],
)
def test_in_flight_limits_are_respected(
    feed_server: FeedServer, concurrency: int, per_host: int, peak: int
) -> None:
    """The server never sees more than per_host (one host) or concurrency requests at once."""
    requests = slow_feeds(feed_server, "slow", 6, 0.1)
    settings = FetchSettings(concurrency=concurrency, per_host=per_host)
    results = fetch_many(requests, settings)
    assert [result.status for result in results] == ["fetched"] * 6
    assert feed_server.peak("slow") == peak


def test_feeds_are_fetched_concurrently(feed_server: FeedServer) -> None:
    """Ten slow feeds are in flight together (the server counts them; no wall clock)."""
    requests = slow_feeds(feed_server, "slow", 10, 0.3)
    results = fetch_many(requests, FetchSettings(concurrency=10, per_host=10))
    assert [result.status for result in results] == ["fetched"] * 10
    assert feed_server.peak("slow") >= 5


def test_results_keep_request_order_and_report_as_they_finish(feed_server: FeedServer) -> None:
    """Results follow the request order; on_result sees each feed when it finishes."""
    slow = feed_server.route("/a/slow", Reply(200, b"slow", delay=0.4))
    fast = feed_server.route("/b/fast", Reply(200, b"fast"))
    seen: list[str] = []
    requests = [FetchRequest(key="slow", url=slow), FetchRequest(key="fast", url=fast)]
    results = asyncio.run(
        fetch_all(requests, SETTINGS, on_result=lambda result: seen.append(result.key))
    )
    assert [result.key for result in results] == ["slow", "fast"]
    assert seen == ["fast", "slow"]


def test_on_result_exception_propagates(feed_server: FeedServer) -> None:
    """An error in the caller's on_result stops the run and reaches the caller unwrapped."""
    url = feed_server.route("/feed.xml", Reply(200, RSS))

    def explode(result: FetchResult) -> None:
        raise RuntimeError(f"progress bar broke on {result.key}")

    with pytest.raises(RuntimeError, match="progress bar broke"):
        fetch_many([FetchRequest(key="k", url=url)], SETTINGS, on_result=explode)


def test_one_failing_feed_does_not_affect_the_others(feed_server: FeedServer) -> None:
    """Refused, 500, 404 and malformed feeds fail alone; the good feeds are fetched."""
    good = [feed_server.route(f"/good/{n}", Reply(200, b"feed %d" % n)) for n in range(3)]
    bad = [
        f"http://127.0.0.1:{closed_port()}/feed.xml",
        feed_server.route("/bad/500", Reply(500)),
        feed_server.route("/bad/404", Reply(404)),
        "http://[::1/feed.xml",
    ]
    urls = [good[0], *bad[:2], good[1], *bad[2:], good[2]]
    results = fetch_many(
        [FetchRequest(key=url, url=url) for url in urls], SETTINGS, sleep=FakeSleep()
    )
    statuses = {result.url: result.status for result in results}
    assert [statuses[url] for url in good] == ["fetched"] * 3
    assert [statuses[url] for url in bad] == ["failed"] * 4
    assert [result.body for result in results if result.url in good] == [
        b"feed 0",
        b"feed 1",
        b"feed 2",
    ]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/feed.xml", "invalid URL: Invalid IPv6 URL"),
        ("https:///feed.xml", "invalid URL: no host"),
        ("ftp-ish://example.com/feed", "no such file: ftp-ish:/example.com/feed"),
    ],
)
def test_malformed_urls_fail_without_raising(url: str, reason: str) -> None:
    """A URL that cannot even be requested is a "failed" result, not an exception."""
    result = fetch_one(url)
    assert (result.status, result.error) == ("failed", reason)


def test_no_requests_give_no_results() -> None:
    """An empty request list is an empty result list."""
    assert fetch_many([], SETTINGS) == []


class EchoTransport:
    """Answers every GET with its own path, without a network."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, list[tuple[str, str]]]] = []

    async def get(
        self, target: Target, headers: Sequence[tuple[str, str]], timeout: float | None
    ) -> Answer:
        self.asked.append((str(target), list(headers)))
        return Answer.of(200, target.path.encode(), {"ETag": '"e"'})


def test_injected_transport_is_used() -> None:
    """A transport passed in replaces the network; it gets the parsed URL and the headers."""
    transport = EchoTransport()
    result = fetch_many(
        [FetchRequest(key="k", url="https://feeds.example/some/feed?x=1")],
        SETTINGS,
        transport=transport,
    )
    assert [(r.status, r.body, r.etag) for r in result] == [("fetched", b"/some/feed?x=1", '"e"')]
    [(url, headers)] = transport.asked
    assert url == "https://feeds.example/some/feed?x=1"
    assert ("User-Agent", "roundup-test/1") in headers


# --- local files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored_hash", "status", "body"),
    [(None, "fetched", RSS), (sha(b"older"), "fetched", RSS), (sha(RSS), "unchanged", None)],
)
def test_local_file_is_read_and_compared(
    tmp_path: Path, stored_hash: str | None, status: str, body: bytes | None
) -> None:
    """A local path is read from disk; the same hash as last time is "unchanged"."""
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS)
    request = FetchRequest(key=str(path), url=str(path), body_hash=stored_hash)
    [result] = fetch_many([request], SETTINGS)
    assert (result.status, result.body, result.body_hash) == (status, body, sha(RSS))


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("missing.xml", None, "no such file: {path}"),
        ("dir", "dir", "not a regular file: {path} is a directory"),
        (
            "big.xml",
            b"z" * (LIMIT + 1),
            "body larger than 100000 bytes (raise fetch.max_bytes to accept it)",
        ),
    ],
)
def test_unreadable_local_file_fails(
    tmp_path: Path, name: str, content: bytes | str | None, error: str
) -> None:
    """A missing, unreadable or oversize local file is "failed" with the path named."""
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    [result] = fetch_many(
        [FetchRequest(key=str(path), url=str(path))], FetchSettings(max_bytes=LIMIT)
    )
    assert (result.status, result.error) == ("failed", error.format(path=path))


def fetch_in_thread(
    requests: list[FetchRequest], unblock: Callable[[], None], within: float = 10.0
) -> list[FetchResult]:
    """Fetch in a thread so that a fetch that blocks fails the test instead of hanging it.

    ``unblock`` releases whatever the fetch is stuck on, so no thread outlives the test.
    """
    results: list[FetchResult] = []
    thread = threading.Thread(
        target=lambda: results.extend(fetch_many(requests, SETTINGS)), daemon=True
    )
    thread.start()
    thread.join(within)
    if thread.is_alive():
        unblock()
        thread.join(within)
        pytest.fail(f"the fetch was still blocked after {within:g} s")
    return results


def open_writer(fifo: Path) -> None:
    """Open and close the FIFO's writing end: a reader blocked in open() then sees EOF."""
    with contextlib.suppress(OSError):  # no reader waiting: nothing is blocked
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def test_fifo_feed_fails_without_blocking_and_the_others_are_read(tmp_path: Path) -> None:
    """A feed path that is a named pipe with no writer fails at once, naming the path."""
    fifo = tmp_path / "feed.xml"
    os.mkfifo(fifo)
    good = tmp_path / "good.xml"
    good.write_bytes(RSS)
    results = fetch_in_thread(requests_for(str(fifo), str(good)), lambda: open_writer(fifo))
    assert [(result.status, result.error) for result in results] == [
        ("failed", f"not a regular file: {fifo} is a named pipe (FIFO)"),
        ("fetched", None),
    ]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_device_feed_fails_unread(device: str) -> None:
    """A character device is refused unread: no 20 MB of zeros, no empty "feed" from null."""
    if not Path(device).exists():
        pytest.skip(f"no {device} here")
    results = fetch_in_thread(requests_for(device), lambda: None)
    assert [(result.status, result.error) for result in results] == [
        ("failed", f"not a regular file: {device} is a character device")
    ]


def test_a_large_per_host_is_kept(feed_server: FeedServer) -> None:
    """An aggregator's host with a large per_host sees exactly that many requests at once."""
    requests = slow_feeds(feed_server, "wide", 30, 0.6)
    results = fetch_many(requests, FetchSettings(concurrency=64, per_host=20))
    assert [result.status for result in results] == ["fetched"] * 30
    assert feed_server.peak("wide") == 20


@pytest.mark.parametrize(
    ("reply", "status", "connections"),
    [
        (Reply(304, headers={"ETag": '"v1"'}), "not_modified", 1),
        (Reply(304), "not_modified", 1),  # no Content-Length: a 304 has no body anyway
        (Reply(200, RSS), "fetched", 1),
        (Reply(404, b"<html>not here</html>"), "failed", 1),
        (Reply(404, b"x" * 100, chunked=True), "failed", 4),  # unknown length: not read
        (Reply(404, b"x", repeat=70_000), "failed", 4),  # too long to be worth reading
    ],
)
def test_a_host_s_feeds_share_one_connection(
    feed_server: FeedServer, reply: Reply, status: str, connections: int
) -> None:
    """Answers read to their end leave the connection open for the host's next feed; a
    long or unbounded body we do not need is not waited for."""
    urls = [feed_server.route(f"/k/{n}", reply) for n in range(4)]
    requests = [FetchRequest(key=url, url=url, etag='"v1"') for url in urls]
    results = fetch_many(requests, replace(SETTINGS, concurrency=1, per_host=1, retries=0))
    assert [result.status for result in results] == [status] * 4
    assert feed_server.connections == connections


def test_feeds_go_through_the_environment_s_proxy(
    feed_server: FeedServer, clean_proxy_env: pytest.MonkeyPatch
) -> None:
    """With http_proxy set, the request goes to the proxy in absolute form (the feed's host
    is never looked up); a host in no_proxy is fetched directly."""
    far = "http://feeds.invalid/proxied.xml"
    feed_server.route(far, Reply(200, RSS))
    near = feed_server.route("/direct.xml", Reply(200, RSS))
    clean_proxy_env.setenv("http_proxy", f"http://127.0.0.1:{feed_server.port}")
    clean_proxy_env.setenv("no_proxy", "127.0.0.1")
    results = fetch_many([FetchRequest(key=u, url=u) for u in (far, near)], SETTINGS)
    assert [result.status for result in results] == ["fetched", "fetched"]
    assert sorted(request.path for request in feed_server.received) == ["/direct.xml", far]


def test_on_result_takes_the_bodies_over(feed_server: FeedServer) -> None:
    """The caller that handles each result gets the body; the returned results hold none."""
    urls = [feed_server.route(f"/b/{n}", Reply(200, RSS + b" " * n)) for n in range(3)]
    seen: dict[str, int] = {}

    def take(result: FetchResult) -> None:
        seen[result.key] = len(result.body or b"")

    results = fetch_many([FetchRequest(key=u, url=u) for u in urls], SETTINGS, on_result=take)
    assert seen == {url: len(RSS) + n for n, url in enumerate(urls)}
    assert [(r.status, r.body, r.body_hash is not None) for r in results] == [
        ("fetched", None, True)
    ] * 3


def test_downloads_wait_for_a_slow_taker(feed_server: FeedServer) -> None:
    """While `concurrency` bodies wait for on_result, no further download starts."""
    urls = [feed_server.route(f"/w/{n}", Reply(200, RSS)) for n in range(8)]
    waiting = 0
    most = 0

    async def take(result: FetchResult) -> None:
        nonlocal waiting, most
        waiting += 1
        most = max(most, waiting)
        await asyncio.sleep(0.05)
        waiting -= 1

    settings = FetchSettings(concurrency=2, per_host=4)
    results = asyncio.run(
        fetch_all([FetchRequest(key=u, url=u) for u in urls], settings, on_result=take)
    )
    assert [result.status for result in results] == ["fetched"] * 8
    assert most == 2
