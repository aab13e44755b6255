"""Sending an issue by SMTP, against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from roundup import smtp
from roundup.config import Config, Newsletter, SmtpSettings
from roundup.errors import SendError
from roundup.message import build_message, list_id, unsubscribe_token
from roundup.models import UNSUBSCRIBE_TOKEN, Draft, DraftItem, DraftSection
from roundup.recipients import recipients_for
from roundup.send import SendReport, describe_send, format_report, send_issue
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


def test_dropped_connection_leaves_the_rest_pending_and_resumes(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """A server hanging up after 3 messages: the rest are pending, then sent once on resume."""
    smtp_server.handler.drop_after = 3
    first = env.send()
    assert first.accepted == tuple(PEOPLE[:3])
    assert first.pending == tuple(PEOPLE[3:])
    assert not first.complete and not first.finished
    assert env.sleeps == [1.0, 2.0, 4.0]
    assert "could not be reached" in format_report(first)
    issue = env.store.issue(WEEK)
    assert issue is not None and issue.sent_at is None
    assert set(env.store.deliveries(WEEK)) == set(PEOPLE[:3])

    smtp_server.handler.drop_after = None
    second = env.send()
    assert second.skipped == tuple(PEOPLE[:3])
    assert second.accepted == tuple(PEOPLE[3:])
    assert second.complete
    assert [smtp_server.handler.count(who) for who in PEOPLE] == [1] * len(PEOPLE)


def test_one_dropped_connection_is_retried_on_a_new_one(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """A single hang-up mid-batch is retried after a pause on a fresh connection."""
    smtp_server.handler.drop_data = {3}
    report = env.send()
    assert report.accepted == tuple(PEOPLE) and report.complete
    assert env.sleeps == [1.0]
    assert [smtp_server.handler.count(who) for who in PEOPLE] == [1] * len(PEOPLE)
    assert smtp_server.handler.connections == 2


@pytest.mark.parametrize(
    ("where", "reply"),
    [("rcpt_replies", "451 4.7.1 Greylisted, try again"), ("data_replies", "452 4.3.1 Full")],
)
def test_temporary_failure_then_success(
    env: Setup, smtp_server: SmtpServer, where: str, reply: str
) -> None:
    """A 4xx on the first try is retried with backoff; the recipient gets exactly one copy."""
    getattr(smtp_server.handler, where)[1] = reply
    report = env.send()
    assert report.accepted == tuple(PEOPLE)
    assert env.sleeps == [1.0]
    assert smtp_server.handler.count(PEOPLE[0]) == 1


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
    assert env.sleeps == [1.0, 2.0, 4.0]


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
    """A 4xx to MAIL FROM is retried on a new connection; everyone still gets one copy."""
    smtp_server.handler.mail_replies[1] = "451 4.3.0 Try again"
    assert env.send().complete
    assert env.sleeps == [1.0]
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
    """Connection refused: retried with backoff, then everyone is pending; nothing recorded."""
    settings = SmtpSettings(host="127.0.0.1", port=closed_port(), security="none", timeout=2)
    setup = setup_for(tmp_path, store, settings)
    report = setup.send()
    assert report.pending == tuple(PEOPLE) and report.accepted == ()
    assert setup.sleeps == [1.0, 2.0, 4.0]
    assert report.notes[0].startswith("Stopped: the mail server could not be reached")
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

    def sendmail(self, sender: str, to: list[str], data: bytes) -> dict[str, Any]:
        self.calls.append(f"sendmail:{','.join(to)}")
        return {}

    def quit(self) -> None:
        self.calls.append("quit")

    def close(self) -> None:
        self.calls.append("close")


@pytest.mark.parametrize(
    ("security", "expected"),
    [
        ("starttls", ["ehlo", "starttls:True", "ehlo", "login:ann:pa55", "sendmail:a@example.com"]),
        ("none", ["login:ann:pa55", "sendmail:a@example.com"]),
        ("tls", ["login:ann:pa55", "sendmail:a@example.com"]),
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


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "email\na@example.com\n\nb@example.com\nA@EXAMPLE.COM\n",
            ["a@example.com", "b@example.com"],
        ),
        ("name,Email\nAnn,a@example.com\nBob,  \n", ["a@example.com"]),
        ("\ufeffemail,name\nAnn <a@example.com>,Ann\n", ["a@example.com"]),
    ],
)
def test_recipients_from_csv(tmp_path: Path, rows: str, expected: list[str]) -> None:
    """The email column is read; blanks and duplicates (any case) are skipped."""
    path = tmp_path / "subs.csv"
    path.write_text(rows, encoding="utf-8")
    config = make_config(tmp_path, SmtpSettings(host="h", subscribers=path))
    assert recipients_for(config) == expected


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("mail\na@example.com\n", r"subs\.csv:1: no 'email' column"),
        (
            "email\na@example.com\nnot-an-address\n",
            r"subs\.csv:3: 'not-an-address' is not an email",
        ),
        ('email\n"a@example.com\n', r"subs\.csv:\d+: not valid CSV"),
        ("email\n\n", r"subs\.csv: no subscribers in it"),
    ],
)
def test_bad_csv_names_file_and_line(tmp_path: Path, rows: str, message: str) -> None:
    """A bad subscribers file is a SendError naming the file and the line."""
    path = tmp_path / "subs.csv"
    path.write_text(rows, encoding="utf-8")
    config = make_config(tmp_path, SmtpSettings(host="h", subscribers=path))
    with pytest.raises(SendError, match=message):
        recipients_for(config)


def test_list_addresses_win_over_subscribers(tmp_path: Path) -> None:
    """newsletter.to, when set, is who gets the issue (as bare addresses)."""
    smtp = SmtpSettings(host="h", subscribers=subscribers(tmp_path))
    config = make_config(tmp_path, smtp, to=("List <l@lists.example.org>",))
    assert recipients_for(config) == ["l@lists.example.org"]


def test_no_recipients_configured(tmp_path: Path) -> None:
    """Neither newsletter.to nor smtp.subscribers: a SendError saying which keys to set."""
    with pytest.raises(SendError, match=r"set newsletter\.to"):
        recipients_for(make_config(tmp_path, SmtpSettings(host="h")))
