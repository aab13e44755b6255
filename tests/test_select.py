"""Tests for roundup.select: the stories of one issue, and why each entry is in or out."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from roundup.config import FeedConfig
from roundup.models import Entry, Story
from roundup.select import Reason, Selection, Verdict, keyword_match, select_stories
from roundup.testing import make_entry
from roundup.week import Window, window_for

NEW_YORK = ZoneInfo("America/New_York")
# 2015-W33 ending on Friday: Sat 2015-08-08 00:00 to Sat 2015-08-15 00:00 EDT
WINDOW = window_for("2015-W33", week_ends=4, tz=NEW_YORK, now=datetime(2015, 8, 1, tzinfo=UTC))
MONDAY = datetime(2015, 8, 10, 12, 0, tzinfo=NEW_YORK)  # inside WINDOW
SPAN = "Sat 2015-08-08 00:00 – Sat 2015-08-15 00:00 EDT"


def feed(
    key: str,
    *,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    max_items: int | None = None,
    enabled: bool = True,
) -> FeedConfig:
    """A feed named after the first part of its key ("a.example" is "A")."""
    name = key.split(".")[0].capitalize()
    return FeedConfig(
        key=key,
        url=f"https://{key}/feed",
        name=name,
        max_items=max_items,
        include=include,
        exclude=exclude,
        enabled=enabled,
    )


FEEDS = (feed("a.example"), feed("b.example"), feed("c.example"))


def entry(
    title: str = "A story",
    *,
    feed: str = "a.example",
    id: str | None = None,
    url: str | None = None,
    at: datetime = MONDAY,
    dated: bool = True,
    summary: str = "",
) -> Entry:
    """An entry of ``feed`` published (or first seen, if undated) at ``at``."""
    id = id or f"{feed}:{title}:{at.isoformat()}"
    url = f"https://{feed}/{quote(id)}" if url is None else url
    return make_entry(
        feed=feed,
        id=id,
        title=title,
        link=url,
        canonical_url=url,
        published=at.astimezone(UTC),
        dated=dated,
        summary_html=f"<p>{summary}</p>",
        summary_text=summary,
        source=feed.split(".")[0].capitalize(),
        first_seen=at.astimezone(UTC),
    )


def select(
    entries: list[Entry],
    feeds: tuple[FeedConfig, ...] = FEEDS,
    max_items: int = 40,
    sent_urls: Mapping[str, str] | Collection[str] = (),
    window: Window = WINDOW,
) -> Selection:
    return select_stories(
        entries, window=window, feeds=feeds, max_items=max_items, sent_urls=sent_urls
    )


def verdict(selection: Selection, item: Entry) -> Verdict:
    (found,) = [v for v in selection.verdicts if v.entry == item]
    return found


@pytest.mark.parametrize("dated", [True, False])
@pytest.mark.parametrize(
    ("at", "inside"),
    [
        (datetime(2015, 8, 7, 23, 59, 59, tzinfo=NEW_YORK), False),
        (datetime(2015, 8, 8, 0, 0, 0, tzinfo=NEW_YORK), True),
        (datetime(2015, 8, 14, 23, 59, 59, tzinfo=NEW_YORK), True),
        (datetime(2015, 8, 15, 0, 0, 0, tzinfo=NEW_YORK), False),
    ],
)
def test_window_membership(at: datetime, inside: bool, dated: bool) -> None:
    """An entry is in the window by its published time, or its first_seen when undated."""
    item = entry(at=at, dated=dated)
    selection = select([item])
    assert (selection.stories == (Story(item),)) is inside
    assert verdict(selection, item).reason == ("selected" if inside else "outside_window")


@pytest.mark.parametrize(
    ("item", "detail"),
    [
        (
            entry(at=datetime(2015, 8, 7, 14, 0, tzinfo=NEW_YORK)),
            f"published 2015-08-07 14:00 EDT, before the window {SPAN}",
        ),
        (
            entry(at=datetime(2015, 8, 15, 4, 30, tzinfo=UTC), dated=False),
            f"first seen (the feed gives no date) 2015-08-15 00:30 EDT, after the window {SPAN}",
        ),
    ],
)
def test_outside_window_detail(item: Entry, detail: str) -> None:
    """The verdict shows the entry's time and the window in the newsletter's zone."""
    assert verdict(select([item]), item) == Verdict(item, "outside_window", detail)


def test_outside_window_detail_across_dst() -> None:
    """A window that crosses a DST change names both zone abbreviations."""
    window = window_for("2015-W45", week_ends=4, tz=NEW_YORK, now=MONDAY)
    item = entry(at=MONDAY)
    assert verdict(select([item], window=window), item).detail == (
        "published 2015-08-10 12:00 EDT, before the window "
        "Sat 2015-10-31 00:00 EDT – Sat 2015-11-07 00:00 EST"
    )


@pytest.mark.parametrize(
    ("include", "exclude", "title", "summary", "reason", "detail"),
    [
        ((), (), "Anything", "", "selected", "selected"),
        (("rust",), (), "Rust 1.80 is out", "", "selected", "selected"),
        (("rust",), (), "RUST!", "", "selected", "selected"),  # case-insensitive
        (("rust",), (), "Python news", "Nothing here", "not_included",
         "matched none of the include keywords 'rust'"),
        (("rust", "go"), (), "Python news", "", "not_included",
         "matched none of the include keywords 'rust', 'go'"),
        (("rust", "go"), (), "Notes", "written in Go", "selected", "selected"),  # summary
        (("iran",), (), "A weekend in Tirana", "", "not_included",
         "matched none of the include keywords 'iran'"),  # whole words only
        (("iran",), (), "Iran's new policy", "", "selected", "selected"),
        (("open source",), (), "Open-Source tools", "", "selected", "selected"),  # phrase
        (("open source",), (), "Open and closed source", "", "not_included",
         "matched none of the include keywords 'open source'"),
        (("c++",), (), "What is new in C++26", "", "not_included",
         "matched none of the include keywords 'c++'"),
        (("c++",), (), "What is new in C++ 26", "", "selected", "selected"),
        ((), ("sponsored",), "Sponsored: buy this", "", "excluded",
         "matched exclude keyword 'sponsored'"),
        ((), ("sponsored",), "Sponsorship news", "", "selected", "selected"),
        ((), ("advert",), "Hello", "This is an ADVERT.", "excluded",
         "matched exclude keyword 'advert'"),
        (("rust",), ("sponsored",), "Sponsored Rust course", "", "excluded",
         "matched exclude keyword 'sponsored'"),  # exclude wins over include
        (("straße",), (), "STRASSE", "", "selected", "selected"),  # case-folded
    ],
)  # fmt: skip
def test_keyword_filters(
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    title: str,
    summary: str,
    reason: Reason,
    detail: str,
) -> None:
    """Include needs one keyword, exclude wins; whole words, any case, title or summary."""
    item = entry(title, summary=summary)
    feeds = (feed("a.example", include=include, exclude=exclude),)
    assert verdict(select([item], feeds), item) == Verdict(item, reason, detail)


def test_keyword_match_returns_the_first_keyword_found() -> None:
    """keyword_match names the keyword that matched, in the configured order."""
    assert keyword_match(["absent", "two words", "one"], "One and two  words") == "two words"


@pytest.mark.parametrize(
    ("feeds", "detail"),
    [
        ((feed("a.example", enabled=False),), "its feed is disabled (enabled: false)"),
        ((feed("b.example"),), "its feed is no longer in feeds.yaml"),
    ],
)
def test_disabled_or_unknown_feed(feeds: tuple[FeedConfig, ...], detail: str) -> None:
    """Entries of a disabled feed, or of a feed not in the config, are dropped."""
    item = entry(feed="a.example")
    selection = select([item], feeds)
    assert selection.stories == ()
    assert selection.verdicts == (Verdict(item, "feed_disabled", detail),)


def test_per_feed_cap_keeps_the_newest() -> None:
    """A feed's max_items keeps its newest stories; the others are over the feed's cap."""
    items = [entry(f"Story {n}", at=MONDAY + timedelta(hours=n)) for n in range(4)]
    selection = select(items, (feed("a.example", max_items=2),))
    assert selection.stories == (Story(items[3]), Story(items[2]))
    assert verdict(selection, items[0]) == Verdict(
        items[0], "feed_cap", "over the feed's max_items (2)"
    )


def test_global_cap_shares_places_fairly() -> None:
    """Under max_items 10, a feed of 100 stories cannot crowd out three feeds of 3."""
    feeds = (feed("big.example"), *FEEDS)
    items = [
        entry(f"Big {n}", feed="big.example", at=MONDAY + timedelta(minutes=n)) for n in range(100)
    ] + [
        entry(f"Small {n}", feed=key, at=MONDAY - timedelta(hours=n + 1))
        for key in ("a.example", "b.example", "c.example")
        for n in range(3)
    ]
    selection = select(items, feeds, max_items=10)
    counts = Counter(story.entry.feed for story in selection.stories)
    # three rounds: 4 + 4 + 2 places; in the last round the big feed's newer story goes first
    assert counts == {"big.example": 3, "a.example": 3, "b.example": 2, "c.example": 2}
    over = [v for v in selection.verdicts if v.reason == "issue_cap"]
    assert len(over) == 109 - 10
    assert verdict(selection, items[0]).detail == (
        "the issue's max_items (10) was reached, shared fairly between feeds, "
        "before this feed's story #100 (newest first)"
    )


def test_stories_are_newest_first_with_total_tie_breaks() -> None:
    """Stories are newest first; equal times are ordered by feed key, then id."""
    late = entry("Late", feed="c.example", at=MONDAY + timedelta(hours=1))
    tied = [
        entry("T1", feed="b.example", id="2"),
        entry("T2", feed="a.example", id="9"),
        entry("T3", feed="b.example", id="1"),
    ]
    selection = select([*tied, late])
    assert [s.entry.title for s in selection.stories] == ["Late", "T2", "T3", "T1"]


@pytest.mark.parametrize(
    ("sent_urls", "detail"),
    [
        ({"https://x.org/1": "2015-W32"}, "already sent in issue 2015-W32"),
        ({"https://x.org/1"}, "already sent in an earlier issue"),
        (["https://x.org/0", "https://x.org/1"], "already sent in an earlier issue"),
    ],
)
def test_already_sent_links_are_skipped(
    sent_urls: Mapping[str, str] | Collection[str], detail: str
) -> None:
    """A canonical URL sent in an earlier issue is not repeated, and the verdict says when."""
    item = entry(url="https://x.org/1")
    selection = select([item], sent_urls=sent_urls)
    assert selection.stories == ()
    assert selection.verdicts == (Verdict(item, "already_sent", detail),)


def test_already_sent_through_another_copy() -> None:
    """A story is not repeated when any copy of it was sent, even under another URL."""
    kept = entry("The same story here", feed="a.example", url="https://a.example/new")
    copy = entry("The same story here", feed="b.example", url="https://x.org/old")
    selection = select([kept, copy], sent_urls={"https://x.org/old": "2015-W30"})
    assert selection.stories == ()
    sent = "already sent in issue 2015-W30 (as https://x.org/old)"
    assert verdict(selection, kept) == Verdict(kept, "already_sent", sent)
    assert verdict(selection, copy) == Verdict(
        copy,
        "duplicate",
        f"duplicate of 'The same story here' (A): same title; that copy is left out: {sent}",
    )


def test_duplicates_are_credited_and_explained() -> None:
    """A cross-feed duplicate is dropped with a verdict naming the kept copy."""
    kept = entry("Original title", feed="a.example", url="https://x.org/p")
    copy = entry("Another title", feed="c.example", url="https://x.org/p")
    selection = select([copy, kept])
    assert selection.stories == (Story(kept, also_via=("C",)),)
    assert verdict(selection, kept).detail == "selected; also via C"
    assert verdict(selection, copy).detail == "duplicate of 'Original title' (A): same link"


def test_duplicate_takes_no_place_under_the_feed_cap() -> None:
    """De-duplication comes before the feed cap: a dropped copy frees its feed's place."""
    original = entry("Big story of the week", feed="a.example", url="https://x.org/big")
    copy = entry("Big story", feed="b.example", url="https://x.org/big", at=MONDAY)
    own = entry("Smaller story", feed="b.example", at=MONDAY - timedelta(hours=1))
    feeds = (feed("a.example"), feed("b.example", max_items=1))
    selection = select([original, copy, own], feeds)
    assert selection.stories == (Story(original, ("B",)), Story(own))


