"""Tests for roundup.xmlfeed: the strict RSS/Atom reader, what it reads and what it declines."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundup.entries import FeedContext
from roundup.models import Entry, ParsedFeed
from roundup.parse import parse_feed
from roundup.xmlfeed import read_feed

FETCHED = datetime(2015, 8, 19, 12, 0, tzinfo=UTC)
URL = "https://feeds.example.com/dir/feed.xml"
NAMESPACES = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:atom="http://www.w3.org/2005/Atom"'
)


def read(body: bytes | str, url: str = URL, content_type: str | None = None) -> ParsedFeed | None:
    data = body.encode() if isinstance(body, str) else body
    context = FeedContext(key="k", url=url, fetched_at=FETCHED, name=None)
    return read_feed(data, context, content_type)


def read_ok(body: bytes | str, url: str = URL) -> ParsedFeed:
    parsed = read(body, url)
    assert parsed is not None, "the strict reader declined it"
    return parsed


def rss_item(item: str, channel: str = "<title>Chan</title>") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {NAMESPACES}><channel>'
        f"{channel}<item>{item}</item></channel></rss>"
    )


def atom_entry(entry: str, feed: str = "<title>F</title>", attributes: str = "") -> str:
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"'
        f" {attributes}>{feed}<entry>{entry}</entry></feed>"
    )


def only(body: str, url: str = URL) -> Entry:
    entries = read_ok(body, url).entries
    assert len(entries) == 1
    return entries[0]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- formats ----------------------------------------------------------------------------

RSS_091 = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old &amp; wise</title><link>https://old.example/</link>
<managingEditor>ed@old.example (Ed Itor)</managingEditor>
<item><title>Caf\xe9</title><link>https://old.example/1</link>
<description>First &lt;b&gt;one&lt;/b&gt;</description></item></channel></rss>"""
RSS_090 = """<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>Zero nine</title><link>https://zero.example/</link></channel>
<item><title>Z1</title><link>https://zero.example/1</link></item>
<item><title>Z2</title><link>https://zero.example/2</link></item></rdf:RDF>"""
RSS_10 = """<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel rdf:about="https://one.example/rss"><title>One</title>
<link>https://one.example/</link><dc:creator>Chan Person</dc:creator></channel>
<item rdf:about="https://one.example/a"><title>A</title><link>https://one.example/a</link>
<dc:date>2015-08-10T10:00:00+02:00</dc:date><dc:subject>Tag</dc:subject>
<description>Short</description>
<content:encoded>&lt;p&gt;Long &lt;img src="/i.png"&gt;&lt;/p&gt;</content:encoded>
</item></rdf:RDF>"""


def test_rss_091_with_its_doctype_and_latin1() -> None:
    """RSS 0.91 with the Netscape DOCTYPE (never fetched) and ISO-8859-1 is read."""
    parsed = read_ok(RSS_091.encode("iso-8859-1"))
    entry = parsed.entries[0]
    assert (parsed.meta.title, parsed.meta.link) == ("Old & wise", "https://old.example/")
    assert (entry.title, entry.link, entry.summary) == (
        "Café",
        "https://old.example/1",
        "First <b>one</b>",
    )
    assert entry.author == "Ed Itor"  # the channel's editor, named in an RFC 822 mailbox


def test_rss_090_items_beside_the_channel() -> None:
    """RSS 0.90 (RDF) puts its items beside the channel."""
    parsed = read_ok(RSS_090)
    assert [e.title for e in parsed.entries] == ["Z1", "Z2"]
    assert parsed.meta.title == "Zero nine"


def test_rss_10_with_dublin_core_and_content() -> None:
    """RSS 1.0: rdf:about is the id, dc:date the date, dc:creator the feed's author."""
    entry = read_ok(RSS_10).entries[0]
    assert entry.id == "https://one.example/a"
    assert entry.published == utc(2015, 8, 10, 8)
    assert entry.author == "Chan Person"
    assert entry.tags == ("Tag",)
    assert entry.summary == "Short"
    assert entry.image == "https://feeds.example.com/i.png"  # from the full content


