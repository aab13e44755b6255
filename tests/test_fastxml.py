"""Tests for roundup.fastxml: the fast path gives exactly what the feedparser path gives.

Each case parses the same bytes twice, ``parse_feed(..., fast=True)`` and ``fast=False``,
and compares the whole :class:`ParsedFeed`; where the fast path accepts a document it also
compares the raw values parse.py reads with what ``feedparser.parse`` returns, so that a
difference normalisation happens to hide is still caught. Every case also runs with some
whitespace before the XML declaration, which sends feedparser to its loose (sgmllib)
parser. The corpus test does this for every file of ../shared/corpora and prints how many
took the fast path.
"""

from __future__ import annotations

import copy
import io
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from roundup import fastxml
from roundup.errors import ParseError
from roundup.models import ParsedFeed
from roundup.parse import parse_feed
from tests.corpora import ABSENT, CORPORA, corpus_files

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "feeds"
SAMPLES = ROOT / "samples" / "feeds"
FETCHED = datetime(2015, 8, 19, 12, 0, tzinfo=UTC)
URL = "https://feeds.example.com/blog/feed.xml"
HEADERS = {"content-location": URL, "content-type": "application/xml"}
LOOSE = b"\n  "  # whitespace before the XML declaration: feedparser parses loosely
NS = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:foo="http://example.com/foo"'
)

Outcome = ParsedFeed | str  # a parse, or the ParseError's message


def outcome(body: bytes, *, fast: bool, url: str = URL) -> Outcome:
    try:
        return parse_feed(body, key="k", url=url, fetched_at=FETCHED, fast=fast)
    except ParseError as exc:
        return f"ParseError: {exc.reason}"