def test_duplicate_takes_no_place_under_the_issue_cap() -> None:
    """De-duplication comes before the issue cap: two places hold two different stories."""
    original = entry("Story one", feed="a.example", url="https://x.org/1")
    copy = entry("Story one again", feed="b.example", url="https://x.org/1")
    other = entry("Story two", feed="c.example", at=MONDAY - timedelta(hours=1))
    selection = select([original, copy, other], max_items=2)
    assert selection.stories == (Story(original, ("B",)), Story(other))


def test_duplicate_of_a_capped_story_says_so() -> None:
    """When the kept copy is over its feed's cap, its duplicates' verdicts say so."""
    newer = entry("Newer", feed="a.example", at=MONDAY + timedelta(hours=1))
    capped = entry("Capped story", feed="a.example", url="https://x.org/c")
    copy = entry("Copy", feed="b.example", url="https://x.org/c")
    feeds = (feed("a.example", max_items=1), feed("b.example"))
    assert verdict(select([newer, capped, copy], feeds), copy).detail == (
        "duplicate of 'Capped story' (A): same link; "
        "that copy is left out: over the feed's max_items (1)"
    )


def mixed_entries() -> list[Entry]:
    return [
        entry("In", feed="a.example"),
        entry("Old", feed="a.example", at=MONDAY - timedelta(days=7)),
        entry("Sponsored post", feed="b.example"),
        entry("Sent", feed="b.example", url="https://x.org/sent"),
        entry("Copy", feed="c.example", url="https://x.org/in"),
        entry("Original", feed="a.example", url="https://x.org/in", at=MONDAY - timedelta(days=1)),
        entry("Gone", feed="gone.example"),
        *(entry(f"Many {n}", feed="c.example", at=MONDAY + timedelta(minutes=n)) for n in range(5)),
    ]