def test_rss_20_fields() -> None:
    """An RSS 2.0 item's guid, link, dates, author, categories and summary."""
    entry = only(
        rss_item(
            "<title>T &amp;amp; U</title><link>https://w.example/a?utm_source=x</link>"
            "<guid isPermaLink='false'>w-1</guid><pubDate>Mon, 10 Aug 2015 10:00:00 -0400</pubDate>"
            "<author>jo@w.example (Jo Smith)</author><category>B</category><category>b</category>"
            "<description>&lt;p&gt;Hi&lt;/p&gt;</description>"
        )
    )
    assert (entry.id, entry.title, entry.link) == (
        "w-1",
        "T & U",
        "https://w.example/a?utm_source=x",
    )
    assert entry.canonical_url == "https://w.example/a"
    assert (entry.published, entry.dated) == (utc(2015, 8, 10, 14), True)
    assert (entry.author, entry.tags) == ("Jo Smith", ("B",))
    assert (entry.summary, entry.summary_text) == ("<p>Hi</p>", "Hi")


# --- links and ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "link", "guid"),
    [
        ("<guid>https://w.example/p</guid>", "https://w.example/p", "https://w.example/p"),
        (
            "<guid>p/1</guid>",
            "https://feeds.example.com/dir/p/1",
            "https://feeds.example.com/dir/p/1",
        ),
        ("<guid isPermaLink='false'>p/1</guid>", "", "p/1"),
        ("<guid isPermalink='false'>p/1</guid>", "", "p/1"),  # the attribute misspelt
        ("<link>/a</link><guid isPermaLink='false'>x</guid>", "https://feeds.example.com/a", "x"),
        ("<link>  https://w.example/ws  </link>", "https://w.example/ws", None),
        ("<atom:link rel='alternate' href='https://w.example/al'/>", "https://w.example/al", None),
        ("<link>javascript:alert(1)</link>", "", None),
    ],
    ids=[
        "permalink",
        "relative-permalink",
        "not-permalink",
        "misspelt",
        "link",
        "spaces",
        "atom",
        "js",
    ],
)
def test_rss_links_and_guids(item: str, link: str, guid: str | None) -> None:
    """A permalink guid stands in for a missing link; relative URLs resolve; only http(s)."""
    entry = only(rss_item(f"<title>t</title>{item}"))
    assert entry.link == link
    if guid is not None:
        assert entry.id == guid


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ('<link href="https://a.example/x"/>', "https://a.example/x"),
        ('<link rel="alternate" href="https://a.example/x"/>', "https://a.example/x"),
        (
            '<link rel="alternate" type="application/pdf" href="https://a.example/pdf"/>'
            '<link rel="alternate" type="text/html" href="https://a.example/html"/>',
            "https://a.example/html",
        ),
        (
            '<link rel="alternate" type="application/pdf" href="https://a.example/pdf"/>',
            "https://a.example/pdf",
        ),
        ('<link rel="self" href="https://a.example/self"/>', ""),
        ('<link rel="enclosure" href="https://a.example/e.mp3"/>', ""),
    ],
    ids=["no-rel", "alternate", "html-preferred", "other-type", "self-only", "enclosure-only"],
)
def test_atom_alternate_link(links: str, expected: str) -> None:
    """Atom: the alternate link (RFC 4287 4.2.7.2), the web page preferred."""
    assert only(atom_entry(f"<id>urn:x</id><title>t</title>{links}")).link == expected


@pytest.mark.parametrize(
    ("entry_id", "link", "stored_id"),
    [
        ("https://a.example/post", "https://a.example/post", "https://a.example/post"),
        ("tag:a.example,2015:1", "", "tag:a.example,2015:1"),
        ("urn:uuid:1", "", "urn:uuid:1"),
        # Reddit's relative ids, resolved (and then an http(s) id, so the link too)
        ("t3_abc", "https://feeds.example.com/dir/t3_abc", "https://feeds.example.com/dir/t3_abc"),
    ],
)
def test_atom_id(entry_id: str, link: str, stored_id: str) -> None:
    """An http(s) id stands in for a missing alternate link; a relative id is resolved."""
    entry = only(atom_entry(f"<id>{entry_id}</id><title>t</title>"))
    assert (entry.link, entry.id) == (link, stored_id)


