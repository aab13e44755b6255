"""A fast path for well-formed RSS and Atom: the result feedparser would give, or nothing.

:func:`parse` returns what ``feedparser.parse(..., sanitize_html=False,
resolve_relative_uris=False)`` returns for the parts :mod:`roundup.parse` reads (version,
bozo flag and exception, feed and entries), or ``None`` whenever it cannot be sure of giving
exactly that; the caller then runs feedparser itself. Falling back is always correct.

How: feedparser's cost is its pure-Python SAX handling, not its rules. So the rules are kept
(feedparser's own encoding detection, DOCTYPE handling, date parser, URL joining, namespace
table) and the element handlers of its ``_FeedParserMixin`` are ported here, statement by
statement, onto plain dicts, driven by lxml's parser instead of expat. Two front ends feed
the port:

* strict: the document as feedparser's strict (expat) parser sees it, parsed by lxml with
  ``resolve_entities=False, no_network=True, huge_tree=False, recover=False``; any error or
  warning means feedparser would see something else, so we give up;
* loose: documents whose XML declaration follows some whitespace. expat rejects those, so
  feedparser reparses them with its sgmllib-based loose parser. When the document is
  otherwise well-formed, a regex tokenizer reproduces sgmllib's events exactly (after
  feedparser's own textual preprocessing) and the same port runs in feedparser's loose mode.

Anything unusual falls back: malformed XML (or anything libxml2 merely warns about), entity
declarations, HTML entities, encodings feedparser has to guess, base64 or XML (not XHTML)
content, unknown roots, Atom 0.3, any feedparser version other than the one this port was
checked against, and any exception at all.
The port follows feedparser, whose behaviour it reproduces quirk for quirk; its licence
follows.
"""

# The element handlers and parser state below are ported from feedparser 6.0.14:
#
# Copyright 2010-2025 Kurt McKee <contactme@kurtmckee.org>
# Copyright 2002-2008 Mark Pilgrim
# All rights reserved.
#
# Redistribution and use in source and binary forms, with or without modification,
# are permitted provided that the following conditions are met:
#
# * Redistributions of source code must retain the above copyright notice,
#   this list of conditions and the following disclaimer.
# * Redistributions in binary form must reproduce the above copyright notice,
#   this list of conditions and the following disclaimer in the documentation
#   and/or other materials provided with the distribution.
#
# THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS 'AS IS'
# AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
# IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
# ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER OR CONTRIBUTORS BE
# LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
# CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
# SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
# INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
# CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
# ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
# POSSIBILITY OF SUCH DAMAGE.

from __future__ import annotations

import functools
import html.entities
import re
import xml.sax
import xml.sax.handler
import xml.sax.saxutils
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import feedparser
import feedparser.api
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.namespaces import georss, psc
from feedparser.sanitizer import _HTMLSanitizer, replace_doctype
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree

# The port mirrors this release; any other falls back until it is checked again.
FEEDPARSER_VERSIONS = frozenset({"6.0.14"})
ACCEPTED_VERSIONS = frozenset(
    {"rss090", "rss091u", "rss092", "rss093", "rss094", "rss20", "rss10", "rss", "atom10"}
)
_ROOTS = frozenset({"rss", "rdf_rdf", "feed"})
_NEW_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>"
_WIDE_STARTS = (b"\xfe\xff", b"\xff\xfe", b"\x00\x00\xfe\xff", b"\x00", b"<\x00")
_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?encoding=[\"']([A-Za-z0-9._-]+)[\"']")
_MISPLACED_DECLARATION = re.compile(rb"\n\s+<\?xml\s[^>]*\?>")
_ROOT_START = re.compile(rb"<\w")  # where replace_doctype takes the prolog to end
# A declaration in the prolog other than a comment or a DOCTYPE without internal subset
# (whose external DTD neither expat nor lxml loads here).
_PROLOG_DECLARATION = re.compile(rb"<!(?!--|DOCTYPE\s[^[>]*>)")
_NAME = re.compile(r"[A-Za-z_][-._A-Za-z0-9]*\Z")  # ASCII names: expat and libxml2 agree
_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
_GETS_XMLNS = frozenset(
    {("http://www.w3.org/1998/Math/MathML", "math"), ("http://www.w3.org/2000/svg", "svg")}
)
_XHTML = "application/xhtml+xml"
_UNSTORED = frozenset({"category", "tags", "itunes_keywords"})  # pop() returns, not stores
_TEXT_TYPES = frozenset({"text/plain", "text/html", _XHTML})  # neither base64 nor XML
_QUOTE = {'"': "&quot;"}

_MATCH: dict[str, str] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}
_KEYMAP: dict[str, Any] = FeedParserDict.keymap
_RELATIVE = _FeedParserMixin.can_be_relative_uri
_HTML_TYPES = _FeedParserMixin.html_types
_ACCEPTABLE_ELEMENTS = _HTMLSanitizer.acceptable_elements
_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_CP1252_RANGE = re.compile("[\x80-\x9f]")  # the only code points _cp1252 maps
_CLOSE_TAG = re.compile(r"</(\w+)>")
_ANY_ENTITY = re.compile(r"&#?\w+;")
_TAG_NAMES = re.compile(r"</?(\w+)")
_NAMED_ENTITY = re.compile(r"&(\w+);")
_SPECIAL_CHARREFS = frozenset({"34", "38", "39", "60", "62", "x22", "x26", "x27", "x3c", "x3e"})

# feedparser's loose parser: its textual preprocessing (_BaseHTMLProcessor.feed), then
# sgmllib's tokens. Only used on documents lxml accepted, where these are exact.
_LOOSE_DECLARATION = re.compile(r"<!((?!DOCTYPE|--|\[))", re.IGNORECASE)
_LOOSE_SHORTTAG = re.compile(r"<([^<>\s]+?)\s*/>")
_VOID = frozenset(feedparser.html._BaseHTMLProcessor.elements_no_end_tag)
_LOOSE_TOKEN = re.compile(
    r"""(?P<text>[^<&]+)
    |&\#(?P<charref>[0-9]+|[xX][0-9a-fA-F]+);
    |&(?P<entity>[a-zA-Z][-.a-zA-Z0-9]*);
    |<!\[CDATA\[(?P<cdata>.*?)\]\]>
    |<!--.*?-->
    |<!DOCTYPE\s[^[>]*>
    |<\?[^>]*>
    |</(?P<end>[^<>]*)>
    |<(?P<start>[a-zA-Z][-_.:a-zA-Z0-9]*)
     (?P<attrs>(?:\s+[^\s=<>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(?P<empty>/?)>""",
    re.DOTALL | re.VERBOSE,
)
_LOOSE_ATTR = re.compile(r"""\s+([^\s=<>/]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_LOOSE_ATTR_NAME = re.compile(r"[a-zA-Z_][-:.a-zA-Z_0-9]*\Z")
_LOOSE_TAG_NAME = re.compile(r"[a-zA-Z][-_.:a-zA-Z0-9]*")


class _Fallback(Exception):
    """The document needs feedparser: something here is not ported or not certain."""


def parse(body: bytes, headers: Mapping[str, str]) -> dict[str, Any] | None:
    """What ``feedparser.parse`` gives :mod:`roundup.parse` for ``body``, or None if unsure.

    ``headers`` are the response headers parse.py hands feedparser (``content-type``,
    ``content-location``). The result has ``version``, ``bozo`` (with ``bozo_exception``),
    ``feed`` and ``entries`` as feedparser would fill them with its sanitiser and URI
    resolution switched off; ``feed`` and the entries are plain dicts that answer ``get``
    as FeedParserDict would for the keys parse.py reads (``enclosures`` is precomputed).
    """
    if feedparser.__version__ not in FEEDPARSER_VERSIONS:
        return None
    try:
        return _parse(body, dict(headers))
    except Exception:  # _Fallback, or any surprise: feedparser decides
        return None


def _parse(body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
    if not _plausibly_decodable(body, headers):
        return None
    result: dict[str, Any] = {}
    data = convert_to_utf8(headers, body, result)
    if result.get("bozo") or not result.get("encoding"):
        return None  # an encoding override or guess: leave it to feedparser
    doctype_version, data, entities = replace_doctype(data)
    root = _ROOT_START.search(data)
    if entities or root is None or _PROLOG_DECLARATION.search(data, 0, root.start()):
        return None  # a DOCTYPE survived: entities, attribute defaults...
    location = headers.get("content-location", "")
    baseuri = make_safe_absolute_uri("", location) or make_safe_absolute_uri(location) or ""
    misplaced = _MISPLACED_DECLARATION.match(data, len(_NEW_DECLARATION))
    handler = _Handler(baseuri, loose=misplaced is not None)
    if misplaced is None:
        _strict(handler, data)
        exception = None
    else:
        exception = _declaration_error(data[: misplaced.end()])
        _loose(handler, data.decode("utf-8"), misplaced.end())
    return {
        "bozo": exception is not None,
        "bozo_exception": exception,
        "version": doctype_version or handler.version,
        "feed": _as_read(handler.feeddata),
        "entries": [_as_read(entry) for entry in handler.entries],
    }


def _plausibly_decodable(body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether feedparser's first choice of encoding can decode ``body``; a shortcut only.

    When it cannot, feedparser guesses (with chardet, slowly) and flags the feed, and we
    fall back anyway; answering True wrongly only costs that guess.
    """
    if body.startswith(_WIDE_STARTS):
        return True  # UTF-16 or UTF-32: feedparser's BOM sniffing decides
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return True
    _, _, charset = headers.get("content-type", "").partition("charset=")
    declared = _DECLARED_ENCODING.match(body)
    encoding = charset.strip(" \"'") or (declared.group(1).decode("ascii") if declared else "")
    try:
        body.decode(encoding or "utf-8")
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _declaration_error(head: bytes) -> xml.sax.SAXParseException:
    """The exception expat raises for the misplaced XML declaration, as feedparser keeps it."""
    reader: Any = xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS)
    reader.setFeature(xml.sax.handler.feature_namespaces, 1)
    reader.setContentHandler(xml.sax.handler.ContentHandler())
    try:
        reader.feed(head)
    except xml.sax.SAXParseException as exc:
        if exc.getMessage() == "XML or text declaration not at start of entity":
            return exc
    raise _Fallback("expat fails otherwise")


