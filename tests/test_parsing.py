"""The parse queue: workers only when a body comes, every parse reported, errors raised."""

from __future__ import annotations

import asyncio
import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundup.parse import parse_feed
from roundup.parsing import (
    PARALLEL_MIN_FEEDS,
    FeedRows,
    InlineExecutor,
    Parsed,
    ParseJob,
    ParseQueue,
    parse_job,
)
from roundup.store import FeedUpdate, Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2015, 8, 14, tzinfo=UTC)
RSS = (ROOT / "samples" / "feeds" / "elicitor.rss").read_bytes()


def job(n: int, body: bytes = RSS) -> ParseJob:
    url = f"https://example.org/{n}.rss"
    return ParseJob(body, url, url, NOW, None, "application/rss+xml")


def parse_all(feeds: int, jobs: list[ParseJob]) -> tuple[dict[int, Parsed], bool]:
    """Every job through a queue sized for ``feeds``: results by tag, and whether worker
    processes were started."""
    found: dict[int, Parsed] = {}

    async def main() -> bool:
        async with ParseQueue[int](feeds, found.__setitem__) as queue:
            for n, each in enumerate(jobs):
                await queue.put(n, each)
        return queue.executor is not None and not isinstance(queue.executor, InlineExecutor)

    return found, asyncio.run(main())


@pytest.mark.parametrize("feeds", [1, PARALLEL_MIN_FEEDS * 4])
def test_every_body_is_parsed_and_reported(feeds: int) -> None:
    """Inline or in worker processes, each body's result reaches done() with its tag."""
    found, pooled = parse_all(feeds, [job(n) for n in range(12)] + [job(99, b"not a feed")])
    assert pooled == (feeds > PARALLEL_MIN_FEEDS)
    assert sorted(found) == [*range(12), 12]
    assert all(isinstance(r := found[n], FeedRows) and r.entries.rows for n in range(12))
    assert isinstance(found[12], str)


def test_no_body_starts_no_workers() -> None:
    """A run where every feed answered 304 never starts the process pool."""
    found, pooled = parse_all(PARALLEL_MIN_FEEDS * 4, [])
    assert (found, pooled) == ({}, False)


def test_an_error_in_done_reaches_the_caller() -> None:
    """A failure while storing a parse (say, a full disk) is raised, not logged and lost."""

    def done(tag: int, parsed: Parsed) -> None:
        raise OSError(f"disk full while storing {tag}")

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, done) as queue:
            await queue.put(7, job(7))

    with pytest.raises(OSError, match="disk full while storing 7"):
        asyncio.run(main())


def test_a_lone_body_is_parsed_without_waiting_for_others() -> None:
    """Bodies go to the workers a few at a time, but one that arrives alone (a slow
    network) is parsed at once: each put below waits for the previous parse to finish."""
    found: dict[int, Parsed] = {}

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, found.__setitem__) as queue:
            for n in range(3):
                await queue.put(n, job(n))
                async with asyncio.timeout(120):  # hangs, were it waiting for a batch
                    while n not in found:
                        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert sorted(found) == [0, 1, 2]


def test_a_parse_comes_back_as_the_rows_the_store_writes(tmp_path: Path) -> None:
    """The worker sends back the feed's entries as rows, which pickle unchanged and store
    the same entries as the parse itself."""
    parsed = parse_feed(RSS, key="k", url="https://example.org/1.rss", fetched_at=NOW, name=None)
    rows = parse_job(ParseJob(RSS, "k", "https://example.org/1.rss", NOW, None, None))
    assert isinstance(rows, FeedRows) and rows.meta == parsed.meta
    assert pickle.loads(pickle.dumps(rows, pickle.HIGHEST_PROTOCOL)) == rows
    with Store.open(tmp_path / "a.sqlite3") as a, Store.open(tmp_path / "b.sqlite3") as b:
        a.record_feed(FeedUpdate("k", "k", ok=True, entries=parsed.entries), now=NOW)
        b.record_feed(FeedUpdate("k", "k", ok=True, entries=rows.entries), now=NOW)
        assert b.entries_for("k") == a.entries_for("k") != []


def test_bodies_faster_than_the_workers_are_each_parsed_once() -> None:
    """Bodies handed over faster than the workers parse (this process then parses some
    itself) each reach done() exactly once, with their own result."""
    seen: list[int] = []
    bodies = {n: job(n, RSS if n % 5 else b"not a feed") for n in range(60)}

    def done(tag: int, parsed: Parsed) -> None:
        seen.append(tag)
        assert isinstance(parsed, str) == (tag % 5 == 0)

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, done) as queue:
            await asyncio.gather(*(queue.put(n, each) for n, each in bodies.items()))

    asyncio.run(main())
    assert sorted(seen) == list(bodies)
