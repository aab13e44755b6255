"""roundup: turn a list of RSS, Atom and JSON feeds into a weekly roundup newsletter.

The public API is re-exported here; everything else is internal. Heavy modules (rendering,
sending) load on first use, so ``import roundup`` stays cheap for the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Config": "roundup.config",
    "ConfigError": "roundup.errors",
    "Draft": "roundup.models",
    "DraftError": "roundup.errors",
    "DraftItem": "roundup.models",
    "DraftSection": "roundup.models",
    "Entry": "roundup.models",
    "ExitCode": "roundup.errors",
    "FetchError": "roundup.errors",
    "FetchReport": "roundup.pipeline",
    "Mailer": "roundup.mailer",
    "Outcome": "roundup.mailer",
    "ParseError": "roundup.errors",
    "PublishError": "roundup.errors",
    "Publisher": "roundup.publisher",
    "RenderError": "roundup.errors",
    "RoundupError": "roundup.errors",
    "SendError": "roundup.errors",
    "Store": "roundup.store",
    "StoreError": "roundup.errors",
    "StoreLocked": "roundup.errors",
    "Window": "roundup.week",
    "approve_week": "roundup.pipeline",
    "fetch_feeds": "roundup.pipeline",
    "load_config": "roundup.config",
    "make_draft": "roundup.pipeline",
    "parse_feed": "roundup.parse",
    "render_issue": "roundup.render",
    "render_week": "roundup.pipeline",
    "resolve_window": "roundup.pipeline",
    "run_once": "roundup.pipeline",
    "send_week": "roundup.pipeline",
    "window_for": "roundup.week",
}

__all__ = [
    "Config",
    "ConfigError",
    "Draft",
    "DraftError",
    "DraftItem",
    "DraftSection",
    "Entry",
    "ExitCode",
    "FetchError",
    "FetchReport",
    "Mailer",
    "Outcome",
    "ParseError",
    "PublishError",
    "Publisher",
    "RenderError",
    "RoundupError",
    "SendError",
    "Store",
    "StoreError",
    "StoreLocked",
    "Window",
    "approve_week",
    "fetch_feeds",
    "load_config",
    "make_draft",
    "parse_feed",
    "render_issue",
    "render_week",
    "resolve_window",
    "run_once",
    "send_week",
    "window_for",
]

if TYPE_CHECKING:
    from roundup.config import Config, load_config
    from roundup.errors import (
        ConfigError,
        DraftError,
        ExitCode,
        FetchError,
        ParseError,
        PublishError,
        RenderError,
        RoundupError,
        SendError,
        StoreError,
        StoreLocked,
    )
    from roundup.mailer import Mailer, Outcome
    from roundup.models import Draft, DraftItem, DraftSection, Entry
    from roundup.parse import parse_feed
    from roundup.pipeline import (
        FetchReport,
        approve_week,
        fetch_feeds,
        make_draft,
        render_week,
        resolve_window,
        run_once,
        send_week,
    )
    from roundup.publisher import Publisher
    from roundup.render import render_issue
    from roundup.store import Store
    from roundup.week import Window, window_for


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'roundup' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
