"""Send an issue by SMTP, exactly once per recipient.

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

The one gap SMTP itself leaves: if the connection drops after the message data went out
but before the server's reply came back, the retry may deliver a second copy.
"""

from __future__ import annotations

import csv
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, getaddresses, parseaddr
from pathlib import Path

from roundup.config import Config, SmtpSettings
from roundup.errors import SendError
from roundup.message import list_id, personalize, unsubscribe_token
from roundup.models import Draft
from roundup.store import Store

SECRET_ENV = "ROUNDUP_SECRET"
RETRY_DELAYS = (1.0, 2.0, 4.0)  # seconds before the 2nd, 3rd and 4th attempt
TEST_PREFIX = "[TEST] "
ACCEPTED = "accepted"
REFUSED = "refused"

SmtpFactory = Callable[[SmtpSettings], smtplib.SMTP]
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str  # the bare address: the envelope recipient and the ledger's key
    to: str  # the To header: the address with its display name, if any


def recipients_for(config: Config) -> list[str]:
    """The bare addresses to send to: ``newsletter.to``, else the ``smtp.subscribers`` CSV."""
    return [recipient.address for recipient in _recipients(config)]


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
    recipients = [r.address for r in _recipients(config)]
    ledger = {} if force else store.deliveries(draft.week)
    todo = [r for r in recipients if r not in ledger]
    lines = [f"{verb} {issue} to {_count(len(todo), 'recipient')}{_via(config)}."]
    if force and not dry_run:
        known = len(store.deliveries(draft.week))
        lines.append(
            f"--force: first forgetting the {_count(known, 'recorded delivery')} of"
            f" {draft.week}, so everyone gets it again."
        )
    done = sum(1 for r in recipients if ledger.get(r, ("",))[0] == ACCEPTED)
    refused = sum(1 for r in recipients if ledger.get(r, ("",))[0] == REFUSED)
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
    force: bool = False,
    dry_run: bool = False,
    test_to: str | None = None,
    smtp_factory: SmtpFactory | None = None,
    sleep: Callable[[float], None] = time.sleep,
    environ: Mapping[str, str] = os.environ,
    approved: bool = True,
) -> SendReport:
    """Send ``message`` (from :func:`~roundup.message.build_message`) for ``draft``'s week.

    Raises :class:`SendError` before sending anything when the issue has no items, is not
    approved while ``newsletter.require_approval`` is on, or SMTP is not usable.
    """
    _check_sendable(draft, config, approved=approved or test_to is not None)
    if not dry_run and not secret:
        raise SendError(
            f"${SECRET_ENV} is not set: set it to a long random string; it signs the"
            " unsubscribe links (keep it the same from one issue to the next)"
        )
    if test_to is not None:
        return _send_test(
            message, draft, config, secret, test_to, dry_run, smtp_factory, sleep, environ
        )
    recipients = _recipients(config)
    if dry_run:
        ledger = {} if force else store.deliveries(draft.week)
        return _plan_report(draft.week, recipients, ledger, dry_run=True)
    mailer = _mailer(config, smtp_factory, environ)
    if force:
        store.clear_deliveries(draft.week)
    ledger = store.deliveries(draft.week)
    plan = _plan_report(draft.week, recipients, ledger, dry_run=False)
    todo = [r for r in recipients if r.address in plan.accepted]
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
    if report.finished and (run.accepted or run.refused or issue is None or not issue.sent_at):
        store.mark_sent(draft.week, _item_urls(draft), at=now())
    return report


# --- checks and recipients ------------------------------------------------------------


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


def _recipients(config: Config) -> list[Recipient]:
    if config.newsletter.to:
        pairs = ((addr, text) for text in config.newsletter.to for _n, addr in getaddresses([text]))
        return _unique(Recipient(addr, text) for addr, text in pairs)
    path = config.smtp.subscribers if config.smtp else None
    if path is None:
        raise SendError(
            f"{config.path}: no recipients: set newsletter.to (list addresses) or"
            " smtp.subscribers (a CSV file with an email column)"
        )
    recipients = _read_subscribers(path)
    if not recipients:
        raise SendError(f"{path}: no subscribers in it: nothing to send")
    return recipients


