"""The editors' briefing: one short plain-text email before each issue goes out.

``newsletter.editors`` get it ``newsletter.brief_before`` ahead of ``send_at`` (once per
issue, from ``roundup run``): what the issue holds against the last ones, its size against
Gmail's clipping budget, feeds that are new or failing, broken links, whether the week is
quiet or unapproved and what will happen then, and how to open the desk. It is written for
a phone: short lines, no table, no HTML, the facts first.

:func:`compose` is pure: the orchestrator gathers a :class:`BriefingFacts` and sends the
result of :func:`briefing_message` through the configured mailer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from roundup.config import Config
from roundup.email_budget import EMAIL_LIMIT
from roundup.message import POLICY, from_domain

WIDTH = 60  # characters a phone shows on one line without wrapping in most mail apps
SUBJECT_PREFIX = "[Briefing] "
LINKS_SHOWN = 10
FEEDS_SHOWN = 10
DESK_URL = "http://127.0.0.1:8765/"  # where `roundup preview` listens by default


@dataclass(frozen=True, slots=True)
class PastIssue:
    """One earlier issue as the briefing compares it: its number, week and item count."""

    week: str
    number: int | None
    items: int
    outcome: str = "sent"  # sent | what the run decided instead (see roundup.pipeline)


@dataclass(frozen=True, slots=True)
class FailingFeed:
    name: str
    failures: int  # in a row
    error: str


@dataclass(frozen=True, slots=True)
class BriefingFacts:
    """Everything the briefing says, gathered by the orchestrator at ``now``."""

    newsletter: str  # its title
    week: str
    number: int  # provisional: what it gets if it is sent next
    subject: str
    items: int
    send_at: datetime  # aware, in the newsletter's time zone
    email_bytes: int
    notices: tuple[str, ...] = ()  # what fitting the email gave up
    past: tuple[PastIssue, ...] = ()  # newest first
    min_items: int = 1
    quiet_week: str = "skip"
    require_approval: bool = False
    approved_by: str | None = None
    unapproved: str = "hold"
    new_feeds: tuple[str, ...] = ()
    failing_feeds: tuple[FailingFeed, ...] = ()
    broken_links: tuple[str, ...] = ()
    links_checked: bool = False  # False: no link of the issue was checked yet
    block_on_broken_links: bool = False


def compose(facts: BriefingFacts, *, now: datetime) -> tuple[str, str]:
    """The briefing's subject and plain-text body."""
    when = _when(facts.send_at, now)
    subject = f"{SUBJECT_PREFIX}{facts.week}, issue {facts.number}: {facts.items} items, {when}"
    blocks = [
        _headline(facts, when),
        _contents(facts),
        _plan(facts),
        _feeds(facts),
        _links(facts),
        _desk(facts),
    ]
    body = "\n\n".join(block for block in blocks if block)
    return subject, body + "\n"


def briefing_message(
    config: Config, *, subject: str, body: str, week: str, now: datetime
) -> EmailMessage:
    """The briefing as an email to ``newsletter.editors``: plain text, its own Message-ID
    (never threaded with the issue), marked as automatic so nobody replies to it."""
    nl = config.newsletter
    message = EmailMessage(policy=POLICY)
    message["From"] = nl.from_addr
    message["To"] = ", ".join(nl.editors)
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(nl.tz))
    message["Message-ID"] = f"<roundup.briefing.{week}@{from_domain(config)}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    return message


# --- the blocks -----------------------------------------------------------------------------


def _headline(facts: BriefingFacts, when: str) -> str:
    moment = f"{facts.send_at:%a %d %b %H:%M} {facts.send_at.tzname() or ''}".strip()
    return "\n".join(
        [
            f"{facts.newsletter}, {facts.week}",
            f"Goes out {moment} ({when})",
            f"as issue {facts.number} if nothing else is sent first.",
        ]
    )


def _contents(facts: BriefingFacts) -> str:
    lines = ["Subject:", f"  {facts.subject}", f"Items: {facts.items}{_past_items(facts.past)}"]
    kb, limit = _kb(facts.email_bytes), _kb(EMAIL_LIMIT)
    share = round(100 * facts.email_bytes / EMAIL_LIMIT)
    lines.append(f"Size: {kb} of {limit} ({share}% of the budget)")
    lines += [f"  {notice}" for notice in facts.notices]
    return "\n".join(lines)


