"""Delivery as a listmonk campaign (``delivery.via: listmonk``), against a local stand-in
for listmonk's API that checks every request body against listmonk's published API
description (tests/apiserver.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from roundup.cli import cli
from roundup.config import ListmonkSettings, Newsletter
from roundup.listmonk import LITERAL_BRACES, ListmonkMailer, listmonk_html, listmonk_text
from roundup.mailer import IssueMail, scheduled_moment
from roundup.store import Store
from tests.apiserver import Listmonk, listmonk_server

__all__ = ["listmonk_server"]  # the fixture, imported for pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-c", "from roundup.cli import main; main()"]
WEEK = "2015-W33"
TARGET = "listmonk:lists=3,4"
ENV = {"ROUNDUP_SECRET": "test-secret", "LISTMONK_API_USER": "roundup"}
ENV["LISTMONK_API_TOKEN"] = "listmonk-token"
UNSUBSCRIBE = "https://example.org/roundup/unsubscribe/{token}"
NEWSLETTER = Newsletter(
    title="Weekly",
    url="https://example.org/roundup/",
    timezone="Europe/Berlin",
    week_ends=4,
    language="en",
    from_addr="Weekly <weekly@example.org>",
    unsubscribe_url=UNSUBSCRIBE,
)


def project(tmp_path: Path, server: Listmonk) -> Path:
    """The bundled sample project delivering to listmonk lists 3 and 4 through ``server``,
    with 2015-W33 built; returns its feeds.yaml."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = re.sub(r"(?m)^  to: .*\n", "", (ROOT / "feeds.yaml").read_text())
    text += f"delivery: {{via: listmonk}}\nlistmonk: {{url: '{server.url}', lists: [3, 4]}}\n"
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    built = CliRunner().invoke(cli, ["--config", str(path), "build", "--week", WEEK, "-q"])
    assert built.exit_code == 0, built.output
    return path


def send(config: Path, *extra: str, env: dict[str, str] = ENV) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--config", str(config), "send", "--week", WEEK, *extra], env=env
    )
    return result.exit_code, result.output


def ledger(tmp_path: Path) -> dict[str, tuple[str, str]]:
    with Store.open(tmp_path / ".roundup" / "state.sqlite3") as store:
        return store.deliveries(WEEK)


def writes(server: Listmonk) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests if r.method != "GET"]


def test_one_campaign_is_created_tagged_and_started_once(
    tmp_path: Path, listmonk_server: Listmonk
) -> None:
    config = project(tmp_path, listmonk_server)
    code, output = send(config)
    assert code == 0, output
    assert f"Sent {WEEK}: accepted for 1 recipient." in output
    assert "as a listmonk campaign to list 3, 4" in output
    assert listmonk_server.errors == []
    [campaign] = listmonk_server.campaigns
    assert campaign["lists"] == [3, 4]
    assert campaign["from_email"] == "The Elicitor <roundup@example.org>"
    assert campaign["subject"] == "The Elicitor Weekly Roundup: August 14, 2015"
    assert campaign["content_type"] == "html" and campaign["type"] == "regular"
    assert [tag.startswith("roundup-") for tag in campaign["tags"]] == [True]
    assert campaign["status"] == "running"
    body, altbody = campaign["body"], campaign["altbody"]
    assert body.startswith("<!DOCTYPE html>") and "{{ UnsubscribeURL }}" in body
    assert "example.org/roundup/unsubscribe/" not in body + altbody
    assert "{{ UnsubscribeURL }}" in altbody and "<" not in altbody.split("\n")[0]
    assert set(re.findall(r"\{\{.*?\}\}", body + altbody)) <= {"{{ UnsubscribeURL }}"}
    assert listmonk_server.started == [(1, "running")]
    assert ledger(tmp_path) == {TARGET: ("accepted", "campaign 1 running")}

    code, output = send(config)
    assert code == 0 and "Skipped 1 recipient who already had it." in output
    assert writes(listmonk_server) == ["POST /api/campaigns", "PUT /api/campaigns/1/status"]


