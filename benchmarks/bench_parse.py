"""parse: parse + normalise throughput (MB/s) over a folder of feeds, against plain feedparser.

Paths measured over the same bytes (every feed file of the corpus, read into memory first):

* ``feedparser default``     ``feedparser.parse(body)``: sanitises and resolves every entry
* ``feedparser fast mode``   ``sanitize_html=False, resolve_relative_uris=False``: the raw parse
* ``roundup parse_feed``     roundup's parse + normalise (nh3 sanitising, text, ids), 1 process
* ``roundup, N processes``   the same mapped over a process pool (pool already started; the
                             start-up cost is reported apart)
* ``feedparser only``        ``parse_feed(..., fast=False)``, when parse_feed has that switch:
                             its lxml fast path (roundup.fastxml) off
* ``slow path``              roundup's normalisation over feedparser's *default* output
                             (``fast=False``, and feedparser made to sanitise and resolve)

Equality: for every entry, what reaches an issue (title, link, canonical URL, published,
summary text, sanitised summary HTML; and id, image, author, tags) must be equal between
``parse_feed`` and the slow path. Mismatches are counted per field, with examples.
"""

from __future__ import annotations

import io
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from benchmarks.common import Options, Result, median
from benchmarks.feedserver import FEED_SUFFIXES

TARGET = 4.0
FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)
SYNTHETIC_ONLY = "feedparser-tests"  # fixtures for edge cases, not real feeds
FIELDS = (
    "title",
    "link",
    "canonical_url",
    "published",
    "dated",
    "summary_text",
    "summary_html",
    "id",
    "image",
    "author",
    "tags",
)

Feed = tuple[str, bytes]  # (path relative to the corpus, body)


def run(options: Options) -> Result:
    corpus: Path = options.corpus
    result = Result(
        "parse",
        f"parse + normalise throughput over {corpus}",
        ["files", "path", "mb_per_s", "seconds", "vs_feedparser", "entries", "errors"],
        params={"repeat": options.repeat, "cores": os.cpu_count()},
    )
    if not corpus.is_dir():
        result.notes.append(
            f"skipped: {corpus} is absent (it holds the real feeds; see the README)"
        )
        return result
    try:
        import roundup.parse  # noqa: F401
    except ImportError as exc:
        result.notes.append(f"skipped: roundup.parse does not import ({exc})")
        return result

    files = _read(corpus)
    if options.quick:
        files = files[::5]
    real = [f for f in files if not f[0].startswith(SYNTHETIC_ONLY + "/")]
    workers = max(2, os.cpu_count() or 2)
    pool, pool_start = _start_pool(workers)
    result.params["pool_start_s"] = round(pool_start, 3)
    _pooled(pool, workers)(real[:40])  # the workers' first feeds pay for lazy imports
    try:
        for label, subset in (("real feeds", real), ("all files", files)):
            size = sum(len(body) for _, body in subset) / 1e6
            rows = _measure(subset, pool, workers, options.repeat)
            base = rows[0]["seconds"]
            for row in rows:
                row.update(
                    files=f"{label} ({len(subset)}, {size:.1f} MB)",
                    mb_per_s=size / row["seconds"],
                    vs_feedparser=base / row["seconds"],
                )
                result.rows.append(row)
    finally:
        pool.shutdown()

    real_rows = [r for r in result.rows if r["files"].startswith("real")]
    best = max(
        (r for r in real_rows if r["path"].startswith("roundup")), key=lambda r: r["vs_feedparser"]
    )
    single = next(r for r in real_rows if r["path"] == "roundup parse_feed")
    result.target(
        f"roundup >= {TARGET:g}x plain feedparser on the real feeds",
        f"{best['vs_feedparser']:.1f}x ({best['path']}, {best['mb_per_s']:.1f} MB/s);"
        f" single process {single['vs_feedparser']:.1f}x",
        best["vs_feedparser"] >= TARGET,
    )

    check = _equality(files)
    result.extra_tables.append(
        {
            "title": f"Equality: parse_feed vs slow path, {check.compared} entries compared"
            " (html_equivalent: the same after sorting each tag's attributes)",
            "columns": ["field", "strict", "html_equivalent"],
            "rows": [
                {
                    "field": f,
                    "strict": check.strict.get(f, 0),
                    "html_equivalent": check.real.get(f, 0),
                }
                for f in ("entries lost", *FIELDS)
            ],
        }
    )
    result.details["equality_examples"] = check.examples
    total = sum(check.real.values())
    feeds_hit = len({e["file"] for e in check.examples})
    result.target(
        "no entry lost or changed vs the slow path",
        f"{total} differences (beyond attribute order) in {check.compared} entries"
        + (f", in {feeds_hit}+ files" if total else "")
        + (f"; {check.failures}" if check.failures else ""),
        total == 0,
    )
    shown: Counter[str] = Counter()
    for example in check.examples:
        if shown[example["field"]] >= 2:
            continue
        shown[example["field"]] += 1
        result.notes.append(
            f"differs: {example['file']} entry {example['entry']} {example['field']}: "
            f"fast={example['fast']!r} slow={example['slow']!r}"
        )
    result.notes.append("figures are medians; other jobs were running on this 2-core machine")
    return result


