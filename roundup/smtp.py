"""SMTP delivery: the :class:`~roundup.mailer.Mailer` for an SMTP server or relay.

One lazily opened connection, with TLS and login as feeds.yaml says, renewed every
``smtp.batch_size`` messages. :meth:`SmtpMailer.send` runs one mail transaction (MAIL, RCPT,
DATA) and sorts what happened by how far it got:

- opening the connection failed (refused, no greeting, EHLO or STARTTLS failed): the server
  could not be reached, ``pending`` with ``unreachable`` set;
- a reply or a lost connection before the message data went out: ``refused`` for a 5xx about
  this recipient, else ``pending`` (nothing was delivered, so trying again is safe);
- the message data went out and the connection was lost or the reply did not come within
  ``smtp.timeout``: ``uncertain`` (the server may have kept the copy);
- the reply to the message data: ``accepted``, ``refused`` (5xx) or ``pending`` (4xx).

The handover (see :mod:`roundup.mailer`) is right before the DATA command. A fault in the
settings (login refused, TLS failed, the sender refused for good) raises :class:`SendError`.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.utils import parseaddr

from roundup.config import Config, SmtpSettings
from roundup.errors import SendError
from roundup.mailer import ACCEPTED, PENDING, REFUSED, UNCERTAIN, Outcome

SmtpFactory = Callable[[SmtpSettings], smtplib.SMTP]

_LINE_END = re.compile(rb"\r\n|\r|\n")
_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")


class SmtpMailer:
    """One lazily opened SMTP connection, renewed every ``batch_size`` messages."""

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        envelope_from: str,
        login: tuple[str, str] | None = None,
        factory: SmtpFactory | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory or default_smtp_factory
        self.login = login
        self.envelope_from = envelope_from
        self.smtp: smtplib.SMTP | None = None
        self.sent = 0  # on this connection

    def send(self, recipient: str, message: bytes, on_handover: Callable[[], None]) -> Outcome:
        """One mail transaction handing ``message`` to the server for ``recipient``."""
        try:
            smtp = self.connection()
        except (smtplib.SMTPException, OSError) as exc:
            return _unreachable(self, exc)
        message = with_headers(message, self.settings.headers)
        try:
            outcome = _transaction(self, smtp, recipient, message, on_handover)
        except BaseException:
            self.reset()  # the state of the session is unknown: never reuse it
            raise
        if outcome.status == ACCEPTED:
            self.sent += 1
            if self.sent >= self.settings.batch_size:
                self.close()
        elif self.smtp is not None and not _forget_transaction(self.smtp):
            self.reset()
        return outcome

    def connection(self) -> smtplib.SMTP:
        """The open connection, or a new one (greeted, secured and logged in)."""
        if self.smtp is None:
            self.smtp = self._connect()
            self.sent = 0
        return self.smtp

    def _connect(self) -> smtplib.SMTP:
        smtp = self.factory(self.settings)
        try:
            if self.settings.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            else:
                smtp.ehlo_or_helo_if_needed()
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

    def reset(self) -> None:
        """Drop the connection without QUIT (it just failed); the next send reconnects."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            smtp.close()


def with_headers(message: bytes, headers: tuple[tuple[str, str], ...]) -> bytes:
    """``message`` with ``smtp.headers`` (validated in feeds.yaml) on top of its header.

    They are added here, for the relay, not to message.eml: the file is what subscribers
    read, the extra headers are what the relay reads (a stream, a configuration set).
    """
    if not headers:
        return message
    lines = b"".join(f"{name}: {value}\r\n".encode("ascii") for name, value in headers)
    return lines + message


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


def from_config(
    config: Config, environ: Mapping[str, str], *, factory: SmtpFactory | None = None
) -> SmtpMailer:
    """The mailer ``config``'s ``smtp:`` section describes, with the login from ``environ``.

    Raises :class:`SendError` when there is no ``smtp:`` section or a login variable is unset.
    """
    settings = config.smtp
    if settings is None:
        raise SendError(f"{config.path}: no smtp: section; add one with at least smtp.host to send")
    return SmtpMailer(
        settings,
        envelope_from=parseaddr(config.newsletter.from_addr)[1],
        login=_credentials(settings, environ),
        factory=factory,
    )


