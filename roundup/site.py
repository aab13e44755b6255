"""The published site: every published issue's page, the archive home page and two feeds.

:func:`build_site` turns the published issues into the files of ``out/site/``, a folder that
stands for ``newsletter.url``: each issue's page sits at exactly the path of its public
address below ``newsletter.url`` (:func:`page_file`), e.g.
``2015-08-14-weekly-roundup/index.html`` for
``https://example.org/roundup/2015-08-14-weekly-roundup/``, beside ``index.html`` (the
archive), ``feed.xml`` (Atom) and ``feed.json`` (JSON Feed 1.1, both with the newest
:data:`FEED_ISSUES` issues in full). Links between pages are
relative and name ``index.html``, so the folder works from any host, below any path, and
opened from disk. Canonical links, Open Graph tags, JSON-LD and the feeds carry the public
address. The pages are rendered by the theme (``site_issue.html``, which extends
``post.html``, and ``archive.html``); building is pure, so the same issues give the same
bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from email.utils import parseaddr

import jinja2
from markupsafe import Markup

from roundup.config import Config
from roundup.i18n import labels
from roundup.issue_url import below_site
from roundup.issue_view import IssueView
from roundup.outputs.post_md import lead_image
from roundup.site_feeds import FeedIssue, atom_feed, json_feed
from roundup.theme import render_template

HOME = "index.html"
ATOM = "feed.xml"
JSON_FEED = "feed.json"
FEED_ISSUES = 20  # the feeds carry the newest issues in full; the archive lists them all

# The words of the site's pages, by language (English for the others); a theme can use its
# own words instead. {name} is the newsletter's title.
SITE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "all_issues": "All issues",
        "more_issues": "More issues",
        "previous": "Previous issue",
        "next": "Next issue",
        "subscribe": "Subscribe",
        "subscribe_title": "Get {name} by email",
        "subscribe_pitch": "One email a week with the stories worth your time.",
        "email_address": "Your email address",
    },
    "fr": {
        "all_issues": "Tous les numéros",
        "more_issues": "Autres numéros",
        "previous": "Numéro précédent",
        "next": "Numéro suivant",
        "subscribe": "S'abonner",
        "subscribe_title": "Recevez {name} par e-mail",
        "subscribe_pitch": "Un e-mail par semaine, avec les articles qui valent votre temps.",
        "email_address": "Votre adresse e-mail",
    },
    "de": {
        "all_issues": "Alle Ausgaben",
        "more_issues": "Weitere Ausgaben",
        "previous": "Vorherige Ausgabe",
        "next": "Nächste Ausgabe",
        "subscribe": "Abonnieren",
        "subscribe_title": "{name} per E-Mail erhalten",
        "subscribe_pitch": "Eine E-Mail pro Woche mit den Beiträgen, die Ihre Zeit wert sind.",
        "email_address": "Ihre E-Mail-Adresse",
    },
    "es": {
        "all_issues": "Todos los números",
        "more_issues": "Más números",
        "previous": "Número anterior",
        "next": "Número siguiente",
        "subscribe": "Suscribirse",
        "subscribe_title": "Reciba {name} por correo",
        "subscribe_pitch": "Un correo a la semana con los artículos que valen su tiempo.",
        "email_address": "Su correo electrónico",
    },
}
_MAIN = re.compile(r"<main[^>]*>(.*)</main>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A link to another issue: its relative address, subject and day."""

    href: str
    subject: str
    date: date


@dataclass(frozen=True, slots=True)
class SitePage:
    """What the site's templates see as ``site``, besides the issue itself."""

    name: str  # the newsletter's title
    words: Mapping[str, str]  # SITE_LABELS in the newsletter's language
    lang: str
    dir: str
    home: str  # relative links: the archive page and the feeds
    atom: str
    json_feed: str
    locale: str  # Open Graph locale, e.g. en_US
    subscribe_url: str
    subscribe_form: bool
    canonical: str = ""  # public address of this page
    kind: str = "website"  # Open Graph type: "article" for an issue's page
    title: str = ""
    description: str = ""
    image: str = ""
    published: str = ""  # ISO 8601, an issue's page only
    json_ld: Markup = field(default_factory=Markup)
    newer: Neighbour | None = None
    older: Neighbour | None = None


@dataclass(frozen=True, slots=True)
class Listed:
    """One issue as the archive page lists it."""

    href: str
    subject: str
    number: int
    date: date
    summary: str


