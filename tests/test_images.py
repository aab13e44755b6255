"""An entry's picture: never an avatar, emoji, icon, pixel or tiny image; the feed's declared
media first; JPEG, PNG and GIF before the formats some mail clients cannot show."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from roundup.normalize import choose_image, first_image, is_email_safe_image, is_unwanted_image
from roundup.parse import parse_feed

FETCHED = datetime(2026, 1, 1, tzinfo=UTC)
MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'


@pytest.mark.parametrize(
    ("url", "width", "height", "unwanted"),
    [
        ("https://secure.gravatar.com/avatar/ab12cd?s=96&d=identicon&r=g", "", "", True),
        ("https://0.gravatar.com/avatar/ab12cd", "", "", True),
        ("https://blog.example/avatar/ab12?s=96&d=mm", "", "", True),
        ("https://blog.example/wp-content/uploads/avatars/7/photo.jpg", "", "", True),
        ("https://cdn.example/u/1?d=identicon", "", "", True),
        ("https://avatars3.githubusercontent.com/u/8234070?v=4", "", "", True),
        ("https://s.w.org/images/core/emoji/14.0.0/72x72/1f642.png", "", "", True),
        ("https://blog.example/wp-includes/images/smilies/icon_smile.gif", "", "", True),
        ("https://blog.example/favicon.ico", "", "", True),
        ("https://blog.example/img/rss-icon.png", "", "", True),
        ("https://blog.example/icons/share.png", "", "", True),
        ("https://feeds.feedburner.com/~r/blog/~4/abc", "", "", True),
        ("https://blog.example/photo.jpg", "40", "40", True),
        ("https://blog.example/logo.jpg", "142", "36", True),
        ("https://blog.example/photo.jpg", "50px", "", True),
        ("https://i0.wp.com/blog.example/photo.jpg?resize=32,32", "", "", True),
        ("https://blog.example/photo.jpg?w=48", "", "", True),
        # upper case and the other rules, past the quick screen
        ("https://SECURE.GRAVATAR.COM/a", "", "", True),
        ("https://blog.example/photo.jpg?S=16", "", "", True),
        ("https://blog.example/Profile-Pictures/me.jpg", "", "", True),
        ("https://stats.wordpress.com/b.gif?host=x", "", "", True),
        ("https://blog.example/beacon.gif", "", "", True),
        ("https://www.facebook.com/tr?id=1", "", "", True),
        ("http://[::1/a.jpg", "", "", True),  # a URL urlsplit refuses
        # real pictures
        ("https://blog.example/wp-content/uploads/2015/08/harbour.jpg", "", "", False),
        ("https://blog.example/harbour.jpg", "640", "480", False),
        ("https://blog.example/harbour.jpg?w=1200", "", "", False),
        ("https://blog.example/iconic-harbour.jpg", "", "", False),
        ("https://blog.example/harbour.jpg", "51", "", False),
    ],
)
def test_unwanted_images(url: str, width: str, height: str, unwanted: bool) -> None:
    """Avatars, emoji, icons, pixels and images of 50 px or less are no story picture."""
    assert is_unwanted_image(url, width, height) is unwanted


@pytest.mark.parametrize(
    ("url", "media_type", "safe"),
    [
        ("https://x.example/a.jpg", "", True),
        ("https://x.example/a.PNG", "", True),
        ("https://x.example/a", "image/jpeg", True),
        ("https://x.example/a", "", True),  # an unknown format is taken as it comes
        ("https://x.example/a.webp", "", False),
        ("https://x.example/a.avif", "", False),
        ("https://x.example/a.svg", "", False),
        ("https://x.example/a", "image/webp", False),
        ("https://x.example/a?fm=webp&w=800", "", False),
        ("https://x.example/a?format=avif", "", False),
        ("https://x.example/A.WEBP", "", False),
        ("https://x.example/a.jpg?ext=svg", "", False),
    ],
)
def test_email_safe_formats(url: str, media_type: str, safe: bool) -> None:
    """WebP, AVIF and SVG are not shown by every mail client (Outlook on Windows)."""
    assert is_email_safe_image(url, media_type) is safe


def test_choose_image_prefers_safe_formats_then_falls_back() -> None:
    """The first real picture in a safe format wins; a WebP only when nothing else is offered."""
    base = "https://x.example/"
    avatar = ("https://secure.gravatar.com/avatar/1?s=96&d=identicon", "", "", "")
    webp = ("/a.webp", "image/webp", "800", "600")
    jpeg = ("/a.jpg", "image/jpeg", "800", "600")
    assert choose_image(base, [avatar, webp, jpeg]) == "https://x.example/a.jpg"
    assert choose_image(base, [avatar, webp]) == "https://x.example/a.webp"
    assert choose_image(base, [avatar]) is None
    assert choose_image(base, [(None, "", "", ""), ("javascript:x", "", "", "")]) is None


def test_first_image_skips_avatars_and_emoji() -> None:
    """In HTML the first picture that is a picture of the story is taken."""
    html = (
        '<p><img src="https://s.w.org/images/core/emoji/14.0.0/72x72/1f642.png" alt="🙂">'
        '<img src="https://secure.gravatar.com/avatar/ab?s=96&amp;d=identicon" width="96">'
        '<img src="https://x.example/byline.jpg" width="40" height="40">'
        '<img src="/story.jpg"></p>'
    )
    assert first_image(html, "https://x.example/") == "https://x.example/story.jpg"


def _rss(item: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0" {MEDIA}><channel><title>C</title>'
        f"<link>https://x.example/</link><item><title>T</title>"
        f"<link>https://x.example/p</link>{item}</item></channel></rss>"
    ).encode()


CASES = [
    pytest.param(
        '<media:thumbnail url="https://secure.gravatar.com/avatar/1?s=96&amp;d=identicon"/>'
        '<description>&lt;img src="https://x.example/story.jpg"&gt;</description>',
        "https://x.example/story.jpg",
        id="avatar-thumbnail-skipped",
    ),
    pytest.param(
        '<media:content url="https://x.example/declared.jpg" medium="image"/>'
        '<description>&lt;img src="https://x.example/inline.jpg"&gt;</description>',
        "https://x.example/declared.jpg",
        id="declared-media-first",
    ),
    pytest.param(
        '<media:content url="https://x.example/a.webp" type="image/webp"/>'
        '<media:content url="https://x.example/a.jpg" type="image/jpeg"/>',
        "https://x.example/a.jpg",
        id="jpeg-over-webp",
    ),
    pytest.param(
        '<media:content url="https://x.example/a.webp" type="image/webp"/>'
        '<description>&lt;img src="https://x.example/inline.png"&gt;</description>',
        "https://x.example/inline.png",
        id="inline-png-over-declared-webp",
    ),
    pytest.param(
        '<media:content url="https://x.example/a.webp" type="image/webp"/>'
        "<description>no picture</description>",
        "https://x.example/a.webp",
        id="webp-when-nothing-else",
    ),
    pytest.param(
        '<media:thumbnail url="https://x.example/t.jpg" width="32" height="32"/>'
        '<enclosure url="https://x.example/big.jpg" type="image/jpeg" length="1"/>',
        "https://x.example/big.jpg",
        id="tiny-thumbnail-skipped",
    ),
    pytest.param(
        '<description>&lt;img src="https://s.w.org/images/core/emoji/14.0.0/72x72/1f642.png"&gt;'
        "</description>",
        None,
        id="emoji-only",
    ),
]


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "feedparser"])
@pytest.mark.parametrize(("item", "image"), CASES)
def test_feed_image(item: str, image: str | None, strict: bool) -> None:
    """Both RSS readers choose the same picture by the same rules."""
    parsed = parse_feed(
        _rss(item), key="k", url="https://x.example/feed", fetched_at=FETCHED, strict=strict
    )
    assert parsed.entries[0].image == image


def test_json_feed_image() -> None:
    """JSON Feed: the declared image and attachments follow the same rules."""
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J",
            "home_page_url": "https://x.example/",
            "items": [
                {
                    "id": "1",
                    "url": "https://x.example/1",
                    "image": "https://x.example/a.webp",
                    "attachments": [{"url": "https://x.example/a.jpg", "mime_type": "image/jpeg"}],
                    "content_html": "<p>x</p>",
                },
                {
                    "id": "2",
                    "url": "https://x.example/2",
                    "image": "https://secure.gravatar.com/avatar/1?d=identicon",
                    "content_html": '<p><img src="https://x.example/2.png"></p>',
                },
            ],
        }
    ).encode()
    parsed = parse_feed(body, key="k", url="https://x.example/feed.json", fetched_at=FETCHED)
    assert [entry.image for entry in parsed.entries] == [
        "https://x.example/a.jpg",
        "https://x.example/2.png",
    ]
