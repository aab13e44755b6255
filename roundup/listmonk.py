"""Delivery as a listmonk campaign: the :class:`~roundup.mailer.Mailer` for ``delivery.via:
listmonk``.

One campaign per issue, in two steps through listmonk's REST API: create it as a draft
(``POST /api/campaigns``: subject, From, lists, the HTML body with listmonk's own
unsubscribe link, the plain-text alternative, and a tag naming the issue), then start it,
or schedule it when ``newsletter.send_at`` is still ahead (``PUT
/api/campaigns/{id}/status``). listmonk has no idempotency key, so every attempt first
looks the tag up (``GET /api/campaigns?tags=…``): a campaign created by an attempt that
died before it was recorded is found and started, never created twice; one that is
already running, scheduled or finished is recorded as accepted. The handover (see
:mod:`roundup.mailer`) is right before the status change: a draft reaches nobody.

listmonk reads campaign bodies as Go templates, so every ``{{`` that came from the feeds
is rewritten to print itself (``{{ "{{" }}``) before roundup adds its one action, the
unsubscribe link. Credentials (an API user and its token) come from the environment.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

import httpx

from roundup.config import Config, ListmonkSettings, Newsletter
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

UNSUBSCRIBE = "{{ UnsubscribeURL }}"  # listmonk's per-subscriber unsubscribe link
LITERAL_BRACES = '{{ "{{" }}'  # a Go template action that prints "{{"
# The statuses of a campaign that is going, or has gone, to the lists.
UNDER_WAY = ("scheduled", "running", "paused", "finished")


class ListmonkMailer:
    """Creates, then starts or schedules, the issue's campaign."""

    def __init__(
        self,
        settings: ListmonkSettings,
        newsletter: Newsletter,
        *,
        login: tuple[str, str],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.newsletter = newsletter
        self.login = login
        user, token = login
        self.api = ApiClient(
            settings.url,
            headers={"Authorization": f"token {user}:{token}"},
            timeout=settings.timeout,
            transport=transport,
        )

    def send(self, recipient: str, message: bytes, on_handover: Callable[[], None]) -> Outcome:
        """Find or create the issue's campaign, then start or schedule it."""
        issue = read_issue(message)
        try:
            campaign = self.find(issue.key)
            if campaign is None:
                campaign = self.create(issue)
        except httpx.TransportError as exc:
            return Outcome(PENDING, f"{self.settings.url}: {why(exc)}", unreachable=True)
        number, status = int(campaign["id"]), str(campaign.get("status", ""))
        if status in UNDER_WAY:
            return Outcome(ACCEPTED, f"campaign {number} was already {status}")
        if status == "cancelled":
            return Outcome(REFUSED, f"campaign {number} was cancelled in listmonk")
        target = "scheduled" if campaign.get("send_at") else "running"
        on_handover()
        try:
            response = self.api.open().put(
                f"/api/campaigns/{number}/status", json={"status": target}
            )
        except httpx.TimeoutException as exc:
            return Outcome(UNCERTAIN, f"no answer after starting campaign {number} ({why(exc)})")
        except httpx.TransportError as exc:
            return Outcome(UNCERTAIN, f"connection lost starting campaign {number} ({why(exc)})")
        self._check(response)
        if response.status_code == 200:
            return Outcome(ACCEPTED, f"campaign {number} {target}")
        if response.status_code >= 500:
            return Outcome(UNCERTAIN, f"listmonk answered {status_line(response)}")
        return Outcome(
            PENDING, f"listmonk did not start campaign {number}: {status_line(response)}"
        )

    def find(self, tag: str) -> dict[str, Any] | None:
        """The campaign tagged ``tag``, if there is one."""
        response = self.api.open().get(
            "/api/campaigns", params={"tags": tag, "per_page": "all", "no_body": "true"}
        )
        self._check(response)
        _fail_unless_ok(response, "look up the issue's campaign")
        results = response.json().get("data", {}).get("results") or []
        found = [c for c in results if tag in (c.get("tags") or [])]
        return dict(found[0]) if found else None

    def create(self, issue: IssueMail) -> dict[str, Any]:
        """A draft campaign for ``issue``; raises :class:`SendError` when listmonk refuses it."""
        response = self.api.open().post("/api/campaigns", json=self.campaign(issue))
        self._check(response)
        _fail_unless_ok(response, "create the issue's campaign")
        return dict(response.json()["data"])

    def campaign(self, issue: IssueMail) -> dict[str, Any]:
        """The request body that creates the campaign."""
        body: dict[str, Any] = {
            "name": issue.subject,
            "subject": issue.subject,
            "lists": list(self.settings.lists),
            "from_email": issue.from_addr,
            "type": "regular",
            "content_type": "html",
            "messenger": "email",
            "tags": [issue.key],
            "body": listmonk_html(issue.html, self.newsletter),
            "altbody": listmonk_text(issue.text, self.newsletter),
        }
        moment = scheduled_moment(issue, self.newsletter)
        if moment is not None:
            body["send_later"] = True
            body["send_at"] = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if self.settings.template_id is not None:
            body["template_id"] = self.settings.template_id
        return body

    def _check(self, response: httpx.Response) -> None:
        if response.status_code in (401, 403):
            raise SendError(
                f"listmonk: {self.settings.url} refused the API login ({status_line(response)});"
                f" check ${self.settings.username_env} and ${self.settings.token_env}"
            )

    def reset(self) -> None:
        """Drop the connection; the next send opens a new one."""
        self.api.close()

    def close(self) -> None:
        self.api.close()


def listmonk_html(body: str, newsletter: Newsletter) -> str:
    """The issue's HTML as a listmonk body: feed text kept literal, listmonk's unsubscribe
    link where roundup's was (or in a footer line when the issue has none)."""
    safe = body.replace("{{", LITERAL_BRACES)
    pattern = _unsubscribe_pattern(newsletter, escaped=True)
    if pattern is not None and pattern.search(safe):
        return pattern.sub(UNSUBSCRIBE, safe)
    footer = f'<p style="text-align:center"><a href="{UNSUBSCRIBE}">Unsubscribe</a></p>'
    at = safe.rfind("</body>")
    return safe[:at] + footer + safe[at:] if at >= 0 else safe + footer


def listmonk_text(text: str, newsletter: Newsletter) -> str:
    """The plain-text alternative, made safe the same way."""
    safe = text.replace("{{", LITERAL_BRACES)
    pattern = _unsubscribe_pattern(newsletter, escaped=False)
    if pattern is not None and pattern.search(safe):
        return pattern.sub(UNSUBSCRIBE, safe)
    return f"{safe.rstrip()}\n\nUnsubscribe: {UNSUBSCRIBE}\n"


def from_config(
    config: Config, environ: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
) -> ListmonkMailer:
    """The mailer the ``listmonk:`` block describes; raises :class:`SendError` when the block
    or one of the variables it names is missing."""
    settings = config.listmonk
    if settings is None:
        raise SendError(f"{config.path}: delivery.via is listmonk but there is no listmonk: block")
    values = []
    for name in (settings.username_env, settings.token_env):
        value = environ.get(name, "")
        if not value:
            raise SendError(f"${name} is not set (feeds.yaml's listmonk: block names it)")
        values.append(value)
    return ListmonkMailer(
        settings, config.newsletter, login=(values[0], values[1]), transport=transport
    )


def describe(config: Config) -> str:
    """Where the issue goes, for the send plan."""
    if config.listmonk is None:
        return ""
    lists = ", ".join(str(n) for n in config.listmonk.lists)
    return f" as a listmonk campaign to list {lists} ({config.listmonk.url})"


def destination(config: Config) -> str:
    """The ledger's one entry: the campaign's lists."""
    lists = ",".join(str(n) for n in config.listmonk.lists) if config.listmonk else ""
    return f"listmonk:lists={lists}"


def _unsubscribe_pattern(newsletter: Newsletter, *, escaped: bool) -> re.Pattern[str] | None:
    """roundup's unsubscribe URL with any token in it, as it appears in the body."""
    if not newsletter.unsubscribe_url:
        return None
    before, _, after = newsletter.unsubscribe_url.partition("{token}")
    quote = html.escape if escaped else str
    return re.compile(re.escape(quote(before)) + r"[A-Za-z0-9_-]+" + re.escape(quote(after)))


def _fail_unless_ok(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise SendError(f"listmonk: could not {what}: {status_line(response)}")