def _read(corpus: Path) -> list[Feed]:
    paths = sorted(
        p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in FEED_SUFFIXES
    )
    return [(p.relative_to(corpus).as_posix(), p.read_bytes()) for p in paths]


# --- the paths ------------------------------------------------------------------------


def _feedparser_default(feeds: list[Feed]) -> tuple[int, int]:
    import feedparser

    entries = 0
    for _, body in feeds:
        entries += len(feedparser.parse(io.BytesIO(body)).entries)
    return entries, 0


def _feedparser_fast(feeds: list[Feed]) -> tuple[int, int]:
    import feedparser

    entries = 0
    for _, body in feeds:
        parsed = feedparser.parse(
            io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False
        )
        entries += len(parsed.entries)
    return entries, 0


def has_fast_switch() -> bool:
    """Whether ``parse_feed`` takes ``fast=`` (its lxml path on, or feedparser only)."""
    import inspect

    from roundup.parse import parse_feed

    return "fast" in inspect.signature(parse_feed).parameters


def parse_one(item: Feed, fast: bool = True) -> Any:
    """parse_feed as the pipeline calls it; None when the body is no feed.

    ``fast=False`` asks parse_feed to run feedparser itself, when it has such a switch.
    """
    from roundup.errors import ParseError
    from roundup.parse import parse_feed

    name, body = item
    url = f"http://127.0.0.2:8080/{name}"
    options: dict[str, Any] = {} if fast or not has_fast_switch() else {"fast": False}
    try:
        return parse_feed(body, key=url, url=url, fetched_at=FETCHED_AT, **options)
    except ParseError:
        return None


def _roundup(feeds: list[Feed], fast: bool = True) -> tuple[int, int]:
    entries = errors = 0
    for item in feeds:
        parsed = parse_one(item, fast)
        if parsed is None:
            errors += 1
        else:
            entries += len(parsed.entries)
    return entries, errors


def _start_pool(workers: int) -> tuple[ProcessPoolExecutor, float]:
    start = time.perf_counter()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    list(pool.map(parse_one, [("warm.xml", b"<rss version='2.0'><channel/></rss>")] * workers))
    return pool, time.perf_counter() - start


def _pooled(pool: ProcessPoolExecutor, workers: int) -> Callable[[list[Feed]], tuple[int, int]]:
    def run(feeds: list[Feed]) -> tuple[int, int]:
        entries = errors = 0
        # the biggest first, so that no worker is left with a large feed at the end
        ordered = sorted(feeds, key=lambda f: len(f[1]), reverse=True)
        for parsed in pool.map(parse_one, ordered, chunksize=4):
            if parsed is None:
                errors += 1
            else:
                entries += len(parsed.entries)
        return entries, errors

    return run


def _fresh_pool(workers: int) -> Callable[[list[Feed]], tuple[int, int]]:
    """A new pool per pass, as a ``roundup fetch`` run would start one: start-up included."""

    def run(feeds: list[Feed]) -> tuple[int, int]:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
        try:
            return _pooled(pool, workers)(feeds)
        finally:
            pool.shutdown()

    return run


def _feedparser_only(feeds: list[Feed]) -> tuple[int, int]:
    return _roundup(feeds, fast=False)


def _slow(feeds: list[Feed]) -> tuple[int, int]:
    with _default_mode():
        return _roundup(feeds, fast=False)


