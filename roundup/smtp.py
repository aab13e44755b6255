"""The SMTP connection: one lazily opened connection, TLS and login as feeds.yaml says.

``_attempt`` hands one copy to the server and sorts the reply: ``accepted``, ``refused``
(5xx about this recipient) or ``pending`` (worth a retry); a fault in the settings raises
:class:`SendError`.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr

from roundup.config import Config, SmtpSettings
from roundup.errors import SendError

ACCEPTED = "accepted"
REFUSED = "refused"

SmtpFactory = Callable[[SmtpSettings], smtplib.SMTP]


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


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: str  # accepted | refused | pending
    detail: str = ""  # the server's reply, or what went wrong
    unreachable: bool = False  # the server itself could not be reached (not this recipient)


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
