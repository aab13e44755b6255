"""The publishing seam: a :class:`Publisher` puts the published issues where readers find them.

An issue is published when it is sent (``roundup run``, ``roundup send``) or on purpose
(``roundup publish --week W``). Each time, the orchestrator hands every published issue, as
templates see it (:class:`~roundup.issue_view.IssueView`, whose ``url`` is the issue's one
public address), to the configured publisher. A backend is one module that defines a class
satisfying :class:`Publisher` and a ``from_config(config)`` function, listed once in
:data:`BACKENDS`. The first is :mod:`roundup.archive`: the web copy in ``out/site/``,
copied to ``publish.to`` or handed to ``publish.command``.

A publisher raises :class:`~roundup.errors.PublishError` when the issues did not reach
readers; the orchestrator records the failure and tries again on the next run.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from roundup.config import Config

if TYPE_CHECKING:
    from roundup.issue_view import IssueView

# publisher name → the module that implements it (imported on first use)
BACKENDS: Mapping[str, str] = {"site": "roundup.archive"}
DEFAULT_BACKEND = "site"


class Publisher(Protocol):
    """Publishes the published issues (all of them, each time); returns where they went."""

    def publish(self, issues: Sequence[IssueView]) -> list[str]: ...


class Backend(Protocol):
    """What a publisher module offers: its :class:`Publisher` built from the configuration."""

    def from_config(self, config: Config) -> Publisher: ...


def open_publisher(config: Config) -> Publisher:
    """The configured publisher (today the web copy: ``out/site/`` and ``publish.to``).

    Example: ``open_publisher(config).publish(issues)``.
    """
    module: Backend = importlib.import_module(BACKENDS[DEFAULT_BACKEND])
    return module.from_config(config)
