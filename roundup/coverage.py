"""Coverage: one event that several feeds wrote about, shown once.

:mod:`roundup.dedupe` merges copies of one article (the same link, a near-identical
title). Different articles about the same event stay apart there: "Beijing's yuan move &
what it means for the region" and "Currency moves are security moves, too" have different
headlines and links. :func:`group_coverage` gathers them: the story from the feed listed
first in feeds.yaml stays, and the others become its ``Story.covered_by``, shown as "Also
covered by Source A, Source B", each linked.

Two stories cover the same event when all of these hold:

* they come from different feeds, and were published within :data:`WINDOW` of each other
  (undated entries are never grouped);
* the words of their titles and of the start of their summaries (:data:`LEAD_WORDS`
  words), folded to lower case without accents, with common words of English, French,
  German and Spanish left out and plurals made singular, weighted by how rare each word is
  among the week's stories (titles count twice), have a cosine similarity of at least
  :data:`THRESHOLD`;
* they share at least :data:`MIN_SHARED` such words that are rare in the week (in at most
  :data:`RARE_SHARE` of its stories, and at most :data:`RARE_MAX`), one of them in both
  titles or both opening sentences' worth of text, and one of them a name in both (a word
  written with a capital inside a sentence, or first in a title written like a sentence:
  "Tianjin", "Minsk"), unless the similarity is :data:`CLOSE_COPY` or more (the same text
  under another headline).

Two essays on one theme share words but seldom the names of the event: the name rule is
what keeps "anniversary statements as policy documents" apart from "Reading the Abe
statement".

A story joins the group of the first story, in feed order, it matches, never a story that
only matches another member: a chain of "A is like B, B is like C" merges nothing more.
A wrong merge hides a story, which is worse than a missed one, which the editor sees; the
thresholds are set for precision on the labelled pairs in ``tests/data/coverage_pairs.json``
(see ``tests/test_coverage.py`` for precision and recall).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from roundup.excerpt import strip_boilerplate
from roundup.models import Coverage, Entry, Story
from roundup.normalize import strip_tracking

WINDOW = timedelta(days=4)
LEAD_WORDS = 60
THRESHOLD = 0.17
CLOSE_COPY = 0.5
MIN_SHARED = 4
RARE_SHARE = 0.25
RARE_MAX = 20  # ...and in at most this many: one event is not covered by more feeds
TITLE_WEIGHT = 2.0

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# A capitalised word after a letter, digit or comma and a space: not a sentence's first word.
_NAMED = re.compile(r"(?<=[\w,;’'\)] )([A-Z][^\W_]+)")
_NAME_CHARS = 1_000
# The combining marks NFKD separates from Latin, Greek and Cyrillic letters: "é" → "e".
_COMBINING = re.compile("[\u0300-\u036f]")
_CHARS_PER_WORD = 12  # more than enough: stop words and punctuation included
_WEEKDAYS_MONTHS = frozenset(
    (
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
        "february", "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december",
    )
)  # fmt: skip
_STOPWORDS = frozenset(
    (
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
        "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few",
        "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers",
        "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
        "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off", "on",
        "once", "only", "or", "other", "our", "ours", "out", "over", "own", "same", "she", "should",
        "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these",
        "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was",
        "we",
        "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
        "would", "you", "your", "yours", "new", "says", "said", "week", "weeks", "year", "years",
        "today", "first", "last", "next", "one", "two", "three", "time", "way", "ways", "read",
        "reading", "what's", "it's", "us", "via", "vs", "per", "how's", "let's", "part", "here's",
        "there's", "still", "even", "many", "much", "le", "la", "les", "un", "une", "des", "du",
        "de",
        "et", "en", "est", "pour", "que", "qui", "dans", "sur", "par", "pas", "plus", "au", "aux",
        "ce", "cette", "ces", "son", "sa", "ses", "il", "elle", "ils", "nous", "vous", "on", "ne",
        "se", "avec", "mais", "ou", "donc", "der", "die", "das", "ein", "eine", "einer", "eines",
        "und", "ist", "im", "in", "den", "dem", "des", "zu", "mit", "auf", "für", "von", "nicht",
        "sich", "auch", "als", "aus", "bei", "nach", "wie", "wird", "werden", "hat", "sind", "war",
        "noch", "nur", "um", "über", "el", "los", "las", "una", "unos", "unas", "y", "es", "en",
        "por", "para", "con", "del", "al", "lo", "se", "su", "sus", "que", "como", "más", "pero",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Terms:
    """One story's words: title words and the opening's words, each with its weight."""

    title: frozenset[str]
    lead: frozenset[str]
    opening: frozenset[str]  # the first 25 words of the summary
    names: frozenset[str]  # words written with a capital inside a sentence: names


def story_terms(
    entry: Entry,
) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """The words an entry is compared by: its title's, its summary opening's
    (:data:`LEAD_WORDS` words), its first sentence's worth (25 words), and the names among
    them (see :func:`names`)."""
    # The post's own words: what engines add ("submitted by", "3 comments") is no evidence.
    text = strip_boilerplate(entry.summary_text[: LEAD_WORDS * _CHARS_PER_WORD])
    lead = words(text, LEAD_WORDS)
    found = names(text[:_NAME_CHARS])
    if _sentence_case(entry.title):
        # its capitals are names, and so is its first word unless it is a common one
        # ("Minsk II at six months", but not "After Tianjin")
        found |= names(entry.title) | frozenset(words(entry.title.split(" ", 1)[0]))
    return frozenset(words(entry.title)), frozenset(lead), frozenset(lead[:25]), found


def names(text: str) -> frozenset[str]:
    """The words of ``text`` written with a capital letter where a sentence does not start:
    names of places, people, organisations ("Tianjin", "Minsk", "Southeast"), folded.

    >>> sorted(names("Talks resumed. The minister met Abe in Tokyo on Friday."))
    ['abe', 'tokyo']
    """
    found: set[str] = set()
    for match in _NAMED.finditer(text):
        word = _singular(_fold(match.group(1)))
        if word not in _WEEKDAYS_MONTHS and word not in _STOPWORDS:
            found.add(word)
    return frozenset(found)


def _fold(text: str) -> str:
    """Lower case without accents; "’" as "'"."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold().replace("’", "'")))


