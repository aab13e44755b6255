"""`roundup run` and approval, end to end: sample feeds, real SQLite, real aiosmtpd."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from roundup import cli as cli_module
from roundup.cli import cli
from roundup.config import Config, load_config
from roundup.draft_file import load_draft, save_draft
from roundup.lock import locked
from roundup.pipeline import approve_week, draft_path, run_once
from roundup.store import Store
from tests.smtpserver import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret"
# Friday 2015-08-14, New York: before and after the 15:00 send time.
BEFORE = datetime(2015, 8, 14, 18, 0, tzinfo=UTC)  # 14:00 EDT
AFTER = datetime(2015, 8, 14, 20, 0, tzinfo=UTC)  # 16:00 EDT
LIST = "roundup@lists.example.org"


@pytest.fixture
def smtp() -> SmtpServer:
    with SmtpServer() as server:
        yield server  # type: ignore[misc]


def project(tmp_path: Path, smtp: SmtpServer, *, extra: str = "") -> Config:
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = (ROOT / "feeds.yaml").read_text()
    text = text.replace("  max_items: 40", f'  send_at: "friday 15:00"\n{extra}  max_items: 40')
    text += f"smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}\n"
    (tmp_path / "feeds.yaml").write_text(text)
    return load_config(tmp_path / "feeds.yaml")


def run(config: Config, at: datetime) -> str:
    with Store.open(config.state) as store:
        return run_once(
            config, store, clock=lambda: at, secret=SECRET, sleep=lambda _s: None
        ).action


def test_not_due_sends_nothing(tmp_path: Path, smtp: SmtpServer) -> None:
    """Before send_at the draft is refreshed but nothing is sent; last week is not sent late."""
    config = project(tmp_path, smtp)
    assert run(config, BEFORE) == "missed"  # 2015-W32 was due a week ago: too late for cron
    assert draft_path(config, "2015-W33").exists()
    assert smtp.handler.count(LIST) == 0


def test_next_issue_waits_for_its_own_moment(tmp_path: Path, smtp: SmtpServer) -> None:
    """During the following week nothing more goes out until that week's send_at."""
    config = project(tmp_path, smtp)
    assert run(config, AFTER) == "sent"
    assert run(config, AFTER + timedelta(days=6, hours=-3)) == "already_sent"
    assert smtp.handler.count(LIST) == 1


def test_due_sends_once_however_often_it_runs(tmp_path: Path, smtp: SmtpServer) -> None:
    """Once due, the issue goes out once; hourly runs after that send nothing more."""
    config = project(tmp_path, smtp)
    assert run(config, AFTER) == "sent"
    assert run(config, AFTER + timedelta(hours=1)) == "already_sent"
    assert run(config, AFTER + timedelta(hours=2)) == "already_sent"
    assert smtp.handler.count(LIST) == 1
    message = smtp.handler.to(LIST)[0].message()
    assert message["Subject"] == "The Elicitor Weekly Roundup: August 14, 2015"
    assert (config.output_dir / "2015-W33" / "message.eml").exists()
    site = config.output_dir / "site"
    assert (site / "2015-08-14-the-elicitor-weekly-roundup" / "index.html").exists()
    assert (site / "index.html").exists() and (site / "feed.xml").exists()


def test_sent_links_are_not_repeated_next_week(tmp_path: Path, smtp: SmtpServer) -> None:
    """Links sent in one issue are skipped when the next week's draft is made."""
    config = project(tmp_path, smtp)
    run(config, AFTER)
    sent = {item.key for item in load_draft(draft_path(config, "2015-W33")).items}
    run(config, AFTER + timedelta(days=7))
    later = {item.key for item in load_draft(draft_path(config, "2015-W34")).items}
    assert sent and not sent & later


def test_overlapping_runs_send_once(tmp_path: Path, smtp: SmtpServer) -> None:
    """Two runs at once: one sends, the other finds the lock and exits 4."""
    config = project(tmp_path, smtp)
    results: list[int] = []

    def invoke() -> None:
        runner = CliRunner()
        result = runner.invoke(cli, ["--config", str(config.path), "run", "--quiet"])
        results.append(result.exit_code)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_module, "now", lambda: AFTER)
        mp.setenv("ROUNDUP_SECRET", SECRET)
        with locked(config.state):
            blocked = threading.Thread(target=invoke)
            blocked.start()
            blocked.join()
        invoke()
    assert results == [4, 0]
    assert smtp.handler.count(LIST) == 1


