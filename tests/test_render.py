"""Rendering an issue: golden outputs, themes, languages, hostile content, the size budget.

``sample_draft`` / ``sample_config`` / ``big_draft`` build the fixtures in code; the email
checklist and browser tests import them from here.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import html as lxml_html
from ruamel.yaml import YAML

from roundup.config import Config, Newsletter
from roundup.email_budget import EMAIL_LIMIT, EMAIL_WARN, MORE_LIMIT
from roundup.errors import RenderError
from roundup.issue_url import post_url
from roundup.issue_view import markdown_html
from roundup.models import UNSUBSCRIBE_TOKEN, Draft, DraftItem, DraftSection
from roundup.outputs import IssueContext, Renderer, post_md
from roundup.plain_text import tidy
from roundup.render import RENDERERS, RenderedIssue, check_templates, render_issue, write_issue

TZ = ZoneInfo("America/New_York")
IMAGE_HOST = "https://images.example.org/"
OUTPUTS = ("email.html", "email.txt", "post.md", "post.html")
HOSTILE_TITLE = 'Syria\'s war <script>alert("title")</script> & the <b>refugee</b> exodus'


def sample_config(templates: Path | None = None, **newsletter: object) -> Config:
    """A newsletter config like a think tank's weekly roundup."""
    settings: dict[str, object] = {
        "title": "Weekly Roundup",
        "url": "https://blog.example.org/",
        "timezone": "America/New_York",
        "week_ends": 4,
        "language": "en",
        "from_addr": "Weekly Roundup <roundup@example.org>",
        "postal_address": "Example Institute for Foreign Policy\n"
        "1775 Massachusetts Ave NW\nWashington, DC 20036",
        "unsubscribe_url": "https://news.example.org/unsubscribe/{token}",
        **newsletter,
    }
    return Config(
        path=Path("/srv/roundup/feeds.yaml"),
        newsletter=Newsletter(**settings),  # type: ignore[arg-type]
        output_dir=Path("/srv/roundup/out"),
        state=Path("/srv/roundup/state.sqlite3"),
        sections=(),
        feeds=(),
        templates=templates,
    )


def _at(day: int, hour: int = 9) -> datetime:
    return datetime(2015, 8, day, hour, 30, tzinfo=TZ)


def _item(key: str, title: str, source: str, day: int | None, **more: object) -> DraftItem:
    fields: dict[str, object] = {
        "key": f"https://{key}",
        "title": title,
        "link": f"https://{key}",
        "source": source,
        "published": _at(day) if day else None,
        "excerpt": "",
        **more,
    }
    return DraftItem(**fields)  # type: ignore[arg-type]


