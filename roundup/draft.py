"""The draft the editor reviews: ``<output_dir>/<week>/draft.yaml``.

``build_draft`` proposes one item per story; given the week's existing draft it merges instead,
and the editor's work always wins:

* every item already in the draft stays exactly as edited, in its section and order, even
  when the feeds no longer carry it; subject, preheader, intro and number stay as edited;
* a story proposed before (its key is in ``known``) but no longer in the draft was removed by
  the editor, and stays removed;
* a story never proposed before is appended to its section with ``new: true``; a section the
  editor deleted comes back, next to its configured neighbours, only when it gets such an item;
* ``new: true`` stays until the editor deletes it, so a second re-draft does not hide what
  arrived since the editor last looked.

An item the editor adds by hand needs only ``title`` and ``link``; its key becomes
``editor:<canonical link>``, and a story with that same link is then not proposed again.

Reading, validating and writing the file is :mod:`roundup.draft_file`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import tzinfo

from roundup import i18n, text
from roundup.config import Newsletter
from roundup.draft_file import ID_PREFIX
from roundup.excerpt import make_excerpt
from roundup.models import Coverage, Draft, DraftItem, DraftSection, Entry, Group, Story
from roundup.normalize import canonical_url, strip_tracking
from roundup.week import Window

EXCERPT_CHARS = 300


def build_draft(
    groups: Sequence[Group],
    *,
    window: Window,
    number: int,
    newsletter: Newsletter,
    previous: Draft | None = None,
) -> Draft:
    """The draft for ``window``: fresh, or ``previous`` (the same week's draft) plus new stories.

    A fresh draft has one section per non-empty group, the subject
    ``"<title>: <last day of the window, long form>"`` ("The Elicitor Weekly Roundup:
    August 14, 2015"), and an empty preheader and intro: the editor writes those, and until
    then the inbox preview is worked out when the issue renders
    (:func:`roundup.issue_view.issue_preheader`), never a list of titles.
    """
    proposed = _proposals(groups, window.start.tzinfo)
    if previous is None:
        return _fresh(proposed, window=window, number=number, newsletter=newsletter)
    return _merge(previous, proposed, window)


def default_subject(newsletter: Newsletter, window: Window) -> str:
    """``"The Elicitor Weekly Roundup: August 14, 2015"``, the date in the newsletter's language."""
    return f"{newsletter.title}: {i18n.format_date(window.last_day, newsletter.language)}"


def _proposals(groups: Sequence[Group], tz: tzinfo | None) -> tuple[DraftSection, ...]:
    """One section per non-empty group; same-named groups merge; each key is proposed once."""
    descriptions: dict[str, str] = {}
    items: dict[str, list[DraftItem]] = {}
    seen: set[str] = set()
    for group in groups:
        descriptions.setdefault(group.name, group.description)
        bucket = items.setdefault(group.name, [])
        for story in group.stories:
            item = _proposal(story, tz)
            if item.key not in seen:  # a duplicate key would make the file unreadable
                seen.add(item.key)
                bucket.append(item)
    return tuple(
        DraftSection(name, description, tuple(items[name]))
        for name, description in descriptions.items()
        if items[name]
    )


def _proposal(story: Story, tz: tzinfo | None) -> DraftItem:
    entry = story.entry
    # The feed's campaign parameters (utm_source=rss, at_campaign=rss) do not go out.
    link = strip_tracking(entry.link) or entry.canonical_url
    return DraftItem(
        key=_entry_key(entry),
        title=" ".join(entry.title.split()) or link or "(untitled)",  # a title is required
        link=link,
        source=entry.source,
        published=entry.published.astimezone(tz),  # the editor reads local times
        excerpt=make_excerpt(
            entry.summary_text, EXCERPT_CHARS, title=entry.title, author=entry.author
        ),
        image=entry.image or None,
        also_via=story.also_via,
        author=text.byline_author(entry.author, entry.source),
        read_minutes=text.read_minutes(entry.summary_text),
        covered_by=story.covered_by,
    )


def covered_keys(item: DraftItem) -> tuple[str, ...]:
    """The keys of the articles an item stands for besides its own: those of its
    "also covered by" list, so that they are never proposed again on their own."""
    return tuple(canonical_url(coverage.link) for coverage in item.covered_by if coverage.link)


def _entry_key(entry: Entry) -> str:
    return entry.canonical_url or entry.link or ID_PREFIX + entry.id


def _fresh(
    sections: tuple[DraftSection, ...], *, window: Window, number: int, newsletter: Newsletter
) -> Draft:
    items = [item for section in sections for item in section.items]
    return Draft(
        week=window.week,
        number=number,
        subject=default_subject(newsletter, window),
        preheader="",
        intro="",
        sections=sections,
        window_start=window.start,
        window_end=window.end,
        known=tuple(
            dict.fromkeys(key for item in items for key in (item.key, *covered_keys(item)))
        ),
    )


def _merge(previous: Draft, proposed: tuple[DraftSection, ...], window: Window) -> Draft:
    taken = set(previous.known) | {item.key for item in previous.items}
    taken |= {canonical_url(item.link) for item in previous.items if item.link}
    taken |= {key for item in previous.items for key in covered_keys(item)}
    shown = {item.key for item in previous.items}
    additions = {
        section.name: tuple(
            replace(_without_coverage(item, shown), new=True)
            for item in section.items
            if item.key not in taken
        )
        for section in proposed
    }
    coverage = {
        item.key: item.covered_by
        for section in proposed
        for item in section.items
        if item.covered_by
    }
    sections = [
        replace(
            section,
            items=tuple(_more_coverage(item, coverage, previous.known) for item in section.items)
            + additions.pop(section.name, ()),
        )
        for section in previous.sections
    ]
    _recreate(sections, proposed, additions)
    candidates = (
        key
        for section in proposed
        for item in section.items
        for key in (item.key, *covered_keys(item))
    )
    return replace(
        previous,
        week=window.week,
        sections=tuple(sections),
        window_start=window.start,
        window_end=window.end,
        known=tuple(dict.fromkeys([*previous.known, *candidates])),
    )


def _without_coverage(item: DraftItem, shown: set[str]) -> DraftItem:
    """A new item without the coverage that is already an item of the draft."""
    kept = tuple(other for other in item.covered_by if canonical_url(other.link) not in shown)
    return item if kept == item.covered_by else replace(item, covered_by=kept)


def _more_coverage(
    item: DraftItem, coverage: Mapping[str, tuple[Coverage, ...]], known: Sequence[str]
) -> DraftItem:
    """An item of the draft with the articles about its event that arrived since: those
    never proposed before (one the editor deleted from its list stays deleted)."""
    proposed = coverage.get(item.key, ())
    seen = set(known) | set(covered_keys(item))
    arrived = tuple(other for other in proposed if canonical_url(other.link) not in seen)
    return replace(item, covered_by=item.covered_by + arrived) if arrived else item


def _recreate(
    sections: list[DraftSection],
    proposed: tuple[DraftSection, ...],
    additions: Mapping[str, tuple[DraftItem, ...]],
) -> None:
    """Insert the sections missing from ``sections`` that have new items, after the nearest
    section that precedes them in the configured order (else first)."""
    for index, group in enumerate(proposed):
        items = additions.get(group.name, ())
        if not items:
            continue
        earlier = {section.name for section in proposed[:index]}
        at = max((n + 1 for n, s in enumerate(sections) if s.name in earlier), default=0)
        sections.insert(at, DraftSection(group.name, group.description, items))
