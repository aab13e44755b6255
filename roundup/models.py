"""The small frozen records that flow between the pipeline stages.

Every datetime here is timezone-aware; stored and compared in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any


@dataclass(frozen=True, slots=True)
class Entry:
    """One normalised feed entry, as stored and as selected for an issue.

    ``feed`` is the feed's key: its URL exactly as written in feeds.yaml (or the resolved
    absolute path of a local file), so that entries stay attached to the configured feed even
    after a permanent redirect.

    ``summary`` is kept as the feed sent it, unsanitised: sanitising and extracting text
    cost more than reading the feed, and only the few entries that can reach an issue need
    them, so :attr:`summary_html` and :attr:`summary_text` are worked out when first read.
    """

    feed: str
    id: str  # stable: guid, else canonical link, else a content hash
    title: str  # plain text: entities decoded, tags stripped
    link: str  # absolute URL ("" when the entry has none)
    canonical_url: str  # tracking parameters removed, host lower-cased, no fragment
    author: str
    published: datetime  # aware UTC; the first-seen time when the entry has no usable date
    dated: bool  # False when ``published`` is the first-seen time, not a date from the feed
    summary: str  # the feed's HTML, UNSANITISED (at most normalize.SUMMARY_LIMIT characters)
    summary_base: str  # the URL that relative links in ``summary`` resolve against
    image: str | None  # first image: media:thumbnail/content, enclosure, or first <img>
    tags: tuple[str, ...]
    source: str  # display name of the feed (configured name, else the feed's title)
    first_seen: datetime  # aware UTC
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def summary_html(self) -> str:
        """The summary sanitised: safe markup only, every URL absolute http(s)."""
        from roundup.normalize import sanitize_html  # nh3 loads only where summaries are read

        return sanitize_html(self.summary, self.summary_base)

    @property
    def summary_text(self) -> str:
        """The plain text of the summary (of its sanitised form), worked out once."""
        text = self._text
        if text is None:
            from roundup.normalize import summary_text

            text = summary_text(self.summary, self.summary_base)
            object.__setattr__(self, "_text", text)  # frozen, but its cache may be filled
        return text

    def __reduce__(self) -> tuple[type[Entry], tuple[Any, ...]]:
        # Entries cross from the parse workers by the thousand. A frozen slotted dataclass
        # pickles through a generic state that looks up its fields again for every object
        # (a tenth of a worker's time, and as much again to unpickle it in the main
        # process); its constructor's arguments pickle and unpickle at C speed.
        return (Entry, _entry_arguments(self))


# Entry's constructor arguments, in order: what an entry is pickled as.
_entry_arguments = attrgetter(*(f.name for f in fields(Entry) if f.init))


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """What a parse learned about the feed itself."""

    title: str
    link: str  # the site's home page, when the feed names one
    warnings: tuple[str, ...] = ()  # e.g. feedparser's bozo exception, kept, not fatal


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The result of parsing one feed body."""

    meta: FeedMeta
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    """Another feed's article about the same event as an item (see :mod:`roundup.coverage`)."""

    source: str  # the feed's display name
    title: str
    link: str


@dataclass(frozen=True, slots=True)
class DraftItem:
    """One item of a draft, as the editor sees and edits it in draft.yaml.

    ``key`` identifies the item across re-drafts: the entry's canonical URL, or
    ``editor:<canonical link>`` for an item the editor added by hand.
    """

    key: str
    title: str
    link: str
    source: str
    published: datetime | None  # aware; None for an editor's item with no date
    excerpt: str  # plain text
    note: str = ""  # the editor's annotation, Markdown
    image: str | None = None
    also_via: tuple[str, ...] = ()  # other sources that carried the same story
    covered_by: tuple[Coverage, ...] = ()  # other articles about the same event
    new: bool = False  # arrived since the previous draft of this week
    author: str = ""  # the byline's name; "" when the feed names none, or only itself
    read_minutes: int = 0  # minutes to read the whole article; 0 when the feed has only a teaser


@dataclass(frozen=True, slots=True)
class DraftSection:
    name: str
    description: str
    items: tuple[DraftItem, ...]


@dataclass(frozen=True, slots=True)
class Draft:
    """One issue as the editor reviews it: the content of ``<output_dir>/<week>/draft.yaml``."""

    week: str  # ISO week, "2015-W33"
    number: int  # issue number
    subject: str
    preheader: str
    intro: str  # Markdown
    sections: tuple[DraftSection, ...]
    window_start: datetime  # aware, the newsletter's timezone
    window_end: datetime  # exclusive
    known: tuple[str, ...] = field(default=())  # every key ever proposed for this week

    @property
    def items(self) -> tuple[DraftItem, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @property
    def removed(self) -> tuple[str, ...]:
        """Keys proposed once and since removed by the editor: they stay removed.

        An article named in an item's ``covered_by`` is present, not removed."""
        from roundup.normalize import canonical_url

        present = {item.key for item in self.items}
        present |= {canonical_url(other.link) for item in self.items for other in item.covered_by}
        return tuple(key for key in self.known if key not in present)


@dataclass(frozen=True, slots=True)
class Story:
    """An entry chosen for an issue, with the other sources that carried the same story."""

    entry: Entry
    also_via: tuple[str, ...] = ()  # display names of the other feeds, in a stable order
    covered_by: tuple[Coverage, ...] = ()  # other feeds' articles about the same event


@dataclass(frozen=True, slots=True)
class Group:
    """One section of an issue before the editor sees it."""

    name: str
    description: str
    stories: tuple[Story, ...]


# Stands in the rendered email wherever a per-recipient unsubscribe token goes; the send
# stage substitutes it per recipient (rendering happens once per issue, not per recipient).
UNSUBSCRIBE_TOKEN = "ROUNDUP-UNSUBSCRIBE-TOKEN"
