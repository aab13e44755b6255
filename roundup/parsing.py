"""Parsing on every core while the fetch goes on: parsing is CPU-bound.

:class:`ParseQueue` is what the fetch stage hands its bodies to. It starts its worker
processes only when the first body arrives (a run where every feed answers 304 starts
none), one per core; sends them the bodies a few at a time (a message per body would cost
this process more than the parse costs the worker), and lets at most a few batches per
worker wait, so that memory stays flat however fast the network is. When every worker has
all it may hold, this process parses the next body itself.

The workers are plain child processes (:data:`roundup.parse_job.WORKER_CODE`) that read
batches on their stdin and answer on their stdout, read here by the event loop itself.
A :mod:`concurrent.futures` process pool was measured first, on 3,000 feeds: its forkserver
and resource-tracker processes held 27 MB, every worker re-ran the parent's main script
(multiprocessing does, to rebuild ``__main__``) and so imported the whole CLI, and every
batch crossed three threads of this process, each wanting the GIL back from the event
loop. Without them one worker per core fits the memory budget, which a pool's extra
processes did not.

A worker that dies (killed, out of memory, a crash in a C parser) or gets stuck (no
answer within PARSE_LIMIT) costs no feed but the one it failed on: its unanswered bodies
are parsed again one by one by a new worker, and a body that fails a worker alone fails
its feed with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from roundup.parse_job import HEADER, WORKER_CODE, Parsed, ParseJob, Reply, frame, parse_job

# Below this many feeds, starting worker processes costs more than it saves.
PARALLEL_MIN_FEEDS = 16
# Bodies sent to a worker in one message, at most: a body waits for others only while
# every worker is busy, so a slow trickle of bodies is still parsed one by one at once.
# Measured on 3,000 feeds (2 cores): 8 per message took 12.9 s, 16 took 12.4 s, 24 13.0 s.
BODIES_PER_BATCH = 16
# Batches sent and not yet answered, per worker: enough that no worker waits for work
# while this process writes a batch of feeds to the store (about 0.2 s of parsing), and
# that this process parses bodies itself only when the workers are far behind. Every
# unanswered body stays in this process's memory (it is sent again if its worker dies):
# 6 batches of 16 took the 3,000-feed run to 144 MB of all processes, 4 to 137 MB.
BATCHES_PER_WORKER = 4
# How long a worker may take to exit once its stdin is closed, before it is killed.
EXIT_WAIT = 5.0  # seconds
# The longest a worker may take over its oldest unanswered batch: past it, the parser is
# taken to be stuck on a hostile body (runaway backtracking, a C library in a loop). The
# worker is killed and its bodies are parsed again alone, each within the same limit.
PARSE_LIMIT = 60.0  # seconds

Tag = TypeVar("Tag")
Batch = list[tuple[Tag, ParseJob]]


def parse_workers() -> int:
    """Worker processes for a large run: one per core. This process has the network and
    the store besides (and parses too when the workers are full), so the cores are shared
    three ways, which keeps both busy while this process waits on the network or the
    disk: on 2 cores a 3,000-feed run took 13.2 s with one worker and 12.3 s with two
    (in a process pool, before this design; two then held 170 MB, the pool's own processes
    included)."""
    return os.cpu_count() or 1


@dataclass
class _Worker(Generic[Tag]):
    """One worker process and the batches it was sent that it has not answered yet."""

    process: asyncio.subprocess.Process
    batches: deque[Batch[Tag]] = field(default_factory=deque)
    reader: asyncio.Task[None] | None = None
    timer: asyncio.Timeout | None = None  # the PARSE_LIMIT of its oldest batch, while waited on
    overdue: Batch[Tag] | None = None  # the batch it was killed for not answering in time


class ParseQueue(Generic[Tag]):
    """Parses the bodies given to :meth:`put`, calling ``done(tag, parsed)`` for each on the
    event loop's thread, in the order the parses finish. Use as an async context manager;
    leaving it waits for every parse (and stops the workers).

    ``feeds`` is how many bodies the run may bring: a small run, or a machine with one
    core, parses in this process.
    """

    def __init__(self, feeds: int, done: Callable[[Tag, Parsed], None]) -> None:
        self.done = done
        self.workers = parse_workers()
        self.inline = feeds < PARALLEL_MIN_FEEDS or self.workers < 2
        self.started = 0  # worker processes started so far (a dead one is replaced)
        self.pool: list[_Worker[Tag]] = []  # the live workers
        self.waiting: Batch[Tag] = []  # bodies not yet sent to a worker
        self.again: Batch[Tag] = []  # bodies a dead worker left: sent alone
        self.in_flight = 0  # batches sent whose results have not reached done() yet
        self.room = asyncio.Semaphore(BATCHES_PER_WORKER * self.workers)
        self.idle = asyncio.Event()  # set whenever no batch is in flight
        self.idle.set()
        self.starting = asyncio.Lock()
        self.sending: set[asyncio.Task[None]] = set()  # sends started by a finished batch
        self.error: BaseException | None = None  # raised by done(), or by a worker
        self.closing = False

    async def __aenter__(self) -> ParseQueue[Tag]:
        return self

    async def __aexit__(self, kind: object, exc: BaseException | None, trace: object) -> None:
        failed = exc is not None
        try:
            if not failed:
                while self.waiting or self.again or self.in_flight:
                    self._raise()
                    if self.waiting or self.again:
                        await self._send()
                    else:
                        await self.idle.wait()
                self._raise()
        except BaseException:  # done() failed, or the run was cancelled while draining
            failed = True
            raise
        finally:
            self.closing = True  # from here no answer reaches done()
            for task in list(self.sending):
                task.cancel()
            # on an error, queued parses are dropped rather than waited for
            await asyncio.gather(*(self._stop(w, kill=failed) for w in self.pool))

    async def put(self, tag: Tag, job: ParseJob) -> None:
        """Hand one body over; waits while the workers already have enough queued."""
        self._raise()
        if self.inline:
            self.done(tag, parse_job(job))
            return
        full = self.in_flight >= BATCHES_PER_WORKER * self.workers  # no room for a batch
        if full and len(self.waiting) >= BODIES_PER_BATCH:
            # Every worker has its fill and a batch more waits: this process parses this
            # body itself rather than wait (its other work waits meanwhile, which slows the
            # network down to what the cores can parse).
            self.done(tag, parse_job(job))
            return
        self.waiting.append((tag, job))
        # Sent at once when a worker has nothing to do, else with the next few bodies.
        if len(self.waiting) >= BODIES_PER_BATCH or self.in_flight < self.workers:
            await self._send()

    # --- sending ----------------------------------------------------------------------

    async def _send(self) -> None:
        """Send the oldest waiting bodies to the least busy worker as one batch, when
        there is room (a body a dead worker left goes alone)."""
        await self.room.acquire()
        try:
            worker = await self._worker()
        except BaseException:
            self.room.release()
            raise
        if self.again:
            batch = [self.again.pop(0)]
        else:
            batch = self.waiting[:BODIES_PER_BATCH]
            del self.waiting[: len(batch)]
        if not batch:  # another send took them while this one waited
            self.room.release()
            return
        self.in_flight += 1
        self.idle.clear()
        worker.batches.append(batch)  # from here its reader answers for the batch
        if worker.timer is not None and worker.timer.when() is None:
            worker.timer.reschedule(asyncio.get_running_loop().time() + PARSE_LIMIT)
        stdin = worker.process.stdin
        assert stdin is not None
        with contextlib.suppress(ConnectionError):  # a dead worker: its reader sees to it
            stdin.write(frame([job for _, job in batch]))
            await stdin.drain()

    async def _worker(self) -> _Worker[Tag]:
        """The live worker with the fewest unanswered batches, starting the missing ones."""
        async with self.starting:
            while len(self.pool) < self.workers:
                self.pool.append(await self._start())
        return min(self.pool, key=lambda w: len(w.batches))

    async def _start(self) -> _Worker[Tag]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _SYS_PATH + WORKER_CODE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            # its own process group: a Ctrl-C at the terminal reaches this process alone,
            # which then stops the workers, instead of a traceback from each of them
            process_group=0,
        )
        self.started += 1
        worker: _Worker[Tag] = _Worker(process)
        worker.reader = asyncio.get_running_loop().create_task(self._read(worker))
        return worker

    # --- answers ----------------------------------------------------------------------

    async def _read(self, worker: _Worker[Tag]) -> None:
        stdout = worker.process.stdout
        assert stdout is not None
        loop = asyncio.get_running_loop()
        while True:
            try:
                try:
                    async with asyncio.timeout(None) as worker.timer:
                        if worker.batches:
                            worker.timer.reschedule(loop.time() + PARSE_LIMIT)
                        head = await stdout.readexactly(HEADER.size)
                finally:
                    worker.timer = None
                (size,) = HEADER.unpack(head)
                reply: Reply = pickle.loads(await stdout.readexactly(size))
            except asyncio.IncompleteReadError:
                await self._lost(worker)
                return
            except TimeoutError:
                worker.overdue = worker.batches[0]
                _kill(worker.process)
                continue  # to the end of its stdout, where _lost sees to its batches
            except Exception as exc:  # an answer that does not unpickle: a bug
                self.error = self.error or exc
                _kill(worker.process)
                continue
            self._collect(worker.batches.popleft(), reply)

    def _collect(self, batch: Batch[Tag], reply: Reply) -> None:
        try:
            if reply[0] == "failed":
                raise RuntimeError(f"a parse worker failed:\n{reply[1]}")
            if self.error is None and not self.closing:
                for (tag, _), parsed in zip(batch, reply[1], strict=True):
                    self.done(tag, parsed)
        except BaseException as exc:  # raised to the caller by the next put, or on leaving
            self.error = self.error or exc
        finally:
            self._finished()

    async def _lost(self, worker: _Worker[Tag]) -> None:
        """A worker's stdout ended: it died, unless this queue is stopping it."""
        if self.closing:
            return
        self.pool.remove(worker)
        code = await worker.process.wait()
        # It answers its batches in order, and every answer it wrote has been read: only the
        # first can be the one it failed on. Alone, that body fails its feed; every other
        # body, never started, or in a batch the body at fault shared, is parsed again alone.
        for index, batch in enumerate(worker.batches):
            at_fault = worker.overdue is None or worker.overdue is batch
            if index == 0 and len(batch) == 1 and at_fault:
                failed: list[Parsed] = [_death(code, overdue=worker.overdue is batch)]
                self._collect(batch, ("parsed", failed))
            else:
                self.again.extend(batch)
                self._finished()
        worker.batches.clear()

    def _finished(self) -> None:
        self.in_flight -= 1
        self.room.release()
        if not self.in_flight:
            self.idle.set()
        if (self.waiting or self.again) and self.in_flight < self.workers and not self.closing:
            # a worker ran out of work while bodies wait for more to join them: send them
            task = asyncio.get_running_loop().create_task(self._send_now())
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)

    async def _send_now(self) -> None:
        try:
            await self._send()
        except Exception as exc:  # a worker that cannot start: raised like done()'s errors
            self.error = self.error or exc

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    async def _stop(self, worker: _Worker[Tag], *, kill: bool) -> None:
        """End a worker: close its stdin (it exits when it has read everything), or kill it."""
        process = worker.process
        if kill:
            _kill(process)
        elif process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), EXIT_WAIT)
        except TimeoutError:
            _kill(process)
            await process.wait()
        except BaseException:  # cancelled while waiting: no worker outlives the queue
            _kill(process)
            raise
        if worker.reader is not None:
            await worker.reader


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):  # it had ended already
        process.kill()


def _death(code: int, *, overdue: bool) -> str:
    """Why a feed failed when the worker parsing it alone died (exit status ``code``), or
    was killed for taking longer than PARSE_LIMIT."""
    if overdue:
        return f"the parser took more than {PARSE_LIMIT:g} s over this feed and was stopped"
    how = f"exit status {code}"
    if code < 0:
        with contextlib.suppress(ValueError):
            how = f"killed by {signal.Signals(-code).name}"
    return f"the parser process died while reading this feed ({how}); report it if it lasts"


# A worker resolves imports as this process does (it inherits the environment and the
# working folder); the folder holding this copy of roundup comes last, for a copy that is
# neither installed nor on PYTHONPATH.
_SYS_PATH = f"import sys; sys.path.append({str(Path(__file__).resolve().parent.parent)!r})\n"