def sample_draft() -> Draft:
    """Three sections, ten items, one of them hostile, notes in Markdown, an intro."""
    middle_east = (
        _item(
            "warontherocks.com/2015/08/the-iran-deal-and-the-limits-of-coercion/",
            "The Iran Deal and the Limits of Coercion",
            "War on the Rocks",
            10,
            excerpt="Sanctions brought Tehran to the table, but they cannot keep it there. "
            "The agreement's real test begins after implementation day, when the "
            "leverage that produced it starts to fade.",
            image=IMAGE_HOST + "iran-deal.jpg",
            also_via=("Lawfare", "The National Interest"),
            note="A sharp counterpoint to the *Foreign Affairs* piece below. The full "
            "text of the agreement is [on the State Department's site]"
            "(https://www.state.gov/e/eb/tfs/spi/iran/jcpoa/).",
        ),
        _item(
            "www.lawfareblog.com/what-congress-can-and-cant-do-about-jcpoa",
            "What Congress Can (and Can't) Do About the JCPOA",
            "Lawfare",
            11,
            excerpt="The Iran Nuclear Agreement Review Act gives Congress sixty days and a "
            "vote, but the President keeps the last word: a veto that the opponents "
            "of the deal are unlikely to override.",
        ),
        _item(
            "spam.example.net/syria",
            HOSTILE_TITLE,
            "Feed <i>Spam</i> Daily",
            12,
            link="javascript:alert(document.cookie)",
            excerpt='Click <img src=x onerror="alert(1)"> here: '
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg== {{ 7*7 }}",
            image="data:image/gif;base64,R0lGODlhAQABAAAAACw=",
            note="Careful with this one.\n\n<script>alert('note')</script>\n\n"
            "[a bad link](javascript:alert(1)), ![pixel](https://pixel.wp.com/g.gif?w=1&h=1)"
            ' and <iframe src="https://evil.example.net/"></iframe> <b onclick="x()">bold</b>',
        ),
    )
    asia = (
        _item(
            "foreignpolicy.com/2015/08/11/why-china-devalued-the-yuan/",
            "Why China Devalued the Yuan",
            "Foreign Policy",
            11,
            excerpt="Beijing says the 1.9 percent cut is a one-off step toward a "
            "market-set exchange rate. Markets, and Washington, are not so sure.",
            image=IMAGE_HOST + "yuan.png",
        ),
        _item(
            "thediplomat.com/2015/08/abes-war-anniversary-statement-parsed/",
            "Abe's War Anniversary Statement, Parsed",
            "The Diplomat",
            14,
            excerpt="Seventy years after the war, Japan's prime minister chose his words "
            "carefully. Here is what he said, and what he left out.",
            note="Three things to watch:\n\n1. the apology language\n2. the reaction in "
            "Seoul\n3. Beijing's response",
        ),
        _item(
            "amti.csis.org/the-south-china-sea-after-the-asean-summit/",
            "The South China Sea After the ASEAN Summit",
            "CSIS Asia Maritime Transparency Initiative",
            None,
            excerpt="Kuala Lumpur produced a communiqué, not a code of conduct.",
            image="https://feeds.feedburner.com/~r/amti/~4/pixel.gif",
        ),
    )
    europe = (
        _item(
            "carnegieeurope.eu/strategiceurope/?fa=61004",
            "Minsk II Is Failing. What Next?",
            "Carnegie Europe",
            10,
            link="http://carnegieeurope.eu/strategiceurope/?fa=61004&lang=en",
            excerpt="The ceasefire in eastern Ukraine exists mostly on paper.",
        ),
        _item(
            "www.economist.com/europes-migrant-crisis-in-five-charts",
            "Europe's Migrant Crisis in Five Charts",
            "The Economist",
            13,
            excerpt="More than 100,000 migrants crossed into the European Union in July "
            "alone, a record. Greece, Italy and Hungary bear the brunt, and the "
            "Dublin rules that were meant to share the burden are breaking down.",
            also_via=("Politico Europe",),
        ),
        _item(
            "www.brookings.edu/blog/greeces-third-bailout-a-primer/",
            "Greece's Third Bailout: A Primer",
            "Brookings",
            14,
            excerpt="An €86 billion program, a privatisation fund and a debt question "
            "left for later.",
            note="**Our take:** the numbers still don't add up.\n\n# Why\n\n"
            "> Debt relief is the elephant in the room.",
        ),
        _item(
            "ecfr.eu/article/commentary_russia_and_the_west",
            "Russia and the West: The View From Berlin",
            "European Council on Foreign Relations",
            12,
            excerpt="Germany's Ostpolitik reflex is weaker than it was, but it has not gone away.",
        ),
    )
    return Draft(
        week="2015-W33",
        number=33,
        subject="8/14 Weekly Roundup",
        preheader="The Iran deal goes to Congress, China devalues the yuan, and "
        "Europe's migrant crisis deepens.",
        intro="Welcome to this week's roundup. The **Iran nuclear agreement** dominated "
        "the conversation as Congress began its sixty-day review, while Beijing's "
        "surprise devaluation of the *renminbi* rattled markets.\n\nAs always, "
        "[write to the editors](mailto:editors@example.org) with suggestions, or "
        "browse [the archive](https://blog.example.org/archive/).",
        sections=(
            DraftSection("Middle East", "Iran, Syria and the Gulf", middle_east),
            DraftSection("Asia", "", asia),
            DraftSection("Europe", "Russia, Ukraine and the migrant crisis", europe),
        ),
        window_start=datetime(2015, 8, 8, tzinfo=TZ),
        window_end=datetime(2015, 8, 15, tzinfo=TZ),
    )