def _sentence_case(title: str) -> bool:
    """Whether a title is written like a sentence, so that its capitals mark names."""
    found = _WORD.findall(title)
    capitals = sum(1 for word in found[1:] if word[:1].isupper())
    return bool(found) and capitals * 2 < len(found) - 1


def words(text: str, limit: int | None = None) -> list[str]:
    """The content words of ``text``, folded and singular, in order, at most ``limit``.

    >>> words("Beijing’s yuan moves & what they mean")
    ['beijing', 'yuan', 'move', 'mean']
    """
    if limit is not None:
        text = text[: limit * _CHARS_PER_WORD]  # a long summary is read only as far as needed
    found: list[str] = []
    for word in _WORD.findall(_fold(text)):
        if word in _STOPWORDS:
            continue
        word = _singular(word[:-2] if word.endswith("'s") else word)
        if len(word) > 1 and word not in _STOPWORDS and not word.isdigit():
            found.append(word)
            if limit is not None and len(found) >= limit:
                break
    return found


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def group_coverage(
    stories: Sequence[Story], feed_order: Sequence[str], *, week: Sequence[Entry] = ()
) -> tuple[Story, ...]:
    """``stories`` with those that cover one event gathered under the best-placed one.

    The best-placed story is the one from the feed listed first in ``feed_order`` (the feed
    keys of feeds.yaml), the newest within a feed; the others of its group leave the list
    and become its ``covered_by``, in feed order. The stories keep their order otherwise.
    ``week`` is every entry of the week, selected or not: how rare a word is is judged
    among them (among the stories alone when it is empty), since a word the 40 selected
    stories share may be common in the week's 1,000.
    """
    if len(stories) < 2:
        return tuple(stories)
    rank = {key: index for index, key in enumerate(feed_order)}
    terms = [_Terms(*story_terms(story.entry)) for story in stories]
    chosen = {id(story.entry) for story in stories}
    pool = terms + [_Terms(*story_terms(e)) for e in week if id(e) not in chosen]
    weights = _idf(pool)
    rare = _rare_words(pool)
    order = sorted(
        range(len(stories)),
        key=lambda i: (
            rank.get(stories[i].entry.feed, len(rank)),
            -stories[i].entry.published.timestamp(),
            stories[i].entry.id,
        ),
    )
    # Two stories of one event share a rare word in their titles or openings: only the
    # leads filed under such a word are compared, so the cost grows with the stories, not
    # with their pairs.
    filed: dict[str, list[int]] = {}
    rank_of = {index: position for position, index in enumerate(order)}
    members: dict[int, list[int]] = {}
    for index in order:
        keys = (terms[index].title | terms[index].opening) & rare
        candidates = sorted(
            {lead for word in keys for lead in filed.get(word, ())}, key=rank_of.__getitem__
        )
        lead = next(
            (
                lead
                for lead in candidates
                if _same_event(
                    stories[lead], stories[index], terms[lead], terms[index], weights, rare
                )
                and all(stories[m].entry.feed != stories[index].entry.feed for m in members[lead])
            ),
            None,
        )
        if lead is None:
            members[index] = []
            for word in keys:
                filed.setdefault(word, []).append(index)
        else:
            members[lead].append(index)
    grouped = {member for group in members.values() for member in group}
    return tuple(
        _with_coverage(story, [stories[m] for m in members[index]]) if members.get(index) else story
        for index, story in enumerate(stories)
        if index not in grouped
    )


