"""Parsing on every core: feedparser is pure Python, so parsing is CPU-bound.

Kept apart from the pipeline so that worker processes import only what parsing needs.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from datetime import datetime

from roundup.errors import ParseError
from roundup.models import ParsedFeed

# Below this many feeds, starting worker processes costs more than it saves.
PARALLEL_MIN_FEEDS = 16


def parse_job(
    body: bytes,
    key: str,
    url: str,
    fetched_at: datetime,
    name: str | None,
    content_type: str | None,
) -> ParsedFeed | str:
    """Parse one body; a :class:`ParseError` comes back as its reason (it does not pickle)."""
    # Imported on first use: a run where every feed answers 304 never pays for the parsers.
    from roundup.parse import parse_feed

    try:
        return parse_feed(
            body, key=key, url=url, fetched_at=fetched_at, name=name, content_type=content_type
        )
    except ParseError as exc:
        return exc.reason


class InlineExecutor(Executor):
    """Runs each job at once in this process: for small runs, and where fork is unavailable."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the caller sees it from future.result()
            future.set_exception(exc)
        return future


def parse_executor(feeds: int) -> Executor:
    """A process pool over all cores for a large run, an inline executor otherwise."""
    cores = os.cpu_count() or 1
    if feeds < PARALLEL_MIN_FEEDS or cores < 2:
        return InlineExecutor()
    # forkserver: workers start from a clean interpreter, not a copy of this one with its
    # event loop and open SQLite connection.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["roundup.parse"])
    return ProcessPoolExecutor(max_workers=cores, mp_context=context)
