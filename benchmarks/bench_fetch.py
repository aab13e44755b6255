"""fetch: a cold then a warm ``roundup fetch`` of N feeds, against rss2email on the same server.

Cold: a fresh state file, every feed answers 200 with its body. Warm: the same state again,
every feed answers 304 to the stored validators. rss2email (``r2e run --no-send``) does the
same two runs against the same server in the same benchmark run; the ratios are printed.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import r2e
from benchmarks.common import (
    ROOT,
    ROUNDUP,
    Measured,
    Options,
    Result,
    feeds_yaml,
    median,
    ratio,
    roundup_ready,
    run_measured,
)
from benchmarks.feedserver import FeedServer
from roundup.config import FetchSettings

# (label, fetch settings written into feeds.yaml, unused); each runs `roundup fetch`
VARIANTS: list[tuple[str, dict[str, Any], list[str] | None]] = [
    ("roundup", {}, None),
    ("roundup concurrency=128", {"concurrency": 128}, None),
]
COLD_TARGET = 20.0
WARM_TARGET = 35.0


def run(options: Options) -> Result:
    feeds = int(options.extra.get("feeds") or (30 if options.quick else 300))
    hosts = min(50, max(1, feeds // 6)) if options.quick else 50
    latency = float(options.extra.get("latency") or 0.1)
    result = Result(
        "fetch",
        f"cold and warm fetch of {feeds} feeds at {latency * 1000:g} ms latency,"
        " roundup vs rss2email",
        [
            "tool",
            "run",
            "median_s",
            "min_s",
            "max_s",
            "feeds_per_s",
            "cpu_s",
            "peak_rss_mb",
            "200s",
            "304s",
            "ok",
        ],
        params={
            "feeds": feeds,
            "hosts": hosts,
            "latency_ms": latency * 1000,
            "repeat": options.repeat,
        },
    )
    problem = roundup_ready()
    if problem:
        result.notes.append(f"roundup skipped: {problem}")
    r2e_path, r2e_version = r2e.ensure()
    result.params["rss2email"] = r2e_version if r2e_path else "unavailable"
    if r2e_path is None:
        result.notes.append(r2e_version)

    with FeedServer(feeds=feeds, hosts=hosts, latency=latency) as server:
        result.params["mean_feed_kb"] = round(server.mean_size / 1000, 1)
        variants = VARIANTS if not options.quick else VARIANTS[:1]
        figures: dict[tuple[str, str], float] = {}
        if not problem:
            warm_up()
            for label, fetch, flags in variants:
                runs = roundup_runs(server, options, fetch, flags, feeds)
                for run_name, rows in runs.items():
                    row = result_row(label, run_name, rows, feeds)
                    result.rows.append(row)
                    if row["ok"]:  # a failed run is no figure
                        figures[(label, run_name)] = median([m.seconds for m, _ in rows])
        if r2e_path is not None:
            for run_name, rows in r2e_runs(server, options, r2e_path, feeds).items():
                row = result_row(f"rss2email {r2e_version.split()[-1]}", run_name, rows, feeds)
                result.rows.append(row)
                if row["ok"]:
                    figures[("rss2email", run_name)] = median([m.seconds for m, _ in rows])

    for run_name, target in (("cold", COLD_TARGET), ("warm", WARM_TARGET)):
        base = figures.get(("rss2email", run_name))
        for label, _fetch, _flags in variants:
            mine = figures.get((label, run_name))
            if base is None or mine is None:
                result.target(
                    f"{run_name} {label} >= {target:g}x faster than rss2email",
                    "no figure: a run failed (see the JSON)",
                    None,
                )
                continue
            speedup = ratio(base, mine)
            result.target(
                f"{run_name} {label} >= {target:g}x faster than rss2email",
                f"{speedup:.1f}x ({mine:.2f} s vs {base:.2f} s)",
                speedup >= target,
            )
    defaults = FetchSettings()
    floor = _latency_floor(
        feeds, hosts, latency, concurrency=defaults.concurrency, per_host=defaults.per_host
    )
    result.notes.append(
        f"latency floor with the default fetch settings (concurrency {defaults.concurrency},"
        f" per_host {defaults.per_host}): {floor:.2f} s per run before any parsing or start-up"
    )
    result.notes.append("figures are medians; other jobs were running on this 2-core machine")
    return result


def _latency_floor(
    feeds: int, hosts: int, latency: float, *, concurrency: int, per_host: int
) -> float:
    per_host_rounds = math.ceil(math.ceil(feeds / hosts) / per_host)
    global_rounds = math.ceil(feeds / concurrency)
    return max(per_host_rounds, global_rounds) * latency


def warm_up() -> None:
    """Compile roundup's bytecode once, so that no timed run pays for it."""
    run_measured([ROUNDUP, "--help"], timeout=120)


