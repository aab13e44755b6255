"""idle: the hourly cron job when nothing is due, nothing is new and every feed answers 304.

Against 300 feeds on 50 hosts at 100 ms latency: a cold ``roundup fetch`` and one ``roundup
run`` prepare the state (the week's draft and files exist); then, alternately, a bare
``roundup fetch --quiet`` (the reference: the least an hourly job can do) and ``roundup run
--quiet`` (fetch, then draft and render only if something changed), each a separate process.
The week's files must come out of the idle runs untouched.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from benchmarks.bench_fetch import warm_up
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

RATIO_TARGET = 1.2
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def run(options: Options) -> Result:
    feeds = int(options.extra.get("feeds") or (30 if options.quick else 300))
    latency = float(options.extra.get("latency") or 0.1)
    repeat = max(options.repeat, 1 if options.quick else 5)
    result = Result(
        "idle",
        f"an idle hour: roundup run vs a bare roundup fetch, {feeds} feeds all 304,"
        f" {latency * 1000:g} ms latency",
        ["command", "median_s", "min_s", "max_s", "cpu_s", "peak_rss_mb", "ok"],
        params={"feeds": feeds, "hosts": 50, "latency_ms": latency * 1000, "repeat": repeat},
    )
    problem = roundup_ready()
    if problem:
        result.notes.append(f"skipped: {problem}")
        return result
    warm_up()
    folder = Path(tempfile.mkdtemp(prefix="roundup-bench-idle-"))
    try:
        with FeedServer(feeds=feeds, hosts=min(50, feeds), latency=latency) as server:
            config = feeds_yaml(server.urls, folder)
            _not_due_soon(config)
            base = [ROUNDUP, "--config", config]
            for setup in (["fetch", "--quiet"], ["run"]):
                done = run_measured([*base, *setup], cwd=ROOT)
                if done.returncode not in (0, 3):
                    result.notes.append(f"setup {setup[0]} failed: {done.stderr[-300:]}")
                    return result
            result.details["setup_run_output"] = done.stdout[-500:]
            files = _files(folder / "out")
            measured: dict[str, list[Measured]] = {"fetch": [], "run": []}
            for _ in range(repeat):
                for name in ("fetch", "run"):
                    measured[name].append(run_measured([*base, name, "--quiet"], cwd=ROOT))
            untouched = _files(folder / "out") == files
            statuses = server.stats()["statuses"]
    finally:
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for name, runs in measured.items():
        seconds = [m.seconds for m in runs]
        result.rows.append(
            {
                "command": f"roundup {name} --quiet",
                "median_s": median(seconds),
                "min_s": min(seconds),
                "max_s": max(seconds),
                "cpu_s": median([m.user_s + m.sys_s for m in runs]),
                "peak_rss_mb": max(m.tree_rss_mb for m in runs),
                "ok": all(m.returncode == 0 for m in runs),
                "runs_s": [round(s, 3) for s in seconds],
            }
        )
    fetch, run_ = (row["median_s"] for row in result.rows)
    ok = all(row["ok"] for row in result.rows) and untouched
    result.target(
        f"idle run <= {RATIO_TARGET:g}x a bare fetch",
        f"{run_ / fetch:.2f}x ({run_:.2f} s vs {fetch:.2f} s)",
        ok and run_ <= RATIO_TARGET * fetch,
    )
    result.notes.append(
        f"the week's files {'were left untouched' if untouched else 'CHANGED'} by the idle"
        f" runs; statuses served in the timed runs: {statuses}"
    )
    result.notes.append("figures are medians; other jobs were running on this 2-core machine")
    return result


def _not_due_soon(config: Path) -> None:
    """send_at three days from today: no issue is due now, nor within a day of now."""
    day = WEEKDAYS[(dt.datetime.now(dt.UTC).weekday() + 3) % 7]
    text = config.read_text(encoding="utf-8")
    text = text.replace("  max_items:", f'  send_at: "{day} 12:00"\n  max_items:', 1)
    config.write_text(text, encoding="utf-8")


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: (size, modification time in ns)."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
