"""The issue's email message: MIME structure and the checklist's header rules (section D).

M7 (the endpoint's POST behaviour) and M9 (SPF, DKIM keys, DMARC, PTR, spam rate) are
deployment checks outside this code, so they have no test here.
"""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from roundup.config import Config, Newsletter
from roundup.errors import ConfigError, RenderError
from roundup.message import (
    build_message,
    list_id,
    message_id,
    personalize,
    unsubscribe_token,
    write_eml,
)
from roundup.models import UNSUBSCRIBE_TOKEN, Draft, DraftItem, DraftSection

NOW = datetime(2015, 8, 14, 19, 0, tzinfo=UTC)
HTML = (
    "<!DOCTYPE html><html lang='en'><body><p>Caf\u00e9 \u2014 this week</p>"
    f"<a href='https://example.org/roundup/unsubscribe/{UNSUBSCRIBE_TOKEN}'>Unsubscribe</a>"
    "</body></html>"
)
TEXT = f"Caf\u00e9 \u2014 this week\n\nUnsubscribe: https://example.org/roundup/unsubscribe/{UNSUBSCRIBE_TOKEN}\n"


def make_config(**newsletter: object) -> Config:
    values: dict[str, object] = {
        "title": "The Elicitor Weekly Roundup",
        "url": "https://example.org/roundup/",
        "timezone": "America/New_York",
        "week_ends": 4,
        "language": "en",
        "from_addr": "The Elicitor <roundup@example.org>",
        "to": ("roundup@lists.example.org",),
        "unsubscribe_url": "https://example.org/roundup/unsubscribe/{token}",
        "unsubscribe_mailto": "mailto:roundup-leave@example.org",
    }
    values.update(newsletter)
    return Config(
        path=Path("/srv/roundup/feeds.yaml"),
        newsletter=Newsletter(**values),  # type: ignore[arg-type]
        output_dir=Path("/srv/roundup/out"),
        state=Path("/srv/roundup/state.sqlite3"),
        sections=(),
        feeds=(),
    )


def make_draft(subject: str = "The Elicitor Weekly Roundup #12", number: int = 12) -> Draft:
    item = DraftItem(
        key="https://example.com/a",
        title="A",
        link="https://example.com/a",
        source="Example",
        published=NOW,
        excerpt="An excerpt.",
    )
    return Draft(
        week="2015-W33",
        number=number,
        subject=subject,
        preheader="",
        intro="",
        sections=(DraftSection("News", "", (item,)),),
        window_start=datetime(2015, 8, 8, 4, tzinfo=UTC),
        window_end=datetime(2015, 8, 15, 4, tzinfo=UTC),
    )


def build(config: Config | None = None, draft: Draft | None = None, **kw: str) -> EmailMessage:
    return build_message(
        html=kw.get("html", HTML),
        text=kw.get("text", TEXT),
        draft=draft or make_draft(),
        config=config or make_config(),
        now=NOW,
    )