def big_draft(count: int) -> Draft:
    """``count`` ordinary items in three sections, every fifth with an image."""
    items = [
        _item(
            f"www.example-{index % 7}.org/2015/08/{index}/story-about-foreign-policy-{index}",
            f"Story {index}: what the week's news means for foreign policy "
            f"{'and diplomacy ' * (index % 3)}",
            f"Source {index % 11}",
            8 + index % 7,
            excerpt="An excerpt of a couple of sentences, as a feed would provide it. "
            "It gives the reader a reason to click through to the article itself.",
            image=IMAGE_HOST + f"story-{index}.jpg" if index % 5 == 0 else None,
        )
        for index in range(count)
    ]
    third = count // 3
    parts = (items[:third], items[third : 2 * third], items[2 * third :])
    draft = sample_draft()
    return Draft(
        week=draft.week,
        number=draft.number,
        subject=draft.subject,
        preheader=draft.preheader,
        intro=draft.intro,
        sections=tuple(
            DraftSection(name, "", tuple(part))
            for name, part in zip(("Middle East", "Asia", "Europe"), parts, strict=True)
        ),
        window_start=draft.window_start,
        window_end=draft.window_end,
    )


def output(issue: RenderedIssue, name: str) -> str:
    """One of the four outputs of ``issue`` by file name."""
    return issue.outputs[name]


@pytest.fixture(scope="module")
def sample() -> RenderedIssue:
    return render_issue(sample_draft(), sample_config())


@pytest.fixture(scope="module")
def overflow() -> RenderedIssue:
    return render_issue(big_draft(300), sample_config())


# --- golden files and determinism ---------------------------------------------------------


@pytest.mark.parametrize("name", OUTPUTS)
def test_outputs_match_golden_files(sample: RenderedIssue, name: str, golden) -> None:
    """Each output of the sample issue equals tests/golden/render/<name>."""
    golden(f"render/{name}", output(sample, name))


def test_sample_issue_has_no_notices(sample: RenderedIssue) -> None:
    """A ten-item issue fits the email budget whole, with nothing to report."""
    assert sample.notices == ()


def test_rendering_is_deterministic(sample: RenderedIssue) -> None:
    """Rendering the same draft and config again gives byte-identical outputs."""
    again = render_issue(sample_draft(), sample_config())
    assert again == sample


# --- templates -----------------------------------------------------------------------------


def test_user_template_overrides_one_and_inherits_the_rest(
    tmp_path: Path, sample: RenderedIssue
) -> None:
    """A post.md in the user's folder replaces the default one; the others are unchanged."""
    (tmp_path / "post.md").write_text("Custom: {{ issue.subject }} ({{ issue.item_count }})\n")
    issue = render_issue(sample_draft(), sample_config(tmp_path))
    assert issue.post_md == "Custom: 8/14 Weekly Roundup (10)\n"
    assert issue.email_html == sample.email_html
    assert issue.post_html == sample.post_html


def test_user_template_extends_the_default_theme(tmp_path: Path) -> None:
    """A user template can extend default/email.html and replace just one block."""
    (tmp_path / "email.html").write_text(
        '{% extends "default/email.html" %}\n'
        '{% block topbar %}<tr><td class="tb">Sent with care by {{ issue.newsletter }}'
        "</td></tr>{% endblock %}\n"
    )
    issue = render_issue(sample_draft(), sample_config(tmp_path))
    assert "Sent with care by Weekly Roundup" in issue.email_html
    assert "The Iran Deal and the Limits of Coercion" in issue.email_html
    assert UNSUBSCRIBE_TOKEN in issue.email_html


def test_user_css_override_is_inlined(tmp_path: Path) -> None:
    """A user's email.css replaces the theme's CSS, and premailer inlines it."""
    (tmp_path / "email.css").write_text(".t{color:#123456;font-size:22px;line-height:28px}\n")
    issue = render_issue(sample_draft(), sample_config(tmp_path))
    assert '<h3 style="color:#123456;font-size:22px;line-height:28px">' in issue.email_html


@pytest.mark.parametrize(
    ("template", "body", "line"),
    [
        ("post.md", "Title\n\n{{ issue.subjet }}\n", 3),
        ("email.txt", "{% for section in sections %}\n{{ section.nmae }}\n{% endfor %}\n", 2),
        (
            "post.html",
            '{% extends "default/post.html" %}\n{% block footer %}\n'
            "{{ labels.nope }}{% endblock %}\n",
            3,
        ),
    ],
)
def test_template_typo_names_template_and_line(
    tmp_path: Path, template: str, body: str, line: int
) -> None:
    """StrictUndefined: a misspelt variable raises RenderError naming the file and line."""
    (tmp_path / template).write_text(body)
    with pytest.raises(RenderError, match=rf"{re.escape(str(tmp_path / template))}:{line}: "):
        render_issue(sample_draft(), sample_config(tmp_path))