def describe(config: Config) -> str:
    """Where the mail goes, for the send plan."""
    if config.smtp is None:
        return ""
    return f" via {config.smtp.host}:{config.smtp.port} ({config.smtp.security})"


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


# --- one transaction ----------------------------------------------------------------------


def _transaction(
    mailer: SmtpMailer,
    smtp: smtplib.SMTP,
    recipient: str,
    data: bytes,
    on_handover: Callable[[], None],
) -> Outcome:
    """MAIL, RCPT, then DATA, sorted by how far they got (see the module's docstring)."""
    try:
        code, reply = smtp.mail(mailer.envelope_from, _mail_options(smtp, data))
        if code != 250:
            return _sender_reply(mailer, code, reply)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            return _by_code(code, reply)
        on_handover()
        code, reply = smtp.docmd("DATA")
        if code != 354:
            return _by_code(code, reply)
        # A payload cut short lacks its final "." line, so the server cannot deliver it.
        smtp.send(_payload(data))
    except (smtplib.SMTPException, OSError) as exc:
        mailer.reset()
        return Outcome(PENDING, f"connection lost before the message went out ({_why(exc)})")
    try:
        code, reply = smtp.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        mailer.reset()
        return Outcome(UNCERTAIN, f"no reply after the message went out ({_why(exc)})")
    return Outcome(ACCEPTED) if code == 250 else _by_code(code, reply)


def _mail_options(smtp: smtplib.SMTP, data: bytes) -> list[str]:
    """SIZE when the server announces it, so an oversized copy is refused before DATA."""
    return [f"SIZE={len(data)}"] if smtp.has_extn("size") else []


def _payload(data: bytes) -> bytes:
    """``data`` as the DATA command sends it: CRLF line ends, dot-stuffed, then "." alone.

    RFC 5321 section 4.5.2: a line that starts with "." gets a second one; the end of the
    data is a line holding only ".". Bare CR or LF become CRLF (section 2.3.8).
    """
    text = _DOT_AT_LINE_START.sub(b"..", _LINE_END.sub(b"\r\n", data))
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    return text + b".\r\n"


def _forget_transaction(smtp: smtplib.SMTP) -> bool:
    """RSET after a refusal, so the next recipient starts clean; False if that failed."""
    try:
        code, _reply = smtp.rset()
    except (smtplib.SMTPException, OSError):
        return False
    return code == 250


def _sender_reply(mailer: SmtpMailer, code: int, reply: bytes) -> Outcome:
    """The reply to MAIL FROM: a 5xx is about the sender, so no recipient can be sent to."""
    if code >= 500:
        raise SendError(
            f"{_server(mailer)}: refused the sender {mailer.envelope_from}"
            f" ({_reply(code, reply)}); check newsletter.from"
        )
    return Outcome(PENDING, _reply(code, reply))


def _unreachable(mailer: SmtpMailer, exc: BaseException) -> Outcome:
    """Opening the connection failed: a fault in the settings raises, anything else is the
    server being out of reach for now."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        raise SendError(
            f"{_server(mailer)}: login refused ({_reply(exc.smtp_code, exc.smtp_error)});"
            f" check the variables named by smtp.username_env and smtp.password_env"
        ) from None
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        raise SendError(
            f"{_server(mailer)}: {exc}; check smtp.security (none, starttls or tls)"
        ) from None
    if isinstance(exc, ssl.SSLError):
        raise SendError(f"{_server(mailer)}: TLS failed ({exc}); check smtp.security") from None
    if (
        isinstance(exc, smtplib.SMTPResponseException)
        and not isinstance(exc, smtplib.SMTPConnectError)  # no greeting: down, try later
        and exc.smtp_code >= 500
    ):
        raise SendError(
            f"{_server(mailer)}: refused ({_reply(exc.smtp_code, exc.smtp_error)})"
        ) from None
    return Outcome(PENDING, _why(exc), unreachable=True)


def _by_code(code: int, text: bytes | str) -> Outcome:
    """A reply about this recipient's copy: 5xx refuses it, anything else is worth a retry."""
    if code >= 500:
        return Outcome(REFUSED, _reply(code, text))
    return Outcome(PENDING, _reply(code, text))


def _why(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"connection lost: {exc or 'no reason given'}"
    return f"{type(exc).__name__}: {exc}"


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}".strip()


def _server(mailer: SmtpMailer) -> str:
    return f"{mailer.settings.host}:{mailer.settings.port}"
