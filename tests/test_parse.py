"""Tests for roundup.parse: every feed format, broken input, and the bundled samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from roundup.errors import ParseError
from roundup.models import Entry, ParsedFeed
from roundup.parse import parse_feed

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "feeds"
SAMPLES = ROOT / "samples" / "feeds"
FETCHED = datetime(2015, 8, 19, 12, 0, tzinfo=UTC)
URL = "https://feeds.example.com/feed.xml"


FEED_FILES = [
    "rss091.xml",
    "rss092.xml",
    "rss10.rdf",
    "rss20.xml",
    "atom10.xml",
    "jsonfeed10.json",
    "jsonfeed11.json",
]


def parse(
    body: bytes, url: str = URL, *, name: str | None = None, content_type: str | None = None
) -> ParsedFeed:
    return parse_feed(
        body, key="feed-key", url=url, fetched_at=FETCHED, name=name, content_type=content_type
    )


def only(body: bytes, url: str = URL) -> Entry:
    entries = parse(body, url).entries
    assert len(entries) == 1
    return entries[0]


def rss(
    item: str, channel: str = "<title>Chan</title><link>https://site.example.org/</link>"
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}'
        f"<item>{item}</item></channel></rss>"
    ).encode()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- formats --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count", "title", "link", "published"),
    [
        ("rss091.xml", 2, "Treaty text published", "https://oldwire.example.com/treaty-text", None),
        ("rss092.xml", 2, "A dispatch with no title and no link, as RSS 0.92 allows.", "", None),
        (
            "rss10.rdf",
            1,
            "Arms control, revisited",
            "https://rdf.example.net/a",
            utc(2015, 8, 10, 10),
        ),
        (
            "rss20.xml",
            2,
            "Sanctions renewed",
            "https://wire.example.org/2015/08/sanctions?utm_source=rss&id=7#comments",
            utc(2015, 8, 11, 20, 40),
        ),
        (
            "atom10.xml",
            2,
            "Only updated here",
            "https://atom.example.com/1",
            utc(2015, 8, 12, 8, 30),
        ),
        (
            "jsonfeed10.json",
            2,
            "Numeric id, relative url",
            "https://json.example.net/posts/1",
            utc(2015, 8, 10, 14),
        ),
        ("jsonfeed11.json", 2, "With summary", "https://json.example.net/a", utc(2015, 8, 11, 12)),
    ],
)
def test_each_format_parses(
    name: str, count: int, title: str, link: str, published: datetime | None
) -> None:
    """RSS 0.91/0.92/1.0/2.0, Atom and JSON Feed 1.0/1.1 give entries with title, link, date."""
    result = parse((FIXTURES / name).read_bytes())
    first = result.entries[0]
    assert len(result.entries) == count
    assert (first.title, first.link) == (title, link)
    assert first.published == (published or FETCHED)
    assert first.dated is (published is not None)


@pytest.mark.parametrize("name", [name for name in FEED_FILES if name != "jsonfeed11.json"])
def test_well_formed_fixtures_have_no_warnings(name: str) -> None:
    """A well-formed feed parses without warnings."""
    assert parse((FIXTURES / name).read_bytes()).meta.warnings == ()


def test_rss20_fields() -> None:
    """An RSS 2.0 item gives guid, canonical URL, author name, tags, thumbnail and summary."""
    entry = parse((FIXTURES / "rss20.xml").read_bytes()).entries[0]
    assert entry.id == "wire-1"
    assert entry.canonical_url == "https://wire.example.org/2015/08/sanctions?id=7"
    assert entry.author == "Ana Desk"
    assert entry.tags == ("Sanctions", "Europe")
    assert entry.image == "https://wire.example.org/img/thumb.jpg"
    assert entry.summary_text == "Renewed for six months."
    assert entry.feed == "feed-key"
    assert entry.source == "Wire Two"
    assert entry.first_seen == FETCHED


def test_atom_fields() -> None:
    """Atom: text summaries are escaped, feed authors are inherited, enclosures are images."""
    result = parse((FIXTURES / "atom10.xml").read_bytes())
    first, second = result.entries
    assert result.meta.title == "Atom & Friends"
    assert result.meta.link == "https://atom.example.com/"
    assert first.summary_html == "<p>Plain text with &lt;angle brackets&gt; &amp; an ampersand.</p>"
    assert first.author == "Feed Author"
    assert first.image == "https://atom.example.com/1.png"
    assert second.title == "Emphasis in a title"
    assert second.author == "Entry Author"
    assert second.published == utc(2015, 8, 11, 8)  # published wins over updated
    assert second.summary_html == "<p>Only content, no summary.</p>"


def test_json_feed_fields() -> None:
    """JSON Feed: numeric ids, relative urls against the home page, plain text escaped."""
    first, second = parse((FIXTURES / "jsonfeed10.json").read_bytes()).entries
    assert first.id == "1"
    assert first.author == "Feed Person"
    assert first.summary_html == "<p>Plain &lt;text&gt; &amp; more.</p><p>Second paragraph.</p>"
    assert first.tags == ("One", "Two")
    assert second.link == "https://elsewhere.example.com/story"
    assert second.image == "https://json.example.net/img/2.jpg"
    assert second.dated is False


def test_json_feed_11_fields() -> None:
    """JSON Feed 1.1: summary wins, authors[], image attachments, micro-post titles."""
    result = parse((FIXTURES / "jsonfeed11.json").read_bytes())
    first, second = result.entries
    assert first.summary_text == "The summary is plain text & wins."
    assert first.author == "Item Person"
    assert first.image == "https://json.example.net/a.jpg"
    assert second.title == "A micro-post with no title at all, only a short thought."
    assert second.image == "https://json.example.net/b.png"
    assert second.published == utc(2015, 8, 12, 12)
    assert result.meta.warnings == ("JSON Feed: skipped 1 item(s) that are not objects",)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'\xef\xbb\xbf  \n{"version": "https://jsonfeed.org/version/1.1", "items": []}', None),
        (b'{"version": "https:\\/\\/jsonfeed.org\\/version\\/1", "items": []}', None),
        (b'{"version": "https://jsonfeed.org/version/1", "items": []}', "application/feed+json"),
    ],
)
def test_json_feed_detection(body: bytes, content_type: str | None) -> None:
    """A JSON Feed is recognised by its leading brace, BOM or not, escaped slashes or not."""
    assert parse(body, content_type=content_type).entries == ()


def test_xml_served_as_json_is_parsed_as_xml() -> None:
    """A wrong JSON content type does not stop an XML feed from parsing."""
    result = parse(rss("<title>t</title>"), content_type="application/json")
    assert [entry.title for entry in result.entries] == ["t"]


# --- missing fields, links, entities --------------------------------------------------


def test_missing_title_comes_from_the_text() -> None:
    """A title-less micro-post gets its first sentence as title."""
    entry = only(rss("<description>First thought here. And a second one.</description>"))
    assert entry.title == "First thought here."


def test_missing_link_and_guid_gives_a_hash_id() -> None:
    """Without guid and link the entry has no link and a sha1 id."""
    entry = only(rss("<title>t</title><description>d</description>"))
    assert entry.link == entry.canonical_url == ""
    assert entry.id.startswith("sha1:")


def test_missing_date_uses_fetch_time() -> None:
    """An entry with no date is dated at fetch time and marked undated."""
    entry = only(rss("<title>t</title>"))
    assert (entry.published, entry.dated) == (FETCHED, False)


@pytest.mark.parametrize(
    ("link", "url", "channel", "expected"),
    [
        (
            "/post/1",
            URL,
            "<link>https://site.example.org/blog/</link>",
            "https://feeds.example.com/post/1",
        ),
        (
            "post/1",
            "/srv/feeds/blog.xml",
            "<link>https://site.example.org/blog/</link>",
            "https://site.example.org/blog/post/1",
        ),
        ("post/1", "/srv/feeds/blog.xml", "<title>no home page</title>", ""),
        ("javascript:alert(1)", URL, "", ""),
        ("ftp://files.example.org/x", URL, "", ""),
        ("https://abs.example.org/x", "/srv/feeds/blog.xml", "", "https://abs.example.org/x"),
    ],
)
def test_entry_links_are_absolute_http(link: str, url: str, channel: str, expected: str) -> None:
    """Relative links resolve against the URL, or for a local file against the home page."""
    entry = only(rss(f"<title>t</title><link>{link}</link>", channel), url)
    assert entry.link == expected


def test_relative_urls_in_summary_resolve() -> None:
    """Relative URLs inside a summary become absolute."""
    body = rss("<title>t</title><description>&lt;a href='/about'&gt;x&lt;/a&gt;</description>")
    assert 'href="https://feeds.example.com/about"' in only(body).summary_html


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),
        ("Beijing&#8217;s move", "Beijing’s move"),
        ("&lt;b&gt;Bold&lt;/b&gt; claim", "Bold claim"),
        ("<![CDATA[Caf&eacute; &amp; <i>bar</i>]]>", "Café & bar"),
    ],
)
def test_entities_in_titles(title: str, expected: str) -> None:
    """Titles come out as plain text whatever the escaping."""
    assert only(rss(f"<title>{title}</title>")).title == expected


# --- encodings ------------------------------------------------------------------------

ENCODED_TITLE = "Café «déjà vu» — naïve “quotes”"


@pytest.mark.parametrize(
    ("declared", "actual", "title"),
    [
        ("iso-8859-1", "iso-8859-1", "Café «déjà vu» naïve"),
        ("windows-1252", "windows-1252", ENCODED_TITLE),
        ("utf-8", "utf-8", ENCODED_TITLE),
    ],
)
def test_declared_encodings(declared: str, actual: str, title: str) -> None:
    """Feeds in ISO-8859-1 and windows-1252 decode by their XML declaration."""
    body = (
        f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel>'
        f"<title>T</title><item><title>{title}</title></item></channel></rss>"
    ).encode(actual)
    result = parse(body)
    assert result.entries[0].title == title
    assert result.meta.warnings == ()


@pytest.mark.parametrize(
    ("content_type", "warnings"),
    [
        (None, ()),
        ("text/xml", ()),
        ("application/rss+xml", ()),
        ("text/xml; charset=windows-1252", ()),
        (
            "text/html",
            (
                "CharacterEncodingOverride: "
                "document declared as us-ascii, but parsed as windows-1252",
            ),
        ),
    ],
)
def test_content_type_and_encoding(content_type: str | None, warnings: tuple[str, ...]) -> None:
    """The XML declaration decides the encoding unless the server names a charset."""
    body = (
        '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel>'
        f"<title>T</title><item><title>{ENCODED_TITLE}</title></item></channel></rss>"
    ).encode("windows-1252")
    result = parse(body, content_type=content_type)
    assert result.entries[0].title == ENCODED_TITLE
    assert result.meta.warnings == warnings


def test_wrongly_declared_encoding_is_recovered_with_a_warning() -> None:
    """A windows-1252 feed that claims UTF-8 still decodes, with a warning."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>{ENCODED_TITLE}</title></item></channel></rss>"
    ).encode("windows-1252")
    result = parse(body)
    assert result.entries[0].title == ENCODED_TITLE
    assert result.meta.warnings[0].startswith("CharacterEncodingOverride: ")


