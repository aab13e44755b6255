"""The strict reader: well-formed RSS and Atom, read with lxml straight into entries.

Formats, from their specifications: RSS 0.90, 0.91, 0.92 and 2.0; RSS 1.0 (RDF) with the
Dublin Core and content modules; Atom 1.0 (RFC 4287) with its text constructs (``text``,
``html``, ``xhtml``) and ``xml:base``. Images come from Media RSS (``media:thumbnail``,
``media:content``), image enclosures and ``itunes:image``. Only what roundup keeps is read.

The document is parsed with entity expansion off, no network access, libxml2's size limits
on and no error recovery. A document this reader cannot be sure of is not guessed at:
:func:`read_feed` returns None and the caller hands it to feedparser, which is built for
broken feeds. That covers XML that is not well-formed, entity references (undefined, or
declared in a DTD: never expanded here), a charset from the server that contradicts the
document's own, a media type that is not XML, and roots other than ``rss``, ``rdf:RDF``
and Atom's ``feed``.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol, overload

import lxml.etree

from roundup.dates import real_date
from roundup.entries import FeedContext, build_entry
from roundup.models import Entry, FeedMeta, ParsedFeed
from roundup.normalize import (
    absolute_http_url,
    choose_image,
    clean_title,
    first_image,
    is_http_url,
    join_url,
    prefer_image,
    summary_image,
    tag_names,
    text_to_html,
)


class Element(Protocol):
    """What this reader uses of an lxml element.

    lxml ships no type information and keeps its element class private; this names the
    part of its public interface the reader relies on, so that the checker can hold it to it.
    """

    tag: Any  # "{namespace}local", or for an entity reference lxml's Entity factory
    text: str | None
    attrib: Mapping[str, str]

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    def __iter__(self) -> Iterator[Element]: ...
    def __len__(self) -> int: ...
    def itertext(self) -> Iterator[str]: ...
    def iterancestors(self) -> Iterator[Element]: ...
    def iterdescendants(self) -> Iterator[Element]: ...
    def iter(self, tag: object) -> Iterator[object]: ...
    def getroottree(self) -> Any: ...  # its docinfo: encoding, doctype, internalDTD


# Namespaces by what they are, keyed as _namespace_key spells them: some generators
# capitalise them differently or drop the trailing slash, and nothing else shares them.
_PREFIXES = {
    "": "",  # RSS 0.91, 0.92 and 2.0 elements have no namespace
    "http://purl.org/rss/1.0": "",
    "http://my.netscape.com/rdf/simple/0.9": "",
    "http://www.w3.org/2005/atom": "atom:",
    "http://purl.org/dc/elements/1.1": "dc:",
    "http://purl.org/dc/terms": "dcterms:",
    "http://purl.org/rss/1.0/modules/content": "content:",
    "http://search.yahoo.com/mrss": "media:",
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes:",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns": "rdf:",
}
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_RDF_ABOUT = _RDF + "about"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XHTML = "{http://www.w3.org/1999/xhtml}"
_ROOTS = {
    "rss": "rss",
    _RDF + "RDF": "rdf",
    "{http://www.w3.org/2005/Atom}feed": "atom",
}
_XML_MEDIA_TYPES = ("application/xml", "text/xml")
_LEADING_SPACE = re.compile(rb"\s+(?=<\?xml)")
_RSS_MAILBOX = re.compile(r"^\s*\S+@\S+\s*\((?P<name>[^)]+)\)\s*$")  # "jo@x.org (Jo Smith)"
_NAME_MAILBOX = re.compile(r"^\s*(?P<name>[^<]+?)\s*<[^>]*@[^>]*>\s*$")  # "Jo Smith <jo@x.org>"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_C1_REFERENCE = re.compile(rb"&#(?:0*(?:12[89]|1[3-5][0-9])|[xX]0*[89][0-9a-fA-F]);")
_C1_BYTE = re.compile(rb"[\x80-\x9f]")
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
_LATIN1 = frozenset({"iso8859-1", "ascii"})  # as codecs.lookup names them


def read_feed(body: bytes, context: FeedContext, content_type: str | None) -> ParsedFeed | None:
    """The feed in ``body``, or None when this reader declines it (see the module doc)."""
    root = _parse(body, content_type)
    if root is None:
        return None
    kind = _ROOTS.get(root.tag)
    if kind is None:
        return None
    # UTF-16 and UTF-32 spell "xml:base" with NULs between: assume such documents use it.
    doc = _Document(context, xml_base=b"xml:base" in body or b"\x00" in body[:64])
    return _read_atom(root, doc) if kind == "atom" else _read_rss(root, doc)


# --- the document -----------------------------------------------------------------------


def _parse(body: bytes, content_type: str | None) -> Element | None:
    declared = _declared_charset(content_type)
    if declared is None:
        return None
    # Stray blank lines before the XML declaration are the commonest flaw of real feeds
    # (a template's leading newline); what follows them is the document as written.
    if body[:1].isspace() and (match := _LEADING_SPACE.match(body)):
        body = body[match.end() :]
    try:
        root: Element = lxml.etree.fromstring(body, _parser())
    except (lxml.etree.XMLSyntaxError, ValueError):
        return None
    tree = root.getroottree()
    if declared and _codec(declared) != _codec(tree.docinfo.encoding or "utf-8"):
        return None  # the server and the document disagree: feedparser weighs them
    if tree.docinfo.doctype and _has_entities(root):
        return None
    if _has_c1_controls(body, _codec(tree.docinfo.encoding or "utf-8")):
        return None
    return root


class _NothingExternal(lxml.etree.Resolver):  # type: ignore[misc]
    """Answers every request for an external DTD or entity with an empty document.

    libxml2 asks for a DOCTYPE's external DTD even with entity resolution off; unanswered,
    it would read a file:// DTD and refuse the network one, and with it the common RSS
    0.91 DOCTYPE. So nothing outside the body is ever read, and no host is ever asked.
    """

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        return self.resolve_string("", context)


_PARSERS = threading.local()  # an lxml parser serves one thread at a time


def _parser() -> lxml.etree.XMLParser:
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = lxml.etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,  # libxml2's limits on depth and text size stay on
            recover=False,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        parser.resolvers.add(_NothingExternal())
        _PARSERS.parser = parser
    return parser


def _declared_charset(content_type: str | None) -> str | None:
    """The charset the server names ("" for none), or None when it calls the body not XML."""
    if not content_type:
        return ""
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type not in _XML_MEDIA_TYPES and not media_type.endswith("+xml"):
        return None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or ""
    return ""


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


def _has_c1_controls(body: bytes, codec: str) -> bool:
    """Whether the text holds code points 128-159, as a reference or in its encoding.

    They are control characters in Unicode and ISO-8859-1, and windows-1252's quotes and
    dashes in the feeds that hold them: browsers read them so (WHATWG Encoding), and so
    does feedparser, which these documents are left to.
    """
    if _C1_REFERENCE.search(body):
        return True
    if codec == "utf-8":  # the byte test first: most feeds never need the pattern's scan
        return b"\xc2" in body and _C1_UTF8.search(body) is not None
    return codec in _LATIN1 and _C1_BYTE.search(body) is not None


def _has_entities(root: Element) -> bool:
    """Whether a document with a DOCTYPE declares or uses entities (they stay unexpanded)."""
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        return True
    return any(True for _ in root.iter(lxml.etree.Entity))


def _name(tag: object) -> str:
    return _kind(tag)[0]


def _kind(tag: object) -> _Kind:
    """What an element with this tag is to the reader (see _KINDS)."""
    if not isinstance(tag, str):
        return _NO_KIND  # an entity reference (refused above) has no name to read
    found = _KINDS.get(tag)
    if found is None:
        namespace, _, local = tag[1:].rpartition("}") if tag[:1] == "{" else ("", "", tag)
        prefix = _PREFIXES.get(_namespace_key(namespace))
        name = "" if prefix is None else prefix + local
        found = (name, _REPEATABLE.get(name))
        if len(_KINDS) < _KINDS_LIMIT:
            _KINDS[tag] = found
    return found


def _namespace_key(uri: str) -> str:
    return uri.strip().lower().rstrip("/#")


# --- what an item or a channel holds ----------------------------------------------------


class _Fields:
    """An element's children by name: the first of each, and every one of the repeatable."""

    __slots__ = (
        "categories",
        "contents",
        "enclosures",
        "entries",
        "first",
        "items",
        "links",
        "media_description",
        "thumbnails",
    )

    def __init__(self) -> None:
        self.first: dict[str, Element] = {}
        self.links: list[Element] = []  # atom:link
        self.categories: list[Element] = []
        self.thumbnails: list[Element] = []  # media:thumbnail
        self.contents: list[Element] = []  # media:content
        self.enclosures: list[Element] = []
        # Media RSS: the description of the item's media, in the item or its media:group
        # (one inside a media:content describes only that picture or clip).
        self.media_description: Element | None = None
        # A channel's RSS items and a feed's Atom entries, gathered in the same walk.
        self.items: list[Element] = []
        self.entries: list[Element] = []

    def text(self, name: str) -> str:
        element = self.first.get(name)
        return _plain(element).strip() if element is not None else ""


