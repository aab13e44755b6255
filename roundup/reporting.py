"""What the commands print: pure ``format_*`` functions, and the progress display.

Kept apart from the CLI so the texts can be tested exactly and reused by the editor's desk.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import click

from roundup.pipeline import (
    BriefingReport,
    DraftResult,
    FeedReport,
    FetchReport,
    RenderResult,
    RunReport,
)


def format_feed_line(report: FeedReport) -> str:
    """One log line per feed, for cron mail and other non-terminal output."""
    if report.status == "fetched":
        detail = f"{report.new_entries} new"
    elif report.status in ("failed", "gone"):
        detail = report.error or report.status
    else:
        detail = "not modified" if report.status == "not_modified" else "unchanged"
    return f"{report.status:<12} {report.name}: {detail}"


def format_fetch_summary(report: FetchReport, *, quiet: bool = False) -> str:
    """The end-of-run summary: counts, then every failure and redirect with what to do."""
    lines: list[str] = []
    if not quiet:
        lines.append(
            f"{len(report.feeds)} feeds: {report.count('fetched')} fetched, "
            f"{report.count('not_modified', 'unchanged')} unchanged, "
            f"{len(report.failed)} failed; {report.new_entries} new entries."
        )
    if report.failed:
        lines.append("Failed:")
        lines += [f"  {feed.name} ({feed.key}): {feed.error}" for feed in report.failed]
    moved = [feed for feed in report.feeds if feed.moved_to]
    if moved and not quiet:
        lines.append("Moved permanently (update feeds.yaml):")
        lines += [f"  {feed.key} -> {feed.moved_to}" for feed in moved]
    sections = [feed for feed in report.feeds if feed.section_title]
    if sections and not quiet:
        lines.append(SECTION_ADVICE)
        lines += [section_line(feed.key, feed.section_title, feed.name) for feed in sections]
    warned = [feed for feed in report.feeds if feed.warnings]
    if warned and not quiet:
        lines.append("Parsed with warnings (entries kept):")
        lines += _folded_warnings(warned)
    return "".join(line + "\n" for line in lines)


SECTION_ADVICE = "Feed titles that name a section of a site (set `name:` for these feeds):"


def section_line(key: str, title: str, shown_as: str) -> str:
    """``  URL: "NYT > World News", shown as "NYT"``: one feed whose title names a section."""
    return f'  {key}: "{title}", shown as "{shown_as}"'


NAMES_IN_A_FOLD = 3  # feeds named on a folded warning line; the rest are counted


def _folded_warnings(warned: list[FeedReport]) -> list[str]:
    """One line per feed, except that a warning many feeds share is one line with a count:
    a hundred feeds with the same quirk should not bury the rest of the summary."""
    by_warning: dict[str, list[str]] = {}
    for feed in warned:
        by_warning.setdefault(feed.warnings[0], []).append(feed.name)
    lines = []
    for warning, names in by_warning.items():
        if len(names) == 1:
            lines.append(f"  {names[0]}: {warning}")
            continue
        shown = ", ".join(names[:NAMES_IN_A_FOLD])
        more = f" and {len(names) - NAMES_IN_A_FOLD} more" if len(names) > NAMES_IN_A_FOLD else ""
        lines.append(f"  {len(names)} feeds ({shown}{more}): {warning}")
    return lines


def format_draft_summary(result: DraftResult) -> str:
    items = len(result.draft.items)
    verb = "Wrote" if result.created else "Updated"
    extra = "" if result.created else f", {result.new_items} new since the last draft"
    sections = len(result.draft.sections)
    return f"{verb} {shown(result.path)}: {items} items in {sections} sections{extra}.\n"


def format_empty_draft(result: DraftResult) -> str:
    """What ``roundup draft`` adds for a week with no items: it will not go out as it is."""
    if result.draft.items:
        return ""
    week = result.draft.week
    return (
        f"{week} has no items: it is not rendered or sent until it has some (add them to its"
        " draft.yaml, or wait for posts).\n"
    )


def format_render_summary(result: RenderResult) -> str:
    """The files written, and what fitting the email gave up; an empty week says so."""
    if result.empty:
        return _empty(result.draft.week)
    number = f"issue {result.draft.number}"
    if result.provisional:
        lines = [f"Rendered {result.draft.week} as {number} (provisional until it is sent):"]
    else:
        lines = [f"Rendered {number} ({result.draft.week}):"]
    lines += [f"  {shown(path)}" for path in result.files]
    lines += [f"Note: {notice}" for notice in result.issue.notices]
    return "".join(line + "\n" for line in lines)


def _empty(week: str) -> str:
    return (
        f"{week} is empty: no items, so no issue was rendered (an empty issue is never"
        " rendered or sent).\n"
    )


def shown(path: Path) -> str:
    """A path relative to the working directory when it is below it: shorter, still exact."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def progress(
    total: int, *, quiet: bool, stream: TextIO | None = None
) -> Iterator[Callable[[FeedReport], None] | None]:
    """The ``on_feed`` callback for a fetch of ``total`` feeds: a progress bar on a terminal,
    one log line per feed otherwise (cron mails those), nothing when ``quiet``."""
    out = stream or sys.stderr
    if quiet or total == 0:
        yield None
    elif out.isatty() and os.environ.get("TERM") != "dumb":
        with click.progressbar(length=total, label="Fetching", file=out) as bar:
            yield lambda _report: bar.update(1)
    else:
        yield lambda report: click.echo(format_feed_line(report), file=out)


