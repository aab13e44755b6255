"""Choose the stories of one issue, and record why every entry is in or out.

The stages, in order; an entry leaves at the first one that rejects it:

1. ``feed_disabled``: its feed is disabled, or no longer in feeds.yaml.
2. ``outside_window``: its ``published`` time (``first_seen`` when the feed gives no date)
   is not in the window.
3. ``excluded`` / ``not_included``: the feed's keyword filters, matched on title and summary
   (see :func:`keyword_match`). An exclude keyword wins over an include keyword.
4. ``duplicate``: another copy of the same story, from this or another feed
   (:mod:`roundup.dedupe`). De-duplication comes before the caps, so that a duplicate never
   takes a place under a cap.
5. ``already_sent``: a copy of the story has a canonical URL sent in an earlier issue.
6. ``feed_cap``: over its feed's ``max_items``, newest first within the feed. A story
   counts against the feed of its kept copy.
7. ``issue_cap``: over the issue's ``max_items``, shared fairly (see :func:`fair_share`).

Every order is total (newest first, then feed key, then entry id), so the result does not
depend on the order in which entries arrive.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Literal

from roundup.config import FeedConfig
from roundup.dedupe import Deduped, dedupe, newest_first
from roundup.models import Entry, Story
from roundup.week import Window

Reason = Literal[
    "selected",
    "outside_window",
    "excluded",
    "not_included",
    "already_sent",
    "duplicate",
    "feed_cap",
    "issue_cap",
    "feed_disabled",
]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not %a: that follows the locale


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why one entry is in the issue or out of it; ``detail`` is for people."""

    entry: Entry
    reason: Reason
    detail: str  # e.g. "matched exclude keyword 'sponsored'"


@dataclass(frozen=True, slots=True)
class Selection:
    """The stories of an issue, and a verdict for every entry considered."""

    stories: tuple[Story, ...]  # selected, de-duplicated, newest first
    verdicts: tuple[Verdict, ...]  # one per entry, newest first

    def verdicts_for(self, url: str) -> tuple[Verdict, ...]:
        """The verdicts of the entries whose link or canonical URL is ``url``."""
        return tuple(v for v in self.verdicts if url in (v.entry.link, v.entry.canonical_url))


def select_stories(
    entries: Iterable[Entry],
    *,
    window: Window,
    feeds: Sequence[FeedConfig],
    max_items: int,
    sent_urls: Mapping[str, str] | Collection[str] = (),
) -> Selection:
    """Select the stories of the issue covering ``window`` (see the module's docstring).

    ``feeds`` is the configuration's feed list, in config order; ``max_items`` the issue's
    cap (``newsletter.max_items``). ``sent_urls`` holds the canonical URLs of earlier
    issues: a mapping to an issue label (``{"https://…": "2015-W32"}``) lets the verdict
    name the issue.
    """
    configured = {feed.key: feed for feed in feeds}
    verdicts: list[Verdict] = []
    candidates: list[Entry] = []
    for entry in entries:
        verdict = _screen(entry, configured.get(entry.feed), window)
        if verdict is None:
            candidates.append(entry)
        else:
            verdicts.append(verdict)

    deduped = dedupe(candidates, [feed.key for feed in feeds])
    stories = sorted(deduped.stories, key=lambda story: newest_first(story.entry))
    stories, sent = _drop_sent(stories, _copies(deduped), sent_urls)
    stories, over_feed = _feed_caps(stories, configured)
    chosen, over_issue = fair_share(stories, max_items)
    kept_verdicts = [*sent, *over_feed, *over_issue, *map(_selected, chosen)]

    verdicts += kept_verdicts
    verdicts += _duplicates(deduped, {_key(v.entry): v for v in kept_verdicts})
    verdicts.sort(key=lambda verdict: newest_first(verdict.entry))
    return Selection(stories=tuple(chosen), verdicts=tuple(verdicts))


def fair_share(stories: Sequence[Story], max_items: int) -> tuple[list[Story], list[Verdict]]:
    """Fill ``max_items`` places round-robin across feeds, so no feed can fill the issue.

    Round 1 takes the newest story of every feed, round 2 the second newest of every feed
    that has one, and so on, until the places are filled; within a round, newer stories go
    first. So 10 places shared by a feed of 100 stories and three feeds of 3 take 4 stories
    in each of rounds 1 and 2 and 2 in round 3: 3 places for the big feed, 3 or 2 for the
    others. A feed's position in feeds.yaml plays no part here. Returns the chosen stories,
    newest first, and an ``issue_cap`` verdict for each of the others.
    """
    position: dict[str, int] = defaultdict(int)
    ranked: list[tuple[int, Story]] = []
    for story in sorted(stories, key=lambda s: newest_first(s.entry)):
        ranked.append((position[story.entry.feed], story))
        position[story.entry.feed] += 1
    ranked.sort(key=lambda pair: (pair[0], newest_first(pair[1].entry)))
    chosen = sorted((story for _, story in ranked[:max_items]), key=lambda s: newest_first(s.entry))
    over = [
        Verdict(
            story.entry,
            "issue_cap",
            f"the issue's max_items ({max_items}) was reached, shared fairly between feeds, "
            f"before this feed's story #{round_ + 1} (newest first)",
        )
        for round_, story in ranked[max_items:]
    ]
    return chosen, over


def keyword_match(keywords: Iterable[str], text: str) -> str | None:
    """The first of ``keywords`` found in ``text`` as whole words, else None.

    Case-insensitive; a keyword matches whole words only ("iran" does not match
    "Tirana"), and the words of a phrase may be separated by any spaces or a hyphen
    ("open source" matches "Open-Source").
    """
    folded = text.casefold()
    return next((word for word in keywords if _keyword_pattern(word).search(folded)), None)