def test_template_syntax_error_names_template_and_line(tmp_path: Path) -> None:
    """A template that does not parse raises RenderError naming the file and line."""
    (tmp_path / "post.md").write_text("ok\n{% if issue.subject %}\nno endif\n")
    with pytest.raises(RenderError, match=r"post\.md:\d+: Unexpected end of template"):
        render_issue(sample_draft(), sample_config(tmp_path))


# --- language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "email.html",
            [
                'lang="fr"',
                "Numéro 33 · 14 août 2015",
                "Se désabonner",
                "Voir en ligne",
                "aussi via Lawfare",
                "10 août 2015",
            ],
        ),
        ("email.txt", ["Numéro 33 · 14 août 2015", "Se désabonner [", "Note de la rédaction:"]),
        (
            "post.md",
            ["*War on the Rocks · 10 août 2015 · aussi via Lawfare", "**Note de la rédaction:**"],
        ),
        ("post.html", ['<html lang="fr"', "Dans ce numéro", "14 août 2015"]),
    ],
)
def test_french_newsletter_uses_french_dates_and_labels(name: str, expected: list[str]) -> None:
    """language: fr gives French dates and labels in every output."""
    issue = render_issue(sample_draft(), sample_config(language="fr"))
    rendered = output(issue, name)
    for fragment in expected:
        assert fragment in rendered


def test_french_more_this_week_label() -> None:
    """The overflow section heading follows the newsletter's language."""
    issue = render_issue(big_draft(300), sample_config(language="fr"))
    assert "Également cette semaine" in issue.email_html
    assert "moved" in issue.notices[-1] and "Également cette semaine" in issue.notices[-1]


# --- hostile content -----------------------------------------------------------------------

_HOSTILE = [
    ("script tag", re.compile(r"<script", re.IGNORECASE)),
    ("iframe", re.compile(r"<iframe", re.IGNORECASE)),
    ("javascript URL", re.compile(r"javascript:", re.IGNORECASE)),
    ("event handler", re.compile(r"\bon(error|click|load)\s*=", re.IGNORECASE)),
    ("data URL", re.compile(r"data:[a-z]+/", re.IGNORECASE)),
    ("tracking pixel", re.compile(r"pixel\.wp\.com|feedburner\.com/~r", re.IGNORECASE)),
    ("template syntax", re.compile(r"\{\{|\{%")),
]


@pytest.mark.parametrize("name", OUTPUTS)
@pytest.mark.parametrize(("what", "pattern"), _HOSTILE, ids=[what for what, _ in _HOSTILE])
def test_hostile_content_is_neutralised(
    sample: RenderedIssue, name: str, what: str, pattern: re.Pattern[str]
) -> None:
    """Feed and note content cannot put scripts, unsafe URLs or web bugs in any output."""
    assert pattern.search(output(sample, name)) is None, what


@pytest.mark.parametrize("name", ["email.html", "post.html"])
def test_hostile_item_keeps_its_text_but_loses_its_link(sample: RenderedIssue, name: str) -> None:
    """The javascript: item is shown, as plain text with no link, and no image."""
    tree = lxml_html.fromstring(output(sample, name))
    heading = next(h for h in tree.iter("h3") if "refugee" in h.text_content())
    assert heading.text_content().strip() == 'Syria\'s war alert("title") & the refugee exodus'
    assert heading.find(".//a") is None
    assert all(el.tag != "img" for el in heading.getparent().iter())


