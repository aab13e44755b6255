"""`send` and `send --dry-run` run every pre-send check before "Sending …"; test copies have
their own Message-ID and a [TEST] subject. Sample feeds, real SQLite, real aiosmtpd."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from roundup import cli as cli_module
from roundup.cli import cli
from roundup.config import Config, load_config
from roundup.errors import SendError
from roundup.pipeline import build, send
from roundup.send_checks import send_problems, summary
from tests.smtpserver import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret"
NOW = datetime(2015, 8, 14, 20, 0, tzinfo=UTC)
LIST = "roundup@lists.example.org"
SUBJECT = "The Elicitor Weekly Roundup: August 14, 2015"


@pytest.fixture
def smtp() -> SmtpServer:
    with SmtpServer() as server:
        yield server  # type: ignore[misc]


def project(tmp_path: Path, smtp: SmtpServer, extra: str = "") -> Config:
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = (ROOT / "feeds.yaml").read_text()
    text = text.replace("  max_items: 40", f"{extra}  max_items: 40")
    text += f"smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}\n"
    (tmp_path / "feeds.yaml").write_text(text)
    config = load_config(tmp_path / "feeds.yaml")
    build(config, week="2015-W33", now=NOW)
    return config


def invoke(
    config: Config, monkeypatch: pytest.MonkeyPatch, *args: str, secret: str = SECRET
) -> Result:
    monkeypatch.setattr(cli_module, "now", lambda: NOW)
    if secret:
        monkeypatch.setenv("ROUNDUP_SECRET", secret)
    else:
        monkeypatch.delenv("ROUNDUP_SECRET", raising=False)
    return CliRunner().invoke(cli, ["--config", str(config.path), "send", "-w", "2015-W33", *args])


NO_SECRET = (
    "$ROUNDUP_SECRET is not set: set it to a long random string; it signs the unsubscribe"
    " links (keep it the same from one issue to the next)"
)
NOT_APPROVED = "2015-W33 is not approved: review it and run `roundup approve --week 2015-W33`"


def test_the_dry_run_lists_every_check_that_would_fail(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No secret and no approval: the dry run names both, then exits 1."""
    config = project(tmp_path, smtp, "  require_approval: true\n")
    result = invoke(config, monkeypatch, "--dry-run", secret="")
    assert (result.exit_code, result.output) == (
        1,
        f"Would send 2015-W33 (issue 1, “{SUBJECT}”) to 1 recipient via"
        f" 127.0.0.1:{smtp.port} (none). Dry run: nothing is sent or recorded.\n"
        f"Would fail: {NO_SECRET}\n"
        f"Would fail: {NOT_APPROVED}\n"
        "Error: 2015-W33: the send would fail 2 checks (listed above); nothing was sent\n",
    )


def test_the_real_send_checks_before_it_says_sending(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same faults stop the real send before any "Sending" line, all named at once."""
    config = project(tmp_path, smtp, "  require_approval: true\n")
    result = invoke(config, monkeypatch, secret="")
    assert (result.exit_code, result.output) == (
        1,
        f"Error: 2015-W33 cannot be sent, 2 problems: (1) {NO_SECRET}; (2) {NOT_APPROVED}\n",
    )
    assert smtp.handler.count(LIST) == 0
    assert not (config.output_dir / "2015-W33" / "message.eml").exists()


def test_a_clean_dry_run_passes(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing wrong: the plan, then who it would go to; exit 0 and nothing delivered."""
    config = project(tmp_path, smtp)
    result = invoke(config, monkeypatch, "--dry-run")
    assert (result.exit_code, result.output) == (
        0,
        f"Would send 2015-W33 (issue 1, “{SUBJECT}”) to 1 recipient via"
        f" 127.0.0.1:{smtp.port} (none). Dry run: nothing is sent or recorded.\n"
        "Dry run for 2015-W33: would go to 1 recipient.\n",
    )
    assert smtp.handler.count(LIST) == 0


def test_a_missing_smtp_section_is_a_failed_check(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delivery settings are checked too, before anything is printed."""
    config = project(tmp_path, smtp)
    text = config.path.read_text()
    config.path.write_text(text[: text.index("smtp: {")])
    result = invoke(config, monkeypatch)
    assert (result.exit_code, result.output) == (
        1,
        f"Error: {config.path}: no smtp: section; add one with at least smtp.host to send\n",
    )


def test_broken_links_hold_the_send_when_blocking(tmp_path: Path, smtp: SmtpServer) -> None:
    """With block_on_broken_links the link check's findings stop the send; without, not."""
    config = project(tmp_path, smtp, "  block_on_broken_links: true\n")
    broken = ["https://a.example/gone: 404 Not Found"]
    with pytest.raises(SendError, match=r"has 1 broken link and newsletter\.block_on_broken_links"):
        send(config, week="2015-W33", clock=lambda: NOW, secret=SECRET, link_check=lambda d: broken)
    assert smtp.handler.count(LIST) == 0
    send(config, week="2015-W33", clock=lambda: NOW, secret=SECRET, link_check=lambda d: ())
    assert smtp.handler.count(LIST) == 1


def test_test_copies_never_thread_with_the_issue(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test copy has a [TEST] subject and a Message-ID of its own: not the issue's, not
    another test copy's."""
    config = project(tmp_path, smtp)
    for _ in range(2):
        assert invoke(config, monkeypatch, "--test-to", "ed@example.org").exit_code == 0
    assert invoke(config, monkeypatch).exit_code == 0
    first, second = (r.message() for r in smtp.handler.to("ed@example.org"))
    (issue,) = (r.message() for r in smtp.handler.to(LIST))
    assert first["Subject"] == second["Subject"] == f"[TEST] {SUBJECT}"
    assert issue["Subject"] == SUBJECT
    ids = {first["Message-ID"], second["Message-ID"], issue["Message-ID"]}
    assert len(ids) == 3
    assert first["Message-ID"].startswith("<roundup.2015-W33.test.")


def test_a_test_copy_of_an_unapproved_issue_is_allowed(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Approval is for the real send: reviewers get test copies before it."""
    config = project(tmp_path, smtp, "  require_approval: true\n")
    result = invoke(config, monkeypatch, "--test-to", "ed@example.org")
    assert result.exit_code == 0, result.output
    bad = invoke(config, monkeypatch, "--test-to", "nobody")
    assert bad.output == "Error: --test-to: 'nobody' is not an email address\n"


@pytest.mark.parametrize(
    ("problems", "expected"),
    [
        (["a"], "a"),
        (["a", "b"], "2015-W33 cannot be sent, 2 problems: (1) a; (2) b"),
    ],
)
def test_summary(problems: list[str], expected: str) -> None:
    assert summary("2015-W33", problems) == expected


def test_an_empty_issue_fails_its_check(tmp_path: Path, smtp: SmtpServer) -> None:
    """The "empty" check, on its own."""
    from dataclasses import replace

    from roundup.draft_file import load_draft
    from roundup.pipeline import draft_path

    config = project(tmp_path, smtp)
    empty = replace(load_draft(draft_path(config, "2015-W33")), sections=())
    assert send_problems(config, empty, approved=True, secret=SECRET) == [
        "2015-W33 has no items: nothing to send (an empty issue is never sent)"
    ]
