"""The archive: every published issue on the web, the default :class:`~roundup.publisher.Publisher`.

:class:`ArchivePublisher` builds the site (:func:`roundup.site.build_site`: the issues'
pages, the archive home page and the feeds), replaces ``<output_dir>/site/`` with it in one
swap, then delivers it to ``publish.to`` or ``publish.command`` (:mod:`roundup.deploy`).

Usage::

    ArchivePublisher(config).publish(issue_views)   # ["/srv/news/out/site", "/var/www/roundup"]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2

from roundup.atomic import replace_folder
from roundup.config import Config
from roundup.deploy import MARKER, MARKER_TEXT, deliver
from roundup.errors import PublishError
from roundup.issue_view import IssueView
from roundup.site import build_site
from roundup.theme import make_environment

SITE_FOLDER = "site"


def site_dir(config: Config) -> Path:
    """``<output_dir>/site``: the web copy, a folder that stands for ``newsletter.url``."""
    return config.output_dir / SITE_FOLDER


class ArchivePublisher:
    """The web copy of the published issues, in ``out/site/`` and at ``publish.to``."""

    def __init__(self, config: Config, env: jinja2.Environment | None = None) -> None:
        self.config = config
        self.env = env

    def publish(self, issues: Sequence[IssueView]) -> list[str]:
        """Rebuild the site from ``issues`` and deliver it; returns where it was written."""
        config = self.config
        files = build_site(issues, config, self.env or make_environment(config))
        files[MARKER] = MARKER_TEXT.encode("utf-8")
        site = site_dir(config)
        write_site(site, files)
        where = deliver(site, config.publish, cwd=config.path.parent)
        return [str(site)] if where is None else [str(site), where]


def from_config(config: Config) -> ArchivePublisher:
    """The archive publisher for ``config``."""
    return ArchivePublisher(config)


def write_site(folder: Path, files: Mapping[str, bytes]) -> None:
    """Replace ``folder`` with exactly ``files`` (relative path → bytes), all at once."""

    def fill(new: Path) -> None:
        for relative, data in files.items():
            path = new / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    try:
        replace_folder(folder, fill)
    except OSError as exc:
        raise PublishError(f"{folder}: cannot write the site ({exc.strerror or exc})") from None