# --- dates ----------------------------------------------------------------------------


def test_future_date_is_clamped_to_fetch_time() -> None:
    """A date after the fetch is capped at the fetch time and still counts as a date."""
    entry = only(rss("<title>t</title><pubDate>Fri, 01 Jan 2016 00:00:00 GMT</pubDate>"))
    assert (entry.published, entry.dated) == (FETCHED, True)


def test_date_just_before_fetch_is_kept() -> None:
    """A date in the past is kept as it is, in UTC."""
    entry = only(rss("<title>t</title><pubDate>Wed, 19 Aug 2015 07:59:00 -0400</pubDate>"))
    assert entry.published == FETCHED - timedelta(minutes=1)
    assert entry.published.tzinfo is UTC


@pytest.mark.parametrize(
    "body",
    [
        rss("<title>t</title><pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate>"),
        rss("<title>t</title><pubDate>Thu, 01 Jan 1970 00:00:00 +0000</pubDate>"),
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><title>t</title>'
        b"<id>x</id><updated>0001-01-01T00:00:00Z</updated></entry></feed>",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "t",'
        b' "date_published": "0001-01-01T00:00:00Z"}]}',
    ],
    ids=["rss-hugo", "rss-epoch", "atom-hugo", "json-hugo"],
)
def test_placeholder_dates_count_as_no_date(body: bytes) -> None:
    """Hugo's 0001-01-01 and other pre-1971 dates count as no date."""
    entry = only(body)
    assert (entry.published, entry.dated) == (FETCHED, False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-08-10T10:00:00-04:00", utc(2015, 8, 10, 14)),
        ("2015-08-10T14:00:00.123Z", utc(2015, 8, 10, 14, 0, 0) + timedelta(microseconds=123000)),
        ("2015-08-10T14:00:00", utc(2015, 8, 10, 14)),
        ("Mon, 10 Aug 2015 14:00:00 GMT", utc(2015, 8, 10, 14)),
        ("yesterday", FETCHED),
    ],
)
def test_json_feed_dates(value: str, expected: datetime) -> None:
    """JSON Feed dates are RFC 3339 (naive taken as UTC); unreadable ones fall back."""
    body = (
        '{"version": "https://jsonfeed.org/version/1.1", "items": '
        f'[{{"id": "1", "title": "t", "date_published": "{value}"}}]}}'
    ).encode()
    assert only(body).published == expected