def _fields(parent: Element) -> _Fields:
    fields = _Fields()
    keep_first = fields.first.setdefault
    kinds = _KINDS
    for child in parent:
        # This loop meets every element of every item: one lookup per step where it can.
        kind = kinds.get(child.tag)
        if kind is None:
            kind = _kind(child.tag)
        name, add = kind
        if name:
            keep_first(name, child)
            if add is not None:
                add(child, fields)
    return fields


def _add_link(child: Element, fields: _Fields) -> None:
    fields.links.append(child)


def _add_category(child: Element, fields: _Fields) -> None:
    fields.categories.append(child)


def _add_enclosure(child: Element, fields: _Fields) -> None:
    fields.enclosures.append(child)


def _add_thumbnail(child: Element, fields: _Fields) -> None:
    fields.thumbnails.append(child)


def _add_content(child: Element, fields: _Fields) -> None:
    fields.contents.append(child)
    _media_children(child, fields, group=False)


def _add_group(child: Element, fields: _Fields) -> None:
    _media_children(child, fields, group=True)


def _add_description(child: Element, fields: _Fields) -> None:
    if fields.media_description is None:
        fields.media_description = child


def _add_item(child: Element, fields: _Fields) -> None:
    fields.items.append(child)


def _add_entry(child: Element, fields: _Fields) -> None:
    fields.entries.append(child)