def test_xml_base_chain() -> None:
    """xml:base on feed, entry and element resolve in turn (RFC 4287 via XML Base)."""
    body = atom_entry(
        '<id>u</id><title>t</title><link href="p"/>'
        '<summary type="html" xml:base="s/">'
        '&lt;a href="x"&gt;l&lt;/a&gt;&lt;img src="i.png"&gt;</summary>',
        attributes='xml:base="https://b.example/root/"',
    ).replace("<entry>", '<entry xml:base="e/">')
    entry = only(body)
    assert entry.link == "https://b.example/root/e/p"
    assert entry.summary_base == "https://b.example/root/e/s/"
    assert 'href="https://b.example/root/e/s/x"' in entry.summary_html
    assert entry.image == "https://b.example/root/e/s/i.png"


def test_local_file_resolves_against_the_home_page() -> None:
    """A feed read from a file has no URL of its own: links resolve against its home page."""
    body = rss_item(
        "<title>t</title><link>post/1</link>", "<title>C</title><link>https://h.example/b/</link>"
    )
    assert only(body, "/srv/feeds/blog.xml").link == "https://h.example/b/post/1"


# --- text constructs, summaries -------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ('<title type="text">a &lt; b &amp; c</title>', "a < b & c"),
        ('<title type="html">a &lt;i&gt;c&lt;/i&gt; &amp;amp; d</title>', "a c & d"),
        (
            '<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
            "a <i>c</i> &amp; d</div></title>",
            "a c & d",
        ),
        ("<title>  spaced\n out </title>", "spaced out"),
    ],
    ids=["text", "html", "xhtml", "whitespace"],
)
def test_atom_title_constructs(title: str, expected: str) -> None:
    """Atom titles of each text construct type come out as plain text."""
    assert only(atom_entry(f"<id>u</id>{title}")).title == expected


@pytest.mark.parametrize(
    ("element", "summary", "text"),
    [
        (
            '<summary type="text">a &lt; b\n\nnext</summary>',
            "<p>a &lt; b</p><p>next</p>",
            "a < b\n\nnext",
        ),
        ('<summary type="html">&lt;p&gt;x&lt;/p&gt;</summary>', "<p>x</p>", "x"),
        (
            '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>a<br/>b</p></div></content>',
            "<p>a<br>b</p>",
            "a\nb",
        ),
        (
            '<content type="xhtml"><x:div xmlns:x="http://www.w3.org/1999/xhtml"><x:p>a</x:p></x:div></content>',
            "<p>a</p>",
            "a",
        ),
        ('<content type="text/html">&lt;b&gt;x&lt;/b&gt;</content>', "<b>x</b>", "x"),
        ('<content type="application/octet-stream">AAAA</content>', "", ""),
        ('<content src="https://a.example/c" type="text/html"/>', "", ""),
        ('<summary></summary><content type="html">C</content>', "C", "C"),
        (
            '<summary type="html">S</summary><content type="html">C</content>',
            "S",
            "S",
        ),
        (
            "<media:group><media:description>Video notes\n\nmore</media:description></media:group>",
            "<p>Video notes</p><p>more</p>",
            "Video notes\n\nmore",
        ),
    ],
    ids=[
        "text", "html", "xhtml", "xhtml-prefixed", "mime-html", "binary", "src",
        "empty-summary", "summary-first", "youtube",
    ],
)  # fmt: skip
def test_atom_summaries(element: str, summary: str, text: str) -> None:
    """Summary, else content, else the video's description; each type as HTML."""
    entry = only(atom_entry(f"<id>u</id><title>t</title>{element}"))
    assert (entry.summary, entry.summary_text) == (summary, text)