@pytest.mark.parametrize("name", ["email.html", "post.html"])
def test_note_markdown_is_rendered_and_sanitised(sample: RenderedIssue, name: str) -> None:
    """Notes become HTML (emphasis, links, lists); raw HTML in them is shown as text."""
    rendered = output(sample, name)
    assert "<em>Foreign Affairs</em>" in rendered
    assert '<a href="https://www.state.gov/e/eb/tfs/spi/iran/jcpoa/"' in rendered
    assert "<li>the reaction in Seoul</li>" in rendered
    assert re.search(r"<p[^>]*>alert\('note'\)</p>", rendered)  # tags gone, words stay
    assert re.search(r"<(b|iframe)[\s>]", rendered) is None
    assert "<strong>Why</strong>" in rendered  # a heading in a note is demoted
    assert len(re.findall(r"<h1[\s>]", rendered)) == 1


def test_links_are_upgraded_to_https_everywhere(sample: RenderedIssue) -> None:
    """An http:// item link becomes https:// in all four outputs."""
    url = "https://carnegieeurope.eu/strategiceurope/?fa=61004&lang=en"
    assert url.replace("&", "&amp;") in sample.email_html
    assert url.replace("&", "&amp;") in sample.post_html
    assert url in sample.email_text
    assert "(https://carnegieeurope.eu/strategiceurope/?fa=61004&lang=en)" in sample.post_md
    assert re.search(r'(href|src)="http:', sample.email_html + sample.post_html) is None


@pytest.mark.parametrize(
    ("note", "html"),
    [
        ("[x](http://example.org/a)", '<a href="https://example.org/a">x</a>'),
        ("[x](https://example.org/a)", '<a href="https://example.org/a">x</a>'),
        ("[x](mailto:me@example.org)", '<a href="mailto:me@example.org">x</a>'),
        ("<https://example.org/>", '<a href="https://example.org/">https://example.org/</a>'),
        ("[x](ftp://example.org/a)", "x"),
        ("[x](/relative)", "x"),
        ("[x](javascript:alert(1))", "x"),
        ("![a chart](https://example.org/i.png)", "a chart"),
    ],
)
def test_note_links(note: str, html: str) -> None:
    """Links in notes: http is upgraded, mailto kept, anything else keeps only its words."""
    assert markdown_html(note) == f"<p>{html}</p>"


@pytest.mark.parametrize(
    ("url", "email", "post"),
    [
        (IMAGE_HOST + "a.jpg", True, True),
        (IMAGE_HOST + "a.webp", False, True),
        (IMAGE_HOST + "logo.svg", False, True),
        ("http://images.example.org/a.jpg", False, False),
        ("data:image/png;base64,iVBORw0KGgo=", False, False),
        ("https://pixel.wp.com/g.gif?blog=1", False, False),
        ("https://example.org/wp-content/spacer.gif", False, False),
        ("https://example.org/img?w=1&h=1", False, False),
    ],
)
def test_image_rules(url: str, email: bool, post: bool) -> None:
    """Only https images reach the outputs; no web bugs; no WebP or SVG in the email."""
    item = _item("example.org/x", "An item", "A source", 10, image=url)
    draft = sample_draft()
    draft = Draft(**{**_fields(draft), "sections": (DraftSection("Only", "", (item,)),)})
    issue = render_issue(draft, sample_config())
    escaped = url.replace("&", "&amp;")
    assert (f'src="{escaped}"' in issue.email_html) is email
    assert (f'src="{escaped}"' in issue.post_html) is post


def _fields(draft: Draft) -> dict[str, object]:
    return {name: getattr(draft, name) for name in Draft.__dataclass_fields__}


# --- the size budget -----------------------------------------------------------------------


def _body_items(email_html: str) -> list[tuple[str, bool]]:
    """(title, has excerpt) for each item shown in full in the email, in order."""
    tree = lxml_html.fromstring(email_html)
    result = []
    for heading in tree.iter("h3"):
        cell = heading.getparent()
        paragraphs = [p for p in cell.iter("p") if "Story" not in p.text_content()]
        result.append(
            (heading.text_content(), any("An excerpt" in p.text_content() for p in paragraphs))
        )
    return result


def _more_items(email_html: str) -> list[str]:
    tree = lxml_html.fromstring(email_html)
    return [li.text_content().strip() for li in tree.iter("li")]


