"""The parse queue: workers only when a body comes, every parse reported, errors raised."""

from __future__ import annotations

import asyncio
import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundup.models import ParsedFeed
from roundup.parsing import (
    PARALLEL_MIN_FEEDS,
    InlineExecutor,
    ParseJob,
    ParseQueue,
    parse_job,
)

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2015, 8, 14, tzinfo=UTC)
RSS = (ROOT / "samples" / "feeds" / "elicitor.rss").read_bytes()


def job(n: int, body: bytes = RSS) -> ParseJob:
    url = f"https://example.org/{n}.rss"
    return ParseJob(body, url, url, NOW, None, "application/rss+xml")


def parse_all(feeds: int, jobs: list[ParseJob]) -> tuple[dict[int, ParsedFeed | str], bool]:
    """Every job through a queue sized for ``feeds``: results by tag, and whether worker
    processes were started."""
    found: dict[int, ParsedFeed | str] = {}

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
    assert all(isinstance(found[n], ParsedFeed) and found[n].entries for n in range(12))
    assert isinstance(found[12], str)


def test_no_body_starts_no_workers() -> None:
    """A run where every feed answered 304 never starts the process pool."""
    found, pooled = parse_all(PARALLEL_MIN_FEEDS * 4, [])
    assert (found, pooled) == ({}, False)


def test_an_error_in_done_reaches_the_caller() -> None:
    """A failure while storing a parse (say, a full disk) is raised, not logged and lost."""

    def done(tag: int, parsed: ParsedFeed | str) -> None:
        raise OSError(f"disk full while storing {tag}")

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, done) as queue:
            await queue.put(7, job(7))

    with pytest.raises(OSError, match="disk full while storing 7"):
        asyncio.run(main())


def test_a_lone_body_is_parsed_without_waiting_for_others() -> None:
    """Bodies go to the workers a few at a time, but one that arrives alone (a slow
    network) is parsed at once: each put below waits for the previous parse to finish."""
    found: dict[int, ParsedFeed | str] = {}

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, found.__setitem__) as queue:
            for n in range(3):
                await queue.put(n, job(n))
                async with asyncio.timeout(120):  # hangs, were it waiting for a batch
                    while n not in found:
                        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert sorted(found) == [0, 1, 2]


def test_parsed_feeds_cross_processes_unchanged() -> None:
    """What a worker sends back (entries pickle by their constructor) equals the parse."""
    parsed = parse_job(job(1))
    assert isinstance(parsed, ParsedFeed) and parsed.entries
    copy = pickle.loads(pickle.dumps(parsed, pickle.HIGHEST_PROTOCOL))
    assert copy == parsed
    assert [e.summary_text for e in copy.entries] == [e.summary_text for e in parsed.entries]
