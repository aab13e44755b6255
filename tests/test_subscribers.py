"""The suppression list: `roundup subscribers` (exact output), and sends that skip it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click.testing
import pytest
from click.testing import CliRunner

from roundup import cli as cli_module
from roundup import smtp
from roundup.cli import cli
from roundup.mailer import Outcome
from roundup.send import describe_send, format_report
from roundup.store import SUBSCRIBED, UNSUBSCRIBED, StatusRecord, Store
from tests.smtpserver import SmtpServer, smtp_server
from tests.test_send import PEOPLE, ROOT, WEEK, Setup, env, store

__all__ = ["env", "smtp_server", "store"]  # fixtures, imported for pytest

NOW = datetime(2015, 8, 20, 9, 30, tzinfo=UTC)
EARLIER = datetime(2015, 8, 12, 18, 5, tzinfo=UTC)
ROWS = "email,name\nann@example.com,Ann\nBob@Example.com,Bob\ncy@example.com,Cy\n"


# --- sends skip the suppression list ---------------------------------------------------------


def unsubscribe(store: Store, *addresses: str, at: datetime = EARLIER) -> None:
    store.set_statuses([StatusRecord(a, UNSUBSCRIBED, at, "one-click") for a in addresses])


def test_send_skips_unsubscribed_and_says_how_many(env: Setup, smtp_server: SmtpServer) -> None:
    """Whoever unsubscribed gets nothing, has no ledger row, and the report counts them;
    the issue is still marked sent, and a second send sends nothing more."""
    unsubscribe(env.store, PEOPLE[1], PEOPLE[4].upper())
    report = env.send()
    again = env.send()
    assert report.unsubscribed == (PEOPLE[1], PEOPLE[4])
    assert report.accepted == tuple(p for p in PEOPLE if p not in report.unsubscribed)
    assert report.complete and again.accepted == () and again.complete
    assert format_report(report).splitlines() == [
        f"Sent {WEEK}: accepted for 4 recipients.",
        "Skipped 2 unsubscribed.",
    ]
    assert [smtp_server.handler.count(p) for p in PEOPLE] == [1, 0, 1, 1, 0, 1]
    assert set(env.store.deliveries(WEEK)) == set(report.accepted)
    issue = env.store.issue(WEEK)
    assert issue is not None and issue.sent


def test_the_plan_and_a_dry_run_count_them(env: Setup) -> None:
    unsubscribe(env.store, PEOPLE[0])
    plan = describe_send(draft=env.draft, config=env.config, store=env.store, dry_run=True)
    report = env.send(dry_run=True)
    assert plan.endswith(
        "to 5 recipients via 127.0.0.1:"
        f"{env.config.smtp.port if env.config.smtp else 0} (none). 1 unsubscribed will be"
        " skipped. Dry run: nothing is sent or recorded."
    )
    assert report.unsubscribed == (PEOPLE[0],) and PEOPLE[0] not in report.accepted


def test_an_unsubscribe_during_a_send_is_honoured(env: Setup, smtp_server: SmtpServer) -> None:
    """The list is checked before every copy: who unsubscribes mid-send gets nothing."""
    settings = env.config.smtp
    assert settings is not None

    class Unsubscribing(smtp.SmtpMailer):
        def send(self, recipient: str, message: bytes, on_handover: Callable[[], None]) -> Outcome:
            if recipient == PEOPLE[1]:
                unsubscribe(env.store, PEOPLE[3])
            return super().send(recipient, message, on_handover)

    report = env.send(connect=lambda: Unsubscribing(settings, envelope_from="roundup@example.org"))
    assert report.unsubscribed == (PEOPLE[3],) and report.complete
    assert smtp_server.handler.count(PEOPLE[3]) == 0
    assert format_report(report).splitlines()[1] == "Skipped 1 unsubscribed."


def test_a_test_copy_still_goes_to_an_unsubscribed_reviewer(
    env: Setup, smtp_server: SmtpServer
) -> None:
    """--test-to is the editor's explicit choice: the suppression list is for issues."""
    unsubscribe(env.store, "rev@example.org")
    report = env.send(test_to="rev@example.org")
    assert report.accepted == ("rev@example.org",)
    assert smtp_server.handler.count("rev@example.org") == 1


