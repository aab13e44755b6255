"""startup: ``roundup --help`` wall time (median of 10 runs), and what its imports cost.

Bytecode is compiled once before timing (a user's installed roundup has its .pyc files);
the import profile comes from ``python -X importtime`` running the same command.
"""

from __future__ import annotations

from benchmarks.common import PYTHON, ROUNDUP, Options, Result, child_env, median, run_measured

TARGET_S = 0.3
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
        f"`roundup --help`, median of {runs} runs",
        ["command", "median_s", "min_s", "max_s", "ok"],
        params={"runs": runs},
    )
    commands = {
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


def _parse_importtime(text: str) -> list[dict[str, object]]:
    """Rows of ``import time:   self |   cumulative | <indent>module``; depth 0 = top level."""
    rows: list[dict[str, object]] = []
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