@pytest.fixture
def took_fast(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each fastxml.parse call that parse_feed made returned a result."""
    taken: list[bool] = []
    real = fastxml.parse

    def spy(body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
        result = real(body, headers)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(fastxml, "parse", spy)
    return taken


def read_view(parsed: Any) -> dict[str, Any]:
    """What parse.py reads from a feedparser result, with the same lookups it makes."""

    def detail(value: Any) -> Any:
        keys = ("type", "value", "base")
        return {key: value.get(key) for key in keys} if value else value

    def entry(item: Any) -> dict[str, Any]:
        return {
            "link": item.get("link", ""),
            "id": item.get("id"),
            "title": item.get("title", ""),
            "summary_detail": detail(item.get("summary_detail")),
            "content": [detail(c) for c in item.get("content", [])],
            "updated": item.get("updated_parsed") if "updated_parsed" in item else "absent",
            "published": item.get("published_parsed"),
            "author": item.get("author"),
            "author_detail": (item.get("author_detail") or {}).get("name"),
            "thumbnails": [t.get("url") for t in item.get("media_thumbnail", [])],
            "media": [
                (m.get("url"), m.get("medium"), m.get("type"))
                for m in item.get("media_content", [])
            ],
            "enclosures": [(e.get("href"), e.get("type")) for e in item.get("enclosures", [])],
            "tags": [(t.get("term"), t.get("label")) for t in item.get("tags", [])],
        }

    feed = parsed.get("feed", {})
    return {
        "version": parsed.get("version"),
        "bozo": (bool(parsed.get("bozo")), str(parsed.get("bozo_exception"))),
        "feed": {key: feed.get(key) for key in ("title", "link", "author")},
        "feed_author": (feed.get("author_detail") or {}).get("name"),
        "entries": [entry(item) for item in parsed.get("entries", [])],
    }


def assert_same(body: bytes, url: str = URL) -> bool:
    """Fast and slow parse_feed agree; returns whether the fast path took the body."""
    # what parse.py hands feedparser: a local file has no document base
    headers = {
        "content-location": url if url.startswith("http") else "",
        "content-type": "application/xml",
    }
    fast = fastxml.parse(body, headers)
    if fast is not None:
        slow = feedparser.parse(
            io.BytesIO(body),
            sanitize_html=False,
            resolve_relative_uris=False,
            response_headers=headers,
        )
        assert read_view(fast) == read_view(slow)
    assert outcome(body, fast=True, url=url) == outcome(body, fast=False, url=url)
    return fast is not None


def rss(
    items: str, channel: str = "<title>Chan</title><link>https://site.example.org/</link>"
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {NS}><channel>{channel}'
        f"{items}</channel></rss>"
    ).encode()


def atom(entries: str, head: str = "<title>Atom</title>") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" {NS}>'
        f"{head}{entries}</feed>"
    ).encode()


# --- the port stays the port -----------------------------------------------------------


def test_feedparser_is_the_ported_release() -> None:
    """The installed feedparser is the release fastxml mirrors (else it always declines)."""
    assert feedparser.__version__ in fastxml.FEEDPARSER_VERSIONS


@pytest.mark.parametrize("kind", ["start", "end"])
def test_every_feedparser_handler_is_ported_or_declined(kind: str) -> None:
    """Only XHTML body elements (and an unreachable camel-case alias) make fastxml decline."""
    ported = set(fastxml._STARTS if kind == "start" else fastxml._ENDS)
    assert ported <= fastxml.feedparser_handlers(kind)
    assert fastxml.feedparser_handlers(kind) - ported == {"body", "xhtml_body", "textInput"}


# --- the bundled feeds -----------------------------------------------------------------

BUNDLED = sorted(
    [path for path in FIXTURES.iterdir() if path.suffix in (".xml", ".rdf")]
    + [path for path in SAMPLES.iterdir() if path.suffix in (".rss", ".atom", ".rdf")]
)


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
@pytest.mark.parametrize("prefix", [b"", LOOSE], ids=["strict", "loose"])
def test_bundled_feeds_take_the_fast_path(path: Path, prefix: bytes, took_fast: list[bool]) -> None:
    """Every bundled RSS 0.9x/1.0/2.0 and Atom feed takes the fast path, with equal results."""
    body = prefix + path.read_bytes()
    assert assert_same(body)
    assert assert_same(body, url=str(path))
    took_fast.clear()
    parse_feed(body, key="k", url=URL, fetched_at=FETCHED)
    assert took_fast == [True]


# --- what falls back -------------------------------------------------------------------

FALLBACKS = {
    "malformed": rss("<item><title>Q & A</title></item>"),
    "unclosed": rss("<item><title>t</title>")[:-20],
    "entity-doctype": (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY who "World">]>'
        b'<rss version="2.0"><channel><item><title>Hello &who;</title></item></channel></rss>'
    ),
    "html-entity": rss("<item><title>Caf&eacute;&nbsp;bar</title></item>"),
    "unknown-root": b'<?xml version="1.0"?><catalog><item><title>t</title></item></catalog>',
    "bare-entry": b'<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title></entry>',
    "atom-0.3": (
        b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old</title>'
        b"<entry><title>t</title><id>1</id></entry></feed>"
    ),
    "base64-content": atom(
        '<entry><title>t</title><content type="image/png">AAAA</content></entry>'
    ),
    "xml-content": atom(
        '<entry><title>t</title><content type="application/xml"><x>1</x></content></entry>'
    ),
    "title-in-xhtml": atom(
        '<entry><title>t</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        '<a:title xmlns:a="http://www.w3.org/2005/Atom">an Atom title</a:title></div></content>'
        "</entry>"
    ),
    "div-in-html": rss("<item><title>t</title><description>a<div>b</div></description></item>"),
    "wrong-encoding": (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<item><title>Café</title></item></channel></rss>"
    ).encode("windows-1252"),
    "undeclared-prefix": rss("<item><title>t</title><wfw:comment>c</wfw:comment></item>"),
    "empty": b"",
    "html-page": b"<!DOCTYPE html><html><head><title>x</title></head><body></body></html>",
}


@pytest.mark.parametrize("body", list(FALLBACKS.values()), ids=list(FALLBACKS))
def test_unusual_documents_fall_back(body: bytes) -> None:
    """Malformed XML, entities, unknown roots, Atom 0.3, unported content: feedparser decides."""
    assert fastxml.parse(body, HEADERS) is None
    assert not assert_same(body)


def test_a_feedparser_upgrade_disables_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another feedparser release may behave otherwise: the port steps aside until checked."""
    monkeypatch.setattr(feedparser, "__version__", "6.1.0")
    assert fastxml.parse((FIXTURES / "rss20.xml").read_bytes(), HEADERS) is None


def test_loose_documents_keep_feedparser_warning(took_fast: list[bool]) -> None:
    """Whitespace before the declaration: the same SAX error becomes the feed's warning."""
    result = parse_feed(
        LOOSE + rss("<item><title>t</title></item>"), key="k", url=URL, fetched_at=FETCHED
    )
    assert took_fast == [True]
    assert result.meta.warnings == (
        "SAXParseException: XML or text declaration not at start of entity at line 2, column 2",
    )


# --- documents that exercise feedparser's rules ----------------------------------------

CASES = {
    "entities-in-titles": rss(
        "<item><title>Tom &amp;amp; Jerry &#8217;s &lt;b&gt;x&lt;/b&gt;</title></item>"
        "<item><title><![CDATA[Caf&eacute; <i>bar</i> &#39;q&#39; &quot;x&quot;]]></title></item>"
        "<item><title>&apos;a&apos; &quot;b&quot; &#x2F; &#34; &#39; &amp;quot;</title></item>"
    ),
    "cdata-html": rss(
        "<item><title>t</title><description><![CDATA[<p>x <br/> y <p/> <img src='/i.png'/> "
        '&quot;q&quot; &#39;a&#39; <!x> &amp; <a href="r">l</a></p>]]></description></item>'
    ),
    "links-and-guids": rss(
        "<item><title>a</title><link>https://e.org/a?x=1&amp;y=2&amp;amp;z;w</link>"
        "<guid isPermaLink='false'>a &amp; b &lt; c</guid></item>"
        "<item><title>b</title><guid>/perma/1</guid></item>"
        '<item><title>c</title><link> relative </link><guid isPermaLink="true">g</guid></item>'
    ),
    "summary-and-content-order": rss(
        "<item><title>a</title><content:encoded>&lt;p&gt;full&lt;/p&gt;</content:encoded>"
        "<description>teaser</description></item>"
        "<item><title>b</title><description>teaser</description>"
        "<itunes:summary>as content</itunes:summary><dc:description>third</dc:description></item>"
        "<item><title>c</title><itunes:summary>only</itunes:summary></item>"
    ),
    "titles-by-depth": rss(
        "<item><media:title>media first</media:title><title>real</title></item>"
        "<item><media:group><media:title>grouped</media:title>"
        "<media:description>desc</media:description></media:group></item>"
        "<item><title>first</title><dc:title>second</dc:title></item>"
    ),
    "authors": rss(
        "<item><title>a</title><author>ana@example.org (Ana Desk)</author></item>"
        "<item><title>b</title><dc:creator>Bob &amp; Co</dc:creator>"
        "<itunes:author>I</itunes:author></item>",
        channel="<title>C</title><managingEditor>ed@example.org</managingEditor>",
    ),
    "tags": rss(
        "<item><title>a</title><category>A</category><category domain='d'>B &amp; C</category>"
        "<category/><dc:subject>S</dc:subject><itunes:keywords>k1, k2,,k3</itunes:keywords>"
        '<itunes:keywords text="x"/><media:category>M</media:category></item>'
    ),
    "images": rss(
        '<item><title>a</title><media:thumbnail url="https://i.example.org/t.jpg"/>'
        '<media:content url="/rel.jpg" type="image/jpeg"/>'
        '<enclosure url="https://e.org/e.png?a=1&amp;b=2" type="image/png" length="1"/>'
        '<atom:link rel="enclosure" type="image/jpeg" href="https://e.org/x.jpg"/></item>'
    ),
    "attributes": atom(
        '<entry xml:lang="en"><title>a</title><link foo:href="https://e.org/ns" '
        'href="https://e.org/plain" foo:rel="x"/><link xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xlink:href="https://e.org/xl" rel="ALTERNATE" type="Text/HTML" href="https://e.org/b"/>'
        '<link rel="enclosure" type="image/png" href="https://e.org/a&amp;b&#38;c.png" '
        "title='&quot;q&quot; &lt;x&gt; it&apos;s' length=\"1>2\"/></entry>"
    ),
    "nested-and-unknown": rss(
        "<item><title>a</title><foo:bar>x</foo:bar><foo:baz attr='1'>y</foo:baz>"
        "<unknown><nested>z</nested></unknown><comments>/c</comments>"
        "<source url='https://src.example.org/'>Src</source>"
        "<image><title>in item</title><link>https://i.example.org/</link></image></item>"
    ),
    "xml-base": rss(
        "<item xml:base='https://base.example.net/dir/'><title>a</title><link>sub/page</link>"
        "<description>&lt;a href='rel'&gt;x&lt;/a&gt;</description></item>"
        "<item><title>b</title><link xml:base='https://other.example.net/'>p</link></item>"
    ),
    "cdf-and-textinput": rss(
        '<item href="https://cdf.example.org/1"><title>a</title></item>',
        channel="<title>C</title><textInput><title>Search</title><link>/s</link>"
        "<name>q</name></textInput><image><url>/i.png</url><title>I</title></image>",
    ),
    "encodings": (
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Café «déjà vu»</title><description>naïve</description></item>"
        "</channel></rss>"
    ).encode("iso-8859-1"),
    "mojibake-and-cp1252": rss(
        "<item><title>cafÃ© \u0080\u0093 x</title><description>\u0091q\u0092</description></item>"
    ),
    "netscape-doctype": (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        b"<title>N</title><item><title>t</title><link>https://n.example.org/</link></item>"
        b"</channel></rss>"
    ),
    "rdf": (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b'<channel rdf:about="https://r.example.org/"><title>R</title></channel>'
        b'<item rdf:about="https://r.example.org/1"><title>t</title>'
        b"<dc:date>2015-08-10T10:00:00Z</dc:date></item></rdf:RDF>"
    ),
    "renamed-prefixes": (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:x="http://purl.org/dc/elements/1.1/"'
        b' xmlns:dc="http://purl.org/dc/terms/" xmlns:c="http://purl.org/rss/1.0/modules/content/">'
        b"<channel><item><title>t</title><x:creator>X</x:creator><dc:modified>2015-08-10</dc:modified>"
        b"<c:encoded>&lt;p&gt;c&lt;/p&gt;</c:encoded></item></channel></rss>"
    ),
    "unknown-default-namespace": (
        b'<?xml version="1.0"?><rss version="2.0" xmlns="http://example.com/mine">'
        b"<channel><title>T</title><item><title>t</title></item></channel></rss>"
    ),
    "atom-texts": atom(
        '<entry><title type="html">&lt;b&gt;H&lt;/b&gt; &amp;amp;</title><id>tag:e,1</id>'
        '<summary>Text &lt;angle&gt;</summary><content type="html">&lt;p&gt;c&lt;/p&gt;</content>'
        "<updated>2015-08-12T08:30:00Z</updated></entry>"
        "<entry><title>t</title><id>/relative-id</id><content>only text</content>"
        "<published>2015-08-11T08:00:00+02:00</published></entry>",
        head='<title type="html">A &amp;amp; B</title><author><name>Feed Author</name></author>',
    ),
    "atom-links": atom(
        '<entry><title>a</title><link rel="self" href="https://e.org/self"/>'
        '<link rel="alternate" type="application/pdf" href="https://e.org/x.pdf"/>'
        '<link href="/rel/1"/><link rel="related" href="https://e.org/r"/></entry>'
        '<entry><title>b</title><link rel="alternate" type="text/html" href="https://e.org/b"/>'
        '<link href="https://e.org/b2"/></entry>'
    ),
    "atom-xhtml": atom(
        '<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><em>X</em>h</div>'
        '</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        '<p>Para &amp; <a href="/x" title="&quot;q&quot;">l</a></p><div>in</div></div></content>'
        '</entry><entry><title>b</title><summary type="xhtml">'
        '<div xmlns="http://www.w3.org/1999/xhtml">a</div><div xmlns="http://www.w3.org/1999/xhtml">'
        "b</div></summary></entry>"
    ),
    "xhtml-svg-math": atom(
        '<entry><title>t</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        '<svg xmlns="http://www.w3.org/2000/svg" width="2"><title>s</title><g><svg><desc>d</desc>'
        '</svg></g></svg><s:svg xmlns:s="http://www.w3.org/2000/svg"><s:title>p</s:title></s:svg>'
        '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math></div></content>'
        "</entry>"
    ),
    "markup-in-html-description": rss(
        "<item><title>t</title><description><p>raw <b>markup</b> &amp; text</p></description>"
        "</item>"
    ),
    "atom-authors-and-source": atom(
        "<entry><title>a</title><author><name>N</name><email>e@example.org</email><uri>/me</uri>"
        "</author><contributor><name>C</name></contributor><source><title>S</title>"
        '<link href="https://s.example.org/"/><id>s</id></source>'
        '<category term="t" label="L"/><category scheme="s"/></entry>'
    ),
    "georss-and-chapters": (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:georss="http://www.georss.org/georss"'
        b' xmlns:psc="http://podlove.org/simple-chapters"><channel><item><title>t</title>'
        b"<georss:point>45.256 -71.92</georss:point><psc:chapters>"
        b'<psc:chapter start="00:00:01.500" title="one"/></psc:chapters></item></channel></rss>'
    ),
}


# Whitespace hides the declaration from feedparser's encoding sniffer: it guesses, and flags.
DECLINED = {("encodings", "loose")}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("mode", ["strict", "loose"])
@pytest.mark.parametrize("url", [URL, "/srv/feeds/local.xml"], ids=["http", "file"])
def test_feedparser_rules_are_kept(name: str, mode: str, url: str) -> None:
    """Entities, escaping, summary/content, titles, links, authors, tags, bases: as feedparser."""
    body = (LOOSE if mode == "loose" else b"") + CASES[name]
    assert assert_same(body, url=url) is ((name, mode) not in DECLINED)


# --- generated documents ---------------------------------------------------------------

ITEM_PARTS = [
    "<title>Plain</title>", "<title>A &amp;amp; B &#60;x&#62;</title>", "<title></title>",
    "<title><![CDATA[<i>C</i> &amp; &#39;d&#39;]]></title>", "<link>https://e.org/a?x=1&amp;y=2</link>",
    "<link>/rel</link>", "<guid>g-1</guid>", "<guid isPermaLink='false'>tag:x,1</guid>",
    "<description>&lt;p&gt;html&lt;/p&gt; &amp;amp;</description>",
    "<description><![CDATA[<p>c <br/> <p/> &quot;q&quot;</p>]]></description>",
    "<description>Plain text. Second sentence.</description>",
    "<content:encoded><![CDATA[<div><img src='https://i.example.org/x.jpg'></div>]]></content:encoded>",
    "<pubDate>Mon, 10 Aug 2015 14:00:00 GMT</pubDate>", "<pubDate>garbage</pubDate>",
    "<dc:date>2015-08-09T10:00:00Z</dc:date>", "<dc:creator>Ana &amp; Bob</dc:creator>",
    "<author>a@example.org (A)</author>", "<category>News</category>", "<category/>",
    "<media:thumbnail url='https://i.example.org/t.jpg'/>",
    "<media:content url='/c.jpg' medium='image'/>",
    "<media:group><media:title>G</media:title><media:description>D</media:description></media:group>",
    "<enclosure url='https://e.org/e.png' type='image/png'/>",
    "<itunes:summary>S &amp; s</itunes:summary>",
    "<itunes:keywords>a, b</itunes:keywords>", "<foo:bar>x</foo:bar>", "<foo:baz a='1'>y</foo:baz>",
    "<source url='https://s.example.org/'>S</source>", "<media:title>M</media:title>",
    "<description xml:base='https://b.example.net/d/'>&lt;a href='r'&gt;x&lt;/a&gt;</description>",
]  # fmt: skip
ENTRY_PARTS = [
    "<title>T</title>", "<title type='html'>&lt;b&gt;H&lt;/b&gt;</title>", "<id>tag:e,1</id>",
    "<id>/rel-id</id>", "<updated>2015-08-12T08:30:00Z</updated>",
    "<published>2015-08-11T08:00:00+02:00</published>", "<link href='https://e.org/1'/>",
    "<link rel='enclosure' type='image/png' href='https://e.org/1.png'/>",
    "<link rel='self' href='https://e.org/s'/>", "<summary>S &lt;a&gt;</summary>",
    "<summary type='html'>&lt;p&gt;h&lt;/p&gt;</summary>",
    "<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>"
    "<p>X <img src='r.png'/></p></div></content>",
    "<content type='html'><![CDATA[<p>c</p>]]></content>", "<content>text</content>",
    "<author><name>N</name></author>", "<category term='t' label='L'/>",
    "<media:thumbnail url='https://i.example.org/a.jpg'/>", "<rights>&#169; 2015</rights>",
]  # fmt: skip


def generated(seed: int) -> bytes:
    """A random mix of the parts above: RSS, Atom or RSS 1.0, strict or loose."""
    pick = random.Random(seed)
    kind = pick.choice(["rss", "atom", "rdf"])
    parts = ENTRY_PARTS if kind == "atom" else ITEM_PARTS

    def element(name: str) -> str:
        return f"<{name}>{''.join(pick.sample(parts, pick.randint(1, 8)))}</{name}>"

    items = "".join(
        element("entry" if kind == "atom" else "item") for _ in range(pick.randint(1, 3))
    )
    if kind == "atom":
        body = atom(items, head=pick.choice(["<title>A</title>", "<link href='/h'/>", ""]))
    elif kind == "rss":
        body = rss(items, channel=pick.choice(["<title>C</title>", "<link>/h</link>", ""]))
    else:
        body = (
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            f' xmlns="http://purl.org/rss/1.0/" {NS}><channel><title>R</title></channel>'
            f"{items}</rdf:RDF>"
        ).encode()
    return (LOOSE if pick.random() < 0.4 else b"") + body


@pytest.mark.parametrize("seed", range(80))
def test_generated_feeds_match_feedparser(seed: int) -> None:
    """Random mixes of common elements give what feedparser gives, and take the fast path."""
    assert assert_same(generated(seed))


# --- the corpora -----------------------------------------------------------------------


CORPUS = corpus_files()


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Fast-path coverage across the corpus, reported once the module's tests have run."""
    counts: Counter[str] = Counter()
    yield counts
    if not counts["files"]:
        return
    line = "fastxml corpus: " + "; ".join(
        f"{variant}: {counts[f'fast:{variant}']}/{counts[f'files:{variant}']} files took the "
        f"fast path ({counts[f'fast_bytes:{variant}'] / 1e6:.2f} of "
        f"{counts[f'bytes:{variant}'] / 1e6:.2f} MB), the rest fell back to feedparser"
        for variant in ("as-is", "loose")
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write(f"\n{line}\n")


# Elements that steer feedparser's state, for the mutants below to insert anywhere.
INSERTS = [
    "title", "link", "description", "summary", "content", "guid", "id", "category", "author",
    "name", "image", "item", "entry", "source", "textinput", "url", "pubDate", "updated",
    "{http://purl.org/rss/1.0/modules/content/}encoded", "{http://search.yahoo.com/mrss/}title",
    "{http://www.itunes.com/dtds/podcast-1.0.dtd}summary", "enclosure", "wrapper",
    "{http://purl.org/dc/elements/1.1/}creator",
]  # fmt: skip
TEXTS = [
    "x",
    "A &amp; B",
    "https://e.org/x?a=1&b=2",
    "<p>html</p>",
    "Mon, 10 Aug 2015 14:00:00 GMT",
]


def mutant(seed: int) -> bytes:
    """A corpus feed with elements moved, copied, dropped or added: odd but well-formed."""
    pick = random.Random(seed)
    small = [p for p in CORPUS if p.suffix in (".xml", ".rss", ".atom", ".rdf")]
    small = [p for p in small if p.stat().st_size < 100_000]
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    while True:
        try:
            root = etree.fromstring(pick.choice(small).read_bytes().lstrip(), parser)
            break
        except etree.XMLSyntaxError:
            continue
    for _ in range(pick.randint(1, 4)):
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        element, other = pick.choice(elements), pick.choice(elements)
        action = pick.choice(["move", "copy", "drop", "add", "add"])
        if element is root or action == "add":
            new = etree.SubElement(other, pick.choice(INSERTS))
            new.text = pick.choice(TEXTS)
            if pick.random() < 0.3:
                new.set(pick.choice(["href", "type", "rel"]), pick.choice(["alternate", "html"]))
        elif action == "move" and other is not element and element not in other.iterancestors():
            other.insert(pick.randint(0, len(other)), element)
        elif action == "copy":
            element.addnext(copy.deepcopy(element))
        elif action == "drop":
            parent = element.getparent()
            parent.remove(element)
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return (LOOSE if pick.random() < 0.3 else b"") + body


@pytest.mark.corpus
@pytest.mark.parametrize("seed", range(150) if CORPUS else [ABSENT])
def test_corpus_mutants_match_feedparser(seed: int) -> None:
    """Corpus feeds scrambled (items in items, titles in images...) still match feedparser."""
    assert_same(mutant(seed))


@pytest.mark.corpus
@pytest.mark.parametrize(
    "path", [pytest.param(p, id=str(p.relative_to(CORPORA))) for p in CORPUS] or [ABSENT]
)
@pytest.mark.parametrize("variant", ["as-is", "loose"])
def test_corpus_fast_path_equals_feedparser_path(
    path: Path, variant: str, tally: Counter[str]
) -> None:
    """For every corpus file (and its loose twin) the fast path gives feedparser's entries."""
    body = path.read_bytes() if variant == "as-is" else LOOSE + path.read_bytes()
    fast = assert_same(body, url=str(path))
    tally["files"] += 1
    tally[f"files:{variant}"] += 1
    tally[f"bytes:{variant}"] += len(body)
    tally[f"fast:{variant}"] += fast
    tally[f"fast_bytes:{variant}"] += len(body) if fast else 0