# --- front ends -----------------------------------------------------------------------


def _pull_parser() -> Any:
    return etree.XMLPullParser(
        events=("start-ns", "start", "end", "end-ns"),
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        recover=False,
        remove_comments=True,
        remove_pis=True,
    )


def _lxml_events(data: bytes) -> Iterable[tuple[str, Any]]:
    parser = _pull_parser()
    try:
        parser.feed(data)
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise _Fallback("not well-formed") from exc
    if len(parser.error_log):
        raise _Fallback("libxml2 warned")  # expat may have refused it
    events: Iterable[tuple[str, Any]] = parser.read_events()
    return events


def _strict(handler: _Handler, data: bytes) -> None:
    """Drive the handler as feedparser's StrictFeedParser under expat would be driven."""
    scope: list[tuple[str | None, str | None]] = []  # (prefix, previous URI) per declaration
    in_scope: dict[str | None, str] = {}
    start_tags, end_tags = handler.start_tag_cache, handler.end_tag_cache
    xmlns_elements = handler.xmlns_elements
    starttag, endtag, handle_data = (
        handler.unknown_starttag,
        handler.unknown_endtag,
        handler.handle_data,
    )
    for event, item in _lxml_events(data):
        if event == "start":
            clark = item.tag
            tag = start_tags.get(clark) or handler.strict_tag(clark)
            items = item.items()
            if items or handler.decls or clark in xmlns_elements:
                attrs_d = handler.strict_attrs(clark, items, in_scope)
                starttag(tag, list(attrs_d.items()), attrs_d)
            else:
                starttag(tag, ())
            text = item.text
            if text:
                handle_data(text)
        elif event == "end":
            endtag(end_tags.get(item.tag) or handler.strict_tag(item.tag))
            text = item.tail
            if text:
                handle_data(text)
        elif event == "start-ns":
            prefix, uri = item
            prefix = prefix or None
            scope.append((prefix, in_scope.get(prefix)))
            in_scope[prefix] = uri
            handler.start_prefix_mapping(prefix, uri)
        else:  # end-ns
            prefix, previous = scope.pop()
            if previous is None:
                del in_scope[prefix]
            else:
                in_scope[prefix] = previous


def _loose(handler: _Handler, text: str, body_start: int) -> None:
    """Drive the handler as feedparser's LooseFeedParser (sgmllib) would be driven."""
    text = _LOOSE_DECLARATION.sub(r"&lt;!\1", text)
    text = _LOOSE_SHORTTAG.sub(_shorttag, text)
    text = text.replace("&#39;", "'").replace("&#34;", '"')
    # sgmllib tokenizes anything; our tokens are sgmllib's only for well-formed XML.
    _lxml_events(text[body_start:].encode("utf-8"))
    position = 0
    handle_data, starttag, endtag = (
        handler.handle_data,
        handler.unknown_starttag,
        handler.unknown_endtag,
    )
    for token in _LOOSE_TOKEN.finditer(text):
        if token.start() != position:
            raise _Fallback("a construct the loose tokens do not cover")
        position = token.end()
        kind = token.lastgroup
        if kind == "text":
            handle_data(token.group(kind))
        elif kind == "empty":  # a start tag, its last group
            tag = token.group("start").lower()
            starttag(tag, _loose_attrs(token.group("attrs")))
            if token.group("empty"):
                endtag(tag)
        elif kind == "end":
            match = _LOOSE_TAG_NAME.match(token.group("end").strip().lower())
            if match is None:
                raise _Fallback("an end tag sgmllib reads otherwise")
            endtag(match.group(0))
        elif kind == "entity":
            handler.handle_entityref(token.group(kind))
        elif kind == "charref":
            handler.handle_charref(token.group(kind))
        elif kind == "cdata":
            handle_data(xml.sax.saxutils.escape(token.group(kind)), escape=False)
        # comments and processing instructions: nothing
    if position != len(text):
        raise _Fallback("a construct the loose tokens do not cover")


def _shorttag(match: re.Match[str]) -> str:
    tag = match.group(1)
    return f"<{tag} />" if tag in _VOID else f"<{tag}></{tag}>"


def _loose_attrs(text: str) -> list[tuple[str, str]]:
    if not text:
        return []
    attrs = []
    for name, double, single in _LOOSE_ATTR.findall(text):
        if not _LOOSE_ATTR_NAME.match(name):
            raise _Fallback("an attribute sgmllib would not read")
        attrs.append((name.lower(), double or single))
    return attrs


# --- the port of feedparser's _FeedParserMixin ----------------------------------------


@functools.lru_cache(maxsize=4096)
def _join(base: str, uri: str) -> str:
    """feedparser's _urljoin (a pure function), remembered: links and guids repeat."""
    return str(_urljoin(base, uri))


def _put(context: dict[str, Any], key: str, value: Any) -> None:
    """``context[key] = value`` as a FeedParserDict stores it (its key aliases)."""
    mapped = _KEYMAP.get(key, key)
    context[mapped[0] if isinstance(mapped, list) else mapped] = value


def _map_content_type(content_type: Any) -> Any:
    """feedparser's map_content_type; None fails on .lower() there as here."""
    mapped = _CONTENT_TYPES.get(content_type)
    if mapped is None:
        mapped = _map_content_type_uncached(content_type)
        if len(_CONTENT_TYPES) < 256:
            _CONTENT_TYPES[content_type] = mapped
    return mapped


_CONTENT_TYPES: dict[str, str] = {}


def _map_content_type_uncached(content_type: Any) -> Any:
    content_type = content_type.lower()
    if content_type in ("text", "plain"):
        return "text/plain"
    if content_type == "html":
        return "text/html"
    if content_type == "xhtml":
        return _XHTML
    return content_type


def _looks_like_html(text: str) -> bool:
    if not (_CLOSE_TAG.search(text) or _ANY_ENTITY.search(text)):
        return False
    if any(t for t in _TAG_NAMES.findall(text) if t.lower() not in _ACCEPTABLE_ELEMENTS):
        return False
    return not any(e for e in _NAMED_ENTITY.findall(text) if e not in html.entities.entitydefs)