# --- broken and non-feed input --------------------------------------------------------


def test_bozo_feed_keeps_entries_and_records_a_warning() -> None:
    """A feed with an XML error keeps the entries that parsed and says why it is bozo."""
    body = rss("<title>fine</title></item><item><title>Q & A</title>")
    result = parse(body)
    assert [entry.title for entry in result.entries] == ["fine", "Q & A"]
    assert result.meta.warnings == (
        "SAXParseException: not well-formed (invalid token) at line 1, column 171",
    )


def test_empty_feed_is_valid() -> None:
    """A well-formed feed with no items parses to no entries."""
    result = parse(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>')
    assert (result.meta.title, result.entries) == ("Quiet", ())


def test_html_page_with_alternate_link() -> None:
    """An HTML page that names a feed raises ParseError pointing at the feed URL."""
    body = (FIXTURES / "html-with-alternate.html").read_bytes()
    with pytest.raises(ParseError) as caught:
        parse(body, "https://blog.example.org/home")
    assert caught.value.feed == "feed-key"
    assert caught.value.reason == (
        "not a feed: https://blog.example.org/home is an HTML page; its "
        '<link rel="alternate"> points to https://blog.example.org/feed.xml '
        "— use that URL in feeds.yaml"
    )


def test_html_page_alternate_link_honours_base() -> None:
    """A <base href> in the page changes where a relative feed link points."""
    body = (
        b'<html><head><base href="https://cdn.example.net/site/">'
        b'<link rel="Alternate" type="application/feed+json" href="feed.json"></head></html>'
    )
    with pytest.raises(ParseError, match=r"points to https://cdn\.example\.net/site/feed\.json "):
        parse(body, "https://blog.example.org/")


def test_html_page_without_feed_link() -> None:
    """An HTML page that names no feed raises ParseError asking to check the URL."""
    body = (FIXTURES / "html-without-feed-link.html").read_bytes()
    with pytest.raises(ParseError) as caught:
        parse(body, "https://blog.example.org/home")
    assert caught.value.reason == (
        "not a feed: https://blog.example.org/home is an HTML page with no feed link; check the URL"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", f"not a feed: {URL} is empty"),
        (
            b"hello world",
            f"not a feed: {URL} (SAXParseException: syntax error at line 1, column 0)",
        ),
        (
            b'<?xml version="1.0"?><note><to>x</to></note>',
            f"not a feed: {URL} (no RSS, Atom or JSON Feed elements found)",
        ),
        (
            b'{"title": "x"}',
            f"not a feed: {URL}: JSON without a jsonfeed.org version, not a JSON Feed",
        ),
        (
            b'{"version": ',
            f"not a feed: {URL}: invalid JSON "
            "(JSONDecodeError: Expecting value: line 1 column 13 (char 12))",
        ),
        (b"[1, 2]", f"not a feed: {URL} (SAXParseException: syntax error at line 1, column 0)"),
    ],
    ids=["empty", "text", "other-xml", "json-no-version", "bad-json", "json-array"],
)
def test_garbage_is_not_a_feed(body: bytes, reason: str) -> None:
    """A body that is neither feed nor HTML raises ParseError with the parser's reason."""
    with pytest.raises(ParseError) as caught:
        parse(body)
    assert caught.value.reason == reason


