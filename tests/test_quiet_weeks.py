"""What `roundup run` does at send time with a quiet week (newsletter.min_items and
quiet_week) and with an unapproved issue (newsletter.unapproved): sample feeds, real SQLite,
real aiosmtpd."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from roundup import cli as cli_module
from roundup.cli import cli
from roundup.config import Config, load_config
from roundup.draft_file import load_draft
from roundup.pipeline import RunReport, draft_path, run_once
from roundup.reporting import format_run_summary
from roundup.store import Store
from tests.smtpserver import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret"
AFTER = datetime(2015, 8, 14, 20, 0, tzinfo=UTC)  # Friday 16:00 EDT, after the 15:00 send
LIST = "roundup@lists.example.org"


@pytest.fixture
def smtp() -> SmtpServer:
    with SmtpServer() as server:
        yield server  # type: ignore[misc]


def project(tmp_path: Path, smtp: SmtpServer, extra: str) -> Config:
    if not (tmp_path / "samples").exists():
        shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = (ROOT / "feeds.yaml").read_text()
    text = text.replace("  max_items: 40", f'  send_at: "friday 15:00"\n{extra}  max_items: 40')
    text += f"smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}\n"
    (tmp_path / "feeds.yaml").write_text(text)
    return load_config(tmp_path / "feeds.yaml")


def run(config: Config, at: datetime) -> RunReport:
    with Store.open(config.state) as store:
        return run_once(config, store, clock=lambda: at, secret=SECRET, sleep=lambda _s: None)


def summary(config: Config, report: RunReport) -> str:
    nl = config.newsletter
    return format_run_summary(
        report, report_after=3, quiet=True, min_items=nl.min_items, quiet_week=nl.quiet_week
    )


def test_a_quiet_week_is_skipped_and_recorded(tmp_path: Path, smtp: SmtpServer) -> None:
    """Fewer items than min_items with quiet_week: skip (the default): nothing is sent, the
    week records it, and later runs say it was decided without deciding again."""
    config = project(tmp_path, smtp, "  min_items: 100\n")
    report = run(config, AFTER)
    assert report.action == "quiet_skipped" and report.items is not None
    assert summary(config, report) == (
        f"Drafted 2015-W33; 2015-W33 has {report.items} items, fewer than newsletter.min_items"
        " (100): skipped, nothing sent (newsletter.quiet_week: skip).\n"
    )
    assert run(config, AFTER + timedelta(hours=1)).action == "already_decided"
    assert smtp.handler.count(LIST) == 0
    with Store.open(config.state) as store:
        record = store.issue("2015-W33")
    assert record is not None and record.outcome == "quiet_skipped" and record.number is None


def test_a_quiet_week_can_be_sent_anyway(tmp_path: Path, smtp: SmtpServer) -> None:
    """quiet_week: send sends a week with fewer than min_items items (but some)."""
    config = project(tmp_path, smtp, "  min_items: 100\n  quiet_week: send\n")
    assert run(config, AFTER).action == "sent"
    assert smtp.handler.count(LIST) == 1


def test_a_rolled_over_week_carries_its_items_into_the_next_issue(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    """quiet_week: roll_over sends nothing; next week's draft holds the quiet week's items."""
    config = project(tmp_path, smtp, "  min_items: 100\n  quiet_week: roll_over\n")
    report = run(config, AFTER)
    assert report.action == "rolled_over"
    assert summary(config, report).endswith(
        f"2015-W33 has {report.items} items, fewer than newsletter.min_items (100): nothing"
        " sent, its items roll over into the next issue.\n"
    )
    quiet = {item.title for item in load_draft(draft_path(config, "2015-W33")).items}
    run(config, AFTER + timedelta(days=1))  # 2015-W34 is now the current week
    carried = {item.title for item in load_draft(draft_path(config, "2015-W34")).items}
    assert quiet and quiet <= carried
    assert smtp.handler.count(LIST) == 0


def test_an_empty_week_is_skipped_whatever_quiet_week_says(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    """No items at all: never sent, even with quiet_week: send, and nothing is rendered."""
    config = project(tmp_path, smtp, "  quiet_week: send\n")
    assert run(config, AFTER).action == "sent"
    late = run(config, AFTER + timedelta(weeks=52))
    assert (late.action, late.items) == ("quiet_skipped", 0)
    assert summary(config, late).endswith("2016-W32 has no items: skipped, nothing sent.\n")
    assert not (config.output_dir / "2016-W32" / "email.html").exists()
    assert smtp.handler.count(LIST) == 1


def test_a_missed_empty_week_is_not_offered_for_sending_by_hand(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    """An empty week found more than a day late: the run does not advise `roundup send`."""
    config = project(tmp_path, smtp, "")
    thursday = datetime(2016, 8, 11, 16, 0, tzinfo=UTC)  # 2016-W31 was due a week ago
    report = run(config, thursday)
    assert (report.action, report.items) == ("missed", 0)
    line = format_run_summary(report, report_after=3, quiet=False).splitlines()[-1]
    assert line == (
        "Drafted 2016-W32; 2016-W31 was due over a day ago; it has no items, so there is"
        " nothing to send."
    )


@pytest.mark.parametrize(
    ("policy", "action", "sent", "line"),
    [
        (
            "hold",
            "awaiting_approval",
            0,
            "2015-W33 is due but not approved: held (newsletter.unapproved: hold) until you"
            " run `roundup approve --week 2015-W33`.",
        ),
        (
            "skip",
            "unapproved_skipped",
            0,
            "2015-W33 was not approved at its send time: skipped, nothing sent"
            " (newsletter.unapproved: skip).",
        ),
        ("send", "sent", 1, "sent 2015-W33 unapproved (newsletter.unapproved: send)."),
    ],
)
def test_unapproved_at_send_time(
    tmp_path: Path, smtp: SmtpServer, policy: str, action: str, sent: int, line: str
) -> None:
    """require_approval and nothing approved at send_at: the policy decides, and says so."""
    extra = f"  require_approval: true\n  unapproved: {policy}\n"
    config = project(tmp_path, smtp, extra)
    report = run(config, AFTER)
    assert report.action == action
    text = format_run_summary(report, report_after=3, quiet=False)
    assert f"Drafted 2015-W33; {line}\n" in text
    assert smtp.handler.count(LIST) == sent
    with Store.open(config.state) as store:
        record = store.issue("2015-W33")
    outcome = {"hold": "held", "skip": "unapproved_skipped", "send": "sent_unapproved"}[policy]
    assert record is not None and record.outcome == outcome


def test_build_on_an_empty_week_says_it_is_empty(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`build --week` on a week with no posts drafts it, renders nothing, and says so."""
    config = project(tmp_path, smtp, "")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_module, "now", lambda: AFTER)
    result = CliRunner().invoke(
        cli, ["--config", str(config.path), "build", "--week", "2015-W20", "--quiet"]
    )
    assert (result.exit_code, result.output) == (
        0,
        "Wrote out/2015-W20/draft.yaml: 0 items in 0 sections.\n"
        "2015-W20 is empty: no items, so no issue was rendered (an empty issue is never"
        " rendered or sent).\n",
    )
    assert sorted(p.name for p in (tmp_path / "out" / "2015-W20").iterdir()) == ["draft.yaml"]
    drafted = CliRunner().invoke(cli, ["--config", str(config.path), "draft", "-w", "2015-W20"])
    assert drafted.output.endswith(
        "2015-W20 has no items: it is not rendered or sent until it has some (add them to"
        " its draft.yaml, or wait for posts).\n"
    )