@pytest.mark.parametrize(
    ("item", "summary"),
    [
        (
            "<description>&lt;p&gt;D&lt;/p&gt;</description><content:encoded>C</content:encoded>",
            "<p>D</p>",
        ),
        ("<content:encoded><![CDATA[<p>C</p>]]></content:encoded>", "<p>C</p>"),
        ("<description></description><content:encoded>C</content:encoded>", "C"),
        ("<description>a <b>bold</b> &amp; more</description>", "a <b>bold</b> &amp; more"),
        ("<itunes:summary>Pod &amp; cast</itunes:summary>", "<p>Pod &amp; cast</p>"),
        ("<description>Desc</description><itunes:summary>Pod</itunes:summary>", "Desc"),
        ("<dc:description>DC</dc:description>", "DC"),
        (
            "<media:description type='html'>&lt;i&gt;M&lt;/i&gt;</media:description>",
            "<i>M</i>",
        ),
        (
            "<media:content url='https://a.example/i.jpg'><media:description>Pic</media:description></media:content>",
            "",
        ),
    ],
    ids=[
        "description",
        "content",
        "empty",
        "inline-markup",
        "itunes",
        "itunes-later",
        "dc",
        "media",
        "picture-caption",
    ],
)
def test_rss_summaries(item: str, summary: str) -> None:
    """The description, else content:encoded, dc:description, itunes:summary, media:description."""
    assert only(rss_item(f"<title>t</title>{item}")).summary == summary


# --- authors, dates, tags -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "channel", "author"),
    [
        ("<author>jo@a.example (Jo Smith)</author>", "", "Jo Smith"),
        ("<author>Jo Smith &lt;jo@a.example&gt;</author>", "", "Jo Smith"),
        ("<author>jo@a.example</author>", "", "jo@a.example"),
        ("<dc:creator>Jo</dc:creator><author>x@a.example (X)</author>", "", "Jo"),
        ("<itunes:author>Pod</itunes:author>", "", "Pod"),
        ("<atom:author><atom:name>Atom Jo</atom:name></atom:author>", "", "Atom Jo"),
        ("", "<dc:creator>Chan</dc:creator>", "Chan"),
        ("", "<managingEditor>ed@a.example (Ed)</managingEditor>", "Ed"),
        ("", "<itunes:author>Show</itunes:author>", "Show"),
    ],
)
def test_rss_authors(item: str, channel: str, author: str) -> None:
    """An item's author, else the channel's, with names taken out of RFC 822 mailboxes."""
    body = rss_item(f"<title>t</title>{item}", f"<title>C</title>{channel}")
    assert only(body).author == author


def test_atom_authors() -> None:
    """Atom: the entry's first author, else the feed's."""
    body = atom_entry(
        "<id>u</id><title>t</title><author><name>N1</name></author><author><name>N2</name></author>",
        "<title>F</title><author><name>Feed</name></author>",
    )
    assert only(body).author == "N1"
    assert (
        only(atom_entry("<id>u</id><title>t</title>", "<author><name>Feed</name></author>")).author
        == "Feed"
    )


@pytest.mark.parametrize(
    ("item", "published"),
    [
        ("<pubDate>Mon, 10 Aug 2015 14:00:00 GMT</pubDate>", utc(2015, 8, 10, 14)),
        ("<pubDate>garbage</pubDate><dc:date>2015-08-10T14:00:00Z</dc:date>", utc(2015, 8, 10, 14)),
        ("<dcterms:modified>2015-08-10T14:00:00Z</dcterms:modified>", utc(2015, 8, 10, 14)),
        ("<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate>", None),
        ("<pubDate>Fri, 01 Jan 2016 00:00:00 GMT</pubDate>", FETCHED),  # capped: future
    ],
)
def test_rss_dates(item: str, published: datetime | None) -> None:
    """pubDate, else the Dublin Core dates; placeholders are no date; the future is capped."""
    entry = only(rss_item(f"<title>t</title>{item}"))
    assert entry.published == (published or FETCHED)
    assert entry.dated is (published is not None)


def test_atom_published_wins_over_updated() -> None:
    """Atom: published, else updated."""
    both = "<published>2015-08-10T14:00:00Z</published><updated>2015-08-11T14:00:00Z</updated>"
    assert only(atom_entry(f"<id>u</id>{both}")).published == utc(2015, 8, 10, 14)
    updated = "<updated>2015-08-11T14:00:00Z</updated>"
    assert only(atom_entry(f"<id>u</id>{updated}")).published == utc(2015, 8, 11, 14)


