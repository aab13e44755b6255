"""startup: ``roundup --help`` and the desk, each in a fresh process (median of 10 runs).

Bytecode is compiled once before timing (a user's installed roundup has its .pyc files);
the import profile comes from ``python -X importtime`` running the same command.

The desk: a child process starts a clock, imports roundup, creates the desk server for a
site seeded beforehand (the bundled feeds.yaml, its sample feeds fetched and the week
drafted, outside the timing) and asks it for its page over loopback. It reports two
figures from that clock: the desk listening, and the first full page answered (the page
reads draft.yaml and renders the issue). Each run gets its own copy of the seeded site.
The child's own imports (json, time, urllib.request for the client) come before the clock
starts; interpreter start-up is not in these two figures: ``python -c pass`` is the floor
to add, and the whole child process's wall time is shown beside them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PYTHON,
    ROOT,
    ROUNDUP,
    Options,
    Result,
    child_env,
    median,
    run_measured,
)

TARGET_S = 0.3
DESK_LISTENING_TARGET_S = 0.5
DESK_FIRST_PAGE_TARGET_S = 1.0
WEEK = "2015-W33"
NOW = "2015-08-15T12:00:00+00:00"  # the week's Saturday: every sample feed has posts in it
FEEDS = ROOT / "feeds.yaml"  # the bundled config; its sample feed paths are relative to it

# Seeds a site (untimed): the sample feeds fetched into a fresh store, the week drafted.
SEED = """
import json, sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from roundup import pipeline
from roundup.config import load_config
folder, feeds, week, now = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
now = datetime.fromisoformat(now)
config = load_config(feeds)
config = replace(config, output_dir=folder / "out", state=folder / "state.sqlite3")
report = pipeline.fetch(config, now=now)
drafted = pipeline.draft(config, week=week, now=now)
print(json.dumps({"feeds": len(report.feeds), "failed": len(report.failed),
                  "entries": report.new_entries, "items": len(drafted.draft.items)}))
"""

# The measured child: a clock, then roundup imported, the desk listening, its page fetched.
DESK = """
import json, sys, time, urllib.request
started = time.perf_counter()
import roundup
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from roundup.config import load_config
from roundup.desk import create_server
folder, feeds, week, now = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
now = datetime.fromisoformat(now)
config = load_config(feeds)
config = replace(config, output_dir=folder / "out", state=folder / "state.sqlite3")
server = create_server(config, week=week, clock=lambda: now, secret="")
listening = time.perf_counter()
with server:
    try:
        with urllib.request.urlopen(server.url, timeout=60) as response:
            status = response.status
            body = response.read()
    except urllib.error.HTTPError as error:  # the desk's error page says what went wrong
        import html, re
        text = html.unescape(re.sub(r"<[^>]+>", " ", error.read().decode("utf-8", "replace")))
        sys.exit(f"HTTP {error.code}: " + " ".join(text.split())[:400])
    answered = time.perf_counter()
print(json.dumps({"listening": listening - started, "first_page": answered - started,
                  "status": status, "bytes": len(body), "full": b'id="desk-data"' in body}))
