"""The editors' briefing: composed from the sample week, sent once by `roundup run` through
a real SMTP server (aiosmtpd on 127.0.0.1), recorded in a real SQLite store."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from roundup import cli as cli_module
from roundup.briefing import BriefingFacts, FailingFeed, PastIssue, compose
from roundup.cli import cli
from roundup.config import Config, load_config
from roundup.pipeline import BriefingReport, run_once
from roundup.store import Store
from tests.smtpserver import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret"
EDITOR = "jane@example.org"
LIST = "roundup@lists.example.org"
# 2015-W33 goes out Friday 2015-08-14 15:00 New York time (19:00 UTC).
SEND = datetime(2015, 8, 14, 19, 0, tzinfo=UTC)
DAY_BEFORE = SEND - timedelta(hours=23)  # inside the default 24 h briefing window


@pytest.fixture
def smtp() -> SmtpServer:
    with SmtpServer() as server:
        yield server  # type: ignore[misc]


def project(tmp_path: Path, smtp: SmtpServer, *, extra: str = "") -> Config:
    """The bundled feeds.yaml and sample feeds, sending at Friday 15:00, with an editor."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = (ROOT / "feeds.yaml").read_text()
    settings = f'  send_at: "friday 15:00"\n  editors: ["Jane Editor <{EDITOR}>"]\n{extra}'
    text = text.replace("  max_items: 40", f"{settings}  max_items: 40")
    text += f"smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}\n"
    (tmp_path / "feeds.yaml").write_text(text)
    return load_config(tmp_path / "feeds.yaml")


def run_at(config: Config, at: datetime) -> tuple[str, BriefingReport | None]:
    with Store.open(config.state) as store:
        report = run_once(config, store, clock=lambda: at, secret=SECRET, sleep=lambda _s: None)
    return report.action, report.briefing


def briefing_body(smtp: SmtpServer) -> str:
    (received,) = smtp.handler.to(EDITOR)
    body: str = received.message().get_body(("plain",)).get_content()
    return body.replace("\r\n", "\n")  # as sent, lines end in CRLF


def test_the_sample_week_briefing(
    tmp_path: Path, smtp: SmtpServer, golden: Callable[[str, str], None]
) -> None:
    """The day before send_at, run mails the editors the briefing of 2015-W33, plain text."""
    config = project(tmp_path, smtp)
    action, briefing = run_at(config, DAY_BEFORE)
    assert action == "missed"  # 2015-W32 (nothing in it) was due a week ago
    assert briefing is not None and briefing.accepted == (EDITOR,)
    (received,) = smtp.handler.to(EDITOR)
    message = received.message()
    assert message["Subject"] == "[Briefing] 2015-W33, issue 1: 27 items, in 23 hours"
    assert message["Message-ID"] == "<roundup.briefing.2015-W33@example.org>"
    assert message.get_content_type() == "text/plain"
    body = briefing_body(smtp)
    assert max(len(line) for line in body.splitlines()) <= 62  # readable on a phone
    assert smtp.handler.count(LIST) == 0
    golden("briefing/2015-W33.txt", body)


def test_the_briefing_goes_out_once(tmp_path: Path, smtp: SmtpServer) -> None:
    """Hourly runs inside the window send it once; the issue then goes out at send_at."""
    config = project(tmp_path, smtp)
    assert run_at(config, SEND - timedelta(hours=30))[1] is None  # too early
    assert run_at(config, DAY_BEFORE)[1] is not None
    assert run_at(config, DAY_BEFORE + timedelta(hours=1))[1] is None
    assert run_at(config, SEND + timedelta(minutes=5))[0] == "sent"
    assert smtp.handler.count(EDITOR) == 1 and smtp.handler.count(LIST) == 1
    with Store.open(config.state) as store:
        record = store.issue("2015-W33")
    assert record is not None and record.briefed_at == DAY_BEFORE


def test_a_briefing_nobody_got_is_tried_again(tmp_path: Path, smtp: SmtpServer) -> None:
    """A refused briefing is reported and not recorded, so the next run tries again."""
    config = project(tmp_path, smtp)
    smtp.handler.refuse[EDITOR] = "550 5.1.1 No such user"
    briefing = run_at(config, DAY_BEFORE)[1]
    assert briefing is not None and briefing.failed == ((EDITOR, "550 5.1.1 No such user"),)
    del smtp.handler.refuse[EDITOR]
    again = run_at(config, DAY_BEFORE + timedelta(hours=1))[1]
    assert again is not None and again.accepted == (EDITOR,)
    assert smtp.handler.count(EDITOR) == 1