def test_empty_week_is_never_sent(tmp_path: Path, smtp: SmtpServer) -> None:
    """A due week with no items is not sent, and the run says so."""
    config = project(tmp_path, smtp)
    assert run(config, AFTER) == "sent"  # every sample entry is now stored and sent
    late = AFTER + timedelta(weeks=52)
    with Store.open(config.state) as store:
        report = run_once(config, store, clock=lambda: late, secret=SECRET)
    assert report.action == "quiet_skipped"
    assert smtp.handler.count(LIST) == 1  # the first issue only
    from roundup.reporting import format_run_summary

    assert format_run_summary(report, report_after=3, quiet=True).endswith(
        "2016-W32 has no items: skipped, nothing sent.\n"
    )


def test_approval_required_and_voided_by_an_edit(tmp_path: Path, smtp: SmtpServer) -> None:
    """With require_approval, run waits; approval sends; an edit after approval voids it."""
    config = project(tmp_path, smtp, extra="  require_approval: true\n")
    assert run(config, AFTER) == "awaiting_approval"
    with Store.open(config.state) as store:
        approve_week(config, store, week="2015-W33", by="jane", now=AFTER)
    path = draft_path(config, "2015-W33")
    draft = load_draft(path)
    save_draft(path, replace(draft, intro="A late change nobody approved."))
    assert run(config, AFTER + timedelta(minutes=5)) == "awaiting_approval"
    save_draft(path, draft)  # back to exactly what was approved
    assert run(config, AFTER + timedelta(minutes=10)) == "sent"
    assert smtp.handler.count(LIST) == 1


