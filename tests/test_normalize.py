"""Tests for roundup.normalize: URLs, sanitising, plain text, titles and entry ids."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from roundup.normalize import (
    absolute_http_url,
    canonical_url,
    clean_title,
    entry_id,
    first_http_url,
    first_image,
    html_to_text,
    join_url,
    sanitize_html,
    strip_tracking,
    summary_image,
    summary_text,
    summary_title,
    tag_names,
    text_to_html,
    title_from_text,
)

BASE = "https://example.org/blog/post/"

CANONICAL_CASES = [
    ("https://example.org/a?utm_source=rss&utm_medium=feed", "https://example.org/a"),
    ("https://example.org/a?id=7&utm_campaign=x&page=2", "https://example.org/a?id=7&page=2"),
    ("https://example.org/a?UTM_Source=rss&id=1", "https://example.org/a?id=1"),
    ("HTTPS://Example.ORG/Path/CaseKept", "https://example.org/Path/CaseKept"),
    ("http://example.org:80/a", "http://example.org/a"),
    ("https://example.org:443/a", "https://example.org/a"),
    ("https://example.org:8443/a", "https://example.org:8443/a"),
    ("http://example.org:443/a", "http://example.org:443/a"),
    ("https://example.org/a#comments", "https://example.org/a"),
    ("https://example.org", "https://example.org/"),
    ("https://example.org/a?q=a%20b&flag&x=", "https://example.org/a?q=a%20b&flag&x="),
    ("https://example.org/a?&&id=1&", "https://example.org/a?id=1"),
    ("https://User@Example.org/a", "https://User@example.org/a"),
    ("http://[::1]:80/a", "http://[::1]/a"),
    ("  https://example.org/a  ", "https://example.org/a"),
    ("/relative/path?utm_source=x#frag", "/relative/path"),
    ("mailto:desk@example.org", "mailto:desk@example.org"),
    ("https://example.org:bad/a", "https://example.org:bad/a"),
    ("", ""),
]

TRACKING_NAMES = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "_hsenc",
    "_hsmi",
    "ref_src",
    "yclid",
    "at_campaign",  # AT Internet / Piano, as French and German public media add
    "at_medium",
    "xtor",
    "wt_mc",  # heise's Webtrekk campaigns
    "maca",
    "ns_campaign",  # Comscore, as BBC feeds add
    "ns_mchannel",
    "cmpid",
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL_CASES)
def test_canonical_url(url: str, expected: str) -> None:
    """canonical_url drops tracking, fragment and default port, lower-cases scheme and host."""
    assert canonical_url(url) == expected


@pytest.mark.parametrize(("url", "expected"), CANONICAL_CASES)
def test_canonical_url_is_idempotent(url: str, expected: str) -> None:
    """Canonicalising a canonical URL changes nothing."""
    assert canonical_url(canonical_url(url)) == canonical_url(url)


@pytest.mark.parametrize("name", TRACKING_NAMES)
def test_canonical_url_drops_each_tracking_parameter(name: str) -> None:
    """Every known tracking parameter is removed and the others keep their order."""
    url = f"https://example.org/story?b=2&{name}=abc&a=1"
    assert canonical_url(url) == "https://example.org/story?b=2&a=1"


SANITIZE_CASES = [
    # hostile constructs are removed
    ("<p>a</p><script>alert(1)</script>", "<p>a</p>"),
    ('<p>a</p><iframe src="https://x.example.com/">fallback</iframe>', "<p>a</p>"),
    ('<form action="/x"><input name="q">label</form><p>a</p>', "<p>a</p>"),
    ('<object data="x.swf"></object><embed src="x.swf"><p>a</p>', "<p>a</p>"),
    ('<video src="v.mp4">no video</video><audio src="a.mp3">no audio</audio>', ""),
    ('<svg onload="alert(1)"><circle r="1"/></svg><p>a</p>', "<p>a</p>"),
    ("<style>p{color:red}</style><p>a</p>", "<p>a</p>"),
    (
        '<img src="https://example.org/a.png" onerror="alert(1)">',
        '<img src="https://example.org/a.png">',
    ),
    ('<p style="color:red" class="x" id="y" onclick="f()">t</p>', "<p>t</p>"),
    ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="JaVaScRiPt:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="&#106;avascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="java\tscript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="vbscript:msgbox(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<p>a<img src="data:image/png;base64,AAAA"></p>', "<p>a</p>"),
    ("<p>a<!-- a comment --></p>", "<p>a</p>"),
    # tracking pixels are removed
    ('<p>a<img src="https://example.org/p.gif" width="1" height="1"></p>', "<p>a</p>"),
    ('<p>a<img src="https://example.org/p.gif" width="0" height="0"></p>', "<p>a</p>"),
    ('<p>a<img src="https://example.org/p.gif" height="1px"></p>', "<p>a</p>"),
    ('<p>a<img src="http://feeds.feedburner.com/~r/blog/~4/abc"></p>', "<p>a</p>"),
    ('<p>a<img src="https://stats.example.com/track/open.gif?u=1"></p>', "<p>a</p>"),
    ('<p>a<img src="https://example.org/pixel.gif?id=9"></p>', "<p>a</p>"),
    # relative URLs resolve against the base
    (
        '<a href="../b">x</a>',
        '<a href="https://example.org/blog/b" rel="noopener noreferrer">x</a>',
    ),
    ('<img src="/i.png" alt="A">', '<img src="https://example.org/i.png" alt="A">'),
    ('<img src="//cdn.example.com/i.png">', '<img src="https://cdn.example.com/i.png">'),
    # safe markup is kept, links get rel
    (
        '<a href="https://example.com/" rel="nofollow" target="_blank" title="T">x</a>',
        '<a href="https://example.com/" title="T" rel="noopener noreferrer">x</a>',
    ),
    (
        '<a href="mailto:desk@example.org">mail</a>',
        '<a href="mailto:desk@example.org" rel="noopener noreferrer">mail</a>',
    ),
    (
        "<h2>T</h2><p><em>a</em> <strong>b</strong> <b>c</b> <i>d</i><br>e</p>"
        "<ul><li>x</li></ul><ol><li>y</li></ol><blockquote>q</blockquote>"
        "<pre><code>c = 1</code></pre><span>s</span>",
        "<h2>T</h2><p><em>a</em> <strong>b</strong> <b>c</b> <i>d</i><br>e</p>"
        "<ul><li>x</li></ul><ol><li>y</li></ol><blockquote>q</blockquote>"
        "<pre><code>c = 1</code></pre><span>s</span>",
    ),
    (
        '<figure><img src="https://example.org/i.png" alt="i" width="640" height="360">'
        "<figcaption>cap</figcaption></figure>",
        '<figure><img src="https://example.org/i.png" alt="i" width="640" height="360">'
        "<figcaption>cap</figcaption></figure>",
    ),
    ('<img src="https://example.org/i.png" width="50%">', '<img src="https://example.org/i.png">'),
    ("<h1>Big</h1><p>x</p>", "Big<p>x</p>"),
    ("", ""),
]


@pytest.mark.parametrize(("raw", "expected"), SANITIZE_CASES)
def test_sanitize_html(raw: str, expected: str) -> None:
    """sanitize_html keeps safe formatting and removes every hostile construct."""
    assert sanitize_html(raw, BASE) == expected


@pytest.mark.parametrize(
    "base", ["/srv/feeds/blog.xml", "", "ftp://example.org/", "https://bad\x8fhost.example.com/"]
)
def test_sanitize_html_drops_relative_urls_without_an_http_base(base: str) -> None:
    """A relative URL that cannot be made an http(s) URL is dropped, not left relative."""
    result = sanitize_html('<a href="post/1">x</a><img src="i.png">', base)
    assert result == '<a rel="noopener noreferrer">x</a>'


@pytest.mark.parametrize(
    ("raw", "base", "expected"),
    [
        ('<p><img src="/a.png" width="1"><img src="b.jpg"></p>', BASE, BASE + "b.jpg"),
        (
            '<img src="data:image/png;base64,AA"><img src="https://e.org/c.png">',
            BASE,
            "https://e.org/c.png",
        ),
        ("<img src='x.png' alt='single quotes'>", BASE, BASE + "x.png"),
        ('<img src="x.png">', "", None),
        ('<img src="http://[bad/x.png"><img src="ok.png">', BASE, BASE + "ok.png"),
        ("<p>no images</p>", BASE, None),
        ('<img alt="no source"><img src="">', BASE, None),  # never the page itself
    ],
)
def test_first_image(raw: str, base: str, expected: str | None) -> None:
    """first_image returns the first absolute http(s) image that is not a pixel."""
    assert first_image(raw, base) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("a &amp; b &eacute; &#8217; &lt;tag&gt;", "a & b é ’ <tag>"),
        ("<p>line\n   wrapped \t text</p>", "line wrapped text"),
        ("a<br>b", "a\nb"),
        ("<ul><li>x</li><li>y</li></ul>", "• x\n• y"),
        ("<p>keep <script>no()</script>this</p>", "keep this"),
        ("<div><p>nested</p></div>tail", "nested\n\ntail"),
        ("<h2>Head</h2>body", "Head\n\nbody"),
        ("<p>a&nbsp;b</p>", "a b"),
        ("<b>bold</b><i>it</i>", "boldit"),
        ("<p>open <b>bold", "open bold"),
        ("<!-- c -->x", "x"),
        ("x<!-- c -->y<?pi z?>!", "xy!"),
        ("<div>" * 3000 + "deep &amp; down" + "</div>" * 3000, "deep & down"),
        ("<p>a</p>\n\n<p>\n</p><p>b</p>", "a\n\nb"),
        ("  plain  text\n", "plain text"),
        ("", ""),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    """html_to_text decodes entities, breaks paragraphs at blocks and collapses whitespace."""
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),
        ("Tom &amp;amp;amp; Jerry", "Tom & Jerry"),
        ("<b>Bold</b> move", "Bold move"),
        ("&lt;em&gt;Escaped&lt;/em&gt; tags", "Escaped tags"),
        ("  spaced \n out\t", "spaced out"),
        ("5 &lt; 6", "5 < 6"),
        ("Beijing&#8217;s move", "Beijing’s move"),
        ("&#x201C;Quoted&#x201D;", "“Quoted”"),
        ("Caf\u00e9 \x00control", "Café control"),
        ("", ""),
    ],
)
def test_clean_title(raw: str, expected: str) -> None:
    """clean_title strips tags, decodes (double-escaped) entities and collapses whitespace."""
    assert clean_title(raw) == expected


LONG = (
    "Quick note: the number to watch in Jordan this month is not the refugee total but "
    "the share of the aid appeal that is actually funded."
)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Short post", 80, "Short post"),
        ("Short one. Then more text.", 80, "Short one."),
        ("Is it? Yes.", 80, "Is it?"),
        ("The U.S. Navy sailed. More later.", 80, "The U.S. Navy sailed."),
        (
            LONG,
            80,
            "Quick note: the number to watch in Jordan this month is not the refugee total…",
        ),
        ("x" * 100, 80, "x" * 79 + "…"),
        ("a" * 80, 80, "a" * 80),
        ("First para\n\nSecond para", 80, "First para"),
        ("one two three four", 10, "one two…"),
        ("alpha, beta gamma delta", 8, "alpha…"),
        ("  spaced\n  out  ", 80, "spaced out"),
        ("", 80, ""),
    ],
)
def test_title_from_text(text: str, limit: int, expected: str) -> None:
    """title_from_text takes the first sentence, else words up to the limit and "…"."""
    assert title_from_text(text, limit) == expected


@pytest.mark.parametrize("limit", [5, 10, 20, 40, 80])
def test_title_from_text_respects_the_limit(limit: int) -> None:
    """A generated title is never longer than the limit."""
    assert len(title_from_text(LONG * 2, limit)) <= limit


@pytest.mark.parametrize(
    ("guid", "link", "title", "content", "expected"),
    [
        (" abc-1 ", "https://example.org/a", "T", "C", "abc-1"),
        (None, "https://Example.org/a?utm_source=x#c", "T", "C", "https://example.org/a"),
        ("  ", "https://example.org/a", "T", "C", "https://example.org/a"),
        (None, None, "A title", "Some content.", "sha1:e580af0e88b01f747210eda58682925f2b7c61cd"),
        ("", "", "", "", "sha1:8e2fd1436c2fb314a0538d59bbf53c31511fc0d7"),
    ],
)
def test_entry_id(
    guid: str | None, link: str | None, title: str, content: str, expected: str
) -> None:
    """entry_id uses the guid, else the canonical link, else a hash of title and content."""
    assert entry_id(guid, link, title, content) == expected


def test_entry_id_hash_depends_on_title_and_content() -> None:
    """Entries without guid or link get different ids when their text differs."""
    ids = {
        entry_id(None, None, "A", "B"),
        entry_id(None, None, "AB", ""),
        entry_id(None, None, "A", "C"),
    }
    assert len(ids) == 3


# --- links ------------------------------------------------------------------------------

JOIN_CASES = [
    "https://example.org/a/b",
    "https://example.org",
    "http://example.org/a?x=1&y=2#frag",
    "https://example.org/a?",  # urljoin drops the empty query
    "https://example.org/a#",  # and the empty fragment
    "https://example.org/a;params?x",  # and parses path parameters
    "https://example.org/a/../b",  # an absolute URL keeps its dot segments
    "HTTPS://Example.org/a",  # urljoin lower-cases the scheme
    "https://exa\tmple.org/a",  # and removes tabs and newlines
    "https://user@example.org:8080/a",
    "http://example.org/a",  # another scheme than the base's
    "ftp://example.org/a",
    "/root",
    "relative/path",
    "?only=query",
    "#only-fragment",
    "//other.example/x",
    "../up",
    "https://ex\u00e4mple.org/caf\u00e9",
    "mailto:a@example.org",
    "tag:example.org,2015:post-1",
    "urn:uuid:0e5e5e5e",
    "ftp:relative",  # a scheme urljoin does resolve
    "HTTP:relative",
    "ta\tg:x",
    "t3_abc",
    "1234",
]


@pytest.mark.parametrize("reference", JOIN_CASES)
def test_join_url_is_urljoin(reference: str) -> None:
    """join_url's shortcut for absolute URLs gives exactly what urljoin gives."""
    assert join_url(BASE, reference) == urljoin(BASE, reference)
    assert join_url("", reference) == reference


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a/b",
        "http://example.org/",
        "https://sub.example.org/a;b/c%20d",
        "https://example.org./x",
        "https://example.org/a/../b",
        "https://Example.org/a",
        "https://example.org:443/a",
        "https://example.org/a?utm_source=x",
    ],
)
def test_canonical_url_shortcut_agrees(url: str) -> None:
    """A canonical URL comes back as the full treatment (a fragment forces it) gives it."""
    assert canonical_url(url) == canonical_url(url + "#fragment")


