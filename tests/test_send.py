"""Sending an issue by SMTP, against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import os
import random
import re
import shutil
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from roundup import smtp
from roundup.cli import cli
from roundup.config import Config, Newsletter, SmtpSettings
from roundup.errors import SendError
from roundup.message import build_message, list_id, unsubscribe_token
from roundup.models import UNSUBSCRIBE_TOKEN, Draft, DraftItem, DraftSection
from roundup.recipients import recipients_for
from roundup.schema import MIGRATIONS
from roundup.send import (
    PASS_PAUSES,
    PASSES,
    SendReport,
    describe_send,
    format_report,
    send_issue,
)
from roundup.store import Store
from tests.smtpserver import SmtpServer, smtp_server, tls_files

__all__ = ["smtp_server"]  # the fixture, imported for pytest

NOW = datetime(2015, 8, 14, 19, 0, tzinfo=UTC)
WEEK = "2015-W33"
SECRET = "test-secret"
PEOPLE = [f"reader{n}@example.com" for n in range(1, 7)]


def make_config(tmp_path: Path, smtp: SmtpSettings | None, **newsletter: Any) -> Config:
    values: dict[str, Any] = {
        "title": "The Elicitor Weekly Roundup",
        "url": "https://example.org/roundup/",
        "timezone": "UTC",
        "week_ends": 4,
        "language": "en",
        "from_addr": "The Elicitor <roundup@example.org>",
        "unsubscribe_url": "https://example.org/roundup/unsubscribe/{token}",
    }
    values.update(newsletter)
    return Config(
        path=tmp_path / "feeds.yaml",
        newsletter=Newsletter(**values),
        output_dir=tmp_path / "out",
        state=tmp_path / "state.sqlite3",
        sections=(),
        feeds=(),
        smtp=smtp,
    )


def subscribers(tmp_path: Path, people: list[str] = PEOPLE, header: str = "email,name") -> Path:
    path = tmp_path / "subscribers.csv"
    lines = [header, *(f"{who},Reader {n}" for n, who in enumerate(people, 1))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_draft(keys: tuple[str, ...] = ("https://example.com/a", "editor:1")) -> Draft:
    items = tuple(
        DraftItem(key=k, title=k, link=k, source="Example", published=NOW, excerpt="") for k in keys
    )
    return Draft(
        week=WEEK,
        number=12,
        subject="Roundup #12",
        preheader="",
        intro="",
        sections=(DraftSection("News", "", items),),
        window_start=datetime(2015, 8, 8, tzinfo=UTC),
        window_end=datetime(2015, 8, 15, tzinfo=UTC),
    )


@dataclass
class Setup:
    """A config pointing at the test server, a store, a draft and its built message."""

    config: Config
    store: Store
    draft: Draft
    message: EmailMessage
    sleeps: list[float] = field(default_factory=list)

    def send(self, **kwargs: Any) -> SendReport:
        environ = kwargs.pop("environ", {})
        factory = kwargs.pop("smtp_factory", None)

        def connect() -> smtp.SmtpMailer:
            return smtp.from_config(self.config, environ, factory=factory)

        values: dict[str, Any] = {
            "message": self.message,
            "draft": self.draft,
            "config": self.config,
            "store": self.store,
            "now": lambda: NOW,
            "secret": SECRET,
            "sleep": self.sleeps.append,
            "clock": lambda: 0.0,  # time stands still: pauses are whole, the budget unspent
            "connect": connect,
        }
        values.update(kwargs)
        return send_issue(**values)


def setup_for(tmp_path: Path, store: Store, smtp: SmtpSettings | None, **newsletter: Any) -> Setup:
    if "to" not in newsletter and smtp is not None and smtp.subscribers is None:
        smtp = replace(smtp, subscribers=subscribers(tmp_path))
    config = make_config(tmp_path, smtp, **newsletter)
    draft = make_draft()
    store.issue_number(WEEK, first=12)
    html = (
        f"<p>Hello</p><a href='https://example.org/roundup/unsubscribe/{UNSUBSCRIBE_TOKEN}'>x</a>"
    )
    message = build_message(
        html=html, text=f"Hello {UNSUBSCRIBE_TOKEN}", draft=draft, config=config, now=NOW
    )
    return Setup(config, store, draft, message)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.sqlite3") as opened:
        yield opened


@pytest.fixture
def env(tmp_path: Path, store: Store, smtp_server: SmtpServer) -> Setup:
    return setup_for(tmp_path, store, smtp_server.settings())


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_send_twice_delivers_once(env: Setup, smtp_server: SmtpServer) -> None:
    """A second send of the same issue sends nothing more: everyone is skipped."""
    first = env.send()
    second = env.send()
    assert first.accepted == tuple(PEOPLE) and first.complete
    assert second.accepted == () and second.skipped == tuple(PEOPLE) and second.complete
    assert [smtp_server.handler.count(who) for who in PEOPLE] == [1] * len(PEOPLE)
    assert {who: status for who, (status, _d) in env.store.deliveries(WEEK).items()} == {
        who: "accepted" for who in PEOPLE
    }


def test_send_marks_the_issue_sent_with_its_links(env: Setup) -> None:
    """Once everyone is reached the issue is marked sent and its http links remembered."""
    env.send()
    issue = env.store.issue(WEEK)
    assert issue is not None and issue.sent_at == NOW
    assert set(env.store.sent_urls()) == {"https://example.com/a"}  # not "editor:1"


def test_each_recipient_gets_their_own_copy(env: Setup, smtp_server: SmtpServer) -> None:
    """One message per recipient: their own To, envelope and unsubscribe token."""
    env.send()
    ident = list_id(env.config)
    for n, who in enumerate(PEOPLE, 1):
        (received,) = smtp_server.handler.to(who)
        parsed = received.message()
        token = unsubscribe_token(SECRET, ident, who)
        assert received.rcpt_tos == (who,)
        assert received.mail_from == "roundup@example.org"
        assert parsed["To"] == f"Reader {n} <{who}>"
        assert parsed["List-Unsubscribe"] == f"<https://example.org/roundup/unsubscribe/{token}>"
        assert f"Hello {token}" in next(parsed.iter_parts()).get_content()
        assert UNSUBSCRIBE_TOKEN.encode() not in received.data


def test_list_addresses_get_one_message_each(
    tmp_path: Path, store: Store, smtp_server: SmtpServer
) -> None:
    """With newsletter.to, each list address gets one copy with the list's own token."""
    lists = ("Roundup list <roundup@lists.example.org>", "backup@lists.example.org")
    setup = setup_for(tmp_path, store, smtp_server.settings(), to=lists)
    report = setup.send()
    assert report.accepted == ("roundup@lists.example.org", "backup@lists.example.org")
    (received,) = smtp_server.handler.to("roundup@lists.example.org")
    assert received.message()["To"] == lists[0]
    token = unsubscribe_token(SECRET, list_id(setup.config), "roundup@lists.example.org")
    assert token in received.message()["List-Unsubscribe"]