def test_email_size_budget_with_300_items(overflow: RenderedIssue) -> None:
    """300 items: the email stays under budget, excerpts go from the end, then links move."""
    size = len(overflow.email_html.encode("utf-8"))
    assert size < EMAIL_LIMIT
    assert size <= EMAIL_WARN
    body = _body_items(overflow.email_html)
    more = _more_items(overflow.email_html)
    assert body and more
    assert len(body) + len(more) == 300
    # the items keep their order: body first, then "More this week"
    assert [title.split(":")[0] for title, _ in body] == [f"Story {i}" for i in range(len(body))]
    assert [m.split(":")[0] for m in more] == [f"Story {i}" for i in range(len(body), 300)]
    # excerpts are dropped from the end: a run of items with, then only items without
    flags = [has for _, has in body]
    assert flags == sorted(flags, reverse=True)
    assert not flags[-1]
    dropped = flags.count(False)
    assert overflow.notices == (
        f"email over budget: dropped the excerpts of the last {dropped} items",
        f"moved {len(more)} items to 'More this week'",
    )


def test_email_size_budget_drops_excerpts_before_moving_items() -> None:
    """When dropping some excerpts is enough, no item moves to 'More this week'."""
    issue = render_issue(big_draft(90), sample_config())
    body = _body_items(issue.email_html)
    assert len(body) == 90
    assert _more_items(issue.email_html) == []
    flags = [has for _, has in body]
    assert flags[0] and not flags[-1] and flags == sorted(flags, reverse=True)
    assert issue.notices == (
        f"email over budget: dropped the excerpts of the last {flags.count(False)} items",
    )
    assert len(issue.email_html.encode("utf-8")) <= EMAIL_WARN


def test_email_size_budget_with_1000_items_leaves_the_rest_to_the_post() -> None:
    """1,000 items: 'More this week' is capped, and the rest is only in the blog post."""
    issue = render_issue(big_draft(1000), sample_config())
    assert len(issue.email_html.encode("utf-8")) <= EMAIL_WARN
    more = _more_items(issue.email_html)
    assert len(more) == MORE_LIMIT
    shown = len(_body_items(issue.email_html)) + len(more)
    assert f"left the last {1000 - shown} items out of the email" in issue.notices[-1]
    assert f"(+{1000 - shown})" in issue.email_html
    assert issue.post_html.count("<article") == 1000


def test_email_size_budget_without_budget_markers(tmp_path: Path) -> None:
    """A user template without budget markers is still fitted, by real renders."""
    (tmp_path / "email.html").write_text(
        '{% extends "default/email.html" %}\n{% block more %}{% if more %}'
        '<tr><td><ul>{% for item in more %}<li><a href="{{ item.url }}">{{ item.title }}</a>'
        "</li>{% endfor %}</ul></td></tr>{% endif %}{% endblock %}\n"
    )
    issue = render_issue(big_draft(300), sample_config(tmp_path))
    assert len(issue.email_html.encode("utf-8")) <= EMAIL_WARN
    assert issue.notices[-1].startswith("moved ")


def test_warning_notice_when_the_fixed_parts_are_too_big() -> None:
    """An intro too long to fit gives a size notice rather than a clipped surprise."""
    draft = Draft(**{**_fields(sample_draft()), "intro": "Long intro paragraph. " * 5000})
    issue = render_issue(draft, sample_config())
    assert "over the 102,000-byte limit" in issue.notices[-1]


def test_missing_postal_address_is_a_notice() -> None:
    """With no postal address, the renderer says so (anti-spam laws want one)."""
    issue = render_issue(sample_draft(), sample_config(postal_address=""))
    assert issue.notices == (
        "newsletter.postal_address is empty: the email footer has no postal address",
    )


# --- the text part -------------------------------------------------------------------------


def _references(email_text: str) -> dict[int, str]:
    return {int(n): url for n, url in re.findall(r"^\[(\d+)\]\s+(\S+)$", email_text, re.M)}


def test_text_part_numbers_its_links(sample: RenderedIssue) -> None:
    """Links become 'Title [n]' and a list of '[n] URL' at the end, numbered from 1."""
    refs = _references(sample.email_text)
    assert sorted(refs) == list(range(1, len(refs) + 1))
    assert refs[1] == "https://blog.example.org/2015-08-14-weekly-roundup/"
    assert "View online [1]" in sample.email_text
    cited = {int(n) for n in re.findall(r"\[(\d+)\](?!\s+\S+$)", sample.email_text)}
    assert cited == set(refs)
    title = "The Iran Deal and the Limits of Coercion"
    number = next(n for n, url in refs.items() if "limits-of-coercion" in url)
    assert f"{title} [{number}]" in sample.email_text
    unsubscribe = next(n for n, url in refs.items() if UNSUBSCRIBE_TOKEN in url)
    assert f"Unsubscribe [{unsubscribe}]" in sample.email_text
    assert len(set(refs.values())) == len(refs)


