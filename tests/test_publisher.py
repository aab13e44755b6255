"""The Publisher seam: the orchestrator hands the published issues to any publisher."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from roundup.archive import ArchivePublisher
from roundup.config import Config
from roundup.issue_view import IssueView
from roundup.pipeline import draft, fetch, open_state, publish_site, run_once, send
from roundup.publisher import open_publisher
from tests.smtpserver import SmtpServer, smtp_server
from tests.test_site import SLUG, sample_project

__all__ = ["smtp_server"]  # the fixture, imported for pytest

NOW = datetime(2015, 8, 15, 12, 0, tzinfo=UTC)


class JsonListPublisher:
    """A real publisher written for the test: the issues as a JSON list in one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def publish(self, issues: Sequence[IssueView]) -> list[str]:
        rows = [{"week": i.week, "number": i.number, "url": i.url} for i in issues]
        self.path.write_text(json.dumps(rows), encoding="utf-8")
        return [str(self.path)]


def test_published_issues_reach_a_custom_publisher(tmp_path: Path) -> None:
    """Only sent (or on-purpose) issues are published, with the email's "View online" URL."""
    config = sample_project(tmp_path)
    fetch(config, now=NOW)
    drafted = draft(config, week="2015-W33", now=NOW)
    target = JsonListPublisher(tmp_path / "issues.json")
    with open_state(config) as store:
        report = publish_site(config, store, now=NOW, publisher=target)
        assert report.places == (str(target.path),) and report.weeks == ()
        assert json.loads(target.path.read_text()) == []  # drafted, not sent
        store.mark_sent("2015-W33", [], at=NOW)
        publish_site(config, store, now=NOW, publisher=target)
    (row,) = json.loads(target.path.read_text())
    assert row == {
        "week": "2015-W33",
        "number": drafted.draft.number,
        "url": f"{config.newsletter.url}{SLUG}/",
    }


def test_the_default_publisher_is_the_web_copy(tmp_path: Path) -> None:
    """With no publisher configured, the site is written into <output_dir>/site."""
    config = sample_project(tmp_path)
    assert isinstance(open_publisher(config), ArchivePublisher)
    assert open_publisher(config).publish([]) == [str(config.output_dir / "site")]
    assert (config.output_dir / "site" / "index.html").is_file()


def smtp_config(tmp_path: Path, server: SmtpServer, extra: str = "") -> Config:
    config = sample_project(tmp_path, extra)
    newsletter = replace(config.newsletter, to=("list@example.org",), require_approval=False)
    return replace(config, newsletter=newsletter, smtp=server.settings())


def test_a_finished_send_publishes_the_issue(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """`roundup send` publishes once the issue is out; a dry run and a test copy do not."""
    config = smtp_config(tmp_path, smtp_server)
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    page = config.output_dir / "site" / SLUG / "index.html"
    heard = []
    for kwargs in ({"dry_run": True}, {"test_to": "editor@example.org"}):
        send(
            config,
            week="2015-W33",
            clock=lambda: NOW,
            secret="s",
            on_publish=heard.append,
            **kwargs,
        )
        assert not page.exists() and heard == []
    report = send(config, week="2015-W33", clock=lambda: NOW, secret="s", on_publish=heard.append)
    assert report.complete and smtp_server.handler.count("list@example.org") == 1
    assert page.is_file() and [outcome.weeks for outcome in heard] == [("2015-W33",)]


def test_run_publishes_what_a_failed_upload_left(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A send whose upload failed is published by the next hourly run once it works."""
    config = smtp_config(tmp_path, smtp_server, 'publish:\n  command: "no-such-uploader-xyz"\n')
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    heard = []
    send(config, week="2015-W33", clock=lambda: NOW, secret="s", on_publish=heard.append)
    assert heard[0].error is not None and "no-such-uploader-xyz" in heard[0].error
    www = tmp_path / "www"
    fixed = replace(config, publish=replace(config.publish, command=(), to=www))
    with open_state(fixed) as store:
        report = run_once(fixed, store, clock=lambda: NOW, secret="s")
        assert report.action == "already_sent"
        assert report.publish is not None and report.publish.ok
        assert report.publish.places == (str(fixed.output_dir / "site"), str(www))
        again = run_once(fixed, store, clock=lambda: NOW, secret="s")
    assert again.publish is None  # nothing waits: the hourly run does not upload again
    assert (www / SLUG / "index.html").is_file()


def test_cli_send_reports_a_failed_upload(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """The send succeeded, the upload did not: one line on stderr, exit code 6."""
    from click.testing import CliRunner

    from roundup.cli import cli

    extra = 'publish:\n  command: "no-such-uploader-xyz"\n'
    config = sample_project(tmp_path, extra)
    settings = smtp_server.settings()
    text = config.path.read_text(encoding="utf-8") + (
        f"smtp:\n  host: {settings.host}\n  port: {settings.port}\n  security: none\n"
    )
    config.path.write_text(text, encoding="utf-8")
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    result = CliRunner().invoke(
        cli,
        ["--config", str(config.path), "send", "--week", "2015-W33"],
        env={"ROUNDUP_SECRET": "a-long-random-test-secret"},
    )
    site = config.output_dir / "site"
    assert result.exit_code == 6, result.output
    assert result.output.splitlines()[-1] == (
        "Publishing failed: publish.command: 'no-such-uploader-xyz' was not found (install it,"
        f" or fix the command); the site is in {site}, and the next run tries again"
    )
    assert smtp_server.handler.count("roundup@lists.example.org") == 1