def test_cli_send_dry_run_and_test_copy(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`send --dry-run` delivers nothing; `--test-to` sends one [TEST] copy; `send` once."""
    config = project(tmp_path, smtp)
    monkeypatch.setattr(cli_module, "now", lambda: AFTER)
    monkeypatch.setenv("ROUNDUP_SECRET", SECRET)
    runner = CliRunner()
    base = ["--config", str(config.path)]
    assert runner.invoke(cli, [*base, "build", "--week", "2015-W33", "-q"]).exit_code == 0
    dry = runner.invoke(cli, [*base, "send", "--week", "2015-W33", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert smtp.handler.count(LIST) == 0
    test = runner.invoke(cli, [*base, "send", "-w", "2015-W33", "--test-to", "ed@example.org"])
    assert test.exit_code == 0, test.output
    assert smtp.handler.to("ed@example.org")[0].message()["Subject"].startswith("[TEST] ")
    real = runner.invoke(cli, [*base, "send", "--week", "2015-W33"])
    again = runner.invoke(cli, [*base, "send", "--week", "2015-W33"])
    assert (real.exit_code, again.exit_code) == (0, 0)
    assert smtp.handler.count(LIST) == 1
    assert "Skipped 1 recipient who already had it." in again.output


def test_quiet_run_prints_nothing_on_success(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cron mails whatever a job prints: a quiet, successful run prints nothing at all."""
    config = project(tmp_path, smtp)
    monkeypatch.setattr(cli_module, "now", lambda: AFTER)
    monkeypatch.setenv("ROUNDUP_SECRET", SECRET)
    result = CliRunner().invoke(cli, ["--config", str(config.path), "run", "--quiet"])
    assert (result.exit_code, result.output) == (0, "")
    assert smtp.handler.count(LIST) == 1
    loud = CliRunner().invoke(cli, ["--config", str(config.path), "run"])
    assert "Drafted 2015-W33; 2015-W33 was already sent." in loud.output


def test_cli_force_send_says_what_it_will_do_and_asks(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`send --force` describes the re-send and sends nothing unless the answer is yes."""
    config = project(tmp_path, smtp)
    monkeypatch.setattr(cli_module, "now", lambda: AFTER)
    monkeypatch.setenv("ROUNDUP_SECRET", SECRET)
    base = ["--config", str(config.path)]
    runner = CliRunner()
    runner.invoke(cli, [*base, "build", "--week", "2015-W33", "-q"])
    assert runner.invoke(cli, [*base, "send", "--week", "2015-W33"]).exit_code == 0
    declined = runner.invoke(cli, [*base, "send", "-w", "2015-W33", "--force"], input="n\n")
    assert declined.exit_code == 1
    assert "--force: first forgetting the 1 recorded delivery of 2015-W33" in declined.output
    assert smtp.handler.count(LIST) == 1
    accepted = runner.invoke(cli, [*base, "send", "-w", "2015-W33", "--force"], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert smtp.handler.count(LIST) == 2


def test_approval_freezes_the_draft_until_it_is_sent(tmp_path: Path, smtp: SmtpServer) -> None:
    """A post arriving after approval waits for the next issue; cron sends what was approved."""
    config = project(tmp_path, smtp, extra="  require_approval: true\n")
    assert run(config, BEFORE) == "missed"  # fetches and drafts 2015-W33; nothing due yet
    with Store.open(config.state) as store:
        approve_week(config, store, week="2015-W33", by="jane", now=BEFORE)
    approved = load_draft(draft_path(config, "2015-W33"))
    late_post = tmp_path / "samples" / "late.rss"
    late_post.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Late Desk</title>'
        "<link>https://late.example.org/</link><item><title>Filed after the approval</title>"
        "<link>https://late.example.org/after</link>"
        "<pubDate>Fri, 14 Aug 2015 12:00:00 -0400</pubDate></item></channel></rss>"
    )
    path = config.path
    path.write_text(path.read_text().replace("feeds:\n", "feeds:\n  - url: samples/late.rss\n", 1))
    config = load_config(path)
    assert run(config, AFTER) == "sent"
    assert load_draft(draft_path(config, "2015-W33")) == approved
    body = smtp.handler.to(LIST)[0].message().get_body(("plain",)).get_content()
    assert "Filed after the approval" not in body
    assert approved.items[0].title.split(":")[0] in body


# --- a sent issue is history -----------------------------------------------------------------

ISSUE_FILES = (
    "draft.yaml",
    "email.html",
    "email.txt",
    "2015-08-14-the-elicitor-weekly-roundup.md",  # post.md, named as site generators expect
    "post.html",
    "message.eml",
)


def add_late_feed(config: Config, tmp_path: Path, published: str) -> Config:
    """A feed with one post published at ``published`` (RFC 822), listed in feeds.yaml."""
    (tmp_path / "samples" / "late.rss").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Late Desk</title>'
        "<link>https://late.example.org/</link><item><title>Filed after the send</title>"
        f"<link>https://late.example.org/after</link><pubDate>{published}</pubDate>"
        "</item></channel></rss>"
    )
    path = config.path
    path.write_text(path.read_text().replace("feeds:\n", "feeds:\n  - url: samples/late.rss\n", 1))
    return load_config(path)


def snapshot(config: Config) -> dict[str, bytes]:
    folder = config.output_dir / "2015-W33"
    return {name: (folder / name).read_bytes() for name in ISSUE_FILES}


def test_runs_after_the_send_leave_the_sent_issue_alone(tmp_path: Path, smtp: SmtpServer) -> None:
    """Later runs in the same week change none of the sent issue's files; the post filed
    after the send goes into the next issue instead of being lost between two."""
    config = project(tmp_path, smtp)
    assert run(config, AFTER) == "sent"
    sent = snapshot(config)
    # 17:00 EDT, after the 15:00 send and inside 2015-W33's window
    config = add_late_feed(config, tmp_path, "Fri, 14 Aug 2015 17:00:00 -0400")
    assert run(config, AFTER + timedelta(hours=2)) == "already_sent"
    assert snapshot(config) == sent
    assert run(config, AFTER + timedelta(days=7)) == "sent"
    titles = [item.title for item in load_draft(draft_path(config, "2015-W34")).items]
    assert "Filed after the send" in titles
    assert smtp.handler.count(LIST) == 2


def test_draft_and_render_refuse_a_sent_week(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`draft` and `render` on a sent week exit 1 with one line; `--force` says what it will
    do and asks, and only a yes rewrites the files."""
    config = project(tmp_path, smtp)
    assert run(config, AFTER) == "sent"
    sent = snapshot(config)
    monkeypatch.setattr(cli_module, "now", lambda: AFTER)
    base = ["--config", str(config.path)]
    runner = CliRunner()
    for command in ("draft", "render"):
        refused = runner.invoke(cli, [*base, command, "--week", "2015-W33"])
        assert refused.exit_code == 1
        verb = "rewrite its draft" if command == "draft" else "rewrite its files"
        assert refused.output == (
            "Error: 2015-W33 was sent as issue 1 on 2015-08-14 20:00 UTC: its draft and files"
            f" are frozen, so roundup will not {verb} (new posts wait for the next issue;"
            " --force does it anyway)\n"
        )
        declined = runner.invoke(cli, [*base, command, "-w", "2015-W33", "--force"], input="n\n")
        assert declined.exit_code == 1
        assert "2015-W33 was already sent: --force will rewrite" in declined.output
    approve = runner.invoke(cli, [*base, "approve", "--week", "2015-W33", "--by", "ann"])
    assert (approve.exit_code, approve.output) == (
        1,
        "Error: 2015-W33 was sent as issue 1 on 2015-08-14 20:00 UTC: its draft and files are"
        " frozen, so roundup will not approve it (it went out as it was)\n",
    )
    assert snapshot(config) == sent
    forced = runner.invoke(cli, [*base, "render", "-w", "2015-W33", "--force", "--yes"])
    assert forced.exit_code == 0, forced.output


def test_the_desk_cannot_change_a_sent_issue(tmp_path: Path, smtp: SmtpServer) -> None:
    """An edit through the orchestrator (the desk's only way to write) is refused."""
    from roundup.errors import IssueSent
    from roundup.pipeline import edit_draft

    config = project(tmp_path, smtp)
    assert run(config, AFTER) == "sent"
    sent = snapshot(config)
    touched: list[bool] = []
    with pytest.raises(IssueSent, match="will not change it"):
        edit_draft(config, "2015-W33", lambda: touched.append(True) or None)
    assert touched == [] and snapshot(config) == sent


def test_a_second_send_of_a_sent_issue_rewrites_nothing(tmp_path: Path, smtp: SmtpServer) -> None:
    """`send` on a sent week skips everyone and leaves message.eml and the outputs alone."""
    from roundup.pipeline import send

    config = project(tmp_path, smtp)
    assert run(config, AFTER) == "sent"
    sent = snapshot(config)
    report = send(config, week="2015-W33", clock=lambda: AFTER + timedelta(hours=1), secret=SECRET)
    assert report.accepted == () and report.skipped == (LIST,)
    assert snapshot(config) == sent


def made(config: Config, week: str = "2015-W33") -> dict[str, tuple[int, bytes]]:
    """Each file of the week's folder: its modification time and its bytes."""
    folder = config.output_dir / week
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir())}