def test_text_part_note_links_and_lists(sample: RenderedIssue) -> None:
    """Notes keep their list numbers and their links become references too."""
    assert "  1. the apology language\n  2. the reaction in Seoul" in sample.email_text
    assert "  > Debt relief is the elephant in the room." in sample.email_text
    refs = _references(sample.email_text)
    assert "https://www.state.gov/e/eb/tfs/spi/iran/jcpoa/" in refs.values()
    assert "mailto:editors@example.org" in refs.values()


# --- the blog post -------------------------------------------------------------------------


def test_post_front_matter_is_valid_yaml(sample: RenderedIssue) -> None:
    """post.md opens with YAML front matter that Jekyll, Hugo and Pelican can read."""
    match = re.match(r"---\n(.*?)\n---\n", sample.post_md, re.DOTALL)
    assert match
    meta = YAML(typ="safe").load(match[1])
    assert meta["title"] == "8/14 Weekly Roundup"
    assert meta["slug"] == "2015-08-14-weekly-roundup"
    assert meta["date"] == datetime(2015, 8, 14, tzinfo=TZ)  # midnight in New York
    assert meta["tags"] == ["Middle East", "Asia", "Europe"]
    assert meta["layout"] == "post"


def test_post_front_matter_quotes_hostile_titles() -> None:
    """Quotes, colons and newlines in a subject cannot break the front matter."""
    draft = Draft(**{**_fields(sample_draft()), "subject": 'A "quoted": title\n---\nx: 1'})
    issue = render_issue(draft, sample_config())
    meta = YAML(typ="safe").load(issue.post_md.split("---\n")[1])
    assert meta["title"] == 'A "quoted": title --- x: 1'
    assert "x" not in meta


def test_post_url_and_slug() -> None:
    """The post URL is newsletter.url + '<last day>-<slugified title>/'."""
    config = sample_config(title="Revue de la Semaine", url="https://exemple.fr/blog/")
    assert (
        post_url(sample_draft(), config)
        == "https://exemple.fr/blog/2015-08-14-revue-de-la-semaine/"
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, f"https://news.example.org/unsubscribe/{UNSUBSCRIBE_TOKEN}"),
        (
            {"unsubscribe_url": "", "unsubscribe_mailto": "mailto:leave@example.org"},
            "mailto:leave@example.org?subject=unsubscribe",
        ),
        (
            {"unsubscribe_url": "", "unsubscribe_mailto": "mailto:leave@example.org?subject=stop"},
            "mailto:leave@example.org?subject=stop",
        ),
        ({"unsubscribe_url": ""}, "mailto:roundup@example.org?subject=unsubscribe"),
    ],
)
def test_unsubscribe_link(settings: dict[str, str], expected: str) -> None:
    """unsubscribe_url with the placeholder token, else the mailto, else the From address."""
    issue = render_issue(sample_draft(), sample_config(**settings))
    assert f'href="{expected}"' in issue.email_html
    assert expected in issue.email_text


def test_write_issue_writes_four_files(tmp_path: Path, sample: RenderedIssue) -> None:
    """write_issue writes email.html, email.txt, post.md and post.html, and lists them."""
    paths = write_issue(tmp_path / "2015-W33", sample)
    post_md = "2015-08-14-weekly-roundup.md"  # the name site generators expect
    assert [path.name for path in paths] == [
        post_md if name == "post.md" else name for name in OUTPUTS
    ]
    for path, name in zip(paths, OUTPUTS, strict=True):
        assert path.read_text(encoding="utf-8") == output(sample, name)


def test_write_issue_failure_is_a_render_error(tmp_path: Path, sample: RenderedIssue) -> None:
    """A folder that cannot be created gives a RenderError naming the path."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RenderError, match="cannot write"):
        write_issue(blocker / "sub", sample)


# --- the registry of outputs ------------------------------------------------------------


def render_links(context: IssueContext) -> str:
    """A sixth output, as its own module would define it: every item's title and link."""
    return tidy(context.render("links.txt", sections=context.issue.sections))


