"""scale: a cold ``roundup fetch`` of 100, 300, 1,000 and 3,000 feeds: wall time, peak RSS.

Growth is reported against the smallest size: ``time_growth`` is (t_N / t_first) divided by
(N / N_first), so 1.0 is exactly linear and below 1.0 better than linear.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.bench_fetch import stored_entries, warm_up
from benchmarks.common import (
    ROOT,
    ROUNDUP,
    Measured,
    Options,
    Result,
    feeds_yaml,
    median,
    roundup_ready,
    run_measured,
)
from benchmarks.feedserver import FeedServer

MEMORY_TARGET_MB = 150.0


def run(options: Options) -> Result:
    sizes = [20, 60] if options.quick else [100, 300, 1000, 3000]
    latency = float(options.extra.get("latency") or 0.05)
    hosts = 10 if options.quick else 50
    result = Result(
        "scale",
        f"cold roundup fetch of {', '.join(map(str, sizes))} feeds"
        f" at {latency * 1000:g} ms latency",
        [
            "variant",
            "feeds",
            "median_s",
            "min_s",
            "max_s",
            "feeds_per_s",
            "cpu_s",
            "peak_rss_mb",
            "tree_rss_mb",
            "time_growth",
            "entries",
            "ok",
        ],
        params={"latency_ms": latency * 1000, "hosts": hosts, "repeat": options.repeat},
    )
    problem = roundup_ready()
    if problem:
        result.notes.append(f"skipped: {problem}")
        return result
    warm_up()
    first: tuple[int, float] | None = None
    plain = [ROUNDUP, "--config", "{config}", "fetch", "--quiet"]
    plan = [("roundup", size, plain) for size in sizes]
    with FeedServer(feeds=max(sizes), hosts=hosts, latency=latency) as server:
        result.params["mean_feed_kb"] = round(server.mean_size / 1000, 1)
        for variant, size, command in plan:
            runs = _runs(server, options, size, command)
            seconds = median([m.seconds for m, _, _ in runs])
            if first is None:
                first = (size, seconds)
            growth = (seconds / first[1]) / (size / first[0])
            result.rows.append(
                {
                    "variant": variant,
                    "feeds": size,
                    "median_s": seconds,
                    "min_s": min(m.seconds for m, _, _ in runs),
                    "max_s": max(m.seconds for m, _, _ in runs),
                    "feeds_per_s": size / seconds,
                    "cpu_s": median([m.user_s + m.sys_s for m, _, _ in runs]),
                    "peak_rss_mb": max(m.maxrss_mb for m, _, _ in runs),
                    "tree_rss_mb": max(m.tree_rss_mb for m, _, _ in runs),
                    "time_growth": growth,
                    "entries": runs[-1][1],
                    "ok": all(ok for _, _, ok in runs),
                    "runs_s": [round(m.seconds, 3) for m, _, _ in runs],
                    "returncodes": [m.returncode for m, _, _ in runs],
                    "stderr_tail": [m.stderr[-400:] for m, _, _ in runs if m.returncode][:1],
                }
            )
    last = [row for row in result.rows if row["variant"] == "roundup"][-1]
    if not all(row["ok"] for row in result.rows):
        result.notes.append("some runs FAILED (see returncodes and stderr_tail in the JSON)")
    result.target(
        f"growth linear or better up to {last['feeds']} feeds",
        f"time per feed at {last['feeds']} is {last['time_growth']:.2f}x that at {sizes[0]}",
        bool(last["ok"]) and last["time_growth"] <= 1.1,  # 10% slack for noise
    )
    result.target(
        f"peak memory < {MEMORY_TARGET_MB:g} MB at {last['feeds']} feeds",
        f"{last['tree_rss_mb']:.0f} MB (process tree)",
        bool(last["ok"]) and last["tree_rss_mb"] < MEMORY_TARGET_MB,
    )
    result.notes.append(
        "peak_rss_mb is the roundup process's own peak (GNU time); tree_rss_mb sums it with"
        " its worker processes, sampled every 50 ms; cpu_s includes the parse workers"
        " (children that roundup waits for)"
    )
    result.notes.append("figures are medians; other jobs were running on this 2-core machine")
    return result


def _runs(
    server: FeedServer, options: Options, size: int, command: list[Any]
) -> list[tuple[Measured, int, bool]]:
    runs = []
    for _ in range(options.repeat):
        folder = Path(tempfile.mkdtemp(prefix="roundup-bench-scale-"))
        try:
            config = feeds_yaml(server.urls[:size], folder)
            server.reset_stats()
            argv = [str(config) if part == "{config}" else part for part in command]
            measured = run_measured(argv, cwd=ROOT)
            stats = server.stats()
            entries = stored_entries(folder / "state" / "state.sqlite3")
            ok = measured.returncode == 0 and stats["statuses"].get("200", 0) == size
            runs.append((measured, entries, ok))
        finally:
            if not options.keep:
                shutil.rmtree(folder, ignore_errors=True)
    return runs