def reparse(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def raw_header(message: EmailMessage, name: str) -> str:
    """The header exactly as serialised, folding included."""
    head = message.as_bytes().split(b"\r\n\r\n", 1)[0].decode("ascii")
    match = re.search(rf"^{name}:.*?(?=\r\n\S)", head + "\r\nX", re.MULTILINE | re.DOTALL)
    assert match, name
    return match[0]


def test_message_parses_back_with_both_parts() -> None:
    """The message re-parses: text and HTML content intact, utf-8, quoted-printable."""
    parsed = reparse(build())
    plain, html = parsed.iter_parts()
    assert plain.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n") == HTML + "\n"
    assert [p["Content-Transfer-Encoding"] for p in (plain, html)] == ["quoted-printable"] * 2
    assert "MIME-Version" not in plain and "MIME-Version" not in html


def test_m1_multipart_alternative_text_first_html_last() -> None:
    """M1: multipart/alternative with text/plain first and text/html last."""
    parsed = reparse(build())
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_m2_utf8_parts_and_encoded_subject() -> None:
    """M2: both parts utf-8; non-ASCII Subject and From name are RFC 2047-encoded."""
    config = make_config(from_addr="Ça Bouge <roundup@example.org>")
    message = build(config, make_draft(subject="Ça bouge — numéro 12"))
    raw = message.as_bytes()
    assert raw.isascii()
    assert re.search(rb"^Subject: =\?utf-8\?", raw, re.MULTILINE)
    parsed = reparse(message)
    assert [p.get_content_charset() for p in parsed.iter_parts()] == ["utf-8", "utf-8"]
    assert parsed["Subject"] == "Ça bouge — numéro 12"
    assert parsed["From"].addresses[0].display_name == "Ça Bouge"


@pytest.mark.parametrize(
    "name", ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "List-Id"]
)
def test_m3_exactly_one_of_each_header(name: str) -> None:
    """M3: exactly one each of the required headers, before and after personalising."""
    message = build()
    personal = personalize(message, recipient="ann@example.com", token="tok")
    assert len(reparse(message).get_all(name) or []) == 1
    assert len(reparse(personal).get_all(name) or []) == 1


def test_m3_header_values() -> None:
    """M3: one From address, the list as To, MIME 1.0, Date from now, Message-ID at From's."""
    parsed = reparse(build())
    assert len(parsed["From"].addresses) == 1
    assert parsed["To"] == "roundup@lists.example.org"
    assert parsed["MIME-Version"] == "1.0"
    assert parsedate_to_datetime(parsed["Date"]) == NOW
    assert parsed["Date"].endswith("-0400")  # the newsletter's zone
    assert re.fullmatch(r"<roundup\.2015-W33\.12\.[0-9a-f]{10}@example\.org>", parsed["Message-ID"])


@pytest.mark.parametrize("subject", ["Re: this week", "FWD: this week", " fw: this week"])
def test_m3_subject_must_not_look_like_a_reply(subject: str) -> None:
    """M3: a Subject starting with Re:/Fwd: is refused, naming draft.yaml."""
    with pytest.raises(
        RenderError, match=r"starts like a reply or forward; change it in draft\.yaml"
    ):
        build(draft=make_draft(subject=subject))


@pytest.mark.parametrize(
    ("url", "mailto", "expected"),
    [
        (
            "https://example.org/u/{token}",
            "mailto:leave@example.org",
            "<https://example.org/u/TOKEN>, <mailto:leave@example.org>",
        ),
        ("https://example.org/u/{token}", "", "<https://example.org/u/TOKEN>"),
        ("", "mailto:leave@example.org", "<mailto:leave@example.org>"),
        (
            "https://example.org/u?t={token}&l=weekly",
            "mailto:leave@example.org?subject=leave-{token}",
            "<https://example.org/u?t=TOKEN&l=weekly>,"
            " <mailto:leave@example.org?subject=leave-TOKEN>",
        ),
        ("", "", None),
    ],
)
def test_m4_list_unsubscribe(url: str, mailto: str, expected: str | None) -> None:
    """M4: one <https://…> URI carrying the token, optionally then <mailto:…>."""
    config = make_config(unsubscribe_url=url, unsubscribe_mailto=mailto)
    personal = reparse(personalize(build(config), recipient="ann@example.com", token="TOKEN"))
    assert personal["List-Unsubscribe"] == expected
    if expected:
        assert len(re.findall(r"<https://", expected)) == (1 if url else 0)


@pytest.mark.parametrize(
    ("url", "mailto", "post"),
    [
        ("https://example.org/u/{token}", "mailto:leave@example.org", True),
        ("https://example.org/u/{token}", "", True),
        ("", "mailto:leave@example.org", False),
    ],
)
def test_m5_one_click_post_only_with_https(url: str, mailto: str, post: bool) -> None:
    """M5: List-Unsubscribe-Post is exactly List-Unsubscribe=One-Click, only with an https URI."""
    parsed = reparse(build(make_config(unsubscribe_url=url, unsubscribe_mailto=mailto)))
    expected = ["List-Unsubscribe=One-Click"] if post else None
    assert parsed.get_all("List-Unsubscribe-Post") == expected