@pytest.mark.parametrize(
    ("base", "link", "expected"),
    [
        ("https://example.org/blog/", "post/1", "https://example.org/blog/post/1"),
        ("https://example.org/", "  /a  ", "https://example.org/a"),
        ("", "https://example.org/a", "https://example.org/a"),
        ("", "post/1", ""),
        ("https://example.org/", "javascript:alert(1)", ""),
        ("https://example.org/", "ftp://example.org/f", ""),
        ("https://example.org/", "http://[::1/", ""),  # a malformed IPv6 host
        ("https://example.org/", "", ""),
    ],
)
def test_absolute_http_url(base: str, link: str, expected: str) -> None:
    """Links resolve against the base and survive only as http(s)."""
    assert absolute_http_url(base, link) == expected


def test_first_http_url() -> None:
    """The first candidate that makes an http(s) URL wins; others are skipped."""
    candidates = [None, "", "data:image/png;base64,AA", "/i.png", "https://x.example/j.png"]
    assert first_http_url("https://example.org/", candidates) == "https://example.org/i.png"
    assert first_http_url("", [None, "rel.png"]) is None


def test_tag_names() -> None:
    """Tags are cleaned and de-duplicated ignoring case, first spelling and order kept."""
    assert tag_names(["B", "a", None, "b", " A ", "C &amp; D", ""]) == ("B", "a", "C & D")


