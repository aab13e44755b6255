"""Tests for roundup.dedupe: one story, however many feeds carried it."""

from __future__ import annotations

import difflib
import itertools
import random
import string
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from roundup import dedupe as dedupe_module
from roundup.dedupe import Duplicate, Match, dedupe, title_key
from roundup.models import Entry, Story
from roundup.testing import DEFAULT_TIME, make_entry

T0 = datetime(2015, 8, 10, 12, 0, tzinfo=UTC)
FEEDS = ["own.example", "a.example", "b.example", "c.example"]  # config order


def entry(
    title: str,
    *,
    feed: str = "a.example",
    id: str | None = None,
    url: str | None = None,
    hours: int = 0,
    source: str | None = None,
) -> Entry:
    """An entry of ``feed``, published ``hours`` after T0; its URL defaults to one of its own."""
    id = id or f"{feed}:{title}"
    url = f"https://{feed}/{quote(id)}" if url is None else url
    return make_entry(
        feed=feed,
        id=id,
        title=title,
        link=url,
        canonical_url=url,
        published=T0 + timedelta(hours=hours),
        source=source or feed.split(".")[0].capitalize(),
        first_seen=T0 + timedelta(hours=hours),
    )


def test_same_canonical_url_across_feeds() -> None:
    """A utm-laden and a clean link with the same canonical URL are one story."""
    clean = entry("Rust 1.80 is out", feed="a.example", url="https://blog.rust-lang.org/1.80")
    tracked = entry("Rust 1.80", feed="b.example", url="https://blog.rust-lang.org/1.80")
    tracked = replace(tracked, link="https://blog.rust-lang.org/1.80?utm_source=rss&utm_medium=x")
    result = dedupe([tracked, clean], FEEDS)
    assert result.stories == (Story(clean, also_via=("B",)),)
    assert result.duplicates == (Duplicate(tracked, clean, "same link"),)


def test_first_feed_in_config_order_is_kept() -> None:
    """The copy of the feed listed first wins, even when another copy is newer."""
    own = entry("Our launch post", feed="own.example", url="https://x.org/launch", hours=0)
    other = entry("Their take", feed="c.example", url="https://x.org/launch", hours=5)
    assert dedupe([other, own], FEEDS).stories == (Story(own, also_via=("C",)),)


@pytest.mark.parametrize(
    ("first", "second", "match"),
    [
        ("Rust 1.80 released", "Rust 1.80 Released!", "same title"),
        ("Rust 1.80 released", "“Rust 1.80” released - Rust Blog", "same title"),
        (
            "Apple unveils the new M4 MacBook Pro",
            "Apple Unveils The New M4 MacBook Pro | The Verge",
            "same title",
        ),
        ("Post-mortem of the big outage", "Post mortem of the big  outage", "same title"),
        ("It's the compiler's fault", "Its the compilers fault", "same title"),
        (
            "Google announces Gemini 2 model for developers",
            "Google announces Gemini 2 models for developers",
            "similar title",
        ),
        (
            "The surprising economics of open source maintenance",
            "The suprising economics of open-source maintainance",
            "similar title",
        ),
    ],
)
def test_near_identical_titles_are_one_story(first: str, second: str, match: Match) -> None:
    """Titles equal after normalisation, or ≥ 0.92 similar with ≥ 4 words, merge across feeds."""
    kept, dropped = entry(first, feed="a.example"), entry(second, feed="b.example")
    result = dedupe([kept, dropped], FEEDS)
    assert result.stories == (Story(kept, also_via=("B",)),)
    assert result.duplicates == (Duplicate(dropped, kept, match),)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Python 3.12.1 released", "Python 3.12.2 released"),  # the numbers differ
        ("Building a compiler in Rust - Part 1", "Building a compiler in Rust - Part 2"),
        ("How we scaled Postgres at Acme", "How we scaled Redis at Acme"),
        ("Rust is coming to the Linux kernel", "Rust is coming to the Windows kernel"),
        ("The state of WebAssembly in 2024", "The state of JavaScript in 2024"),
        ("Weekly links", "Weekly links"),  # too short and generic to merge by title
        ("Release notes", "Release Notes"),
        ("Why I left Google", "Why I joined Google"),
    ],
)
def test_different_titles_sharing_words_stay_apart(first: str, second: str) -> None:
    """Titles that share words but not the story are two stories."""
    result = dedupe([entry(first, feed="a.example"), entry(second, feed="b.example")], FEEDS)
    assert len(result.stories) == 2
    assert result.duplicates == ()