def test_m6_long_list_unsubscribe_survives_folding() -> None:
    """M6: a long List-Unsubscribe stays one header, folded only between URIs, never encoded."""
    # DKIM signing (h= with both list headers, d= aligned with From) happens at the MTA;
    # what this code controls is that folding cannot change the header's meaning.
    long_url = "https://example.org/" + "very-long-path/" * 8 + "unsubscribe/{token}"
    config = make_config(unsubscribe_url=long_url)
    personal = personalize(build(config), recipient="ann@example.com", token="A" * 22)
    raw = raw_header(personal, "List-Unsubscribe")
    assert "=?" not in raw
    lines = raw.split("\r\n")
    assert lines == [
        f"List-Unsubscribe: <{long_url.replace('{token}', 'A' * 22)}>,",
        " <mailto:roundup-leave@example.org>",
    ]
    parsed = reparse(personal)
    assert parsed.get_all("List-Unsubscribe") == [
        f"<{long_url.replace('{token}', 'A' * 22)}>, <mailto:roundup-leave@example.org>"
    ]


@pytest.mark.parametrize(
    ("newsletter", "header"),
    [
        ({}, '"The Elicitor Weekly Roundup" <the-elicitor-weekly-roundup.example.org>'),
        ({"title": "Ça bouge"}, "Ça bouge <ca-bouge.example.org>"),
        ({"title": 'Say "hi" <now>'}, '"Say hi now" <say-hi-now.example.org>'),
        (
            {"list_id": "weekly.news.example.com"},
            '"The Elicitor Weekly Roundup" <weekly.news.example.com>',
        ),
        (
            {"list_id": "Weekly Roundup <weekly.news.example.com>"},
            "Weekly Roundup <weekly.news.example.com>",
        ),
    ],
)
def test_m8_list_id(newsletter: dict[str, str], header: str) -> None:
    """M8: List-Id is the title and the configured id, else the title's slug at From's domain."""
    parsed = reparse(build(make_config(**newsletter)))
    assert parsed["List-Id"] == header


def test_m8_list_id_at_most_255_octets() -> None:
    """M8: a very long title still gives an id of at most 255 octets."""
    config = make_config(title="Weekly " * 80)
    ident = list_id(config)
    assert len(ident.encode()) <= 255
    assert ident.endswith(".example.org")
    assert reparse(build(config))["List-Id"].endswith(f"<{ident}>")


@pytest.mark.parametrize("bad", ["not a list id", "x" * 250 + ".example.org", "a..b"])
def test_m8_bad_configured_list_id_is_a_config_error(bad: str) -> None:
    """M8: an unusable newsletter.list_id is refused, naming the key."""
    with pytest.raises(ConfigError, match=r"newsletter\.list_id"):
        build(make_config(list_id=bad))


@pytest.mark.parametrize(
    ("name", "value"), [("Precedence", "bulk"), ("Auto-Submitted", "auto-generated")]
)
def test_m10_bulk_headers_appear_once(name: str, value: str) -> None:
    """M10: Precedence: bulk and Auto-Submitted appear exactly once."""
    personal = personalize(build(), recipient="ann@example.com", token="tok")
    assert reparse(personal).get_all(name) == [value]


