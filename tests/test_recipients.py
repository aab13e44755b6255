"""Who an issue goes to: the subscribers CSV, bad rows in it, and newsletter.to beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from roundup.cli import cli
from roundup.config import SmtpSettings, parse_config
from roundup.errors import ConfigError, SendError
from roundup.recipients import load_recipients, recipients_for
from roundup.send import format_report
from roundup.store import Store
from tests.smtpserver import SmtpServer, smtp_server
from tests.test_send import ROOT, WEEK, cli_project, make_config, setup_for

__all__ = ["smtp_server"]  # the fixture, imported for pytest

BAD_ROWS = (
    "email,name\r\n"
    "a@example.com,Ann\r\n"  # 2
    '"b@example.com"x,Bob\r\n'  # 3: a quote in the middle of a field
    'c@example.com,"Cy\r\nBcc: evil@example.com"\r\n'  # 4-5: CRLF in the name
    ",Nobody\r\n"  # 6
    "A@EXAMPLE.COM,Ann again\r\n"  # 7
    "not-an-address,Zed\r\n"  # 8
    "\r\n"  # 9: a blank line, not a row
    'e@example.com,"Dee, E."\r\n'  # 10
)


def skipped(path: Path) -> list[str]:
    return [
        f"{path}:3: skipped: not valid CSV (',' expected after '\"')",
        f"{path}:4: skipped: the name 'Cy\\r\\nBcc: evil@example.com' holds a line break"
        " or control character",
        f"{path}:6: skipped: no address in the email column",
        f"{path}:7: skipped: A@EXAMPLE.COM is already on line 2",
        f"{path}:8: skipped: 'not-an-address' is not an email address",
    ]


def subscribers_config(tmp_path: Path, rows: str | bytes) -> Path:
    path = tmp_path / "subs.csv"
    if isinstance(rows, bytes):
        path.write_bytes(rows)
    else:
        path.write_text(rows, encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "email\na@example.com\n\nb@example.com\nA@EXAMPLE.COM\n",
            ["a@example.com", "b@example.com"],
        ),
        ("name,Email\nAnn,a@example.com\nBob,  \n", ["a@example.com"]),
        ("\ufeffemail,name\nAnn <a@example.com>,Ann\n", ["a@example.com"]),
    ],
)
def test_recipients_from_csv(tmp_path: Path, rows: str, expected: list[str]) -> None:
    """The email column is read; blanks and duplicates (any case) are left out."""
    path = subscribers_config(tmp_path, rows)
    config = make_config(tmp_path, SmtpSettings(host="h", subscribers=path))
    assert recipients_for(config) == expected


def test_bad_rows_are_skipped_with_a_warning_naming_file_and_line(tmp_path: Path) -> None:
    """No address, an invalid one, CRLF in the name, a duplicate, broken quoting: each row is
    left out with one warning naming the file and the line it starts on; the rest are read."""
    path = subscribers_config(tmp_path, BAD_ROWS)
    listed = load_recipients(make_config(tmp_path, SmtpSettings(host="h", subscribers=path)))
    assert [(r.address, r.to) for r in listed.recipients] == [
        ("a@example.com", "Ann <a@example.com>"),
        ("e@example.com", '"Dee, E." <e@example.com>'),
    ]
    assert list(listed.skipped) == skipped(path)


def test_a_line_that_is_not_utf8_is_skipped(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 spoil their own line only."""
    path = subscribers_config(tmp_path, b"email\nd\xff@example.com\na@example.com\n")
    listed = load_recipients(make_config(tmp_path, SmtpSettings(host="h", subscribers=path)))
    assert [r.address for r in listed.recipients] == ["a@example.com"]
    assert listed.skipped == (f"{path}:2: skipped: the line is not valid UTF-8",)


