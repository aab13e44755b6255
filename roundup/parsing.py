"""Parsing on every core while the fetch goes on: parsing is CPU-bound.

Kept apart from the pipeline so that worker processes import only what parsing needs.
:class:`ParseQueue` is what the fetch stage hands its bodies to: it starts the worker
processes only when the first body arrives (a run where every feed answers 304 starts
none), submits from a helper thread (a submit writes to the pool's wake-up pipe, which
would stall the event loop), sends the bodies a few at a time (each message costs the
pool's threads in this process a wake-up and a result to unpickle: one body per message
cost this process more than the parse cost the worker), and lets at most a few batches
per core wait, so that memory stays flat however fast the network is. When the workers
have all they may hold, this process parses the next body itself: the workers are every
core but one, and this one's share of the parsing keeps it busy when the network is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from roundup.errors import ParseError
from roundup.models import FeedMeta
from roundup.store import EntryRows

# Below this many feeds, starting worker processes costs more than it saves.
PARALLEL_MIN_FEEDS = 16
# Bodies sent to a worker in one message, at most: a body waits for others only while
# every worker is busy, so a slow trickle of bodies is still parsed one by one at once.
BODIES_PER_BATCH = 8
# Batches submitted and not yet parsed, per worker: enough that no worker waits for work
# while this process writes a batch of feeds to the store (about 0.2 s of parsing), and
# that this process parses bodies itself only when the workers are far behind.
BATCHES_PER_WORKER = 6

Tag = TypeVar("Tag")


@dataclass(frozen=True, slots=True)
class FeedRows:
    """One parsed feed as the store takes it: what the feed said of itself, and its
    newest entries as rows (:func:`roundup.store.entry_rows`). Made in the worker, so the
    process that runs the network only writes them, and what crosses back is plain text
    (entries with their datetimes cost as much to unpickle as to store)."""

    meta: FeedMeta
    entries: EntryRows


Parsed = FeedRows | str  # a parsed feed, or why it could not be parsed


@dataclass(frozen=True, slots=True)
class ParseJob:
    """One body to parse, with what :func:`parse_job` needs besides it."""

    body: bytes
    key: str
    url: str
    fetched_at: datetime
    name: str | None
    content_type: str | None


def parse_job(job: ParseJob) -> Parsed:
    """Parse one body and keep its newest entries, as rows for the store; a
    :class:`ParseError` comes back as its reason (it does not pickle)."""
    # Imported on first use: a run where every feed answers 304 never pays for the parsers.
    from roundup.entries import keep_newest
    from roundup.parse import parse_feed
    from roundup.store import entry_rows

    try:
        parsed = parse_feed(
            job.body,
            key=job.key,
            url=job.url,
            fetched_at=job.fetched_at,
            name=job.name,
            content_type=job.content_type,
        )
    except ParseError as exc:
        return exc.reason
    return FeedRows(parsed.meta, entry_rows(keep_newest(parsed.entries)))


def parse_jobs(jobs: Sequence[ParseJob]) -> list[Parsed]:
    """Parse a batch of bodies, in order: what a worker process runs."""
    return [parse_job(job) for job in jobs]


class InlineExecutor(Executor):
    """Runs each job at once in this process: for small runs, and where fork is unavailable."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the caller sees it from future.result()
            future.set_exception(exc)
        return future


def parse_workers() -> int:
    """Worker processes for a large run: every core but one, which this process keeps for
    the network and the store (it is busy too: a worker more would only compete with it,
    and cost its 30 MB)."""
    return max(1, (os.cpu_count() or 1) - 1)


def parse_executor(feeds: int) -> Executor:
    """A process pool for a large run, an inline executor otherwise."""
    if feeds < PARALLEL_MIN_FEEDS or (os.cpu_count() or 1) < 2:
        return InlineExecutor()
    # Imported here: multiprocessing is forty modules that a run without new bodies skips.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # forkserver: workers start from a clean interpreter, not a copy of this one with its
    # event loop and open SQLite connection. Nothing is preloaded: the server process then
    # stays a bare interpreter for the whole run, and each worker imports the parsers
    # with its first body (in parallel, on its own core).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([])
    return ProcessPoolExecutor(max_workers=parse_workers(), mp_context=context)