"""

# Imported by some command, never needed to print the help.
HEAVY = (
    "feedparser",
    "httpx",
    "lxml",
    "nh3",
    "jinja2",
    "premailer",
    "cssutils",
    "babel",
    "markdown_it",
    "sqlite3",
    "ruamel",
    "asyncio",
    "roundup.pipeline",
    "roundup.parse",
    "roundup.fetch",
    "roundup.render",
)


def run(options: Options) -> Result:
    runs = 5 if options.quick else 10
    result = Result(
        "startup",
        f"`roundup --help` and the desk, median of {runs} runs",
        ["command", "median_s", "min_s", "max_s", "ok"],
        params={"runs": runs},
    )
    commands: dict[str, list[str | Path]] = {
        "roundup --help": [ROUNDUP, "--help"],
        "roundup fetch --help": [ROUNDUP, "fetch", "--help"],
        "python -c pass (floor)": [PYTHON, "-c", "pass"],
    }
    run_measured([ROUNDUP, "--help"], timeout=120)  # compile the bytecode
    figures = {}
    for label, cmd in commands.items():
        times, ok = [], True
        for _ in range(runs):
            measured = run_measured(cmd, timeout=120)
            times.append(measured.seconds)
            ok = ok and measured.returncode == 0
        figures[label] = median(times)
        result.rows.append(
            {
                "command": label,
                "median_s": median(times),
                "min_s": min(times),
                "max_s": max(times),
                "ok": ok,
            }
        )
    helped = figures["roundup --help"]
    result.target(f"`roundup --help` < {TARGET_S:g} s", f"{helped:.3f} s", helped < TARGET_S)
    _measure_desk(result, runs, floor=figures["python -c pass (floor)"], keep=options.keep)

    profile = run_measured(
        [
            PYTHON,
            "-X",
            "importtime",
            "-c",
            "import sys; sys.argv = ['roundup', '--help']; from roundup.cli import main; main()",
        ],
        env=child_env(),
        timeout=120,
    )
    imports = _parse_importtime(profile.stderr)
    top = sorted(imports, key=lambda row: row["cumulative_ms"], reverse=True)
    top_level = [row for row in top if 1 <= int(row["depth"]) <= 2][:15]
    result.extra_tables.append(
        {
            "title": "Slowest imports under `roundup --help` (python -X importtime, one run;"
            " depth 1 = imported by roundup.cli itself)",
            "columns": ["module", "depth", "cumulative_ms", "self_ms"],
            "rows": top_level,
        }
    )
    loaded = {row["module"] for row in imports}
    heavy = sorted(
        {name for name in HEAVY if name in loaded or any(m.startswith(name + ".") for m in loaded)}
    )
    result.params["heavy_modules_imported_by_help"] = ", ".join(heavy) or "none"
    if heavy:
        result.notes.append(
            "imported by `roundup --help` although no help text needs them: " + ", ".join(heavy)
        )
    total_ms = sum(row["self_ms"] for row in imports)
    result.notes.append(f"all imports together: {total_ms:.0f} ms (importtime self times summed)")
    result.notes.append("figures are medians; other jobs were running on this 2-core machine")
    return result


def _measure_desk(result: Result, runs: int, *, floor: float, keep: bool) -> None:
    """Rows and targets for the desk: import to listening, import to the first page."""
    targets = {
        "listening": ("the desk listening", DESK_LISTENING_TARGET_S),
        "first_page": ("the desk's first full page answered", DESK_FIRST_PAGE_TARGET_S),
    }
    folder = Path(tempfile.mkdtemp(prefix="roundup-bench-startup-"))
    try:
        seed = folder / "seed"
        seed.mkdir()
        seeded = run_measured(
            [PYTHON, "-c", SEED, seed, FEEDS, WEEK, NOW], env=child_env(), cwd=ROOT, timeout=300
        )
        if seeded.returncode != 0:
            why = f"seeding the site failed: {_last_line(seeded.stderr)}"
            result.notes.append(f"desk not measured: {why}")
            for what, target in targets.values():
                result.target(f"import roundup to {what} < {target:g} s", why, None)
            return
        site = json.loads(seeded.stdout.strip().splitlines()[-1])
        result.params["desk_site"] = (
            f"feeds.yaml's {site['feeds']} sample feeds ({site['failed']} failed),"
            f" {site['entries']} entries, {site['items']} items drafted for {WEEK}"
        )
        runs_seen: list[dict[str, Any]] = []
        for index in range(runs + 1):  # run 0 compiles the bytecode: not counted
            copy = folder / f"run-{index}"
            shutil.copytree(seed, copy)
            measured = run_measured(
                [PYTHON, "-c", DESK, copy, FEEDS, WEEK, NOW],
                env=child_env(),
                cwd=ROOT,
                timeout=120,
            )
            if not keep:
                shutil.rmtree(copy, ignore_errors=True)
            if index == 0:
                continue
            figures: dict[str, Any] = {"wall": measured.seconds, "returncode": measured.returncode}
            if measured.returncode == 0:
                figures.update(json.loads(measured.stdout.strip().splitlines()[-1]))
            else:
                figures["error"] = _last_line(measured.stderr)
            figures["ok"] = (
                measured.returncode == 0 and figures["status"] == 200 and figures["full"]
            )
            runs_seen.append(figures)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    result.details["desk_runs"] = runs_seen
    good = [run for run in runs_seen if run["ok"]]
    ok = len(good) == len(runs_seen)
    if not ok:
        errors = sorted(
            {str(run.get("error", "not a full page")) for run in runs_seen if not run["ok"]}
        )
        result.notes.append(
            f"desk: {len(runs_seen) - len(good)} run(s) failed: {'; '.join(errors)}"
        )
    labels = {
        "listening": "desk: import roundup to listening",
        "first_page": "desk: import roundup to first full page",
        "wall": "desk: whole child process (wall)",
    }
    medians = {}
    for key, label in labels.items():
        times = [run[key] for run in good]
        medians[key] = median(times)
        result.rows.append(
            {
                "command": label,
                "median_s": medians[key],
                "min_s": min(times, default=float("nan")),
                "max_s": max(times, default=float("nan")),
                "ok": ok,
            }
        )
    for key, (what, target) in targets.items():
        shown = (
            f"{medians[key]:.3f} s (floor `python -c pass` {floor:.3f} s, not included)"
            if good
            else "no successful run (see the notes)"
        )
        result.target(
            f"import roundup to {what} < {target:g} s",
            shown,
            bool(good) and ok and medians[key] < target,
        )


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or ["?"])[-1]


def _parse_importtime(text: str) -> list[dict[str, Any]]:
    """Rows of ``import time:   self |   cumulative | <indent>module``; depth 0 = top level."""
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3:
            continue
        try:
            self_us, cumulative_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue
        name = parts[2].removeprefix(" ")  # one space after the bar, then two per level
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows.append(
            {
                "module": name.strip(),
                "depth": depth,
                "self_ms": self_us / 1000,
                "cumulative_ms": cumulative_us / 1000,
            }
        )
    return rows
