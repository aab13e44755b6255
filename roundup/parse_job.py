"""One fetched body's parse, as a worker process runs it: the body in, the store's rows out.

A worker is ``python -c`` running :func:`main`: it reads batches of :class:`ParseJob` from
its stdin and writes their results to its stdout, each message a frame (an 8-byte length,
then a pickle). Its own module so that a worker imports the parsers and nothing else: the
queue that feeds the workers (:mod:`roundup.parsing`) runs on asyncio, which would cost
each worker 11 MB it never uses.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import struct
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Literal

from roundup.errors import ParseError
from roundup.models import FeedMeta
from roundup.store import EntryRows


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


# --- the worker process ----------------------------------------------------------------

HEADER = struct.Struct(">Q")  # the length of the pickle that follows
WORKER_CODE = "from roundup.parse_job import main; main()"
PIPE_SIZE = 1 << 20  # the default limit for an unprivileged process on Linux
Reply = tuple[Literal["parsed"], list[Parsed]] | tuple[Literal["failed"], str]


def frame(message: object) -> bytes:
    """``message`` as one frame: its pickle, after the pickle's length."""
    payload = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def read_frame(source: BinaryIO) -> bytes | None:
    """The next frame's pickle; None at the end of the stream, between frames."""
    head = source.read(HEADER.size)
    if not head:
        return None
    if len(head) < HEADER.size:
        raise EOFError("the stream ended inside a frame")
    (size,) = HEADER.unpack(head)
    payload = source.read(size)
    if len(payload) < size:
        raise EOFError("the stream ended inside a frame")
    return payload


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """Answer every batch read from ``source`` on ``sink``, until ``source`` ends.

    An error other than a feed's :class:`ParseError` is a bug: its traceback goes back, so
    that the run stops with it rather than lose it in a worker.
    """
    while (payload := read_frame(source)) is not None:
        reply: Reply
        try:
            reply = ("parsed", parse_jobs(pickle.loads(payload)))
        except Exception:  # sent back whole: the parent raises it
            reply = ("failed", traceback.format_exc())
        sink.write(frame(reply))
        sink.flush()


def main() -> None:
    """A worker process: frames on stdin and stdout. What a parser or library prints would
    corrupt the frames, so the frames get their own copy of stdout and fd 1 becomes
    stderr."""
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for pipe in (sys.stdin.fileno(), sink.fileno()):
        _widen(pipe)
    # the parent gone, or stopped in the middle of a frame: nothing left to answer
    with contextlib.suppress(BrokenPipeError, EOFError):
        serve(sys.stdin.buffer, sink)


def _widen(pipe: int) -> None:
    """Let a pipe hold a few batches (Linux: 64 KB by default, one body and a half): the
    parent reads and writes on its event loop, which the store's writes hold up for a
    tenth of a second at a time, and meanwhile this worker would wait on a full pipe."""
    size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if size is not None:
        with contextlib.suppress(OSError):  # not a pipe, or above the system's limit
            fcntl.fcntl(pipe, size, PIPE_SIZE)