# --- the stages ------------------------------------------------------------------------


def _screen(entry: Entry, feed: FeedConfig | None, window: Window) -> Verdict | None:
    """The verdict of the per-entry stages (1 to 3), or None when the entry passes them."""
    if feed is None:
        return Verdict(entry, "feed_disabled", "its feed is no longer in feeds.yaml")
    if not feed.enabled:
        return Verdict(entry, "feed_disabled", "its feed is disabled (enabled: false)")
    moment = entry.published if entry.dated else entry.first_seen
    if not window.contains(moment):
        return Verdict(entry, "outside_window", _outside(entry, moment, window))
    text = f"{entry.title}\n{entry.summary_text}"
    excluded = keyword_match(feed.exclude, text)
    if excluded is not None:
        return Verdict(entry, "excluded", f"matched exclude keyword '{excluded}'")
    if feed.include and keyword_match(feed.include, text) is None:
        listed = ", ".join(f"'{word}'" for word in feed.include)
        return Verdict(entry, "not_included", f"matched none of the include keywords {listed}")
    return None


def _drop_sent(
    stories: list[Story],
    copies: Mapping[tuple[str, str], list[Entry]],
    sent_urls: Mapping[str, str] | Collection[str],
) -> tuple[list[Story], list[Verdict]]:
    """Leave out a story when any copy of it went out in an earlier issue."""
    fresh: list[Story] = []
    sent: list[Verdict] = []
    if not isinstance(sent_urls, Mapping | AbstractSet):
        sent_urls = frozenset(sent_urls)  # a list would make every look-up a scan
    for story in stories:
        urls = (copy.canonical_url for copy in copies[_key(story.entry)])
        url = next((url for url in urls if url and url in sent_urls), None)
        if url is None:
            fresh.append(story)
        else:
            sent.append(Verdict(story.entry, "already_sent", _sent_detail(story, url, sent_urls)))
    return fresh, sent


def _feed_caps(
    stories: list[Story], feeds: Mapping[str, FeedConfig]
) -> tuple[list[Story], list[Verdict]]:
    """Keep the newest ``max_items`` stories of each feed that has one."""
    kept: list[Story] = []
    over: list[Verdict] = []
    count: dict[str, int] = defaultdict(int)
    for story in stories:  # newest first
        cap = feeds[story.entry.feed].max_items
        count[story.entry.feed] += 1
        if cap is not None and count[story.entry.feed] > cap:
            over.append(Verdict(story.entry, "feed_cap", f"over the feed's max_items ({cap})"))
        else:
            kept.append(story)
    return kept, over


def _selected(story: Story) -> Verdict:
    via = f"; also via {', '.join(story.also_via)}" if story.also_via else ""
    return Verdict(story.entry, "selected", f"selected{via}")


def _duplicates(deduped: Deduped, fates: Mapping[tuple[str, str], Verdict]) -> list[Verdict]:
    """A verdict per dropped copy, saying what became of the copy that was kept."""
    verdicts = []
    for dup in deduped.duplicates:
        kept = dup.kept
        same_feed = " in the same feed" if dup.dropped.feed == kept.feed else ""
        detail = f"duplicate of '{kept.title}' ({kept.source}): {dup.match}{same_feed}"
        fate = fates[_key(kept)]
        if fate.reason != "selected":
            detail += f"; that copy is left out: {fate.detail}"
        verdicts.append(Verdict(dup.dropped, "duplicate", detail))
    return verdicts


# --- helpers ---------------------------------------------------------------------------


def _key(entry: Entry) -> tuple[str, str]:
    return (entry.feed, entry.id)


def _copies(deduped: Deduped) -> dict[tuple[str, str], list[Entry]]:
    """Every copy of each story, the kept one first, by the kept copy's key."""
    copies = {_key(story.entry): [story.entry] for story in deduped.stories}
    for dup in deduped.duplicates:
        copies[_key(dup.kept)].append(dup.dropped)
    return copies


def _sent_detail(story: Story, url: str, sent_urls: Mapping[str, str] | Collection[str]) -> str:
    issue = f"issue {sent_urls[url]}" if isinstance(sent_urls, Mapping) else "an earlier issue"
    copy = "" if url == story.entry.canonical_url else f" (as {url})"
    return f"already sent in {issue}{copy}"


def _outside(entry: Entry, moment: datetime, window: Window) -> str:
    """E.g. published 2015-08-07 14:00 EDT, before the window Sat 2015-08-08 00:00 – …"""
    zone = window.start.tzinfo
    what = "published" if entry.dated else "first seen (the feed gives no date)"
    side = "before" if moment < window.start else "after"
    return f"{what} {_local(moment, zone)}, {side} the window {_span(window)}"


def _span(window: Window) -> str:
    start, end = window.start, window.end
    if start.tzname() == end.tzname():  # name the zone once, unless DST changes it
        return f"{_day(start)} {start:%H:%M} – {_day(end)} {end:%H:%M %Z}"
    return f"{_day(start)} {start:%H:%M %Z} – {_day(end)} {end:%H:%M %Z}"


def _day(moment: datetime) -> str:
    return f"{_WEEKDAYS[moment.weekday()]} {moment:%Y-%m-%d}"


def _local(moment: datetime, zone: tzinfo | None) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z}"


@lru_cache(maxsize=512)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    # lookarounds rather than \b, so that "c++" and ".net" work as keywords
    phrase = r"(?:\s|-)+".join(re.escape(word) for word in keyword.casefold().split())
    return re.compile(rf"(?<!\w){phrase}(?!\w)")
