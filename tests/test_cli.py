"""The command line: exact output, exact error text, exit codes."""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from roundup import cli as cli_module
from roundup.cli import cli
from roundup.lock import locked
from tests.feedserver import FeedServer, Reply, feed_server_fixture  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2015, 8, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled default project, with the clock fixed."""
    shutil.copy(ROOT / "feeds.yaml", tmp_path / "feeds.yaml")
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_module, "now", lambda: NOW)
    monkeypatch.delenv("ROUNDUP_CONFIG", raising=False)
    return tmp_path


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="roundup")


def test_check_reports_ok(project: Path) -> None:
    """`check` validates the config and summarises it."""
    result = run("check")
    assert result.exit_code == 0
    assert result.output == (
        f"{project / 'feeds.yaml'}: OK (5 feeds enabled, 0 disabled, 3 sections)\n"
    )


def test_bad_config_is_one_line_and_exit_1(project: Path) -> None:
    """A config error prints one line naming file, line and key, and exits 1."""
    path = project / "feeds.yaml"
    path.write_text(path.read_text().replace("  week_ends: friday", "  weekends: friday"))
    result = run("check")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}:8: newsletter.weekends: unknown key (did you mean 'week_ends'?)\n"
    )


def test_config_option_and_environment(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config wins; $ROUNDUP_CONFIG is used without it."""
    (project / "feeds.yaml").rename(project / "other.yaml")
    assert run("check").exit_code == 1
    assert run("--config", "other.yaml", "check").exit_code == 0
    monkeypatch.setenv("ROUNDUP_CONFIG", str(project / "other.yaml"))
    assert run("check").exit_code == 0


def test_fetch_summary_and_exit_code(project: Path) -> None:
    """`fetch` logs each feed when not on a terminal and ends with the summary."""
    result = run("fetch")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[-1] == "5 feeds: 5 fetched, 0 unchanged, 0 failed; 38 new entries."
    assert "fetched      The Elicitor: 8 new" in lines
    again = run("fetch")
    assert again.output.splitlines()[-1] == (
        "5 feeds: 0 fetched, 5 unchanged, 0 failed; 0 new entries."
    )


def test_fetch_with_a_failing_feed_exits_3(project: Path, feed_server: FeedServer) -> None:
    """A completed run with failed feeds exits 3 and names each failure, even with --quiet."""
    url = feed_server.route("/down", Reply(503))
    path = project / "feeds.yaml"
    text = path.read_text().replace("feeds:\n", f"feeds:\n  - url: {url}\n", 1)
    path.write_text(text.replace("  retries: 2", "  retries: 0"))
    result = run("fetch", "--quiet")
    assert result.exit_code == 3
    assert result.output == (f"Failed:\n  {url} ({url}): HTTP 503 Service Unavailable\n")