def roundup_runs(
    server: FeedServer,
    options: Options,
    fetch: dict[str, Any],
    flags: list[str] | None,
    feeds: int,
) -> dict[str, list[tuple[Measured, dict[str, Any]]]]:
    """``options.repeat`` cold fetches of ``server``'s feeds by roundup, each followed by a
    warm one, in fresh folders."""
    runs: dict[str, list[tuple[Measured, dict[str, Any]]]] = {"cold": [], "warm": []}
    for _ in range(options.repeat):
        folder = Path(tempfile.mkdtemp(prefix="roundup-bench-fetch-"))
        try:
            config = feeds_yaml(server.urls, folder, fetch=fetch)
            for name in ("cold", "warm"):
                server.reset_stats()
                command = [ROUNDUP, "--config", config, "fetch", "--quiet"]
                measured = run_measured(command, cwd=ROOT)
                stats = server.stats()
                stats["entries"] = stored_entries(folder / "state" / "state.sqlite3")
                stats["expected"] = _expected(name, feeds, stats)
                runs[name].append((measured, stats))
        finally:
            if not options.keep:
                shutil.rmtree(folder, ignore_errors=True)
    return runs


def r2e_runs(
    server: FeedServer, options: Options, r2e_path: Path, feeds: int
) -> dict[str, list[tuple[Measured, dict[str, Any]]]]:
    """The same cold and warm runs by rss2email (installed at ``r2e_path``)."""
    runs: dict[str, list[tuple[Measured, dict[str, Any]]]] = {"cold": [], "warm": []}
    for _ in range(options.repeat):
        folder = Path(tempfile.mkdtemp(prefix="roundup-bench-r2e-"))
        try:
            env = r2e.setup(folder, server.urls)
            for name in ("cold", "warm"):
                server.reset_stats()
                measured = r2e.run(r2e_path, env)
                stats = server.stats()
                stats["entries"] = r2e.seen_entries(folder)
                stats["expected"] = _expected(name, feeds, stats)
                runs[name].append((measured, stats))
        finally:
            if not options.keep:
                shutil.rmtree(folder, ignore_errors=True)
    return runs


def _expected(name: str, feeds: int, stats: dict[str, Any]) -> bool:
    statuses = stats["statuses"]
    wanted = "200" if name == "cold" else "304"
    return bool(statuses.get(wanted, 0) == feeds and stats["requests"] == feeds)


def stored_entries(path: Path) -> int:
    """How many entries the state file at ``path`` holds (-1 when it cannot be read)."""
    try:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
    except sqlite3.Error:
        return -1


def result_row(
    tool: str, run_name: str, rows: list[tuple[Measured, dict[str, Any]]], feeds: int
) -> dict[str, Any]:
    """One row of the results table: medians and counts of ``rows``' runs."""
    seconds = [m.seconds for m, _ in rows]
    last_stats = rows[-1][1]
    ok = all(m.returncode == 0 and s["expected"] for m, s in rows)
    return {
        "tool": tool,
        "run": run_name,
        "median_s": median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "feeds_per_s": feeds / median(seconds),
        "cpu_s": median([m.user_s + m.sys_s for m, _ in rows]),
        "peak_rss_mb": max(m.tree_rss_mb for m, _ in rows),
        "200s": last_stats["statuses"].get("200", 0),
        "304s": last_stats["statuses"].get("304", 0),
        "ok": ok,
        "runs_s": [round(s, 3) for s in seconds],
        "entries": last_stats["entries"],
        "peak_in_flight": last_stats["peak_in_flight"],
        "peak_in_flight_per_host": last_stats["peak_in_flight_per_host"],
        "connections": last_stats["connections"],
        "returncodes": [m.returncode for m, _ in rows],
        "stderr_tail": [m.stderr[-400:] for m, _ in rows if m.returncode != 0][:1],
    }