# --- roundup subscribers -----------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled project sending to subscribers.csv directly (no list address)."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = re.sub(r"(?m)^  to: .*\n", "", (ROOT / "feeds.yaml").read_text())
    text += "smtp: {host: 127.0.0.1, port: 2525, subscribers: subscribers.csv}\n"
    (tmp_path / "feeds.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "subscribers.csv").write_text(ROWS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_module, "now", lambda: NOW)
    monkeypatch.delenv("ROUNDUP_CONFIG", raising=False)
    return tmp_path


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), prog_name="roundup")


def record(project: Path, *records: StatusRecord) -> None:
    with Store.open(project / ".roundup" / "state.sqlite3") as store:
        store.set_statuses(records)


def test_list_shows_each_address_with_its_status(project: Path) -> None:
    record(
        project,
        StatusRecord("bob@example.com", UNSUBSCRIBED, EARLIER, "one-click"),
        StatusRecord("gone@example.net", UNSUBSCRIBED, NOW, "import"),
    )
    result = run("subscribers", "list")
    assert (result.exit_code, result.output) == (
        0,
        "ann@example.com   subscribed\n"
        "Bob@Example.com   unsubscribed  2015-08-12 18:05 UTC (one-click)\n"
        "cy@example.com    subscribed\n"
        "gone@example.net  unsubscribed  2015-08-20 09:30 UTC (import)  not in the"
        " subscribers file\n"
        "2 subscribed, 2 unsubscribed.\n",
    )
    only = run("subscribers", "list", "--status", "unsubscribed")
    assert only.output.splitlines() == [
        "Bob@Example.com   unsubscribed  2015-08-12 18:05 UTC (one-click)",
        "gone@example.net  unsubscribed  2015-08-20 09:30 UTC (import)  not in the subscribers"
        " file",
        "2 subscribed, 2 unsubscribed.",
    ]


def test_unsubscribe_by_hand(project: Path) -> None:
    """Someone wrote in to leave: one command; a second time says since when."""
    record(project, StatusRecord("cy@example.com", UNSUBSCRIBED, EARLIER, "one-click"))
    result = run("subscribers", "unsubscribe", "Ann@Example.com", "cy@example.com")
    assert (result.exit_code, result.output) == (
        0,
        "Unsubscribed ann@example.com (2015-08-20 09:30 UTC).\n"
        "cy@example.com was already unsubscribed (2015-08-12 18:05 UTC, one-click).\n",
    )
    bad = run("subscribers", "unsubscribe", "bob@example.com", "Bob <bob@example.com>")
    assert (bad.exit_code, bad.output) == (
        1,
        "Error: 'Bob <bob@example.com>' is not an email address (give bare addresses)\n",
    )
    assert run("subscribers", "list", "--status", "unsubscribed").output.splitlines() == [
        "ann@example.com  unsubscribed  2015-08-20 09:30 UTC (command)",
        "cy@example.com   unsubscribed  2015-08-12 18:05 UTC (one-click)",
        "1 subscribed, 2 unsubscribed.",
    ]


def test_export_writes_csv(project: Path) -> None:
    record(project, StatusRecord("cy@example.com", UNSUBSCRIBED, EARLIER, "page"))
    expected = (
        "email,name,status,since,how\n"
        "ann@example.com,Ann,subscribed,,\n"
        "Bob@Example.com,Bob,subscribed,,\n"
        "cy@example.com,Cy,unsubscribed,2015-08-12T18:05:00+00:00,page\n"
    )
    assert run("subscribers", "export").output == expected
    written = run("subscribers", "export", "-o", "out.csv")
    assert written.output == "Wrote 3 addresses to out.csv.\n"
    assert (project / "out.csv").read_text() == expected


