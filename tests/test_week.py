"""Tests for roundup.week: which local days a weekly window covers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from roundup.errors import ConfigError
from roundup.week import Window, window_for

NEW_YORK = ZoneInfo("America/New_York")
FRIDAY = 4
SUNDAY = 6
NOW = datetime(2015, 8, 12, 12, 0, tzinfo=UTC)  # irrelevant to a named week


def ny(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A New York wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=NEW_YORK)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=NEW_YORK)


def w33_friday() -> Window:
    return window_for("2015-W33", week_ends=FRIDAY, tz=NEW_YORK, now=NOW)


def test_named_week_bounds() -> None:
    """2015-W33 ending on Friday runs from Sat 08-08 00:00 to Sat 08-15 00:00, local time."""
    window = w33_friday()
    assert (window.week, window.start, window.end) == (
        "2015-W33",
        ny(2015, 8, 8),
        ny(2015, 8, 15),
    )
    assert window.last_day == date(2015, 8, 14)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (ny(2015, 8, 7, 23, 59, 59), False),  # last second before the window
        (ny(2015, 8, 8, 0, 0, 0), True),  # first second: start is inclusive
        (ny(2015, 8, 14, 23, 59, 59), True),  # last second inside
        (ny(2015, 8, 15, 0, 0, 0), False),  # end is exclusive
        (datetime(2015, 8, 15, 3, 59, 59, tzinfo=UTC), True),  # 23:59:59 EDT, given in UTC
        (datetime(2015, 8, 15, 4, 0, 0, tzinfo=UTC), False),  # 00:00 EDT, given in UTC
    ],
)
def test_contains_edges(moment: datetime, inside: bool) -> None:
    """The start second is in the window, the end second is not, whatever the moment's zone."""
    assert w33_friday().contains(moment) is inside


@pytest.mark.parametrize(
    ("week", "hours"),
    [
        ("2015-W45", 169),  # Sat 10-31 to Sat 11-07: clocks go back on Sun 11-01
        ("2016-W11", 167),  # Sat 03-12 to Sat 03-19: clocks go forward on Sun 03-13
        ("2015-W33", 168),
    ],
)
def test_dst_week_length(week: str, hours: int) -> None:
    """A window is bounded by local midnights, so a DST week is 169 or 167 real hours."""
    window = window_for(week, week_ends=FRIDAY, tz=NEW_YORK, now=NOW)
    # subtracting two datetimes of the same zone gives wall-clock time: measure in UTC
    length = window.end.astimezone(UTC) - window.start.astimezone(UTC)
    assert length == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("week_ends", "last_day"),
    [
        (0, date(2015, 8, 10)),
        (1, date(2015, 8, 11)),
        (2, date(2015, 8, 12)),
        (3, date(2015, 8, 13)),
        (4, date(2015, 8, 14)),
        (5, date(2015, 8, 15)),
        (6, date(2015, 8, 16)),
    ],
)
def test_week_ends_each_weekday(week_ends: int, last_day: date) -> None:
    """A named week's window ends at midnight after its week_ends day, seven days long."""
    window = window_for("2015-W33", week_ends=week_ends, tz=NEW_YORK, now=NOW)
    assert window.week == "2015-W33"
    assert window.last_day == last_day
    assert window.end == midnight(last_day + timedelta(days=1))
    assert window.start == midnight(last_day - timedelta(days=6))


@pytest.mark.parametrize(
    ("now", "current", "last"),
    [
        (ny(2015, 8, 12, 9, 30), "2015-W33", "2015-W32"),  # mid-window
        (ny(2015, 8, 8, 0, 0), "2015-W33", "2015-W32"),  # exactly at a window's start
        (ny(2015, 8, 7, 23, 59, 59), "2015-W32", "2015-W31"),  # a second before it
        (ny(2015, 8, 14, 23, 59, 59), "2015-W33", "2015-W32"),  # last second of the window
        (ny(2015, 8, 15, 0, 0), "2015-W34", "2015-W33"),  # exactly at the window's end
        # 23:30 Friday in New York is already Saturday in UTC: the local day decides
        (datetime(2015, 8, 15, 3, 30, tzinfo=UTC), "2015-W33", "2015-W32"),
    ],
)
def test_current_and_last(now: datetime, current: str, last: str) -> None:
    """'current' is the window holding now, 'last' the complete one before it."""
    got_current = window_for("current", week_ends=FRIDAY, tz=NEW_YORK, now=now)
    got_last = window_for("last", week_ends=FRIDAY, tz=NEW_YORK, now=now)
    assert got_current.contains(now)
    assert (got_current.week, got_last.week) == (current, last)
    assert got_last.end == got_current.start