def _with_coverage(story: Story, others: list[Story]) -> Story:
    covered = tuple(
        Coverage(
            source=other.entry.source,
            title=other.entry.title,
            link=strip_tracking(other.entry.link) or other.entry.canonical_url,
        )
        for other in others
    )
    return replace(story, covered_by=story.covered_by + covered)


class EventMatcher:
    """Tells whether two entries of ``pool`` (the week's entries) cover the same event,
    with the rarity of words taken from the whole pool."""

    def __init__(self, pool: Sequence[Entry]) -> None:
        self._terms = {id(entry): _Terms(*story_terms(entry)) for entry in pool}
        terms = list(self._terms.values())
        self._weights = _idf(terms)
        self._rare = _rare_words(terms)

    def same(self, a: Entry, b: Entry) -> bool:
        """Whether ``a`` and ``b`` (both in the pool) cover the same event."""
        terms_a, terms_b = self._terms[id(a)], self._terms[id(b)]
        return _same_event(Story(a), Story(b), terms_a, terms_b, self._weights, self._rare)


def same_event(a: Entry, b: Entry, pool: Sequence[Entry]) -> bool:
    """Whether ``a`` and ``b`` cover the same event, with word rarity taken from ``pool``
    (the week's entries; ``a`` and ``b`` are counted in it if they are not there)."""
    entries = list(pool)
    for entry in (a, b):
        if not any(entry is other for other in entries):
            entries.append(entry)
    return EventMatcher(entries).same(a, b)


def similarity(a: _Terms, b: _Terms, weights: Mapping[str, float]) -> float:
    """The cosine similarity of two stories' weighted words."""
    vector_a, vector_b = _vector(a, weights), _vector(b, weights)
    dot = sum(value * vector_b.get(word, 0.0) for word, value in vector_a.items())
    norm = math.sqrt(sum(v * v for v in vector_a.values())) * math.sqrt(
        sum(v * v for v in vector_b.values())
    )
    return dot / norm if norm else 0.0


def _same_event(
    a: Story,
    b: Story,
    terms_a: _Terms,
    terms_b: _Terms,
    weights: Mapping[str, float],
    rare: frozenset[str],
) -> bool:
    first, second = a.entry, b.entry
    if first.feed == second.feed or not (first.dated and second.dated):
        return False
    if abs(first.published - second.published) > WINDOW:
        return False
    shared = (terms_a.title | terms_a.lead) & (terms_b.title | terms_b.lead) & rare
    if len(shared) < MIN_SHARED:
        return False
    prominent = (terms_a.title | terms_a.opening) & (terms_b.title | terms_b.opening) & shared
    if not prominent:
        return False
    score = similarity(terms_a, terms_b, weights)
    if score >= CLOSE_COPY:
        return True  # the same text, differently headlined or linked
    return score >= THRESHOLD and bool(shared & terms_a.names & terms_b.names)


def _vector(terms: _Terms, weights: Mapping[str, float]) -> dict[str, float]:
    vector = {word: weights.get(word, 1.0) for word in terms.lead}
    for word in terms.title:
        vector[word] = vector.get(word, 0.0) + TITLE_WEIGHT * weights.get(word, 1.0)
    return vector


def _idf(terms: Sequence[_Terms]) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for item in terms:
        counts.update(item.title | item.lead)
    total = len(terms)
    return {word: math.log((1 + total) / (1 + count)) + 1.0 for word, count in counts.items()}


def _rare_words(terms: Sequence[_Terms]) -> frozenset[str]:
    counts: Counter[str] = Counter()
    for item in terms:
        counts.update(item.title | item.lead)
    limit = max(2, min(RARE_MAX, int(RARE_SHARE * len(terms))))
    return frozenset(word for word, count in counts.items() if count <= limit)