# --- summaries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a < b & c", "<p>a &lt; b &amp; c</p>"),
        ("one\ntwo\n\n  three  ", "<p>one<br>two</p><p>three</p>"),
        ("", ""),
    ],
)
def test_text_to_html(text: str, expected: str) -> None:
    """Plain text becomes escaped paragraphs, single newlines line breaks."""
    assert text_to_html(text) == expected


def test_summary_text_is_the_text_of_the_sanitised_summary() -> None:
    """The text of a summary is what its sanitised HTML shows: no script, no style."""
    raw = "<h1>Head</h1><script>x()</script><p>Body &amp; <b>more</b></p><style>p{}</style>"
    assert (
        summary_text(raw, BASE) == html_to_text(sanitize_html(raw, BASE)) == "Head\n\nBody & more"
    )


@pytest.mark.parametrize(
    "summary",
    [
        "<p>Short micro-post. With a second sentence.</p>",
        "<p>" + "word " * 2000 + "</p>",  # longer than the part first read, one paragraph
        "<p>First paragraph, short</p>" + "<p>" + "filler " * 1000 + "</p>",
        "<style>" + "x" * 5000 + "</style><p>After a long style block.</p>",  # nothing early
        "<!--" + "c" * 5000 + "--><p>After a long comment.</p>",
        "<p>" + "&amp;" * 1500 + " end.</p>",
        "A" * 3999 + "<b>B</b> and more " * 300,
    ],
    ids=[
        "short",
        "one-long-paragraph",
        "short-first-paragraph",
        "style",
        "comment",
        "entities",
        "cut",
    ],
)
def test_summary_title_reads_only_what_it_needs(summary: str) -> None:
    """A title from the start of a long summary equals the one from the whole of it."""
    assert summary_title(summary, BASE) == title_from_text(summary_text(summary, BASE))


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ('<p>x</p><img src="a.jpg">', "https://example.org/blog/post/a.jpg"),
        ("<p>no picture</p>", None),
        ('<a href="x"<img src="https://i.example/broken.jpg">', None),  # broken markup
        ('<!-- <img src="https://i.example/c.jpg"> -->', None),
        ('<img alt="no source">', None),
        ('<img src="https://i.example/p.gif" width="1" height="1">', None),
    ],
)
def test_summary_image_is_what_the_sanitised_summary_shows(
    summary: str, expected: str | None
) -> None:
    """A summary's image is the first real one its sanitised form shows."""
    assert summary_image(summary, BASE) == expected


