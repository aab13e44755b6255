"""The Mailer seam: the send ledger works with any backend, not just SMTP.

The backend here is a real one, written for the test: it delivers into a Maildir (the
mailbox format local delivery agents write), refusing one address as a server would.
"""

from __future__ import annotations

import email
import mailbox
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from roundup import mailer as mailer_module
from roundup.config import ButtondownSettings, ListmonkSettings, MailmanSettings, SmtpSettings
from roundup.errors import SendError
from roundup.mailer import (
    ACCEPTED,
    PENDING,
    REFUSED,
    UNCERTAIN,
    Outcome,
    describe_route,
    open_mailer,
)
from roundup.send import SendReport, send_issue
from roundup.smtp import SmtpMailer
from roundup.store import Store
from tests.test_send import NOW, PEOPLE, SECRET, WEEK, make_config, setup_for


class MaildirMailer:
    """Delivers each copy into a Maildir; ``refuse`` is refused, ``flaky`` fails once."""

    def __init__(self, folder: Path, *, refuse: str = "", flaky: str = "") -> None:
        self.box = mailbox.Maildir(folder, create=True)
        self.refuse = refuse
        self.flaky = flaky
        self.resets = 0
        self.closed = False

    def send(self, recipient: str, message: bytes, on_handover: Callable[[], None]) -> Outcome:
        if recipient == self.refuse:
            return Outcome(REFUSED, "550 no such mailbox")
        if recipient == self.flaky:
            self.flaky = ""
            return Outcome(PENDING, "451 try again later")
        on_handover()
        parsed = email.message_from_bytes(message)
        parsed["Delivered-To"] = recipient
        self.box.add(parsed)
        return Outcome(ACCEPTED)

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        self.closed = True

    def delivered_to(self) -> list[str]:
        return sorted(str(message["Delivered-To"]) for message in self.box)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.sqlite3") as opened:
        yield opened


def send_through(tmp_path: Path, store: Store, backend: MaildirMailer) -> SendReport:
    """The ledger's send of the test issue, with ``backend`` as the mailer."""
    setup = setup_for(tmp_path, store, SmtpSettings(host="unused.invalid"))
    return send_issue(
        message=setup.message,
        draft=setup.draft,
        config=setup.config,
        store=store,
        now=lambda: NOW,
        secret=SECRET,
        connect=lambda: backend,
        sleep=lambda _s: None,
    )


def send_with(tmp_path: Path, store: Store, backend: MaildirMailer) -> tuple[object, ...]:
    report = send_through(tmp_path, store, backend)
    return report.accepted, report.refused, report.skipped, report.pending


def test_the_ledger_delivers_through_any_mailer_once(tmp_path: Path, store: Store) -> None:
    """Every subscriber lands in the Maildir once; a second send delivers nothing more."""
    backend = MaildirMailer(tmp_path / "Maildir")
    first = send_with(tmp_path, store, backend)
    second = send_with(tmp_path, store, backend)
    assert first == (tuple(PEOPLE), (), (), ())
    assert second == ((), (), tuple(PEOPLE), ())
    assert backend.delivered_to() == sorted(PEOPLE)
    assert backend.closed


def test_refusals_are_recorded_and_temporary_failures_retried(tmp_path: Path, store: Store) -> None:
    """A refusal is recorded with the backend's words; a 451 is retried after a reset, in
    the next pass (after everyone else)."""
    backend = MaildirMailer(tmp_path / "Maildir", refuse=PEOPLE[0], flaky=PEOPLE[1])
    accepted, refused, _skipped, pending = send_with(tmp_path, store, backend)
    assert refused == ((PEOPLE[0], "550 no such mailbox"),)
    assert accepted == (*PEOPLE[2:], PEOPLE[1]) and pending == ()
    assert backend.resets == 1
    assert store.deliveries(WEEK)[PEOPLE[0]] == ("refused", "550 no such mailbox")


