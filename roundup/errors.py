"""The one exception tree of roundup, and the process exit codes.

The library raises only these; ``roundup.cli`` turns each into a one-line ``Error: ...``
message and the exit code below. Every message names the file, key or feed at fault and
says what to do about it.

* RoundupError
  + ConfigError        feeds.yaml is missing, unreadable or invalid
  + DraftError         draft.yaml is malformed (names the line)
  + StoreError         the SQLite state file cannot be used
    - StoreLocked      another roundup run holds the lock
  + FetchError         one feed could not be fetched (collected, never fatal to a run)
  + ParseError         one feed's body is not a feed (collected, never fatal to a run)
  + RenderError        a template failed or the output cannot be written
  + SendError          the issue cannot be sent (nothing to send, not approved, SMTP)
  + PublishError       the site cannot be copied or uploaded (retried on the next run)

Usage::

    try:
        report = roundup.fetch_feeds(config, store, now=now)
    except roundup.RoundupError as exc:
        print(f"Error: {exc}")
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes of the ``roundup`` command; the README lists them for cron users."""

    OK = 0
    ERROR = 1  # nothing could run: bad config, bad draft, unreadable file
    USAGE = 2  # wrong command-line usage (click's own code)
    FEEDS_FAILED = 3  # the run completed, but some feeds failed
    LOCKED = 4  # another roundup run holds the state lock
    SEND_INCOMPLETE = 5  # some recipients were refused or could not be reached
    PUBLISH_FAILED = 6  # the web copy could not be copied or uploaded (retried next run)


class RoundupError(Exception):
    """Base class of every error roundup raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR


class ConfigError(RoundupError):
    """feeds.yaml is missing, unreadable or invalid."""


class DraftError(RoundupError):
    """draft.yaml is malformed; the message names the file and line."""


class StoreError(RoundupError):
    """The SQLite state file cannot be opened, migrated or written."""


class StoreLocked(StoreError):
    """Another roundup run holds the state lock."""

    exit_code = ExitCode.LOCKED


class FetchError(RoundupError):
    """One feed could not be fetched; collected into the run's report."""

    def __init__(self, feed: str, reason: str) -> None:
        super().__init__(f"{feed}: {reason}")
        self.feed = feed
        self.reason = reason


class ParseError(RoundupError):
    """One feed's body could not be read as a feed; collected into the run's report."""

    def __init__(self, feed: str, reason: str) -> None:
        super().__init__(f"{feed}: {reason}")
        self.feed = feed
        self.reason = reason


class IssueSent(DraftError):
    """The week's issue was sent: its draft and files are history and stay as they were."""


class RenderError(RoundupError):
    """A template failed, or an output file cannot be written."""


class SendError(RoundupError):
    """The issue cannot be sent: nothing to send, not approved, or SMTP refused."""


class PublishError(RoundupError):
    """The site could not be copied to publish.to, or publish.command failed."""

    exit_code = ExitCode.PUBLISH_FAILED
