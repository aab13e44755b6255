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

Within a bucket, two cheap upper bounds of the ratio come before SequenceMatcher: the
ratio is 2 * M / T (M matched characters, T both lengths), and M can exceed neither the
shorter length nor the characters the two titles have in common, so a candidate failing
either bound could never reach 0.92 (the verdicts are those of the full comparison).

The rest is constant work per title, and kept small: the runs of words are built and
counted in C, the runs few titles hold and those one title holds are two pool-wide sets
that sort each title with a set operation, and the tables name stories by number.
That last point matters at scale: Python's cyclic garbage collector walks every container
object each time their number grows by a quarter, so one object per story (its own list,
set of feeds, cluster) made it walk the whole pool over and over, a third of the time at
64,000 titles; numbers, strings and tuples of them soon drop out of its walk.
"""

from __future__ import annotations

import difflib
import itertools
import operator
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
# the same for ASCII text, where [\W_] is every character but a-z, A-Z and 0-9: str.translate
# does it without the regex engine's cost per character
_ASCII_NON_WORD = str.maketrans({chr(code): " " for code in range(128) if not chr(code).isalnum()})
# "Title - Source", "Title | Source": the last separator, spaces on both sides
_SUFFIX = re.compile(r"^(?P<head>.+?)\s+[-–—|]\s+(?P<tail>[^-–—|]+)$")
_SEPARATOR = re.compile(r"\s[-–—|]")  # what every _SUFFIX match holds
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
    return " ".join(_key_words(title))


def dedupe(entries: Sequence[Entry], feed_order: Sequence[str]) -> Deduped:
    """Merge the copies of each story; keep the copy of the first feed in ``feed_order``.

    ``feed_order`` lists feed keys in config order; entries of other feeds come after them.
    The result does not depend on the order of ``entries``.
    """
    rank = {key: index for index, key in enumerate(feed_order)}
    ordered = sorted(entries, key=lambda e: (rank.get(e.feed, len(rank)), *newest_first(e)))
    words = [tuple(_key_words(entry.title)) for entry in ordered]
    index = _Index()
    for entry, held, buckets in zip(ordered, words, _buckets(words), strict=True):
        index.add(entry, held, buckets)
    return Deduped(
        stories=tuple(map(index.story, range(len(index.kept)))),
        duplicates=tuple(index.duplicates),
    )


def newest_first(entry: Entry) -> tuple[float, str, str]:
    """Sort key: newest first, then by feed key, then by id, so that every order is total."""
    return (-entry.published.timestamp(), entry.feed, entry.id)


# --- internals -------------------------------------------------------------------------


def _key_words(title: str) -> list[str]:
    """The words of :func:`title_key`."""
    text = _QUOTES.sub("", unicodedata.normalize("NFKC", title).casefold())
    # the suffix needs a separator after a space: a plain search rules most titles out
    # before the suffix pattern's slower match
    if _SEPARATOR.search(text):
        match = _SUFFIX.match(text.strip())
        if match and _is_source_suffix(_words(match["head"]), _words(match["tail"])):
            text = match["head"]
    return _words(text)


def _words(text: str) -> list[str]:
    if text.isascii():
        words = text.split()
        if all(map(str.isalnum, words)):
            return words  # nothing but letters and digits between the spaces
        return text.translate(_ASCII_NON_WORD).split()
    return _NON_WORD.sub(" ", text).split()


def _word_runs(words: Sequence[str], size: int) -> tuple[str, ...]:
    """The distinct runs of ``size`` adjacent words of a title: "a b c" has "a b", "b c".

    A tuple: the collector stops tracking a tuple of strings, as it never does a set.
    """
    # zip and str.join build every run in C: no Python code runs per run
    if size == 2:
        return tuple(set(map(" ".join, itertools.pairwise(words))))
    if size == 3:
        return tuple(set(map(" ".join, zip(words, words[1:], words[2:], strict=False))))
    shifted = (words[start:] for start in range(size))
    return tuple(set(map(" ".join, zip(*shifted, strict=False))))


def _buckets(words: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """Where each title (given as its words) is filed for the fuzzy comparison, in order.

    A title is filed under its rarest runs of words that another title also holds, of the
    shortest size whose rarest run at most ``BUCKET_LIMIT`` titles hold. Runs of a size
    are counted among the titles filed at that size only: only they can meet there.
    """
    found: list[tuple[str, ...]] = [()] * len(words)
    todo = [at for at, held in enumerate(words) if len(held) >= FUZZY_MIN_WORDS]
    for size in range(2, RUN_MAX + 1):
        runs = [_word_runs(words[at], size) for at in todo]
        counts = Counter(itertools.chain.from_iterable(runs))
        held = counts.__getitem__
        # the runs that 2 to BUCKET_LIMIT titles hold, picked out in C: one set operation
        # then tells whether a title is filed at this size
        rare = set(itertools.compress(counts, map(_RARE.__contains__, counts.values())))
        # and those no other title holds (none matter after the longest runs)
        alone: set[str] = set()
        if size < RUN_MAX:
            alone = set(itertools.compress(counts, map(operator.eq, counts.values(), _ONES)))
        most = BUCKET_MAX if size == 2 else BUCKET_LIMIT  # a longer run only when rare
        longer = []
        for at, own in zip(todo, runs, strict=True):
            if not rare.isdisjoint(own):
                found[at] = _rarest([run for run in own if held(run) > 1], held, most)
            elif size < RUN_MAX and not alone.issuperset(own):
                longer.append(at)  # every run it shares is common: try longer runs
        todo = longer
    return found


_RARE = range(2, BUCKET_LIMIT + 1)  # how many titles hold a rare run
_ONES = itertools.repeat(1)


def _rarest(runs: list[str], held: Callable[[str], int], most: int) -> tuple[str, ...]:
    """The ``BUCKET_PAIRS`` rarest of ``runs`` (then alphabetical), but those held by more
    than ``most`` titles."""
    ranked = sorted(sorted(runs), key=held)
    return tuple(run for run in ranked[:BUCKET_PAIRS] if held(run) <= most)


def _is_source_suffix(head: list[str], tail: list[str]) -> bool:
    has_digits = any(_DIGITS.search(word) for word in tail)
    return len(tail) <= SUFFIX_MAX_WORDS and not has_digits and len(head) >= FUZZY_MIN_WORDS


def _may_reach(title: _Title, other: _Title) -> bool:
    """False when the SequenceMatcher ratio of two titles' keys cannot reach SIMILARITY.

    The ratio is 2 * M / T, where T is the two lengths together and M the characters of the
    matching blocks; each matched character is one character of either key, so M is at
    most the shorter length (what ``real_quick_ratio`` bounds the ratio with), and at most
    the characters the two have in common, repeats counted (what ``quick_ratio`` counts).
    Each bound goes through the same floating-point sum as the ratio, which only grows with
    M, so a pair whose ratio reaches SIMILARITY always passes.
    """
    total = len(title.key) + len(other.key)
    if 2.0 * min(len(title.key), len(other.key)) / total < SIMILARITY:
        return False
    # min of the two counts of each of the title's characters, summed: all in C
    counts = other.letters.get
    common = sum(map(min, title.letters.values(), map(counts, title.letters, _ZEROS)))
    return 2.0 * common / total >= SIMILARITY


_ZEROS = itertools.repeat(0)  # the count of a character a title lacks


@dataclass(slots=True, eq=False)
class _Title:
    """A title filed for the fuzzy comparison, with what the comparison needs."""

    key: str
    numbers: tuple[str, ...]
    buckets: tuple[str, ...] = ()  # where :func:`_buckets` files it
    counted: Counter[str] | None = None  # see letters

    @classmethod
    def of(cls, key: str, buckets: tuple[str, ...] = ()) -> _Title:
        """The title of ``key`` (a :func:`title_key`), filed under ``buckets``."""
        return cls(key, tuple(_DIGITS.findall(key)), buckets)

    @property
    def letters(self) -> Counter[str]:
        """How often each character occurs, counted when first asked (most filed titles
        never are: the lengths rule their candidates out first)."""
        if self.counted is None:
            self.counted = Counter(self.key)
        return self.counted


class _Index:
    """The stories found so far and the look-up tables that find an entry's story.

    Entries must arrive in priority order: a story's first entry is the copy kept. Stories
    are known by number (their place in ``kept``), and the tables hold numbers: plain
    integers and strings, which the cyclic garbage collector skips, where an object per
    story would have it walk every story again each time the heap grows by a quarter.
    """

    def __init__(self) -> None:
        self.kept: list[Entry] = []  # each story's kept copy
        self.copies: dict[int, list[Entry]] = defaultdict(list)  # and its other copies
        self.feeds: set[tuple[int, str]] = set()  # (story, feed): the feeds each story holds
        self.duplicates: list[Duplicate] = []
        self.by_url: dict[str, int] = {}
        self.by_title: dict[str, tuple[int, ...]] = {}
        self.buckets: dict[str, list[tuple[_Title, int]]] = defaultdict(list)

    def add(self, entry: Entry, words: tuple[str, ...], buckets: tuple[str, ...]) -> None:
        """``words`` are those of the entry's :func:`title_key`; ``buckets`` where
        :func:`_buckets` files it (none for a title too short for a fuzzy match)."""
        key = " ".join(words)
        exact = key if len(words) >= EXACT_MIN_WORDS or len(key) >= EXACT_MIN_CHARS else None
        # most titles are filed nowhere: they need no _Title
        title = _Title.of(key, buckets) if buckets else None
        found = self.find(entry, exact, title)
        if found is None:
            story = len(self.kept)
            self.kept.append(entry)
        else:
            story, match = found
            self.copies[story].append(entry)
            self.duplicates.append(Duplicate(entry, self.kept[story], match))
        self.feeds.add((story, entry.feed))
        self.file(entry, exact, title, story)

    def find(
        self, entry: Entry, exact: str | None, title: _Title | None
    ) -> tuple[int, Match] | None:
        """``exact`` is the title's key when it is distinctive enough for an exact match."""
        story = self.by_url.get(entry.canonical_url)
        if story is not None:
            return story, "same link"
        if exact is not None:
            for story in self.by_title.get(exact, ()):
                if (story, entry.feed) not in self.feeds:
                    return story, "same title"
        if title is not None:
            story = self.similar(entry, title)
            if story is not None:
                return story, "similar title"
        return None

    def similar(self, entry: Entry, title: _Title) -> int | None:
        """The first story, from another feed, with a title at least SIMILARITY alike."""
        matcher: difflib.SequenceMatcher[str] | None = None
        for other, story in self.candidates(title):
            if (story, entry.feed) in self.feeds or title.numbers != other.numbers:
                continue
            if not _may_reach(title, other):
                continue  # most candidates stop here, before any matcher is built
            if matcher is None:
                # SequenceMatcher indexes its second sequence: index this title once
                matcher = difflib.SequenceMatcher(None, autojunk=False)
                matcher.set_seq2(title.key)
            matcher.set_seq1(other.key)
            if matcher.ratio() >= SIMILARITY:
                return story
        return None

    def candidates(self, title: _Title) -> list[tuple[_Title, int]]:
        """Earlier titles sharing a bucket with ``title``, the first feed's story first."""
        found = {
            id(other): (other, story)
            for bucket in title.buckets
            for other, story in self.buckets.get(bucket, ())
        }
        return sorted(found.values(), key=lambda pair: pair[1])

    def file(self, entry: Entry, exact: str | None, title: _Title | None, story: int) -> None:
        if entry.canonical_url:
            self.by_url.setdefault(entry.canonical_url, story)
        if exact is not None:
            held = self.by_title.get(exact, ())
            if story not in held:
                self.by_title[exact] = (*held, story)
        if title is not None:
            for bucket in title.buckets:
                self.buckets[bucket].append((title, story))

    def story(self, number: int) -> Story:
        """Story ``number``: its kept copy, and the other sources that carried it."""
        kept = self.kept[number]
        copies = self.copies.get(number)
        if copies is None:
            return Story(kept)  # most stories: one copy
        via: list[str] = []
        for entry in copies:
            if entry.feed != kept.feed and entry.source not in (kept.source, *via):
                via.append(entry.source)
        return Story(entry=kept, also_via=tuple(via))
