"""Delivery as a Buttondown email (``delivery.via: buttondown``), against a local stand-in
for Buttondown's API that checks every request body against Buttondown's published API
description and honours ``X-Idempotency-Key`` (tests/apiserver.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from roundup.buttondown import buttondown_html
from roundup.cli import cli
from roundup.store import Store
from tests.apiserver import Buttondown, buttondown_server

__all__ = ["buttondown_server"]  # the fixture, imported for pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-c", "from roundup.cli import main; main()"]
WEEK = "2015-W33"
ENV = {"ROUNDUP_SECRET": "test-secret", "BUTTONDOWN_API_KEY": "buttondown-key"}


def project(tmp_path: Path, server: Buttondown, block: str = "", send_at: str = "") -> Path:
    """The bundled sample project delivering through ``server``, 2015-W33 built."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = re.sub(r"(?m)^  to: .*\n", "", (ROOT / "feeds.yaml").read_text())
    if send_at:
        text = text.replace("newsletter:\n", f'newsletter:\n  send_at: "{send_at}"\n', 1)
    text += f"delivery: {{via: buttondown}}\nbuttondown: {{api_url: '{server.url}/v1'{block}}}\n"
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


def posts(server: Buttondown) -> list[str]:
    return [r.headers.get("x-idempotency-key", "") for r in server.requests if r.method == "POST"]


def test_the_issue_becomes_one_draft_with_an_idempotency_key(
    tmp_path: Path, buttondown_server: Buttondown
) -> None:
    config = project(tmp_path, buttondown_server)
    code, output = send(config)
    assert code == 0, output
    assert "as a Buttondown email (draft)" in output
    assert buttondown_server.errors == []
    [email] = buttondown_server.emails
    assert email["status"] == "draft"  # never the default, which sends at once
    assert email["subject"] == "The Elicitor Weekly Roundup: August 14, 2015"
    assert email["body"].startswith("<!DOCTYPE html>")
    [key] = posts(buttondown_server)
    assert re.fullmatch(r"roundup-[0-9a-f]{24}", key)
    assert email["metadata"] == {"roundup_issue": key}
    assert ledger(tmp_path) == {"buttondown": ("accepted", f"email {email['id']} created as draft")}

    code, output = send(config)
    assert code == 0 and "Skipped 1 recipient who already had it." in output
    assert len(posts(buttondown_server)) == 1


@pytest.mark.parametrize("keys_kept", [True, False], ids=["key-remembered", "key-expired"])
def test_a_crash_after_the_email_was_created_never_makes_a_second(
    tmp_path: Path, buttondown_server: Buttondown, keys_kept: bool
) -> None:
    """Killed while Buttondown answered the creation: the next send asks Buttondown first,
    finds the email (by its metadata, or through the idempotency key) and creates none."""
    buttondown_server.keep_keys = keys_kept
    config = project(tmp_path, buttondown_server)
    buttondown_server.hold["POST /v1/emails"] = 60.0
    process = subprocess.Popen(
        [*COMMAND, "--config", str(config), "send", "--week", WEEK],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not buttondown_server.emails:
            time.sleep(0.01)
    finally:
        process.kill()
        process.wait()
        del buttondown_server.hold["POST /v1/emails"]
    assert len(buttondown_server.emails) == 1
    assert ledger(tmp_path) == {"buttondown": ("in_flight", "")}

    code, output = send(config)
    assert code == 0, output
    assert "Rechecked: " in output
    email = buttondown_server.emails[0]
    assert ledger(tmp_path) == {
        "buttondown": ("accepted", f"email {email['id']} was already draft")
    }
    assert len(buttondown_server.emails) == 1 and len(posts(buttondown_server)) == 1


def test_a_lost_answer_is_retried_with_the_same_key(
    tmp_path: Path, buttondown_server: Buttondown
) -> None:
    """The metadata lookup misses (as if Buttondown's list were stale) and the answer to
    the creation was lost: the retry carries the same key, so Buttondown hands back the
    email it made instead of making a second one."""
    config = project(tmp_path, buttondown_server)
    buttondown_server.drop.add("POST /v1/emails")
    code, output = send(config)
    assert code == 5 and "Uncertain: buttondown: connection lost creating the email" in output
    buttondown_server.drop.clear()
    buttondown_server.emails[0]["metadata"] = {}  # the lookup will not find it
    code, output = send(config)
    assert code == 0, output
    first, second = posts(buttondown_server)
    assert first == second and len(buttondown_server.emails) == 1


def test_scheduled_needs_a_send_at_that_is_still_ahead(
    tmp_path: Path, buttondown_server: Buttondown
) -> None:
    """The sample issue's send_at moment is long past: a clear line, nothing created."""
    config = project(tmp_path, buttondown_server, ", status: scheduled", "friday 15:00")
    code, output = send(config)
    assert code == 1
    assert output.splitlines()[-1] == (
        "Error: buttondown.status is scheduled but newsletter.send_at has passed for this"
        " issue; send it as a draft (buttondown.status: draft) or from Buttondown"
    )
    assert buttondown_server.requests == []


def test_a_refused_key_is_one_clear_line(tmp_path: Path, buttondown_server: Buttondown) -> None:
    config = project(tmp_path, buttondown_server)
    code, output = send(config, env={**ENV, "BUTTONDOWN_API_KEY": "wrong"})
    assert code == 1
    assert output.splitlines()[-1] == (
        "Error: buttondown: the API key was refused (401 Unauthorized:"
        ' {"message": "invalid credentials"}); check $BUTTONDOWN_API_KEY'
    )


@pytest.mark.parametrize(
    ("feed_text", "kept"),
    [
        ("{{ subscriber.email }}", "&#123;{ subscriber.email }}"),
        ("{% if x %}", "&#123;% if x %}"),
        ("{# note #}", "&#123;# note #}"),
        ("{ single } and }}", "{ single } and }}"),
    ],
)
def test_feed_text_is_never_read_as_buttondown_template_syntax(feed_text: str, kept: str) -> None:
    assert buttondown_html(f"<p>{feed_text}</p>") == f"<p>{kept}</p>"
