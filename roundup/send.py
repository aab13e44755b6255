"""The send ledger: an issue goes to each recipient exactly once, through any :class:`Mailer`.

Each recipient gets their own copy (their own unsubscribe token); for list addresses
(``newsletter.to``) each list address gets one. The delivery ledger in the store records
a recipient the moment the server accepts their copy, so a second ``send`` of the same
issue sends nothing more, an interrupted one resumes with the recipients not yet
accepted, and only ``force=True`` (which first forgets the week's ledger) sends it again.

Temporary failures (4xx, a dropped or refused connection, a timeout) are retried with
backoff through the injected ``sleep``, reconnecting as needed; a recipient still failing
is left *pending* (not recorded) for the next run. A permanent refusal (5xx) is recorded as
``refused`` with the server's reply and not retried unless forced. When no recipient is
pending, the issue is marked sent and its links are remembered so later issues skip them.

The ledger knows nothing of SMTP: it talks to a :class:`~roundup.mailer.Mailer`. The one gap
a mail protocol itself leaves: if the connection drops after the message data went out but
before the server's reply came back, the retry may deliver a second copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr

from roundup.config import Config
from roundup.errors import SendError
from roundup.mailer import ACCEPTED, PENDING, REFUSED, Mailer, Outcome, describe_route
from roundup.message import list_id, personalize, unsubscribe_token
from roundup.models import Draft
from roundup.recipients import Recipient, is_address, recipients
from roundup.store import Store

MailerFactory = Callable[[], Mailer]

SECRET_ENV = "ROUNDUP_SECRET"
RETRY_DELAYS = (1.0, 2.0, 4.0)  # seconds before the 2nd, 3rd and 4th attempt
TEST_PREFIX = "[TEST] "


@dataclass(frozen=True, slots=True)
class SendReport:
    """What one ``send`` did. In a dry run, ``accepted`` lists who *would* be sent to."""

    week: str
    accepted: tuple[str, ...]  # this run
    refused: tuple[tuple[str, str], ...]  # (recipient, server's reply): permanent, recorded
    skipped: tuple[str, ...]  # accepted by an earlier run (the ledger)
    pending: tuple[str, ...]  # not reached this run: temporary failures after retries
    dry_run: bool = False
    notes: tuple[str, ...] = ()  # why recipients are pending, in words

    @property
    def complete(self) -> bool:
        """Every recipient has the issue: none refused, none pending."""
        return not self.refused and not self.pending

    @property
    def finished(self) -> bool:
        """Nothing left to try: every recipient was accepted or refused."""
        return not self.pending


def describe_send(
    *,
    draft: Draft,
    config: Config,
    store: Store,
    force: bool = False,
    dry_run: bool = False,
    test_to: str | None = None,
) -> str:
    """What :func:`send_issue` with the same arguments is about to do, in one paragraph."""
    issue = f"{draft.week} (issue {draft.number}, “{draft.subject}”)"
    verb = "Would send" if dry_run else "Sending"
    if test_to is not None:
        return (
            f"{verb} one test copy of {issue} to {test_to}, subject prefixed {TEST_PREFIX!r};"
            " the delivery ledger is left alone."
        )
    addresses = [r.address for r in recipients(config)]
    ledger = {} if force else store.deliveries(draft.week)
    todo = [r for r in addresses if r not in ledger]
    lines = [f"{verb} {issue} to {_count(len(todo), 'recipient')}{describe_route(config)}."]
    if force and not dry_run:
        known = len(store.deliveries(draft.week))
        lines.append(
            f"--force: first forgetting the {_count(known, 'recorded delivery')} of"
            f" {draft.week}, so everyone gets it again."
        )
    done = sum(1 for r in addresses if ledger.get(r, ("",))[0] == ACCEPTED)
    refused = sum(1 for r in addresses if ledger.get(r, ("",))[0] == REFUSED)
    if done:
        lines.append(f"{_count(done, 'recipient')} already received it and will be skipped.")
    if refused:
        lines.append(f"{_count(refused, 'recipient')} refused it earlier (use --force to retry).")
    if dry_run:
        lines.append("Dry run: nothing is sent or recorded.")
    return " ".join(lines)


def format_report(report: SendReport) -> str:
    """The report as the CLI prints it: one line per kind of outcome."""
    head = "Dry run for" if report.dry_run else "Sent"
    verb = "would go to" if report.dry_run else "accepted for"
    lines = [f"{head} {report.week}: {verb} {_count(len(report.accepted), 'recipient')}."]
    if report.skipped:
        lines.append(f"Skipped {_count(len(report.skipped), 'recipient')} who already had it.")
    lines.extend(f"Refused: {who}: {reason}" for who, reason in report.refused)
    if report.pending:
        lines.append(
            f"Pending: {_count(len(report.pending), 'recipient')} not reached"
            f" ({', '.join(report.pending[:5])}{', …' if len(report.pending) > 5 else ''});"
            f" run `roundup send --week {report.week}` again to retry them."
        )
    lines.extend(report.notes)
    return "\n".join(lines)


def send_issue(
    *,
    message: EmailMessage,
    draft: Draft,
    config: Config,
    store: Store,
    now: Callable[[], datetime],
    secret: str,
    connect: MailerFactory,
    force: bool = False,
    dry_run: bool = False,
    test_to: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    approved: bool = True,
) -> SendReport:
    """Send ``message`` (from :func:`~roundup.message.build_message`) for ``draft``'s week.

    ``connect`` makes the :class:`Mailer` (called only when something is to be sent, so a
    dry run needs no server or login). Raises :class:`SendError` before sending anything
    when the issue has no items, is not approved while ``newsletter.require_approval`` is
    on, or the mailer is not usable.
    """
    _check_sendable(draft, config, approved=approved or test_to is not None)
    if not dry_run and not secret:
        raise SendError(
            f"${SECRET_ENV} is not set: set it to a long random string; it signs the"
            " unsubscribe links (keep it the same from one issue to the next)"
        )
    if test_to is not None:
        return _send_test(message, draft, config, secret, test_to, dry_run, connect, sleep)
    everyone = recipients(config)
    if dry_run:
        ledger = {} if force else store.deliveries(draft.week)
        return _plan_report(draft.week, everyone, ledger, dry_run=True)
    mailer = connect()
    if force:
        store.clear_deliveries(draft.week)
    ledger = store.deliveries(draft.week)
    plan = _plan_report(draft.week, everyone, ledger, dry_run=False)
    todo = [r for r in everyone if r.address in plan.accepted]
    run = _Run(draft.week, message, config, store, now, secret, mailer, sleep)
    try:
        run.send_all(todo)
    finally:
        mailer.close()
    report = replace(
        plan,
        accepted=tuple(run.accepted),
        refused=(*plan.refused, *run.refused),
        pending=tuple(run.pending),
        notes=tuple(run.notes),
    )
    issue = store.issue(draft.week)
    if report.finished and (run.accepted or run.refused or issue is None or not issue.sent):
        store.mark_sent(draft.week, _item_urls(draft), at=now())
    return report


# --- checks --------------------------------------------------------------------------


def _check_sendable(draft: Draft, config: Config, *, approved: bool) -> None:
    if not draft.items:
        raise SendError(
            f"{draft.week} has no items: nothing to send"
            f" (run `roundup draft --week {draft.week}` after fetching)"
        )
    if config.newsletter.require_approval and not approved:
        raise SendError(
            f"{draft.week} is not approved: review it and run `roundup approve --week {draft.week}`"
        )


def _plan_report(
    week: str,
    recipients: Sequence[Recipient],
    ledger: Mapping[str, tuple[str, str]],
    *,
    dry_run: bool,
) -> SendReport:
    """Split ``recipients`` by the ledger: ``accepted`` holds those still to send to."""
    status = {r.address: ledger.get(r.address, ("", "")) for r in recipients}
    return SendReport(
        week=week,
        accepted=tuple(a for a, (s, _d) in status.items() if s not in (ACCEPTED, REFUSED)),
        refused=tuple((a, d) for a, (s, d) in status.items() if s == REFUSED),
        skipped=tuple(a for a, (s, _d) in status.items() if s == ACCEPTED),
        pending=(),
        dry_run=dry_run,
    )


def _item_urls(draft: Draft) -> list[str]:
    return [item.key for item in draft.items if item.key.startswith(("http://", "https://"))]


# --- the test copy ----------------------------------------------------------------------


def _send_test(
    message: EmailMessage,
    draft: Draft,
    config: Config,
    secret: str,
    test_to: str,
    dry_run: bool,
    connect: MailerFactory,
    sleep: Callable[[float], None],
) -> SendReport:
    address = parseaddr(test_to)[1]
    if not is_address(address):
        raise SendError(f"--test-to: '{test_to}' is not an email address")
    report = SendReport(draft.week, (address,), (), (), (), dry_run=dry_run)
    if dry_run:
        return report
    copy = _personal(message, Recipient(address, test_to), config, secret)
    copy.replace_header("Subject", TEST_PREFIX + str(copy["Subject"]))
    mailer = connect()
    try:
        outcome = _deliver(mailer, address, copy.as_bytes(), sleep)
    finally:
        mailer.close()
    if outcome.status == ACCEPTED:
        return report
    if outcome.status == REFUSED:
        return replace(report, accepted=(), refused=((address, outcome.detail),))
    return replace(report, accepted=(), pending=(address,), notes=(outcome.detail,))


def _personal(
    message: EmailMessage, recipient: Recipient, config: Config, secret: str
) -> EmailMessage:
    token = unsubscribe_token(secret, list_id(config), recipient.address)
    return personalize(message, recipient=recipient.to, token=token)


# --- delivering ---------------------------------------------------------------------------


class _Run:
    """One pass over the recipients still to send to, recording each as it goes."""

    def __init__(
        self,
        week: str,
        message: EmailMessage,
        config: Config,
        store: Store,
        now: Callable[[], datetime],
        secret: str,
        mailer: Mailer,
        sleep: Callable[[float], None],
    ) -> None:
        self.week, self.message, self.config, self.store = week, message, config, store
        self.now, self.secret, self.mailer, self.sleep = now, secret, mailer, sleep
        rate = config.smtp.rate_per_minute if config.smtp else 0
        self.interval = 60.0 / rate if rate else 0.0
        self.accepted: list[str] = []
        self.refused: list[tuple[str, str]] = []
        self.pending: list[str] = []
        self.notes: list[str] = []

    def send_all(self, recipients: Sequence[Recipient]) -> None:
        for index, recipient in enumerate(recipients):
            if index and self.interval:
                self.sleep(self.interval)
            outcome = self.send_one(recipient)
            if outcome.unreachable:
                rest = [r.address for r in recipients[index + 1 :]]
                self.pending.extend(rest)
                self.notes.append(
                    f"Stopped: the mail server could not be reached ({outcome.detail});"
                    f" {_count(len(rest) + 1, 'recipient')} left pending."
                )
                return

    def send_one(self, recipient: Recipient) -> Outcome:
        data = _personal(self.message, recipient, self.config, self.secret).as_bytes()
        outcome = _deliver(self.mailer, recipient.address, data, self.sleep)
        if outcome.status in (ACCEPTED, REFUSED):
            self.store.record_delivery(
                self.week,
                [recipient.address],
                status=outcome.status,
                detail=outcome.detail,
                at=self.now(),
            )
        if outcome.status == ACCEPTED:
            self.accepted.append(recipient.address)
        elif outcome.status == REFUSED:
            self.refused.append((recipient.address, outcome.detail))
        else:
            self.pending.append(recipient.address)
            if not outcome.unreachable:
                self.notes.append(f"Pending: {recipient.address}: {outcome.detail}")
        return outcome


def _deliver(
    mailer: Mailer, recipient: str, data: bytes, sleep: Callable[[float], None]
) -> Outcome:
    """Send one copy, retrying temporary failures; raise :class:`SendError` on fatal ones."""
    outcome = Outcome(PENDING)
    for delay in (*RETRY_DELAYS, None):
        outcome = mailer.send(recipient, data)
        if outcome.status != PENDING:
            return outcome
        mailer.reset()
        if delay is not None:
            sleep(delay)
    return outcome


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {plural}"