# The elements an item may repeat, or that hold others, and where each goes.
_REPEATABLE: dict[str, Callable[[Element, _Fields], None]] = {
    "atom:link": _add_link,
    "category": _add_category,
    "dc:subject": _add_category,
    "atom:category": _add_category,
    "enclosure": _add_enclosure,
    "media:thumbnail": _add_thumbnail,
    "media:content": _add_content,
    "media:group": _add_group,
    "media:description": _add_description,
    "item": _add_item,
    "atom:entry": _add_entry,
}
# What an element is to the reader, by its tag: its name as "prefix:local" ("" for an
# element of a namespace not read here) and, if an item may hold several, where it goes.
# Remembered per tag: a feed repeats the same few dozen tags item after item.
_Kind = tuple[str, Callable[[Element, _Fields], None] | None]
_KINDS: dict[str, _Kind] = {}
_KINDS_LIMIT = 10_000  # a hostile feed could invent a new tag per element
_NO_KIND: _Kind = ("", None)


def _media_children(container: Element, fields: _Fields, *, group: bool) -> None:
    """Media RSS nests thumbnails and contents in media:group and media:content."""
    for child in container:
        name = _name(child.tag)
        if name == "media:thumbnail":
            fields.thumbnails.append(child)
        elif name == "media:content":
            fields.contents.append(child)
            if group:
                _media_children(child, fields, group=False)
        elif group and name == "media:description" and fields.media_description is None:
            fields.media_description = child