def _read_subscribers(path: Path) -> list[Recipient]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _unique(_parse_subscribers(path, csv.DictReader(handle, strict=True)))
    except FileNotFoundError:
        raise SendError(f"{path}: no such file (smtp.subscribers in feeds.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SendError(f"{path}: cannot read the subscribers file ({exc})") from None


def _parse_subscribers(path: Path, reader: csv.DictReader[str]) -> list[Recipient]:
    result: list[Recipient] = []
    try:
        columns = {name.strip().lower(): name for name in reader.fieldnames or () if name}
        if "email" not in columns:
            raise SendError(
                f"{path}:1: no 'email' column (the first line names the columns, e.g. email,name)"
            )
        for row in reader:
            raw = (row.get(columns["email"]) or "").strip()
            if not raw:
                continue
            name, address = parseaddr(raw)
            if not address.isascii() or not _ADDRESS.match(address) or "," in raw:
                raise SendError(f"{path}:{reader.line_num}: '{raw}' is not an email address")
            display = (row.get(columns["name"]) or "").strip() if "name" in columns else name
            result.append(Recipient(address, formataddr((display, address))))
    except csv.Error as exc:
        raise SendError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    return result


def _unique(recipients: Iterable[Recipient]) -> list[Recipient]:
    seen: set[str] = set()
    result = []
    for recipient in recipients:
        key = recipient.address.casefold()
        if key not in seen:
            seen.add(key)
            result.append(recipient)
    return result


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
    smtp_factory: SmtpFactory | None,
    sleep: Callable[[float], None],
    environ: Mapping[str, str],
) -> SendReport:
    address = parseaddr(test_to)[1]
    if not _ADDRESS.match(address) or not address.isascii():
        raise SendError(f"--test-to: '{test_to}' is not an email address")
    report = SendReport(draft.week, (address,), (), (), (), dry_run=dry_run)
    if dry_run:
        return report
    copy = _personal(message, Recipient(address, test_to), config, secret)
    copy.replace_header("Subject", TEST_PREFIX + str(copy["Subject"]))
    mailer = _mailer(config, smtp_factory, environ)
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


# --- the SMTP connection ------------------------------------------------------------------


class _Mailer:
    """One lazily opened SMTP connection, renewed every ``batch_size`` messages."""

    def __init__(
        self,
        settings: SmtpSettings,
        factory: SmtpFactory,
        login: tuple[str, str] | None,
        envelope_from: str,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.login = login
        self.envelope_from = envelope_from
        self.smtp: smtplib.SMTP | None = None
        self.sent = 0  # on this connection

    def send(self, recipient: str, data: bytes) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
            self.sent = 0
        self.smtp.sendmail(self.envelope_from, [recipient], data)
        self.sent += 1
        if self.sent >= self.settings.batch_size:
            self.close()

    def _connect(self) -> smtplib.SMTP:
        smtp = self.factory(self.settings)
        try:
            if self.settings.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.login is not None:
                smtp.login(*self.login)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        """Say QUIT politely; a connection that is already gone is just dropped."""
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()

    def drop(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            smtp.close()


def default_smtp_factory(settings: SmtpSettings) -> smtplib.SMTP:
    """Connect as ``smtp.security`` says: implicit TLS for ``tls``, plain otherwise."""
    if settings.security == "tls":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)


def _mailer(config: Config, factory: SmtpFactory | None, environ: Mapping[str, str]) -> _Mailer:
    settings = config.smtp
    if settings is None:
        raise SendError(f"{config.path}: no smtp: section; add one with at least smtp.host to send")
    envelope_from = parseaddr(config.newsletter.from_addr)[1]
    return _Mailer(
        settings, factory or default_smtp_factory, _credentials(settings, environ), envelope_from
    )


def _credentials(settings: SmtpSettings, environ: Mapping[str, str]) -> tuple[str, str] | None:
    if not settings.username_env and not settings.password_env:
        return None
    if not settings.username_env or not settings.password_env:
        missing = "username_env" if not settings.username_env else "password_env"
        raise SendError(f"smtp.{missing} is not set: name both variables, or neither")
    values = []
    for name in (settings.username_env, settings.password_env):
        value = environ.get(name)
        if not value:
            raise SendError(f"${name} is not set (feeds.yaml names it for the SMTP login)")
        values.append(value)
    return values[0], values[1]


# --- delivering ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: str  # accepted | refused | pending
    detail: str = ""  # the server's reply, or what went wrong
    unreachable: bool = False  # the server itself could not be reached (not this recipient)


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
        mailer: _Mailer,
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
                    f"Stopped: the SMTP server could not be reached ({outcome.detail});"
                    f" {_count(len(rest) + 1, 'recipient')} left pending."
                )
                return

    def send_one(self, recipient: Recipient) -> _Outcome:
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
    mailer: _Mailer, recipient: str, data: bytes, sleep: Callable[[float], None]
) -> _Outcome:
    """Send one copy, retrying temporary failures; raise :class:`SendError` on fatal ones."""
    outcome = _Outcome("pending")
    for delay in (*RETRY_DELAYS, None):
        outcome = _attempt(mailer, recipient, data)
        if outcome.status != "pending":
            return outcome
        mailer.drop()
        if delay is not None:
            sleep(delay)
    return outcome