def test_same_feed_same_title_is_not_merged() -> None:
    """One feed's daily posts with one title are separate stories: only a shared URL merges."""
    monday = entry("Daily digest of the news", feed="a.example", id="1", hours=0)
    tuesday = entry("Daily digest of the news", feed="a.example", id="2", hours=24)
    assert len(dedupe([monday, tuesday], FEEDS).stories) == 2


def test_same_feed_same_url_collapses_silently() -> None:
    """Two entries of one feed with one canonical URL: the newest is kept, no also_via."""
    old = entry("Draft title", feed="a.example", id="1", url="https://a.example/p", hours=0)
    new = entry("Final title", feed="a.example", id="2", url="https://a.example/p", hours=3)
    result = dedupe([old, new], FEEDS)
    assert result.stories == (Story(new),)
    assert result.duplicates == (Duplicate(old, new, "same link"),)


def test_same_feed_copies_do_not_bridge_by_title() -> None:
    """A story that already holds an entry of a feed takes no other entry of it by title."""
    a = entry("Daily digest of the news", feed="a.example", id="1", hours=0)
    b_new = entry("Daily digest of the news", feed="b.example", id="2", hours=24)
    b_old = entry("Daily digest of the news", feed="b.example", id="3", hours=0)
    result = dedupe([a, b_old, b_new], FEEDS)
    # within a feed the newest copy comes first, so it is the one that joins a's story
    assert result.stories == (Story(a, also_via=("B",)), Story(b_old))
    assert result.duplicates == (Duplicate(b_new, a, "same title"),)


def test_three_way_duplicate() -> None:
    """Three copies, linked by URL and by title, are one story credited to the other two."""
    own = entry("Our big announcement today", feed="own.example", url="https://x.org/news")
    by_url = entry("X announces something", feed="b.example", url="https://x.org/news")
    by_title = entry("Our big announcement today", feed="a.example", url="https://y.org/1")
    result = dedupe([by_title, by_url, own], FEEDS)
    assert result.stories == (Story(own, also_via=("A", "B")),)
    assert set(result.duplicates) == {
        Duplicate(by_title, own, "same title"),
        Duplicate(by_url, own, "same link"),
    }


def test_similar_titles_keep_the_first_feeds_copy() -> None:
    """Among fuzzy matches too, the copy of the first feed in config order is kept."""
    own = entry("Google announces Gemini 2 model for developers", feed="own.example")
    a = entry("Google announces Gemini 2 model for developer", feed="a.example")
    c = entry("Google announces Gemini 2 models for developers", feed="c.example")
    result = dedupe([c, a, own], FEEDS)
    assert result.stories == (Story(own, also_via=("A", "C")),)
    assert {dup.match for dup in result.duplicates} == {"similar title"}


def test_transitive_match_through_another_copy() -> None:
    """A copy matching only another copy's link still joins the story."""
    own = entry("Big news about the thing", feed="own.example", url="https://x.org/1")
    same_title = entry("Big news about the thing", feed="a.example", url="https://y.org/2")
    same_link = entry("Totally different words", feed="b.example", url="https://y.org/2")
    result = dedupe([same_link, same_title, own], FEEDS)
    assert result.stories == (Story(own, also_via=("A", "B")),)


def test_also_via_is_config_order_without_repeats() -> None:
    """also_via lists other sources in config order, each once, never the kept source."""
    url = "https://x.org/story"
    own = entry("Story", feed="own.example", url=url, source="Own")
    copies = [
        entry("Story", feed="c.example", url=url, source="Aggregator"),
        entry("Story", feed="a.example", url=url, source="Aggregator"),
        entry("Story", feed="b.example", url=url, source="Own"),  # same name as the kept one
        entry("Story", feed="unlisted.example", url=url, source="Zeta"),  # not in config
    ]
    assert dedupe([*copies, own], FEEDS).stories == (Story(own, ("Aggregator", "Zeta")),)


def test_entries_without_link_do_not_match_each_other() -> None:
    """An empty canonical URL is no URL: entries without links merge only by title."""
    first = entry("First story without link", feed="a.example", url="")
    second = entry("Second story with no link", feed="b.example", url="")
    assert len(dedupe([first, second], FEEDS).stories) == 2