def _past_items(past: Sequence[PastIssue]) -> str:
    past = [issue for issue in past if issue.outcome in ("sent", "sent_unapproved")]
    if not past:
        return " (no earlier issue to compare)"
    shown = ", ".join(
        f"{issue.items} in #{issue.number}" if issue.number is not None else f"{issue.items}"
        for issue in past
    )
    return f" (last issues: {shown})"


def _plan(facts: BriefingFacts) -> str:
    """Approval, quiet week, and the previous week's fate when it was not a plain send."""
    lines: list[str] = []
    last = facts.past[0] if facts.past else None
    if last is not None and last.outcome != "sent":
        lines.append(f"Last week ({last.week}): {_OUTCOMES.get(last.outcome, last.outcome)}.")
    if facts.items < facts.min_items:
        lines.append(
            f"Quiet week: {facts.items} items, fewer than {facts.min_items}"
            f" (newsletter.min_items). At send time it will {_QUIET[_quiet(facts)]}."
        )
    else:
        lines.append(f"Quiet week: no ({facts.items} items, minimum {facts.min_items}).")
    if not facts.require_approval:
        lines.append("Approval: not required; it goes out as it stands.")
    elif facts.approved_by:
        lines.append(f"Approval: approved by {facts.approved_by}.")
    else:
        lines.append(
            f"Approval: NOT approved yet. At send time it will {_UNAPPROVED[facts.unapproved]}"
            f" (newsletter.unapproved: {facts.unapproved})."
        )
    return "\n".join(lines)


def _quiet(facts: BriefingFacts) -> str:
    return "skip" if facts.items == 0 else facts.quiet_week


_QUIET = {
    "skip": "be skipped: nothing is sent",
    "send": "be sent anyway (newsletter.quiet_week: send)",
    "roll_over": "roll over: its items go into next week's issue",
}
_UNAPPROVED = {
    "hold": "be held until someone approves it",
    "send": "be sent unapproved",
    "skip": "be skipped",
}
_OUTCOMES = {
    "quiet_skipped": "too few items, skipped (nothing sent)",
    "rolled_over": "too few items, rolled over into this issue",
    "held": "not approved at send time, held and never sent",
    "unapproved_skipped": "not approved at send time, skipped (nothing sent)",
    "sent_unapproved": "not approved at send time, sent anyway",
    "not_sent": "not sent",
}


def _feeds(facts: BriefingFacts) -> str:
    lines: list[str] = []
    if facts.new_feeds:
        lines.append(f"New feeds since the last issue: {len(facts.new_feeds)}")
        lines += [f"  {name}" for name in facts.new_feeds[:FEEDS_SHOWN]]
        lines += _more(len(facts.new_feeds), FEEDS_SHOWN)
    if facts.failing_feeds:
        lines.append(f"Failing feeds: {len(facts.failing_feeds)}")
        for feed in facts.failing_feeds[:FEEDS_SHOWN]:
            times = "once" if feed.failures == 1 else f"{feed.failures} times in a row"
            lines.append(f"  {feed.name}: {times}:")
            lines.append(f"    {_cut(feed.error, WIDTH - 4)}")
        lines += _more(len(facts.failing_feeds), FEEDS_SHOWN)
    if not lines:
        return "Feeds: all working, none new."
    return "\n".join(lines)


def _links(facts: BriefingFacts) -> str:
    if not facts.links_checked:
        return f"Links: not checked yet\n  roundup check-links --week {facts.week}"
    if not facts.broken_links:
        return "Links: none broken."
    hold = " They hold the send." if facts.block_on_broken_links else ""
    lines = [f"Broken links: {len(facts.broken_links)}.{hold}"]
    lines += [f"  {link}" for link in facts.broken_links[:LINKS_SHOWN]]
    lines += _more(len(facts.broken_links), LINKS_SHOWN)
    return "\n".join(lines)


def _desk(facts: BriefingFacts) -> str:
    verb = "Review and approve" if facts.require_approval else "Review"
    return "\n".join(
        [
            f"{verb} it in the desk:",
            f"  roundup preview --week {facts.week}",
            f"  then open {DESK_URL}",
        ]
    )


# --- small helpers --------------------------------------------------------------------------


def _when(send_at: datetime, now: datetime) -> str:
    """``in 24 hours``, ``in 3 hours``, ``in 45 minutes``."""
    minutes = max(0, round((send_at - now).total_seconds() / 60))
    if minutes >= 120:
        return f"in {round(minutes / 60)} hours"
    return f"in {minutes} minutes"


def _kb(size: int) -> str:
    return f"{size / 1000:.0f} KB"


def _more(total: int, shown: int) -> list[str]:
    return [f"  and {total - shown} more"] if total > shown else []


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
