"""When an issue is due: pure functions over windows and ``newsletter.send_at``.

A window's send moment is the first ``send_at`` (weekday and local time) on or after the
window's last day: with ``week_ends: friday``, ``send_at: "friday 15:00"`` sends on that
Friday afternoon and ``"monday 09:00"`` on the Monday after the window closed. Without
``send_at`` an issue is due when its window has closed.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from roundup.config import WEEKDAYS, Newsletter
from roundup.week import Window, window_for

# An issue found due more than this long after its send moment (the machine was off, or
# roundup was just installed) is not sent by cron: a stale issue is worse than none.
MAX_LATE = timedelta(hours=24)


def send_moment(window: Window, newsletter: Newsletter) -> datetime:
    """The aware local time at which ``window``'s issue becomes due."""
    if not newsletter.send_at:
        return window.end
    day_name, clock = newsletter.send_at.split()
    hour, minute = (int(part) for part in clock.split(":"))
    first = window.last_day
    day = first + timedelta(days=(WEEKDAYS.index(day_name) - first.weekday()) % 7)
    return datetime.combine(day, time(hour, minute), tzinfo=newsletter.tz)


def due_window(newsletter: Newsletter, *, now: datetime) -> Window | None:
    """The newest window whose send moment has passed at ``now``, if any.

    Only the current and the previous window are candidates: an issue that was never sent
    for an older week is not sent late by a run weeks afterwards.
    """
    kwargs = {"week_ends": newsletter.week_ends, "tz": newsletter.tz, "now": now}
    for spec in ("current", "last"):
        window = window_for(spec, **kwargs)  # type: ignore[arg-type]
        if send_moment(window, newsletter).astimezone(UTC) <= now.astimezone(UTC):
            return window
    return None


def too_late(window: Window, newsletter: Newsletter, *, now: datetime) -> bool:
    """Whether ``now`` is more than :data:`MAX_LATE` past ``window``'s send moment."""
    return now.astimezone(UTC) - send_moment(window, newsletter).astimezone(UTC) > MAX_LATE


def briefing_window(newsletter: Newsletter, *, now: datetime) -> Window | None:
    """The window whose briefing is due at ``now``: its send moment is still ahead, but no
    further than ``newsletter.brief_before``. None when no briefing is due."""
    kwargs = {"week_ends": newsletter.week_ends, "tz": newsletter.tz, "now": now}
    moment = now.astimezone(UTC)
    for spec in ("current", "last"):
        window = window_for(spec, **kwargs)  # type: ignore[arg-type]
        send = send_moment(window, newsletter).astimezone(UTC)
        if send - newsletter.brief_before <= moment < send:
            return window
    return None
