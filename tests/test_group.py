"""Tests for roundup.group: stories sorted into the configured sections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roundup.config import FeedConfig, SectionConfig
from roundup.group import group_stories
from roundup.models import Entry, Group, Story

T0 = datetime(2015, 8, 10, 12, 0, tzinfo=UTC)
OTHER = "More reading"


def story(title: str, *, feed: str, hours: int = 0, id: str | None = None) -> Story:
    """A story of ``feed``, published ``hours`` after T0."""
    return Story(
        Entry(
            feed=feed,
            id=id or title,
            title=title,
            link=f"https://{feed}/{title}",
            canonical_url=f"https://{feed}/{title}",
            author="",
            published=T0 + timedelta(hours=hours),
            dated=True,
            summary="",
            summary_base="",
            image=None,
            tags=(),
            source=feed,
            first_seen=T0 + timedelta(hours=hours),
        )
    )


def feed(key: str, section: str | None = None) -> FeedConfig:
    return FeedConfig(key=key, url=f"https://{key}/feed", section=section)


def names(groups: tuple[Group, ...]) -> list[tuple[str, list[str]]]:
    """Each group's name and its stories' titles, in order."""
    return [(group.name, [s.entry.title for s in group.stories]) for group in groups]


SECTIONS = (
    SectionConfig("News", "What happened"),
    SectionConfig("Tools"),
    SectionConfig("Events"),
)
FEEDS = (feed("tools", "Tools"), feed("news", "News"), feed("blog"), feed("events", "Events"))


def test_sections_in_configured_order_default_last_empty_left_out() -> None:
    """Sections follow the config, feeds without a section go last, empty sections go."""
    stories = [
        story("blog post", feed="blog"),
        story("new tool", feed="tools"),
        story("headline", feed="news"),
    ]
    groups = group_stories(stories, sections=SECTIONS, feeds=FEEDS, default_name=OTHER)
    assert names(groups) == [
        ("News", ["headline"]),
        ("Tools", ["new tool"]),
        (OTHER, ["blog post"]),
    ]
    assert [group.description for group in groups] == ["What happened", "", ""]


def test_no_default_section_when_every_feed_has_one() -> None:
    """The default section appears only when a story needs it."""
    groups = group_stories(
        [story("headline", feed="news")], sections=SECTIONS, feeds=FEEDS, default_name=OTHER
    )
    assert names(groups) == [("News", ["headline"])]


def test_no_sections_configured() -> None:
    """Without sections, every story goes in the one default section, newest first."""
    stories = [story("older", feed="news", hours=0), story("newer", feed="blog", hours=5)]
    groups = group_stories(stories, sections=(), feeds=FEEDS, default_name=OTHER)
    assert groups == (Group(OTHER, "", (stories[1], stories[0])),)


def test_no_stories_no_groups() -> None:
    """An empty issue has no sections at all."""
    assert group_stories([], sections=SECTIONS, feeds=FEEDS, default_name=OTHER) == ()


def test_story_of_an_unconfigured_feed_goes_to_the_default_section() -> None:
    """A feed not in the config, or naming no configured section, lands in the default."""
    feeds = (*FEEDS, feed("odd", "Nonexistent"))
    stories = [story("orphan", feed="gone"), story("odd one", feed="odd", hours=1)]
    groups = group_stories(stories, sections=SECTIONS, feeds=feeds, default_name=OTHER)
    assert names(groups) == [(OTHER, ["odd one", "orphan"])]


def test_section_named_like_the_default_takes_the_unsectioned_stories() -> None:
    """A configured section named default_name is not repeated: it gets the leftovers."""
    sections = (SectionConfig(OTHER, "Everything else", order="oldest"), SectionConfig("News"))
    feeds = (feed("news", "News"), feed("blog"), feed("misc", OTHER))
    stories = [
        story("blog post", feed="blog", hours=2),
        story("misc post", feed="misc", hours=1),
        story("headline", feed="news"),
    ]
    groups = group_stories(stories, sections=sections, feeds=feeds, default_name=OTHER)
    assert names(groups) == [(OTHER, ["misc post", "blog post"]), ("News", ["headline"])]


MIXED = [
    story("tools 1h", feed="tools", hours=1),
    story("news 3h", feed="news", hours=3),
    story("tools 4h", feed="tools", hours=4),
    story("news 2h", feed="news", hours=2),
    story("tie b", feed="news", hours=0, id="b"),
    story("tie a", feed="news", hours=0, id="a"),
]


@pytest.mark.parametrize(
    ("order", "titles"),
    [
        ("newest", ["tools 4h", "news 3h", "news 2h", "tools 1h", "tie a", "tie b"]),
        ("oldest", ["tie a", "tie b", "tools 1h", "news 2h", "news 3h", "tools 4h"]),
        # feed config order: tools is listed before news in FEEDS
        ("source", ["tools 4h", "tools 1h", "news 3h", "news 2h", "tie a", "tie b"]),
    ],
)
def test_section_order(order: str, titles: list[str]) -> None:
    """Within a section, stories follow its order: newest, oldest, or by source then newest."""
    sections = (SectionConfig("All", order=order),)
    feeds = (feed("tools", "All"), feed("news", "All"))
    groups = group_stories(MIXED, sections=sections, feeds=feeds, default_name=OTHER)
    assert names(groups) == [("All", titles)]


def test_unknown_order_is_an_error() -> None:
    """An order the config validation would have refused raises ValueError."""
    sections = (SectionConfig("All", order="random"),)
    with pytest.raises(ValueError, match="section 'All': unknown order 'random'"):
        group_stories(MIXED, sections=sections, feeds=(feed("news", "All"),), default_name=OTHER)
