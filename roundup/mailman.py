"""Delivery to a GNU Mailman 3 list: the :class:`~roundup.mailer.Mailer` for ``delivery.via:
mailman``.

The issue is posted once, to the list, through Mailman core's REST API: the message goes
into the list's incoming queue (``POST /queues/in``) carrying the list's moderator password
in an ``Approved:`` header, so Mailman distributes it to the members without a moderator
clicking (Mailman removes the header before distributing). Mailman answers 201 once the
message is safely in its queue: that is the acceptance the ledger records.

Before every post the held messages of the list are searched for the issue's Message-ID:
a copy that an earlier post left waiting for moderation (a wrong moderator password, a
list that holds everything) is approved through the REST API instead of being posted a
second time. The handover (see :mod:`roundup.mailer`) is right before the request that
posts or approves; the ledger never repeats a delivery whose answer was lost.

Settings come from the ``mailman:`` block; the REST login and the moderator password only
from the environment variables it names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.utils import parseaddr
from urllib.parse import quote

import httpx

from roundup.config import Config, MailmanSettings
from roundup.errors import SendError
from roundup.http_api import ApiClient, status_line, why
from roundup.mailer import ACCEPTED, PENDING, REFUSED, UNCERTAIN, Outcome, read_issue

PAGE = 100  # held messages asked for per request


class MailmanMailer:
    """Posts the issue to one Mailman 3 list through its REST API."""

    def __init__(
        self,
        settings: MailmanSettings,
        *,
        login: tuple[str, str],
        moderator_password: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.login = login
        self.moderator_password = moderator_password
        self.api = ApiClient(
            settings.api_url, auth=login, timeout=settings.timeout, transport=transport
        )

    def send(self, recipient: str, message: bytes, on_handover: Callable[[], None]) -> Outcome:
        """Approve the issue's held copy if there is one, else post it to the list."""
        issue = read_issue(message)
        try:
            list_id = self.list_id()
            held = self.held_request(list_id, issue.message_id)
        except httpx.TransportError as exc:
            return Outcome(PENDING, f"{self.settings.api_url}: {why(exc)}", unreachable=True)
        if held is not None:
            on_handover()
            return self._answer(
                lambda client: client.post(
                    f"/lists/{list_id}/held/{held}", data={"action": "accept"}
                ),
                f"the copy held for moderation (request {held}) was approved",
            )
        newline = "\r\n" if b"\r\n" in message else "\n"
        text = f"Approved: {self.moderator_password}{newline}" + message.decode("utf-8")
        on_handover()
        return self._answer(
            lambda client: client.post("/queues/in", data={"list_id": list_id, "text": text}),
            f"queued for the members of {self.settings.list}",
        )

    def list_id(self) -> str:
        """The list's id (``news.lists.example.org``), asked of Mailman by posting address."""
        response = self.api.open().get(f"/lists/{quote(self.settings.list, safe='@')}")
        if response.status_code == 404:
            raise SendError(
                f"mailman.list: Mailman at {self.settings.api_url} has no list"
                f" {self.settings.list}; check the posting address"
            )
        self._check(response)
        return str(response.json()["list_id"])

    def held_request(self, list_id: str, message_id: str) -> int | None:
        """The request id of a held message with ``message_id``, if the list holds one."""
        start = 0
        while True:
            response = self.api.open().get(
                f"/lists/{list_id}/held", params={"count": PAGE, "page": start // PAGE + 1}
            )
            self._check(response)
            body = response.json()
            entries = body.get("entries", [])
            for entry in entries:
                if str(entry.get("message_id", "")).strip() == message_id:
                    return int(entry["request_id"])
            start += PAGE
            if not entries or start >= int(body.get("total_size", 0)):
                return None

    def _answer(self, request: Callable[[httpx.Client], httpx.Response], done: str) -> Outcome:
        """Make the request that delivers; sort the answer, or its absence, into an outcome."""
        try:
            response = request(self.api.open())
        except httpx.TimeoutException as exc:
            return Outcome(UNCERTAIN, f"no answer from Mailman after posting ({why(exc)})")
        except httpx.TransportError as exc:
            # The request may have reached Mailman before the connection broke.
            return Outcome(UNCERTAIN, f"connection lost while posting ({why(exc)})")
        if response.status_code in (200, 201, 204):
            return Outcome(ACCEPTED, done)
        self._check(response)
        if response.status_code >= 500:
            return Outcome(UNCERTAIN, f"Mailman answered {status_line(response)} after the post")
        return Outcome(REFUSED, f"Mailman refused the post: {status_line(response)}")

    def _check(self, response: httpx.Response) -> None:
        """Raise for the answers no retry can fix: a refused login."""
        if response.status_code in (401, 403):
            raise SendError(
                f"mailman: {self.settings.api_url} refused the REST login"
                f" ({status_line(response)}); check ${self.settings.username_env}"
                f" and ${self.settings.password_env}"
            )
        if response.status_code >= 400 and response.request.method == "GET":
            raise SendError(f"mailman: {response.request.url}: {status_line(response)}")

    def reset(self) -> None:
        """Drop the connection; the next send opens a new one."""
        self.api.close()

    def close(self) -> None:
        self.api.close()


def from_config(
    config: Config, environ: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
) -> MailmanMailer:
    """The mailer the ``mailman:`` block describes; raises :class:`SendError` when the block
    or one of the variables it names is missing."""
    settings = config.mailman
    if settings is None:
        raise SendError(f"{config.path}: delivery.via is mailman but there is no mailman: block")
    names = (settings.username_env, settings.password_env, settings.moderator_password_env)
    values = [environ.get(name, "") for name in names]
    for name, value in zip(names, values, strict=True):
        if not value:
            raise SendError(f"${name} is not set (feeds.yaml's mailman: block names it)")
    return MailmanMailer(
        settings, login=(values[0], values[1]), moderator_password=values[2], transport=transport
    )


def describe(config: Config) -> str:
    """Where the issue goes, for the send plan."""
    if config.mailman is None:
        return ""
    return f" via the Mailman list {config.mailman.list} ({config.mailman.api_url})"


def destination(config: Config) -> str:
    """The ledger's one entry: the list's posting address."""
    return parseaddr(config.mailman.list)[1].lower() if config.mailman else "mailman"