def _attempt(mailer: _Mailer, recipient: str, data: bytes) -> _Outcome:
    try:
        mailer.send(recipient, data)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = exc.recipients.get(recipient, (450, b"refused"))
        return _by_code(code, text)
    except smtplib.SMTPDataError as exc:
        return _by_code(exc.smtp_code, exc.smtp_error)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(
            f"{_server(mailer)}: login refused ({_reply(exc.smtp_code, exc.smtp_error)});"
            f" check the variables named by smtp.username_env and smtp.password_env"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(
            f"{_server(mailer)}: {exc}; check smtp.security (none, starttls or tls)"
        ) from None
    except smtplib.SMTPServerDisconnected as exc:
        return _Outcome("pending", f"connection lost: {exc or 'no reason given'}", True)
    except smtplib.SMTPConnectError as exc:  # the greeting was not 220: try again later
        return _Outcome("pending", _reply(exc.smtp_code, exc.smtp_error), True)
    except smtplib.SMTPSenderRefused as exc:
        if exc.smtp_code < 500:
            return _Outcome("pending", _reply(exc.smtp_code, exc.smtp_error), True)
        raise SendError(
            f"{_server(mailer)}: refused the sender {exc.sender}"
            f" ({_reply(exc.smtp_code, exc.smtp_error)}); check newsletter.from"
        ) from None
    except smtplib.SMTPResponseException as exc:  # EHLO, STARTTLS...
        if exc.smtp_code < 500:
            return _Outcome("pending", _reply(exc.smtp_code, exc.smtp_error), True)
        raise SendError(
            f"{_server(mailer)}: refused ({_reply(exc.smtp_code, exc.smtp_error)})"
        ) from None
    except ssl.SSLError as exc:
        raise SendError(f"{_server(mailer)}: TLS failed ({exc}); check smtp.security") from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, no route
        return _Outcome("pending", f"{type(exc).__name__}: {exc}", True)
    return _Outcome(ACCEPTED)


def _by_code(code: int, text: bytes | str) -> _Outcome:
    """A reply about this recipient's copy: 5xx refuses it, anything else is worth a retry."""
    if code >= 500:
        return _Outcome(REFUSED, _reply(code, text))
    return _Outcome("pending", _reply(code, text))


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}".strip()


def _server(mailer: _Mailer) -> str:
    return f"{mailer.settings.host}:{mailer.settings.port}"


def _via(config: Config) -> str:
    if config.smtp is None:
        return ""
    return f" via {config.smtp.host}:{config.smtp.port} ({config.smtp.security})"


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {plural}"