class _default_mode:
    """Make roundup.parse call feedparser in its default (sanitising, resolving) mode."""

    def __enter__(self) -> None:
        import feedparser

        import roundup.parse as module

        self.module = module
        self.original = module.feedparser

        class DefaultMode:
            def parse(self, *args: Any, **kwargs: Any) -> Any:
                kwargs["sanitize_html"] = True
                kwargs["resolve_relative_uris"] = True
                return feedparser.parse(*args, **kwargs)

        module.feedparser = DefaultMode()  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        self.module.feedparser = self.original


def _measure(
    feeds: list[Feed], pool: ProcessPoolExecutor, workers: int, repeat: int
) -> list[dict[str, Any]]:
    paths: list[tuple[str, Callable[[list[Feed]], tuple[int, int]]]] = [
        ("feedparser default", _feedparser_default),
        ("feedparser fast mode", _feedparser_fast),
        ("roundup parse_feed", _roundup),
        *(
            [("roundup parse_feed, feedparser only (fast=False)", _feedparser_only)]
            if has_fast_switch()
            else []
        ),
        (f"roundup parse_feed, {workers} processes (warm pool)", _pooled(pool, workers)),
        (f"roundup parse_feed, {workers} processes incl. pool start", _fresh_pool(workers)),
        ("slow path (roundup over feedparser default)", _slow),
    ]
    # Rounds interleave the paths, so that a burst of load elsewhere on the machine hits
    # all of them alike instead of one path's every run.
    times: dict[str, list[float]] = {label: [] for label, _ in paths}
    counts: dict[str, tuple[int, int]] = {}
    for _ in range(repeat):
        for label, func in paths:
            start = time.perf_counter()
            counts[label] = func(feeds)
            times[label].append(time.perf_counter() - start)
    return [
        {
            "path": label,
            "seconds": median(times[label]),
            "entries": counts[label][0],
            "errors": counts[label][1],
            "runs_s": [round(t, 3) for t in times[label]],
        }
        for label, _ in paths
    ]


# --- equality -------------------------------------------------------------------------


@dataclass
class _Check:
    strict: Counter[str] = field(default_factory=Counter)  # any difference at all
    real: Counter[str] = field(default_factory=Counter)  # beyond the order of attributes
    examples: list[dict[str, Any]] = field(default_factory=list)
    compared: int = 0
    failures: str = ""


def _equality(feeds: list[Feed]) -> _Check:
    check = _Check()
    per_field: Counter[str] = Counter()
    failures = []
    for item in feeds:
        fast = parse_one(item)
        with _default_mode():
            slow = parse_one(item, fast=False)
        if (fast is None) != (slow is None):
            failures.append(f"{item[0]}: {'fast' if fast is None else 'slow'} path refused it")
            continue
        if fast is None or slow is None:
            continue
        if len(fast.entries) != len(slow.entries):
            lost = abs(len(fast.entries) - len(slow.entries))
            check.strict["entries lost"] += lost
            check.real["entries lost"] += lost
        for number, (a, b) in enumerate(zip(fast.entries, slow.entries, strict=False)):
            check.compared += 1
            for name in FIELDS:
                x, y = getattr(a, name), getattr(b, name)
                if x == y:
                    continue
                check.strict[name] += 1
                if name == "summary_html" and _html_key(x) == _html_key(y):
                    continue
                check.real[name] += 1
                if per_field[name] < 12:
                    per_field[name] += 1
                    check.examples.append(
                        {
                            "file": item[0],
                            "entry": number,
                            "field": name,
                            "fast": _excerpt(x, y),
                            "slow": _excerpt(y, x),
                        }
                    )
    check.failures = "; ".join(failures[:5])
    return check


def _html_key(fragment: str) -> str:
    """The fragment re-serialised with every tag's attributes sorted by name."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return fragment
    for element in root.iter():
        if isinstance(element.tag, str) and len(element.attrib) > 1:
            items = sorted(element.attrib.items())
            element.attrib.clear()
            for key, value in items:
                element.set(key, value)
    return str(lxml.html.tostring(root, encoding="unicode"))


def _excerpt(value: Any, other: Any) -> str:
    """``value`` around its first difference from ``other``."""
    a, b = str(value), str(other)
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    start = max(0, at - 50)
    return ("..." if start else "") + a[start : at + 70] + ("..." if at + 70 < len(a) else "")
