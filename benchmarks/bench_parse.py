"""parse: parse + normalise + store over the real feeds of the corpora, against feedparser.

Paths measured over the same bytes (every feed file of the corpus, read into memory
first), in one process pinned to one core, their rounds interleaved; each figure is the
best of the rounds (as timeit reports) in CPU time, the wall time beside it:

* ``feedparser.parse``            plain ``feedparser.parse(body)``, its defaults: the baseline
* ``roundup: parse + normalise + store``
                                  ``parse_feed`` for every file (the strict reader, falling
                                  back to feedparser for what it declines), then
                                  ``Store.record_feed`` into a fresh SQLite state file
* ``roundup: parse + normalise``  the same without the store
* ``roundup, feedparser only``    ``parse_feed(strict=False)`` + store: every XML body through
                                  feedparser, as before the strict reader
* ``deferred: sanitise + text``   what an entry costs when it reaches selection
                                  (``summary_text``, ``summary_html``), paid here by every
                                  entry at once: the work the parse no longer does

Whether the two readers agree is the business of ``tests/test_agreement.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import Options, Result, median
from benchmarks.feedserver import FEED_SUFFIXES

TARGET = 10.0
FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)
SYNTHETIC_ONLY = "feedparser-tests"  # fixtures for edge cases, not real feeds

Feed = tuple[str, bytes]  # (path relative to the corpus, body)
Counts = tuple[int, int]  # (entries, files that are no feed)


def run(options: Options) -> Result:
    corpus: Path = options.corpus
    result = Result(
        "parse",
        f"parse + normalise + store on one core, over {corpus}",
        [
            "files",
            "path",
            "mb_per_s",
            "cpu_s",
            "vs_feedparser",
            "wall_s",
            "wall_median_s",
            "entries",
            "errors",
        ],
        params={"repeat": options.repeat},
    )
    if not corpus.is_dir():
        result.notes.append(
            f"skipped: {corpus} is absent (it holds the real feeds; see the README)"
        )
        return result

    files = _read(corpus)
    if options.quick:
        files = files[::5]
    real = [f for f in files if not f[0].startswith(SYNTHETIC_ONLY + "/")]
    with _one_core() as core:
        result.params["core"] = core
        _roundup_store(real[:20])  # imports and first calls, outside the timings
        for label, subset in (("real feeds", real), ("all files", files)):
            size = sum(len(body) for _, body in subset) / 1e6
            rows = _measure(subset, options.repeat)
            base = rows[0]["cpu_s"]
            for row in rows:
                row.update(
                    files=f"{label} ({len(subset)}, {size:.1f} MB)",
                    mb_per_s=size / row["cpu_s"],
                    vs_feedparser=base / row["cpu_s"],
                )
                result.rows.append(row)

    real_rows = {r["path"]: r for r in result.rows if r["files"].startswith("real")}
    full = real_rows[_FULL]
    result.target(
        f"roundup parse + normalise + store >= {TARGET:g}x plain feedparser on the real feeds",
        f"{full['vs_feedparser']:.1f}x ({full['cpu_s']:.3f} s of CPU against"
        f" {real_rows[_BASELINE]['cpu_s']:.3f} s, {full['entries']} entries)",
        full["vs_feedparser"] >= TARGET,
    )
    taken, declined = _strict_share(real)
    result.notes.append(
        f"the strict reader took {taken} of the real XML feeds; {len(declined)} went to"
        f" feedparser: {', '.join(declined[:12])}{' …' if len(declined) > 12 else ''}"
    )
    result.notes.append(
        "cpu_s: this process's CPU time, the best of the interleaved runs; wall_s the same in"
        " wall time (and its median): on a shared machine other jobs only ever add to both,"
        " to wall time most"
    )
    return result


def _read(corpus: Path) -> list[Feed]:
    paths = sorted(
        p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in FEED_SUFFIXES
    )
    return [(p.relative_to(corpus).as_posix(), p.read_bytes()) for p in paths]


@contextlib.contextmanager
def _one_core() -> Iterator[str]:
    """Pin this process to one core for the measurements, where the OS allows it."""
    try:
        before = os.sched_getaffinity(0)
        core = min(before)
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError):
        yield "not pinned"
        return
    try:
        yield str(core)
    finally:
        os.sched_setaffinity(0, before)


# --- the paths ------------------------------------------------------------------------


def _feedparser(feeds: list[Feed]) -> Counts:
    import feedparser

    entries = 0
    for _, body in feeds:
        entries += len(feedparser.parse(io.BytesIO(body)).entries)
    return entries, 0


def _parse_all(feeds: list[Feed], *, strict: bool = True) -> Iterator[tuple[str, Any]]:
    """(url, ParsedFeed or None) per feed, as the pipeline parses them."""
    from roundup.errors import ParseError
    from roundup.parse import parse_feed

    for name, body in feeds:
        url = f"http://127.0.0.2:8080/{name}"
        try:
            yield url, parse_feed(body, key=url, url=url, fetched_at=FETCHED_AT, strict=strict)
        except ParseError:
            yield url, None


def _roundup_parse(feeds: list[Feed]) -> Counts:
    entries = errors = 0
    for _, parsed in _parse_all(feeds):
        if parsed is None:
            errors += 1
        else:
            entries += len(parsed.entries)
    return entries, errors


def _roundup_store(feeds: list[Feed], *, strict: bool = True) -> Counts:
    from roundup.store import FeedUpdate, Store

    entries = errors = 0
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "s.db") as store:
        for url, parsed in _parse_all(feeds, strict=strict):
            if parsed is None:
                errors += 1
                store.record_feed(FeedUpdate(url, url, ok=False, error="no feed"), now=FETCHED_AT)
                continue
            entries += len(parsed.entries)
            update = FeedUpdate(url, url, ok=True, title=parsed.meta.title, entries=parsed.entries)
            store.record_feed(update, now=FETCHED_AT)
    return entries, errors


def _feedparser_only_store(feeds: list[Feed]) -> Counts:
    return _roundup_store(feeds, strict=False)


def _deferred(feeds: list[Feed]) -> Callable[[list[Feed]], Counts]:
    """Sanitising and text extraction for every entry, as if each one reached selection."""
    parsed = [p for _, p in _parse_all(feeds) if p is not None]
    bodies = [(e.summary, e.summary_base) for p in parsed for e in p.entries]

    def run(_: list[Feed]) -> Counts:
        from roundup.normalize import sanitize_html, summary_text

        for summary, base in bodies:
            summary_text(summary, base)
            sanitize_html(summary, base)
        return len(bodies), 0

    return run


_BASELINE = "feedparser.parse (defaults)"
_FULL = "roundup: parse + normalise + store"


def _measure(feeds: list[Feed], repeat: int) -> list[dict[str, Any]]:
    paths: list[tuple[str, Callable[[list[Feed]], Counts]]] = [
        (_BASELINE, _feedparser),
        (_FULL, _roundup_store),
        ("roundup: parse + normalise", _roundup_parse),
        ("roundup, feedparser only (strict=False) + store", _feedparser_only_store),
        ("deferred to selection: sanitise + text, every entry", _deferred(feeds)),
    ]
    # Rounds interleave the paths, so that a burst of load elsewhere on the machine hits
    # all of them alike instead of one path's every run.
    wall: dict[str, list[float]] = {label: [] for label, _ in paths}
    cpu: dict[str, list[float]] = {label: [] for label, _ in paths}
    counts: dict[str, Counts] = {}
    for _ in range(repeat):
        for label, func in paths:
            start, start_cpu = time.perf_counter(), time.process_time()
            counts[label] = func(feeds)
            cpu[label].append(time.process_time() - start_cpu)
            wall[label].append(time.perf_counter() - start)
    # The best of the runs is the figure, as timeit gives it: on a shared machine the other
    # jobs only ever add time, to each path at a different moment. CPU time is what one
    # core spends on the work; wall time also holds the waits for the core.
    return [
        {
            "path": label,
            "cpu_s": min(cpu[label]),
            "wall_s": min(wall[label]),
            "wall_median_s": median(wall[label]),
            "entries": counts[label][0],
            "errors": counts[label][1],
            "runs_cpu_s": [round(t, 3) for t in cpu[label]],
            "runs_wall_s": [round(t, 3) for t in wall[label]],
        }
        for label, _ in paths
    ]


def _strict_share(feeds: list[Feed]) -> tuple[int, list[str]]:
    """How many XML feeds the strict reader took, and which it left to feedparser."""
    from roundup.entries import FeedContext
    from roundup.jsonfeed import is_json_feed
    from roundup.xmlfeed import read_feed

    taken, declined = 0, []
    for name, body in feeds:
        if is_json_feed(body, None):
            continue
        context = FeedContext(key=name, url=name, fetched_at=FETCHED_AT, name=None)
        if read_feed(body, context, None) is None:
            declined.append(name)
        else:
            taken += 1
    return taken, declined
