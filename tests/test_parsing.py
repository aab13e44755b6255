"""The parse queue: workers only when a body comes, every parse reported, errors raised."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundup import parsing
from roundup.parse_job import FeedRows, Parsed, ParseJob
from roundup.parsing import PARALLEL_MIN_FEEDS, ParseQueue, parse_workers

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
        return queue.started > 0

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
    """A run where every feed answered 304 never starts a worker process."""
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


def test_bodies_a_dead_worker_held_are_parsed_again_one_by_one() -> None:
    """Workers killed before they answer: the bodies each was sent alone fail with the
    reason, those sent in batches are parsed by new workers, every body reported once."""
    found: dict[int, Parsed] = {}
    counted: list[int] = []

    def done(tag: int, parsed: Parsed) -> None:
        counted.append(tag)
        found[tag] = parsed

    async def main() -> int:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, done) as queue:
            await asyncio.gather(*(queue.put(n, job(n)) for n in range(30)))
            # a worker takes a tenth of a second and more to start and import the parsers
            first = list(queue.pool)
            for worker in first:
                os.kill(worker.process.pid, signal.SIGKILL)
        return queue.started - len(first)

    replaced = asyncio.run(main())
    assert sorted(counted) == list(range(30))
    failed = {n: r for n, r in found.items() if isinstance(r, str)}
    assert len(failed) <= parse_workers()
    assert all("killed by SIGKILL" in reason for reason in failed.values())
    assert replaced >= 1 and len(found) - len(failed) >= 30 - parse_workers()


async def signal_every_worker(queue: ParseQueue[int], sig: signal.Signals) -> None:
    """Send ``sig`` to each worker of ``queue`` as soon as it is started."""
    sent: set[int] = set()
    while True:
        for worker in list(queue.pool):
            if worker.process.pid not in sent:
                sent.add(worker.process.pid)
                os.kill(worker.process.pid, sig)
        await asyncio.sleep(0.005)


def parse_while_signalling(bodies: int, sig: signal.Signals) -> dict[int, Parsed]:
    found: dict[int, Parsed] = {}

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, found.__setitem__) as queue:
            signaller = asyncio.create_task(signal_every_worker(queue, sig))
            await asyncio.gather(*(queue.put(n, job(n)) for n in range(bodies)))
            async with asyncio.timeout(120):  # hangs, were a lost batch never answered
                while len(found) < bodies:
                    await asyncio.sleep(0.01)
            signaller.cancel()

    asyncio.run(main())
    return found


def test_a_body_every_worker_dies_on_fails_alone_and_the_queue_ends() -> None:
    """A worker that dies whatever it is given: each body ends as a failure naming how
    the worker died, and leaving the queue does not hang."""
    found = parse_while_signalling(10, signal.SIGKILL)
    assert sorted(found) == list(range(10))
    assert set(found.values()) == {
        "the parser process died while reading this feed (killed by SIGKILL); report it if it lasts"
    }


def test_a_stuck_parser_is_stopped_and_its_feeds_fail_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker that never answers (stopped here, as a parser looping on a hostile body
    would be) is killed after PARSE_LIMIT; each of its bodies is tried again alone."""
    monkeypatch.setattr(parsing, "PARSE_LIMIT", 0.5)
    monkeypatch.setattr(parsing, "EXIT_WAIT", 0.5)
    found = parse_while_signalling(6, signal.SIGSTOP)
    assert sorted(found) == list(range(6))
    assert set(found.values()) == {"the parser took more than 0.5 s over this feed and was stopped"}


def test_a_worker_stopped_before_it_answers_costs_only_the_bodies_it_had_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parsing, "PARSE_LIMIT", 1.0)
    found: dict[int, Parsed] = {}

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, found.__setitem__) as queue:
            await asyncio.gather(*(queue.put(n, job(n)) for n in range(30)))
            for worker in list(queue.pool):
                os.kill(worker.process.pid, signal.SIGSTOP)

    asyncio.run(main())
    assert sorted(found) == list(range(30))
    failed = [r for r in found.values() if isinstance(r, str)]
    assert len(failed) <= parse_workers()
    assert all("took more than 1 s" in reason for reason in failed)


def test_workers_are_out_of_reach_of_a_ctrl_c_at_the_terminal() -> None:
    """A Ctrl-C goes to the terminal's foreground process group: the workers have their
    own, so this process alone is interrupted and stops them, with no traceback from each."""
    groups: list[int] = []

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, lambda tag, parsed: None) as queue:
            await queue.put(0, job(0))
            groups.extend(os.getpgid(worker.process.pid) for worker in queue.pool)
            assert [w.process.pid for w in queue.pool] == groups

    asyncio.run(main())
    assert groups and os.getpgrp() not in groups


# A worker that hangs on the body b"hang", as a parser stuck on a hostile feed would.
HANGING_WORKER = (
    "import time\n"
    "from roundup import parse_job\n"
    "real = parse_job.parse_jobs\n"
    "def stuck(jobs):\n"
    "    if any(job.body == b'hang' for job in jobs):\n"
    "        time.sleep(3600)\n"
    "    return real(jobs)\n"
    "parse_job.parse_jobs = stuck\n"
    "parse_job.main()\n"
)


def test_only_the_body_a_worker_is_stuck_on_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stuck body first shares a batch (so all of it is parsed again alone), then is
    sent alone with others queued behind it on the same worker: those were never started,
    and are parsed again rather than failed with it."""
    monkeypatch.setattr(parsing, "WORKER_CODE", HANGING_WORKER)
    monkeypatch.setattr(parsing, "PARSE_LIMIT", 1.0)
    monkeypatch.setattr(parsing, "EXIT_WAIT", 0.5)
    bodies = {n: job(n, b"hang" if n == 2 else RSS) for n in range(40)}
    found: dict[int, Parsed] = {}

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, found.__setitem__) as queue:
            for n, each in bodies.items():
                await queue.put(n, each)

    asyncio.run(main())
    assert sorted(found) == list(bodies)
    assert {n: r for n, r in found.items() if isinstance(r, str)} == {
        2: "the parser took more than 1 s over this feed and was stopped"
    }


def test_a_failing_done_stops_the_workers_and_is_not_called_again() -> None:
    """Storing a parse failed (a full disk): the queue raises it, drops what the workers
    still hold, stops them, and never calls done() after the failure."""
    calls: list[int] = []
    started: list[asyncio.subprocess.Process] = []

    def done(tag: int, parsed: Parsed) -> None:
        calls.append(tag)
        raise OSError("disk full")

    async def main() -> None:
        async with ParseQueue[int](PARALLEL_MIN_FEEDS * 4, done) as queue:
            for n in range(40):
                await queue.put(n, job(n))
                started.extend(w.process for w in queue.pool if w.process not in started)

    with pytest.raises(OSError, match="disk full"):
        asyncio.run(main())
    assert len(calls) == 1
    assert started and all(process.returncode is not None for process in started)
