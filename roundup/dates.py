"""Publication dates as feeds write them, read into aware UTC datetimes.

RSS dates follow RFC 822 (as updated by RFC 2822: four-digit years, numeric zones); Atom,
Dublin Core's ``dc:date`` and JSON Feed use ISO 8601 in its RFC 3339 / W3C-DTF profile.
Real feeds stray from both, so this module also reads what the shared corpora show: a
missing seconds field, full day and month names, no day name, two-digit years, named zones
(``EST``, ``PDT``, ``GMT``, ``UT``, military letters), ``2020/1/10 14:33:00``, a 12-hour
clock with AM/PM, ``date(1)``'s ``Mon Aug 10 14:00:00 UTC 2015``, and a trailing comment
such as ``(UTC)``. A date without a zone is read as UTC, the best guess for a machine-written
date and never more than a day off.

A date before :data:`MIN_YEAR` is a placeholder, not a publication date: Hugo writes
``0001-01-01`` for posts without one, and a zero Unix time gives 1970-01-01.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

MIN_YEAR = 1971
# "Wednesday, 30 September 2015 23:59:59 +0000 (Coordinated Universal Time)" is 73.
_LONGEST = 100

# RFC 822 section 5 names these zones. RFC 2822 section 4.3 says its military letters got
# their signs wrong and carry no information, so every letter but Z is read as UTC too,
# as is any other alphabetic zone this table does not know.
_ZONE_HOURS = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}  # fmt: skip
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip

_MONTHS = {name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)}

# The shape nine RSS dates in ten have, read without the general patterns below.
_RFC822_COMMON = re.compile(
    r"[A-Z][a-z]{2}, (\d\d?) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) "
    r"([+-](?:[01]\d|2[0-3])[0-5]\d|GMT|UTC|UT|Z|[ECMP][SD]T)"
)
# Its month names in every case ("Jan", "JAN", "jan", ...), and its one- and two-digit
# numbers: looking them up costs a fraction of lower() and int(), and every item has a date.
_COMMON_MONTHS = {
    "".join(letters): number
    for name, number in _MONTHS.items()
    for letters in itertools.product(*((c, c.upper()) for c in name))
}


class _Numbers(dict[str, int]):
    def __missing__(self, text: str) -> int:
        return int(text)  # digits of other scripts, which \d matches too


_COMMON_NUMBERS = _Numbers({f"{n:02d}": n for n in range(100)} | {str(n): n for n in range(10)})
_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?(?:[.,]\d+)?"
_MERIDIEM = r"(?:\s*(?P<meridiem>[ap]\.?m\.?))?"
# A named zone, a numeric offset, or a name with an offset ("GMT+2"); then maybe "(UTC)".
_ZONE = (
    r"(?:\s*(?P<zone>[a-z]{1,5}(?=[\s(+-]|$))?\s*"
    r"(?P<offset>[+-]\d{1,2}(?::?\d{1,2})?)?)?\s*(?:\([^)]*\))?"
)
_WEEKDAY = r"(?:[^\W\d_]+\.?(?:,\s*|\s+))?"  # any word, in any language: it carries no information
_RFC822 = re.compile(
    rf"{_WEEKDAY}(?P<day>\d{{1,2}})[\s-]+(?P<month>[^\W\d_]{{3,}})\.?,?[\s-]+(?P<year>\d{{2,4}})"
    rf"(?:,?\s+(?:at\s+)?{_TIME}{_MERIDIEM})?{_ZONE}",
    re.IGNORECASE,
)
_MONTH_FIRST = re.compile(
    rf"{_WEEKDAY}(?P<month>[^\W\d_]{{3,}})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    rf"(?P<year>\d{{4}})(?:,?\s+(?:at\s+)?{_TIME}{_MERIDIEM})?{_ZONE}",
    re.IGNORECASE,
)
_ASCTIME = re.compile(
    rf"{_WEEKDAY}(?P<month>[^\W\d_]{{3,}})\s+(?P<day>\d{{1,2}})\s+{_TIME}"
    rf"(?:\s+(?P<zone>[a-z]{{1,5}}))?\s+(?P<year>\d{{4}})",
    re.IGNORECASE,
)
_ISO_LIKE = re.compile(
    rf"(?P<year>\d{{4}})[-/](?P<month>\d{{1,2}})[-/](?P<day>\d{{1,2}})"
    rf"(?:(?:t|\s+){_TIME}{_MERIDIEM})?{_ZONE}",
    re.IGNORECASE,
)


def parse_date(text: str) -> datetime | None:
    """``text`` read as a date, in UTC; None when it is no date this module can read.

    >>> parse_date("Mon, 10 Aug 2015 10:00:00 EDT")
    datetime.datetime(2015, 8, 10, 14, 0, tzinfo=datetime.timezone.utc)
    >>> parse_date("2015-08-10T16:00:00+02:00")
    datetime.datetime(2015, 8, 10, 14, 0, tzinfo=datetime.timezone.utc)
    """
    text = text.strip()
    if len(text) > _LONGEST:
        return None  # no date is this long; the patterns need not look at it
    if common := _RFC822_COMMON.fullmatch(text):
        return _from_common(common)
    if text[:4].isdigit():
        try:  # RFC 3339, the common case for Atom and Dublin Core: the C parser first
            return _utc(datetime.fromisoformat(text))
        except (ValueError, OverflowError):
            pass
    for pattern in (_RFC822, _ISO_LIKE, _MONTH_FIRST, _ASCTIME):
        match = pattern.fullmatch(text)
        if match:
            return _from_parts(match)
    return None


def first_date(texts: Iterable[str | None]) -> datetime | None:
    """The first of ``texts`` that reads as a real date: one from :data:`MIN_YEAR` on."""
    for text in texts:
        if text and (moment := real_date(text)) is not None:
            return moment
    return None


def real_date(text: str) -> datetime | None:
    """``text`` read as a date (see :func:`parse_date`), unless it is a placeholder."""
    moment = parse_date(text)
    return moment if moment is not None and moment.year >= MIN_YEAR else None


def _from_common(match: re.Match[str]) -> datetime | None:
    """The RSS date as most feeds write it: "Wed, 15 Jun 2005 19:00:00 +0000", "... GMT"."""
    day, month_name, year, hour, minute, second, zone = match.groups()
    month = _COMMON_MONTHS.get(month_name)
    if month is None:
        return None
    numbers = _COMMON_NUMBERS
    try:
        moment = datetime(
            int(year),
            month,
            numbers[day],
            numbers[hour],
            numbers[minute],
            min(numbers[second], 59),  # a leap second is no datetime
            0,
            UTC,
        )
        offset = _common_offset(zone)
        return moment - offset if offset else moment
    except (ValueError, OverflowError):  # no such day; or past year 9999 once in UTC
        return None


@functools.lru_cache(maxsize=64)  # a feed uses one or two zones
def _common_offset(zone: str) -> timedelta:
    """How far ahead of UTC a zone of _RFC822_COMMON is: "+0200", "-0430", "GMT", "PST"."""
    if zone[0] in "+-":
        minutes = int(zone[1:3]) * 60 + int(zone[3:])
        return timedelta(minutes=-minutes if zone[0] == "-" else minutes)
    return timedelta(hours=_ZONE_HOURS[zone.lower()])


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # no zone given: read as UTC (see the module doc)
    return moment.astimezone(UTC)


def _from_parts(match: re.Match[str]) -> datetime | None:
    parts = match.groupdict()
    month = _month(parts["month"])
    offset = _offset(parts["zone"], parts.get("offset"))
    if month is None or offset is None:
        return None
    hour = int(parts["hour"] or 0)
    meridiem = (parts.get("meridiem") or "")[:1].lower()
    if meridiem:
        if not 1 <= hour <= 12:
            return None  # "14:00 PM" is no time
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    try:
        moment = datetime(
            _year(parts["year"]),
            month,
            int(parts["day"]),
            hour,
            int(parts["minute"] or 0),
            min(int(parts["second"] or 0), 59),  # a leap second is no datetime
            tzinfo=UTC,
        )
        return moment - offset
    except (ValueError, OverflowError):
        return None


def _month(text: str) -> int | None:
    if text.isdigit():
        return int(text)  # datetime() says whether it is a month
    lowered = text.lower()
    number = _MONTHS.get(lowered[:3])
    # "Aug", "August" and "Sept" all name a month; "Augustus" does not
    if number is None or not _MONTH_NAMES[number - 1].startswith(lowered):
        return None
    return number


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # RFC 2822 section 4.3: 00-49 are 2000-2049, 50-99 are 1950-1999
        return year + (2000 if year < 50 else 1900)
    if len(text) == 3:  # RFC 2822 section 4.3: a three-digit year is 1900 plus it
        return year + 1900
    return year


@functools.lru_cache(maxsize=256)
def _offset(zone: str | None, numeric: str | None) -> timedelta | None:
    """How far ahead of UTC the zone is; None for an offset no clock has."""
    hours = _ZONE_HOURS.get(zone.lower(), 0) if zone else 0
    minutes = 0
    if numeric:
        sign = -1 if numeric[0] == "-" else 1
        digits = numeric[1:]
        if ":" in digits:
            before, _, after = digits.partition(":")
            extra_hours, extra_minutes = int(before), int(after)
        elif len(digits) <= 2:
            extra_hours, extra_minutes = int(digits), 0
        else:
            extra_hours, extra_minutes = int(digits[:-2]), int(digits[-2:])
        if extra_hours > 23 or extra_minutes > 59:
            return None
        hours += sign * extra_hours
        minutes = sign * extra_minutes
    return timedelta(hours=hours, minutes=minutes)
