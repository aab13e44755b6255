"""What cron sees: failing feeds named once when they persist and once when they recover."""

from __future__ import annotations

import pytest

from roundup.pipeline import FeedReport, FetchReport, RunReport
from roundup.reporting import (
    feeds_worth_reporting,
    format_feed_line,
    format_fetch_summary,
    format_run_summary,
)
from roundup.send import SendReport


def report(*feeds: FeedReport) -> FetchReport:
    return FetchReport(tuple(feeds))


def failing(failures: int) -> FeedReport:
    return FeedReport("https://a.example/feed", "A", "failed", error="HTTP 500", failures=failures)


def working(recovered_after: int) -> FeedReport:
    return FeedReport("https://b.example/feed", "B", "fetched", recovered_after=recovered_after)


@pytest.mark.parametrize(
    ("feed", "named", "recovered"),
    [
        (failing(1), False, False),
        (failing(2), False, False),
        (failing(3), True, False),
        (failing(4), False, False),  # already named at 3; not every hour after
        (working(0), False, False),
        (working(2), False, False),  # never reported, so no recovery notice
        (working(3), False, True),
        (working(9), False, True),
    ],
)
def test_failures_reported_once_and_recovery_once(
    feed: FeedReport, named: bool, recovered: bool
) -> None:
    """With report_after 3, a feed is named at its third failure and when it recovers."""
    failing_now, recovered_now = feeds_worth_reporting(report(feed), after=3)
    assert (bool(failing_now), bool(recovered_now)) == (named, recovered)


def test_summary_lists_failures_and_redirects() -> None:
    """The summary counts each status and says what to do about failures and moves."""
    moved = FeedReport(
        "https://c.example/old", "C", "not_modified", moved_to="https://c.example/new"
    )
    text = format_fetch_summary(report(failing(1), working(0), moved))
    assert text == (
        "3 feeds: 1 fetched, 1 unchanged, 1 failed; 0 new entries.\n"
        "Failed:\n"
        "  A (https://a.example/feed): HTTP 500\n"
        "Moved permanently (update feeds.yaml):\n"
        "  https://c.example/old -> https://c.example/new\n"
    )


@pytest.mark.parametrize(
    ("feed", "line"),
    [
        (working(0), "fetched      B: 0 new"),
        (failing(1), "failed       A: HTTP 500"),
        (FeedReport("k", "C", "not_modified"), "not_modified C: not modified"),
    ],
)
def test_feed_lines(feed: FeedReport, line: str) -> None:
    """Each feed gets one fixed-width log line for cron mail."""
    assert format_feed_line(feed) == line


def warned(name: str, warning: str) -> FeedReport:
    return FeedReport(f"https://{name}.example/feed", name, "fetched", warnings=(warning,))


@pytest.mark.parametrize(
    ("feeds", "lines"),
    [
        ([warned("A", "w1")], ["  A: w1"]),
        ([warned("A", "w1"), warned("B", "w2")], ["  A: w1", "  B: w2"]),
        ([warned("A", "w1"), warned("B", "w1")], ["  2 feeds (A, B): w1"]),
        (
            [warned(n, "w1") for n in "ABCDE"] + [warned("F", "w2")],
            ["  5 feeds (A, B, C and 2 more): w1", "  F: w2"],
        ),
    ],
)
def test_the_same_warning_for_many_feeds_is_one_line(
    feeds: list[FeedReport], lines: list[str]
) -> None:
    """Feeds sharing a warning are folded into one line with a count."""
    text = format_fetch_summary(report(*feeds))
    assert text.split("Parsed with warnings (entries kept):\n", 1)[1] == "".join(
        line + "\n" for line in lines
    )


@pytest.mark.parametrize(
    ("warnings", "quiet", "expected"),
    [
        ((), True, ""),
        (
            ("subs.csv:3: skipped: 'x' is not an email address",),
            True,
            "Sent 2015-W33: accepted for 2 recipients.\n"
            "subs.csv:3: skipped: 'x' is not an email address\n",
        ),
        (
            (),
            False,
            "Drafted 2015-W33; sent 2015-W33.\nSent 2015-W33: accepted for 2 recipients.\n",
        ),
    ],
)
def test_a_quiet_run_still_names_the_subscriber_rows_left_out(
    warnings: tuple[str, ...], quiet: bool, expected: str
) -> None:
    """`run --quiet` (cron) prints nothing on a clean send, but a bad subscriber row is
    something to fix: it is printed even though every copy went out."""
    sent = SendReport("2015-W33", ("a@example.org", "b@example.org"), (), (), (), warnings=warnings)
    report = RunReport(FetchReport(()), "2015-W33", "2015-W33", "sent", send=sent)
    assert format_run_summary(report, report_after=3, quiet=quiet) == expected
