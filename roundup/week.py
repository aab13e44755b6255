"""Weekly windows: which seven local days an issue covers.

An issue is named by the ISO week that holds the window's last day (``week_ends``). The
window runs from local midnight seven days before that day's end to local midnight after
it, in the newsletter's timezone: ``2015-W33`` with ``week_ends: friday`` is Saturday
2015-08-08 00:00 to Saturday 2015-08-15 00:00. Across a DST change a window is 167 or 169
hours long, because it is bounded by local midnights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from roundup.errors import ConfigError

_ISO_WEEK = re.compile(r"^(?P<year>\d{4})-?W(?P<week>\d{2})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly window. ``start`` is inclusive and ``end`` exclusive; both aware, local."""

    week: str  # "2015-W33"
    start: datetime
    end: datetime

    @property
    def last_day(self) -> date:
        """The ``week_ends`` day: the last local day inside the window."""
        return self.end.date() - timedelta(days=1)

    def contains(self, moment: datetime) -> bool:
        return self.start.astimezone(UTC) <= moment.astimezone(UTC) < self.end.astimezone(UTC)


def window_for(week: str, *, week_ends: int, tz: ZoneInfo, now: datetime) -> Window:
    """The window named by ``week``: ``YYYY-Www``, ``current`` or ``last``.

    ``current`` is the window that contains ``now``; ``last`` the complete one before it.
    Raises :class:`ConfigError` for anything else.
    """
    spec = week.strip().lower()
    if spec in ("current", "last"):
        today = now.astimezone(tz).date()
        last_day = today + timedelta(days=(week_ends - today.weekday()) % 7)
        if spec == "last":
            last_day -= timedelta(days=7)
        return _window_ending(last_day, tz)
    match = _ISO_WEEK.match(week.strip())
    if not match:
        raise ConfigError(
            f"--week {week!r}: expected an ISO week like 2015-W33, or 'current' or 'last'"
        )
    try:
        monday = date.fromisocalendar(int(match["year"]), int(match["week"]), 1)
    except ValueError:
        raise ConfigError(f"--week {week!r}: {match['year']} has no week {match['week']}") from None
    try:
        return _window_ending(monday + timedelta(days=week_ends), tz)
    except OverflowError:
        raise ConfigError(f"--week {week!r}: its window falls outside the calendar") from None


def _window_ending(last_day: date, tz: ZoneInfo) -> Window:
    year, number, _ = last_day.isocalendar()
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    start = datetime.combine(last_day - timedelta(days=6), time(0), tzinfo=tz)
    return Window(week=f"{year}-W{number:02d}", start=start, end=end)