def build_site(
    issues: Sequence[IssueView], config: Config, env: jinja2.Environment
) -> dict[str, bytes]:
    """Every file of the site, by path relative to the site's folder.

    Example: ``build_site([view], config, env)["index.html"]`` is the archive page.
    """
    ordered = newest_first(issues)
    words = labels(config.newsletter.language)
    files: dict[str, bytes] = {}
    contents = []
    for index, issue in enumerate(ordered):
        newer = ordered[index - 1] if index > 0 else None
        older = ordered[index + 1] if index + 1 < len(ordered) else None
        page = issue_page(issue, config, newer=newer, older=older)
        html = render_template(
            env,
            "site_issue.html",
            {"issue": issue, "labels": words, "sections": issue.sections, "site": page},
        )
        files[page_file(issue, config)] = html.encode("utf-8")
        contents.append(FeedIssue(issue, _main(html), page.image))
    archive = archive_page(config, ordered[0] if ordered else None)
    listed = [_listed(issue, config) for issue in ordered]
    html = render_template(
        env, "archive.html", {"site": archive, "issues": listed, "labels": words}
    )
    files[HOME] = html.encode("utf-8")
    files[ATOM] = atom_feed(config, contents[:FEED_ISSUES])
    files[JSON_FEED] = json_feed(config, contents[:FEED_ISSUES])
    return files


def page_file(issue: IssueView, config: Config) -> str:
    """The issue's page in the site's folder: the path of its public address below
    ``newsletter.url``, plus ``index.html`` (``2015-08-14-weekly-roundup/index.html``)."""
    return below_site(issue.url, config) + HOME


def newest_first(issues: Sequence[IssueView]) -> list[IssueView]:
    """``issues`` by the last day of their week, then number, newest first."""
    return sorted(issues, key=lambda issue: (issue.date, issue.number), reverse=True)


def site_words(config: Config) -> dict[str, str]:
    """:data:`SITE_LABELS` in the newsletter's language, ``{name}`` filled in."""
    language = config.newsletter.language.replace("_", "-").split("-")[0].lower()
    table = {**SITE_LABELS["en"], **SITE_LABELS.get(language, {})}
    return {key: value.replace("{name}", config.newsletter.title) for key, value in table.items()}


def subscribe_url(config: Config) -> str:
    """``newsletter.subscribe_url``, else a ``mailto:`` to the sender asking to subscribe."""
    nl = config.newsletter
    return nl.subscribe_url or f"mailto:{parseaddr(nl.from_addr)[1]}?subject=subscribe"


def issue_page(
    issue: IssueView, config: Config, *, newer: IssueView | None, older: IssueView | None
) -> SitePage:
    """The ``site`` values of ``issue``'s page, between its ``newer`` and ``older``
    neighbours."""
    image = lead_image(issue.sections)
    up = "../" * page_file(issue, config).count("/")
    return replace(
        _common(config, issue.lang, issue.dir, up=up),
        canonical=issue.url,
        kind="article",
        title=issue.subject,
        description=issue.preheader,
        image=image,
        published=issue.published,
        json_ld=json_ld(issue, config, image),
        newer=_neighbour(newer, config, up),
        older=_neighbour(older, config, up),
    )


def archive_page(config: Config, newest: IssueView | None) -> SitePage:
    """The ``site`` values of the archive page (in the language and direction of the
    ``newest`` issue, if any)."""
    lang = newest.lang if newest else config.newsletter.language.replace("_", "-")
    return replace(
        _common(config, lang, newest.dir if newest else "ltr", up=""),
        canonical=config.newsletter.url,
        title=config.newsletter.title,
    )


def json_ld(issue: IssueView, config: Config, image: str) -> Markup:
    """The issue as schema.org JSON-LD, safe inside a ``<script>`` element."""
    nl = config.newsletter
    publisher = {"@type": "Organization", "name": nl.title, "url": nl.url}
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": issue.subject,
        "description": issue.preheader,
        "datePublished": issue.published,
        "url": issue.url,
        "mainEntityOfPage": issue.url,
        "inLanguage": issue.lang,
        "author": publisher,
        "publisher": publisher,
        "isPartOf": {"@type": "Blog", "name": nl.title, "url": nl.url},
    }
    if image:
        data["image"] = image
    text = json.dumps(data, ensure_ascii=False, indent=1)
    # "</script>" or "<!--" inside a string must not end the element early
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _common(config: Config, lang: str, direction: str, *, up: str) -> SitePage:
    """What every page of the site shares; ``up`` leads from the page to the site's root."""
    return SitePage(
        name=config.newsletter.title,
        words=site_words(config),
        lang=lang,
        dir=direction,
        home=up + HOME,
        atom=up + ATOM,
        json_feed=up + JSON_FEED,
        locale=lang.replace("-", "_"),
        subscribe_url=subscribe_url(config),
        subscribe_form=config.newsletter.subscribe_form,
    )


def _neighbour(issue: IssueView | None, config: Config, up: str) -> Neighbour | None:
    if issue is None:
        return None
    return Neighbour(up + page_file(issue, config), issue.subject, issue.date)


def _listed(issue: IssueView, config: Config) -> Listed:
    return Listed(
        page_file(issue, config), issue.subject, issue.number, issue.date, issue.preheader
    )


def _main(html: str) -> str:
    """The page's ``<main>``: the issue's content without the page around it (the feeds')."""
    match = _MAIN.search(html)
    return (match[1] if match else html).strip()
