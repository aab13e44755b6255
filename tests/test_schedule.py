"""When `roundup run` considers an issue due."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from roundup.config import Newsletter
from roundup.schedule import due_window, send_moment, too_late
from roundup.week import window_for

NY = ZoneInfo("America/New_York")
NL = Newsletter(
    title="T",
    url="https://example.org/",
    timezone="America/New_York",
    week_ends=4,
    language="en",
    from_addr="a@example.org",
)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("send_at", "expected"),
    [
        ("", local(2015, 8, 15, 0, 0)),
        ("friday 15:00", local(2015, 8, 14, 15, 0)),
        ("saturday 08:30", local(2015, 8, 15, 8, 30)),
        ("monday 09:00", local(2015, 8, 17, 9, 0)),
        ("thursday 10:00", local(2015, 8, 20, 10, 0)),
    ],
)
def test_send_moment(send_at: str, expected: datetime) -> None:
    """The send moment is the first send_at on or after the window's last day."""
    window = window_for("2015-W33", week_ends=4, tz=NY, now=datetime.now(UTC))
    assert send_moment(window, replace(NL, send_at=send_at)) == expected


@pytest.mark.parametrize(
    ("send_at", "now", "week"),
    [
        ("friday 15:00", local(2015, 8, 14, 14, 59), "2015-W32"),
        ("friday 15:00", local(2015, 8, 14, 15, 0), "2015-W33"),
        ("friday 15:00", local(2015, 8, 16, 10, 0), "2015-W33"),
        ("monday 09:00", local(2015, 8, 17, 8, 0), None),
        ("monday 09:00", local(2015, 8, 17, 9, 0), "2015-W33"),
        ("", local(2015, 8, 14, 23, 59), "2015-W32"),
        ("", local(2015, 8, 15, 0, 0), "2015-W33"),
    ],
)
def test_due_window(send_at: str, now: datetime, week: str | None) -> None:
    """The newest window whose moment has passed is due; an older one is not sent late."""
    window = due_window(replace(NL, send_at=send_at), now=now.astimezone(UTC))
    assert (window.week if window else None) == week


@pytest.mark.parametrize(
    ("now", "late"),
    [
        (local(2015, 8, 14, 15, 0), False),
        (local(2015, 8, 15, 15, 0), False),
        (local(2015, 8, 15, 15, 1), True),
    ],
)
def test_too_late(now: datetime, late: bool) -> None:
    """Cron sends an issue up to a day after its moment, not later."""
    window = window_for("2015-W33", week_ends=4, tz=NY, now=now)
    assert too_late(window, replace(NL, send_at="friday 15:00"), now=now) is late


@pytest.mark.parametrize(
    ("send_at", "brief_before", "now", "expected"),
    [
        # friday 15:00 sends inside the window: the briefing is due from Thursday 15:00
        ("friday 15:00", 24, local(2015, 8, 13, 14, 59), None),
        ("friday 15:00", 24, local(2015, 8, 13, 15, 0), "2015-W33"),
        ("friday 15:00", 24, local(2015, 8, 14, 14, 59), "2015-W33"),
        ("friday 15:00", 24, local(2015, 8, 14, 15, 0), None),  # due now: too late to brief
        ("friday 15:00", 2, local(2015, 8, 14, 12, 59), None),
        ("friday 15:00", 2, local(2015, 8, 14, 13, 0), "2015-W33"),
        # monday 09:00 sends after the window closed: the briefing may fall in the next one
        ("monday 09:00", 24, local(2015, 8, 16, 9, 0), "2015-W33"),
        ("monday 09:00", 24, local(2015, 8, 17, 8, 0), "2015-W33"),
        ("monday 09:00", 24, local(2015, 8, 17, 9, 0), None),
        # without send_at the issue is due when the window ends (Saturday 00:00)
        ("", 24, local(2015, 8, 14, 0, 0), "2015-W33"),
    ],
)
def test_briefing_window(
    send_at: str, brief_before: int, now: datetime, expected: str | None
) -> None:
    """The briefing is due from brief_before ahead of the send moment until that moment."""
    from datetime import timedelta

    from roundup.schedule import briefing_window

    nl = replace(NL, send_at=send_at, brief_before=timedelta(hours=brief_before))
    window = briefing_window(nl, now=now)
    assert (window.week if window else None) == expected
