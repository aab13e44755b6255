"""An issue made from the real feeds of ../shared/corpora reads as edited, not scraped.

Every corpus entry's excerpt is free of what blog engines add, and one issue built from
all of them has no boilerplate, no tracking parameter in a link, no avatar as a picture,
and groups the stories that several feeds carried. Skips when the corpora are absent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundup.config import load_config
from roundup.coverage import group_coverage
from roundup.dedupe import dedupe
from roundup.draft import EXCERPT_CHARS, build_draft
from roundup.errors import ParseError
from roundup.excerpt import make_excerpt
from roundup.group import group_stories
from roundup.models import Entry
from roundup.normalize import is_unwanted_image, strip_tracking
from roundup.parse import parse_feed
from roundup.render import render_issue
from roundup.week import Window
from tests.corpora import CORPORA, corpus_files

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPORA.is_dir(), reason=f"{CORPORA} is absent"),
]
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)
# What must never reach a reader, in the four languages roundup has labels for.
BOILERPLATE = re.compile(
    r"appeared first on|first appeared on|continue reading|read more|keep reading"
    r"|\[\s*(?:…|\.\.\.)\s*\]|was originally published in|share this:|like this:"
    r"|lire la suite|est apparu en premier sur|weiterlesen|erschien zuerst auf"
    r"|leer más|seguir leyendo|se publicó primero en|\b\d+ comments?\b",
    re.IGNORECASE,
)
URL = re.compile(r"https?://[^\s\"'<>)\]]+")


def corpus_entries() -> list[Entry]:
    entries: list[Entry] = []
    for path in corpus_files():
        try:
            parsed = parse_feed(path.read_bytes(), key=str(path), url=str(path), fetched_at=FETCHED)
        except ParseError:
            continue  # the few files that are no feed (see tests/test_corpus.py)
        entries += parsed.entries
    return entries


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return corpus_entries()


def test_no_excerpt_carries_boilerplate(entries: list[Entry]) -> None:
    """Every corpus entry's excerpt is free of the lines blog engines and feed services add."""
    found = [
        (entry.feed, entry.title, match.group())
        for entry in entries
        if (
            match := BOILERPLATE.search(
                make_excerpt(entry.summary_text, EXCERPT_CHARS, title=entry.title)
            )
        )
    ]
    assert found == []


def test_an_issue_from_the_corpora(entries: list[Entry], tmp_path: Path) -> None:
    """One issue of every corpus entry: no boilerplate, no tracking parameter, no avatar,
    and the story several feeds carried shown once."""
    config_path = tmp_path / "feeds.yaml"
    config_path.write_text(
        "newsletter:\n  title: Corpus Weekly\n  url: https://example.org/\n"
        '  from: "Corpus <c@example.org>"\n  max_items: 5000\n'
        f"feeds:\n  - url: {corpus_files()[0]}\n",
        encoding="utf-8",
    )
    config = load_config(config_path)
    feeds = sorted({entry.feed for entry in entries})
    stories = group_coverage(dedupe(entries, feeds).stories, feeds)
    groups = group_stories(stories, sections=(), feeds=config.feeds, default_name="Reading")
    start, end = datetime(1990, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    draft = build_draft(
        groups,
        window=Window("2026-W53", start, end),
        number=1,
        newsletter=config.newsletter,
    )
    items = draft.items
    assert len(items) > 1000
    assert [item.excerpt for item in items if BOILERPLATE.search(item.excerpt)] == []
    images = [item.image for item in items if item.image]
    assert [image for image in images if is_unwanted_image(image)] == []
    links = [item.link for item in items] + [
        other.link for item in items for other in item.covered_by
    ]
    assert [link for link in links if strip_tracking(link) != link] == []
    covered = {item.title: [other.title for other in item.covered_by] for item in items}
    assert covered["Announcing JSON Feed"] == ["JSON Feed"] or covered.get("JSON Feed") == [
        "Announcing JSON Feed"
    ]

    issue = render_issue(draft, config)
    for name in ("email.html", "email.txt", "post.md", "post.html"):
        output = issue.outputs[name]
        assert BOILERPLATE.search(output) is None, name
        assert "gravatar.com" not in output and "/avatar/" not in output, name
        tracked = [url for url in URL.findall(output) if strip_tracking(url) != url]
        assert tracked == [], name
