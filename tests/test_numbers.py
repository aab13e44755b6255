"""Issue numbers are given when an issue is sent, never when it is drafted: trying out weeks
burns none, and the archive and "Issue N" agree with what went out (real SQLite, aiosmtpd)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from roundup import cli as cli_module
from roundup.cli import cli
from roundup.config import Config, load_config
from roundup.draft_file import load_draft
from roundup.pipeline import draft, draft_path, fetch, published_issues, send
from roundup.schema import MIGRATIONS, SCHEMA_VERSION
from roundup.store import Store
from tests.smtpserver import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret"
NOW = datetime(2015, 8, 20, 12, 0, tzinfo=UTC)
LIST = "roundup@lists.example.org"


@pytest.fixture
def smtp() -> SmtpServer:
    with SmtpServer() as server:
        yield server  # type: ignore[misc]


def project(tmp_path: Path, smtp: SmtpServer) -> Config:
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = (
        (ROOT / "feeds.yaml")
        .read_text()
        .replace("  max_items: 40", "  first_issue: 7\n  max_items: 40")
    )
    text += f"smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}\n"
    (tmp_path / "feeds.yaml").write_text(text)
    return load_config(tmp_path / "feeds.yaml")


def number_of(config: Config, week: str) -> int:
    return load_draft(draft_path(config, week)).number


def test_drafts_burn_no_numbers(tmp_path: Path, smtp: SmtpServer) -> None:
    """Three weeks tried out all show the provisional first number; only sending gives it."""
    config = project(tmp_path, smtp)
    fetch(config, now=NOW)
    for week in ("2015-W31", "2015-W32", "2015-W33"):
        draft(config, week=week, now=NOW)
    assert [number_of(config, w) for w in ("2015-W31", "2015-W32", "2015-W33")] == [7, 7, 7]
    with Store.open(config.state) as store:
        assert [r.number for r in store.issues()] == []
    send(config, week="2015-W33", clock=lambda: NOW, secret=SECRET)
    with Store.open(config.state) as store:
        record = store.issue("2015-W33")
    assert record is not None and record.number == 7
    draft(config, week="2015-W32", now=NOW)  # a refresh catches up with the sent issue
    assert number_of(config, "2015-W32") == 8


def test_the_issue_sent_first_gets_the_number(tmp_path: Path, smtp: SmtpServer) -> None:
    """Two weeks drafted as "issue 7": the one sent second is renumbered 8 before it goes
    out, in its draft, its email and the archive."""
    config = project(tmp_path, smtp)
    fetch(config, now=NOW)
    draft(config, week="2015-W32", now=NOW)
    draft(config, week="2015-W33", now=NOW)
    send(config, week="2015-W33", clock=lambda: NOW, secret=SECRET)
    send(config, week="2015-W32", clock=lambda: NOW, secret=SECRET)
    assert number_of(config, "2015-W32") == 8
    first, second = (m.message() for m in smtp.handler.to(LIST))
    assert "Issue 7" in first.get_body(("plain",)).get_content()
    assert "Issue 8" in second.get_body(("plain",)).get_content()
    assert first["Message-ID"] != second["Message-ID"]
    with Store.open(config.state) as store:
        published = {issue.week: issue.number for issue in published_issues(config, store)}
    assert published == {"2015-W33": 7, "2015-W32": 8}
    archive = (config.output_dir / "site" / "index.html").read_text()
    assert "Issue 7" in archive and "Issue 8" in archive


def test_render_marks_a_provisional_number(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`render` of an unsent week says its number is provisional."""
    config = project(tmp_path, smtp)
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_module, "now", lambda: NOW)
    result = CliRunner().invoke(cli, ["--config", str(config.path), "render", "-w", "2015-W33"])
    assert result.output.splitlines()[0] == (
        "Rendered 2015-W33 as issue 7 (provisional until it is sent):"
    )


def test_schema_5_frees_the_numbers_of_unsent_issues(tmp_path: Path) -> None:
    """A store from before keeps the numbers of issues that went out (or started to), and
    gives back those only drafted or approved."""
    path = tmp_path / "state.sqlite3"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:4]:
        db.executescript(script)
    db.executemany(
        "INSERT INTO issues (week, number, sent_at, approved_by) VALUES (?, ?, ?, ?)",
        [
            ("2015-W31", 1, "2015-07-31T19:00:00+00:00", None),
            ("2015-W32", 2, None, None),  # a send that started: one delivery recorded
            ("2015-W33", 3, None, "ann"),  # only drafted and approved
        ],
    )
    db.execute("INSERT INTO deliveries VALUES ('2015-W32', 'a@example.org', 'accepted', '', 'x')")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    with Store.open(path) as store:
        assert store.version == SCHEMA_VERSION
        numbers = {r.week: r.number for r in store.issues()}
        approved = store.issue("2015-W33")
        assert store.next_number(first=1) == 3
    assert numbers == {"2015-W31": 1, "2015-W32": 2, "2015-W33": None}
    assert approved is not None and approved.approved_by == "ann"
