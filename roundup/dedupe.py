"""Cross-feed de-duplication: a story appears once, however many feeds carried it.

Two entries are the same story when

* they share a canonical URL (``Entry.canonical_url``, computed by the parser: tracking
  parameters dropped, host lower-cased), whatever their feeds; or
* they come from different feeds and their titles match after :func:`title_key`: equal
  (for a title of at least 3 words or 20 characters, so that two feeds' "Weekly links" stay
  apart), or with a :class:`difflib.SequenceMatcher` ratio of at least 0.92 for titles of at
  least 4 words that carry the same numbers ("Python 3.12.1" is not "Python 3.12.2").

Entries of one feed are never merged by title: a feed that posts "Daily digest" every day
means seven stories. They collapse only when they share a canonical URL.

The copy kept is the one from the feed listed first in feeds.yaml (the newest one, within a
feed); the others are credited in ``Story.also_via``. List the newsletter's own feeds first
in feeds.yaml so that its own posts are the copies kept.

Cost: URLs and exact titles are dictionary look-ups, O(n) after an O(n log n) sort. The
fuzzy comparison only runs within small buckets: a title is filed under its three rarest
pairs of adjacent words (among those that some other title of the pool also has), and
compared with the earlier titles filed under any of them. Two near-identical titles of four
or more words differ in a word or two, so they practically always share such a pair, while
unrelated titles seldom do. A pair of titles that shares none is missed: a missed duplicate
is a lesser harm than a lost story, and the editor sees it in the draft.

Buckets stay small whatever the titles: a title whose rarest shared pair is held by more
than ``BUCKET_LIMIT`` titles is filed under runs of three adjacent words instead, only
those that few titles hold, and no title is filed under a pair more than ``BUCKET_MAX``
titles hold. Real titles share rare pairs and are filed as before; a pool of titles made
from a few dozen words (a generator, a spammer) costs a few comparisons per title instead
of one per earlier title.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from roundup.models import Entry, Story

SIMILARITY = 0.92  # SequenceMatcher ratio from which two long titles are the same story
FUZZY_MIN_WORDS = 4  # shorter titles are too generic for a fuzzy match
EXACT_MIN_WORDS = 3  # ...or EXACT_MIN_CHARS, for scripts written without spaces
EXACT_MIN_CHARS = 20
SUFFIX_MAX_WORDS = 4  # " - The New York Times" is a source suffix; longer tails are not
BUCKET_PAIRS = 3  # a title is filed for the fuzzy comparison under 3 of its word pairs
BUCKET_LIMIT = 4  # titles holding a title's rarest run, past which longer runs are tried
BUCKET_MAX = 64  # titles holding a run, past which it is too common to file under
RUN_MAX = 3  # the longest run of adjacent words a title is filed under

Match = Literal["same link", "same title", "similar title"]

_QUOTES = re.compile(r"[\"'`´‘’‚‛“”„‟«»‹›]")
_NON_WORD = re.compile(r"[\W_]+")
# "Title - Source", "Title | Source": the last separator, spaces on both sides
_SUFFIX = re.compile(r"^(?P<head>.+?)\s+[-–—|]\s+(?P<tail>[^-–—|]+)$")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An entry left out because it is another copy of a kept story.

    ``match`` says how it joined the story, possibly through another copy of it (an entry
    with the same title as the kept copy and the same link as this one).
    """

    dropped: Entry
    kept: Entry
    match: Match


@dataclass(frozen=True, slots=True)
class Deduped:
    """The result of :func:`dedupe`."""

    stories: tuple[Story, ...]  # in feed config order, newest first within a feed
    duplicates: tuple[Duplicate, ...]


def title_key(title: str) -> str:
    """The form in which titles are compared.

    Case-folded, quotes removed, other punctuation and dashes turned into spaces, spaces
    collapsed, and a trailing " - Source" or " | Source" suffix dropped when it is short (at
    most 4 words), has no digits ("- Part 2" is not a source) and follows at least 4 words::

        >>> title_key("“Rust 1.80” Released – Rust Blog")
        'rust 1 80 released'
    """
    text = _QUOTES.sub("", unicodedata.normalize("NFKC", title).casefold())
    match = _SUFFIX.match(text.strip())
    if match and _is_source_suffix(_words(match["head"]), _words(match["tail"])):
        text = match["head"]
    return " ".join(_words(text))


