"""Every real-world feed in ../shared/corpora goes through parse_feed without surprises.

The corpora are test inputs that are not part of the project (see their README): this
module skips when the folder is absent. Run it alone with ``pytest -m corpus -s`` to see
the per-folder figures; a one-line summary is printed either way.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundup.errors import ParseError
from roundup.parse import parse_feed
from tests.corpora import ABSENT, CORPORA, corpus_files

FETCHED = datetime(2025, 1, 1, tzinfo=UTC)
# Files in the corpora that are no feed at all: bare <entry>/<item> fragments, XML of other
# kinds, an empty document and an HTML "Document Moved" page. Only these may raise.
NOT_FEEDS = frozenset(
    {
        "feed-rs/fixture/xml/xml_sample_1.xml",
        "feed-rs/fixture/xml/xml_sample_2.xml",
        "feedjira/sample_feeds/AmazonWebServicesBlogFirstEntryContent.xml",
        "feedjira/sample_feeds/HREFConsideredHarmfulFirstEntry.xml",
        "feedjira/sample_feeds/PaulDixExplainsNothingFirstEntryContent.xml",
        "feedjira/sample_feeds/TechCrunchFirstEntry.xml",
        "feedjira/sample_feeds/TechCrunchFirstEntryDescription.xml",
        "feedjira/sample_feeds/TenderLovemakingFirstEntry.xml",
        "feedparser-tests/illformed/rss_empty_document.xml",
        "rss-parser/input/unrecognized.rss",
    }
)
# An event handler, style or javascript: URL inside a tag of the sanitised HTML.
UNSAFE_MARKUP = re.compile(
    r"<[a-z][^>]*\s(?:on[a-z]+|style)\s*=|(?:href|src)\s*=\s*\"\s*(?:javascript|data|vbscript):",
    re.IGNORECASE,
)

pytestmark = pytest.mark.corpus


FILES = corpus_files()


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Counts gathered across the corpus; reported once the module's tests have run."""
    counts: Counter[str] = Counter()
    yield counts
    if not counts["files"]:
        return
    print(f"\n{CORPORA}:")  # the details, visible with -s
    for folder in sorted({key.split(":", 1)[1] for key in counts if key.startswith("files:")}):
        figures = ", ".join(
            f"{name} {counts[f'{name}:{folder}']}" for name in ("files", "entries", "not-a-feed")
        )
        print(f"  {folder}: {figures}")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        # What capsys.disabled() does: the summary line shows even without -s.
        with capture.global_and_fixture_disabled():
            reporter.write(f"\n{summary(counts)}\n")


def summary(counts: Counter[str]) -> str:
    return (
        f"corpus: {counts['files']} files, {counts['entries']} entries kept "
        f"({counts['no-date']} without date, {counts['no-title']} without title, "
        f"{counts['no-link']} without link), {counts['warned']} feeds with warnings, "
        f"{counts['not-a-feed']} not feeds (ParseError)"
    )


@pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=str(path.relative_to(CORPORA))) for path in FILES] or [ABSENT],
)
def test_corpus_file_parses(path: Path, tally: Counter[str]) -> None:
    """A corpus file parses into well-formed entries, or is a known non-feed (ParseError)."""
    relative = path.relative_to(CORPORA).as_posix()
    folder = relative.split("/", 1)[0]
    tally["files"] += 1
    tally[f"files:{folder}"] += 1
    if relative in NOT_FEEDS:
        with pytest.raises(ParseError, match=r"^.*?: not a feed: "):
            parse_feed(path.read_bytes(), key=relative, url=str(path), fetched_at=FETCHED)
        tally["not-a-feed"] += 1
        tally[f"not-a-feed:{folder}"] += 1
        return
    result = parse_feed(path.read_bytes(), key=relative, url=str(path), fetched_at=FETCHED)
    for entry in result.entries:
        assert entry.feed == relative
        assert entry.published.tzinfo is UTC
        assert entry.published <= FETCHED
        assert entry.dated or entry.published == FETCHED
        assert entry.link == "" or entry.link.startswith(("http://", "https://"))
        assert entry.image is None or entry.image.startswith(("http://", "https://"))
        assert "<script" not in entry.summary_html.lower()
        assert not UNSAFE_MARKUP.search(entry.summary_html), entry.summary_html
    tally["entries"] += len(result.entries)
    tally[f"entries:{folder}"] += len(result.entries)
    tally["no-date"] += sum(not entry.dated for entry in result.entries)
    tally["no-title"] += sum(not entry.title for entry in result.entries)
    tally["no-link"] += sum(not entry.link for entry in result.entries)
    tally["warned"] += bool(result.meta.warnings)
