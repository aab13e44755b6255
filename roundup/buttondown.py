"""Delivery as a Buttondown email: the :class:`~roundup.mailer.Mailer` for ``delivery.via:
buttondown``.

One request per issue, ``POST /emails``, always with an explicit status: ``draft`` (the
default: you review and press send in Buttondown) or ``scheduled`` for the issue's
``newsletter.send_at`` moment. Buttondown sends an email at once when the status is left
out, so roundup never leaves it out, and refuses to schedule a moment that has passed.

The request carries an ``X-Idempotency-Key`` derived from the issue's Message-ID, so
Buttondown answers a repeated request with the email the first one created; and before
creating, roundup looks for an email whose metadata names the issue (the idempotency key
may have expired by the time a crashed send is resumed). Either way a crash between
"email created" and "recorded" never makes a second email. The API key comes from the
environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

import httpx

from roundup.config import ButtondownSettings, Config, Newsletter
from roundup.errors import SendError
from roundup.http_api import ApiClient, status_line, why
from roundup.mailer import (
    ACCEPTED,
    PENDING,
    REFUSED,
    UNCERTAIN,
    IssueMail,
    Outcome,
    read_issue,
    scheduled_moment,
)

METADATA_KEY = "roundup_issue"  # the email's metadata entry naming the issue
# Buttondown renders {{ … }} and {% … %} in bodies; entities print the same characters.
_TEMPLATE_OPENERS = re.compile(r"\{(?=[{%#])")
LOOKED_UP = ("draft", "scheduled", "about_to_send", "in_flight", "sent")


class ButtondownMailer:
    """Creates the issue's email in Buttondown, as a draft or scheduled."""

    def __init__(
        self,
        settings: ButtondownSettings,
        newsletter: Newsletter,
        *,
        api_key: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.newsletter = newsletter
        self.api_key = api_key
        self.api = ApiClient(
            settings.api_url,
            headers={"Authorization": f"Token {api_key}"},
            timeout=settings.timeout,
            transport=transport,
        )

    def send(self, recipient: str, message: bytes, on_handover: Callable[[], None]) -> Outcome:
        """Create the email unless an earlier attempt did."""
        issue = read_issue(message)
        body = self.email(issue)  # raises before anything is sent if it cannot be scheduled
        try:
            found = self.find(issue.key)
        except httpx.TransportError as exc:
            return Outcome(PENDING, f"{self.settings.api_url}: {why(exc)}", unreachable=True)
        if found is not None:
            return Outcome(ACCEPTED, f"email {found['id']} was already {found.get('status')}")
        on_handover()
        try:
            response = self.api.open().post(
                "/emails", json=body, headers={"X-Idempotency-Key": issue.key}
            )
        except httpx.TimeoutException as exc:
            return Outcome(UNCERTAIN, f"no answer after creating the email ({why(exc)})")
        except httpx.TransportError as exc:
            return Outcome(UNCERTAIN, f"connection lost creating the email ({why(exc)})")
        self._check(response)
        if response.status_code in (200, 201):
            created = response.json()
            return Outcome(ACCEPTED, f"email {created['id']} created as {created['status']}")
        if response.status_code == 429 or response.status_code >= 500:
            # Retried with the same idempotency key, so a copy the server kept is reused.
            return Outcome(PENDING, f"Buttondown answered {status_line(response)}")
        return Outcome(REFUSED, f"Buttondown refused the email: {status_line(response)}")

    def email(self, issue: IssueMail) -> dict[str, Any]:
        """The request body: never without a status, so nothing is sent by accident."""
        body: dict[str, Any] = {
            "subject": issue.subject,
            "body": buttondown_html(issue.html),
            "status": self.settings.status,
            "metadata": {METADATA_KEY: issue.key},
        }
        if self.settings.status == "scheduled":
            moment = scheduled_moment(issue, self.newsletter)
            if moment is None:
                raise SendError(
                    "buttondown.status is scheduled but newsletter.send_at has passed for"
                    " this issue; send it as a draft (buttondown.status: draft) or from"
                    " Buttondown"
                )
            body["publish_date"] = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return body

    def find(self, key: str) -> dict[str, Any] | None:
        """An email whose metadata names the issue, if Buttondown has one."""
        params: dict[str, Any] = {"status": list(LOOKED_UP)}
        url: str | None = "/emails"
        while url:
            response = self.api.open().get(url, params=params)
            self._check(response)
            if response.status_code != 200:
                raise SendError(f"buttondown: could not list emails: {status_line(response)}")
            page = response.json()
            for email in page.get("results", []):
                if (email.get("metadata") or {}).get(METADATA_KEY) == key:
                    return dict(email)
            url, params = page.get("next"), {}
        return None

    def _check(self, response: httpx.Response) -> None:
        if response.status_code in (401, 403):
            raise SendError(
                f"buttondown: the API key was refused ({status_line(response)});"
                f" check ${self.settings.api_key_env}"
            )

    def reset(self) -> None:
        """Drop the connection; the next send opens a new one."""
        self.api.close()

    def close(self) -> None:
        self.api.close()


def buttondown_html(body: str) -> str:
    """The issue's HTML with every template opener from the feeds written as an entity."""
    return _TEMPLATE_OPENERS.sub("&#123;", body)


def from_config(
    config: Config, environ: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
) -> ButtondownMailer:
    """The mailer the ``buttondown:`` block describes; raises :class:`SendError` when the
    block or its API key is missing."""
    settings = config.buttondown
    if settings is None:
        raise SendError(
            f"{config.path}: delivery.via is buttondown but there is no buttondown: block"
        )
    key = environ.get(settings.api_key_env, "")
    if not key:
        raise SendError(f"${settings.api_key_env} is not set (the Buttondown API key)")
    return ButtondownMailer(settings, config.newsletter, api_key=key, transport=transport)


def describe(config: Config) -> str:
    """Where the issue goes, for the send plan."""
    if config.buttondown is None:
        return ""
    return f" as a Buttondown email ({config.buttondown.status})"


def destination(config: Config) -> str:
    """The ledger's one entry."""
    return "buttondown"
