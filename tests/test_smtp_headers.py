"""``smtp.headers``: extra header lines for an ESP relay, validated, added at the SMTP edge."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from roundup.config import parse_config
from roundup.errors import ConfigError
from roundup.message import write_eml
from roundup.store import Store
from tests.smtpserver import SmtpServer, smtp_server
from tests.test_send import PEOPLE, setup_for

__all__ = ["smtp_server"]  # the fixture, imported for pytest

P = Path("/srv/news/feeds.yaml")
BASE = """\
newsletter:
  title: The Elicitor Weekly Roundup
  url: https://example.org/roundup/
  from: "The Elicitor <roundup@example.org>"
feeds:
  - url: https://example.org/feed.xml
smtp:
  host: smtp.postmarkapp.com
  subscribers: subscribers.csv
"""


def with_headers(block: str) -> str:
    return BASE + "  headers:\n" + "".join(f"    {line}\n" for line in block.splitlines())


def test_headers_are_read_in_order() -> None:
    config = parse_config(
        with_headers("X-PM-Message-Stream: broadcast\nX-SES-CONFIGURATION-SET: weekly\nX-N: 7"),
        P,
    )
    assert config.smtp is not None
    assert config.smtp.headers == (
        ("X-PM-Message-Stream", "broadcast"),
        ("X-SES-CONFIGURATION-SET", "weekly"),
        ("X-N", "7"),
    )
    assert parse_config(BASE, P).smtp.headers == ()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("From: boss@example.org", "smtp.headers.From: roundup sets this header itself"),
        ("subject: Hi", "smtp.headers.subject: roundup sets this header itself"),
        ("Message-ID: <x@y>", "smtp.headers.Message-ID: roundup sets this header itself"),
        ("List-Unsubscribe: <x>", "smtp.headers.List-Unsubscribe: roundup sets this header"),
        ("Content-Type: text/plain", "smtp.headers.Content-Type: roundup sets this header"),
        ("Bcc: all@example.org", "smtp.headers.Bcc: roundup sets this header itself"),
        ('X-Evil: "a\\r\\nBcc: all@example.org"', "must be printable ASCII on one line"),
        ('X-Evil: "line\\nbreak"', "must be printable ASCII on one line (no CR or LF)"),
        ("X-Tag: café", "must be printable ASCII on one line"),
        ("X-Empty: ''", "smtp.headers.X-Empty: expected a text value, got ''"),
        ("X-Flag: true", "smtp.headers.X-Flag: expected a text value, got true (a boolean)"),
        ("X-List: [a, b]", "smtp.headers.X-List: expected a text value, got a list"),
        ("X-A: 1\nx-a: 2", "smtp.headers.x-a: listed twice (header names ignore case)"),
        ('"X Space": 1', "smtp.headers.X Space: not a header name"),
        ("X-Long: " + "a" * 1000, "smtp.headers.X-Long: longer than 998 characters"),
    ],
)
def test_bad_headers_are_refused(block: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(with_headers(block), P)
    assert message in str(caught.value)
    assert str(caught.value).startswith("/srv/news/feeds.yaml:")


def test_headers_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match=r"smtp\.headers: expected a mapping of header names"):
        parse_config(BASE + "  headers: [X-A]\n", P)


def test_the_relay_gets_the_headers_and_message_eml_does_not(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """Every copy reaches the server with the extra headers once; message.eml is as before."""
    extra = (("X-PM-Message-Stream", "broadcast"), ("X-SES-CONFIGURATION-SET", "weekly"))
    with Store.open(tmp_path / "state.sqlite3") as store:
        setup = setup_for(tmp_path, store, smtp_server.settings(headers=extra))
        report = setup.send()
    assert report.complete and len(smtp_server.handler.received) == len(PEOPLE)
    for received in smtp_server.handler.received:
        message = received.message()
        assert message.get_all("X-PM-Message-Stream") == ["broadcast"]
        assert message.get_all("X-SES-CONFIGURATION-SET") == ["weekly"]
        assert message.get_all("From") == ["The Elicitor <roundup@example.org>"]
    eml = tmp_path / "message.eml"
    write_eml(eml, setup.message)
    assert b"X-PM-Message-Stream" not in eml.read_bytes()


def test_a_test_copy_carries_them_too(tmp_path: Path, smtp_server: SmtpServer) -> None:
    settings = replace(smtp_server.settings(), headers=(("X-PM-Message-Stream", "outbound"),))
    with Store.open(tmp_path / "state.sqlite3") as store:
        setup_for(tmp_path, store, settings).send(test_to="rev@example.org")
    (received,) = smtp_server.handler.to("rev@example.org")
    assert received.message()["X-PM-Message-Stream"] == "outbound"