def test_body_is_never_taken_for_a_file_name(tmp_path: Path) -> None:
    """A body that happens to be a path is parsed as text, never opened as a file."""
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss("<title>from disk</title>"))
    with pytest.raises(ParseError):
        parse(str(feed).encode())


# --- names, images, tags, determinism -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "channel", "url", "expected"),
    [
        ("Configured", "<title>Own title</title>", URL, "Configured"),
        (None, "<title>Own &amp;amp; title</title>", URL, "Own & title"),
        (None, "", "https://Feeds.Example.com/x.xml", "feeds.example.com"),
        (None, "", "/srv/feeds/blog.xml", "blog.xml"),
    ],
)
def test_display_name(name: str | None, channel: str, url: str, expected: str) -> None:
    """The source is the configured name, else the feed title, else the host or file name."""
    result = parse(rss("<title>t</title>", channel), url, name=name)
    assert result.entries[0].source == expected


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            '<media:thumbnail url="https://i.example.org/t.jpg"/>'
            '<media:content url="https://i.example.org/c.jpg" medium="image"/>',
            "https://i.example.org/t.jpg",
        ),
        (
            '<media:content url="https://i.example.org/v.mp4" medium="video"/>'
            '<media:content url="https://i.example.org/c.jpg" type="image/jpeg"/>',
            "https://i.example.org/c.jpg",
        ),
        (
            '<enclosure url="https://i.example.org/a.mp3" type="audio/mpeg" length="1"/>'
            '<enclosure url="https://i.example.org/e.png" type="image/png" length="1"/>',
            "https://i.example.org/e.png",
        ),
        (
            "<description>&lt;img src='/rel.jpg'&gt;</description>",
            "https://feeds.example.com/rel.jpg",
        ),
        (
            "<description>&lt;img src='https://i.example.org/p.gif' width='1' height='1'&gt;"
            "</description>",
            None,
        ),
        (
            "<description>teaser</description><content:encoded>"
            "&lt;img src='https://i.example.org/full.jpg'&gt;</content:encoded>",
            "https://i.example.org/full.jpg",
        ),
        ('<media:thumbnail url="data:image/png;base64,AAAA"/>', None),
    ],
    ids=[
        "thumbnail",
        "media-content",
        "enclosure",
        "summary-img",
        "pixel",
        "content-img",
        "data-uri",
    ],
)
def test_image(item: str, expected: str | None) -> None:
    """The image is a thumbnail, media image, image enclosure, else the first real <img>."""
    body = (
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>C</title>'
        f"<item><title>t</title>{item}</item></channel></rss>"
    ).encode()
    assert only(body).image == expected


