"""build: draft + render of an issue with 40, 300 and 1,000 entries in the window.

The store is filled once per size with real Entry records: synthetic feeds (10 entries each,
the feed server's generator) parsed by ``roundup.parse.parse_feed`` and written with
``Store.record_feed``; one entry in ten is also carried by a second feed (same link and
title), so de-duplication has work to do. Then, timed in-process: ``make_draft`` (select,
de-duplicate, group, write draft.yaml) from scratch, ``render_week`` (the issue's files),
and a re-draft over an existing draft.yaml. Two issue sizes per window: ``max_items: 40``
(the default: most entries are capped) and ``max_items`` = every entry (the worst case: the
issue holds them all). Peak memory: tracemalloc in-process, and the peak RSS of the
``roundup draft`` and ``roundup render`` commands run as subprocesses.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ROUNDUP,
    Options,
    Result,
    feeds_yaml,
    median,
    roundup_ready,
    run_measured,
)
from benchmarks.feedserver import BASE_TIME, synthetic_feed

TARGET_S = 2.0
WEEK = "2025-W23"  # Monday 2025-06-02 to Sunday 2025-06-08 (UTC): every synthetic entry
PER_FEED = 10
SECTIONS = ("News", "Analysis", "Regional")


def run(options: Options) -> Result:
    sizes = [40, 300] if options.quick else [40, 300, 1000]
    result = Result(
        "build",
        "draft + render of one issue (in-process), by entries in the window",
        [
            "entries",
            "issue_items",
            "draft_s",
            "render_s",
            "total_s",
            "redraft_s",
            "tracemalloc_mb",
            "draft_rss_mb",
            "render_rss_mb",
            "ok",
        ],
        params={"week": WEEK, "entries_per_feed": PER_FEED, "repeat": options.repeat},
    )
    problem = roundup_ready()
    if problem:
        result.notes.append(f"skipped: {problem}")
        return result
    for size in sizes:
        folder = Path(tempfile.mkdtemp(prefix="roundup-bench-build-"))
        try:
            feeds = _fill(folder, size)
            for max_items in dict.fromkeys((40, size)):
                result.rows.append(_measure(folder, feeds, size, max_items, options))
        finally:
            if not options.keep:
                shutil.rmtree(folder, ignore_errors=True)
    largest = [row for row in result.rows if row["entries"] == max(sizes)]
    for row in sorted(largest, key=lambda r: r["issue_items"]):
        kind = "default max_items: 40" if row["issue_items"] <= 40 else "every entry in the issue"
        result.target(
            f"draft + render, {row['entries']} entries in the window ({kind}) < {TARGET_S:g} s",
            f"{row['total_s']:.2f} s (issue of {row['issue_items']} items)",
            bool(row["ok"]) and row["total_s"] < TARGET_S,
        )
    result.notes.append("figures are medians; other jobs were running on this 2-core machine")
    return result


def _fill(folder: Path, size: int) -> list[str]:
    """Create feeds.yaml and the state with ``size`` entries in WEEK; returns the feed URLs."""
    from roundup.config import load_config
    from roundup.parse import parse_feed
    from roundup.store import FeedUpdate, Store

    count = -(-size // PER_FEED)
    urls = [f"http://127.0.0.{2 + i % 50}:9/feed-{i:05d}.xml" for i in range(count)]
    config = load_config(feeds_yaml(urls, folder, max_items=40, sections=SECTIONS))
    fetched_at = BASE_TIME
    parsed = []
    for index, url in enumerate(urls):
        body, content_type = synthetic_feed(index, entries=PER_FEED)
        feed = parse_feed(body, key=url, url=url, fetched_at=fetched_at, content_type=content_type)
        parsed.append(list(feed.entries))
    entries = [entry for feed in parsed for entry in feed][:size]
    # one in ten is syndicated: a second feed carries the same story
    by_feed: dict[str, list[Any]] = {url: [] for url in urls}
    for number, entry in enumerate(entries):
        if number % 10 == 9 and number >= PER_FEED:
            original = entries[number - PER_FEED]  # the same slot of the previous feed
            entry = dataclasses.replace(
                entry,
                title=original.title,
                link=original.link,
                canonical_url=original.canonical_url,
            )
        by_feed[entry.feed].append(entry)
    with Store.open(config.state) as store:
        for url in urls:
            store.record_feed(
                FeedUpdate(url, url, ok=True, title=f"Feed {url}", entries=by_feed[url]),
                now=datetime.now(UTC),
            )
    return urls


def _measure(
    folder: Path, urls: list[str], size: int, max_items: int, options: Options
) -> dict[str, Any]:
    from roundup.config import load_config
    from roundup.pipeline import make_draft, render_week, resolve_window
    from roundup.store import Store

    config_path = feeds_yaml(urls, folder, max_items=max_items, sections=SECTIONS)
    config = load_config(config_path)
    window = resolve_window(config, WEEK, now=BASE_TIME)
    out = config.output_dir
    draft_s, render_s, redraft_s, items = [], [], [], 0
    ok = True
    with Store.open(config.state) as store:
        assert len(store.entries_between(window.start, window.end)) == size, (
            "entries outside the window"
        )
        for _ in range(options.repeat):
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            drafted = make_draft(config, store, window=window)
            t1 = time.perf_counter()
            rendered = render_week(config, week=window.week)
            t2 = time.perf_counter()
            make_draft(config, store, window=window)
            t3 = time.perf_counter()
            draft_s.append(t1 - t0)
            render_s.append(t2 - t1)
            redraft_s.append(t3 - t2)
            items = len(drafted.draft.items)
            ok = ok and bool(rendered.files)
        shutil.rmtree(out, ignore_errors=True)
        tracemalloc.start()
        make_draft(config, store, window=window)
        render_week(config, week=window.week)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    shutil.rmtree(out, ignore_errors=True)
    drafting = run_measured([ROUNDUP, "--config", config_path, "draft", "--week", WEEK])
    rendering = run_measured([ROUNDUP, "--config", config_path, "render", "--week", WEEK])
    ok = ok and drafting.returncode == 0 and rendering.returncode == 0
    return {
        "entries": size,
        "issue_items": items,
        "draft_s": median(draft_s),
        "render_s": median(render_s),
        "total_s": median([d + r for d, r in zip(draft_s, render_s, strict=True)]),
        "redraft_s": median(redraft_s),
        "tracemalloc_mb": peak / 1e6,
        "draft_rss_mb": drafting.maxrss_mb,
        "render_rss_mb": rendering.maxrss_mb,
        "ok": ok,
        "draft_cli_s": drafting.seconds,
        "render_cli_s": rendering.seconds,
        "stderr_tail": [m.stderr[-400:] for m in (drafting, rendering) if m.returncode][:1],
    }