def dedupe(entries: Sequence[Entry], feed_order: Sequence[str]) -> Deduped:
    """Merge the copies of each story; keep the copy of the first feed in ``feed_order``.

    ``feed_order`` lists feed keys in config order; entries of other feeds come after them.
    The result does not depend on the order of ``entries``.
    """
    rank = {key: index for index, key in enumerate(feed_order)}
    ordered = sorted(entries, key=lambda e: (rank.get(e.feed, len(rank)), *newest_first(e)))
    keys = [title_key(entry.title) for entry in ordered]
    index = _Index()
    for entry, key, buckets in zip(ordered, keys, _buckets(keys), strict=True):
        index.add(entry, _Title.of(key, buckets))
    return Deduped(
        stories=tuple(cluster.story() for cluster in index.clusters),
        duplicates=tuple(index.duplicates),
    )


def newest_first(entry: Entry) -> tuple[float, str, str]:
    """Sort key: newest first, then by feed key, then by id, so that every order is total."""
    return (-entry.published.timestamp(), entry.feed, entry.id)


# --- internals -------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", text).split()


def _word_runs(words: Sequence[str], size: int) -> set[str]:
    """The runs of ``size`` adjacent words of a title: "a b c" has "a b" and "b c"."""
    if size == 2:
        return {f"{a} {b}" for a, b in itertools.pairwise(words)}
    if size == 3:
        return {f"{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:], strict=False)}
    return {" ".join(words[start : start + size]) for start in range(len(words) - size + 1)}


def _buckets(keys: Sequence[str]) -> list[tuple[str, ...]]:
    """Where each title is filed for the fuzzy comparison, in the order of ``keys``.

    A title is filed under its rarest runs of words that another title also holds, of the
    shortest size whose rarest run at most ``BUCKET_LIMIT`` titles hold. Runs of a size
    are counted among the titles filed at that size only: only they can meet there.
    """
    found: list[tuple[str, ...]] = [()] * len(keys)
    words = {at: key.split() for at, key in enumerate(keys)}
    todo = [at for at, held in words.items() if len(held) >= FUZZY_MIN_WORDS]
    for size in range(2, RUN_MAX + 1):
        runs = [_word_runs(words[at], size) for at in todo]
        counts = Counter(itertools.chain.from_iterable(runs))
        held = counts.__getitem__
        longer = []
        for at, own in zip(todo, runs, strict=True):
            if max(map(held, own), default=0) < 2:
                continue  # no other title holds a run of this size, nor a longer one
            ranked = sorted(sorted(own), key=held)  # rarest first, then alphabetical
            first = bisect.bisect_right(ranked, 1, key=held)  # skip the runs no other holds
            if held(ranked[first]) > BUCKET_LIMIT:
                longer.append(at)
                continue
            # pairs as they always were, but for the commonest; a longer run only when rare
            most = BUCKET_MAX if size == 2 else BUCKET_LIMIT
            chosen = ranked[first : first + BUCKET_PAIRS]
            found[at] = tuple(run for run in chosen if held(run) <= most)
        todo = longer
    return found


def _is_source_suffix(head: list[str], tail: list[str]) -> bool:
    has_digits = any(_DIGITS.search(word) for word in tail)
    return len(tail) <= SUFFIX_MAX_WORDS and not has_digits and len(head) >= FUZZY_MIN_WORDS


@dataclass(frozen=True, slots=True)
class _Title:
    """A normalised title with what the fuzzy comparison needs, computed once."""

    key: str
    numbers: tuple[str, ...]
    buckets: tuple[str, ...]  # where it is filed for the fuzzy comparison
    fuzzy: bool  # long enough for a fuzzy match
    exact: bool  # distinctive enough for an exact match

    @classmethod
    def of(cls, key: str, buckets: tuple[str, ...]) -> _Title:
        """``buckets`` are where :func:`_buckets` files the title."""
        words = key.split()
        return cls(
            key=key,
            numbers=tuple(_DIGITS.findall(key)),
            buckets=buckets,
            fuzzy=len(words) >= FUZZY_MIN_WORDS,
            exact=len(words) >= EXACT_MIN_WORDS or len(key) >= EXACT_MIN_CHARS,
        )

    def may_match(self, other: _Title) -> bool:
        """The cheap tests: the same numbers, and lengths close enough for the ratio.

        The ratio is at most 2 * the shorter length / the sum of the lengths.
        """
        shorter, total = min(len(self.key), len(other.key)), len(self.key) + len(other.key)
        return self.numbers == other.numbers and 2 * shorter >= SIMILARITY * total


@dataclass(slots=True, eq=False)  # identity: two clusters are never "equal"
class _Cluster:
    """The copies of one story found so far; the first one is kept."""

    number: int  # creation order, which is the priority order of the kept copies
    entries: list[Entry]
    feeds: set[str] = field(default_factory=set)

    def story(self) -> Story:
        kept = self.entries[0]
        via: list[str] = []
        for entry in self.entries[1:]:
            if entry.feed != kept.feed and entry.source not in (kept.source, *via):
                via.append(entry.source)
        return Story(entry=kept, also_via=tuple(via))


class _Index:
    """Clusters and the look-up tables that find an entry's cluster.

    Entries must arrive in priority order: a cluster's first entry is the copy kept.
    """

    def __init__(self) -> None:
        self.clusters: list[_Cluster] = []
        self.duplicates: list[Duplicate] = []
        self.by_url: dict[str, _Cluster] = {}
        self.by_title: dict[str, list[_Cluster]] = defaultdict(list)
        self.buckets: dict[str, list[tuple[_Title, _Cluster]]] = defaultdict(list)

    def add(self, entry: Entry, title: _Title) -> None:
        found = self.find(entry, title)
        if found is None:
            cluster = _Cluster(len(self.clusters), [entry])
            self.clusters.append(cluster)
        else:
            cluster, match = found
            cluster.entries.append(entry)
            self.duplicates.append(Duplicate(entry, cluster.entries[0], match))
        cluster.feeds.add(entry.feed)
        self.file(entry, title, cluster)

    def find(self, entry: Entry, title: _Title) -> tuple[_Cluster, Match] | None:
        if entry.canonical_url in self.by_url:
            return self.by_url[entry.canonical_url], "same link"
        if title.exact:
            for cluster in self.by_title.get(title.key, ()):
                if entry.feed not in cluster.feeds:
                    return cluster, "same title"
        if title.fuzzy:
            similar = self.similar(entry, title)
            if similar is not None:
                return similar, "similar title"
        return None

    def similar(self, entry: Entry, title: _Title) -> _Cluster | None:
        """The first story, from another feed, with a title at least SIMILARITY alike."""
        matcher: difflib.SequenceMatcher[str] | None = None
        letters: Counter[str] | None = None
        for other, cluster in self.candidates(title):
            if entry.feed in cluster.feeds or not title.may_match(other):
                continue
            # SequenceMatcher.quick_ratio's bound (the letters the two have in common),
            # counted in C: most candidates stop here, before any matcher is built
            letters = letters or Counter(title.key)
            common = sum((letters & Counter(other.key)).values())
            if 2 * common < SIMILARITY * (len(title.key) + len(other.key)):
                continue
            if matcher is None:
                # SequenceMatcher indexes its second sequence: index this title once
                matcher = difflib.SequenceMatcher(None, autojunk=False)
                matcher.set_seq2(title.key)
            matcher.set_seq1(other.key)
            if matcher.quick_ratio() >= SIMILARITY and matcher.ratio() >= SIMILARITY:
                return cluster
        return None

    def candidates(self, title: _Title) -> list[tuple[_Title, _Cluster]]:
        """Earlier titles sharing a bucket with ``title``, the first feed's story first."""
        found = {
            id(other): (other, cluster)
            for bucket in title.buckets
            for other, cluster in self.buckets.get(bucket, ())
        }
        return sorted(found.values(), key=lambda pair: pair[1].number)

    def file(self, entry: Entry, title: _Title, cluster: _Cluster) -> None:
        if entry.canonical_url:
            self.by_url.setdefault(entry.canonical_url, cluster)
        if title.exact and cluster not in self.by_title[title.key]:
            self.by_title[title.key].append(cluster)
        if title.fuzzy:
            for bucket in title.buckets:
                self.buckets[bucket].append((title, cluster))