def test_atom_categories() -> None:
    """Atom categories by term, else label, else (off-spec) their text."""
    body = atom_entry(
        '<id>u</id><category term="t1" label="L1"/><category label="L2"/><category>T3</category>'
    )
    assert only(body).tags == ("t1", "L2", "T3")


# --- images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "image"),
    [
        (
            "<media:thumbnail url='https://i.example/t.jpg'/>"
            "<media:content url='https://i.example/c.jpg' medium='image'/>",
            "https://i.example/t.jpg",
        ),
        (
            "<media:group><media:content url='https://i.example/v.mp4' medium='video'>"
            "<media:thumbnail url='https://i.example/vt.jpg'/></media:content></media:group>",
            "https://i.example/vt.jpg",
        ),
        ("<media:content url='https://i.example/c.png' type='image/png'/>", "https://i.example/c.png"),
        (
            "<enclosure url='https://i.example/a.mp3' type='audio/mpeg'/>"
            "<enclosure url='/e.png' type='image/png'/>",
            "https://feeds.example.com/e.png",
        ),
        ("<itunes:image href='https://i.example/cover.jpg'/>", "https://i.example/cover.jpg"),
        ("<description>&lt;img src='/rel.jpg'&gt;</description>", "https://feeds.example.com/rel.jpg"),
        (
            "<description>&lt;img src='https://i.example/p.gif' width='1' height='1'&gt;"
            "</description>",
            None,
        ),
        (
            "<description>&lt;!-- &lt;img src='https://i.example/hidden.jpg'&gt; --&gt;"
            "</description>",
            None,
        ),
        (
            "<description>teaser</description><content:encoded>&lt;img src='https://i.example/full.jpg'&gt;</content:encoded>",
            "https://i.example/full.jpg",
        ),
        ("<media:thumbnail url='data:image/png;base64,AAAA'/>", None),
    ],
    ids=[
        "thumbnail", "nested-thumbnail", "media-content", "enclosure", "itunes", "summary-img",
        "pixel", "commented-out", "content-img", "data-uri",
    ],
)  # fmt: skip
def test_images(item: str, image: str | None) -> None:
    """Media RSS, image enclosures, itunes:image, then the first real <img> of the summary."""
    assert only(rss_item(f"<title>t</title>{item}")).image == image


def test_atom_enclosure_link_is_an_image() -> None:
    """An Atom enclosure link of an image type is the entry's image."""
    body = atom_entry(
        '<id>u</id><link rel="enclosure" type="image/png" href="https://i.example/e.png"/>'
    )
    assert only(body).image == "https://i.example/e.png"


# --- what it declines -------------------------------------------------------------------------


BAD_UTF8 = (
    b'<?xml version="1.0" encoding="utf-8"?><rss><channel><title>\xe9</title></channel></rss>'
)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (rss_item("<title>Q & A</title>"), None),  # not well-formed
        (rss_item("<title>a&nbsp;b</title>"), None),  # an undefined entity
        ('<!DOCTYPE rss [<!ENTITY e "x">]><rss><channel><title>t</title></channel></rss>', None),
        (rss_item("<title>t</title>").replace("<rss", "<!-- unclosed <rss"), None),
        ("<html><body>no feed</body></html>", None),
        ('<feed xmlns="http://purl.org/atom/ns#"><title>Atom 0.3</title></feed>', None),
        ('<entry xmlns="http://www.w3.org/2005/Atom"><title>lone</title></entry>', None),
        (rss_item("<title>t</title>"), "text/html"),  # the server says it is no XML
        (rss_item("<title>t</title>"), "text/xml; charset=windows-1252"),  # and the doc utf-8
        (rss_item("<title>don&#146;t</title>"), None),  # windows-1252 as a reference
        (rss_item("<title>don\u0092t</title>"), None),  # windows-1252 as a code point
        (BAD_UTF8, None),
        (b'<?xml version="1.0" encoding="bogus"?><rss/>', None),
        (b"", None),
    ],
    ids=[
        "not-well-formed", "undefined-entity", "dtd-entity", "broken-comment", "html", "atom03",
        "lone-entry", "non-xml-type", "charset-conflict", "c1-reference", "c1-codepoint",
        "bad-bytes", "bogus-encoding", "empty",
    ],
)  # fmt: skip
def test_declines(body: str | bytes, content_type: str | None) -> None:
    """What the strict reader cannot be sure of goes to feedparser: it returns None."""
    assert read(body, content_type=content_type) is None


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/rss+xml",
        "application/atom+xml; charset=utf-8",
        "text/xml",
        "text/xml; charset=UTF-8",
        'application/xml; charset="utf8"',
    ],
)
def test_accepts_agreeing_content_types(content_type: str | None) -> None:
    """XML media types are read; a charset that names the document's own encoding is fine."""
    assert read(rss_item("<title>t</title>"), content_type=content_type) is not None


