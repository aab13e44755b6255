"""SMTP delivery: the :class:`~roundup.mailer.Mailer` for an SMTP server or relay.

One lazily opened connection, with TLS and login as feeds.yaml says, renewed every
``smtp.batch_size`` messages. :meth:`SmtpMailer.send` hands one copy to the server and sorts
the reply: ``accepted``, ``refused`` (5xx about this recipient) or ``pending`` (worth a
retry); a fault in the settings raises :class:`SendError`.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.utils import parseaddr

from roundup.config import Config, SmtpSettings
from roundup.errors import SendError
from roundup.mailer import ACCEPTED, PENDING, REFUSED, Outcome

SmtpFactory = Callable[[SmtpSettings], smtplib.SMTP]


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

    def send(self, recipient: str, message: bytes) -> Outcome:
        """One attempt to hand ``message`` to the server for ``recipient``."""
        return _attempt(self, recipient, message)

    def transmit(self, recipient: str, data: bytes) -> None:
        """Send over the connection (opening it first), letting smtplib's errors through."""
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

    def reset(self) -> None:
        """Drop the connection without QUIT (it just failed); the next send reconnects."""
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


def _attempt(mailer: SmtpMailer, recipient: str, data: bytes) -> Outcome:
    try:
        mailer.transmit(recipient, data)
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
        return Outcome(PENDING, f"connection lost: {exc or 'no reason given'}", True)
    except smtplib.SMTPConnectError as exc:  # the greeting was not 220: try again later
        return Outcome(PENDING, _reply(exc.smtp_code, exc.smtp_error), True)
    except smtplib.SMTPSenderRefused as exc:
        if exc.smtp_code < 500:
            return Outcome(PENDING, _reply(exc.smtp_code, exc.smtp_error), True)
        raise SendError(
            f"{_server(mailer)}: refused the sender {exc.sender}"
            f" ({_reply(exc.smtp_code, exc.smtp_error)}); check newsletter.from"
        ) from None
    except smtplib.SMTPResponseException as exc:  # EHLO, STARTTLS...
        if exc.smtp_code < 500:
            return Outcome(PENDING, _reply(exc.smtp_code, exc.smtp_error), True)
        raise SendError(
            f"{_server(mailer)}: refused ({_reply(exc.smtp_code, exc.smtp_error)})"
        ) from None
    except ssl.SSLError as exc:
        raise SendError(f"{_server(mailer)}: TLS failed ({exc}); check smtp.security") from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, no route
        return Outcome(PENDING, f"{type(exc).__name__}: {exc}", True)
    return Outcome(ACCEPTED)


def _by_code(code: int, text: bytes | str) -> Outcome:
    """A reply about this recipient's copy: 5xx refuses it, anything else is worth a retry."""
    if code >= 500:
        return Outcome(REFUSED, _reply(code, text))
    return Outcome(PENDING, _reply(code, text))


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}".strip()


def _server(mailer: SmtpMailer) -> str:
    return f"{mailer.settings.host}:{mailer.settings.port}"
