"""A real SMTP server on 127.0.0.1 for send tests (aiosmtpd), with programmable failures.

Usage::

    from tests.smtpserver import SmtpServer

    with SmtpServer() as server:
        server.handler.refuse["bob@example.com"] = "550 5.1.1 No such user"
        server.handler.rcpt_replies[1] = "451 4.7.1 Try again later"  # the 1st RCPT only
        server.handler.drop_after = 3  # after 3 accepted messages, hang up at every DATA
        server.handler.greylist["cy@example.com"] = 2  # 451 to the first two RCPTs for cy
        server.handler.rcpt_hang["dee@example.com"] = 3.0  # answer dee's RCPT after 3 s
        server.handler.keep_then_drop.add("eve@example.com")  # keep eve's copy, then hang up
        ...  # send to server.settings()
        assert server.handler.count("ann@example.com") == 1

or take the ``smtp_server`` fixture (``from tests.smtpserver import smtp_server``).

Every accepted message is recorded with its envelope, raw bytes, the client's address
(one per connection) and whether the session was authenticated and encrypted. Counters
for MAIL, RCPT and DATA run across connections, 1-based, so ``data_replies[4]`` answers the
fourth DATA command the server sees. ``wait_for("rcpt", n)`` blocks until the n-th RCPT
(or DATA) has arrived, so a test can act while the server holds its reply. ``tls_files``
makes a throwaway self-signed certificate for 127.0.0.1 with the ``openssl`` command, for
STARTTLS and implicit TLS.
"""

from __future__ import annotations

