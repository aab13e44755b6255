"""The send ledger: an issue goes to each recipient at most once, through any :class:`Mailer`.

Each recipient gets their own copy (their own unsubscribe token); for list addresses
(``newsletter.to``) each list address gets one; a list engine (``delivery.via`` mailman,
listmonk or buttondown) gets one delivery of the issue, recorded under its one
:func:`~roundup.mailer.destination`. The delivery ledger in the store holds one
row per recipient of the week, in one of four states:

- no row: *pending*, the copy is due (never tried, or certainly not delivered yet);
- ``in_flight``: written and committed right before the copy is handed over (the mailer's
  ``on_handover``), replaced by the outcome as soon as it is known;
- ``accepted`` or ``refused`` (a permanent refusal): final, unless ``force``;
- ``uncertain``: the copy went out but no answer came back (a lost connection, a reply that
  never came, or a process that died with the row still in flight), so the recipient may
  have it. Never sent again on its own: ``retry_uncertain=True`` does that on purpose.

Transitions: pending → in_flight → accepted | refused | uncertain, or back to pending when
the server answers that it did not take the copy; an in_flight row found when a send starts
(the caller holds the run lock, so its process is dead) → uncertain; uncertain → pending
with ``retry_uncertain``; everything → pending with ``force``. For a list engine that can be
asked what was delivered (``SELF_CHECKING``: listmonk, Buttondown), in_flight and uncertain
rows go back to pending at the start of a send: its mailer looks the issue up before acting.
A second ``send`` of the same issue therefore sends nothing more, and one killed at any
moment resumes without sending anyone a second copy and without losing anyone.

One recipient's fault never stops the others: after a failure the mailer reconnects and
the send goes on. Temporary failures (4xx, a dropped or timed-out connection before the
handover) are not retried on the spot but in up to :data:`PASSES` - 1 later passes over
whoever is left; a pass starts no sooner than :data:`PASS_PAUSES` after the try of the
first one it retries. Only a server that cannot be reached at all for
:data:`UNREACHABLE_IN_A_ROW` recipients in a row ends a pass early. No attempt starts after
:data:`SEND_BUDGET` (plus the pacing ``smtp.rate_per_minute`` asks for); whoever is left
stays pending for the next run. When no recipient is pending, the issue is marked sent and
its links are remembered so later issues skip them.
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
from roundup.mailer import (
    ACCEPTED,
    PENDING,
    REFUSED,
    SELF_CHECKING,
    UNCERTAIN,
    Mailer,
    Outcome,
    describe_route,
    destination,
)
from roundup.message import (
    TEST_PREFIX,
    UNDISCLOSED,
    list_id,
    personalize,
    test_copy,
    unsubscribe_token,
)
from roundup.models import Draft
from roundup.recipients import Recipient, RecipientList, is_address, load_recipients
from roundup.store import Store

MailerFactory = Callable[[], Mailer]

SECRET_ENV = "ROUNDUP_SECRET"
IN_FLIGHT = "in_flight"  # the ledger's own state; the other three are outcomes
PASSES = 3  # the first pass over everyone, then two over whoever was temporarily refused
# Seconds between a recipient's 1st and 2nd try, and 2nd and 3rd (a pass over a long list
# may take that long by itself). Short: they catch a server that was busy for a moment;
# greylisting wants minutes, and the next cron run is there for that.
PASS_PAUSES = (5.0, 30.0)
UNREACHABLE_IN_A_ROW = 3  # recipients for whom the server could not be reached: pass ends
# No attempt starts after this many seconds, so a send through a server that answers
# slowly or hangs always ends, well before the next hourly cron run.
SEND_BUDGET = 30 * 60.0
INTERRUPTED = "an earlier send stopped while handing over this copy"


@dataclass(frozen=True, slots=True)
class SendReport:
    """What one ``send`` did. In a dry run, ``accepted`` lists who *would* be sent to."""

    week: str
    accepted: tuple[str, ...]  # this run
    refused: tuple[tuple[str, str], ...]  # (recipient, server's reply): permanent, recorded
    skipped: tuple[str, ...]  # accepted by an earlier run (the ledger)
    pending: tuple[str, ...]  # not reached this run: temporary failures, out of passes or time
    dry_run: bool = False
    notes: tuple[str, ...] = ()  # why recipients are pending, in words
    uncertain: tuple[tuple[str, str], ...] = ()  # (recipient, what happened): may have it
    warnings: tuple[str, ...] = ()  # subscriber rows left out, naming file and line

    @property
    def complete(self) -> bool:
        """Every recipient surely has the issue: none refused, pending or uncertain."""
        return not self.refused and not self.pending and not self.uncertain

    @property
    def finished(self) -> bool:
        """Nothing left to try on its own: every recipient accepted, refused or uncertain."""
        return not self.pending


def describe_send(
    *,
    draft: Draft,
    config: Config,
    store: Store,
    force: bool = False,
    dry_run: bool = False,
    test_to: str | None = None,
    retry_uncertain: bool = False,
) -> str:
    """What :func:`send_issue` with the same arguments is about to do, in one paragraph."""
    issue = f"{draft.week} (issue {draft.number}, “{draft.subject}”)"
    verb = "Would send" if dry_run else "Sending"
    if test_to is not None:
        return (
            f"{verb} one test copy of {issue} to {test_to}, subject prefixed {TEST_PREFIX!r};"
            " the delivery ledger is left alone."
        )
    ledger = {} if force else store.deliveries(draft.week)
    if config.via in SELF_CHECKING:
        ledger = {a: row for a, row in ledger.items() if row[0] not in (IN_FLIGHT, UNCERTAIN)}
    status = [_state(ledger, r.address) for r in recipients_of(config).recipients]
    todo = sum(1 for s in status if _is_due(s, retry_uncertain))
    lines = [f"{verb} {issue} to {_count(todo, 'recipient')}{describe_route(config)}."]
    if force and not dry_run:
        known = len(store.deliveries(draft.week))
        lines.append(
            f"--force: first forgetting the {_count(known, 'recorded delivery')} of"
            f" {draft.week}, so everyone gets it again."
        )
    done, refused, unsure = (status.count(s) for s in (ACCEPTED, REFUSED, UNCERTAIN))
    if done:
        lines.append(f"{_count(done, 'recipient')} already received it and will be skipped.")
    if refused:
        lines.append(f"{_count(refused, 'recipient')} refused it earlier (use --force to retry).")
    if unsure and retry_uncertain:
        lines.append(
            f"--retry-uncertain: including {_count(unsure, 'recipient')} whose earlier copy"
            " may have arrived (they may get a second one)."
        )
    elif unsure:
        lines.append(
            f"{_count(unsure, 'recipient')} may already have it (an earlier outcome is"
            " unknown) and will be left out (use --retry-uncertain to send to them)."
        )
    if dry_run:
        lines.append("Dry run: nothing is sent or recorded.")
    return " ".join(lines)


def format_report(report: SendReport) -> str:
    """The report as the CLI prints it: one line per kind of outcome."""
    head = "Dry run for" if report.dry_run else "Sent"
    verb = "would go to" if report.dry_run else "accepted for"
    lines = [f"{head} {report.week}: {verb} {_count(len(report.accepted), 'recipient')}."]
    lines.extend(report.warnings)
    if report.skipped:
        lines.append(f"Skipped {_count(len(report.skipped), 'recipient')} who already had it.")
    lines.extend(f"Refused: {who}: {reason}" for who, reason in report.refused)
    lines.extend(f"Uncertain: {who}: {what}" for who, what in report.uncertain)
    if report.uncertain:
        lines.append(
            f"Uncertain: {_count(len(report.uncertain), 'recipient')} may or may not have"
            " it, so roundup will not send to them again on its own. Ask them, or run"
            f" `roundup send --week {report.week} --retry-uncertain` to send them a copy"
            " (a second one for whoever already has it)."
        )
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
    retry_uncertain: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    budget: float = SEND_BUDGET,
    approved: bool = True,
) -> SendReport:
    """Send ``message`` (from :func:`~roundup.message.build_message`) for ``draft``'s week.

    ``connect`` makes the :class:`Mailer` (called only when something is to be sent, so a
    dry run needs no server or login). The caller holds the run lock, so an ``in_flight``
    row found here was left by a process that died. ``sleep`` and ``clock`` (seconds) pace
    the passes and bound the send to ``budget`` seconds. Raises :class:`SendError` before
    sending anything when the issue has no items, is not approved while
    ``newsletter.require_approval`` is on, or the mailer is not usable.
    """
    _check_sendable(draft, config, approved=approved or test_to is not None)
    if not dry_run and not secret:
        raise SendError(
            f"${SECRET_ENV} is not set: set it to a long random string; it signs the"
            " unsubscribe links (keep it the same from one issue to the next)"
        )
    if test_to is not None:
        if destination(config) is not None:
            raise SendError(test_copy_problem(config))
        return _send_test(message, draft, config, secret, test_to, dry_run, connect)
    listed = recipients_of(config)
    if dry_run:
        ledger = {} if force else store.deliveries(draft.week)
        retry = retry_uncertain or config.via in SELF_CHECKING
        return _plan_report(draft.week, listed, ledger, dry_run=True, retry=retry)
    mailer = connect()
    if force:
        store.clear_deliveries(draft.week)
    if config.via in SELF_CHECKING:
        notes = _recheck(store, draft.week, config.via)
    else:
        notes = _interrupted_note(
            store.change_deliveries(draft.week, status=IN_FLIGHT, to=UNCERTAIN, detail=INTERRUPTED)
        )
    ledger = store.deliveries(draft.week)
    plan = _plan_report(draft.week, listed, ledger, dry_run=False, retry=retry_uncertain)
    due = set(plan.accepted)
    todo = [r for r in listed.recipients if r.address in due]
    timing = _Timing(sleep, clock, _interval(config), budget + _interval(config) * len(todo))
    run = _Run(draft.week, message, config, store, now, secret, mailer, timing)
    try:
        run.send_all(todo)
    finally:
        mailer.close()
    report = replace(
        plan,
        accepted=tuple(run.accepted),
        refused=(*plan.refused, *run.refused),
        uncertain=(*plan.uncertain, *run.uncertain),
        pending=tuple(run.pending),
        notes=(*notes, *run.notes),
    )
    issue = store.issue(draft.week)
    settled = run.accepted or run.refused or run.uncertain
    if report.finished and (settled or issue is None or not issue.sent):
        store.mark_sent(draft.week, _item_urls(draft), at=now())
    return report


# --- checks and the plan ---------------------------------------------------------------


def test_copy_problem(config: Config) -> str:
    """Why ``--test-to`` cannot go through a list engine: it would reach the whole list."""
    return (
        f"--test-to sends one copy over SMTP, but delivery.via is {config.via}:"
        f" send the test from {config.via} itself, or post to a test list"
    )


def recipients_of(config: Config) -> RecipientList:
    """Who the ledger tracks: each address for SMTP, the one destination of a list engine."""
    target = destination(config)
    if target is None:
        return load_recipients(config)
    return RecipientList((Recipient(target, target if is_address(target) else UNDISCLOSED),))


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


def _state(ledger: Mapping[str, tuple[str, str]], address: str) -> str:
    """The recipient's state as a send about to start sees it: in flight means uncertain
    (the process that marked it is gone), no row means pending ("")."""
    return _row(ledger, address)[0]


def _row(ledger: Mapping[str, tuple[str, str]], address: str) -> tuple[str, str]:
    """(state, detail) as :func:`_state` sees them."""
    state, detail = ledger.get(address, ("", ""))
    return (UNCERTAIN, INTERRUPTED) if state == IN_FLIGHT else (state, detail)


def _is_due(state: str, retry_uncertain: bool) -> bool:
    return state not in (ACCEPTED, REFUSED, UNCERTAIN) or (retry_uncertain and state == UNCERTAIN)


def _plan_report(
    week: str,
    listed: RecipientList,
    ledger: Mapping[str, tuple[str, str]],
    *,
    dry_run: bool,
    retry: bool,
) -> SendReport:
    """Split the recipients by the ledger: ``accepted`` holds those still to send to."""
    rows = [(r.address, *_row(ledger, r.address)) for r in listed.recipients]
    return SendReport(
        week=week,
        accepted=tuple(a for a, s, _d in rows if _is_due(s, retry)),
        refused=tuple((a, d) for a, s, d in rows if s == REFUSED),
        skipped=tuple(a for a, s, _d in rows if s == ACCEPTED),
        pending=(),
        dry_run=dry_run,
        uncertain=tuple((a, d) for a, s, d in rows if s == UNCERTAIN and not retry),
        warnings=listed.skipped,
    )


def _recheck(store: Store, week: str, via: str) -> tuple[str, ...]:
    """Make a self-checking engine's unknown outcome due again: its mailer looks up what
    the earlier attempt did before doing anything (see ``SELF_CHECKING``)."""
    unknown = [a for a, (s, _d) in store.deliveries(week).items() if s in (IN_FLIGHT, UNCERTAIN)]
    if not unknown:
        return ()
    store.forget_deliveries(week, unknown)
    return (
        f"Rechecked: the outcome of an earlier delivery was unknown; {via}'s own record"
        " was asked before anything was sent again.",
    )


def _interrupted_note(recipients: Sequence[str]) -> tuple[str, ...]:
    if not recipients:
        return ()
    return (
        f"Interrupted: {_count(len(recipients), 'recipient')} {_were(len(recipients))} in"
        " flight when an earlier send stopped (killed or crashed): recorded as uncertain.",
    )


def _item_urls(draft: Draft) -> list[str]:
    return [item.key for item in draft.items if item.key.startswith(("http://", "https://"))]


def _interval(config: Config) -> float:
    """Seconds between two attempts, as ``smtp.rate_per_minute`` asks (0: no pacing)."""
    rate = config.smtp.rate_per_minute if config.smtp else 0
    return 60.0 / rate if rate else 0.0


# --- the test copy ----------------------------------------------------------------------


def _send_test(
    message: EmailMessage,
    draft: Draft,
    config: Config,
    secret: str,
    test_to: str,
    dry_run: bool,
    connect: MailerFactory,
) -> SendReport:
    """One attempt, outside the ledger: a reviewer who got nothing just asks again."""
    address = parseaddr(test_to)[1]
    if not is_address(address):
        raise SendError(f"--test-to: '{test_to}' is not an email address")
    report = SendReport(draft.week, (address,), (), (), (), dry_run=dry_run)
    if dry_run:
        return report
    copy = test_copy(
        _personal(message, Recipient(address, test_to), config, secret), draft=draft, config=config
    )
    mailer = connect()
    try:
        outcome = mailer.send(address, copy.as_bytes(), lambda: None)
    finally:
        mailer.close()
    if outcome.status == ACCEPTED:
        return report
    if outcome.status == REFUSED:
        return replace(report, accepted=(), refused=((address, outcome.detail),))
    maybe = "; the copy may have arrived" if outcome.status == UNCERTAIN else ""
    return replace(report, accepted=(), pending=(address,), notes=(outcome.detail + maybe,))


def _personal(
    message: EmailMessage, recipient: Recipient, config: Config, secret: str
) -> EmailMessage:
    token = unsubscribe_token(secret, list_id(config), recipient.address)
    return personalize(message, recipient=recipient.to, token=token)


# --- delivering ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Timing:
    """How a send is paced and bounded: seconds, as ``sleep`` and ``clock`` count them."""

    sleep: Callable[[float], None]
    clock: Callable[[], float]
    interval: float  # between two attempts (smtp.rate_per_minute)
    budget: float  # no attempt starts later than this after the start
    start: float = float("nan")

    def begin(self) -> None:
        self.start = self.clock()

    def left(self) -> float:
        """Seconds of the budget that remain."""
        return self.start + self.budget - self.clock()


class _Run:
    """The passes over the recipients still to send to, recording each outcome as it comes."""

    def __init__(
        self,
        week: str,
        message: EmailMessage,
        config: Config,
        store: Store,
        now: Callable[[], datetime],
        secret: str,
        mailer: Mailer,
        timing: _Timing,
    ) -> None:
        self.week, self.message, self.config, self.store = week, message, config, store
        self.now, self.secret, self.mailer, self.timing = now, secret, mailer, timing
        self.attempts = 0
        self.accepted: list[str] = []
        self.refused: list[tuple[str, str]] = []
        self.uncertain: list[tuple[str, str]] = []
        self.pending: list[str] = []
        self.notes: list[str] = []
        self.why: dict[str, str] = {}  # pending recipient -> their last temporary failure
        self.unreachable = ""  # why the last pass ended early, if the server was out of reach
        self.first_failure = 0.0  # when the first one the last pass left pending was tried
        self.out_of_time = False

    def send_all(self, recipients: Sequence[Recipient]) -> None:
        """Up to :data:`PASSES` passes, each over whoever the one before left pending."""
        left = list(recipients)
        self.timing.begin()
        for number in range(PASSES):
            if not left or (number and not self.pause(PASS_PAUSES[number - 1])):
                break
            left = self.one_pass(left)
            if self.out_of_time:
                break
        self.pending = [r.address for r in left]
        self.notes = self.stop_notes(len(left)) + [
            f"Pending: {who}: {self.why[who]}" for who in self.pending if who in self.why
        ]

    def one_pass(self, recipients: Sequence[Recipient]) -> list[Recipient]:
        """Try each recipient once; returns those still pending, in order."""
        left: list[Recipient] = []
        in_a_row = 0
        self.unreachable = ""
        for index, recipient in enumerate(recipients):
            if self.timing.left() <= 0:
                self.out_of_time = True
                return left + list(recipients[index:])
            outcome = self.send_one(recipient)
            if outcome.status != PENDING:
                in_a_row = 0
                continue
            if not left:
                self.first_failure = self.timing.clock()
            left.append(recipient)
            in_a_row = in_a_row + 1 if outcome.unreachable else 0
            if in_a_row >= UNREACHABLE_IN_A_ROW:
                self.unreachable = outcome.detail
                return left + list(recipients[index + 1 :])
        return left

    def pause(self, gap: float) -> bool:
        """Wait until the first one left pending was tried ``gap`` seconds ago (a long pass
        has waited enough), unless that would end past the budget."""
        wait = gap - (self.timing.clock() - self.first_failure)
        if wait <= 0:
            return True
        if self.timing.left() <= wait:
            self.out_of_time = True
            return False
        self.timing.sleep(wait)
        return True

    def send_one(self, recipient: Recipient) -> Outcome:
        """One attempt for one recipient, its outcome recorded before the next one starts."""
        if self.attempts and self.timing.interval:
            self.timing.sleep(self.timing.interval)
        self.attempts += 1
        address = recipient.address
        data = _personal(self.message, recipient, self.config, self.secret).as_bytes()
        handed_over: list[bool] = []

        def mark_in_flight() -> None:
            # Committed before the copy leaves: if this process dies from here on, the next
            # send finds the row and reports the recipient instead of sending again.
            self.store.record_delivery(
                self.week, [address], status=IN_FLIGHT, detail="", at=self.now()
            )
            handed_over.append(True)

        outcome = self.mailer.send(address, data, mark_in_flight)
        if outcome.status in (ACCEPTED, REFUSED, UNCERTAIN):
            self.store.record_delivery(
                self.week, [address], status=outcome.status, detail=outcome.detail, at=self.now()
            )
        elif handed_over:  # the server said it did not take the copy: due again
            self.store.forget_deliveries(self.week, [address])
        if outcome.status not in (ACCEPTED, REFUSED):
            self.mailer.reset()
        self.tally(address, outcome)
        return outcome

    def tally(self, address: str, outcome: Outcome) -> None:
        if outcome.status == ACCEPTED:
            self.accepted.append(address)
        elif outcome.status == REFUSED:
            self.refused.append((address, outcome.detail))
        elif outcome.status == UNCERTAIN:
            self.uncertain.append((address, outcome.detail))
        else:
            self.why[address] = outcome.detail

    def stop_notes(self, left: int) -> list[str]:
        """Why the last pass ended before everyone was tried, if it did."""
        notes = []
        if self.unreachable:
            notes.append(
                f"Stopped: the mail server could not be reached ({self.unreachable}) for"
                f" {UNREACHABLE_IN_A_ROW} recipients in a row; {_count(left, 'recipient')}"
                " left pending."
            )
        if self.out_of_time:
            notes.append(
                f"Stopped: the send used up its time ({_duration(self.timing.budget)});"
                f" {_count(left, 'recipient')} left pending for the next run."
            )
        return notes


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {plural}"


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} s"


def _were(n: int) -> str:
    return "was" if n == 1 else "were"