class ParseQueue(Generic[Tag]):
    """Parses the bodies given to :meth:`put`, calling ``done(tag, parsed)`` for each on the
    event loop's thread, in the order the parses finish. Use as an async context manager;
    leaving it waits for every parse (and stops the workers).

    ``feeds`` is how many bodies the run may bring: a small run parses in this process.
    """

    def __init__(self, feeds: int, done: Callable[[Tag, Parsed], None]) -> None:
        self.feeds = feeds
        self.done = done
        self.executor: Executor | None = None
        self.workers = 1
        self.waiting: list[tuple[Tag, ParseJob]] = []  # bodies not yet sent to a worker
        self.in_flight = 0  # batches sent whose results have not reached done() yet
        self.room: asyncio.Semaphore | None = None
        self.idle: asyncio.Event | None = None  # set whenever no batch is in flight
        self.sending: set[asyncio.Task[None]] = set()  # sends started by a finished batch
        self.error: BaseException | None = None  # raised by done(), or a broken pool

    async def __aenter__(self) -> ParseQueue[Tag]:
        return self

    async def __aexit__(self, kind: object, exc: BaseException | None, trace: object) -> None:
        try:
            if exc is None:
                while self.idle is not None and (self.waiting or self.in_flight):
                    self._raise()
                    if self.waiting:
                        await self._send()
                    else:
                        await self.idle.wait()
                self._raise()
        finally:
            for task in list(self.sending):
                task.cancel()
            if self.executor is not None:
                # on an error, queued parses are dropped rather than waited for
                await asyncio.to_thread(
                    self.executor.shutdown, wait=True, cancel_futures=exc is not None
                )

    async def put(self, tag: Tag, job: ParseJob) -> None:
        """Hand one body over; waits while the workers already have enough queued."""
        self._raise()
        if self.executor is None:
            self._start()
        if isinstance(self.executor, InlineExecutor):
            self.done(tag, parse_job(job))
            return
        full = self.in_flight >= BATCHES_PER_WORKER * self.workers  # no room for a batch
        if full and len(self.waiting) >= BODIES_PER_BATCH:
            # Every worker has its fill and a batch more waits: this process parses this
            # body itself rather than wait, so that both cores parse when the network is
            # faster than the workers (this process's other work waits meanwhile, which
            # slows the network down to what the cores can parse).
            self.done(tag, parse_job(job))
            return
        self.waiting.append((tag, job))
        # Sent at once when a worker has nothing to do, else with the next few bodies.
        if len(self.waiting) >= BODIES_PER_BATCH or self.in_flight < self.workers:
            await self._send()

    def _start(self) -> None:
        self.executor = parse_executor(self.feeds)
        self.workers = parse_workers()
        self.room = asyncio.Semaphore(BATCHES_PER_WORKER * self.workers)
        self.idle = asyncio.Event()
        self.idle.set()

    async def _send(self) -> None:
        """Send the oldest waiting bodies to the workers as one batch, when there is room."""
        assert self.room is not None and self.executor is not None and self.idle is not None
        await self.room.acquire()
        batch = self.waiting[:BODIES_PER_BATCH]
        del self.waiting[: len(batch)]
        if not batch:  # another send took them while this one waited for room
            self.room.release()
            return
        self.in_flight += 1
        self.idle.clear()
        loop = asyncio.get_running_loop()
        tags = [tag for tag, _ in batch]
        try:
            jobs = [job for _, job in batch]
            submit = functools.partial(self.executor.submit, parse_jobs, jobs)
            future = await loop.run_in_executor(None, submit)
        except BaseException:
            self._finished()
            raise
        future.add_done_callback(lambda f: _call_soon(loop, self._collect, tags, f))

    async def _send_now(self) -> None:
        try:
            await self._send()
        except Exception as exc:  # a broken pool: raised to the caller like done()'s errors
            self.error = self.error or exc

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _collect(self, tags: list[Tag], future: Future[list[Parsed]]) -> None:
        try:
            if not future.cancelled() and self.error is None:
                for tag, parsed in zip(tags, future.result(), strict=True):
                    self.done(tag, parsed)
        except BaseException as exc:  # raised to the caller by the next put, or on leaving
            self.error = exc
        finally:
            self._finished()

    def _finished(self) -> None:
        assert self.room is not None and self.idle is not None
        self.in_flight -= 1
        self.room.release()
        if not self.in_flight:
            self.idle.set()
        if self.waiting and self.in_flight < self.workers and self.error is None:
            # a worker ran out of work while bodies wait for more to join them: send them
            task = asyncio.get_running_loop().create_task(self._send_now())
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)


def _call_soon(loop: asyncio.AbstractEventLoop, *call: object) -> None:
    """Run ``call`` on the loop's thread; a loop already closed has no one left to tell."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(*call)  # type: ignore[arg-type]


@contextlib.contextmanager
def quick_thread_switches() -> Iterator[None]:
    """Hand the GIL back to the event loop sooner while bodies are being parsed.

    The pool's manager thread and the submitting thread wake on every body; at the
    default 5 ms interval the event loop then idles waiting for the GIL.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
