"""The delivery seam: a :class:`Mailer` hands one message to one recipient and says how it went.

The send ledger (:mod:`roundup.send`) decides who still needs the issue, retries, and
records each outcome; it knows nothing about the protocol underneath. A backend is one
module that defines a class satisfying :class:`Mailer` and a ``from_config(config,
environ)`` function, listed once in :data:`BACKENDS`. SMTP (:mod:`roundup.smtp`) is the
first.

Outcomes are three: ``accepted`` (the server took this recipient's copy), ``refused`` (a
permanent refusal of this recipient, not retried) and ``pending`` (worth another try). A
``pending`` outcome with ``unreachable`` set means the server itself could not be reached,
so trying the next recipient now is pointless.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from roundup.config import Config
from roundup.errors import SendError

Status = Literal["accepted", "refused", "pending"]
ACCEPTED: Status = "accepted"
REFUSED: Status = "refused"
PENDING: Status = "pending"

# delivery backend name → the module that implements it (imported on first use, so that a
# run that sends nothing never loads smtplib or ssl).
BACKENDS: Mapping[str, str] = {"smtp": "roundup.smtp"}
DEFAULT_BACKEND = "smtp"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one attempt to deliver one copy."""

    status: Status
    detail: str = ""  # the server's reply, or what went wrong
    unreachable: bool = False  # the server could not be reached at all (not this recipient)


class Mailer(Protocol):
    """Delivers one message to one recipient per call; opens its connection lazily."""

    def send(self, recipient: str, message: bytes) -> Outcome:
        """Make one attempt; raise :class:`~roundup.errors.SendError` only for faults in the
        settings (bad login, TLS refused) that no retry can fix."""

    def reset(self) -> None:
        """Forget the connection after a failed attempt; the next send reconnects."""

    def close(self) -> None:
        """End the connection politely, if one is open."""


class Backend(Protocol):
    """What a backend module offers: its :class:`Mailer` built from the configuration."""

    def from_config(self, config: Config, environ: Mapping[str, str]) -> Mailer: ...

    def describe(self, config: Config) -> str: ...


def backend(config: Config) -> Backend:
    """The configured delivery backend's module (today always SMTP)."""
    name = DEFAULT_BACKEND
    try:
        module: Backend = importlib.import_module(BACKENDS[name])
    except KeyError:
        raise SendError(f"{config.path}: unknown delivery backend {name!r}") from None
    return module


def open_mailer(config: Config, environ: Mapping[str, str]) -> Mailer:
    """The configured backend's mailer; raises :class:`SendError` when it is not usable.

    Example: ``mailer = open_mailer(config, os.environ)`` then ``mailer.send(addr, data)``.
    """
    return backend(config).from_config(config, environ)


def describe_route(config: Config) -> str:
    """Where mail goes, for the send plan: e.g. ``" via smtp.example.org:587 (starttls)"``."""
    return backend(config).describe(config)