def _plain(element: Element) -> str:
    """An element's text content (markup inside it, if any, dropped)."""
    if len(element) == 0:
        return element.text or ""
    return "".join(element.itertext())


def _blank(text: str) -> bool:
    """Whether ``text.strip()`` is empty, without copying a long text to find out."""
    return not text or text.isspace()


def _markup(element: Element) -> str:
    """An element's content as HTML: escaped HTML as it reads, inline elements serialised."""
    if len(element) == 0:
        return element.text or ""
    return _inner_html(element)


def _inner_html(element: Element) -> str:
    """The content of an element as HTML: text escaped, child elements serialised.

    Inline XHTML is written as HTML without namespaces, as a browser would read it: <br>,
    not <br/>, and no xmlns attributes. The descendants lose their namespace in place (the
    tree is read once); the in-scope declarations all land on the element's own start
    tag, which is cut off with its end tag (the serialiser escapes ">" in attributes).
    """
    for node in element.iterdescendants():
        if isinstance(node.tag, str) and node.tag[:1] == "{":
            node.tag = node.tag.rpartition("}")[2]
    lxml.etree.cleanup_namespaces(element)
    # Serialised as a plain <div>: an outer <br>, <title> or <style> would change the rules.
    tag, element.tag = element.tag, "div"
    try:
        rendered: str = lxml.etree.tostring(
            element, method="html", encoding="unicode", with_tail=False
        )
    finally:
        element.tag = tag
    return rendered[rendered.index(">") + 1 : rendered.rindex("</div>")]


class _Document:
    """The document being read: its feed's context, and whether it uses xml:base at all."""

    __slots__ = ("context", "document_base", "xml_base")

    def __init__(self, context: FeedContext, *, xml_base: bool) -> None:
        self.context = context
        self.xml_base = xml_base
        self.document_base = context.document_base  # fixed for the parse; read per link

    @property
    def base(self) -> str:
        return self.context.base


def _base(element: Element, doc: _Document) -> str:
    """The base URL in effect at ``element``: its xml:base chain over the document's URL."""
    if not doc.xml_base:
        return doc.document_base  # the common case, without walking up the tree
    chain = [
        value
        for node in (element, *element.iterancestors())
        if (value := node.get(_XML_BASE)) is not None
    ]
    base = doc.document_base
    for value in reversed(chain):
        base = _resolve(base, value.strip())
    return base


# --- RSS 0.9x, 1.0 and 2.0 --------------------------------------------------------------


def _read_rss(root: Element, doc: _Document) -> ParsedFeed:
    channel = next((child for child in root if _name(child.tag) == "channel"), None)
    channel_fields = _fields(channel) if channel is not None else _Fields()
    home = channel_fields.text("link") or _alternate(_alternate_element(channel_fields.links))
    meta = FeedMeta(
        title=clean_title(_rss_title(channel_fields)),
        link=absolute_http_url(doc.document_base, home),
    )
    doc.context.set_feed(meta.title, meta.link)
    feed_author = _rss_author(channel_fields, feed_level=True)
    # RSS 0.9x and 2.0 put items in the channel, RSS 0.90 and 1.0 beside it.
    items = [child for child in root if _name(child.tag) == "item"] + channel_fields.items
    entries = tuple(_rss_item(item, doc, feed_author) for item in items)
    return ParsedFeed(meta=meta, entries=entries)


def _rss_title(fields: _Fields) -> str:
    for name in ("title", "dc:title"):
        if (element := fields.first.get(name)) is not None:
            return _markup(element)
    return ""