def test_broken_links_hold_the_send_and_say_why(tmp_path: Path, smtp: SmtpServer) -> None:
    """With block_on_broken_links the run checks before sending and holds, naming the links."""
    config = project(tmp_path, smtp, "  block_on_broken_links: true\n")
    broken = ["https://a.example/gone: 404 Not Found"]
    with Store.open(config.state) as store:
        report = run_once(
            config, store, clock=lambda: AFTER, secret=SECRET, link_check=lambda d: broken
        )
    assert report.action == "links_broken"
    assert summary(config, report) == (
        "Drafted 2015-W33; 2015-W33 is held: broken links (newsletter.block_on_broken_links);"
        " fix or remove the items below, or check again with `roundup check-links --week"
        " 2015-W33`.\n  Broken: https://a.example/gone: 404 Not Found\n"
    )
    assert smtp.handler.count(LIST) == 0
    assert run(config, AFTER + timedelta(hours=1)).action == "sent"  # no check: nothing broken


def test_run_exits_3_when_it_names_a_failing_feed(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the README's exit-code table says: 3 on the run that reports the failing feed,
    0 on the runs that stay silent about it."""
    config = project(tmp_path, smtp, "")
    text = config.path.read_text().replace("fetch:\n", "fetch:\n  report_after: 2\n", 1)
    config.path.write_text(text)
    (tmp_path / "samples" / "feeds" / "strait-talk.rss").unlink()
    monkeypatch.setenv("ROUNDUP_SECRET", SECRET)
    codes = []
    for hours in (0, 1, 2):
        monkeypatch.setattr(cli_module, "now", lambda h=hours: AFTER + timedelta(hours=h))
        result = CliRunner().invoke(cli, ["--config", str(config.path), "run", "--quiet"])
        codes.append(result.exit_code)
        if result.exit_code == 3:
            feed = tmp_path / "samples" / "feeds" / "strait-talk.rss"
            assert result.output == (
                f"Feeds failing 2 times in a row:\n  {feed} ({feed}): no such file: {feed}\n"
            )
    assert codes == [0, 3, 0]