def test_leading_blank_lines_before_the_declaration() -> None:
    """A template's stray newlines before <?xml ...?> do not send a feed to feedparser."""
    assert read("\n\n  " + rss_item("<title>t</title>")) is not None


def test_declined_documents_still_parse_through_feedparser() -> None:
    """parse_feed hands what the strict reader declines to feedparser, warnings and all."""
    result = parse_feed(
        rss_item("<title>Q & A</title>").encode(), key="k", url=URL, fetched_at=FETCHED
    )
    assert [e.title for e in result.entries] == ["Q & A"]
    assert result.meta.warnings


# --- hostile documents ------------------------------------------------------------------------

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + ']><rss version="2.0"><channel><title>T</title>'
    + "<item><title>&j;</title></item></channel></rss>"
)


def test_billion_laughs_is_never_expanded() -> None:
    """Entity declarations are never expanded: declined at once, and feedparser stays bounded."""
    start = time.perf_counter()
    assert read(LAUGHS) is None
    assert time.perf_counter() - start < 0.5
    result = parse_feed(LAUGHS.encode(), key="k", url=URL, fetched_at=FETCHED)
    assert all(len(e.title) < 100 and "aaaaaaaaaa" not in e.summary for e in result.entries)


def test_external_entity_file_is_never_read(tmp_path: Path) -> None:
    """XXE: an entity naming a local file neither appears nor is read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><title>T</title><item><title>t &x;</title>'
        "<description>&x;</description></item></channel></rss>"
    )
    assert read(body) is None
    result = parse_feed(body.encode(), key="k", url=URL, fetched_at=FETCHED)
    assert all("TOP-SECRET" not in e.title + e.summary for e in result.entries)


def test_external_dtd_file_is_never_read(tmp_path: Path) -> None:
    """A DOCTYPE's DTD on disk is not loaded: its entity stays unknown and the feed declined."""
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "DTD-WAS-LOADED">')
    body = (
        f'<!DOCTYPE rss SYSTEM "file://{dtd}"><rss version="2.0"><channel><title>T</title>'
        "<item><title>t &leak;</title></item></channel></rss>"
    )
    assert read(body) is None
    result = parse_feed(body.encode(), key="k", url=URL, fetched_at=FETCHED)
    assert all("DTD-WAS-LOADED" not in e.title for e in result.entries)


@pytest.fixture
def listener() -> tuple[str, list[object]]:
    """A loopback port that records every connection made to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    connections: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connections.append(connection)
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", connections  # type: ignore[misc]
    stop.set()
    thread.join()
    server.close()


def test_no_network_for_a_dtd_or_an_entity(listener: tuple[str, list[object]]) -> None:
    """Neither a DOCTYPE's DTD nor an external entity on the network is ever fetched."""
    address, connections = listener
    plain = (
        f'<!DOCTYPE rss SYSTEM "{address}/rss.dtd"><rss version="2.0"><channel><title>T</title>'
        "<item><title>t</title></item></channel></rss>"
    )
    entity = (
        f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{address}/x.txt">]><rss version="2.0"><channel>'
        "<title>T</title><item><title>&x;</title></item></channel></rss>"
    )
    parsed = read(plain)
    assert parsed is not None and [e.title for e in parsed.entries] == ["t"]
    assert read(entity) is None
    time.sleep(0.3)  # a connection, had one been made, has been accepted by now
    assert connections == []
