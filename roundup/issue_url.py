"""An issue's one public address, computed here and nowhere else.

An issue's web page lives at ``newsletter.url`` + ``<last day>-<title>/``, e.g.
``https://example.org/roundup/2015-08-14-weekly-roundup/`` for the week ending 2015-08-14 of
"Weekly Roundup". The email's "View online" link, the archive, the feeds, the post's
permalink and the folder ``roundup publish`` writes all come from :func:`post_url` and
:func:`issue_path`, so they cannot disagree. The date keeps addresses unique and sortable.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from urllib.parse import urlsplit

from roundup.config import Config
from roundup.models import Draft


def slugify(value: str) -> str:
    """``"Revue de la Semaine"`` → ``"revue-de-la-semaine"``: ASCII letters, digits, dashes."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def issue_slug(draft: Draft, config: Config) -> str:
    """``2015-08-14-weekly-roundup``: the last day of the week and the newsletter's title."""
    last_day = draft.window_end.date() - timedelta(days=1)
    return f"{last_day.isoformat()}-{slugify(config.newsletter.title) or 'issue'}"


def issue_path(draft: Draft, config: Config) -> str:
    """The issue's folder below ``newsletter.url``: ``2015-08-14-weekly-roundup/``."""
    return f"{issue_slug(draft, config)}/"


def post_url(draft: Draft, config: Config) -> str:
    """The issue's public address: ``newsletter.url`` + :func:`issue_path`."""
    return f"{config.newsletter.url}{issue_path(draft, config)}"


def below_site(url: str, config: Config) -> str:
    """Where ``url`` sits below ``newsletter.url``: ``2015-08-14-weekly-roundup/``, the
    folder of the issue's page in the web copy ``out/site/``."""
    root = config.newsletter.url
    if not url.startswith(root):
        raise ValueError(f"{url} is not below newsletter.url {root}")
    return url[len(root) :]


def url_path(url: str) -> str:
    """The path of ``url`` from the host's root: ``/roundup/2015-08-14-weekly-roundup/``.

    It is what a site generator's permalink field takes to put a page at ``url``.
    """
    return urlsplit(url).path or "/"