def _rss_item(item: Element, doc: _Document, feed_author: str) -> Entry:
    fields = _fields(item)
    guid_element = fields.first.get("guid")
    guid = _guid(guid_element, doc) if guid_element is not None else ""
    guid = guid or item.get(_RDF_ABOUT, "").strip()  # an RSS 1.0 item's URI
    link = _rss_link(fields, guid_element, doc)
    summary, summary_element = _rss_summary(fields)
    base = _summary_base(summary_element, link, doc)
    return build_entry(
        doc.context,
        guid=guid or None,
        link=link,
        raw_title=_rss_title(fields),
        author=_rss_author(fields, feed_level=False) or feed_author,
        published=_published(fields),
        summary=summary,
        summary_base=base,
        image=_image(fields, base, (summary, summary_element), "content:encoded", _markup),
        tags=_tags(fields),
    )


def _rss_link(fields: _Fields, guid: Element | None, doc: _Document) -> str:
    element = fields.first.get("link")
    if element is not None and (href := _plain(element).strip()):
        return absolute_http_url(_base(element, doc) or doc.base, href)
    if fields.links and (url := _alternate_url(fields.links, doc)):
        return url
    # RSS 2.0: a guid is the item's permanent URL unless isPermaLink says otherwise.
    if guid is not None and _is_permalink(guid):
        return absolute_http_url(_base(guid, doc) or doc.base, _plain(guid).strip())
    return ""


def _rss_summary(fields: _Fields) -> tuple[str, Element | None]:
    """The item's synopsis as HTML, and its element: the description, else what stands in."""
    for name in ("description", "content:encoded", "dc:description"):
        element = fields.first.get(name)
        if element is not None and not _blank(markup := _markup(element)):
            return markup, element
    # Plain text by Apple's podcast spec and (unless it says type="html") by Media RSS's.
    for element in (fields.first.get("itunes:summary"), fields.media_description):
        if element is not None and not _blank(text := _plain(element)):
            html = element.get("type") == "html" and element is fields.media_description
            return (text if html else text_to_html(text)), element
    return "", None


def _rss_author(fields: _Fields, *, feed_level: bool) -> str:
    first = fields.first
    for name in _CHANNEL_AUTHORS if feed_level else _ITEM_AUTHORS:
        element = first.get(name)
        if element is not None and (text := _plain(element).strip()):
            return clean_title(_mailbox_name(text))
    return _atom_author(fields)  # some generators write Atom's author into RSS items


_ITEM_AUTHORS = ("dc:creator", "author", "itunes:author")
_CHANNEL_AUTHORS = (*_ITEM_AUTHORS, "managingEditor")  # RSS 2.0's channel has no author


def _mailbox_name(text: str) -> str:
    """The name in an RFC 822 mailbox ("jo@x.org (Jo Smith)", "Jo Smith <jo@x.org>")."""
    if "@" not in text:
        return text  # a name, as dc:creator and itunes:author give it
    match = _RSS_MAILBOX.match(text) or _NAME_MAILBOX.match(text)
    return match.group("name") if match else text


# Publication first, then last modification, as each format names them.
_DATES = (
    "pubDate",
    "atom:published",
    "dcterms:issued",
    "dcterms:created",
    "atom:updated",
    "dc:date",
    "dcterms:modified",
)


def _published(fields: _Fields) -> datetime | None:
    """The first of the item's dates that reads as a real one, in the order of _DATES."""
    first = fields.first
    for name in _DATES:
        element = first.get(name)
        if element is not None and (text := _plain(element).strip()):
            moment = real_date(text)
            if moment is not None:
                return moment
    return None


# --- Atom 1.0 ---------------------------------------------------------------------------


