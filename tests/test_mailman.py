"""Delivery through a real GNU Mailman 3 core (``delivery.via: mailman``).

Mailman runs on 127.0.0.1 with SQLite (tests/mailmanserver.py); its outgoing mail lands in
an aiosmtpd sink, so each member's copies are counted. ``roundup send`` runs as a real
process, as cron runs it.
"""

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

from roundup import mailman as mailman_backend
from roundup.cli import cli
from roundup.config import load_config
from roundup.errors import SendError
from roundup.store import Store
from tests.mailmanserver import MODERATOR_PASSWORD, REST_PASSWORD, REST_USER, Mailman, mailman

__all__ = ["mailman"]  # the fixture, imported for pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-c", "from roundup.cli import main; main()"]
WEEK = "2015-W33"
MEMBERS = 50


def project(tmp_path: Path, mailman: Mailman, address: str) -> Path:
    """The bundled sample project delivering through ``address`` on ``mailman``, with
    2015-W33 built; returns its feeds.yaml."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = re.sub(r"(?m)^  to: .*\n", "", (ROOT / "feeds.yaml").read_text())
    text += (
        "delivery: {via: mailman}\n"
        f"mailman: {{api_url: '{mailman.api_url}', list: {address}, timeout: 60}}\n"
    )
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    built = CliRunner().invoke(cli, ["--config", str(path), "build", "--week", WEEK, "-q"])
    assert built.exit_code == 0, built.output
    return path


def environment(moderator_password: str = MODERATOR_PASSWORD) -> dict[str, str]:
    return {
        **os.environ,
        "ROUNDUP_SECRET": "test-secret",
        "MAILMAN_REST_USER": REST_USER,
        "MAILMAN_REST_PASSWORD": REST_PASSWORD,
        "MAILMAN_MODERATOR_PASSWORD": moderator_password,
    }


def send(
    config: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, "--config", str(config), "send", "--week", WEEK, *extra],
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def ledger(tmp_path: Path) -> dict[str, tuple[str, str]]:
    with Store.open(tmp_path / ".roundup" / "state.sqlite3") as store:
        return store.deliveries(WEEK)


def copies(mailman: Mailman, members: list[str]) -> dict[str, int]:
    return {who: mailman.sink.handler.count(who) for who in members}


def test_each_member_gets_exactly_one_copy_and_a_second_send_delivers_nothing(
    tmp_path: Path, mailman: Mailman
) -> None:
    members = [f"member{n:02d}@example.com" for n in range(MEMBERS)]
    mailman.create_list("weekly@lists.example.org", members)
    config = project(tmp_path, mailman, "weekly@lists.example.org")

    first = send(config)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"Sent {WEEK}: accepted for 1 recipient." in first.stdout
    assert ledger(tmp_path) == {
        "weekly@lists.example.org": (
            "accepted",
            "queued for the members of weekly@lists.example.org",
        )
    }
    mailman.wait_for_copies(members)
    assert set(copies(mailman, members).values()) == {1}
    received = [r for r in mailman.sink.handler.received if members[0] in r.rcpt_tos]
    message = received[0].message()
    assert message["Subject"].startswith("[Weekly] ")  # distributed by Mailman, not held
    assert message["Approved"] is None  # Mailman removed the password
    assert "roundup.2015-W33.1." in message["Message-ID"]

    second = send(config)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Skipped 1 recipient who already had it." in second.stdout
    time.sleep(2)  # give a stray post time to be processed, were there one
    mailman.wait_idle()
    assert set(copies(mailman, members).values()) == {1}


def test_kill_9_during_delivery_leaves_no_duplicate(tmp_path: Path, mailman: Mailman) -> None:
    """``roundup send`` killed with SIGKILL right after it marked the list in flight (the
    post may or may not have reached Mailman): the next sends deliver nothing more, and
    report the delivery as uncertain."""
    members = [f"kill{n:02d}@example.com" for n in range(MEMBERS)]
    mailman.create_list("killed@lists.example.org", members)
    config = project(tmp_path, mailman, "killed@lists.example.org")
    process = subprocess.Popen(
        [*COMMAND, "--config", str(config), "send", "--week", WEEK],
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not _in_flight(tmp_path):
            time.sleep(0.005)
    finally:
        process.kill()
        process.wait()
    assert _in_flight(tmp_path) or ledger(tmp_path), "the send never reached the handover"
    time.sleep(2)
    mailman.wait_idle()
    before = copies(mailman, members)
    assert len(set(before.values())) == 1 and max(before.values()) <= 1, before

    for _ in range(2):
        again = send(config)
        state, _detail = ledger(tmp_path)["killed@lists.example.org"]
        if state == "uncertain":
            assert again.returncode == 5, again.stdout + again.stderr
            assert "Uncertain: killed@lists.example.org: " in again.stdout
        else:  # the killed send recorded the acceptance before it died
            assert state == "accepted" and again.returncode == 0
    time.sleep(2)
    mailman.wait_idle()
    assert copies(mailman, members) == before


def test_a_copy_held_for_moderation_is_approved_not_posted_again(
    tmp_path: Path, mailman: Mailman
) -> None:
    """A wrong moderator password: Mailman holds the post. Sending again with --force finds
    the held copy by its Message-ID and approves it, so each member gets exactly one."""
    members = [f"held{n:02d}@example.com" for n in range(5)]
    list_id = mailman.create_list("held@lists.example.org", members)
    config = project(tmp_path, mailman, "held@lists.example.org")

    first = send(config, env=environment("not-the-password"))
    assert first.returncode == 0, first.stdout + first.stderr
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not mailman.api.get(f"/lists/{list_id}/held").json().get(
        "entries"
    ):
        time.sleep(0.5)
    held = mailman.api.get(f"/lists/{list_id}/held").json()["entries"]
    assert [entry["subject"] for entry in held] == [held[0]["subject"]]
    assert set(copies(mailman, members).values()) == {0}

    forced = send(config, "--force", "--yes")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    state, detail = ledger(tmp_path)["held@lists.example.org"]
    assert state == "accepted"
    assert re.fullmatch(r"the copy held for moderation \(request \d+\) was approved", detail)
    mailman.wait_for_copies(members)
    assert set(copies(mailman, members).values()) == {1}
    assert mailman.api.get(f"/lists/{list_id}/held").json().get("entries") is None


def _in_flight(tmp_path: Path) -> bool:
    path = tmp_path / ".roundup" / "state.sqlite3"
    if not path.exists():
        return False
    try:
        return bool(ledger(tmp_path))
    except Exception:  # the store is being created or migrated by the send
        return False


# --- without Mailman ----------------------------------------------------------------------------


def test_a_missing_credential_is_one_clear_line(tmp_path: Path) -> None:
    """No Mailman needed: the variables are checked before anything is posted."""
    path = tmp_path / "feeds.yaml"
    text = re.sub(r"(?m)^  to: .*\n", "", (ROOT / "feeds.yaml").read_text())
    text = text.replace("samples/", str(ROOT / "samples") + "/")
    text += (
        "delivery: {via: mailman}\nmailman: {api_url: 'http://127.0.0.1:9/3.1', list: n@l.org}\n"
    )
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    environ = {"MAILMAN_REST_USER": "u", "MAILMAN_REST_PASSWORD": "p"}
    with pytest.raises(SendError) as caught:
        mailman_backend.from_config(config, environ)
    assert str(caught.value) == (
        "$MAILMAN_MODERATOR_PASSWORD is not set (feeds.yaml's mailman: block names it)"
    )
    mailer = mailman_backend.from_config(config, {**environ, "MAILMAN_MODERATOR_PASSWORD": "m"})
    handed_over: list[bool] = []
    message = (
        b"From: a@example.org\r\nSubject: s\r\nDate: Fri, 14 Aug 2015 19:00:00 +0000\r\n"
        b"Message-ID: <roundup.2015-W33.1.x@example.org>\r\n\r\nHello\r\n"
    )
    outcome = mailer.send("n@l.org", message, lambda: handed_over.append(True))
    mailer.close()
    assert outcome.status == "pending" and outcome.unreachable and not handed_over
    assert outcome.detail.startswith("http://127.0.0.1:9/3.1: ConnectError")
    assert mailman_backend.destination(config) == "n@l.org"
