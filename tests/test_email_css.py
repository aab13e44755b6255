"""The email's CSS, inlined by premailer and trimmed of the bytes inlining leaves."""

from __future__ import annotations

from roundup.email_css import inline

PAGE = (
    "<html><head><style>.a{color:red} .b{margin:0}"
    " @media (max-width:600px){.a{color:blue !important}}</style></head><body>\n"
    '   <p class="a b c">x</p>\n<pre>\n   keep</pre></body></html>'
)


def test_inline_moves_rules_into_style_attributes_and_keeps_media_rules() -> None:
    """Only @media rules stay in <style> (C1), minified; the others are inlined, compactly."""
    assert inline(PAGE) == (
        "<html><head><style>@media (max-width:600px){.a{color:blue !important}}</style>"
        '</head><body>\n<p class="a" style="color:red;margin:0">x</p>\n'
        "<pre>\n   keep</pre></body></html>"
    )


def test_inline_drops_indentation_but_not_inside_pre() -> None:
    """Leading whitespace is dead bytes (S1), except where it is the content."""
    inlined = inline(PAGE)
    assert "\n   <p" not in inlined
    assert "<pre>\n   keep</pre>" in inlined


def test_inline_keeps_only_class_names_a_media_rule_uses() -> None:
    """After inlining, ``b`` and ``c`` style nothing; ``a`` is still needed by @media."""
    assert 'class="a"' in inline(PAGE)
    assert "class=" not in inline("<html><body><p class='z'>x</p></body></html>")
