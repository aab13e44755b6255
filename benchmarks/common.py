"""What every benchmark shares: paths, the machine, timing, child processes, tables, results.

Timings of separate processes are taken with :func:`run_measured`, which also reports the
child's peak RSS (from ``wait4``) and the peak RSS of its whole process tree (sampled from
/proc every 50 ms, so that a process pool's workers are counted together).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
CORPORA = ROOT.parent / "shared" / "corpora"
VENV_BIN = ROOT / ".venv" / "bin"
ROUNDUP = VENV_BIN / "roundup"
PYTHON = VENV_BIN / "python"
# Compiled bytecode for the child processes lives here (git-ignored), never next to the
# sources: a user's installed roundup has its .pyc files, so the children get theirs too.
PYCACHE = BENCH_DIR / ".pycache"
CHILD_TIMEOUT = 900.0  # seconds: no single child process may run longer than this
GNU_TIME = "/usr/bin/time"


@dataclass
class Options:
    """What the command line asked for."""

    quick: bool = False
    repeat: int = 3
    corpus: Path = CORPORA
    keep: bool = False  # keep temporary folders, for debugging
    extra: dict[str, Any] = field(default_factory=dict)


# --- the machine ----------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Where the figures come from, for the results table."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_avg_at_start": os.getloadavg()[0],
        "roundup_commit": _git_head(),
    }


def _git_head() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "roundup"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


# --- child processes --------------------------------------------------------------------


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured child: bytecode cached, no proxy, no colour."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["NO_PROXY"] = "*"  # everything here is loopback; never go through a proxy
    env["TERM"] = "dumb"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Measured:
    """One child process run."""

    seconds: float
    returncode: int
    maxrss_mb: float  # the child's own peak RSS (wait4), its waited-for children included
    tree_rss_mb: float  # peak of the summed RSS of the child and all its descendants
    user_s: float
    sys_s: float
    stdout: str
    stderr: str


def run_measured(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = CHILD_TIMEOUT,
) -> Measured:
    """Run ``cmd`` to completion; wall time, peak memory and output. Kills it at ``timeout``.

    The peak RSS comes from GNU time when /usr/bin/time exists: a child's own ``ru_maxrss``
    is not enough, because Linux carries the high-water mark of the process that forked it
    (this one, which may be large) across the exec.
    """
    args = [str(c) for c in cmd]
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".rss") as rss,
    ):
        if Path(GNU_TIME).exists():
            args = [GNU_TIME, "--quiet", "-f", "%M", "-o", rss.name, *args]
        start = time.perf_counter()
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else child_env(),
            cwd=cwd,
        )
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                for child in reversed(_tree(proc.pid)):
                    with contextlib.suppress(OSError):
                        os.kill(child, 9)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        out.seek(0)
        err.seek(0)
        try:
            maxrss_kb = int(rss.read().split()[-1])
        except (ValueError, IndexError):
            maxrss_kb = usage.ru_maxrss
        return Measured(
            seconds=seconds,
            returncode=proc.returncode,
            maxrss_mb=maxrss_kb / 1024,
            tree_rss_mb=max(sampler.peak_kb, maxrss_kb) / 1024,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


class _TreeSampler(threading.Thread):
    """Samples the summed VmRSS of a process and its descendants every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self._done = threading.Event()

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=2)

    def run(self) -> None:
        while not self._done.wait(0.05):
            total = sum(_rss_kb(pid) for pid in _tree(self.pid))
            self.peak_kb = max(self.peak_kb, total)


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo and len(found) < 1000:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                text = Path(f"/proc/{current}/task/{task}/children").read_text()
                todo.extend(int(child) for child in text.split())
        except OSError:
            continue
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


# --- statistics -----------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def repeat(times: int, run: Callable[[int], float]) -> list[float]:
    return [run(index) for index in range(times)]


def ratio(slow: float, fast: float) -> float:
    return slow / fast if fast > 0 else float("inf")


# --- output ---------------------------------------------------------------------------


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
    if value is None:
        return "-"
    return str(value)


def table(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], *, markdown: bool = False
) -> str:
    """Rows as a fixed-width (or Markdown) table; ``columns`` names the keys, in order."""
    cells = [[fmt(row.get(col)) for col in columns] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(line) + " |" for line in cells]
        return "\n".join(lines)
    widths = [max(len(col), *(len(line[i]) for line in cells)) for i, col in enumerate(columns)]
    head = "  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    raw = [[row.get(col) for col in columns] for row in rows]
    body = [
        "  ".join(
            c.rjust(w) if isinstance(v, int | float) else c.ljust(w)
            for c, v, w in zip(line, values, widths, strict=True)
        )
        for line, values in zip(cells, raw, strict=True)
    ]
    return "\n".join([head, rule, *body])