def feeds_worth_reporting(
    report: FetchReport, *, after: int
) -> tuple[list[FeedReport], list[FeedReport]]:
    """Feeds that just reached ``after`` consecutive failures, and feeds that recovered.

    Cron mails whatever a job prints: a feed is named once when its failures persist and
    once more when it recovers, not every hour in between.
    """
    failing = [f for f in report.failed if f.failures == after]
    recovered = [
        f for f in report.feeds if f.status not in ("failed", "gone") and f.recovered_after >= after
    ]
    return failing, recovered


_RUN_ACTIONS = {
    "sent": "sent {due}",
    "not_due": "no issue is due yet",
    "already_sent": "{due} was already sent",
    "already_decided": "{due} was skipped or rolled over at its send time: nothing to send",
    "missed": "{due} was due over a day ago and is not sent late by cron"
    " (`roundup send --week {due}` sends it by hand)",
    "quiet_skipped": "{due} has {items} items, fewer than newsletter.min_items ({min_items}):"
    " skipped, nothing sent (newsletter.quiet_week: {quiet_week})",
    "rolled_over": "{due} has {items} items, fewer than newsletter.min_items ({min_items}):"
    " nothing sent, its items roll over into the next issue",
    "awaiting_approval": "{due} is due but not approved: held (newsletter.unapproved: hold)"
    " until you run `roundup approve --week {due}`",
    "unapproved_skipped": "{due} was not approved at its send time: skipped, nothing sent"
    " (newsletter.unapproved: skip)",
    "links_broken": "{due} is held: broken links (newsletter.block_on_broken_links); fix or"
    " remove the items below, or check again with `roundup check-links --week {due}`",
    "incomplete": "{due} was sent to some recipients only; the next run retries the rest",
}
# Printed even with --quiet: someone should know.
_RUN_PROBLEMS = (
    "quiet_skipped",
    "rolled_over",
    "awaiting_approval",
    "unapproved_skipped",
    "links_broken",
)


def format_run_action(report: RunReport, *, min_items: int = 1, quiet_week: str = "skip") -> str:
    """What the run did with the due week, in one sentence (without the final period)."""
    if report.action == "missed" and report.items == 0:
        return f"{report.due} was due over a day ago; it has no items, so there is nothing to send"
    text = _RUN_ACTIONS[report.action].format(
        due=report.due, items=report.items, min_items=min_items, quiet_week=quiet_week
    )
    if report.action == "quiet_skipped" and report.items == 0:
        text = f"{report.due} has no items: skipped, nothing sent"
    if report.action == "sent" and report.unapproved:
        text += " unapproved (newsletter.unapproved: send)"
    return text


def format_briefing_lines(briefing: BriefingReport, *, quiet: bool) -> list[str]:
    """Who got the editors' briefing, and who did not (always shown)."""
    lines = []
    if briefing.accepted and not quiet:
        lines.append(f"Briefed the editors on {briefing.week}: {', '.join(briefing.accepted)}.")
    lines += [f"Briefing not delivered to {who}: {why}" for who, why in briefing.failed]
    return lines


def format_run_summary(
    report: RunReport,
    *,
    report_after: int,
    quiet: bool,
    min_items: int = 1,
    quiet_week: str = "skip",
) -> str:
    """What `roundup run` prints: nothing on a quiet success, problems always."""
    from roundup.send import format_report

    failing, recovered = feeds_worth_reporting(report.fetch, after=report_after)
    lines: list[str] = []
    if failing:
        lines.append(f"Feeds failing {report_after} times in a row:")
        lines += [f"  {f.name} ({f.key}): {f.error}" for f in failing]
    if recovered:
        lines.append("Feeds working again:")
        lines += [f"  {f.name} ({f.key}) after {f.recovered_after} failures" for f in recovered]
    if report.briefing is not None:
        lines += format_briefing_lines(report.briefing, quiet=quiet)
    problem = report.action in (*_RUN_PROBLEMS, "incomplete")
    if not quiet or problem:
        action = format_run_action(report, min_items=min_items, quiet_week=quiet_week)
        lines.append(f"Drafted {report.drafted}; {action}.")
        lines += [f"  Broken: {link}" for link in report.broken_links]
    # subscriber rows left out need the editor's attention even when every copy went out
    send = report.send
    if send is not None and (not quiet or not send.complete or send.warnings):
        lines.append(format_report(send))
    return "".join(line + "\n" for line in lines)