def test_a_refused_login_is_one_clear_line(tmp_path: Path, listmonk_server: Listmonk) -> None:
    config = project(tmp_path, listmonk_server)
    code, output = send(config, env={**ENV, "LISTMONK_API_TOKEN": "wrong"})
    assert code == 1
    assert output.splitlines()[-1] == (
        f"Error: listmonk: {listmonk_server.url} refused the API login (401 Unauthorized:"
        ' {"message": "invalid credentials"}); check $LISTMONK_API_USER and'
        " $LISTMONK_API_TOKEN"
    )
    assert listmonk_server.campaigns == [] and ledger(tmp_path) == {}


def test_a_missing_token_is_one_clear_line(tmp_path: Path, listmonk_server: Listmonk) -> None:
    config = project(tmp_path, listmonk_server)
    code, output = send(config, env={"ROUNDUP_SECRET": "s", "LISTMONK_API_USER": "roundup"})
    assert code == 1
    assert output.splitlines()[-1] == (
        "Error: $LISTMONK_API_TOKEN is not set (feeds.yaml's listmonk: block names it)"
    )


def run_killed(config: Path, server: Listmonk, hold: str, until: int) -> None:
    """``roundup send`` in a real process, SIGKILLed while the server holds the answer to
    ``hold`` (after it acted on it): ``until`` requests of that kind have arrived."""
    server.hold[hold] = 60.0
    process = subprocess.Popen(
        [*COMMAND, "--config", str(config), "send", "--week", WEEK],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and writes(server).count(hold) < until:
            time.sleep(0.01)
        assert writes(server).count(hold) == until
    finally:
        process.kill()
        process.wait()
        del server.hold[hold]


def test_a_crash_after_the_campaign_was_created_never_makes_a_second(
    tmp_path: Path, listmonk_server: Listmonk
) -> None:
    """Killed after listmonk created the campaign, before roundup heard of it: the next
    send finds the campaign by its tag and starts it, creating none."""
    config = project(tmp_path, listmonk_server)
    run_killed(config, listmonk_server, "POST /api/campaigns", 1)
    assert ledger(tmp_path) == {}  # a draft reaches nobody: nothing was in flight
    assert [c["status"] for c in listmonk_server.campaigns] == ["draft"]

    code, output = send(config)
    assert code == 0, output
    assert len(listmonk_server.campaigns) == 1
    assert listmonk_server.started == [(1, "running")]
    assert ledger(tmp_path) == {TARGET: ("accepted", "campaign 1 running")}
    assert listmonk_server.errors == []


def test_a_crash_after_the_start_is_resolved_by_asking_listmonk(
    tmp_path: Path, listmonk_server: Listmonk
) -> None:
    """Killed while listmonk answered the start (the ledger says in flight): the next send
    asks listmonk, finds the campaign running, records it, and starts nothing again."""
    config = project(tmp_path, listmonk_server)
    run_killed(config, listmonk_server, "PUT /api/campaigns/1/status", 1)
    assert ledger(tmp_path) == {TARGET: ("in_flight", "")}

    code, output = send(config)
    assert code == 0, output
    assert (
        "Rechecked: the outcome of an earlier delivery was unknown; listmonk's own record"
        " was asked before anything was sent again."
    ) in output
    assert ledger(tmp_path) == {TARGET: ("accepted", "campaign 1 was already running")}
    assert listmonk_server.started == [(1, "running")]
    assert len(listmonk_server.campaigns) == 1


@pytest.mark.parametrize(
    ("feed_text", "kept"),
    [
        ("{{ .Subscriber.Email }}", '{{ "{{" }} .Subscriber.Email }}'),
        ('{{ template "x" }}', '{{ "{{" }} template "x" }}'),
        ("a {{{ b", 'a {{ "{{" }}{ b'),
        ("}} only closes", "}} only closes"),
        ("{ single }", "{ single }"),
    ],
)
def test_feed_text_is_never_read_as_listmonk_template_syntax(feed_text: str, kept: str) -> None:
    html = f"<html><body><h2>{feed_text}</h2></body></html>"
    body = listmonk_html(html, NEWSLETTER)
    assert f"<h2>{kept}</h2>" in body
    # The only actions left are the ones that print "{{" and listmonk's unsubscribe link.
    actions = re.findall(r"\{\{.*?\}\}", body.replace(LITERAL_BRACES, ""))
    assert actions == ["{{ UnsubscribeURL }}"]
    text = listmonk_text(f"Title: {feed_text}\n", NEWSLETTER)
    assert text.startswith(f"Title: {kept}\n")


def test_roundups_unsubscribe_link_becomes_listmonks() -> None:
    link = "https://example.org/roundup/unsubscribe/AbC_-9"
    body = listmonk_html(f'<a href="{link}">Unsubscribe</a></body>', NEWSLETTER)
    assert body == '<a href="{{ UnsubscribeURL }}">Unsubscribe</a></body>'
    assert listmonk_text(f"Leave: {link}\n", NEWSLETTER) == "Leave: {{ UnsubscribeURL }}\n"


def issue(date: datetime) -> IssueMail:
    return IssueMail(
        message_id="<roundup.2015-W33.1.abcdef12@example.org>",
        subject="Weekly: August 14, 2015",
        from_addr="Weekly <weekly@example.org>",
        date=date,
        text="Hello\n",
        html="<html><body>Hello</body></html>",
    )


@pytest.mark.parametrize(
    ("send_at", "date", "expected"),
    [
        ("friday 15:00", datetime(2015, 8, 14, 9, 0, tzinfo=UTC), "2015-08-14T13:00:00Z"),
        ("monday 09:00", datetime(2015, 8, 14, 9, 0, tzinfo=UTC), "2015-08-17T07:00:00Z"),
        ("friday 15:00", datetime(2015, 8, 14, 14, 0, tzinfo=UTC), None),  # past: start now
        ("", datetime(2015, 8, 14, 9, 0, tzinfo=UTC), None),
    ],
)
def test_a_campaign_made_before_send_at_is_scheduled_for_it(
    send_at: str, date: datetime, expected: str | None
) -> None:
    newsletter = replace(NEWSLETTER, send_at=send_at)
    mailer = ListmonkMailer(
        ListmonkSettings("http://127.0.0.1:9", (3,)), newsletter, login=("u", "t")
    )
    body = mailer.campaign(issue(date))
    assert body.get("send_at") == expected
    assert body.get("send_later", False) is (expected is not None)
    moment = scheduled_moment(issue(date), newsletter)
    assert (moment is None) is (expected is None)


def test_a_scheduled_campaign_is_scheduled_not_started(listmonk_server: Listmonk) -> None:
    newsletter = replace(NEWSLETTER, send_at="friday 15:00")
    settings = ListmonkSettings(listmonk_server.url, (3,), template_id=7)
    mailer = ListmonkMailer(settings, newsletter, login=("roundup", "listmonk-token"))
    data = _message(issue(datetime(2015, 8, 14, 9, 0, tzinfo=UTC)))
    outcome = mailer.send(TARGET, data, lambda: None)
    mailer.close()
    assert (outcome.status, outcome.detail) == ("accepted", "campaign 1 scheduled")
    assert listmonk_server.campaigns[0]["template_id"] == 7
    assert listmonk_server.campaigns[0]["send_at"] == "2015-08-14T13:00:00Z"
    assert listmonk_server.errors == []


def _message(mail: IssueMail) -> bytes:
    message = EmailMessage()
    message["From"] = mail.from_addr
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.date)
    message["Message-ID"] = mail.message_id
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message.as_bytes()


def test_a_test_copy_is_refused_with_a_list_engine(
    tmp_path: Path, listmonk_server: Listmonk
) -> None:
    """--test-to would post to every subscriber through the engine: refused, nothing sent."""
    config = project(tmp_path, listmonk_server)
    code, output = send(config, "--test-to", "editor@example.org")
    assert code == 1
    assert output.splitlines()[-1] == (
        "Error: --test-to sends one copy over SMTP, but delivery.via is listmonk: send the"
        " test from listmonk itself, or post to a test list"
    )
    assert listmonk_server.requests == []
