"""The delivery seam: a :class:`Mailer` hands one message to one recipient and says how it went.

The send ledger (:mod:`roundup.send`) decides who still needs the issue, retries, and
records each outcome; it knows nothing about the protocol underneath. A backend is one
module that defines a class satisfying :class:`Mailer` and a ``from_config(config,
environ)`` function, listed once in :data:`BACKENDS`; ``delivery.via`` in feeds.yaml picks
one. SMTP (:mod:`roundup.smtp`) sends each recipient their copy. The list engines
(:mod:`roundup.mailman`, :mod:`roundup.listmonk`, :mod:`roundup.buttondown`) own the
subscribers, so an issue is ONE delivery to them: the ledger holds one row, named by the
module's ``destination(config)``, and the mailer receives the issue's message once and
reads what it needs from it (:func:`read_issue`).

Outcomes are four: ``accepted`` (the server took this recipient's copy), ``refused`` (a
permanent refusal of this recipient, not retried), ``pending`` (the copy was certainly not
delivered; worth another try later) and ``uncertain`` (the copy was handed over but no
answer came back, so it may have been delivered; the ledger never retries it on its own).
A ``pending`` outcome with ``unreachable`` set means the server itself could not be
reached (not this recipient's fault), so trying the next recipient now is likely pointless.

The handover is the one moment a backend must report: ``send`` calls its ``on_handover``
argument right before the first step after which the copy may reach the recipient even if
no answer comes back. The ledger marks the recipient *in flight* there, so a process killed
at any moment never leads to a second copy.
"""

from __future__ import annotations

import email
import hashlib
import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

from roundup.config import Config, Newsletter
from roundup.schedule import send_moment
from roundup.week import window_for

Status = Literal["accepted", "refused", "pending", "uncertain"]
ACCEPTED: Status = "accepted"
REFUSED: Status = "refused"
PENDING: Status = "pending"
UNCERTAIN: Status = "uncertain"

# delivery backend name → the module that implements it (imported on first use, so that a
# run that sends nothing never loads smtplib or ssl).
BACKENDS: Mapping[str, str] = {
    "smtp": "roundup.smtp",
    "mailman": "roundup.mailman",
    "listmonk": "roundup.listmonk",
    "buttondown": "roundup.buttondown",
}
DEFAULT_BACKEND = "smtp"
_WEEK = re.compile(r"<roundup\.(\d{4}-W\d{2})\.")  # the week in an issue's Message-ID
# The backends that own the subscribers: one delivery per issue, to the list.
LIST_ENGINES = frozenset({"mailman", "listmonk", "buttondown"})
# The engines whose own records say whether an issue was delivered, and whose mailers look
# there before acting: a delivery left in flight or uncertain is simply tried again (the
# retry finds what the interrupted attempt did). Mailman core cannot be asked that about
# a distributed post, and SMTP never can.
SELF_CHECKING = frozenset({"listmonk", "buttondown"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one attempt to deliver one copy."""

    status: Status
    detail: str = ""  # the server's reply, or what went wrong
    unreachable: bool = False  # the server could not be reached at all (not this recipient)


class Mailer(Protocol):
    """Delivers one message to one recipient per call; opens its connection lazily."""

    def send(self, recipient: str, message: bytes, on_handover: Callable[[], None]) -> Outcome:
        """Make one attempt; raise :class:`~roundup.errors.SendError` only for faults in the
        settings (bad login, TLS refused) that no retry can fix.

        Call ``on_handover()`` once, right before the first step after which the copy may
        reach the recipient even if no answer comes back, and not at all when the attempt
        fails before that. Return ``uncertain`` only after that call, when no answer came;
        ``pending`` only when the copy was certainly not delivered.
        """

    def reset(self) -> None:
        """Forget the connection; the ledger calls it after every outcome that is neither
        ``accepted`` nor ``refused``, and the next send reconnects."""

    def close(self) -> None:
        """End the connection politely, if one is open."""


class Backend(Protocol):
    """What a backend module offers: its :class:`Mailer` built from the configuration."""

    def from_config(self, config: Config, environ: Mapping[str, str]) -> Mailer: ...

    def describe(self, config: Config) -> str: ...


class ListEngine(Backend, Protocol):
    """A backend that delivers the issue once to a list it owns."""

    def destination(self, config: Config) -> str: ...


def backend(config: Config) -> Backend:
    """The module of the backend ``delivery.via`` names."""
    module: Backend = importlib.import_module(BACKENDS[config.via])
    return module


def destination(config: Config) -> str | None:
    """The one ledger entry a list engine's delivery is recorded under (e.g. the Mailman
    list's posting address); ``None`` for SMTP, which records every recipient."""
    if config.via not in LIST_ENGINES:
        return None
    module: ListEngine = importlib.import_module(BACKENDS[config.via])
    return module.destination(config)


@dataclass(frozen=True, slots=True)
class IssueMail:
    """What a list engine takes from the issue's message."""

    message_id: str  # with its angle brackets: the issue's identity
    subject: str
    from_addr: str
    date: datetime
    text: str
    html: str

    @property
    def key(self) -> str:
        """A short stable name for the issue, for tags and idempotency keys: ``roundup-``
        and 24 hex digits of the Message-ID's SHA-256."""
        digest = hashlib.sha256(self.message_id.encode("utf-8")).hexdigest()
        return f"roundup-{digest[:24]}"


def read_issue(data: bytes) -> IssueMail:
    """The parts of ``data`` (a message from :func:`roundup.message.build_message`)."""
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    parts = {"plain": "", "html": ""}
    for kind in parts:
        part = message.get_body(preferencelist=(kind,))
        if part is not None and part.get_content_subtype() == kind:
            parts[kind] = str(part.get_content())
    return IssueMail(
        message_id=str(message["Message-ID"]).strip(),
        subject=str(message["Subject"]),
        from_addr=str(message["From"]),
        date=parsedate_to_datetime(str(message["Date"])),
        text=parts["plain"],
        html=parts["html"],
    )


def open_mailer(config: Config, environ: Mapping[str, str]) -> Mailer:
    """The backend's mailer ``delivery.via`` names; raises :class:`SendError` when it is not
    usable (its block or a credential missing).

    Example: ``mailer = open_mailer(config, os.environ)`` then ``mailer.send(addr, data)``.
    """
    return backend(config).from_config(config, environ)


def describe_route(config: Config) -> str:
    """Where mail goes, for the send plan: e.g. ``" via smtp.example.org:587 (starttls)"``."""
    return backend(config).describe(config)


def scheduled_moment(issue: IssueMail, newsletter: Newsletter) -> datetime | None:
    """When the issue should go out, if ``newsletter.send_at`` is later than the message's
    Date (a send run ahead of time); ``None`` to start at once."""
    match = _WEEK.match(issue.message_id)
    if not newsletter.send_at or match is None:
        return None
    window = window_for(match[1], week_ends=newsletter.week_ends, tz=newsletter.tz, now=issue.date)
    moment = send_moment(window, newsletter)
    return moment if moment > issue.date else None