@dataclass
class Result:
    """One benchmark's figures, as printed and as written to results/<name>.json."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)  # {"target", "measured", "met"}
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    extra_tables: list[dict[str, Any]] = field(default_factory=list)  # {"title", "columns", "rows"}
    details: dict[str, Any] = field(default_factory=dict)  # saved to the JSON, never printed

    def target(self, text: str, measured: str, met: bool | None) -> None:
        self.targets.append({"target": text, "measured": measured, "met": met})

    def show(self) -> None:
        print(f"\n== {self.name}: {self.title}")
        if self.params:
            print("   " + ", ".join(f"{k}={v}" for k, v in self.params.items()))
        print(table(self.columns, self.rows))
        for extra in self.extra_tables:
            print(f"\n{extra['title']}")
            print(table(extra["columns"], extra["rows"]))
        if self.targets:
            print()
            for t in self.targets:
                mark = {True: "MET   ", False: "MISSED", None: "n/a   "}[t["met"]]
                print(f"  [{mark}] {t['target']}: {t['measured']}")
        for note in self.notes:
            print(f"  note: {note}")
        sys.stdout.flush()

    def save(self, options: Options) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}{'-quick' if options.quick else ''}.json"
        data = {
            "benchmark": self.name,
            "title": self.title,
            "quick": options.quick,
            "repeat": options.repeat,
            "machine": machine(),
            "params": self.params,
            "columns": self.columns,
            "rows": self.rows,
            "extra_tables": self.extra_tables,
            "targets": self.targets,
            "notes": self.notes,
            "details": self.details,
        }
        path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        return path


def write_latest(*, quick: bool) -> Path:
    """results/latest.md: every saved result of this mode as Markdown, for the README."""
    suffix = "-quick" if quick else ""
    order = ["fetch", "onehost", "parse", "yaml", "build", "scale", "idle", "store", "startup"]
    found = []
    for name in order:
        path = RESULTS / f"{name}{suffix}.json"
        if path.exists():
            found.append(json.loads(path.read_text(encoding="utf-8")))
    lines = [f"# roundup benchmarks{' (quick mode: smoke figures only)' if quick else ''}", ""]
    lines.append("Reproduce with `.venv/bin/python -m benchmarks all` from the project root.")
    lines.append("")
    for data in found:
        m = data["machine"]
        lines.append(f"## {data['benchmark']}: {data['title']}")
        lines.append("")
        lines.append(
            f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']},"
            f" {m['os']}; {m['date']}; roundup {m['roundup_commit']};"
            f" load average at start {m['load_avg_at_start']:.2f};"
            f" median of {data['repeat']} runs."
        )
        if data["params"]:
            lines.append("Parameters: " + ", ".join(f"{k}={v}" for k, v in data["params"].items()))
        lines.append("")
        lines.append(table(data["columns"], data["rows"], markdown=True))
        for extra in data.get("extra_tables", []):
            lines += [
                "",
                f"{extra['title']}",
                "",
                table(extra["columns"], extra["rows"], markdown=True),
            ]
        if data["targets"]:
            lines.append("")
            lines.append("| target | measured | met |")
            lines.append("|---|---|---|")
            for t in data["targets"]:
                met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
                lines.append(f"| {t['target']} | {t['measured']} | {met} |")
        for note in data["notes"]:
            lines.append(f"- {note}")
        lines.append("")
    path = RESULTS / f"latest{suffix}.md"
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def feeds_yaml(
    feeds: Sequence[str],
    folder: Path,
    *,
    max_items: int = 40,
    fetch: Mapping[str, Any] | None = None,
    sections: Sequence[str] = (),
) -> Path:
    """Write a minimal feeds.yaml into ``folder`` listing ``feeds``; returns its path.

    With ``sections``, feed *i* goes into ``sections[i % len(sections)]``.
    """
    lines = [
        "newsletter:",
        "  title: Benchmark Weekly",
        "  url: https://bench.invalid/",
        "  timezone: UTC",
        "  week_ends: sunday",
        "  language: en",
        '  from: "Bench <bench@example.org>"',
        f"  max_items: {max_items}",
        "output_dir: out",
        "state: state/state.sqlite3",
    ]
    if fetch:
        lines.append("fetch:")
        lines += [f"  {key}: {value}" for key, value in fetch.items()]
    if sections:
        lines.append("sections:")
        lines += [f"  - name: {json.dumps(name)}" for name in sections]
    lines.append("feeds:")
    for index, url in enumerate(feeds):
        lines.append(f"  - url: {json.dumps(url)}")
        if sections:
            lines.append(f"    section: {json.dumps(sections[index % len(sections)])}")
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def roundup_ready() -> str | None:
    """None when ``roundup`` imports its whole pipeline; else why not."""
    probe = run_measured(
        [PYTHON, "-c", "import roundup.pipeline, roundup.cli"], env=child_env(), timeout=120
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"roundup.pipeline does not import yet: {last}"
    return None