def test_an_unterminated_quote_is_reported_where_it_starts(tmp_path: Path) -> None:
    """A quote left open swallows the rest of the file: reported at the line it opens on."""
    path = subscribers_config(tmp_path, 'email\na@example.com\n"b@example.com\nc@example.com\n')
    listed = load_recipients(make_config(tmp_path, SmtpSettings(host="h", subscribers=path)))
    assert [r.address for r in listed.recipients] == ["a@example.com"]
    assert listed.skipped == (f"{path}:3: skipped: not valid CSV (unexpected end of data)",)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("mail\na@example.com\n", r"subs\.csv:1: no 'email' column"),
        ("", r"subs\.csv:1: no 'email' column"),
        ('"email\n', r"subs\.csv:1: not valid CSV \(unexpected end of data\)"),
        ("email\n\n", r"subs\.csv: no subscribers in it: nothing to send$"),
        (
            "email\nnot-an-address\n,\nx@\n",
            r"subs\.csv: no subscribers in it: nothing to send \(.*subs\.csv:2: skipped: "
            r"'not-an-address' is not an email address; .*subs\.csv:4: skipped: 'x@' is not",
        ),
    ],
)
def test_a_file_nobody_can_be_sent_from_is_a_send_error(
    tmp_path: Path, rows: str, message: str
) -> None:
    """Only a file that cannot be used at all stops the send, naming the file (and line)."""
    path = subscribers_config(tmp_path, rows)
    config = make_config(tmp_path, SmtpSettings(host="h", subscribers=path))
    with pytest.raises(SendError, match=message):
        recipients_for(config)


def test_a_send_skips_bad_rows_and_reports_them(
    tmp_path: Path, store: Store, smtp_server: SmtpServer
) -> None:
    """The good rows are sent to, once each; the report lists every row left out, and no
    header a name tried to smuggle in reaches the server."""
    path = subscribers_config(tmp_path, BAD_ROWS)
    setup = setup_for(tmp_path, store, smtp_server.settings(subscribers=path))
    report = setup.send()
    assert report.accepted == ("a@example.com", "e@example.com") and report.complete
    assert list(report.warnings) == skipped(path)
    assert format_report(report).splitlines()[1:] == skipped(path)
    assert all(b"evil@" not in received.data for received in smtp_server.handler.received)


def test_cli_dry_run_reports_the_bad_rows(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """`roundup send --dry-run` prints the plan, who it would go to, and each bad row."""
    config = cli_project(tmp_path, smtp_server, BAD_ROWS)
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "send", "--week", WEEK, "--dry-run"],
        env={"ROUNDUP_SECRET": "a long random signing secret for the test"},
    )
    path = tmp_path / "subscribers.csv"
    assert (result.exit_code, result.output) == (
        0,
        f"Would send {WEEK} (issue 1, “The Elicitor Weekly Roundup: August 14, 2015”) to 2"
        f" recipients via 127.0.0.1:{smtp_server.port} (none). Dry run: nothing is sent or"
        " recorded.\n"
        f"Dry run for {WEEK}: would go to 2 recipients.\n"
        + "".join(line + "\n" for line in skipped(path)),
    )
    assert smtp_server.handler.rcpt_count == 0


def test_list_addresses_and_subscribers_together_are_a_config_error(tmp_path: Path) -> None:
    """newsletter.to and smtp.subscribers both set: refused, saying what each one is for."""
    text = (ROOT / "feeds.yaml").read_text() + "smtp:\n  host: h\n  subscribers: subs.csv\n"
    line = len(text.splitlines())
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "feeds.yaml")
    assert str(caught.value) == (
        f"{tmp_path / 'feeds.yaml'}:{line}: smtp.subscribers: set newsletter.to or"
        " smtp.subscribers, not both: newsletter.to sends one copy to each list address (a"
        " mailing list that passes it on to its members), smtp.subscribers sends each"
        " address in the CSV file its own copy; remove the one you do not use"
    )


def test_both_set_in_code_is_refused_too(tmp_path: Path) -> None:
    """A Config built in code with both never silently picks one."""
    smtp = SmtpSettings(host="h", subscribers=tmp_path / "subs.csv")
    config = make_config(tmp_path, smtp, to=("List <l@lists.example.org>",))
    with pytest.raises(SendError, match=r"set newsletter\.to or smtp\.subscribers, not both"):
        recipients_for(config)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.sqlite3") as opened:
        yield opened