def mixed_selection(entries: list[Entry]) -> Selection:
    feeds = (feed("a.example"), feed("b.example", exclude=("sponsored",)), feed("c.example"))
    return select(entries, feeds, max_items=4, sent_urls={"https://x.org/sent": "2015-W32"})


def test_every_entry_gets_one_verdict() -> None:
    """Each entry considered has exactly one verdict, with the reason that applied first."""
    entries = mixed_entries()
    selection = mixed_selection(entries)
    assert Counter(v.entry for v in selection.verdicts) == Counter(entries)
    assert Counter(v.reason for v in selection.verdicts) == {
        "selected": 4,
        "outside_window": 1,
        "excluded": 1,
        "already_sent": 1,
        "duplicate": 1,
        "feed_disabled": 1,
        "issue_cap": 3,
    }
    selected = [v.entry for v in selection.verdicts if v.reason == "selected"]
    assert sorted(selected, key=lambda e: e.id) == sorted(
        (s.entry for s in selection.stories), key=lambda e: e.id
    )


def test_shuffled_input_gives_the_same_selection() -> None:
    """The selection does not depend on the order in which entries arrive."""
    entries = mixed_entries()
    expected = mixed_selection(entries)
    for seed in range(5):
        shuffled = entries[:]
        random.Random(seed).shuffle(shuffled)
        assert mixed_selection(shuffled) == expected


def test_verdicts_for_finds_link_or_canonical_url() -> None:
    """verdicts_for looks an entry up by its link or its canonical URL."""
    item = replace(entry(url="https://x.org/p"), link="https://x.org/p?utm_source=rss")
    selection = select([item])
    assert selection.verdicts_for("https://x.org/p") == selection.verdicts
    assert selection.verdicts_for("https://x.org/p?utm_source=rss") == selection.verdicts
    assert selection.verdicts_for("https://x.org/other") == ()