def test_an_idle_hour_rewrites_nothing(tmp_path: Path, smtp: SmtpServer) -> None:
    """Nothing new, nothing edited: the next hour leaves the draft and the files alone; a
    change to feeds.yaml, or a file deleted by hand, makes them again, byte for byte."""
    config = project(tmp_path, smtp)
    assert run(config, BEFORE) == "missed"
    first = made(config)
    (post,) = [name for name in first if name.endswith(".md")]  # named for the issue
    assert {"draft.yaml", "email.html", "email.txt", post, "post.html"} <= set(first)
    assert run(config, BEFORE + timedelta(minutes=10)) == "missed"
    assert made(config) == first  # not even rewritten with the same bytes
    with config.path.open("a") as handle:
        handle.write("# a comment changes nothing in the issue, but the file changed\n")
    assert run(config, BEFORE + timedelta(minutes=20)) == "missed"
    again = made(config)
    assert {name: data for name, (_, data) in again.items()} == {
        name: data for name, (_, data) in first.items()
    }
    assert again["email.html"][0] != first["email.html"][0]
    (config.output_dir / "2015-W33" / post).unlink()
    assert run(config, BEFORE + timedelta(minutes=30)) == "missed"
    assert made(config)[post][1] == first[post][1]


def test_an_edited_draft_is_rendered_in_the_next_hour(tmp_path: Path, smtp: SmtpServer) -> None:
    """An editor's change to draft.yaml reaches the files at the next run."""
    config = project(tmp_path, smtp)
    run(config, BEFORE)
    path = draft_path(config, "2015-W33")
    draft = load_draft(path)
    save_draft(path, replace(draft, intro="A word from the editor."))
    run(config, BEFORE + timedelta(minutes=10))
    assert "A word from the editor." in (path.parent / "email.txt").read_text()


def test_old_entries_are_pruned_once_a_week(tmp_path: Path, smtp: SmtpServer) -> None:
    """store.keep_days: the weekly run deletes entries older than that which no issue used."""
    config = project(tmp_path, smtp, extra="")
    config = replace(config, store=replace(config.store, keep_days=30))
    assert run(config, AFTER) == "sent"
    with Store.open(config.state) as store:
        stored = store.count_entries()
        sent = set(store.sent_urls())
    later = AFTER + timedelta(days=3)
    assert run(config, later) == "already_sent"  # within a week of the last pruning
    with Store.open(config.state) as store:
        assert store.count_entries() == stored
    assert run(config, AFTER + timedelta(days=400)) in ("missed", "not_due", "empty")
    with Store.open(config.state) as store:
        left = store.entries_between(datetime(1970, 1, 1, tzinfo=UTC), AFTER)
        assert left and {entry.canonical_url for entry in left} <= sent
        assert store.count_entries() < stored