PIXEL = "https://feeds.feedburner.com/~r/example/~4/abc"


@pytest.mark.parametrize(
    "summary",
    [
        f'<img src="{PIXEL}" height="1" width="1">',  # FeedBurner's only picture
        f"<p>text</p><IMG SRC='{PIXEL}'><img src={PIXEL}>",
        f'<img src="{PIXEL}"><img src="https://i.example/real.jpg">',
        f'<img src="https://i.example/real.jpg" src="{PIXEL}">',  # the first src counts
        f'<img src="{PIXEL}" src="https://i.example/real.jpg">',
        f'<img alt="x" data-src="https://i.example/lazy.jpg" src="{PIXEL}">',
        f'<image src="https://i.example/renamed.jpg"><img src="{PIXEL}">',
        '<img src="https://i.example/a.jpg&amp;w=1">',  # a reference the parser rewrites
        f'<img/src="https://i.example/slash.jpg"><img src="{PIXEL}">',
        f'<img =src="https://i.example/odd.jpg" src="{PIXEL}">',
        f'<img src = "https://i.example/spaced.jpg"><img src="{PIXEL}">',
        f'<img src="{PIXEL}"',  # cut off by the end
        '<img src="https://i.example/cut.jpg"',
        f'<imgx src="https://i.example/not-img.jpg"><img src="{PIXEL}">',
        "<img>",
        "<img src=>",
    ],
)
def test_summary_image_shortcut_agrees_with_the_sanitiser(summary: str) -> None:
    """Skipping the sanitiser for pixel-only summaries never changes the image found."""
    assert summary_image(summary, BASE) == first_image(sanitize_html(summary, BASE), BASE)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a", "https://example.org/a"),
        ("https://example.org/a?utm_source=rss", "https://example.org/a"),
        ("https://example.org/a?id=7&utm_source=rss#top", "https://example.org/a?id=7#top"),
        ("https://example.org/a?at_campaign=rss&at_medium=x&p=2", "https://example.org/a?p=2"),
        ("https://www.dw.com/en/a/a-1?maca=en-rss-en-all-1573-rdf", "https://www.dw.com/en/a/a-1"),
        ("https://Example.ORG:8080/A?UTM_Source=x", "https://Example.ORG:8080/A"),  # as written
        ("https://example.org/a#frag?utm_source=x", "https://example.org/a#frag?utm_source=x"),
        ("https://example.org/a?q=utm_source", "https://example.org/a?q=utm_source"),
    ],
)
def test_strip_tracking(url: str, expected: str) -> None:
    """Outgoing links lose the parameters canonical_url drops, and keep everything else."""
    assert strip_tracking(url) == expected
    assert canonical_url(strip_tracking(url)) == canonical_url(url)