import asyncio
import email
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from roundup.config import SmtpSettings

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    peer: tuple[str, int]  # the client's address: differs from one connection to the next
    login: str | None  # the user that authenticated, if any
    tls: bool  # the session was encrypted (STARTTLS or implicit TLS)

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """The aiosmtpd handler: records accepted messages and answers as programmed."""

    mail_replies: dict[int, str] = field(default_factory=dict)  # Nth MAIL FROM -> reply
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> reply, at every RCPT
    rcpt_replies: dict[int, str] = field(default_factory=dict)  # Nth RCPT -> reply
    data_replies: dict[int, str] = field(default_factory=dict)  # Nth DATA -> reply
    drop_data: set[int] = field(default_factory=set)  # Nth DATA -> hang up instead of answering
    drop_after: int | None = None  # once this many are accepted, hang up at every DATA
    greylist: dict[str, int] = field(default_factory=dict)  # recipient -> 451s still to give
    rcpt_hang: dict[str, float] = field(default_factory=dict)  # recipient -> s before RCPT reply
    rcpt_delay: float = 0.0  # every RCPT waits this long before its reply (a slow server)
    # The copy is kept (it counts as received), then the reply to the message data waits:
    data_hang: dict[str, float] = field(default_factory=dict)  # recipient -> seconds
    data_delay: float = 0.0  # every copy
    keep_then_drop: set[str] = field(default_factory=set)  # copy kept, then hang up unanswered
    received: list[Received] = field(default_factory=list)
    rcpt_log: list[str] = field(default_factory=list)  # every RCPT's address, in order
    mail_count: int = 0
    rcpt_count: int = 0
    data_count: int = 0
    dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: threading.Condition = field(default_factory=threading.Condition)  # a command came

    async def handle_MAIL(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        with self.lock:
            self.mail_count += 1
            reply = self.mail_replies.get(self.mail_count)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        with self.lock:
            self.rcpt_count += 1
            self.rcpt_log.append(address)
            reply = self.rcpt_replies.get(self.rcpt_count) or self.refuse.get(address)
            if not reply and self.greylist.get(address):
                self.greylist[address] -= 1
                reply = "451 4.7.1 Greylisted, try again later"
            wait = self.rcpt_delay + self.rcpt_hang.get(address, 0.0)
        self._saw()
        if wait:
            await asyncio.sleep(wait)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.data_count += 1
            count = self.data_count
            drop = count in self.drop_data or (
                self.drop_after is not None and len(self.received) >= self.drop_after
            )
            if drop:
                self.dropped += 1
            reply = self.data_replies.get(count)
        self._saw()
        if drop:
            server.transport.abort()  # hang up without a reply: the client sees the line drop
            return "421 4.4.2 Connection dropped"  # written to a closed transport, never read
        if reply:
            return reply
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        record = Received(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
            peer=tuple(session.peer),  # type: ignore[arg-type]
            login=login,
            tls=server.transport.get_extra_info("ssl_object") is not None,
        )
        with self.lock:
            self.received.append(record)
            wait = self.data_delay + max(
                (self.data_hang.get(r, 0.0) for r in record.rcpt_tos), default=0.0
            )
            drop = bool(self.keep_then_drop.intersection(record.rcpt_tos))
        if drop:  # the copy is kept, but the client never hears so
            server.transport.abort()
            return "421 4.4.2 Connection dropped"
        if wait:
            await asyncio.sleep(wait)
        return "250 2.0.0 Message accepted for delivery"

    def _saw(self) -> None:
        with self.seen:
            self.seen.notify_all()

    def wait_for(self, kind: str, count: int, timeout: float = 30.0) -> bool:
        """Block until the server has seen ``count`` RCPT (``"rcpt"``) or DATA (``"data"``)
        commands in all; False if that took longer than ``timeout`` seconds."""

        def arrived() -> bool:
            with self.lock:
                return (self.rcpt_count if kind == "rcpt" else self.data_count) >= count

        with self.seen:
            return self.seen.wait_for(arrived, timeout)

    def count(self, recipient: str) -> int:
        """How many messages were accepted for ``recipient``."""
        with self.lock:
            return sum(recipient in r.rcpt_tos for r in self.received)

    def to(self, recipient: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if recipient in r.rcpt_tos]

    @property
    def connections(self) -> int:
        """How many distinct connections delivered at least one message."""
        with self.lock:
            return len({r.peer for r in self.received})


class _Controller(Controller):
    """aiosmtpd's controller, able to listen on port 0 (a free port the OS picks)."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer:
    """aiosmtpd on 127.0.0.1 and a free port, in a background thread; a context manager.

    ``users`` turns on AUTH (PLAIN/LOGIN) with those user -> password pairs; without
    ``tls`` AUTH is offered in clear (``auth_require_tls=False``). ``tls`` is a
    ``(certfile, keyfile)`` pair; ``implicit_tls`` serves TLS from the first byte
    (``security: tls``), otherwise STARTTLS is offered and required.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.handler = RecordingHandler()
        self.users = dict(users or {})
        self.security = "none"
        kwargs: dict[str, Any] = {"server_hostname": "smtp.test", "ready_timeout": 5.0}
        if self.users:
            kwargs["authenticator"] = self._authenticate
            # aiosmtpd only sees STARTTLS as TLS: under implicit TLS it would hide AUTH
            kwargs["auth_require_tls"] = tls is not None and not implicit_tls
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            if implicit_tls:
                kwargs["ssl_context"] = context
                self.security = "tls"
            else:
                kwargs["tls_context"] = context
                kwargs["require_starttls"] = True
                self.security = "starttls"
        self.controller = _Controller(self.handler, hostname=HOST, port=0, **kwargs)

    @property
    def port(self) -> int:
        port: int = self.controller.port
        return port

    def settings(self, **overrides: Any) -> SmtpSettings:
        """SmtpSettings pointing at this server (security matching how it was started)."""
        values: dict[str, Any] = {
            "host": HOST,
            "port": self.port,
            "security": self.security,
            "timeout": 5.0,
        }
        values.update(overrides)
        return SmtpSettings(**values)

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running plain-SMTP server on 127.0.0.1."""
    with SmtpServer() as server:
        yield server


def tls_files(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 in ``folder`` (skips without openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
