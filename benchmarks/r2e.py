"""rss2email, the baseline: installed in its own environment, never a dependency of roundup.

``ensure()`` creates ``benchmarks/.venv-r2e`` and pip-installs rss2email into it the first
time; every run gets its own XDG config, data and runtime folders inside a temporary folder,
so nothing touches the user's ~/.config or ~/.local/share.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import BENCH_DIR, Measured, child_env, run_measured

VENV = BENCH_DIR / ".venv-r2e"
R2E = VENV / "bin" / "r2e"
INSTALL_TIMEOUT = 600.0


def ensure() -> tuple[Path | None, str]:
    """(path to r2e, version) or (None, why it is unavailable)."""
    if not R2E.exists():
        try:
            if not (VENV / "bin" / "python").exists():
                subprocess.run(
                    [sys.executable, "-m", "venv", str(VENV)], check=True, timeout=INSTALL_TIMEOUT
                )
            subprocess.run(
                [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "rss2email"],
                check=True,
                timeout=INSTALL_TIMEOUT,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"could not install rss2email into {VENV}: {exc}"
    try:
        out = subprocess.run(
            [str(R2E), "--version"], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{R2E} does not run: {exc}"
    return R2E, (out.stdout or out.stderr).strip()


def setup(folder: Path, urls: Sequence[str]) -> dict[str, str]:
    """Write an rss2email config listing ``urls`` under ``folder``; returns the child env."""
    config_home = folder / "config"
    data_home = folder / "data"
    runtime = folder / "run"
    for path in (config_home, data_home, runtime):
        path.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    lines = [
        "[DEFAULT]",
        "to = bench@example.invalid",
        "from = bench@example.invalid",
        "verbose = warning",
        "",
    ]
    for index, url in enumerate(urls):
        lines += [f"[feed.f{index:05d}]", f"url = {url}", ""]
    (config_home / "rss2email.cfg").write_text("\n".join(lines), encoding="utf-8")
    return child_env(
        {
            "XDG_CONFIG_HOME": str(config_home),
            "XDG_DATA_HOME": str(data_home),
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_CONFIG_DIRS": str(config_home),
        }
    )


def run(r2e: Path, env: dict[str, str], *, timeout: float = 900.0) -> Measured:
    """One ``r2e run --no-send`` over every configured feed."""
    return run_measured([r2e, "run", "--no-send"], env=env, timeout=timeout)


def seen_entries(folder: Path) -> int:
    """How many entries rss2email has recorded as seen (to check that it parsed them)."""
    path = folder / "data" / "rss2email.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return -1
    return sum(len(feed.get("seen", {})) for feed in data.get("feeds", []))
