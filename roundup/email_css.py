"""The email's CSS, inlined: what email clients that ignore ``<style>`` still show.

:func:`inline` runs premailer over the rendered template, then takes out the bytes that
inlining leaves behind (indentation, cssutils' spacing, class names no rule needs), since
every byte counts against Gmail's clipping size (S1).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from premailer import Premailer

_PREMAILER_OPTIONS: dict[str, Any] = {
    "strip_important": False,  # keep !important inside @media (C4)
    "disable_basic_attributes": ["width", "height"],  # never overwrite <img width> (H5)
    "disable_link_rewrites": True,
    "keep_style_tags": False,  # only the @media rules stay in <style> (C1)
    "remove_classes": False,  # @media rules still need them
    "cssutils_logging_level": logging.CRITICAL,  # mso-* properties are not CSS
    "allow_network": False,
    "disable_validation": True,
    "exclude_pseudoclasses": True,
}

_PRE = re.compile(r"(<pre[\s>].*?</pre>)", re.DOTALL | re.IGNORECASE)
_INDENT = re.compile(r"\n[ \t]+")
_STYLE_ATTRIBUTE = re.compile(r"""(?<= style=)(["'])(.*?)\1""")
_CLASS_ATTRIBUTE = re.compile(r""" class=(["'])(.*?)\1""")
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_CLASS_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")


def inline(html: str) -> str:
    """``html`` with its CSS inlined by premailer, and the whitespace it does not need gone."""
    pieces = _PRE.split(html)
    html = "".join(
        piece if index % 2 else _INDENT.sub("\n", piece) for index, piece in enumerate(pieces)
    )
    inlined: str = Premailer(html, **_PREMAILER_OPTIONS).transform(pretty_print=False)
    inlined = _STYLE_ATTRIBUTE.sub(
        lambda m: m[1] + m[2].replace("; ", ";").replace(", ", ",") + m[1], inlined
    )
    inlined = _STYLE_ELEMENT.sub(lambda m: m[0].replace(m[1], _minify_css(m[1])), inlined)
    return _prune_classes(inlined)


def _minify_css(css: str) -> str:
    """The @media rules premailer leaves, without cssutils' indentation (S1 bytes)."""
    css = re.sub(r"\s+", " ", css)
    css = re.sub(r"\s*([{};,>])\s*", r"\1", css)
    return re.sub(r"(?<=[\w)]):\s+", ":", css).replace(";}", "}").strip()


def _prune_classes(html: str) -> str:
    """Drop the class names no remaining ``<style>`` rule uses: after inlining they are
    dead bytes on every item (S1)."""
    used = {name for css in _STYLE_ELEMENT.findall(html) for name in _CLASS_SELECTOR.findall(css)}

    def keep(match: re.Match[str]) -> str:
        names = [name for name in match[2].split() if name in used]
        return f' class="{" ".join(names)}"' if names else ""

    return _CLASS_ATTRIBUTE.sub(keep, html)