LINKS = Renderer("links.txt", render_links)
LINKS_TEMPLATE = """{{ issue.subject | underline("=") }}
{% for section in sections %}

{{ section.name }}
{% for item in section.items %}
- {{ item.title }}{% if item.url %} <{{ item.url }}>{% endif %}

{% endfor %}
{% endfor %}
"""


def test_the_registry_holds_the_four_outputs() -> None:
    """RENDERERS names each output once, in the order write_issue writes them."""
    assert [renderer.name for renderer in RENDERERS] == list(OUTPUTS)


def test_registered_renderer_adds_an_output(tmp_path: Path, sample: RenderedIssue) -> None:
    """One more Renderer over one more template is rendered and written like the others."""
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "links.txt").write_text(LINKS_TEMPLATE)
    issue = render_issue(sample_draft(), sample_config(theme), renderers=(*RENDERERS, LINKS))

    links = issue.outputs["links.txt"]
    assert links.startswith("8/14 Weekly Roundup\n===================\n\nMiddle East\n")
    assert "- The Iran Deal and the Limits of Coercion <https://warontherocks.com/2015/08/" in links
    assert '- Syria\'s war alert("title") & the refugee exodus\n' in links  # no link: unsafe
    assert links.count("\n- ") == 10 and links.endswith(">\n")
    assert {name: issue.outputs[name] for name in OUTPUTS} == dict(sample.outputs)
    assert issue.notices == sample.notices

    paths = write_issue(tmp_path / "2015-W33", issue)
    assert [path.name for path in paths][3:] == ["post.html", "links.txt"]
    assert (tmp_path / "2015-W33" / "links.txt").read_text(encoding="utf-8") == links


def test_renderers_choose_the_outputs(tmp_path: Path) -> None:
    """render_issue makes only the outputs it is given; the others are not rendered."""
    (tmp_path / "post.html").write_text("{{ issue.no_such_field }}")  # would fail if rendered
    issue = render_issue(sample_draft(), sample_config(tmp_path), renderers=(post_md.RENDERER,))
    assert list(issue.outputs) == ["post.md"]
    with pytest.raises(KeyError):
        issue.post_html  # noqa: B018 - the property is the thing tested


def test_issue_dates_use_the_newsletter_timezone() -> None:
    """An item published late on the 14th in New York is dated the 14th, not the 15th."""
    late = _item("example.org/late", "Late", "Source", None, published=_at(14, 23))
    draft = Draft(**{**_fields(sample_draft()), "sections": (DraftSection("S", "", (late,)),)})
    issue = render_issue(draft, sample_config())
    assert "Source · Aug 14, 2015" in issue.email_html


def test_check_templates_accepts_the_default_theme() -> None:
    """check_templates passes for the default theme."""
    check_templates(sample_config())


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        (
            "email.html",
            '{% extends "default/email.html" %}\n{% block footer %}{{ issue.adress }}'
            "{% endblock %}",
            r"email\.html:2: .*'adress'",
        ),
        ("extra.html", "{% if %}", r"extra\.html:1: "),
        ("post.md", '{% include "missing.md" %}', r"'missing\.md' not found"),
    ],
)
def test_check_templates_reports_the_faulty_template(
    tmp_path: Path, name: str, body: str, message: str
) -> None:
    """check_templates raises RenderError naming a broken user template."""
    (tmp_path / name).write_text(body)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n")  # not a template: ignored
    with pytest.raises(RenderError, match=message):
        check_templates(sample_config(tmp_path))


@pytest.mark.parametrize(
    ("template", "blocks"),
    [
        ("email.html", "head topbar masthead intro sections item more footer"),
        ("post.html", "head masthead toc intro sections item footer"),
    ],
)
def test_readme_names_the_real_blocks(template: str, blocks: str) -> None:
    """The blocks the README offers for overriding exist in the default theme."""
    import re

    source = (Path(__file__).resolve().parent.parent / "templates" / template).read_text()
    assert set(re.findall(r"{%-? block (\w+)", source)) == set(blocks.split())
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    listed = ", ".join(f"`{name}`" for name in blocks.split()[:-1])
    assert f"in `{template}`, {listed}" in readme.replace("\n", " ")
