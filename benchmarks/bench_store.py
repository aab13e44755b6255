"""store: a state file that grew for years, and de-duplication of adversarial titles.

In-process. A store of 300,000 entries (3,000 feeds of 100 entries, written with
``Store.record_feed``, about a year and a half of them) then:

* a link's copies looked up as ``explain`` and the desk's restore do
  (``Store.entries_with_url``), beside the same query forced to read the table
  (``NOT INDEXED``: what every lookup cost before the index); and ``roundup explain`` whole;
* ``store.keep_days: 400`` applied (``pipeline.prune_store``): time, entries deleted, file
  size before and after.

Then ``dedupe`` over 64,000 entries whose titles are drawn from a 26-word vocabulary (every
pair of words common), beside 8,000 of them (linear growth is 8x) and beside 64,000 entries
with titles as varied as real ones (the synthetic feeds' titles).
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import Options, Result, median
from benchmarks.feedserver import synthetic_entries

LOOKUP_TARGET_MS = 50.0
DEDUPE_TARGET_S = 2.0
VOCABULARY = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def run(options: Options) -> Result:
    feeds, per_feed = (300, 100) if options.quick else (3000, 100)
    adversarial = 8000 if options.quick else 64000
    result = Result(
        "store",
        f"a store of {feeds * per_feed:,} entries; dedupe of {adversarial:,} adversarial titles",
        ["case", "roundup_ms", "reference", "reference_ms", "detail"],
        params={"entries": feeds * per_feed, "repeat": options.repeat},
    )
    folder = Path(tempfile.mkdtemp(prefix="roundup-bench-store-"))
    try:
        _store_figures(result, folder, feeds, per_feed, options)
    finally:
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)
    _dedupe_figures(result, adversarial, options)
    result.notes.append("other jobs were running on this 2-core machine")
    return result


def _store_figures(
    result: Result, folder: Path, feeds: int, per_feed: int, options: Options
) -> None:
    from roundup.config import load_config
    from roundup.pipeline import explain, prune_store
    from roundup.store import FeedUpdate, Store
    from roundup.testing import make_entry

    config_path = folder / "feeds.yaml"
    config_path.write_text(
        "newsletter: {title: Bench, url: 'https://bench.invalid/', from: 'b@example.org',"
        " timezone: UTC}\nstate: state.sqlite3\nstore: {keep_days: 400}\nfeeds:\n"
        "  - url: https://feed-0.example/feed.xml\n",
        encoding="utf-8",
    )
    config = load_config(config_path)
    started = time.perf_counter()
    span = timedelta(days=540)  # a year and a half of entries, newest first
    with Store.open(config.state) as store:
        for number in range(feeds):
            key = f"https://feed-{number}.example/feed.xml"
            entries = []
            for index in range(per_feed):
                at = NOW - span * ((number * per_feed + index) / (feeds * per_feed))
                link = f"https://feed-{number}.example/post/{index}"
                entries.append(
                    make_entry(
                        feed=key,
                        id=link,
                        title=f"Post {index} of feed {number}",
                        link=link,
                        canonical_url=link,
                        published=at,
                        first_seen=at,
                        summary_text="A summary of the post. " * 8,
                        source=f"Feed {number}",
                    )
                )
            store.record_feed(FeedUpdate(key, key, ok=True, entries=entries), now=NOW)
        store.issue_number("2025-W40", first=1)
        store.mark_sent("2025-W40", ["https://feed-2999.example/post/5"], at=NOW - span)
        count = store.count_entries()
        result.details["build_seconds"] = round(time.perf_counter() - started, 1)
        rng = random.Random(1)
        keys = [
            f"https://feed-{rng.randrange(feeds)}.example/post/{rng.randrange(per_feed)}"
            for _ in range(50 if not options.quick else 10)
        ]
        indexed = _per_call_ms(lambda key: store.entries_with_url(key), keys)
        scans = keys[: max(3, options.repeat)]
        scanned = _per_call_ms(lambda key: _scan(store, key), scans)
        result.rows.append(
            {
                "case": f"a link's copies among {count:,} entries",
                "roundup_ms": indexed,
                "reference": "the same query without the index",
                "reference_ms": scanned,
                "detail": f"median of {len(keys)} lookups (reference: {len(scans)})",
            }
        )
        result.target(
            f"explain's and the desk's lookup < {LOOKUP_TARGET_MS:g} ms at {count:,} entries",
            f"{indexed:.3f} ms (without the index {scanned:.0f} ms)",
            indexed < LOOKUP_TARGET_MS,
        )
    whole = _per_call_ms(lambda key: explain(config, url=key, week="2026-W48", now=NOW), keys[:5])
    result.rows.append(
        {
            "case": "roundup explain, in process (store opened, week selected)",
            "roundup_ms": whole,
            "reference": "",
            "reference_ms": None,
            "detail": "median of 5",
        }
    )
    size = config.state.stat().st_size
    with Store.open(config.state) as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = config.state.stat().st_size
        started = time.perf_counter()
        deleted = prune_store(config, store, now=NOW)
        pruned = (time.perf_counter() - started) * 1000
        left = store.count_entries()
    after = config.state.stat().st_size
    result.rows.append(
        {
            "case": "store.keep_days: 400, pruned and compacted",
            "roundup_ms": pruned,
            "reference": "",
            "reference_ms": None,
            "detail": f"{deleted:,} deleted, {left:,} kept; file {size / 1e6:.0f} MB ->"
            f" {after / 1e6:.0f} MB",
        }
    )
    result.target(
        "old entries no issue used are pruned and the file shrinks",
        f"{deleted:,} deleted; {size / 1e6:.0f} MB -> {after / 1e6:.0f} MB",
        deleted > 0 and after < size,
    )


def _scan(store: object, key: str) -> object:
    db = store.db  # type: ignore[attr-defined]
    return db.execute(
        "SELECT * FROM entries NOT INDEXED WHERE canonical_url = ?", (key,)
    ).fetchall()


def _per_call_ms(call: object, keys: list[str]) -> float:
    timings = []
    for key in keys:
        started = time.perf_counter()
        call(key)  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _dedupe_figures(result: Result, size: int, options: Options) -> None:
    from roundup.dedupe import dedupe
    from roundup.testing import make_entry

    def pool(count: int, titles: list[str]) -> list[object]:
        return [
            make_entry(
                feed=f"f{n % 300}",
                id=str(n),
                title=titles[n],
                canonical_url=f"https://e.example/{n}",
                published=NOW - timedelta(minutes=n),
            )
            for n in range(count)
        ]

    rng = random.Random(1)
    words = [" ".join(rng.choices(VOCABULARY, k=rng.randint(5, 9))) for _ in range(size)]
    feeds = range(size // 30 + 1)
    real = [e.title for i in feeds for e in synthetic_entries(i, entries=30, size=1)][:size]
    order = [f"f{k}" for k in range(300)]
    figures = {}
    for name, titles, count in (
        ("adversarial", words, size),
        ("adversarial, an eighth", words, size // 8),
        ("real-like", real, size),
    ):
        entries = pool(count, titles)
        timings = []
        for _ in range(max(1, min(options.repeat, 3))):
            started = time.process_time()
            deduped = dedupe(entries, order)  # type: ignore[arg-type]
            timings.append(time.process_time() - started)
        figures[name] = (median(timings), len(deduped.duplicates))
    adv, eighth, like = (
        figures["adversarial"],
        figures["adversarial, an eighth"],
        figures["real-like"],
    )
    result.rows.append(
        {
            "case": f"dedupe {size:,} titles from 26 words (CPU time)",
            "roundup_ms": adv[0] * 1000,
            "reference": f"{size:,} real-like titles",
            "reference_ms": like[0] * 1000,
            "detail": f"{size // 8:,} of them: {eighth[0] * 1000:.0f} ms;"
            f" growth x{adv[0] / eighth[0]:.1f} for x8 entries; {adv[1]} duplicates",
        }
    )
    result.target(
        f"dedupe of {size:,} adversarial titles < {DEDUPE_TARGET_S:g} s",
        f"{adv[0]:.2f} s CPU (real-like titles {like[0]:.2f} s)",
        adv[0] < DEDUPE_TARGET_S,
    )