def _read_atom(root: Element, doc: _Document) -> ParsedFeed:
    fields = _fields(root)
    meta = FeedMeta(
        title=clean_title(_atom_text(fields.first.get("atom:title"), html=False)),
        link=_alternate_url(fields.links, doc),
    )
    doc.context.set_feed(meta.title, meta.link)
    feed_author = _atom_author(fields)
    entries = tuple(_atom_entry(child, doc, feed_author) for child in fields.entries)
    return ParsedFeed(meta=meta, entries=entries)


def _atom_entry(entry: Element, doc: _Document, feed_author: str) -> Entry:
    fields = _fields(entry)
    id_element = fields.first.get("atom:id")
    guid = _atom_id(id_element, doc) if id_element is not None else ""
    link = _atom_link(fields, guid, doc)
    summary, summary_element = _atom_summary(fields)
    base = _summary_base(summary_element, link, doc)
    return build_entry(
        doc.context,
        guid=guid or None,
        link=link,
        raw_title=_atom_text(fields.first.get("atom:title"), html=False),
        author=_atom_author(fields) or feed_author,
        published=_published(fields),
        summary=summary,
        summary_base=base,
        image=_image(fields, base, (summary, summary_element), "atom:content", _atom_html),
        tags=_tags(fields),
    )


def _atom_summary(fields: _Fields) -> tuple[str, Element | None]:
    """The entry's summary as HTML, else its content, else its video's description."""
    for name in ("atom:summary", "atom:content"):
        element = fields.first.get(name)
        if element is not None and not _blank(markup := _atom_html(element)):
            return markup, element
    element = fields.media_description
    if element is not None and not _blank(text := _plain(element)):
        return (text if element.get("type") == "html" else text_to_html(text)), element
    return "", None


def _atom_link(fields: _Fields, guid: str, doc: _Document) -> str:
    if url := _alternate_url(fields.links, doc):
        return url
    return guid if is_http_url(guid) else ""  # RFC 4287 4.2.6: an id may be the post's URL


def _alternate_url(links: list[Element], doc: _Document) -> str:
    """The alternate link's URL made absolute against its base, "" unless http(s)."""
    chosen = _alternate_element(links)
    if chosen is None or not (href := _alternate(chosen)):
        return ""
    return absolute_http_url(_base(chosen, doc) or doc.base, href)


def _alternate(chosen: Element | None) -> str:
    return (chosen.get("href") or "").strip() if chosen is not None else ""


def _alternate_element(links: list[Element]) -> Element | None:
    """RFC 4287 4.2.7.2: the alternate version, preferably the web page, of the entry."""
    alternates = [
        link
        for link in links
        if link.get("rel", "alternate").strip().lower() == "alternate" and link.get("href")
    ]
    for link in alternates:
        kind = link.get("type", "").split(";")[0].strip().lower()
        if not kind or kind in _HTML_TYPES:
            return link
    return alternates[0] if alternates else None


def _atom_author(fields: _Fields) -> str:
    author = fields.first.get("atom:author")
    if author is None:
        return ""
    name = next((child for child in author if _name(child.tag) == "atom:name"), None)
    return clean_title(_plain(name)) if name is not None else ""


def _atom_text(element: Element | None, *, html: bool) -> str:
    """An Atom text construct (RFC 4287 3.1) as HTML, or for titles as it reads.

    ``html=False`` keeps plain text as it is, for clean_title; ``html=True`` escapes it.
    Content of another media type (RFC 4287 4.1.3) is no summary: "".
    """
    if element is None or element.get("src") is not None:
        return ""
    kind = element.get("type", "text").strip().lower()
    if kind in ("xhtml", "application/xhtml+xml"):
        div = next((child for child in element if child.tag == _XHTML + "div"), None)
        return _inner_html(div if div is not None else element)
    if kind in ("html", "text/html"):
        return _plain(element)
    if kind == "text" or kind.startswith("text/"):
        text = _plain(element)
        return text_to_html(text) if html else text
    return ""


def _atom_html(element: Element) -> str:
    return _atom_text(element, html=True)