def test_result_does_not_depend_on_input_order() -> None:
    """Shuffled input gives the same stories and duplicates."""
    entries = [
        entry(f"Story number {n % 7} about topic {n % 5}", feed=FEEDS[n % 4], hours=n % 3)
        for n in range(40)
    ]
    expected = dedupe(entries, FEEDS)
    shuffled = entries[:]
    random.Random(1).shuffle(shuffled)
    assert dedupe(shuffled, FEEDS) == expected


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("Hello, World!", "hello world"),
        ("  Many   spaces\there ", "many spaces here"),
        ("“Rust 1.80” Released – Rust Blog", "rust 1 80 released"),
        ("Rust 1.80 released | Rust Blog", "rust 1 80 released"),
        ("Short - Source", "short source"),  # too short a head to drop a suffix
        ("Building a compiler in Rust - Part 2", "building a compiler in rust part 2"),
        (
            "A long title for the story - with a long tail of many words",
            "a long title for the story with a long tail of many words",
        ),
        ("It's — don't", "its dont"),
        ("ＦＵＬＬＷＩＤＴＨ ＴＥＸＴ", "fullwidth text"),
        ("Straße", "strasse"),
        ("snake_case_title", "snake case title"),
    ],
)
def test_title_key(title: str, key: str) -> None:
    """title_key case-folds, drops quotes, punctuation and a short source suffix."""
    assert title_key(title) == key