def _enforce_href(attrs_d: dict[str, Any]) -> dict[str, Any]:
    href = attrs_d.get("url", attrs_d.get("uri", attrs_d.get("href")))
    if href:
        attrs_d.pop("url", None)
        attrs_d.pop("uri", None)
        attrs_d["href"] = href
    return attrs_d


Attrs = dict[str, Any]
# handler name, its start method, whether it resets textinput, and image
_StartInfo = tuple[str, "Callable[[_Handler, Attrs], None] | None", bool, bool]
_EndInfo = tuple[str, "Callable[[_Handler], None] | None", bool]  # ..., ends an svg


class _Handler:
    """feedparser's parser state and element handlers, on plain dicts."""

    def __init__(self, baseuri: str, *, loose: bool) -> None:
        self.loose = loose
        self.baseuri = baseuri
        self.feeddata: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.version = ""
        self.namespaces_in_use: dict[str, str] = {}
        self.namespacemap: dict[str | None, str] = {}
        self.infeed = self.inentry = self.incontent = self.intextinput = 0
        self.inimage = self.inauthor = self.incontributor = self.inpublisher = 0
        self.insource = 0
        self.sourcedata: dict[str, Any] = {}
        self.contentparams: dict[str, Any] = {}
        self._summary_key: str | None = None
        self.elementstack: list[list[Any]] = []
        self.title_depth = -1
        self.depth = 0
        self.has_content = 0
        self.guidislink = 0
        self.property_depth_map: dict[int, dict[str, int]] = {}
        self.decls: dict[str, str] = {}
        self.basestack: list[str] = []
        self._same_base: dict[str, str] = {}  # base -> base after a start tag without one
        self.psc_chapters_flag = False
        self.ingeometry: Any = 0
        self.inline_depth = 0  # open elements of serialised XHTML content
        self.svg_ok = 0  # open svg elements in it
        self.xmlns_elements: dict[str, str] = {}  # math and svg: Clark name -> namespace
        self._plain_attributes: dict[str, str] = {}  # checked attribute names, lower-cased
        self.start_tag_cache: dict[str, str] = {}  # element (Clark) -> tag, per namespace state
        self.end_tag_cache: dict[str, str] = {}
        self._start_key_cache: dict[str, _StartInfo] = {}
        self._end_key_cache: dict[str, _EndInfo] = {}

    # --- events -------------------------------------------------------------------

    def start_prefix_mapping(self, prefix: str | None, uri: str) -> None:
        if prefix and not _NAME.match(prefix):
            raise _Fallback("a prefix expat may read otherwise")
        if not uri:
            return
        self.track_namespace(prefix, uri)
        if prefix and uri == "http://www.w3.org/1999/xlink":
            self.decls["xmlns:" + prefix] = uri

    def strict_tag(self, clark: str) -> str:
        """The tag name feedparser's startElementNS / endElementNS (expat) derive."""
        if clark[0] == "{":
            namespace, local = clark[1:].split("}", 1)
        else:
            namespace, local = None, clark
        if not _NAME.match(local):
            raise _Fallback("a name expat may read otherwise")
        if (namespace, local.lower()) in _GETS_XMLNS:
            self.xmlns_elements[clark] = str(namespace)  # startElementNS adds an xmlns
        tags = []
        for is_start in (True, False):
            lowernamespace = (namespace or "").lower()
            uri = namespace
            if is_start and lowernamespace.find("backend.userland.com/rss") != -1:
                uri = lowernamespace = "http://backend.userland.com/rss"
            prefix = _MATCH.get(lowernamespace, None if is_start else "")
            localname = local.lower()
            if prefix:
                localname = prefix.lower() + ":" + localname
            elif uri:
                for name, value in self.namespaces_in_use.items():
                    if name and value == uri:
                        localname = name + ":" + localname
                        break
            tags.append(localname.lower())
        if tags[0] != tags[1]:
            raise _Fallback("start and end tags map differently")
        self.start_tag_cache[clark] = self.end_tag_cache[clark] = tags[0]
        return tags[0]

    def strict_attrs(
        self, clark: str, items: list[tuple[str, str]], in_scope: dict[str | None, str]
    ) -> dict[str, str]:
        """The attributes startElementNS hands on (mapped names, then the qualified ones),
        normalised as unknown_starttag does (keys and rel/type values lower-cased)."""
        attrs_d, self.decls = self.decls, {}
        if clark in self.xmlns_elements:
            attrs_d["xmlns"] = self.xmlns_elements[clark]
        qnames = []
        namespaced = False
        plain = self._plain_attributes
        for key, value in items:
            if key[0] == "{":
                namespace, local = key[1:].split("}", 1)
                if not _NAME.match(local):
                    raise _Fallback("an attribute name expat may read otherwise")
                prefix = _MATCH.get(namespace.lower(), "")
                attrs_d[(prefix + ":" + local if prefix else local).lower()] = value
                qnames.append((_attribute_prefix(namespace, in_scope) + ":" + local, value))
                namespaced = True
            else:
                lower = plain.get(key)
                if lower is None:
                    if not _NAME.match(key):
                        raise _Fallback("an attribute name expat may read otherwise")
                    lower = plain[key] = key.lower()
                attrs_d[lower] = value
                qnames.append((lower, value))
        if namespaced:  # the qualified names, set again in order (plain ones are unchanged)
            for qname, value in qnames:
                attrs_d[qname.lower()] = value
        for key in ("rel", "type"):
            if attrs_d.get(key):
                attrs_d[key] = attrs_d[key].lower() or attrs_d[key]
        return attrs_d

    def track_namespace(self, prefix: str | None, uri: str) -> None:
        loweruri = uri.lower()
        if not self.version:
            if (prefix, loweruri) == (None, "http://my.netscape.com/rdf/simple/0.9/"):
                self.version = "rss090"
            elif loweruri == "http://purl.org/rss/1.0/":
                self.version = "rss10"
            elif loweruri == "http://www.w3.org/2005/atom":
                self.version = "atom10"
        if loweruri.find("backend.userland.com/rss") != -1:
            uri = loweruri = "http://backend.userland.com/rss"
        mapped = _MATCH.get(loweruri)
        namespacemap, in_use = self.namespacemap, self.namespaces_in_use
        if mapped is not None:
            if namespacemap.get(prefix) == mapped and in_use.get(mapped) == uri:
                return  # a redeclaration: nothing changes, the caches stay valid
            namespacemap[prefix] = mapped
            in_use[mapped] = uri
        else:
            if in_use.get(prefix or "") == uri:
                return
            in_use[prefix or ""] = uri
        self.start_tag_cache.clear()
        self.end_tag_cache.clear()
        self._start_key_cache.clear()
        self._end_key_cache.clear()

    def _start_key(self, tag: str) -> _StartInfo:
        """What unknown_starttag derives from a tag name, given the namespaces so far."""
        prefix, suffix = tag.split(":", 1) if ":" in tag else ("", tag)
        prefix = self.namespacemap.get(prefix, prefix)
        name = (prefix + "_" if prefix else "") + suffix
        if name in _UNPORTED_STARTS:
            raise _Fallback(f"<{name}> is not ported")
        info = self._start_key_cache[tag] = (
            name,
            _STARTS.get(name),
            not prefix and tag not in ("title", "link", "description", "name"),
            not prefix
            and tag not in ("title", "link", "description", "url", "href", "width", "height"),
        )
        return info

    def _end_key(self, tag: str) -> _EndInfo:
        prefix, suffix = tag.split(":", 1) if ":" in tag else ("", tag)
        prefix = self.namespacemap.get(prefix, prefix)
        name = (prefix + "_" if prefix else "") + suffix
        if name in _UNPORTED_ENDS:
            raise _Fallback(f"</{name}> is not ported")
        info = self._end_key_cache[tag] = (name, _ENDS.get(name), suffix == "svg")
        return info

    def unknown_starttag(
        self, tag: str, attrs: Sequence[tuple[str, str]], normalized: Attrs | None = None
    ) -> None:
        """feedparser's unknown_starttag; ``normalized`` is ``attrs`` already normalised."""
        self.depth += 1
        if attrs:
            if normalized is None:
                attrs = [self._normalize_attribute(key, value) for key, value in attrs]
                attrs_d = dict(attrs)
            else:
                attrs_d = normalized
            given = attrs_d.get("xml:base", attrs_d.get("base"))
            if given:
                self._track_base(given)
            else:
                self._keep_base()
            for key, value in attrs:
                if key.startswith("xmlns"):
                    if key.startswith("xmlns:"):
                        self.track_namespace(key[6:], value)
                    elif key == "xmlns":
                        self.track_namespace(None, value)
        else:
            attrs_d = {}
            base = self._same_base.get(self.baseuri)
            if base is None:
                self._track_base(self.baseuri)
            else:
                self.baseuri = base
                self.basestack.append(base)
        if self.incontent:
            self._inline_start(tag, attrs)
            return
        info = self._start_key_cache.get(tag) or self._start_key(tag)
        name, method, resets_textinput, resets_image = info
        if resets_textinput:
            self.intextinput = 0
        if resets_image:
            self.inimage = 0
        if method is None:
            if not attrs_d:
                self.elementstack.append([name, 1, []])
            else:
                _put(self._get_context(), name, attrs_d)
        else:
            try:
                method(self, attrs_d)
            except AttributeError:  # feedparser takes a failing handler for a missing one
                self._unknown_start(name, attrs_d)
        if self.depth == 1:
            if name not in _ROOTS:
                raise _Fallback(f"root {name}")
            if self.version not in ACCEPTED_VERSIONS:
                raise _Fallback(f"version {self.version!r}")

    def _keep_base(self) -> None:
        """A start tag without xml:base: feedparser resolves the current base against itself."""
        base = self._same_base.get(self.baseuri)
        if base is None:
            self._track_base(self.baseuri)
        else:
            self.baseuri = base
            self.basestack.append(base)

    def _unknown_start(self, name: str, attrs_d: Attrs) -> None:
        if not attrs_d:
            self.push(name, 1)
        else:
            _put(self._get_context(), name, attrs_d)

    def _inline_start(self, tag: str, attrs: Sequence[tuple[str, str]]) -> None:
        """Markup inside a text element: feedparser serialises it as XHTML."""
        params = self.contentparams
        if not params.get("type", "xml").endswith("xml"):
            if tag in ("xhtml:div", "div"):
                raise _Fallback("a div in escaped content")  # typepad's; feedparser skips it
            params["type"] = _XHTML
        if params.get("type") != _XHTML:
            raise _Fallback("markup in XML content")
        if ":" in tag:
            prefix, tag = tag.split(":", 1)
            namespace = self.namespaces_in_use.get(prefix, "")
            if (namespace, tag) in _GETS_XMLNS:
                attrs = [*attrs, ("xmlns", namespace)]
        if tag == "svg":
            self.svg_ok += 1
        self.inline_depth += 1
        if self.loose:  # _LooseFeedParser.strattrs
            strattrs = "".join(
                f' {key}="{value.replace(chr(34), "&quot;")}"' for key, value in attrs
            )
        else:
            strattrs = "".join(
                f' {key}="{xml.sax.saxutils.escape(value, _QUOTE)}"' for key, value in attrs
            )
        self.elementstack[-1][2].append(f"<{tag}{strattrs}>")

    def unknown_endtag(self, tag: str) -> None:
        name, method, is_svg = self._end_key_cache.get(tag) or self._end_key(tag)
        if self.inline_depth:
            self._inline_end(name, method, is_svg)
        elif method is None:
            self.pop(name)
        else:
            try:
                method(self)
            except AttributeError:
                self.pop(name)
        if self.incontent:
            if self.contentparams.get("type") != _XHTML:
                raise _Fallback("an end tag inside a text element")
            self.handle_data(f"</{tag.split(':')[-1]}>", escape=False)
        stack = self.basestack
        stack.pop()
        if stack and stack[-1]:
            self.baseuri = stack[-1]
        self.depth -= 1

    def _inline_end(self, name: str, method: Any, is_svg: bool) -> None:
        """The end of an element serialised into XHTML content."""
        self.inline_depth -= 1
        if is_svg and self.svg_ok:
            self.svg_ok -= 1
        if self.svg_ok:
            self.pop(name)  # inside SVG feedparser calls no end handler
        elif method is not None:
            raise _Fallback(f"</{name}> inside XHTML content")  # feedparser runs it
        else:
            self.pop(name)

    def _track_base(self, given: str) -> None:
        """xml:base: each start tag resolves its base (or the current one) as feedparser does."""
        current = self.baseuri
        if current:
            base = make_safe_absolute_uri(current, given) or current
        else:
            base = _urljoin(current, given)
        if given == current:
            self._same_base[current] = base  # the common case: no xml:base here
        self.baseuri = base
        self.basestack.append(base)

    def _normalize_attribute(self, key: str, value: str) -> tuple[str, str]:
        key = key.lower()
        if key in ("rel", "type"):
            value = value.lower() or value
        if self.loose:
            value = value.replace("&amp;", "&")
        return key, value

    def handle_data(self, text: str, escape: bool = True) -> None:
        stack = self.elementstack
        if stack:
            params = self.contentparams
            if escape and params and params.get("type") == _XHTML:
                text = xml.sax.saxutils.escape(text)
            stack[-1][2].append(text)

    def handle_charref(self, ref: str) -> None:  # loose only
        if not self.elementstack:
            return
        ref = ref.lower()
        if ref in _SPECIAL_CHARREFS:
            text = f"&#{ref};"
        else:
            text = chr(int(ref[1:], 16) if ref[0] == "x" else int(ref))
            text.encode("utf-8")  # a lone surrogate fails here, as it does in feedparser
        self.elementstack[-1][2].append(text)

    def handle_entityref(self, ref: str) -> None:  # loose only
        if not self.elementstack:
            return
        if ref in ("lt", "gt", "quot", "amp", "apos"):
            self.elementstack[-1][2].append(f"&{ref};")
        else:
            raise _Fallback("an entity lxml should have refused")

    # --- feedparser's machinery -----------------------------------------------------

    def push(self, element: str, expecting_text: Any) -> None:
        self.elementstack.append([element, expecting_text, []])

    def pop(self, element: str, strip_whitespace: int = 1) -> Any:
        stack = self.elementstack
        if not stack or stack[-1][0] != element:
            return None
        element, expecting_text, pieces = stack.pop()
        params = self.contentparams
        if params and self.version == "atom10" and params.get("type", "text") == _XHTML:
            pieces = _strip_div(pieces)
        output = "".join(pieces)
        if strip_whitespace:
            output = output.strip()
        if not expecting_text:
            return output
        if output and element in _RELATIVE and (element != "id" or self.guidislink):
            output = _join(self.baseuri or "", output)
        if self.loose:
            output = self._decode_entities(output)
        if params:
            if (
                params.get("type") == "text/plain"
                and not self.version.startswith("atom")
                and _looks_like_html(output)
            ):
                params["type"] = "text/html"
            params.pop("mode", None)
            params.pop("base64", None)
        if not output.isascii():
            output = _unmojibake(output)
            if _CP1252_RANGE.search(output):
                output = output.translate(_cp1252)
        if element in _UNSTORED or (element == "title" and -1 < self.title_depth <= self.depth):
            return output
        if self.inentry and not self.insource:
            self._store_entry(element, output)
        elif self.infeed or self.insource:
            self._store_feed(element, output)
        return output

    def _store_entry(self, element: str, output: str) -> None:
        entry = self.entries[-1]
        if element == "content":
            entry.setdefault("content", [])
            entry["content"].append({**self.contentparams, "value": output})
        elif element == "link":
            if not self.inimage:
                output = output.replace("&amp;", "&")
                if "&" in output:
                    output = _QUERY_ENTITY.sub(r"&\g<1>", output)
                entry["link"] = output
                if output:
                    entry["links"][-1]["href"] = output
        else:
            if element == "description":
                element = "summary"
            depths = self.property_depth_map.get(id(entry))
            if depths is None:
                depths = self.property_depth_map[id(entry)] = {}
            old_depth = depths.get(element)
            if old_depth is None or self.depth <= old_depth:
                depths[element] = self.depth
                _put(entry, element, output)
            if self.incontent:
                _put(entry, element + "_detail", {**self.contentparams, "value": output})

    def _store_feed(self, element: str, output: str) -> None:
        context = self._get_context()
        if element == "description":
            element = "subtitle"
        _put(context, element, output)
        if element == "link":
            if "&" in output:
                output = _QUERY_ENTITY.sub(r"&\g<1>", output)
            context[element] = output
            context["links"][-1]["href"] = output
        elif self.incontent:
            _put(context, element + "_detail", {**self.contentparams, "value": output})

    def _decode_entities(self, data: str) -> str:
        """_LooseFeedParser.decode_entities."""
        if "&" not in data:
            return data  # every pattern starts with one
        if "&#" in data:
            for old, new in _LOOSE_NUMERIC:
                data = data.replace(old, new)
        if not self.contentparams.get("type", "xml").endswith("xml"):
            for old, new in _LOOSE_NAMED:
                data = data.replace(old, new)
        return data

    def push_content(
        self, tag: str, attrs_d: Attrs, default_content_type: str, expecting_text: Any
    ) -> None:
        self.incontent += 1
        content_type = _map_content_type(attrs_d.get("type", default_content_type))
        if content_type not in _TEXT_TYPES:
            if content_type.endswith("xml") and content_type != _XHTML:
                raise _Fallback("XML content")
            if not (content_type.startswith("text/") or content_type == _XHTML):
                raise _Fallback("base64 content")
        if attrs_d and attrs_d.get("mode", "") == "base64":
            raise _Fallback("base64 content")
        self.contentparams = {
            "type": content_type,
            "language": None,
            "base": self.baseuri,
            "base64": 0,
        }
        self.elementstack.append([tag, expecting_text, []])

    def pop_content(self, tag: str) -> Any:
        value = self.pop(tag)
        self.incontent -= 1
        self.contentparams.clear()
        return value

    def _get_attribute(self, attrs_d: Attrs, name: str) -> Any:
        prefix, colon, suffix = name.partition(":")
        if colon:
            name = self.namespacemap.get(prefix, prefix) + ":" + suffix
        return attrs_d.get(name)

    def _save(self, key: str, value: Any, overwrite: bool = False) -> None:
        context = self._get_context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    def _save_date(self, key: str, value: Any) -> None:
        # Parsed wherever feedparser parses, as its date handlers may also raise.
        self._get_context()[key] = _parse_date(value)

    def _get_context(self) -> dict[str, Any]:
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feeddata:
            image: dict[str, Any] = self.feeddata["image"]
            return image
        if self.intextinput:
            textinput: dict[str, Any] = self.feeddata["textinput"]
            return textinput
        if self.inentry:
            return self.entries[-1]
        return self.feeddata

    def _save_author(self, key: str, value: Any, prefix: str = "author") -> None:
        context = self._get_context()
        context.setdefault(prefix + "_detail", {})
        context[prefix + "_detail"][key] = value
        self._sync_author_detail()
        context.setdefault("authors", [{}])
        context["authors"][-1][key] = value

    def _save_contributor(self, key: str, value: Any) -> None:
        context = self._get_context()
        context.setdefault("contributors", [{}])
        context["contributors"][-1][key] = value

    def _sync_author_detail(self, key: str = "author") -> None:
        context = self._get_context()
        detail = context.get(f"{key}s", [{}])[-1]
        if detail:
            name = detail.get("name")
            email = detail.get("email")
            if name and email:
                context[key] = f"{name} ({email})"
            elif name:
                context[key] = name
            elif email:
                context[key] = email
            return
        author, email = context.get(key), None
        if not author:
            return
        emailmatch = _EMAIL.search(author)
        if emailmatch:
            email = emailmatch.group(0)
            author = author.replace(email, "")
            author = author.replace("()", "")
            author = author.replace("<>", "")
            author = author.replace("&lt;&gt;", "")
            author = author.strip()
            if author and (author[0] == "("):
                author = author[1:]
            if author and (author[-1] == ")"):
                author = author[:-1]
            author = author.strip()
        if author or email:
            context.setdefault(f"{key}_detail", detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email

    def _add_tag(self, term: Any, scheme: Any, label: Any) -> None:
        context = self._get_context()
        tags = context.setdefault("tags", [])
        if (not term) and (not scheme) and (not label):
            return
        value = {"term": term, "scheme": scheme, "label": label}
        if value not in tags:
            tags.append(value)

    def _cdf_common(self, attrs_d: Attrs) -> None:
        if "lastmod" in attrs_d:
            self._start_updated({})
            self.elementstack[-1][-1] = attrs_d["lastmod"]
            self._end_updated()
        if "href" in attrs_d:
            self._start_link({})
            self.elementstack[-1][-1] = attrs_d["href"]
            self._end_link()

    # --- element handlers (feedparser/namespaces/_base.py) --------------------------

    def _start_rss(self, attrs_d: Attrs) -> None:
        if not self.version or not self.version.startswith("rss"):
            attr_version = attrs_d.get("version", "")
            version = _RSS_VERSIONS.get(attr_version)
            if version:
                self.version = version
            elif attr_version.startswith("2."):
                self.version = "rss20"
            else:
                self.version = "rss"

    def _start_channel(self, attrs_d: Attrs) -> None:
        self.infeed = 1
        self._cdf_common(attrs_d)

    def _start_feed(self, attrs_d: Attrs) -> None:
        self.infeed = 1
        if not self.version:
            version = _ATOM_VERSIONS.get(attrs_d.get("version"))
            self.version = version or "atom"

    def _end_channel(self) -> None:
        self.infeed = 0

    def _start_image(self, attrs_d: Attrs) -> None:
        context = self._get_context()
        if not self.inentry:
            context.setdefault("image", {})
        self.inimage = 1
        self.title_depth = -1
        self.push("image", 0)

    def _end_image(self) -> None:
        self.pop("image")
        self.inimage = 0

    def _start_textinput(self, attrs_d: Attrs) -> None:
        context = self._get_context()
        context.setdefault("textinput", {})
        self.intextinput = 1
        self.title_depth = -1
        self.push("textinput", 0)

    def _end_textinput(self) -> None:
        self.pop("textinput")
        self.intextinput = 0

    def _start_author(self, attrs_d: Attrs) -> None:
        self.inauthor = 1
        self.push("author", 1)
        context = self._get_context()
        context.setdefault("authors", [])
        context["authors"].append({})

    def _end_author(self) -> None:
        self.pop("author")
        self.inauthor = 0
        self._sync_author_detail()

    def _start_contributor(self, attrs_d: Attrs) -> None:
        self.incontributor = 1
        context = self._get_context()
        context.setdefault("contributors", [])
        context["contributors"].append({})
        self.push("contributor", 0)

    def _end_contributor(self) -> None:
        self.pop("contributor")
        self.incontributor = 0

    def _start_name(self, attrs_d: Attrs) -> None:
        self.push("name", 0)

    def _end_name(self) -> None:
        value = self.pop("name")
        if self.inpublisher:
            self._save_author("name", value, "publisher")
        elif self.inauthor:
            self._save_author("name", value)
        elif self.incontributor:
            self._save_contributor("name", value)
        elif self.intextinput:
            context = self._get_context()
            context["name"] = value

    def _start_width(self, attrs_d: Attrs) -> None:
        self.push("width", 0)

    def _end_width(self) -> None:
        self._end_dimension("width")

    def _start_height(self, attrs_d: Attrs) -> None:
        self.push("height", 0)

    def _end_height(self) -> None:
        self._end_dimension("height")

    def _end_dimension(self, name: str) -> None:
        value = self.pop(name)
        try:
            value = int(value)
        except ValueError:
            value = 0
        if self.inimage:
            context = self._get_context()
            context[name] = value

    def _start_url(self, attrs_d: Attrs) -> None:
        self.push("href", 1)

    def _end_url(self) -> None:
        value = self.pop("href")
        if self.inauthor:
            self._save_author("href", value)
        elif self.incontributor:
            self._save_contributor("href", value)

    def _start_email(self, attrs_d: Attrs) -> None:
        self.push("email", 0)

    def _end_email(self) -> None:
        value = self.pop("email")
        if self.inpublisher:
            self._save_author("email", value, "publisher")
        elif self.inauthor:
            self._save_author("email", value)
        elif self.incontributor:
            self._save_contributor("email", value)

    def _start_subtitle(self, attrs_d: Attrs) -> None:
        self.push_content("subtitle", attrs_d, "text/plain", 1)

    def _end_subtitle(self) -> None:
        self.pop_content("subtitle")

    def _start_rights(self, attrs_d: Attrs) -> None:
        self.push_content("rights", attrs_d, "text/plain", 1)

    def _end_rights(self) -> None:
        self.pop_content("rights")

    def _start_item(self, attrs_d: Attrs) -> None:
        self.entries.append({})
        self.push("item", 0)
        self.inentry = 1
        self.guidislink = 0
        self.title_depth = -1
        id_ = self._get_attribute(attrs_d, "rdf:about")
        if id_:
            context = self._get_context()
            context["id"] = id_
        self._cdf_common(attrs_d)

    def _end_item(self) -> None:
        self.pop("item")
        self.inentry = 0
        self.has_content = 0

    def _start_language(self, attrs_d: Attrs) -> None:
        self.push("language", 1)

    def _end_language(self) -> None:
        self.pop("language")  # feedparser keeps it as the language of later content

    def _start_webmaster(self, attrs_d: Attrs) -> None:
        self.push("publisher", 1)

    def _end_webmaster(self) -> None:
        self.pop("publisher")
        self._sync_author_detail("publisher")

    def _start_published(self, attrs_d: Attrs) -> None:
        self.push("published", 1)

    def _end_published(self) -> None:
        self._save_date("published_parsed", self.pop("published"))

    def _start_updated(self, attrs_d: Attrs) -> None:
        self.push("updated", 1)

    def _end_updated(self) -> None:
        self._save_date("updated_parsed", self.pop("updated"))

    def _start_created(self, attrs_d: Attrs) -> None:
        self.push("created", 1)

    def _end_created(self) -> None:
        self._save_date("created_parsed", self.pop("created"))

    def _start_expirationdate(self, attrs_d: Attrs) -> None:
        self.push("expired", 1)

    def _end_expirationdate(self) -> None:
        self._save_date("expired_parsed", self.pop("expired"))

    def _start_category(self, attrs_d: Attrs) -> None:
        term = attrs_d.get("term")
        scheme = attrs_d.get("scheme", attrs_d.get("domain"))
        label = attrs_d.get("label")
        self._add_tag(term, scheme, label)
        self.push("category", 1)

    def _end_category(self) -> None:
        value = self.pop("category")
        if not value:
            return
        context = self._get_context()
        tags = context["tags"]
        if value and len(tags) and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            self._add_tag(value, None, None)

    def _start_cloud(self, attrs_d: Attrs) -> None:
        self._get_context()["cloud"] = dict(attrs_d)

    def _start_link(self, attrs_d: Attrs) -> None:
        attrs_d.setdefault("rel", "alternate")
        if attrs_d["rel"] == "self":
            attrs_d.setdefault("type", "application/atom+xml")
        else:
            attrs_d.setdefault("type", "text/html")
        context = self._get_context()
        attrs_d = _enforce_href(attrs_d)
        if "href" in attrs_d:
            attrs_d["href"] = _join(self.baseuri or "", attrs_d["href"])
        expecting_text = self.infeed or self.inentry or self.insource
        context.setdefault("links", [])
        if not (self.inentry and self.inimage):
            context["links"].append(dict(attrs_d))
        if "href" in attrs_d:
            if (
                attrs_d.get("rel") == "alternate"
                and _map_content_type(attrs_d.get("type")) in _HTML_TYPES
            ):
                context["link"] = attrs_d["href"]
        else:
            self.push("link", expecting_text)

    def _end_link(self) -> None:
        self.pop("link")

    def _start_guid(self, attrs_d: Attrs) -> None:
        self.guidislink = attrs_d.get("ispermalink", "true") == "true"
        self.push("id", 1)

    def _end_guid(self) -> None:
        value = self.pop("id")
        self._save("guidislink", self.guidislink and "link" not in self._get_context())
        if self.guidislink:
            self._save("link", value)

    def _start_title(self, attrs_d: Attrs) -> None:
        if self.svg_ok:  # unreachable in well-formed XML; feedparser then serialises it
            raise _Fallback("a title inside SVG")
        self.push_content(
            "title", attrs_d, "text/plain", self.infeed or self.inentry or self.insource
        )

    def _end_title(self) -> None:
        value = self.pop_content("title")
        if not value:
            return
        self.title_depth = self.depth

    def _start_description(self, attrs_d: Attrs) -> None:
        context = self._get_context()
        if "summary" in context and not self.has_content:
            self._summary_key = "content"
            self._start_content(attrs_d)
        else:
            self.push_content(
                "description", attrs_d, "text/html", self.infeed or self.inentry or self.insource
            )

    def _start_abstract(self, attrs_d: Attrs) -> None:
        self.push_content(
            "description", attrs_d, "text/plain", self.infeed or self.inentry or self.insource
        )

    def _end_description(self) -> None:
        if self._summary_key == "content":
            self._end_content()
        else:
            self.pop_content("description")
        self._summary_key = None

    def _start_info(self, attrs_d: Attrs) -> None:
        self.push_content("info", attrs_d, "text/plain", 1)

    def _end_info(self) -> None:
        self.pop_content("info")

    def _start_generator(self, attrs_d: Attrs) -> None:
        if attrs_d:
            attrs_d = _enforce_href(attrs_d)
            if "href" in attrs_d:
                attrs_d["href"] = _join(self.baseuri or "", attrs_d["href"])
        self._get_context()["generator_detail"] = dict(attrs_d)
        self.push("generator", 1)

    def _end_generator(self) -> None:
        value = self.pop("generator")
        context = self._get_context()
        if "generator_detail" in context:
            context["generator_detail"]["name"] = value

    def _start_summary(self, attrs_d: Attrs) -> None:
        context = self._get_context()
        if "summary" in context and not self.has_content:
            self._summary_key = "content"
            self._start_content(attrs_d)
        else:
            self._summary_key = "summary"
            self.push_content(self._summary_key, attrs_d, "text/plain", 1)

    def _end_summary(self) -> None:
        if self._summary_key == "content":
            self._end_content()
        else:
            self.pop_content(self._summary_key or "summary")
        self._summary_key = None

    def _start_enclosure(self, attrs_d: Attrs) -> None:
        attrs_d = _enforce_href(attrs_d)
        context = self._get_context()
        attrs_d["rel"] = "enclosure"
        context.setdefault("links", []).append(dict(attrs_d))

    def _start_source(self, attrs_d: Attrs) -> None:
        if "url" in attrs_d:
            self.sourcedata["href"] = attrs_d["url"]
        self.push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def _end_source(self) -> None:
        self.insource = 0
        value = self.pop("source")
        if value:
            self.sourcedata["title"] = value
        self._get_context()["source"] = _deep_copy(self.sourcedata)
        self.sourcedata.clear()

    def _start_content(self, attrs_d: Attrs) -> None:
        self.has_content = 1
        self.push_content("content", attrs_d, "text/plain", 1)
        src = attrs_d.get("src")
        if src:
            self.contentparams["src"] = src
        self.push("content", 1)

    def _start_content_encoded(self, attrs_d: Attrs) -> None:
        self.has_content = 1
        self.push_content("content", attrs_d, "text/html", 1)

    def _end_content(self) -> None:
        copy_to_summary = _map_content_type(self.contentparams.get("type")) in (
            {"text/plain"} | _HTML_TYPES
        )
        value = self.pop_content("content")
        if copy_to_summary:
            self._save("summary", value)

    def _start_newlocation(self, attrs_d: Attrs) -> None:
        self.push("newlocation", 1)

    def _end_newlocation(self) -> None:
        url = self.pop("newlocation")
        context = self._get_context()
        if context is not self.feeddata:
            return
        context["newlocation"] = make_safe_absolute_uri(self.baseuri, url.strip())

    def _start_tags(self, attrs_d: Attrs) -> None:
        self.push("tags", 1)

    def _end_tags(self) -> None:
        for term in self.pop("tags").split(","):
            self._add_tag(term.strip(), None, None)

    # --- Dublin Core (feedparser/namespaces/dc.py) ----------------------------------

    def _start_dcterms_valid(self, attrs_d: Attrs) -> None:
        self.push("validity", 1)

    def _end_dcterms_valid(self) -> None:
        for validity_detail in self.pop("validity").split(";"):
            if "=" in validity_detail:
                key, value = validity_detail.split("=", 1)
                if key in ("start", "end"):
                    self._get_context()[f"validity_{key}"] = value
                    self._save_date(f"validity_{key}_parsed", value)

    def _start_dc_contributor(self, attrs_d: Attrs) -> None:
        self.incontributor = 1
        context = self._get_context()
        context.setdefault("contributors", [])
        context["contributors"].append({})
        self.push("name", 0)

    def _end_dc_contributor(self) -> None:
        self._end_name()
        self.incontributor = 0

    # --- Media RSS (feedparser/namespaces/mediarss.py) ------------------------------

    def _start_media_category(self, attrs_d: Attrs) -> None:
        attrs_d.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
        self._start_category(attrs_d)

    def _end_media_keywords(self) -> None:
        for term in self.pop("media_keywords").split(","):
            if term.strip():
                self._add_tag(term.strip(), None, None)

    def _end_media_title(self) -> None:
        title_depth = self.title_depth
        self._end_title()
        self.title_depth = title_depth

    def _start_media_group(self, attrs_d: Attrs) -> None:
        pass

    def _start_media_rating(self, attrs_d: Attrs) -> None:
        self._get_context().setdefault("media_rating", attrs_d)
        self.push("rating", 1)

    def _end_media_rating(self) -> None:
        rating = self.pop("rating")
        if rating is not None and rating.strip():
            self._get_context()["media_rating"]["content"] = rating

    def _start_media_credit(self, attrs_d: Attrs) -> None:
        context = self._get_context()
        context.setdefault("media_credit", [])
        context["media_credit"].append(attrs_d)
        self.push("credit", 1)

    def _end_media_credit(self) -> None:
        credit = self.pop("credit")
        if credit is not None and credit.strip():
            self._get_context()["media_credit"][-1]["content"] = credit

    def _start_media_restriction(self, attrs_d: Attrs) -> None:
        self._get_context().setdefault("media_restriction", attrs_d)
        self.push("restriction", 1)

    def _end_media_restriction(self) -> None:
        restriction = self.pop("restriction")
        if restriction is not None and restriction.strip():
            self._get_context()["media_restriction"]["content"] = [
                cc.strip().lower() for cc in restriction.split(" ")
            ]

    def _start_media_license(self, attrs_d: Attrs) -> None:
        self._get_context().setdefault("media_license", attrs_d)
        self.push("license", 1)

    def _end_media_license(self) -> None:
        license_ = self.pop("license")
        if license_ is not None and license_.strip():
            self._get_context()["media_license"]["content"] = license_

    def _start_media_content(self, attrs_d: Attrs) -> None:
        context = self._get_context()
        context.setdefault("media_content", [])
        context["media_content"].append(attrs_d)

    def _start_media_thumbnail(self, attrs_d: Attrs) -> None:
        context = self._get_context()
        context.setdefault("media_thumbnail", [])
        self.push("url", 1)
        context["media_thumbnail"].append(attrs_d)

    def _end_media_thumbnail(self) -> None:
        url = self.pop("url")
        context = self._get_context()
        if url is not None and url.strip() and "url" not in context["media_thumbnail"][-1]:
            context["media_thumbnail"][-1]["url"] = url

    def _start_media_player(self, attrs_d: Attrs) -> None:
        self.push("media_player", 0)
        self._get_context()["media_player"] = dict(attrs_d)

    def _end_media_player(self) -> None:
        value = self.pop("media_player")
        self._get_context()["media_player"]["content"] = value

    # --- iTunes (feedparser/namespaces/itunes.py) -----------------------------------

    def _start_itunes_owner(self, attrs_d: Attrs) -> None:
        self.inpublisher = 1
        self.push("publisher", 0)

    def _end_itunes_owner(self) -> None:
        self.pop("publisher")
        self.inpublisher = 0
        self._sync_author_detail("publisher")

    def _end_itunes_keywords(self) -> None:
        for term in self.pop("itunes_keywords").split(","):
            if term.strip():
                self._add_tag(term.strip(), "http://www.itunes.com/", None)

    def _start_itunes_category(self, attrs_d: Attrs) -> None:
        self._add_tag(attrs_d.get("text"), "http://www.itunes.com/", None)
        self.push("category", 1)

    def _start_itunes_image(self, attrs_d: Attrs) -> None:
        self.push("itunes_image", 0)
        if attrs_d.get("href"):
            self._get_context()["image"] = {"href": attrs_d.get("href")}
        elif attrs_d.get("url"):
            self._get_context()["image"] = {"href": attrs_d.get("url")}

    def _end_itunes_block(self) -> None:
        value = self.pop("itunes_block", 0)
        self._get_context()["itunes_block"] = 1 if value in ("yes", "Yes") else 0

    def _end_itunes_explicit(self) -> None:
        value = self.pop("itunes_explicit", 0)
        self._get_context()["itunes_explicit"] = (None, False, True)[
            (value == "yes" and 2) or value == "clean" or 0
        ]

    # --- GeoRSS (feedparser/namespaces/georss.py); the values are never read ---------

    def _start_georssgeom(self, attrs_d: Attrs) -> None:
        self.push("geometry", 0)
        self._get_context()["where"] = {}

    def _end_georss_geometry(self, parse: Callable[[Any], Any]) -> None:
        geometry = parse(self.pop("geometry"))
        if geometry:
            self._get_context()["where"].update(geometry)

    def _end_georss_point(self) -> None:
        self._end_georss_geometry(georss._parse_georss_point)

    def _end_georss_line(self) -> None:
        self._end_georss_geometry(georss._parse_georss_line)

    def _end_georss_polygon(self) -> None:
        self._end_georss_geometry(georss._parse_georss_polygon)

    def _end_georss_box(self) -> None:
        self._end_georss_geometry(georss._parse_georss_box)

    def _start_where(self, attrs_d: Attrs) -> None:
        self.push("where", 0)
        self._get_context()["where"] = {}

    def _parse_srs_attrs(self, attrs_d: Attrs) -> None:
        srs_name = attrs_d.get("srsname")
        try:
            srs_dimension = int(attrs_d.get("srsdimension", "2"))
        except ValueError:
            srs_dimension = 2
        context = self._get_context()
        if "where" not in context:
            context["where"] = {}
        context["where"]["srsName"] = srs_name
        context["where"]["srsDimension"] = srs_dimension

    def _start_gml_point(self, attrs_d: Attrs) -> None:
        self._parse_srs_attrs(attrs_d)
        self.ingeometry = 1
        self.push("geometry", 0)

    def _start_gml_linestring(self, attrs_d: Attrs) -> None:
        self._parse_srs_attrs(attrs_d)
        self.ingeometry = "linestring"
        self.push("geometry", 0)

    def _start_gml_polygon(self, attrs_d: Attrs) -> None:
        self._parse_srs_attrs(attrs_d)
        self.push("geometry", 0)

    def _start_gml_exterior(self, attrs_d: Attrs) -> None:
        self.push("geometry", 0)

    def _start_gml_linearring(self, attrs_d: Attrs) -> None:
        self.ingeometry = "polygon"
        self.push("geometry", 0)

    def _start_gml_pos(self, attrs_d: Attrs) -> None:
        self.push("pos", 0)

    def _end_gml_pos(self) -> None:
        self._end_gml_positions(False)

    def _end_gml_poslist(self) -> None:
        self._end_gml_positions(True)

    def _end_gml_positions(self, is_list: bool) -> None:
        this = self.pop("pos")
        context = self._get_context()
        srs_name = context["where"].get("srsName")
        srs_dimension = context["where"].get("srsDimension", 2)
        swap = True
        if srs_name and "EPSG" in srs_name:
            epsg = int(srs_name.split(":")[-1])
            swap = bool(epsg in georss._geogCS)
        if is_list:
            geometry = georss._parse_poslist(this, self.ingeometry, swap=swap, dims=srs_dimension)
        else:
            geometry = georss._parse_georss_point(this, swap=swap, dims=srs_dimension)
        if geometry:
            self._get_context()["where"].update(geometry)

    def _end_geom(self) -> None:
        self.ingeometry = 0
        self.pop("geometry")

    def _end_where(self) -> None:
        self.pop("where")

    # --- Podlove Simple Chapters (feedparser/namespaces/psc.py) ---------------------

    def _start_psc_chapters(self, attrs_d: Attrs) -> None:
        context = self._get_context()
        if "psc_chapters" not in context:
            self.psc_chapters_flag = True
            attrs_d["chapters"] = []
            context["psc_chapters"] = dict(attrs_d)

    def _end_psc_chapters(self) -> None:
        self.psc_chapters_flag = False

    def _start_psc_chapter(self, attrs_d: Attrs) -> None:
        if self.psc_chapters_flag:
            start = self._get_attribute(attrs_d, "start")
            attrs_d["start_parsed"] = psc._parse_psc_chapter_start(start)
            context = self._get_context()["psc_chapters"]
            context["chapters"].append(dict(attrs_d))

    # --- Creative Commons (feedparser/namespaces/cc.py) -----------------------------

    def _start_cc_license(self, attrs_d: Attrs) -> None:
        context = self._get_context()
        value = self._get_attribute(attrs_d, "rdf:resource")
        link: dict[str, Any] = {"rel": "license"}
        if value:
            link["href"] = value
        context.setdefault("links", []).append(link)

    def _start_creativecommons_license(self, attrs_d: Attrs) -> None:
        self.push("license", 1)

    def _end_creativecommons_license(self) -> None:
        value = self.pop("license")
        context = self._get_context()
        link: dict[str, Any] = {"rel": "license"}
        if value:
            link["href"] = value
        context.setdefault("links", []).append(link)
        del context["license"]


def _as_read(context: dict[str, Any]) -> dict[str, Any]:
    """A context as a FeedParserDict answers ``get``, for the keys parse.py reads.

    FeedParserDict derives ``enclosures`` from ``links`` (and has no such key without
    them); the other keys parse.py reads are plain. A plain dict is several times faster.
    """
    if "links" in context:
        context["enclosures"] = [
            {key: value for key, value in link.items() if key != "rel"}
            for link in context["links"]
            if link["rel"] == "enclosure"
        ]
    else:
        context.pop("enclosures", None)
    return context


def _unmojibake(text: str) -> str:
    """feedparser's repair of UTF-8 that was read as ISO-8859-1 (a no-op for other text)."""
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _strip_div(pieces: list[str]) -> list[str]:
    """feedparser's pop() for Atom XHTML: drop the wrapping div when it wraps everything."""
    while pieces and len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while pieces and len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if (
        pieces
        and (pieces[0] == "<div>" or pieces[0].startswith("<div "))
        and pieces[-1] == "</div>"
    ):
        depth = 0
        for piece in pieces[:-1]:
            if piece.startswith("</"):
                depth -= 1
                if depth == 0:
                    break
            elif piece.startswith("<") and not piece.endswith("/>"):
                depth += 1
        else:
            pieces = pieces[1:-1]
    return pieces


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value


def _attribute_prefix(namespace: str, in_scope: dict[str | None, str]) -> str:
    """The prefix a namespaced attribute was written with, as expat reports it."""
    if namespace == _XML_NAMESPACE:
        return "xml"
    prefixes = [prefix for prefix, uri in in_scope.items() if prefix and uri == namespace]
    if len(prefixes) != 1:
        raise _Fallback("an attribute prefix that is not certain")
    return prefixes[0]


_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_ATOM_VERSIONS: dict[Any, str] = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
_LOOSE_NUMERIC = (
    ("&#60;", "&lt;"),
    ("&#x3c;", "&lt;"),
    ("&#x3C;", "&lt;"),
    ("&#62;", "&gt;"),
    ("&#x3e;", "&gt;"),
    ("&#x3E;", "&gt;"),
    ("&#38;", "&amp;"),
    ("&#x26;", "&amp;"),
    ("&#34;", "&quot;"),
    ("&#x22;", "&quot;"),
    ("&#39;", "&apos;"),
    ("&#x27;", "&apos;"),
)
_LOOSE_NAMED = (
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&amp;", "&"),
    ("&quot;", '"'),
    ("&apos;", "'"),
    ("&#x2f;", "/"),
    ("&#x2F;", "/"),
)


def _table(kind: str, own: str, aliases: dict[str, str]) -> dict[str, Any]:
    """Element name -> handler: those with their own, then feedparser's aliases."""
    names = {name: name for name in own.split()} | aliases
    return {name: getattr(_Handler, f"_{kind}_{target}") for name, target in names.items()}


# Where feedparser points several element names at one handler (``_start_issued =
# _start_published``, dc.py and itunes.py delegating), in both directions...
_SHARED_ALIASES = {
    "managingeditor": "author", "homepage": "url", "uri": "url", "tagline": "subtitle",
    "copyright": "rights", "entry": "item", "issued": "published", "pubdate": "published",
    "modified": "updated", "lastbuilddate": "updated", "keywords": "category", "id": "guid",
    "feedburner_browserfriendly": "info", "dc_author": "author", "dc_creator": "author",
    "dc_date": "updated", "dc_description": "description", "dc_language": "language",
    "dc_publisher": "webmaster", "dc_rights": "rights", "dc_subject": "category",
    "dc_title": "title", "dcterms_created": "created", "dcterms_issued": "published",
    "dcterms_modified": "updated", "media_description": "description",
    "itunes_author": "author", "itunes_name": "name", "itunes_email": "email",
    "itunes_subtitle": "subtitle", "itunes_summary": "summary",
    "creativeCommons_license": "creativecommons_license", "georss_where": "where",
}  # fmt: skip
# ... and in one direction only.
_START_ALIASES = {
    "fullitem": "content_encoded", "media_title": "title", "itunes_link": "itunes_image",
    "georss_point": "georssgeom", "georss_line": "georssgeom", "georss_polygon": "georssgeom",
    "georss_box": "georssgeom", "gml_poslist": "gml_pos",
}  # fmt: skip
_END_ALIASES = {
    "feed": "channel", "abstract": "description", "content_encoded": "content",
    "fullitem": "content", "media_category": "category", "itunes_category": "category",
    "gml_point": "geom", "gml_linestring": "geom", "gml_linearring": "geom",
    "gml_exterior": "geom", "gml_polygon": "geom",
}  # fmt: skip
_STARTS: dict[str, Callable[[_Handler, Attrs], None]] = _table(
    "start",
    """rss channel feed image textinput author contributor name width height url email
    subtitle rights item language webmaster published updated created expirationdate
    category cloud link guid title description abstract info generator summary enclosure
    source content content_encoded newlocation tags dcterms_valid dc_contributor
    media_category media_group media_rating media_credit media_restriction media_license
    media_content media_thumbnail media_player itunes_category itunes_owner itunes_image
    cc_license creativecommons_license georssgeom where gml_point gml_linestring
    gml_polygon gml_exterior gml_linearring gml_pos psc_chapters psc_chapter""",
    _SHARED_ALIASES | _START_ALIASES,
)
_ENDS: dict[str, Callable[[_Handler], None]] = _table(
    "end",
    """channel image textinput author contributor name width height url email subtitle
    rights item language webmaster published updated created expirationdate category link
    guid title description info generator summary source content newlocation tags
    dcterms_valid dc_contributor media_keywords media_title media_rating media_credit
    media_restriction media_license media_thumbnail media_player itunes_owner
    itunes_keywords itunes_block itunes_explicit creativecommons_license georss_point
    georss_line georss_polygon georss_box gml_pos gml_poslist geom where psc_chapters""",
    _SHARED_ALIASES | _END_ALIASES,
)


def feedparser_handlers(kind: str) -> frozenset[str]:
    """The element names feedparser has a ``_start_``/``_end_`` handler for."""
    prefix = f"_{kind}_"
    names = dir(feedparser.api.StrictFeedParser)
    return frozenset(name[len(prefix) :] for name in names if name.startswith(prefix))


def _unported(kind: str, ported: Iterable[str]) -> frozenset[str]:
    return feedparser_handlers(kind) - set(ported)


# GeoRSS, GML, Podlove chapters, XHTML bodies: feedparser handles them, the port does not.
_UNPORTED_STARTS = _unported("start", _STARTS)
_UNPORTED_ENDS = _unported("end", _ENDS)
