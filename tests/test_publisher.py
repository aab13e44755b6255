"""The Publisher seam: the orchestrator hands the sent issues to any publisher."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from roundup.archive import ArchivePublisher
from roundup.config import Config, load_config
from roundup.pipeline import draft, fetch, open_state, send, update_archive
from roundup.publisher import SentIssue, open_publisher
from tests.smtpserver import SmtpServer, smtp_server

__all__ = ["smtp_server"]  # the fixture, imported for pytest

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2015, 8, 15, 12, 0, tzinfo=UTC)


class JsonListPublisher:
    """A real publisher written for the test: the issues as a JSON list in one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def publish(self, issues: Sequence[SentIssue]) -> list[Path]:
        rows = [{"week": i.week, "number": i.number, "url": i.post_url} for i in issues]
        self.path.write_text(json.dumps(rows), encoding="utf-8")
        return [self.path]


def sample_config(tmp_path: Path) -> Config:
    from dataclasses import replace

    config = load_config(ROOT / "feeds.yaml")
    return replace(config, output_dir=tmp_path / "out", state=tmp_path / "state.sqlite3")


def test_sent_issues_reach_a_custom_publisher(tmp_path: Path) -> None:
    """Only sent issues are published, with the URL the email's "View online" uses."""
    config = sample_config(tmp_path)
    fetch(config, now=NOW)
    drafted = draft(config, week="2015-W33", now=NOW)
    target = JsonListPublisher(tmp_path / "issues.json")
    with open_state(config) as store:
        assert update_archive(config, store, publisher=target) == [target.path]
        assert json.loads(target.path.read_text()) == []  # drafted, not sent
        store.mark_sent("2015-W33", [], at=NOW)
        update_archive(config, store, publisher=target)
    (row,) = json.loads(target.path.read_text())
    assert row["week"] == "2015-W33" and row["number"] == drafted.draft.number
    assert row["url"].startswith(config.newsletter.url)


def test_the_default_publisher_is_the_archive(tmp_path: Path) -> None:
    """With no publisher configured, the archive pages are written into output_dir."""
    config = sample_config(tmp_path)
    publisher = open_publisher(config)
    assert isinstance(publisher, ArchivePublisher)
    issue = SentIssue("2015-W33", 1, "Roundup", date(2015, 8, 14), config.newsletter.url)
    paths = publisher.publish([issue])
    assert [p.name for p in paths] == ["index.html", "feed.xml"]
    assert "Roundup" in paths[0].read_text(encoding="utf-8")


def test_a_finished_send_publishes_the_archive(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """`roundup send` publishes once the issue is out; a dry run and a test copy do not."""
    from dataclasses import replace

    config = sample_config(tmp_path)
    newsletter = replace(config.newsletter, to=("list@example.org",), require_approval=False)
    config = replace(config, newsletter=newsletter, smtp=smtp_server.settings())
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    index = config.output_dir / "index.html"
    for kwargs in ({"dry_run": True}, {"test_to": "editor@example.org"}):
        send(config, week="2015-W33", clock=lambda: NOW, secret="s", **kwargs)
        assert not index.exists()
    report = send(config, week="2015-W33", clock=lambda: NOW, secret="s")
    assert report.complete and smtp_server.handler.count("list@example.org") == 1
    assert f">{drafted_subject(config)}</a>" in index.read_text(encoding="utf-8")


def drafted_subject(config: Config) -> str:
    from roundup.draft_file import load_draft
    from roundup.pipeline import draft_path

    return load_draft(draft_path(config, "2015-W33")).subject