def test_hang_ups_after_the_data_are_uncertain_and_never_sent_again(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """A server hanging up at every DATA after 3 messages: each later recipient's copy went
    out unanswered, so each is uncertain (reconnecting for the next), and a second send adds
    no copy; --retry-uncertain then sends them one on purpose."""
    smtp_server.handler.drop_after = 3
    first = env.send()
    assert first.accepted == tuple(PEOPLE[:3])
    assert [who for who, _what in first.uncertain] == PEOPLE[3:]
    assert first.pending == () and first.finished and not first.complete
    assert env.sleeps == []
    assert smtp_server.handler.dropped == 3  # one connection each: the send went on
    assert {who: s for who, (s, _d) in env.store.deliveries(WEEK).items()} == {
        **{who: "accepted" for who in PEOPLE[:3]},
        **{who: "uncertain" for who in PEOPLE[3:]},
    }
    issue = env.store.issue(WEEK)
    assert issue is not None and issue.sent_at == NOW  # nothing is left to try on its own

    smtp_server.handler.drop_after = None
    second = env.send()
    assert second.accepted == () and second.skipped == tuple(PEOPLE[:3])
    assert smtp_server.handler.data_count == 6  # nobody was tried again
    third = env.send(retry_uncertain=True)
    assert third.accepted == tuple(PEOPLE[3:]) and third.complete
    assert [smtp_server.handler.count(who) for who in PEOPLE] == [1] * len(PEOPLE)


def test_one_hang_up_after_the_data_does_not_stop_the_others(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """A hang-up after the 3rd message's data: that one is uncertain, the rest go out on a
    fresh connection at once (no pause, no retry of the uncertain one)."""
    smtp_server.handler.drop_data = {3}
    report = env.send()
    assert report.accepted == tuple(PEOPLE[:2] + PEOPLE[3:])
    assert report.uncertain == (
        (
            PEOPLE[2],
            "no reply after the message went out (connection lost: Connection unexpectedly closed)",
        ),
    )
    assert env.sleeps == []
    assert smtp_server.handler.data_count == len(PEOPLE)
    assert smtp_server.handler.connections == 2


@pytest.mark.parametrize(
    ("where", "reply"),
    [("rcpt_replies", "451 4.7.1 Greylisted, try again"), ("data_replies", "452 4.3.1 Full")],
)
def test_temporary_failure_then_success(
    env: Setup, smtp_server: SmtpServer, where: str, reply: str
) -> None:
    """A 4xx on the first try is retried in the second pass, after everyone else, not on
    the spot; the recipient gets exactly one copy and no in-flight row is left behind."""
    getattr(smtp_server.handler, where)[1] = reply
    report = env.send()
    assert report.accepted == (*PEOPLE[1:], PEOPLE[0])
    assert report.complete
    assert env.sleeps == [PASS_PAUSES[0]]
    assert smtp_server.handler.count(PEOPLE[0]) == 1
    assert {s for s, _d in env.store.deliveries(WEEK).values()} == {"accepted"}


def test_persistent_temporary_failure_is_pending_not_recorded(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """A recipient answering 4xx every time stays pending; the others are delivered."""
    smtp_server.handler.refuse[PEOPLE[1]] = "450 4.2.1 Mailbox busy"
    report = env.send()
    assert report.pending == (PEOPLE[1],)
    assert report.accepted == tuple(p for p in PEOPLE if p != PEOPLE[1])
    assert PEOPLE[1] not in env.store.deliveries(WEEK)
    assert f"Pending: {PEOPLE[1]}: 450 4.2.1 Mailbox busy" in report.notes
    assert env.sleeps == list(PASS_PAUSES)  # one try per pass, no inline backoff
    assert smtp_server.handler.rcpt_count == len(PEOPLE) + PASSES - 1


@pytest.mark.parametrize(
    ("where", "key", "reply"),
    [
        ("refuse", PEOPLE[2], "550 5.1.1 No such user"),
        ("data_replies", 3, "554 5.7.1 Message rejected"),
    ],
)
def test_permanent_failure_is_recorded_as_refused(
    env: Setup, smtp_server: SmtpServer, where: str, key: object, reply: str
) -> None:
    """A 5xx is recorded as refused with the server's reply, reported, and not retried later."""
    getattr(smtp_server.handler, where)[key] = reply
    report = env.send()
    assert report.refused == ((PEOPLE[2], reply),)
    assert report.finished and not report.complete
    assert env.sleeps == []
    assert env.store.deliveries(WEEK)[PEOPLE[2]] == ("refused", reply)
    assert smtp_server.handler.count(PEOPLE[2]) == 0
    assert f"Refused: {PEOPLE[2]}: {reply}" in format_report(report)
    issue = env.store.issue(WEEK)
    assert issue is not None and issue.sent_at == NOW

    rcpts = smtp_server.handler.rcpt_count
    again = env.send()
    assert again.refused == ((PEOPLE[2], reply),) and again.accepted == ()
    assert smtp_server.handler.rcpt_count == rcpts


def test_temporary_sender_refusal_is_retried(env: Setup, smtp_server: SmtpServer) -> None:
    """A 4xx to MAIL FROM is retried in the next pass; everyone still gets one copy."""
    smtp_server.handler.mail_replies[1] = "451 4.3.0 Try again"
    assert env.send().complete
    assert env.sleeps == [PASS_PAUSES[0]]
    assert [smtp_server.handler.count(who) for who in PEOPLE] == [1] * len(PEOPLE)


def test_permanent_sender_refusal_stops_the_send(env: Setup, smtp_server: SmtpServer) -> None:
    """A 5xx to MAIL FROM is about the sender: a SendError; earlier acceptances stay recorded."""
    smtp_server.handler.mail_replies[2] = "553 5.7.1 Sender not allowed"
    with pytest.raises(SendError, match=r"refused the sender roundup@example\.org \(553"):
        env.send()
    assert env.store.deliveries(WEEK) == {PEOPLE[0]: ("accepted", "")}
    assert env.send().accepted == tuple(PEOPLE[1:])


def test_dry_run_sends_and_records_nothing(env: Setup, smtp_server: SmtpServer) -> None:
    """A dry run lists who would get the issue without connecting or recording."""
    report = env.send(dry_run=True)
    assert report.dry_run and report.accepted == tuple(PEOPLE)
    assert smtp_server.handler.received == [] and smtp_server.handler.rcpt_count == 0
    assert env.store.deliveries(WEEK) == {}
    issue = env.store.issue(WEEK)
    assert issue is not None and issue.sent_at is None
    assert format_report(report).startswith(f"Dry run for {WEEK}: would go to 6 recipients.")


def test_dry_run_needs_no_secret_and_no_server(tmp_path: Path, store: Store) -> None:
    """A dry run works without the secret and against a server that is not there."""
    settings = SmtpSettings(host="127.0.0.1", port=closed_port(), security="none")
    setup = setup_for(tmp_path, store, settings)
    report = setup.send(dry_run=True, secret="")
    assert report.accepted == tuple(PEOPLE) and setup.sleeps == []


def test_test_to_sends_one_marked_copy_and_leaves_the_ledger(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """--test-to sends one [TEST] copy to that address and records nothing."""
    report = env.send(test_to="editor@example.org")
    assert report.accepted == ("editor@example.org",)
    (received,) = smtp_server.handler.received
    assert received.rcpt_tos == ("editor@example.org",)
    assert received.message()["Subject"] == "[TEST] Roundup #12"
    assert env.store.deliveries(WEEK) == {}
    assert env.send().accepted == tuple(PEOPLE)


def test_test_to_does_not_need_approval(
    tmp_path: Path, store: Store, smtp_server: SmtpServer
) -> None:
    """A test copy goes out before approval: reviewing it is what it is for."""
    setup = setup_for(tmp_path, store, smtp_server.settings(), require_approval=True)
    assert setup.send(test_to="editor@example.org", approved=False).complete
    assert smtp_server.handler.count("editor@example.org") == 1


def test_force_sends_again(env: Setup, smtp_server: SmtpServer) -> None:
    """force=True forgets the ledger and sends everyone a second copy."""
    env.send()
    text = describe_send(draft=env.draft, config=env.config, store=env.store, force=True)
    assert "--force: first forgetting the 6 recorded deliveries of 2015-W33" in text
    report = env.send(force=True)
    assert report.accepted == tuple(PEOPLE) and report.skipped == ()
    assert [smtp_server.handler.count(who) for who in PEOPLE] == [2] * len(PEOPLE)


def test_describe_send_before_and_after(env: Setup) -> None:
    """describe_send says who will get it and who is skipped."""
    before = describe_send(draft=env.draft, config=env.config, store=env.store)
    assert before.startswith(
        "Sending 2015-W33 (issue 12, “Roundup #12”) to 6 recipients via 127.0.0.1:"
    )
    env.send()
    after = describe_send(draft=env.draft, config=env.config, store=env.store, dry_run=True)
    assert "to 0 recipients" in after
    assert "6 recipients already received it and will be skipped." in after
    assert after.endswith("Dry run: nothing is sent or recorded.")


def test_no_items_is_refused(env: Setup, smtp_server: SmtpServer) -> None:
    """An issue with no items is refused before anything is sent."""
    empty = replace(env.draft, sections=())
    with pytest.raises(SendError) as caught:
        env.send(draft=empty)
    assert str(caught.value) == (
        "2015-W33 has no items: nothing to send"
        " (run `roundup draft --week 2015-W33` after fetching)"
    )
    assert smtp_server.handler.rcpt_count == 0


@pytest.mark.parametrize(
    ("require", "approved", "sent"),
    [(True, False, False), (False, False, True), (True, True, True)],
)
def test_approval_is_required_when_configured(
    tmp_path: Path, store: Store, smtp_server: SmtpServer, require: bool, approved: bool, sent: bool
) -> None:
    """With require_approval, an unapproved issue is refused; otherwise it goes out."""
    setup = setup_for(tmp_path, store, smtp_server.settings(), require_approval=require)
    if sent:
        assert setup.send(approved=approved).complete
        return
    with pytest.raises(SendError) as caught:
        setup.send(approved=approved)
    assert str(caught.value) == (
        "2015-W33 is not approved: review it and run `roundup approve --week 2015-W33`"
    )
    assert smtp_server.handler.rcpt_count == 0


def test_batches_and_rate_limit(tmp_path: Path, store: Store, smtp_server: SmtpServer) -> None:
    """batch_size messages per connection; rate_per_minute paces them through sleep."""
    setup = setup_for(tmp_path, store, smtp_server.settings(batch_size=4, rate_per_minute=30))
    assert setup.send().complete
    assert smtp_server.handler.connections == 2
    assert setup.sleeps == [2.0] * (len(PEOPLE) - 1)


def test_unreachable_server_leaves_everyone_pending(tmp_path: Path, store: Store) -> None:
    """Connection refused: each pass stops after 3 recipients in a row could not be reached,
    then everyone is pending; nothing recorded."""
    settings = SmtpSettings(host="127.0.0.1", port=closed_port(), security="none", timeout=2)
    setup = setup_for(tmp_path, store, settings)
    report = setup.send()
    assert report.pending == tuple(PEOPLE) and report.accepted == ()
    assert setup.sleeps == list(PASS_PAUSES)
    assert report.notes[0].startswith(
        "Stopped: the mail server could not be reached (ConnectionRefusedError: "
    )
    assert report.notes[0].endswith(" for 3 recipients in a row; 6 recipients left pending.")
    assert store.deliveries(WEEK) == {}


def test_credentials_come_from_the_environment(tmp_path: Path, store: Store) -> None:
    """The login is read from the variables smtp.username_env/password_env name."""
    with SmtpServer(users={"ann": "pa55"}) as server:
        settings = server.settings(username_env="SMTP_USER", password_env="SMTP_PASS")
        setup = setup_for(tmp_path, store, settings)
        report = setup.send(environ={"SMTP_USER": "ann", "SMTP_PASS": "pa55"})
        assert report.complete
        assert {r.login for r in server.handler.received} == {"ann"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SMTP_USER": "ann"}, r"\$SMTP_PASS is not set"),
        ({"SMTP_PASS": "pa55"}, r"\$SMTP_USER is not set"),
        ({"SMTP_USER": "ann", "SMTP_PASS": "wrong"}, r"login refused \(535"),
    ],
)
def test_bad_credentials_are_a_send_error(
    tmp_path: Path, store: Store, environ: dict[str, str], message: str
) -> None:
    """A missing variable or a refused login is a SendError naming what to fix."""
    with SmtpServer(users={"ann": "pa55"}) as server:
        settings = server.settings(username_env="SMTP_USER", password_env="SMTP_PASS")
        setup = setup_for(tmp_path, store, settings)
        with pytest.raises(SendError, match=message):
            setup.send(environ=environ)
        assert server.handler.received == []


@pytest.mark.parametrize("implicit", [False, True])
def test_tls_with_a_real_certificate(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch, implicit: bool
) -> None:
    """starttls and tls encrypt the session (a throwaway self-signed cert) before AUTH."""
    cert, key = tls_files(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with SmtpServer(users={"ann": "pa55"}, tls=(cert, key), implicit_tls=implicit) as server:
        settings = server.settings(username_env="U", password_env="P")
        setup = setup_for(tmp_path, store, settings)
        assert setup.send(environ={"U": "ann", "P": "pa55"}).complete
        assert {(r.tls, r.login) for r in server.handler.received} == {(True, "ann")}


def test_untrusted_certificate_is_a_send_error(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A certificate that does not verify stops the send with a TLS error."""
    cert, key = tls_files(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nothing.pem"))
    with SmtpServer(tls=(cert, key)) as server:
        setup = setup_for(tmp_path, store, server.settings())
        with pytest.raises(SendError, match="TLS failed"):
            setup.send()
        assert server.handler.received == []


class FakeSmtp:
    """Stands in for smtplib.SMTP, recording the calls made on it."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def ehlo(self) -> None:
        self.calls.append("ehlo")

    def starttls(self, *, context: ssl.SSLContext) -> None:
        self.calls.append(f"starttls:{context.verify_mode == ssl.CERT_REQUIRED}")

    def login(self, user: str, password: str) -> None:
        self.calls.append(f"login:{user}:{password}")

    def ehlo_or_helo_if_needed(self) -> None:
        self.calls.append("ehlo_or_helo")

    def has_extn(self, name: str) -> bool:
        return False

    def mail(self, sender: str, options: list[str]) -> tuple[int, bytes]:
        self.calls.append(f"mail:{sender}")
        return 250, b"OK"

    def rcpt(self, recipient: str) -> tuple[int, bytes]:
        self.calls.append(f"rcpt:{recipient}")
        return 250, b"OK"

    def docmd(self, command: str) -> tuple[int, bytes]:
        self.calls.append(command.lower())
        return 354, b"Go ahead"

    def send(self, data: bytes) -> None:
        assert data.endswith(b"\r\n.\r\n")

    def getreply(self) -> tuple[int, bytes]:
        return 250, b"OK"

    def quit(self) -> None:
        self.calls.append("quit")

    def close(self) -> None:
        self.calls.append("close")


TRANSACTION = ["mail:roundup@example.org", "rcpt:a@example.com", "data"]


@pytest.mark.parametrize(
    ("security", "expected"),
    [
        ("starttls", ["ehlo", "starttls:True", "ehlo", "login:ann:pa55", *TRANSACTION]),
        ("none", ["ehlo_or_helo", "login:ann:pa55", *TRANSACTION]),
        ("tls", ["ehlo_or_helo", "login:ann:pa55", *TRANSACTION]),
    ],
)
def test_security_setting_drives_starttls(
    tmp_path: Path, store: Store, security: str, expected: list[str]
) -> None:
    """security: starttls upgrades with a verifying context before login; none and tls do not."""
    calls: list[str] = []
    factories: list[SmtpSettings] = []

    def factory(settings: SmtpSettings) -> smtplib.SMTP:
        factories.append(settings)
        return FakeSmtp(calls)  # type: ignore[return-value]

    settings = SmtpSettings(
        host="mail.example.org",
        security=security,
        username_env="U",
        password_env="P",
        subscribers=subscribers(tmp_path, ["a@example.com"]),
    )
    setup = setup_for(tmp_path, store, settings)
    setup.send(smtp_factory=factory, environ={"U": "ann", "P": "pa55"})
    assert calls == [*expected, "quit", "close"]
    assert [s.security for s in factories] == [security]


def test_missing_secret_is_refused(env: Setup) -> None:
    """Without ROUNDUP_SECRET the unsubscribe links cannot be signed: nothing is sent."""
    with pytest.raises(SendError, match=r"\$ROUNDUP_SECRET is not set"):
        env.send(secret="")


def test_missing_smtp_section_is_refused(tmp_path: Path, store: Store) -> None:
    """Sending needs an smtp: section; the error names feeds.yaml."""
    setup = setup_for(tmp_path, store, None, to=("list@example.org",))
    with pytest.raises(SendError, match=r"feeds\.yaml: no smtp: section"):
        setup.send()


def test_no_recipients_configured(tmp_path: Path) -> None:
    """Neither newsletter.to nor smtp.subscribers: a SendError saying which keys to set."""
    with pytest.raises(SendError, match=r"set newsletter\.to"):
        recipients_for(make_config(tmp_path, SmtpSettings(host="h")))


# --- one bad recipient never stops the others ----------------------------------------------

MANY = [f"member{n:02d}@example.com" for n in range(1, 41)]


def test_drop_hang_greylist_and_refusal_stop_nobody_else(
    tmp_path: Path, store: Store, smtp_server: SmtpServer
) -> None:
    """40 subscribers: one whose copy is kept and then the line drops, one whose RCPT hangs
    past smtp.timeout (1 s), five greylisted for good and one refused. One send reaches all
    32 others; each fault ends as that recipient's own outcome, temporary ones are tried once
    per pass (no inline backoff), and nobody gets a second copy."""
    handler = smtp_server.handler
    dropped, hanging, refused, greylisted = MANY[3], MANY[10], MANY[20], MANY[30:35]
    handler.keep_then_drop.add(dropped)
    handler.rcpt_hang[hanging] = 3.0
    handler.refuse[refused] = "550 5.1.1 No such user"
    for who in greylisted:
        handler.refuse[who] = "451 4.7.1 Greylisted, try again later"
    settings = smtp_server.settings(timeout=1.0, subscribers=subscribers(tmp_path, MANY))
    setup = setup_for(tmp_path, store, settings)

    report = setup.send()

    faulty = {dropped, hanging, refused, *greylisted}
    assert report.accepted == tuple(who for who in MANY if who not in faulty)
    assert report.uncertain == (
        (
            dropped,
            "no reply after the message went out (connection lost: Connection unexpectedly closed)",
        ),
    )
    assert report.refused == ((refused, "550 5.1.1 No such user"),)
    assert report.pending == (hanging, *greylisted)
    assert (
        f"Pending: {hanging}: connection lost before the message went out (connection"
        " lost: Connection unexpectedly closed: timed out)" in report.notes
    )
    assert setup.sleeps == list(PASS_PAUSES)
    assert handler.rcpt_log.count(greylisted[0]) == PASSES
    assert handler.rcpt_log.count(dropped) == 1
    assert max(handler.count(who) for who in MANY) == 1
    assert {s for who, (s, _d) in store.deliveries(WEEK).items() if who in greylisted} == set()

    again = setup.send()  # the next run: only the pending ones are tried
    assert again.accepted == () and again.pending == (hanging, *greylisted)
    assert handler.count(dropped) == 1


def test_greylisting_is_passed_in_a_later_pass(env: Setup, smtp_server: SmtpServer) -> None:
    """Two recipients greylisted once: everyone else first, then one pause, then those two."""
    smtp_server.handler.greylist.update({PEOPLE[0]: 1, PEOPLE[3]: 1})
    report = env.send()
    assert report.accepted == (PEOPLE[1], PEOPLE[2], *PEOPLE[4:], PEOPLE[0], PEOPLE[3])
    assert report.complete and env.sleeps == [PASS_PAUSES[0]]


def test_a_hung_rcpt_is_tried_again_in_the_next_pass(
    tmp_path: Path, store: Store, smtp_server: SmtpServer
) -> None:
    """A RCPT unanswered within smtp.timeout costs that recipient one try, the send goes on
    on a new connection, and the next pass delivers it once the server answers again."""
    smtp_server.handler.rcpt_hang[PEOPLE[1]] = 3.0
    setup = setup_for(tmp_path, store, smtp_server.settings(timeout=1.0))

    def sleep(seconds: float) -> None:
        setup.sleeps.append(seconds)
        smtp_server.handler.rcpt_hang.clear()  # the server recovers during the pause

    report = setup.send(sleep=sleep)
    assert report.accepted == (PEOPLE[0], *PEOPLE[2:], PEOPLE[1]) and report.complete
    assert setup.sleeps == [PASS_PAUSES[0]]
    assert [smtp_server.handler.count(who) for who in PEOPLE] == [1] * len(PEOPLE)


def test_no_reply_to_the_data_is_uncertain(
    tmp_path: Path, store: Store, smtp_server: SmtpServer
) -> None:
    """The server keeps the copy but its reply does not come within smtp.timeout: the
    recipient is uncertain, and neither this send nor the next sends a second copy."""
    smtp_server.handler.data_hang[PEOPLE[2]] = 3.0
    setup = setup_for(tmp_path, store, smtp_server.settings(timeout=1.0))
    report = setup.send()
    assert report.uncertain == (
        (
            PEOPLE[2],
            "no reply after the message went out (connection lost: Connection"
            " unexpectedly closed: timed out)",
        ),
    )
    assert report.accepted == (*PEOPLE[:2], *PEOPLE[3:])
    assert setup.send().accepted == ()
    assert smtp_server.handler.count(PEOPLE[2]) == 1


def test_uncertain_recipients_are_reported_with_what_to_do(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """The report names each uncertain recipient and says how to send to them on purpose;
    the plan of the next send leaves them out, or with --retry-uncertain includes them."""
    smtp_server.handler.keep_then_drop.add(PEOPLE[0])
    report = env.send()
    assert format_report(report) == (
        "Sent 2015-W33: accepted for 5 recipients.\n"
        f"Uncertain: {PEOPLE[0]}: no reply after the message went out (connection lost:"
        " Connection unexpectedly closed)\n"
        "Uncertain: 1 recipient may or may not have it, so roundup will not send to them"
        " again on its own. Ask them, or run `roundup send --week 2015-W33 --retry-uncertain`"
        " to send them a copy (a second one for whoever already has it)."
    )
    plan = describe_send(draft=env.draft, config=env.config, store=env.store)
    assert plan.endswith(
        "to 0 recipients via 127.0.0.1:"
        f"{smtp_server.port} (none). 5 recipients already received it and will be skipped."
        " 1 recipient may already have it (an earlier outcome is unknown) and will be left"
        " out (use --retry-uncertain to send to them)."
    )
    retry = describe_send(draft=env.draft, config=env.config, store=env.store, retry_uncertain=True)
    assert "to 1 recipient via" in retry
    assert retry.endswith(
        "--retry-uncertain: including 1 recipient whose earlier copy may have arrived"
        " (they may get a second one)."
    )
    again = env.send(retry_uncertain=True)
    assert again.accepted == () and again.uncertain == report.uncertain  # dropped again
    assert smtp_server.handler.count(PEOPLE[0]) == 2  # on purpose, twice


def test_a_row_left_in_flight_by_a_dead_process_becomes_uncertain(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """A process killed after marking a recipient in flight: the next send reports that
    recipient as uncertain instead of sending a second copy, and sends everyone else."""
    env.store.record_delivery(WEEK, [PEOPLE[4]], status="in_flight", detail="", at=NOW)
    report = env.send()
    assert report.accepted == (*PEOPLE[:4], PEOPLE[5])
    assert report.uncertain == (
        (PEOPLE[4], "an earlier send stopped while handing over this copy"),
    )
    assert report.notes == (
        "Interrupted: 1 recipient was in flight when an earlier send stopped (killed or"
        " crashed): recorded as uncertain.",
    )
    assert smtp_server.handler.count(PEOPLE[4]) == 0
    assert env.store.deliveries(WEEK)[PEOPLE[4]][0] == "uncertain"


def test_the_send_is_bounded_by_its_budget(env: Setup, smtp_server: SmtpServer) -> None:
    """Once the budget is spent no attempt starts: here every delivered copy "costs" ten
    minutes, so a 30-minute budget sends three and leaves three pending for the next run."""
    report = env.send(clock=lambda: 600.0 * len(smtp_server.handler.received))
    assert report.accepted == tuple(PEOPLE[:3]) and report.pending == tuple(PEOPLE[3:])
    assert report.notes == (
        "Stopped: the send used up its time (30 minutes); 3 recipients left pending for the"
        " next run.",
    )
    issue = env.store.issue(WEEK)
    assert issue is not None and issue.sent_at is None
    assert env.send().accepted == tuple(PEOPLE[3:])


def test_a_later_pass_never_waits_past_the_budget(env: Setup, smtp_server: SmtpServer) -> None:
    """A pause that would end after the budget is not taken: the send ends instead."""
    smtp_server.handler.refuse[PEOPLE[0]] = "451 4.3.2 Busy"
    report = env.send(budget=PASS_PAUSES[0] / 2, clock=lambda: 0.0)
    assert report.pending == (PEOPLE[0],) and env.sleeps == []
    assert report.notes[0].startswith("Stopped: the send used up its time (2 s)")


# --- the real command, killed mid-send ---------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-c", "from roundup.cli import main; main()"]


def cli_project(tmp_path: Path, server: SmtpServer, rows: str) -> Path:
    """The bundled sample project sending to a subscribers CSV through ``server``, with
    2015-W33 built; returns its feeds.yaml."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = re.sub(r"(?m)^  to: .*\n", "", (ROOT / "feeds.yaml").read_text())
    text += (
        f"smtp: {{host: 127.0.0.1, port: {server.port}, security: none, timeout: 5,"
        " subscribers: subscribers.csv}\n"
    )
    (tmp_path / "subscribers.csv").write_text(rows, encoding="utf-8")
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    built = CliRunner().invoke(cli, ["--config", str(path), "build", "--week", WEEK, "-q"])
    assert built.exit_code == 0, built.output
    return path


def test_kill_9_at_any_moment_never_sends_a_second_copy(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """`roundup send` in a real process, against a slow server, killed with SIGKILL six
    times at different moments (while the server holds a RCPT, while it holds the reply to
    a copy it kept, just around a reply, after random delays), then resumed: nobody got two
    copies, and everyone got one or is reported uncertain by the resumed send."""
    handler = smtp_server.handler
    handler.rcpt_delay, handler.data_delay = 0.05, 0.25
    people = [f"kill{n:02d}@example.com" for n in range(1, 13)]
    config = cli_project(tmp_path, smtp_server, "email\n" + "\n".join(people) + "\n")
    environ = {**os.environ, "ROUNDUP_SECRET": SECRET}
    send = [*COMMAND, "--config", str(config), "send", "--week", WEEK]
    moments = random.Random(20150814)

    def kill_after(kind: str, n: int, wait: float = 0.0) -> None:
        """Start a send; SIGKILL it ``wait`` seconds after the server saw its n-th RCPT or
        DATA (SIGKILL: no cleanup of any kind)."""
        seen = handler.rcpt_count if kind == "rcpt" else handler.data_count
        process = subprocess.Popen(
            send, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            assert handler.wait_for(kind, seen + n), f"the send never reached {kind} {n}"
            time.sleep(wait)
        finally:
            process.kill()
            process.wait()

    def ledger() -> dict[str, tuple[str, str]]:
        with Store.open(tmp_path / ".roundup" / "state.sqlite3") as store:
            return store.deliveries(WEEK)

    # The first two moments are made certain by holding the server's reply for 2 s.
    handler.rcpt_delay = 2.0
    kill_after("rcpt", 1)  # while the server holds a RCPT: before the handover
    assert handler.rcpt_log[-1] not in ledger()  # not in flight: the next run sends it
    handler.rcpt_delay, handler.data_delay = 0.05, 2.0
    kill_after("data", 1)  # while it holds the reply to a copy it kept
    kept = handler.rcpt_log[-1]
    assert ledger()[kept] == ("in_flight", "")  # committed before the copy went out
    handler.data_delay = 0.25
    kill_after("data", 1, handler.data_delay)  # about as the reply goes out
    kill_after("rcpt", 1, handler.rcpt_delay)  # about at the handover
    for _ in range(2):
        kill_after("rcpt", 1, moments.uniform(0.05, 0.6))

    resumed = subprocess.run(send, env=environ, capture_output=True, text=True, timeout=120)

    final = ledger()
    copies = {who: handler.count(who) for who in people}
    uncertain = {who for who, (status, _d) in final.items() if status == "uncertain"}
    assert max(copies.values()) == 1, copies
    assert all(copies[who] == 1 or who in uncertain for who in people), (copies, final)
    assert {who for who in people if final[who][0] == "accepted"} == set(people) - uncertain
    assert kept in uncertain and copies[kept] == 1
    assert resumed.returncode == 5, resumed.stdout + resumed.stderr
    for who in uncertain:
        assert f"Uncertain: {who}: " in resumed.stdout
    assert "--retry-uncertain" in resumed.stdout


def test_cli_send_reports_uncertain_and_retry_uncertain_sends_them(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """`roundup send` exits 5 naming the uncertain recipient and what to do; sending again
    leaves them out; `--retry-uncertain` sends them a copy on purpose."""
    smtp_server.handler.keep_then_drop.add("b@example.com")
    config = cli_project(tmp_path, smtp_server, "email\na@example.com\nb@example.com\n")
    send = ["--config", str(config), "send", "--week", WEEK]
    environ = {"ROUNDUP_SECRET": SECRET}
    issue = f"{WEEK} (issue 1, “The Elicitor Weekly Roundup: August 14, 2015”)"
    route = f"via 127.0.0.1:{smtp_server.port} (none)"
    uncertain = (
        "Uncertain: b@example.com: no reply after the message went out (connection lost:"
        " Connection unexpectedly closed)\n"
        "Uncertain: 1 recipient may or may not have it, so roundup will not send to them"
        f" again on its own. Ask them, or run `roundup send --week {WEEK} --retry-uncertain`"
        " to send them a copy (a second one for whoever already has it).\n"
    )
    first = CliRunner().invoke(cli, send, env=environ)
    assert (first.exit_code, first.output) == (
        5,
        f"Sending {issue} to 2 recipients {route}.\n"
        f"Sent {WEEK}: accepted for 1 recipient.\n" + uncertain,
    )
    smtp_server.handler.keep_then_drop.clear()
    again = CliRunner().invoke(cli, send, env=environ)
    assert (again.exit_code, again.output) == (
        5,
        f"Sending {issue} to 0 recipients {route}. 1 recipient already received it and will"
        " be skipped. 1 recipient may already have it (an earlier outcome is unknown) and"
        " will be left out (use --retry-uncertain to send to them).\n"
        f"Sent {WEEK}: accepted for 0 recipients.\n"
        "Skipped 1 recipient who already had it.\n" + uncertain,
    )
    retry = CliRunner().invoke(cli, [*send, "--retry-uncertain"], env=environ)
    assert (retry.exit_code, retry.output) == (
        0,
        f"Sending {issue} to 1 recipient {route}. 1 recipient already received it and will"
        " be skipped. --retry-uncertain: including 1 recipient whose earlier copy may have"
        " arrived (they may get a second one).\n"
        f"Sent {WEEK}: accepted for 1 recipient.\n"
        "Skipped 1 recipient who already had it.\n",
    )
    assert smtp_server.handler.count("a@example.com") == 1
    assert smtp_server.handler.count("b@example.com") == 2  # the second one on purpose


def test_the_ledger_migration_keeps_deliveries_and_allows_only_its_states(
    tmp_path: Path,
) -> None:
    """A state file from before in-flight marking keeps its deliveries; the table then
    refuses any status but the ledger's four."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        db.executescript(script)
    db.execute(
        "INSERT INTO deliveries VALUES (?, ?, 'accepted', '250', '2015-08-14T19:00:00+00:00')",
        (WEEK, PEOPLE[0]),
    )
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    with Store.open(path) as store:
        assert store.deliveries(WEEK) == {PEOPLE[0]: ("accepted", "250")}
        for status in ("in_flight", "uncertain"):
            store.record_delivery(WEEK, [PEOPLE[1]], status=status, detail="", at=NOW)
        with pytest.raises(sqlite3.IntegrityError):
            store.record_delivery(WEEK, [PEOPLE[1]], status="pending", detail="", at=NOW)
        assert store.deliveries(WEEK)[PEOPLE[1]] == ("uncertain", "")


def test_a_long_pass_needs_no_pause(env: Setup, smtp_server: SmtpServer) -> None:
    """The pause spaces a recipient's tries, not the passes: when the first pass took longer
    than the gap (here each delivered copy "takes" 10 s), the second starts at once."""
    smtp_server.handler.greylist[PEOPLE[0]] = 1
    report = env.send(clock=lambda: 10.0 * len(smtp_server.handler.received))
    assert report.accepted == (*PEOPLE[1:], PEOPLE[0]) and env.sleeps == []


def test_a_dry_run_shows_an_in_flight_row_as_uncertain_and_changes_nothing(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """A dry run reports what the send would find, but leaves the row as it is."""
    env.store.record_delivery(WEEK, [PEOPLE[0]], status="in_flight", detail="", at=NOW)
    report = env.send(dry_run=True)
    assert report.accepted == tuple(PEOPLE[1:])
    assert report.uncertain == (
        (PEOPLE[0], "an earlier send stopped while handing over this copy"),
    )
    assert env.store.deliveries(WEEK) == {PEOPLE[0]: ("in_flight", "")}
    assert smtp_server.handler.rcpt_count == 0