def test_no_editors_no_briefing(tmp_path: Path, smtp: SmtpServer) -> None:
    """Without newsletter.editors nothing is mailed before the issue."""
    config = project(tmp_path, smtp)
    text = config.path.read_text().replace(f'  editors: ["Jane Editor <{EDITOR}>"]\n', "")
    config.path.write_text(text)
    assert run_at(load_config(config.path), DAY_BEFORE)[1] is None
    assert smtp.handler.count(EDITOR) == 0


def test_an_unapproved_issue_is_held_and_the_next_briefing_says_so(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    """require_approval and nothing approved at send_at: held (the default), and the next
    week's briefing says what became of it."""
    config = project(tmp_path, smtp, extra="  require_approval: true\n")
    run_at(config, DAY_BEFORE)
    assert "Approval: NOT approved yet. At send time it will be held" in briefing_body(smtp)
    assert run_at(config, SEND + timedelta(minutes=5))[0] == "awaiting_approval"
    assert smtp.handler.count(LIST) == 0
    next_week = run_at(config, DAY_BEFORE + timedelta(days=7))[1]
    assert next_week is not None and next_week.week == "2015-W34"
    assert "Last week (2015-W33): not approved at send time, held and never sent." in next_week.text


def test_run_prints_who_was_briefed(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`roundup run` names the editors it briefed; with --quiet only a failure is shown."""
    config = project(tmp_path, smtp)
    monkeypatch.setattr(cli_module, "now", lambda: DAY_BEFORE)
    monkeypatch.setenv("ROUNDUP_SECRET", SECRET)
    result = CliRunner().invoke(cli, ["--config", str(config.path), "run"])
    assert result.exit_code == 0, result.output
    assert f"Briefed the editors on 2015-W33: {EDITOR}.\n" in result.output


FACTS = BriefingFacts(
    newsletter="The Weekly",
    week="2015-W40",
    number=7,
    subject="The Weekly: October 2, 2015",
    items=2,
    send_at=datetime(2015, 10, 2, 15, 0, tzinfo=UTC),
    email_bytes=51_000,
    past=(PastIssue("2015-W39", 6, 12), PastIssue("2015-W38", 5, 9)),
)
NOW = datetime(2015, 10, 1, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "Items: 2 (last issues: 12 in #6, 9 in #5)"),
        ({}, "Size: 51 KB of 102 KB (50% of the budget)"),
        ({}, "Quiet week: no (2 items, minimum 1)."),
        ({}, "Feeds: all working, none new."),
        ({"past": ()}, "Items: 2 (no earlier issue to compare)"),
        (
            {"min_items": 5, "quiet_week": "roll_over"},
            "At send time it will roll over: its items go into next week's issue.",
        ),
        ({"items": 0, "min_items": 1, "quiet_week": "send"}, "At send time it will be skipped"),
        (
            {"require_approval": True, "unapproved": "skip"},
            "Approval: NOT approved yet. At send time it will be skipped"
            " (newsletter.unapproved: skip).",
        ),
        ({"require_approval": True, "approved_by": "ann"}, "Approval: approved by ann."),
        ({"new_feeds": ("Fresh Desk",)}, "New feeds since the last issue: 1\n  Fresh Desk\n"),
        (
            {"failing_feeds": (FailingFeed("Old Desk", 3, "HTTP 404 Not Found"),)},
            "Failing feeds: 1\n  Old Desk: 3 times in a row:\n    HTTP 404 Not Found\n",
        ),
        (
            {"links_checked": True, "broken_links": ("https://a.example/x: 404",)},
            "Broken links: 1.\n  https://a.example/x: 404",
        ),
        ({"links_checked": True}, "Links: none broken."),
        (
            {"past": (PastIssue("2015-W39", None, 1, "quiet_skipped"),)},
            "Last week (2015-W39): too few items, skipped (nothing sent).",
        ),
        ({}, "Review it in the desk:\n  roundup preview --week 2015-W40\n"),
    ],
)
def test_compose_says(changes: dict[str, object], expected: str) -> None:
    """Each fact shows up as one short line (or block) the editor can act on."""
    from dataclasses import replace

    subject, body = compose(replace(FACTS, **changes), now=NOW)  # type: ignore[arg-type]
    assert expected in body
    assert subject.startswith("[Briefing] 2015-W40, issue 7: ")


def test_unchecked_links_say_how_to_check_them() -> None:
    """No link check ran: the briefing says so, rather than "none broken"."""
    assert (
        "Links: not checked yet\n  roundup check-links --week 2015-W40\n"
        in (compose(FACTS, now=NOW)[1])
    )


def test_the_briefing_names_links_the_desk_found_broken(tmp_path: Path, smtp: SmtpServer) -> None:
    """Without block_on_broken_links no server is asked: the briefing reports what earlier
    checks (the desk, `roundup check-links`) kept in the store."""
    from roundup.draft_file import load_draft
    from roundup.linkcheck import LinkResult
    from roundup.pipeline import draft_path

    config = project(tmp_path, smtp)
    run_at(config, SEND - timedelta(hours=30))  # drafts 2015-W33, too early to brief
    item = load_draft(draft_path(config, "2015-W33")).items[1]
    with Store.open(config.state) as store:
        store.keep_link_checks(
            [LinkResult(item.link, "broken", 404, "", "HTTP 404 Not Found", DAY_BEFORE)]
        )
    briefing = run_at(config, DAY_BEFORE)[1]
    assert briefing is not None
    assert (
        f'Broken links: 1.\n  item 2 "{item.title}": {item.link}: HTTP 404 Not Found\n'
        in briefing.text
    )


def test_an_unusable_mailer_does_not_stop_the_run(tmp_path: Path, smtp: SmtpServer) -> None:
    """No smtp: section: the briefing reports why it did not go, and the run goes on."""
    config = project(tmp_path, smtp)
    text = config.path.read_text()
    config.path.write_text(text[: text.index("smtp: {")])
    action, briefing = run_at(load_config(config.path), DAY_BEFORE)
    assert action == "missed"
    assert briefing is not None and briefing.accepted == ()
    assert briefing.failed == (
        (EDITOR, f"{config.path}: no smtp: section; add one with at least smtp.host to send"),
    )


def test_the_next_briefing_compares_and_names_new_and_failing_feeds(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    """A week after the first issue: the item count against issue 1, a feed added since,
    and a feed whose file went missing."""
    config = project(tmp_path, smtp)
    assert run_at(config, SEND + timedelta(minutes=5))[0] == "sent"
    (tmp_path / "samples" / "late.rss").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Late Desk</title>'
        "<link>https://late.example.org/</link><item><title>A new voice</title>"
        "<link>https://late.example.org/a</link>"
        "<pubDate>Mon, 17 Aug 2015 12:00:00 -0400</pubDate></item></channel></rss>"
    )
    text = config.path.read_text().replace("feeds:\n", "feeds:\n  - url: samples/late.rss\n", 1)
    config.path.write_text(text)
    (tmp_path / "samples" / "feeds" / "strait-talk.rss").unlink()
    briefing = run_at(load_config(config.path), DAY_BEFORE + timedelta(days=7))[1]
    assert briefing is not None and briefing.week == "2015-W34"
    assert "(last issues: 27 in #1)" in briefing.text
    assert "\nas issue 2 if nothing else is sent first.\n" in briefing.text
    assert "New feeds since the last issue: 1\n  Late Desk\n" in briefing.text
    assert "Failing feeds: 1\n  Strait Talk: once:\n    " in briefing.text


def test_with_a_list_engine_the_briefing_goes_to_the_editors_over_smtp(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    """delivery.via: buttondown delivers the issue; the editors' briefing still goes over
    the smtp: block, never through the engine (which would reach every subscriber)."""
    config = project(tmp_path, smtp, extra="")
    text = config.path.read_text().replace(f'  to: ["{LIST}"]', "  # no list address")
    text += "delivery: {via: buttondown}\nbuttondown: {api_url: 'http://127.0.0.1:9/v1'}\n"
    config.path.write_text(text)
    _action, briefing = run_at(load_config(config.path), DAY_BEFORE)
    assert briefing is not None and briefing.accepted == (EDITOR,)
    assert [r.rcpt_tos for r in smtp.handler.received] == [(EDITOR,)]