def test_import_another_tools_export(project: Path) -> None:
    """Unsubscribed rows go on the suppression list with their time; new subscribed rows are
    appended to subscribers.csv (every existing byte kept); a bad row is named."""
    (project / "export.csv").write_text(
        "Email Address,name,status,since\n"
        "bob@example.com,Bob,unsubscribed,2015-07-01T10:00:00Z\n"
        "new@example.org,New Reader,subscribed,\n"
        "ann@example.com,Ann,active,\n"
        "not-an-address,X,subscribed,\n"
        "old@example.org,Old,cleaned,2015-06-01 08:00\n"
        "odd@example.org,Odd,pending,\n",
        encoding="utf-8",
    )
    result = run("subscribers", "import", "export.csv")
    assert (result.exit_code, result.output) == (
        0,
        f"Imported export.csv: 1 added to {project / 'subscribers.csv'}, 2 unsubscribed,"
        " 0 subscribed again, 1 unchanged.\n"
        "export.csv:5: skipped: 'not-an-address' is not an email address\n"
        "export.csv:7: skipped: unknown status 'pending' (expected subscribed or"
        " unsubscribed)\n",
    )
    assert (project / "subscribers.csv").read_text() == ROWS + "new@example.org,New Reader\n"
    listed = run("subscribers", "list").output.splitlines()
    assert listed == [
        "ann@example.com  subscribed",
        "Bob@Example.com  unsubscribed  2015-07-01 10:00 UTC (import)",
        "cy@example.com   subscribed",
        "new@example.org  subscribed",
        "old@example.org  unsubscribed  2015-06-01 08:00 UTC (import)  not in the subscribers file",
        "3 subscribed, 2 unsubscribed.",
    ]


def test_import_appends_to_a_csv_with_a_bom_and_crlf(project: Path) -> None:
    """A spreadsheet's CSV (byte order mark, CRLF, more columns): kept as it was, one row
    added in its style."""
    original = "\ufeffname,email,city\r\nAnn,ann@example.com,Oslo\r\n"
    (project / "subscribers.csv").write_text(original, encoding="utf-8", newline="")
    (project / "new.csv").write_text("email,name\nnew@example.org,New\n", encoding="utf-8")
    result = run("subscribers", "import", "new.csv", "--status", "subscribed")
    assert result.exit_code == 0, result.output
    written = (project / "subscribers.csv").read_bytes().decode("utf-8")
    assert written == original + "New,new@example.org,\r\n"


def test_import_never_resubscribes_by_accident(project: Path) -> None:
    record(project, StatusRecord("cy@example.com", UNSUBSCRIBED, EARLIER, "one-click"))
    (project / "back.csv").write_text("email\ncy@example.com\n", encoding="utf-8")
    kept = run("subscribers", "import", "back.csv", "--status", "subscribed")
    assert kept.output.splitlines()[1] == (
        "Left unsubscribed: cy@example.com (subscribed in the file, but they unsubscribed"
        " here; --resubscribe subscribes them again)."
    )
    again = run("subscribers", "import", "back.csv", "--status", "subscribed", "--resubscribe")
    assert again.output.startswith("Imported back.csv: 0 added to ")
    assert again.output.endswith(", 0 unsubscribed, 1 subscribed again, 0 unchanged.\n")
    with Store.open(project / ".roundup" / "state.sqlite3") as store:
        status = store.subscriber_status("cy@example.com")
    assert status == StatusRecord("cy@example.com", SUBSCRIBED, NOW, "import")


@pytest.mark.parametrize(
    ("content", "args", "error"),
    [
        (
            "email\nann@example.com\n",
            (),
            "Error: {path}:1: no 'status' column: say what the addresses are with --status"
            " subscribed or --status unsubscribed\n",
        ),
        (
            "address\nann@example.com\n",
            ("--status", "unsubscribed"),
            "Error: {path}:1: no 'email' column (the first line names the columns)\n",
        ),
    ],
)
def test_import_errors_are_one_line(
    project: Path, content: str, args: tuple[str, ...], error: str
) -> None:
    (project / "in.csv").write_text(content, encoding="utf-8")
    result = run("subscribers", "import", "in.csv", *args)
    assert (result.exit_code, result.output) == (1, error.format(path="in.csv"))


def test_subscribers_need_direct_sends(project: Path) -> None:
    """With list addresses only, there is no subscriber list here: the error says why."""
    text = (ROOT / "feeds.yaml").read_text()
    (project / "feeds.yaml").write_text(text, encoding="utf-8")
    result = run("subscribers", "list")
    assert (result.exit_code, result.output) == (
        1,
        f"Error: {project / 'feeds.yaml'}: smtp.subscribers is not set: subscribers and"
        " unsubscribes are for direct sends (a list address under newsletter.to is run by"
        " its list engine)\n",
    )
