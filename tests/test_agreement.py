"""Agreement: the strict reader against the feedparser path, over every corpus file.

Each file of ../shared/corpora is parsed twice by ``parse_feed``: as roundup reads it (the
strict reader, feedparser for what it declines) and with ``strict=False`` (feedparser for
every XML body, as before the strict reader). The entries must agree on what reaches an
issue: title, link, canonical URL, published time (to the second, as the store keeps it),
author, summary text and image. Every disagreement is a row of :data:`DISAGREEMENTS`,
reviewed against the file; the test fails on a disagreement the table lacks, on a row that
no longer disagrees, and on any entry the feedparser path keeps and roundup's loses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundup.errors import ParseError
from roundup.models import Entry, ParsedFeed
from roundup.parse import parse_feed
from tests.corpora import ABSENT, CORPORA, corpus_files

pytestmark = pytest.mark.corpus

FETCHED = datetime(2025, 1, 1, tzinfo=UTC)
FIELDS = ("title", "link", "canonical_url", "published", "author", "summary_text", "image")

RIGHT_BY_SPEC = "the strict reader is right by the spec: "
# (file, field): why the two paths differ there. Reviewed against each file.
DISAGREEMENTS: dict[tuple[str, str], str] = {
    # --- summaries -------------------------------------------------------------------------
    ("feed-rs/fixture/atom/atom_mediarss_newscred_1.xml", "summary_text"): RIGHT_BY_SPEC
    + "the entry's atom:content is its content (RFC 4287 4.1.3); feedparser takes the "
    "media:description of the attached picture instead",
    ("feedjira/sample_feeds/HuffPostCanada.xml", "summary_text"): RIGHT_BY_SPEC
    + "the item's description is its synopsis (RSS 2.0); feedparser takes the "
    "media:description of a media:content picture (its caption) instead",
    ("feed-rs/fixture/rss2/rss_2.0_ch9.xml", "summary_text"): RIGHT_BY_SPEC
    + "the description is the synopsis (RSS 2.0); feedparser lets a later itunes:summary "
    "replace it",
    ("feed-rs/fixture/rss2/rss_2.0_spiegel.xml", "summary_text"): RIGHT_BY_SPEC
    + "the description (HTML, where a newline is a space) is the synopsis; feedparser lets "
    "the later itunes:summary (plain text, keeping its line break) replace it",
    ("rss-parser/input/itunes-missing-image.rss", "summary_text"): RIGHT_BY_SPEC
    + "the description is the synopsis; feedparser lets a later, different itunes:summary "
    "replace it",
    ("feedjira/sample_feeds/youtube_atom.xml", "summary_text"): RIGHT_BY_SPEC
    + 'media:description is plain text unless type="html" (Media RSS), so its blank lines '
    "are paragraph breaks; feedparser reads it as HTML and runs the paragraphs together",
    ("rss-parser/input/atom-customfields.atom", "summary_text"): RIGHT_BY_SPEC
    + "media:description is plain text (Media RSS); feedparser reads it as HTML and runs "
    "the paragraphs together",
    ("rss-parser/input/reddit-atom.rss", "summary_text"): RIGHT_BY_SPEC
    + "three items escape their HTML one time more than the description's HTML needs; the "
    "strict reader shows what the document says, feedparser guesses and unescapes again",
    # --- authors ---------------------------------------------------------------------------
    ("feed-rs/fixture/rss1/rss_1.0_spec_2.xml", "author"): RIGHT_BY_SPEC
    + "dc:creator is free text; feedparser cuts 'Simon St.Laurent (mailto:…)' at the "
    "address",
    ("feed-rs/fixture/rss2/rss_2.0_relurl_1.xml", "author"): RIGHT_BY_SPEC
    + "'jonas@insanity.industries (Jonas Große Sundrup)' is an RFC 822 mailbox whose "
    "comment is the name; feedparser mangles it into 'stries (Jonas Große Sundrup'",
    ("rss-parser/input/itunes-keywords-array.rss", "author"): "the show's author: the strict "
    "reader takes itunes:author ('SWR'), feedparser the later googleplay:author",
    ("rss-parser/input/itunes-keywords-astext.rss", "author"): "the show's author: the strict "
    "reader takes itunes:author, feedparser the later googleplay:author ('DASDING // SWR')",
    # --- dates -----------------------------------------------------------------------------
    ("feed-rs/fixture/rss2/rss_2.0_ilmessaggero.xml", "published"): RIGHT_BY_SPEC
    + "'mer, 16 nov 2022 00:38:15 +0100' is an RFC 822 date whose day name is Italian; the "
    "day name carries no information and 'nov' is November, feedparser reads no date",
    ("feed-rs/fixture/rss2/rss_2.0_nbcny.xml", "published"): "'Sat, Dec 16 2023 02:02:33 PM' "
    "is no RFC 822 date; the strict reader honours the PM (14:02), feedparser drops it",
}


def _parse(path: Path, *, strict: bool) -> ParsedFeed | None:
    relative = path.relative_to(CORPORA).as_posix()
    # An http URL, so that relative links and ids resolve as for a fetched feed.
    url = f"https://corpus.example/{relative}"
    try:
        return parse_feed(
            path.read_bytes(), key=relative, url=url, fetched_at=FETCHED, strict=strict
        )
    except ParseError:
        return None


def _value(entry: Entry, field: str) -> object:
    if field == "published":  # the store keeps seconds; dated says whether it is the feed's
        return (entry.published.replace(microsecond=0), entry.dated)
    return getattr(entry, field)


def disagreements(path: Path) -> dict[str, str]:
    """The fields on which the two paths disagree for this file, each with an example."""
    ours = _parse(path, strict=True)
    theirs = _parse(path, strict=False)
    if theirs is None:
        return {}
    kept = len(ours.entries) if ours is not None else 0
    if kept < len(theirs.entries):
        return {"entries": f"{len(theirs.entries) - kept} of {len(theirs.entries)} lost"}
    assert ours is not None
    found: dict[str, str] = {}
    for number, (a, b) in enumerate(zip(ours.entries, theirs.entries, strict=False)):
        for field in FIELDS:
            mine, other = _value(a, field), _value(b, field)
            if mine != other and field not in found:
                found[field] = f"entry {number}: strict {mine!r:.120} / feedparser {other!r:.120}"
    return found


FILES = corpus_files()


@pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=str(path.relative_to(CORPORA))) for path in FILES] or [ABSENT],
)
def test_strict_reader_agrees_with_feedparser(path: Path) -> None:
    """The two paths agree on this file, or differ exactly where the table says."""
    relative = path.relative_to(CORPORA).as_posix()
    found = disagreements(path)
    assert "entries" not in found, f"entries lost: {found['entries']}"
    listed = {field for (file, field) in DISAGREEMENTS if file == relative}
    unlisted = {field: example for field, example in found.items() if field not in listed}
    assert not unlisted, f"disagreements missing from DISAGREEMENTS: {unlisted}"
    gone = listed - set(found)
    assert not gone, f"rows of DISAGREEMENTS that no longer disagree: {sorted(gone)}"


@pytest.mark.skipif(not FILES, reason=f"{CORPORA} is absent (the corpora are not part of the repo)")
def test_every_row_names_a_corpus_file_and_a_compared_field() -> None:
    """The table names files that exist and fields that are compared."""
    names = {path.relative_to(CORPORA).as_posix() for path in FILES}
    assert {file for file, _ in DISAGREEMENTS} <= names
    assert {field for _, field in DISAGREEMENTS} <= set(FIELDS)
