"""Tests for roundup.dates: RFC 822 and ISO 8601 dates as feeds write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roundup.dates import MIN_YEAR, first_date, parse_date


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RFC 822 / 2822, as RSS 2.0 asks
        ("Mon, 10 Aug 2015 14:00:00 GMT", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 14:00:00 +0000", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 14:00:00 -0000", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 16:30:00 +0230", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 10:00:00 -0400", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 14:00:00 +02:00", utc(2015, 8, 10, 12)),
        ("Wed, 6 Apr 2022 21:07:47 +0000", utc(2022, 4, 6, 21, 7, 47)),
        # missing seconds, day name optional or without its comma, full names
        ("Thu, 01 Aug 2019 16:15 EDT", utc(2019, 8, 1, 20, 15)),
        ("07 Nov 2015 12:00:00 EST", utc(2015, 11, 7, 17)),
        ("Tue 11 Jan 2011 01:30:00 GMT", utc(2011, 1, 11, 1, 30)),
        ("Monday, 10 August 2015 14:00 GMT", utc(2015, 8, 10, 14)),
        ("Mon,10 Aug 2015 14:00 GMT", utc(2015, 8, 10, 14)),
        ("10 Sept 2015 14:00 UT", utc(2015, 9, 10, 14)),
        ("10-Aug-2015 14:00", utc(2015, 8, 10, 14)),
        ("10 Aug 2015", utc(2015, 8, 10)),
        # named zones of RFC 822 section 5
        ("Mon, 10 Aug 2015 14:00:00 UT", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 14:00:00 UTC", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 14:00:00 Z", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 07:00:00 PDT", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 06:00:00 PST", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 08:00:00 MDT", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 07:00:00 MST", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 09:00:00 CDT", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 08:00:00 CST", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 09:00:00 est", utc(2015, 8, 10, 14)),
        # military letters: RFC 2822 4.3 says they carry no information (read as UTC)
        ("Mon, 10 Aug 2015 14:00:00 A", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 14:00:00 N", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 14:00:00 Y", utc(2015, 8, 10, 14)),
        # an unknown alphabetic zone is UTC too (RFC 2822 4.3); a name with an offset
        ("Mon, 10 Aug 2015 14:00:00 CEST", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 14:00:00 GMT+2", utc(2015, 8, 10, 12)),
        ("Mon, 10 Aug 2015 14:00:00 GMT+0200", utc(2015, 8, 10, 12)),
        # no zone at all: read as UTC
        ("Mon, 10 Aug 2015 14:00:00", utc(2015, 8, 10, 14)),
        # a trailing comment, as mail headers have them
        ("Mon, 10 Aug 2015 14:00:00 +0000 (UTC)", utc(2015, 8, 10, 14)),
        # two- and three-digit years (RFC 2822 4.3)
        ("Mon, 10 Aug 15 14:00:00 GMT", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 49 14:00:00 GMT", utc(2049, 8, 10, 14)),
        ("Mon, 10 Aug 85 14:00:00 GMT", utc(1985, 8, 10, 14)),
        ("Mon, 10 Aug 115 14:00:00 GMT", utc(2015, 8, 10, 14)),
        # a leap second is clamped: no datetime holds second 60
        ("Mon, 10 Aug 2015 23:59:60 GMT", utc(2015, 8, 10, 23, 59, 59)),
        # a day name in another language says nothing; an English month still reads
        ("mer, 16 nov 2022 00:38:15 +0100", utc(2022, 11, 15, 23, 38, 15)),
        # month first, 12-hour clock, date(1) and asctime
        ("Sat, Dec 16 2023 02:02:33 PM", utc(2023, 12, 16, 14, 2, 33)),
        ("Dec 16 2023 12:02 AM", utc(2023, 12, 16, 0, 2)),
        ("August 10, 2015", utc(2015, 8, 10)),
        ("Sept 3rd, 2015 at 5:00 pm", utc(2015, 9, 3, 17)),
        ("Mon Aug 10 14:00:00 2015", utc(2015, 8, 10, 14)),
        ("Mon Aug 10 14:00:00 UTC 2015", utc(2015, 8, 10, 14)),
        # ISO 8601 / RFC 3339 / W3C-DTF
        ("2015-08-10T14:00:00Z", utc(2015, 8, 10, 14)),
        ("2015-08-10T16:00:00+02:00", utc(2015, 8, 10, 14)),
        ("2015-08-10T10:00:00-04:00", utc(2015, 8, 10, 14)),
        ("2015-08-10T14:00:00.123Z", utc(2015, 8, 10, 14) + timedelta(microseconds=123000)),
        ("2015-08-10T14:00Z", utc(2015, 8, 10, 14)),
        ("2015-08-10T14:00:00", utc(2015, 8, 10, 14)),
        ("2015-08-10 14:00", utc(2015, 8, 10, 14)),
        ("2015-08-10", utc(2015, 8, 10)),
        ("20150810T140000Z", utc(2015, 8, 10, 14)),
        ("2015-08-10t14:00:00z", utc(2015, 8, 10, 14)),
        ("2015-8-1T14:00:00Z", utc(2015, 8, 1, 14)),
        ("2015-08-10T23:59:60Z", utc(2015, 8, 10, 23, 59, 59)),
        ("2017-06-13T03:18:00+00:0", utc(2017, 6, 13, 3, 18)),
        ("  2015-08-10T14:00:00Z\n", utc(2015, 8, 10, 14)),
        # slashes, as some CMSs write them
        ("2020/1/10 14:33:00", utc(2020, 1, 10, 14, 33)),
        ("2020/01/10", utc(2020, 1, 10)),
        # placeholders still parse; first_date is what refuses them
        ("0001-01-01T00:00:00Z", utc(1, 1, 1)),
        ("Mon, 01 Jan 0001 00:00:00 +0000", utc(1, 1, 1)),
    ],
)
def test_dates_that_read(text: str, expected: datetime) -> None:
    """Every form the specs and the corpora show reads as the same instant, in UTC."""
    moment = parse_date(text)
    assert moment == expected
    assert moment is not None and moment.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "yesterday",
        "1518478934",  # a Unix time: no format says so
        "03 Apr 02 1500 GMT",  # a time without its colon
        "Qua, 25 Abr 2018 10:00:00 -0300",  # a month in Portuguese
        "Mon, 32 Aug 2015 14:00:00 GMT",
        "Mon, 10 Aug 2015 25:00:00 GMT",
        "Mon, 10 Aug 2015 14:00:00 +2500",
        "2015-13-10T14:00:00Z",
        "2015-08-10T24:00:00Z",
        "Dec 16 2023 14:02 PM",  # no 14 o'clock in the afternoon
        "Mon, 10 Aug 2015 14:00:00 GMT trailing words",
        "9999-12-31T23:59:59-23:59",  # beyond what a datetime holds, once in UTC
        "x" * 10_000,  # hostile length: refused before any pattern looks at it
        "1" * 200,
    ],
)
def test_dates_that_do_not_read(text: str) -> None:
    """What no format describes reads as no date, never as a wrong one or an error."""
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["Mon, 10 Aug 2015 14:00:00 GMT", "2016-01-01"], utc(2015, 8, 10, 14)),
        ([None, "", "2016-01-01"], utc(2016, 1, 1)),
        (["garbage", "2016-01-01"], utc(2016, 1, 1)),
        (["0001-01-01T00:00:00Z", "2016-01-01"], utc(2016, 1, 1)),  # Hugo's placeholder
        (["1970-01-01T00:00:00Z"], None),  # a zero Unix time
        ([f"{MIN_YEAR}-01-01T00:00:00Z"], utc(MIN_YEAR, 1, 1)),
        ([], None),
    ],
)
def test_first_date_skips_placeholders(texts: list[str | None], expected: datetime | None) -> None:
    """The first readable date from MIN_YEAR on wins; placeholders and garbage are skipped."""
    assert first_date(texts) == expected
