"""onehost: every feed on one address (an aggregator, a planet, a FreshRSS export).

N feeds served by one loopback address at 100 ms latency, with ``fetch.per_host`` and
``fetch.concurrency`` both 64 in feeds.yaml. At N = 150: a cold then a warm ``roundup
fetch`` beside rss2email's cold and warm runs against the same server. At N = 3,000: a
cold and a warm ``roundup fetch`` beside the physical floor, which is the latency rounds
(⌈N / 64⌉ × latency) plus the bytes divided by roundup's reader's throughput on every core
(measured in this process on the same bodies: ``parse_feed`` over a sample of them, in
CPU time on one core, times the cores). Peak memory is that of every process together.
"""

from __future__ import annotations

import math
import os
import time

from benchmarks import r2e
from benchmarks.bench_fetch import r2e_runs, result_row, roundup_runs, warm_up
from benchmarks.common import Options, Result, ratio, roundup_ready
from benchmarks.feedserver import FeedServer, Spec, build_site

PER_HOST = 64
SMALL, LARGE = 150, 3000
COLD_TARGET, WARM_TARGET = 15.0, 30.0
FLOOR_TARGET = 1.5
SAMPLE = 60  # bodies parsed to measure the reader's throughput


def run(options: Options) -> Result:
    small, large = (30, 300) if options.quick else (SMALL, LARGE)
    latency = float(options.extra.get("latency") or 0.1)
    result = Result(
        "onehost",
        f"{small} and {large} feeds on one host at {latency * 1000:g} ms latency,"
        f" per_host = concurrency = {PER_HOST}: roundup vs rss2email and vs the floor",
        [
            "tool",
            "feeds",
            "run",
            "median_s",
            "min_s",
            "feeds_per_s",
            "cpu_s",
            "peak_rss_mb",
            "200s",
            "304s",
            "ok",
        ],
        params={"latency_ms": latency * 1000, "per_host": PER_HOST, "repeat": options.repeat},
    )
    problem = roundup_ready()
    if problem:
        result.notes.append(f"skipped: {problem}")
        return result
    fetch = {"concurrency": PER_HOST, "per_host": PER_HOST}
    r2e_path, r2e_version = r2e.ensure()
    result.params["rss2email"] = r2e_version if r2e_path else "unavailable"
    warm_up()
    figures: dict[tuple[str, str], float] = {}
    with FeedServer(feeds=small, hosts=1, latency=latency) as server:
        for run_name, rows in roundup_runs(server, options, fetch, None, small).items():
            row = result_row("roundup", run_name, rows, small) | {"feeds": small}
            result.rows.append(row)
            if row["ok"]:
                figures[("roundup", run_name)] = row["median_s"]
        if r2e_path is None:
            result.notes.append(r2e_version)
        else:
            r2e_options = Options(
                quick=options.quick, repeat=1 if options.quick else min(options.repeat, 2)
            )
            for run_name, rows in r2e_runs(server, r2e_options, r2e_path, small).items():
                tool = f"rss2email {r2e_version.split()[-1]}"
                row = result_row(tool, run_name, rows, small) | {"feeds": small}
                result.rows.append(row)
                if row["ok"]:
                    figures[("rss2email", run_name)] = row["median_s"]
    for run_name, target in (("cold", COLD_TARGET), ("warm", WARM_TARGET)):
        base, mine = figures.get(("rss2email", run_name)), figures.get(("roundup", run_name))
        label = f"{small} feeds {run_name} >= {target:g}x faster than rss2email"
        if base is None or mine is None:
            result.target(label, "no figure: a run failed (see the JSON)", None)
            continue
        speedup = ratio(base, mine)
        result.target(label, f"{speedup:.1f}x ({mine:.2f} s vs {base:.2f} s)", speedup >= target)

    floor, throughput = _floor(large, latency)
    result.params["reader_mb_per_cpu_s"] = round(throughput / 1e6, 2)
    with FeedServer(feeds=large, hosts=1, latency=latency) as server:
        large_options = Options(quick=options.quick, repeat=1 if options.quick else 2)
        runs = roundup_runs(server, large_options, fetch, None, large)
        for run_name, rows in runs.items():
            result.rows.append(result_row("roundup", run_name, rows, large) | {"feeds": large})
    result.rows.append({"tool": "floor", "feeds": large, "run": "cold", "median_s": floor})
    cold = next(r for r in result.rows if r["feeds"] == large and r["run"] == "cold")
    result.target(
        f"{large} feeds cold within {FLOOR_TARGET:g}x of the floor",
        f"{cold['median_s'] / floor:.2f}x ({cold['median_s']:.2f} s vs floor {floor:.2f} s)",
        bool(cold["ok"]) and cold["median_s"] <= FLOOR_TARGET * floor,
    )
    result.target(
        f"{large} feeds: peak memory of all processes < 150 MB",
        f"{cold['peak_rss_mb']:.0f} MB",
        bool(cold["ok"]) and cold["peak_rss_mb"] < 150,
    )
    result.notes.append(
        f"floor = ceil({large} / {PER_HOST}) x {latency:g} s + bytes / (reader throughput x"
        f" {os.cpu_count()} cores) = {floor:.2f} s"
    )
    result.notes.append("figures are medians; other jobs were running on this 2-core machine")
    return result


def _floor(feeds: int, latency: float) -> tuple[float, float]:
    """(the floor in seconds, the reader's bytes per CPU second on one core)."""
    from datetime import UTC, datetime

    from roundup.parse import parse_feed

    site = list(build_site(Spec(feeds=feeds, hosts=1)).values())
    total = sum(len(resource.body) for resource in site)
    sample = site[:: max(1, len(site) // SAMPLE)][:SAMPLE]
    now = datetime(2025, 6, 9, tzinfo=UTC)
    timings = []
    for _ in range(3):
        started = time.process_time()
        for index, resource in enumerate(sample):
            key = f"http://127.0.0.2/feed-{index}.xml"
            parse_feed(resource.body, key=key, url=key, fetched_at=now, name=None)
        timings.append(time.process_time() - started)
    throughput = sum(len(resource.body) for resource in sample) / min(timings)
    cores = os.cpu_count() or 1
    rounds = math.ceil(feeds / PER_HOST) * latency
    return rounds + total / (throughput * cores), throughput