def test_open_mailer_builds_the_configured_backend(tmp_path: Path, store: Store) -> None:
    """feeds.yaml's smtp: section gives an SmtpMailer, described in the send plan."""
    setup = setup_for(tmp_path, store, SmtpSettings(host="mail.example.org", port=2525))
    built = open_mailer(setup.config, {})
    assert isinstance(built, SmtpMailer)
    assert built.envelope_from == "roundup@example.org"
    assert describe_route(setup.config) == " via mail.example.org:2525 (starttls)"


def test_every_backend_in_the_table_offers_what_the_seam_needs() -> None:
    """Each listed module has from_config and describe: adding one is one module + a line."""
    import importlib

    for name, module_name in mailer_module.BACKENDS.items():
        module = importlib.import_module(module_name)
        assert callable(module.from_config) and callable(module.describe), name


def test_no_smtp_section_is_a_clear_error(tmp_path: Path, store: Store) -> None:
    """Without a backend's settings, open_mailer says what to add."""
    setup = setup_for(tmp_path, store, None, to=("list@example.org",))
    with pytest.raises(SendError, match=r"feeds\.yaml: no smtp: section"):
        open_mailer(setup.config, {})


class WatchingMailer(MaildirMailer):
    """Reads the ledger through its own connection right after each handover, as another
    process would see it; ``unsure`` gets no answer (the copy went out, nothing came back)."""

    def __init__(self, folder: Path, state: Path, *, unsure: str) -> None:
        super().__init__(folder)
        self.state = state
        self.unsure = unsure
        self.seen: dict[str, tuple[str, str] | None] = {}

    def send(self, recipient: str, message: bytes, on_handover: Callable[[], None]) -> Outcome:
        on_handover()
        with Store.open(self.state) as other:
            self.seen[recipient] = other.deliveries(WEEK).get(recipient)
        if recipient == self.unsure:
            return Outcome(UNCERTAIN, "the line went quiet")
        return super().send(recipient, message, lambda: None)


def test_in_flight_is_committed_before_the_handover_and_uncertain_is_final(
    tmp_path: Path, store: Store
) -> None:
    """Every recipient is in the ledger as in flight, visible to another connection, before
    their copy leaves; an uncertain outcome is recorded and never retried on its own."""
    backend = WatchingMailer(tmp_path / "Maildir", tmp_path / "state.sqlite3", unsure=PEOPLE[2])

    def send() -> SendReport:
        return send_through(tmp_path, store, backend)

    first = send()
    assert backend.seen == {who: ("in_flight", "") for who in PEOPLE}
    assert first.uncertain == ((PEOPLE[2], "the line went quiet"),)
    assert first.finished and not first.complete and backend.resets == 1
    assert store.deliveries(WEEK)[PEOPLE[2]] == ("uncertain", "the line went quiet")
    second = send()
    assert second.accepted == () and second.uncertain == first.uncertain
    assert backend.delivered_to() == sorted(set(PEOPLE) - {PEOPLE[2]})


def test_each_list_engine_names_its_one_ledger_entry(tmp_path: Path) -> None:
    """A list engine gets one delivery per issue, recorded under its destination; SMTP none."""
    config = make_config(tmp_path, None, to=("list@example.org",))
    assert set(mailer_module.BACKENDS) >= mailer_module.LIST_ENGINES
    assert mailer_module.destination(config) is None
    engines = replace(
        config,
        mailman=MailmanSettings("http://127.0.0.1:8001/3.1", "News <News@Lists.example.org>"),
        listmonk=ListmonkSettings("https://lm.example.org", (3, 4)),
        buttondown=ButtondownSettings(),
    )
    expected = {
        "mailman": "news@lists.example.org",
        "listmonk": "listmonk:lists=3,4",
        "buttondown": "buttondown",
    }
    for via, target in expected.items():
        assert mailer_module.destination(replace(engines, via=via)) == target