def test_fuzzy_candidates_stay_in_small_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 titles drawn from 80 words: fuzzy candidates grow linearly, not quadratically."""
    examined = 0
    candidates = dedupe_module._Index.candidates

    def counting(
        self: dedupe_module._Index, title: dedupe_module._Title
    ) -> list[tuple[dedupe_module._Title, int]]:
        nonlocal examined
        found = candidates(self, title)
        examined += len(found)
        return found

    monkeypatch.setattr(dedupe_module._Index, "candidates", counting)
    rng = random.Random(0)
    vocabulary = [f"{rng.choice('bcdfgklmnprst')}{n:x}word{'s' * (n % 4)}" for n in range(80)]
    entries = [
        entry(" ".join(rng.sample(vocabulary, 6)), feed=FEEDS[n % 4], id=str(n), hours=n % 168)
        for n in range(2000)
    ]
    assert len(dedupe(entries, FEEDS).stories) == 2000
    assert 0 < examined < 10 * len(entries)  # all pairs would be about 2,000,000


def test_titles_of_common_pairs_still_meet_through_rare_runs() -> None:
    """In a pool where every pair of words is common (titles drawn from a few words), a
    near-duplicate is still found through the rarer runs of three words it shares."""
    words = [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "india",
        "juliet",
    ]
    rng = random.Random(3)
    pool = [
        make_entry(
            feed=f"f{n % 7}",
            id=str(n),
            title=" ".join(rng.choices(words, k=7)),
            canonical_url=f"https://example.org/{n}",
            published=DEFAULT_TIME - timedelta(minutes=n),
        )
        for n in range(300)
    ]
    original = "alpha alpha bravo charlie delta echo foxtrot foxtrot"
    pair = [
        make_entry(feed="x", id="a", title=original, canonical_url="https://x.example/a"),
        make_entry(
            feed="y",
            id="b",
            title=original.replace("foxtrot foxtrot", "foxtrot foxtrots"),
            canonical_url="https://y.example/b",
        ),
    ]
    pairs = Counter(p for e in pool for p in itertools.pairwise(title_key(e.title).split()))
    assert min(pairs.values()) > dedupe_module.BUCKET_LIMIT  # every pair is common
    result = dedupe(pool + pair, ["x", "y", *(f"f{n}" for n in range(7))])
    found = [(d.dropped.id, d.kept.id, d.match) for d in result.duplicates if d.kept.feed == "x"]
    assert found == [("b", "a", "similar title")]


# (first, second, same story by the 0.92 ratio, turned away by the cheap bounds first)
NEAR_THE_THRESHOLD = [
    # exactly 0.92: 2 * 23 / (23 + 27), the shorter key all matched; the bound is tight
    ("Rust is coming to Linux", "Rust is coming to Linux now", True, False),
    # 0.902: one more letter and the lengths alone rule it out
    ("Rust is coming to Linux", "Rust is coming to Linux soon", False, True),
    ("How we scaled Postgres at Acme", "How we scaled Postgres at Acme Corp", True, False),  # 0.923
    (
        "Lessons learned running Kafka in production",
        "Lessons learned running Kafka in prod",
        True,
        False,
    ),  # 0.925
    # 0.907: the lengths rule it out, and the ratio agrees
    (
        "Notes on the new garbage collector",
        "Notes on the new garbage collectors in Go",
        False,
        True,
    ),
    ("Notes on the new garbage collector", "Note on a new garbage collector", True, False),  # 0.923
    (
        "Notes on the new garbage collector",
        "Notes about the new garbage collector",
        True,
        False,
    ),  # 0.930
    (
        "A field guide to async Rust runtimes",
        "The field guide to async Rust runtime",
        True,
        False,
    ),  # 0.932
    # 0.912 and 0.917: equal or close lengths, too few letters in common
    ("We rewrote our search engine in Go", "We rewrote the search engine in Go", False, True),
    ("We rewrote our search engine in Go", "We've rewritten our search engine in Go", False, True),
    ("Why the web needs a new image format", "Why the web needs a new video format", False, True),
    # 0.902: same letters, same length, but two words swapped: only the full ratio says no
    (
        "Open source maintenance and its economics",
        "Open source maintenance and economics, its",
        False,
        False,
    ),
    (
        "What we learned running Kafka in production",
        "What we learned running in production Kafka",
        False,
        False,
    ),  # 0.860
]


@pytest.mark.parametrize(("first", "second", "same", "screened"), NEAR_THE_THRESHOLD)
def test_the_cheap_bounds_never_overrule_the_ratio(
    first: str, second: str, same: bool, screened: bool
) -> None:
    """Pairs just above and just below 0.92: the length and letter bounds turn away only
    pairs the SequenceMatcher ratio turns away, and dedupe merges exactly the pairs the
    ratio accepts."""
    a, b = title_key(first), title_key(second)
    ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    assert (ratio >= dedupe_module.SIMILARITY) == same  # the row is on the side it says
    reach = dedupe_module._may_reach(dedupe_module._Title.of(a), dedupe_module._Title.of(b))
    assert reach is not screened
    result = dedupe([entry(first, feed="a.example"), entry(second, feed="b.example")], FEEDS)
    assert [d.match for d in result.duplicates] == (["similar title"] if same else [])


def test_the_cheap_bounds_hold_on_random_edits() -> None:
    """3,000 titles a few typing slips away from another (many near 0.92): no pair the ratio
    accepts is turned away by the bounds, and the bounds do turn some away."""
    rng = random.Random(5)
    bases = [
        title_key(title)
        for title in (
            "The surprising economics of open source maintenance",
            "Google announces Gemini model for developers",
            "How we scaled Postgres at Acme",
            "A field guide to async Rust runtimes",
        )
    ]
    screened = accepted = 0
    for _ in range(3000):
        base = rng.choice(bases)
        letters = list(base)
        for _ in range(rng.randint(1, 5)):
            at = rng.randrange(len(letters))
            edit = rng.choice(["replace", "insert", "delete"])
            if edit == "replace":
                letters[at] = rng.choice("abcdefghijklmnopqrstuvwxyz ")
            elif edit == "insert":
                letters.insert(at, rng.choice("abcdefghijklmnopqrstuvwxyz "))
            elif len(letters) > 1:
                del letters[at]
        other = " ".join("".join(letters).split())
        ratio = difflib.SequenceMatcher(None, base, other, autojunk=False).ratio()
        reach = dedupe_module._may_reach(
            dedupe_module._Title.of(base), dedupe_module._Title.of(other)
        )
        assert reach or ratio < dedupe_module.SIMILARITY, (base, other, ratio)
        screened += not reach
        accepted += ratio >= dedupe_module.SIMILARITY
    assert screened > 100 and accepted > 100


def test_ascii_titles_give_the_words_the_unicode_rule_gives() -> None:
    """ASCII titles take shortcuts (str.translate, or nothing to change at all); a leading
    "¿", which is no word, sends a title down the regular expression's path instead, and
    the key must not change."""
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " \t-|'\"_"
    titles = ["", "Rust 1.80 released", "It's the compiler's fault", "snake_case - Blog"]
    titles += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(3000)
    ]
    for title in titles:
        assert title_key(title) == title_key("¿" + title), title