def test_personalize_substitutes_the_token_everywhere() -> None:
    """The recipient's token replaces the placeholder in text, HTML and header, and sets To."""
    secret, ident = "s3cret", list_id(make_config())
    token = unsubscribe_token(secret, ident, "ann@example.com")
    personal = personalize(build(), recipient="Ann <ann@example.com>", token=token)
    parsed = reparse(personal)
    plain, html = (p.get_content() for p in parsed.iter_parts())
    url = f"https://example.org/roundup/unsubscribe/{token}"
    assert url in plain
    assert f"href='{url}'" in html
    assert parsed["List-Unsubscribe"].startswith(f"<{url}>")
    assert parsed["To"] == "Ann <ann@example.com>"
    assert UNSUBSCRIBE_TOKEN.encode() not in personal.as_bytes()


def test_personalize_leaves_the_template_alone() -> None:
    """Personalising copies: the built message keeps its placeholder for the next recipient."""
    template = build()
    personalize(template, recipient="ann@example.com", token="tok")
    assert UNSUBSCRIBE_TOKEN in str(template["List-Unsubscribe"])
    assert template["To"] == "roundup@lists.example.org"


def test_each_recipient_gets_a_different_token() -> None:
    """Two recipients get different tokens in their copies."""
    ident = list_id(make_config())
    copies = [
        reparse(personalize(build(), recipient=who, token=unsubscribe_token("k", ident, who)))
        for who in ("ann@example.com", "bob@example.com")
    ]
    headers = {str(c["List-Unsubscribe"]) for c in copies}
    texts = {next(c.iter_parts()).get_content() for c in copies}
    assert len(headers) == 2 and len(texts) == 2


@pytest.mark.parametrize(
    ("args", "other"),
    [
        (
            ("k", "weekly.example.org", "ann@example.com"),
            ("k", "weekly.example.org", "bob@example.com"),
        ),
        (
            ("k", "weekly.example.org", "ann@example.com"),
            ("k", "other.example.org", "ann@example.com"),
        ),
        (
            ("k", "weekly.example.org", "ann@example.com"),
            ("j", "weekly.example.org", "ann@example.com"),
        ),
    ],
)
def test_token_depends_on_secret_list_and_recipient(
    args: tuple[str, str, str], other: tuple[str, str, str]
) -> None:
    """The token changes with the secret, the list and the recipient; it is url-safe."""
    token = unsubscribe_token(*args)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
    assert token != unsubscribe_token(*other)


def test_token_ignores_case_and_display_name() -> None:
    """The same mailbox gets the same token however the address is written."""
    assert unsubscribe_token("k", "l.example.org", "Ann <ANN@Example.com>") == unsubscribe_token(
        "k", "l.example.org", "ann@example.com"
    )


def test_message_id_and_bytes_are_stable_across_builds() -> None:
    """The same issue built twice gives the same Message-ID, boundary and bytes."""
    first, second = build(), build()
    assert first["Message-ID"] == second["Message-ID"] == message_id(make_draft(), make_config())
    assert first.as_bytes() == second.as_bytes()
    assert build(draft=make_draft(number=13))["Message-ID"] != first["Message-ID"]


def test_lines_never_exceed_998_octets() -> None:
    """S4: a 5,000-character line of HTML is quoted-printable encoded to short lines."""
    html = "<p>" + "mot très long " * 400 + "</p>"
    message = personalize(build(html=html), recipient="ann@example.com", token="tok")
    raw = message.as_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    html_part = list(reparse(message).iter_parts())[1]
    assert html_part.get_content().rstrip("\r\n") == html


def test_write_eml_round_trips(tmp_path: Path) -> None:
    """write_eml writes the message as sent; it parses back to the same headers and parts."""
    message = build()
    path = tmp_path / "2015-W33" / "message.eml"
    write_eml(path, message)
    assert path.read_bytes() == message.as_bytes()
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "The Elicitor Weekly Roundup #12"


def test_undisclosed_to_without_list_addresses() -> None:
    """For direct sends (no newsletter.to) the template's To is a valid empty group."""
    message = build(make_config(to=()))
    assert reparse(message)["To"] == "undisclosed-recipients:;"
    personal = personalize(message, recipient="ann@example.com", token="t")
    assert reparse(personal)["To"] == "ann@example.com"
