"""Every rule of shared/email-checklist.md (S, C, H, A, T) checked on the rendered email.

Each test is named after its rule id and runs on two issues: the ten-item sample and a
300-item issue that overflows the size budget (so "More this week" and its button show).
A rule that does not apply to our theme is tested by asserting what makes it inapplicable.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from email.message import EmailMessage

import cssutils
import pytest
from lxml import etree
from lxml import html as lxml_html

from roundup.email_budget import EMAIL_LIMIT, EMAIL_WARN
from roundup.models import UNSUBSCRIBE_TOKEN
from roundup.render import RenderedIssue, render_issue
from tests.test_render import big_draft, sample_config, sample_draft

cssutils.log.setLevel(logging.CRITICAL)

_DRAFTS = {"sample": sample_draft, "overflow": lambda: big_draft(300)}


@pytest.fixture(scope="module", params=sorted(_DRAFTS))
def case(request: pytest.FixtureRequest) -> tuple[str, RenderedIssue]:
    name: str = request.param
    return name, render_issue(_DRAFTS[name](), sample_config())


@pytest.fixture
def issue(case: tuple[str, RenderedIssue]) -> RenderedIssue:
    return case[1]


@pytest.fixture
def tree(issue: RenderedIssue) -> etree._Element:
    return lxml_html.document_fromstring(issue.email_html)


# --- helpers -------------------------------------------------------------------------------


def _styles(element: etree._Element) -> dict[str, str]:
    """The inline declarations of ``element``, property -> value (lower-cased names)."""
    result = {}
    for declaration in (element.get("style") or "").split(";"):
        name, _, value = declaration.partition(":")
        if name.strip():
            result[name.strip().lower()] = value.strip()
    return result


def _css(tree: etree._Element) -> str:
    return "\n".join(style.text or "" for style in tree.iter("style"))


def _media_rules(tree: etree._Element) -> Iterator[cssutils.css.CSSMediaRule]:
    sheet = cssutils.parseString(_css(tree), validate=False)
    for rule in sheet.cssRules:
        if rule.type == rule.MEDIA_RULE:
            yield rule


def _hidden(element: etree._Element) -> bool:
    """True inside the preheader (display:none), which has no visible text."""
    return any("none" in _styles(el).get("display", "") for el in _lineage(element))


def _lineage(element: etree._Element) -> Iterator[etree._Element]:
    node: etree._Element | None = element
    while node is not None:
        yield node
        node = node.getparent()


def _text_elements(tree: etree._Element) -> Iterator[etree._Element]:
    """Elements that hold visible text directly (their own text or a child's tail)."""
    for element in tree.body.iter():
        if not isinstance(element.tag, str) or _hidden(element):
            continue
        own = (element.text or "").strip() or any((child.tail or "").strip() for child in element)
        if own:
            yield element


def _is_button(anchor: etree._Element) -> bool:
    """H10's bulletproof button: a block <a> alone in a <td bgcolor>."""
    parent = anchor.getparent()
    return (
        parent is not None
        and parent.tag == "td"
        and parent.get("bgcolor") is not None
        and "block" in _styles(anchor).get("display", "")
    )


def _hex(value: str) -> tuple[float, float, float]:
    value = value.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(char * 2 for char in value)
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _hex(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _dark_overrides(tree: etree._Element) -> dict[str, dict[etree._Element, str]]:
    """What the prefers-color-scheme:dark rules set on each element."""
    overrides: dict[str, dict[etree._Element, str]] = {"color": {}, "background-color": {}}
    for media in _media_rules(tree):
        if "prefers-color-scheme" not in media.media.mediaText:
            continue
        for rule in media.cssRules:
            for selector in rule.selectorList:
                for element in tree.cssselect(selector.selectorText):
                    for prop in ("color", "background-color"):
                        value = rule.style.getPropertyValue(prop)
                        if value:
                            overrides[prop][element] = value
    return overrides


def _effective(
    element: etree._Element, prop: str, dark: dict[etree._Element, str] | None
) -> str | None:
    """The colour ``prop`` that applies to ``element``: its own or the nearest ancestor's."""
    for node in _lineage(element):
        if dark is not None and node in dark:
            return dark[node]
        value = _styles(node).get(prop)
        if value:
            return value
        if prop == "background-color" and node.get("bgcolor"):
            return node.get("bgcolor")
    return None


def _font_size(element: etree._Element) -> float:
    for node in _lineage(element):
        size = _styles(node).get("font-size")
        if size:
            return float(size.removesuffix("px"))
    return 16.0


def _bold(element: etree._Element) -> bool:
    for node in _lineage(element):
        if node.tag in ("h1", "h2", "h3", "strong", "b"):
            return True
        if _styles(node).get("font-weight") in ("bold", "700", "800", "900"):
            return True
    return False


def _references(email_text: str) -> dict[str, int]:
    pairs = re.findall(r"^\[(\d+)\](?: |\n)(\S+)$", email_text, re.MULTILINE)
    return {url: int(number) for number, url in pairs}


# --- A. Size -------------------------------------------------------------------------------


def test_S1_decoded_html_under_102000_bytes(issue: RenderedIssue) -> None:
    """S1: the HTML part is under 102,000 UTF-8 bytes; above 90,000 there is a notice."""
    size = len(issue.email_html.encode("utf-8"))
    assert size < EMAIL_LIMIT
    warned = any("warning threshold" in notice for notice in issue.notices)
    assert warned == (size > EMAIL_WARN)


def test_S2_no_control_characters(issue: RenderedIssue) -> None:
    """S2: no C0 or C1 control characters other than TAB, CR and LF."""
    assert re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", issue.email_html) is None


def test_S3_css_under_16384_bytes(tree: etree._Element) -> None:
    """S3: the CSS of all <style> elements totals 16,384 bytes or less."""
    assert 0 < len(_css(tree).encode("utf-8")) <= 16_384


def test_S4_mime_lines_at_most_998_octets(issue: RenderedIssue) -> None:
    """S4: no raw MIME line of the message is longer than 998 octets."""
    message = EmailMessage()
    message["Subject"] = "8/14 Weekly Roundup"
    message.set_content(issue.email_text)
    message.add_alternative(issue.email_html, subtype="html")
    lines = message.as_bytes().split(b"\n")
    assert max(len(line.rstrip(b"\r")) for line in lines) <= 998


# --- B. CSS --------------------------------------------------------------------------------

_CLIENT_HACKS = ("[x-apple-data-detectors]", "u ~ div", "#MessageViewBody", ".a6S")


def test_C1_only_media_rules_left_in_style(tree: etree._Element) -> None:
    """C1: after inlining, <style> holds only @media, pseudo-class and client-hack rules."""
    sheet = cssutils.parseString(_css(tree), validate=False)
    for rule in sheet.cssRules:
        if rule.type == rule.STYLE_RULE:
            selector = rule.selectorText
            assert ":" in selector or selector.startswith(_CLIENT_HACKS), selector
        else:
            assert rule.type in (rule.MEDIA_RULE, rule.COMMENT), rule.cssText
    assert any(True for _ in _media_rules(tree))


def test_C2_style_only_in_head(tree: etree._Element) -> None:
    """C2: <style> appears only in <head>."""
    styles = list(tree.iter("style"))
    assert styles
    assert all(style.getparent().tag == "head" for style in styles)


def test_C3_no_nested_at_rules(tree: etree._Element) -> None:
    """C3: no at-rule inside another at-rule."""
    depth = 0
    for char in re.sub(r"/\*.*?\*/", "", _css(tree), flags=re.DOTALL):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "@":
            assert depth == 0
    assert depth == 0


def test_C4_media_declarations_are_important(tree: etree._Element) -> None:
    """C4: every declaration inside @media ends in !important."""
    declarations = [
        prop
        for media in _media_rules(tree)
        for rule in media.cssRules
        for prop in rule.style.getProperties()
    ]
    assert declarations
    assert all(prop.priority == "important" for prop in declarations), [
        prop.name for prop in declarations if prop.priority != "important"
    ]


def test_C5_no_important_inline(tree: etree._Element) -> None:
    """C5: no inline style attribute contains !important."""
    assert all("!important" not in (el.get("style") or "") for el in tree.iter())


_OUTLOOK_UNSUPPORTED = re.compile(
    r"display\s*:\s*(flex|grid)|(^|;)\s*(position|float|box-sizing|min-width|max-height"
    r"|border-radius|background-image)\s*:|var\(--",
    re.IGNORECASE,
)


def test_C6_inline_styles_avoid_unsupported_css(tree: etree._Element) -> None:
    """C6: no flex, grid, position, float, box-sizing, min-width, max-height, etc. inline."""
    preheader = tree.body[0]
    for element in tree.iter():
        if element is preheader:  # H4 requires max-height:0 on it
            continue
        style = element.get("style") or ""
        assert _OUTLOOK_UNSUPPORTED.search(style) is None, (element.tag, style)


def test_C7_padding_only_on_td_and_safe_margins(tree: etree._Element) -> None:
    """C7: padding only on <td> (and H10's button <a>); no negative, auto or span/body margin."""
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        styles = _styles(element)
        padded = any(name.startswith("padding") for name in styles)
        if padded and element.tag != "td":
            assert element.tag == "a" and _is_button(element), element.tag
        for name, value in styles.items():
            if name.startswith("margin"):
                assert element.tag not in ("span", "body"), element.tag
                assert "auto" not in value and not re.search(r"(^|\s)-\d", value), value


def test_C8_no_space_separated_rgb(issue: RenderedIssue) -> None:
    """C8: no space-separated rgb()/rgba() syntax anywhere."""
    assert re.search(r"rgba?\(\s*[\d.]+%?\s+[\d.]", issue.email_html) is None


def test_C9_dark_mode_has_color_scheme_metas(tree: etree._Element) -> None:
    """C9: the dark @media is accompanied by color-scheme and supported-color-schemes."""
    css = _css(tree)
    assert "prefers-color-scheme" in css  # the theme uses dark mode, so the metas must exist
    metas = {meta.get("name"): meta.get("content") for meta in tree.iter("meta")}
    assert metas.get("color-scheme") == "light dark"
    assert metas.get("supported-color-schemes") == "light dark"


def test_C10_no_font_face_and_web_safe_stacks(issue: RenderedIssue, tree: etree._Element) -> None:
    """C10: no @font-face (so no remote fonts to fall back from); stacks end web-safe."""
    assert "@font-face" not in issue.email_html
    families = [
        _styles(element)["font-family"]
        for element in tree.iter()
        if "font-family" in _styles(element)
    ]
    assert families
    assert all(family.split(",")[-1].strip() in ("serif", "sans-serif") for family in families)


# --- C. HTML structure ---------------------------------------------------------------------


def test_H1_presentation_tables_and_600px_container(tree: etree._Element) -> None:
    """H1: layout tables are role=presentation with zeroed spacing; container width <= 600."""
    tables = list(tree.iter("table"))
    assert tables
    for table in tables:
        assert table.get("role") == "presentation"
        assert (table.get("cellpadding"), table.get("cellspacing"), table.get("border")) == (
            "0",
            "0",
            "0",
        )
        width = table.get("width")
        assert width is None or width == "100%" or (width.isdigit() and int(width) <= 600)
    assert any((table.get("width") or "").isdigit() for table in tables)


def test_H2_mso_ghost_table_and_office_settings(tree: etree._Element) -> None:
    """H2: an MSO ghost table wraps the container; the head has OfficeDocumentSettings."""
    head = [c.text for c in tree.head.iter(etree.Comment)]
    body = [c.text for c in tree.body.iter(etree.Comment)]
    assert any("<o:OfficeDocumentSettings>" in c and "<o:PixelsPerInch>96" in c for c in head)
    assert any(c.startswith('[if mso]><table role="presentation" width="600"') for c in body)
    assert any(c.startswith("[if mso]></td></tr></table>") for c in body)


def test_H3_doctype_html_attributes_and_head(issue: RenderedIssue, tree: etree._Element) -> None:
    """H3: doctype, <html lang dir xmlns:v xmlns:o>, charset early, viewport, title = subject."""
    assert issue.email_html.startswith("<!DOCTYPE html>")
    html_tag = re.search(r"<html[^>]*>", issue.email_html)
    assert html_tag
    for attribute in ('lang="en"', 'dir="ltr"', "xmlns:v=", "xmlns:o="):
        assert attribute in html_tag[0]
    assert b'<meta charset="utf-8">' in issue.email_html.encode("utf-8")[:1024]
    metas = {meta.get("name"): meta.get("content") for meta in tree.iter("meta")}
    assert metas["viewport"] == "width=device-width"
    assert "x-apple-disable-message-reformatting" in metas
    assert "format-detection" in metas
    assert tree.findtext(".//title") == "8/14 Weekly Roundup"


def test_H4_hidden_preheader_first_in_body(tree: etree._Element) -> None:
    """H4: the preheader is the body's first element, hidden, padded, and restates content."""
    preheader = tree.body[0]
    styles = _styles(preheader)
    assert styles["display"] == "none"
    assert styles["max-height"] in ("0", "0px")
    assert styles["overflow"] == "hidden"
    assert styles["mso-hide"] == "all"
    assert preheader.get("aria-hidden") == "true"
    content = preheader.text_content()
    summary = sample_draft().preheader
    assert content.startswith(summary)
    assert content[len(summary) :].startswith("\u200c\u00a0\u200c\u00a0")
    visible = " ".join(element.text_content() for element in tree.body[1:])
    assert summary in visible


def test_H5_images_have_alt_width_border(tree: etree._Element) -> None:
    """H5: every <img> has alt, numeric width, border=0, block style and an https src.

    The thumbnails are decorative (the headline beside them says what they show), so their
    alt is empty: with images blocked nothing shows, rather than the title again, broken
    mid-word in a 120 px cell. Their height is left out: feeds do not tell the aspect ratio.
    """
    images = list(tree.iter("img"))
    assert images
    for image in images:
        assert image.get("alt") == ""
        assert (image.get("width") or "").isdigit()
        assert image.get("border") == "0"
        styles = _styles(image)
        assert styles["display"] == "block"
        assert styles["height"] == "auto"
        assert styles["max-width"] == "100%"
        src = image.get("src") or ""
        assert src.startswith("https://")
        assert not src.lower().endswith((".svg", ".webp"))
        assert image.get("srcset") is None
    assert not list(tree.iter("picture"))


def test_H6_no_forbidden_elements(issue: RenderedIssue, tree: etree._Element) -> None:
    """H6: no script, form, video, audio, svg, iframe, object, stylesheet link, @import."""
    forbidden = {"script", "form", "video", "audio", "svg", "iframe", "object"}
    assert not [el.tag for el in tree.iter() if el.tag in forbidden]
    assert not [link for link in tree.iter("link") if link.get("rel") == "stylesheet"]
    assert "@import" not in issue.email_html


def test_H7_no_html5_sectioning_elements(tree: etree._Element) -> None:
    """H7: no header, nav, main, article, section, details or summary elements."""
    sectioning = {"header", "nav", "main", "article", "section", "details", "summary"}
    assert not [el.tag for el in tree.iter() if el.tag in sectioning]


def test_H8_absolute_https_links_and_no_template_syntax(
    issue: RenderedIssue, tree: etree._Element
) -> None:
    """H8: every href and src is https, mailto:, tel: or #; no unrendered template syntax."""
    urls = [el.get(attr) for el in tree.iter() for attr in ("href", "src") if el.get(attr)]
    assert urls
    for url in urls:
        assert url.startswith(("https://", "mailto:", "tel:", "#")), url
    for leftover in ("{{", "{%", "%7B%7B", "%7b%7b"):
        assert leftover not in issue.email_html


def test_H9_visible_unsubscribe_and_postal_address(tree: etree._Element) -> None:
    """H9: a visible unsubscribe link and the postal address appear in the body."""
    unsubscribe = [
        a
        for a in tree.iter("a")
        if a.get("href") == f"https://news.example.org/unsubscribe/{UNSUBSCRIBE_TOKEN}"
    ]
    assert unsubscribe and not any(_hidden(a) for a in unsubscribe)
    assert unsubscribe[0].text_content() == "Unsubscribe"
    visible = " ".join(el.text_content() for el in tree.body[1:])
    for line in (
        "Example Institute for Foreign Policy",
        "1775 Massachusetts Ave NW",
        "Washington, DC 20036",
    ):
        assert line in visible


def test_H10_bulletproof_buttons(case: tuple[str, RenderedIssue], tree: etree._Element) -> None:
    """H10: buttons are a padded <a> in a <td bgcolor>; no link is only an image."""
    for anchor in tree.iter("a"):
        assert anchor.text_content().strip(), "a link made only of an image"
    blocks = [a for a in tree.iter("a") if "block" in _styles(a).get("display", "")]
    assert all(_is_button(a) and "padding" in _styles(a) for a in blocks)
    more = any(h2.text_content() == "More this week" for h2 in tree.iter("h2"))
    assert bool(blocks) == more  # the overflow issue has its "View online" button
    assert more == (case[0] == "overflow")


# --- E. Accessibility ----------------------------------------------------------------------


def test_A1_lang_and_dir_on_html_and_wrapper(tree: etree._Element) -> None:
    """A1: lang and dir on <html> and on the role=article wrapper."""
    root = tree
    wrapper = tree.body[1]
    assert (root.get("lang"), root.get("dir")) == ("en", "ltr")
    assert wrapper.get("role") == "article"
    assert wrapper.get("aria-roledescription") == "email"
    assert (wrapper.get("lang"), wrapper.get("dir")) == ("en", "ltr")


def test_A2_layout_tables_are_presentation(tree: etree._Element) -> None:
    """A2: every <table> has role=presentation (we have no data tables)."""
    assert all(table.get("role") == "presentation" for table in tree.iter("table"))


def test_A3_one_h1_and_no_skipped_levels(tree: etree._Element) -> None:
    """A3: exactly one <h1>; heading levels never skip going down."""
    headings = ("h1", "h2", "h3", "h4", "h5", "h6")
    levels = [int(el.tag[1]) for el in tree.iter() if el.tag in headings]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(after <= before + 1 for before, after in itertools.pairwise(levels))


@pytest.mark.parametrize("palette", ["light", "dark"])
def test_A4_text_contrast(tree: etree._Element, palette: str) -> None:
    """A4: every text's contrast is at least 4.5:1 (3:1 for large text), light and dark."""
    overrides = _dark_overrides(tree) if palette == "dark" else None
    checked = 0
    for element in _text_elements(tree):
        foreground = _effective(element, "color", overrides and overrides["color"]) or "#000000"
        background = (
            _effective(element, "background-color", overrides and overrides["background-color"])
            or "#ffffff"
        )
        size = _font_size(element)
        large = size >= 24 or (size >= 18.66 and _bold(element))
        ratio = contrast(foreground, background)
        assert ratio >= (3.0 if large else 4.5), (
            f"{element.tag} {element.text_content()[:40]!r}: {foreground} on {background} "
            f"= {ratio:.2f}"
        )
        checked += 1
    assert checked > 20


_VAGUE = {"click here", "here", "link", "this", "more", "read more", "this link", "click"}


def test_A5_links_descriptive_and_underlined(tree: etree._Element) -> None:
    """A5: link text is descriptive and links are underlined (buttons excepted).

    A headline is the other exception: the whole <h3> is the link, set apart by its size and
    weight rather than by colour, so it is styled as a headline, not underlined.
    """
    anchors = list(tree.iter("a"))
    assert anchors
    headlines = 0
    for anchor in anchors:
        label = anchor.text_content().strip().lower()
        assert label not in _VAGUE and len(label) >= 4, label
        parent = anchor.getparent()
        if parent is not None and parent.tag == "h3":
            headlines += 1
            assert _styles(anchor).get("text-decoration") == "none", label
            assert _styles(parent).get("font-weight") == "bold", label
            assert anchor.text_content() == parent.text_content()  # the link is the heading
        elif not _is_button(anchor):
            assert _styles(anchor).get("text-decoration") == "underline", label
    assert headlines > 0


def test_A6_text_size_and_exact_line_height(tree: etree._Element) -> None:
    """A6: visible text is 14px or larger; every line-height is in px with the mso rule."""
    for element in _text_elements(tree):
        assert _font_size(element) >= 14, element.text_content()[:40]
    for element in tree.iter():
        styles = _styles(element) if isinstance(element.tag, str) else {}
        if "line-height" in styles:
            assert styles["line-height"].endswith("px")
            assert styles.get("mso-line-height-rule") == "exactly"


# --- F. Plain-text part --------------------------------------------------------------------


def test_T1_every_https_link_is_a_numbered_reference(
    issue: RenderedIssue, tree: etree._Element
) -> None:
    """T1: every https link of the HTML is in the text part as a numbered reference."""
    links = {a.get("href") for a in tree.iter("a") if (a.get("href") or "").startswith("https")}
    references = _references(issue.email_text)
    assert links and links <= set(references)
    for url in links:
        assert f"[{references[url]}]" in issue.email_text.split("\n\n[1]")[0]


def test_T2_lines_at_most_78_characters(issue: RenderedIssue) -> None:
    """T2: no line over 78 characters except a line that is only a URL; none over 998."""
    for line in issue.email_text.splitlines():
        assert len(line) <= 998
        if len(line) > 78:
            assert re.fullmatch(r"(https|mailto):\S+", line), line


def test_T3_no_markup_in_text(issue: RenderedIssue) -> None:
    """T3: no tags, entities, template syntax or 'None' in the text part."""
    body = issue.email_text
    assert re.search(r"<[a-zA-Z/!]", body) is None
    assert re.search(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", body, re.IGNORECASE) is None
    assert "{{" not in body and "{%" not in body
    assert re.search(r"\bNone\b", body) is None


def test_T4_underlined_headings_and_separated_items(issue: RenderedIssue) -> None:
    """T4: headings are underlined with === and ---; items are separated by blank lines."""
    lines = issue.email_text.splitlines()
    assert lines[0] == "Weekly Roundup" and lines[1] == "=" * len(lines[0])
    underlines = [i for i, line in enumerate(lines) if re.fullmatch(r"-{3,}", line)]
    headings = [lines[i - 1] for i in underlines]
    assert "Middle East" in headings
    for index in underlines:
        assert len(lines[index]) == len(lines[index - 1])
        assert lines[index - 2] == ""
    titles = [i for i, line in enumerate(lines) if re.match(r"(Story \d+|The Iran Deal)", line)]
    assert titles
    for index in titles:
        assert lines[index - 1] == "", lines[index]


def test_T5_not_flowed_so_hard_wrapped_at_72(issue: RenderedIssue) -> None:
    """T5: without format=flowed, lines are hard-wrapped at 72 with no trailing spaces."""
    message = EmailMessage()
    message.set_content(issue.email_text)
    assert "format=flowed" not in message["Content-Type"]
    for line in issue.email_text.splitlines():
        assert not line.endswith(" ")
        if len(line) > 72:
            assert re.fullmatch(r"(https|mailto):\S+", line), line
