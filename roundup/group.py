"""Sort an issue's stories into the configured sections.

A story goes to its feed's ``section``. Stories whose feed names no section (or a section
that is not configured) go to a last section named ``default_name``, the "More reading" of
the newsletter's language; with no sections configured, that is the only section. Sections
keep their configured order, and a section with no stories is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from roundup.config import FeedConfig, SectionConfig
from roundup.dedupe import newest_first
from roundup.models import Group, Story

_SortKey = Callable[[Story], tuple[object, ...]]


def group_stories(
    stories: Sequence[Story],
    *,
    sections: Sequence[SectionConfig],
    feeds: Sequence[FeedConfig],
    default_name: str,
) -> tuple[Group, ...]:
    """The non-empty sections, in configured order, then the default section.

    Within a section stories follow its ``order``: ``newest`` first (the default),
    ``oldest`` first, ``source``: by the feed's position in feeds.yaml, then newest
    first, or ``coverage``: by how many sources carried or covered the story (see
    :func:`coverage_count`), then newest first. The default section is ordered newest
    first. If a configured section is itself named ``default_name``, it takes the stories
    of feeds without a section.
    """
    section_of = {feed.key: feed.section for feed in feeds}
    rank = {feed.key: index for index, feed in enumerate(feeds)}
    members: dict[str, list[Story]] = {section.name: [] for section in sections}
    for story in stories:
        name = section_of.get(story.entry.feed)
        members.setdefault(name if name in members else default_name, []).append(story)

    layout = list(sections)
    if default_name not in (section.name for section in sections):
        layout.append(SectionConfig(name=default_name))
    groups = (
        Group(
            name=section.name,
            description=section.description,
            stories=tuple(sorted(members.get(section.name, ()), key=_sort_key(section, rank))),
        )
        for section in layout
    )
    return tuple(group for group in groups if group.stories)


def coverage_count(story: Story) -> int:
    """How many sources carried or covered a story: its own, those it was also published
    via, and those of the other articles about the same event."""
    return 1 + len(story.also_via) + len({coverage.source for coverage in story.covered_by})


def _sort_key(section: SectionConfig, rank: dict[str, int]) -> _SortKey:
    if section.order == "newest":
        return lambda story: newest_first(story.entry)
    if section.order == "oldest":
        return lambda story: (story.entry.published, story.entry.feed, story.entry.id)
    if section.order == "coverage":
        # the story most sources carried or covered first, then newest first
        return lambda story: (-coverage_count(story), *newest_first(story.entry))
    if section.order == "source":
        # a feed no longer configured sorts after the configured ones
        return lambda story: (rank.get(story.entry.feed, len(rank)), *newest_first(story.entry))
    raise ValueError(f"section {section.name!r}: unknown order {section.order!r}")