def test_locked_store_exits_4(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While another run holds the lock, `fetch` waits briefly and exits 4."""
    import roundup.pipeline as pipeline_module

    state = project / ".roundup" / "state.sqlite3"
    monkeypatch.setattr(pipeline_module, "locked", lambda p, **kw: locked(p, wait=0.2))
    with locked(state):
        result = run("fetch")
    assert result.exit_code == 4
    assert result.output == (
        f"Error: {state}: another roundup run is in progress (it holds {state}.lock); "
        "try again when it has finished\n"
    )


def test_bad_week_is_a_clear_error(project: Path) -> None:
    """A malformed --week names the option and the expected form."""
    result = run("draft", "--week", "33")
    assert result.exit_code == 1
    assert result.output == (
        "Error: --week '33': expected an ISO week like 2015-W33, or 'current' or 'last'\n"
    )


def test_import_opml(project: Path) -> None:
    """`import-opml` adds feeds and says how many."""
    opml = project / "subs.opml"
    opml.write_text(
        '<opml version="2.0"><body><outline text="Asia">'
        '<outline text="X" xmlUrl="https://x.example/feed"/></outline></body></opml>'
    )
    result = run("import-opml", str(opml))
    assert result.exit_code == 0
    assert result.output == "Added 1 feeds and 1 sections to feeds.yaml (0 already listed).\n"
    assert run("check").output.endswith("(6 feeds enabled, 0 disabled, 4 sections)\n")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_and_is_documented(name: str) -> None:
    """Each command has help text and appears in the README with an example."""
    command = cli.commands[name]
    assert command.help, f"{name} has no help text"
    assert f"roundup {name}" in (ROOT / "README.md").read_text()
    result = run(name, "--help")
    assert result.exit_code == 0
    assert result.output.startswith(f"Usage: roundup {name} ")
    summary = " ".join(command.help.split("\n\n")[0].split())
    assert summary in " ".join(result.output.split())


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "terminal"), [(_Terminal(), True), (io.StringIO(), False)])
def test_progress_bar_on_a_terminal_lines_otherwise(
    project: Path, monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, terminal: bool
) -> None:
    """A terminal gets a progress bar; cron (no terminal) gets one plain line per feed."""
    from roundup.config import load_config
    from roundup.pipeline import fetch
    from roundup.reporting import progress

    monkeypatch.setenv("TERM", "xterm")
    config = load_config(project / "feeds.yaml")
    with progress(len(config.enabled_feeds), quiet=False, stream=stream) as on_feed:
        fetch(config, now=NOW, on_feed=on_feed)
    text = stream.getvalue()
    assert ("Fetching" in text) is terminal
    assert ("fetched      The Elicitor: 8 new" in text) is not terminal


# --- a state folder that is full or read-only -------------------------------------------------

UNSHARE = shutil.which("unshare")
# Inside a private mount namespace: a 400 KB tmpfs holds the state folder, so the test can
# fill it or make it read-only without touching the machine's own file systems.
STATE_FAULT = """
set -u
state="$1/.roundup"; mkdir -p "$state"
mount -t tmpfs -o size=2m tmpfs "$state" || exit 97
{roundup} fetch --quiet || exit 98
sum() {{ sha256sum "$state/state.sqlite3" | cut -c1-64; }}
before=$(sum)
case "$2" in
  full) head -c 8000000 /dev/zero > "$state/fill" 2>/dev/null;;
  readonly) mount -o remount,ro "$state";;
esac
{roundup} build --week 2015-W34 -q 2>&1; echo "exit=$?"
[ "$2" = full ] && rm "$state/fill"
[ "$(sum)" = "$before" ] && echo "store unchanged"
[ -e "$1/out/2015-W34/draft.yaml" ] || echo "no draft written"
"""


def state_fault(project: Path, fault: str) -> str:
    import subprocess
    import sys

    if UNSHARE is None:
        pytest.skip("unshare (util-linux) is not installed")
    roundup = Path(sys.executable).parent / "roundup"
    script = STATE_FAULT.format(roundup=roundup)
    result = subprocess.run(
        [
            UNSHARE,
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            str(project),
            fault,
        ],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=120,
    )
    if result.returncode == 97 or "unshare: " in result.stderr:
        pytest.skip(f"no private mount namespace here: {result.stderr.strip()}")
    assert result.returncode != 98, f"the first fetch failed: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("full", ": the disk is full ("),
        ("readonly", "cannot create the run lock (Read-only file system); make "),
    ],
)
def test_full_or_read_only_state_folder_is_one_line(
    project: Path, fault: str, message: str
) -> None:
    """A full or read-only disk under the state file: one `Error:` line naming the file and
    what to do, exit 1, no traceback, the store byte for byte as it was, no draft written."""
    lines = state_fault(project, fault).splitlines()
    assert lines[0].startswith(f"Error: {project}/.roundup/state.sqlite3")
    assert message in lines[0]
    assert lines[1:] == ["exit=1", "store unchanged", "no draft written"]


def test_check_and_fetch_name_feeds_titled_like_a_section(project: Path) -> None:
    """A feed whose own title is a section of a site ("World") is named, with what to do, by
    the fetch summary and then by `check`; setting `name:` silences both."""
    feed = project / "samples" / "feeds" / "strait-talk.rss"
    feed.write_text(
        feed.read_text().replace("<title>Strait Talk</title>", "<title>World</title>", 1)
    )
    fetched = run("fetch")
    advice = (
        "Feed titles that name a section of a site (set `name:` for these feeds):\n"
        f'  {feed}: "World", shown as "World"\n'
    )
    assert advice in fetched.output
    checked = run("check")
    assert checked.output == (
        f"{project / 'feeds.yaml'}: OK (5 feeds enabled, 0 disabled, 3 sections)\n" + advice
    )
    config = project / "feeds.yaml"
    config.write_text(
        config.read_text().replace(
            "  - url: samples/feeds/strait-talk.rss\n",
            "  - url: samples/feeds/strait-talk.rss\n    name: Strait Talk\n",
        )
    )
    assert advice not in run("check").output