@pytest.mark.parametrize(
    ("spec", "week"),
    [
        ("current", "2015-W33"),
        (" Current ", "2015-W33"),
        ("LAST", "2015-W32"),
        ("last\n", "2015-W32"),
    ],
)
def test_relative_names_ignore_case_and_spaces(spec: str, week: str) -> None:
    """'current' and 'last' are accepted in any case, with surrounding spaces."""
    assert window_for(spec, week_ends=FRIDAY, tz=NEW_YORK, now=ny(2015, 8, 12)).week == week


@pytest.mark.parametrize("week_ends", range(7))
def test_named_window_round_trips(week_ends: int) -> None:
    """The window named by a window's own week is that same window."""
    current = window_for("current", week_ends=week_ends, tz=NEW_YORK, now=ny(2015, 12, 31))
    assert window_for(current.week, week_ends=week_ends, tz=NEW_YORK, now=NOW) == current


@pytest.mark.parametrize(
    ("week", "week_ends", "start", "end"),
    [
        ("2015-W53", SUNDAY, ny(2015, 12, 28), ny(2016, 1, 4)),  # spans the new year
        ("2015-W53", FRIDAY, ny(2015, 12, 26), ny(2016, 1, 2)),
        ("2020-W53", SUNDAY, ny(2020, 12, 28), ny(2021, 1, 4)),
        ("2016-W01", SUNDAY, ny(2016, 1, 4), ny(2016, 1, 11)),
    ],
)
def test_year_boundary_weeks(week: str, week_ends: int, start: datetime, end: datetime) -> None:
    """ISO week 53 exists in 2015 and 2020 and its window may cross into January."""
    window = window_for(week, week_ends=week_ends, tz=NEW_YORK, now=NOW)
    assert (window.week, window.start, window.end) == (week, start, end)


def test_current_in_the_new_year_is_still_week_53() -> None:
    """On 2016-01-02 the current window (ending Sunday 01-03) is named 2015-W53."""
    window = window_for("current", week_ends=SUNDAY, tz=NEW_YORK, now=ny(2016, 1, 2, 12))
    assert window.week == "2015-W53"


@pytest.mark.parametrize("week", ["2015W33", "2015-w33", " 2015-W33 "])
def test_iso_week_spellings(week: str) -> None:
    """The dash is optional, the W any case, and surrounding spaces are ignored."""
    assert window_for(week, week_ends=FRIDAY, tz=NEW_YORK, now=NOW) == w33_friday()


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2021-W53", "--week '2021-W53': 2021 has no week 53"),
        ("2015-W54", "--week '2015-W54': 2015 has no week 54"),
        ("2015-W00", "--week '2015-W00': 2015 has no week 00"),
    ],
)
def test_missing_week_is_a_config_error(week: str, message: str) -> None:
    """A well-formed week that the year does not have is a ConfigError naming it."""
    with pytest.raises(ConfigError) as caught:
        window_for(week, week_ends=FRIDAY, tz=NEW_YORK, now=NOW)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "week", ["2015-33", "2015-W3", "15-W33", "W33", "2015-W33-5", "2015-W333", "next", ""]
)
def test_malformed_week_is_a_config_error(week: str) -> None:
    """A malformed --week is a ConfigError that shows it and the accepted forms."""
    with pytest.raises(ConfigError) as caught:
        window_for(week, week_ends=FRIDAY, tz=NEW_YORK, now=NOW)
    expected = "expected an ISO week like 2015-W33, or 'current' or 'last'"
    assert str(caught.value) == f"--week '{week}': {expected}"


@pytest.mark.parametrize(("week", "week_ends"), [("9999-W52", SUNDAY), ("0001-W01", 0)])
def test_out_of_range_year_is_a_config_error(week: str, week_ends: int) -> None:
    """A week whose window falls outside the calendar's years is a ConfigError, not a crash."""
    with pytest.raises(ConfigError) as caught:
        window_for(week, week_ends=week_ends, tz=NEW_YORK, now=NOW)
    assert str(caught.value) == f"--week '{week}': its window falls outside the calendar"