def test_tags_are_deduplicated_in_order() -> None:
    """Tags keep their first spelling and order; repeats in any case are dropped."""
    item = "<title>t</title>" + "".join(
        f"<category>{name}</category>" for name in ["B", "a", "b", " A ", "C &amp; D"]
    )
    assert only(rss(item)).tags == ("B", "a", "C & D")


def test_summaries_are_sanitised_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing does not sanitise or extract text; the first read of summary_text does, once."""
    import roundup.normalize

    calls: list[str] = []
    sanitize = roundup.normalize.sanitize_html

    def counting(html: str, base: str) -> str:
        calls.append(html)
        return sanitize(html, base)

    monkeypatch.setattr(roundup.normalize, "sanitize_html", counting)
    items = "".join(
        f"<item><title>t{n}</title><guid>g{n}</guid><description>&lt;p&gt;Body {n} &amp;amp; "
        f"&lt;script&gt;x()&lt;/script&gt;&lt;/p&gt;</description></item>"
        for n in range(20)
    )
    body = f'<rss version="2.0"><channel><title>C</title>{items}</channel></rss>'.encode()
    entries = parse(body).entries
    assert len(entries) == 20 and calls == []
    assert entries[3].summary == "<p>Body 3 &amp; <script>x()</script></p>"  # as the feed sent it
    assert entries[3].summary_text == "Body 3 &"
    assert entries[3].summary_text == "Body 3 &"
    assert len(calls) == 1  # worked out once, then kept
    assert "<script" not in entries[3].summary_html


def test_untitled_and_unlinked_entries_read_their_text() -> None:
    """The title fallback and the content hash read the summary's text at parse time."""
    body = rss(
        "<description>&lt;p&gt;A thought. More.&lt;/p&gt;"
        "&lt;script&gt;x&lt;/script&gt;</description>"
    )
    entry = only(body)
    assert entry.title == "A thought."
    assert entry.id.startswith("sha1:")


