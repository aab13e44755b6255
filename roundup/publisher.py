"""The publishing seam: a :class:`Publisher` puts the sent issues where readers find them.

After an issue is sent, the orchestrator hands every sent issue (newest last) to the
configured publisher. A backend is one module that defines a class satisfying
:class:`Publisher` and a ``from_config(config)`` function, listed once in :data:`BACKENDS`.
The first is :mod:`roundup.archive`: an ``index.html`` and an Atom ``feed.xml`` in
``output_dir``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from roundup.config import Config

# publisher name → the module that implements it (imported on first use)
BACKENDS: Mapping[str, str] = {"archive": "roundup.archive"}
DEFAULT_BACKEND = "archive"


@dataclass(frozen=True, slots=True)
class SentIssue:
    """One sent issue, as a publisher lists it."""

    week: str
    number: int
    subject: str
    date: date  # the window's last day, or the date it was sent (an aware datetime works too)
    post_url: str  # the issue's blog post
    summary: str = ""  # plain text


class Publisher(Protocol):
    """Publishes the list of sent issues; returns the files or places it wrote."""

    def publish(self, issues: Sequence[SentIssue]) -> list[Path]: ...


class Backend(Protocol):
    """What a publisher module offers: its :class:`Publisher` built from the configuration."""

    def from_config(self, config: Config) -> Publisher: ...


def open_publisher(config: Config) -> Publisher:
    """The configured publisher (today the archive pages in ``output_dir``).

    Example: ``open_publisher(config).publish(issues)``.
    """
    module: Backend = importlib.import_module(BACKENDS[DEFAULT_BACKEND])
    return module.from_config(config)