# --- shared by both -----------------------------------------------------------------------


def _guid(element: Element, doc: _Document) -> str:
    """An RSS guid; a permalink (the default) is a URL, so a relative one is resolved."""
    text = _plain(element).strip()
    if not text or not _is_permalink(element):
        return text
    return _resolve(_base(element, doc), text)


def _is_permalink(guid: Element) -> bool:
    value = guid.get("isPermaLink")
    if value is None and len(guid.attrib):  # feeds spell it isPermalink too
        value = next((v for k, v in guid.attrib.items() if k.lower() == "ispermalink"), None)
    return value is None or value.strip().lower() != "false"


def _atom_id(element: Element, doc: _Document) -> str:
    """An Atom id: an IRI (RFC 4287 4.2.6), so a relative one ("t3_…") is resolved.

    Stores made before this reader hold such ids resolved, as feedparser gave them, and
    their entries keep their ids this way.
    """
    text = _plain(element).strip()
    return _resolve(_base(element, doc), text) if text else ""


def _resolve(base: str, reference: str) -> str:
    try:
        return join_url(base, reference)
    except ValueError:
        return reference  # e.g. a malformed IPv6 host in the base


def _summary_base(element: Element | None, link: str, doc: _Document) -> str:
    """What relative URLs in a summary resolve against: its xml:base, else the entry's link."""
    base = _base(element, doc) if element is not None else ""
    return base if is_http_url(base) else link or doc.base


def _image(
    fields: _Fields,
    base: str,
    summary: tuple[str, Element | None],
    content_name: str,
    render: Callable[[Element], str],
) -> str | None:
    """The entry's picture: its media, else the summary's first image, else the content's.

    ``summary`` is the summary's HTML and its element; ``render`` turns the content element
    (named ``content_name``) into HTML, which is done only when the content is needed.
    """
    markup, summary_element = summary

    def in_markup() -> str | None:
        if found := summary_image(markup, base):
            return found
        # The summary may be a teaser without the picture the full content carries.
        content = fields.first.get(content_name)
        if content is None:
            return None
        # When the content is the summary, it is rendered already (rendering gives the same).
        return first_image(markup if content is summary_element else render(content), base)

    return prefer_image(_media_image(fields, base), in_markup)


def _media_image(fields: _Fields, base: str) -> str | None:
    if not (
        fields.thumbnails
        or fields.contents
        or fields.enclosures
        or "itunes:image" in fields.first
        or any(link.get("rel") == "enclosure" for link in fields.links)
    ):
        return None  # no candidate (an item's links are mostly alternates)
    return choose_image(base, _media_candidates(fields))


def _media_candidates(fields: _Fields) -> Iterator[tuple[str | None, str, str, str]]:
    """Pictures offered, in order of preference: thumbnails, pictures, enclosures, artwork,
    each as (URL, media type, width, height)."""
    for thumbnail in fields.thumbnails:
        yield _offer(thumbnail, "url")
    for media in fields.contents:
        if media.get("medium") == "image" or media.get("type", "").startswith("image/"):
            yield _offer(media, "url")
    for enclosure in fields.enclosures:
        if enclosure.get("type", "").startswith("image/"):
            yield _offer(enclosure, "url")
    for link in fields.links:
        if link.get("rel") == "enclosure" and link.get("type", "").startswith("image/"):
            yield _offer(link, "href")
    artwork = fields.first.get("itunes:image")
    if artwork is not None:
        yield _offer(artwork, "href")


def _offer(element: Element, name: str) -> tuple[str | None, str, str, str]:
    get = element.get
    return get(name), get("type", ""), get("width", ""), get("height", "")


def _tags(fields: _Fields) -> tuple[str, ...]:
    if not fields.categories:
        return ()
    # Atom names a category in its attributes; some feeds write it as text all the same.
    return tag_names(
        category.get("term") or category.get("label") or _plain(category)
        for category in fields.categories
    )