def test_long_summaries_are_capped() -> None:
    """What an entry keeps of its summary is bounded, whatever the feed sends."""
    from roundup.normalize import SUMMARY_LIMIT

    long = "&lt;p&gt;" + "word " * (SUMMARY_LIMIT // 4) + "&lt;/p&gt;"
    entry = only(rss(f"<title>t</title><description>{long}</description>"))
    assert len(entry.summary) == SUMMARY_LIMIT
    assert entry.summary_text.startswith("word word")


def test_parsing_is_deterministic() -> None:
    """The same bytes and fetch time give equal results."""
    bodies = [(FIXTURES / name).read_bytes() for name in FEED_FILES]
    bodies += [path.read_bytes() for path in sorted(SAMPLES.glob("*")) if path.suffix != ".md"]
    assert [parse(body) for body in bodies] == [parse(body) for body in bodies]


# --- bundled samples ------------------------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")
WINDOW = (datetime(2015, 8, 8, tzinfo=NEW_YORK), datetime(2015, 8, 15, tzinfo=NEW_YORK))


def parse_sample(name: str) -> ParsedFeed:
    path = SAMPLES / name
    return parse_feed(path.read_bytes(), key=str(path), url=str(path), fetched_at=FETCHED)


@pytest.mark.parametrize(
    ("name", "title", "total", "in_window", "undated"),
    [
        ("elicitor.rss", "The Elicitor", 8, 5, 0),
        ("harbor-helm.atom", "Harbor & Helm", 8, 6, 0),
        ("steppe-review.rdf", "Steppe Review", 7, 4, 1),
        ("levant-ledger.json", "Levant Ledger", 7, 5, 0),
        ("strait-talk.rss", "Strait Talk", 8, 6, 0),
    ],
)
def test_samples_parse(name: str, title: str, total: int, in_window: int, undated: int) -> None:
    """Each bundled sample parses cleanly with the entry counts its README states."""
    result = parse_sample(name)
    dated = [entry for entry in result.entries if entry.dated]
    assert result.meta.title == title
    assert result.meta.warnings == ()
    assert len(result.entries) == total
    assert sum(WINDOW[0] <= entry.published < WINDOW[1] for entry in dated) == in_window
    assert len(result.entries) - len(dated) == undated
    assert all(entry.link.startswith("https://") for entry in result.entries)


def test_sample_hostile_entry_is_sanitised() -> None:
    """The hostile sample entry loses its script, handlers, javascript: link and pixel."""
    entries = parse_sample("strait-talk.rss").entries
    hostile = next(entry for entry in entries if entry.title.startswith("Partner content"))
    html = hostile.summary_html
    for banned in (
        "<script",
        "document.cookie",
        "onerror",
        "onclick",
        "javascript:",
        "style=",
        "tracking.example.com",
    ):
        assert banned not in html
    assert '<img src="https://example.org/media/strait-talk/radar-mast.jpg"' in html
    assert hostile.image == "https://example.org/media/strait-talk/radar-mast.jpg"


def test_sample_syndicated_story_shares_its_canonical_url() -> None:
    """The cross-posted story has one canonical URL in both feeds despite tracking params."""
    elicitor = parse_sample("elicitor.rss").entries
    harbor = parse_sample("harbor-helm.atom").entries
    original = next(
        e for e in elicitor if e.title == "Freedom of Navigation Is Not a Press Release"
    )
    copy = next(e for e in harbor if e.title == "Freedom of navigation is not a press release.")
    assert "utm_source=rss" in copy.link
    assert copy.canonical_url == original.canonical_url == original.link
    assert copy.id != original.id


def test_sample_special_entries() -> None:
    """The samples' relative link, micro-post, entity title and undated entry come out right."""
    elicitor = parse_sample("elicitor.rss").entries
    levant = parse_sample("levant-ledger.json").entries
    steppe = parse_sample("steppe-review.rdf").entries
    assert "https://elicitor.example.org/2015/08/10/the-quiet-value-of-boring-alliances/" in {
        entry.link for entry in elicitor
    }
    assert "Deterrence & Its Discontents: Reading the Minsk Ledger" in {e.title for e in elicitor}
    assert any(
        entry.title.startswith("Quick note:") and entry.title.endswith("…") for entry in levant
    )
    assert [entry.title[:16] for entry in steppe if not entry.dated] == ["Reader question:"]
