"""The signing secret: what makes an unsubscribe token unforgeable.

``$ROUNDUP_SECRET`` sets it. When the variable is unset, roundup keeps its own secret in a
file beside the state file (``state.sqlite3`` → ``state.secret``), created on first use
with 32 random bytes, readable and writable by its owner only (0600). The file is created
whole or not at all: the secret is written to a private temporary file, flushed, then
hard-linked to its name, which fails if another process got there first (that one's
secret is then used), so two first runs never sign with two secrets.

Every issue's links carry tokens signed with the secret, and ``roundup serve`` checks
them with it: keep it (or the file) the same from one issue to the next.

Usage::

    found = signing_secret(config, os.environ, create=True)
    if found.created:
        print(found.notice)
    token = unsubscribe_token(found.value, list_id(config), "ann@example.org")
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from roundup.config import Config
from roundup.errors import ConfigError

SECRET_ENV = "ROUNDUP_SECRET"
_SECRET_BYTES = 32
_MIN_LENGTH = 16  # characters: a shorter secret in the file was not written by roundup


@dataclass(frozen=True, slots=True)
class Secret:
    """The secret, where it came from, and whether this call created it."""

    value: str  # "" when there is none and none was to be created
    source: str  # "$ROUNDUP_SECRET" or the file's path
    created: bool = False

    @property
    def notice(self) -> str:
        """What to tell the user the one time the secret is created."""
        return (
            f"Created the signing secret for unsubscribe links in {self.source} (readable"
            f" only by you). Keep it: links already sent stop working without it. To use your"
            f" own, set ${SECRET_ENV} instead."
        )


def secret_path(config: Config) -> Path:
    """Where roundup keeps its own secret: beside the state file, ``<state>.secret``."""
    return config.state.with_suffix(".secret")


def signing_secret(config: Config, environ: Mapping[str, str], *, create: bool) -> Secret:
    """``$ROUNDUP_SECRET``, else the secret file's; ``create`` makes the file if missing.

    Without ``create`` and with no secret anywhere, the value is "" (a dry run needs none).
    Raises :class:`ConfigError` when the file exists but cannot be read or is not one.
    """
    given = environ.get(SECRET_ENV, "")
    if given:
        return Secret(given, f"${SECRET_ENV}")
    path = secret_path(config)
    found = _read(path)
    if found or not create:
        return Secret(found, str(path))
    return _create(path)


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read the signing secret ({exc}); fix its permissions, or set"
            f" ${SECRET_ENV}"
        ) from None
    if len(text) < _MIN_LENGTH:
        raise ConfigError(
            f"{path}: not a signing secret (at least {_MIN_LENGTH} characters expected);"
            f" restore it from a backup, or set ${SECRET_ENV}"
        )
    return text


def _create(path: Path) -> Secret:
    """Write a new secret to ``path`` unless another process just did; either way, use it."""
    value = secrets.token_urlsafe(_SECRET_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails when the name exists: never overwrite a secret
        except FileExistsError:
            return Secret(_read(path), str(path))
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot create the signing secret ({exc.strerror or exc}); make"
            f" {path.parent} writable, or set ${SECRET_ENV}"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)
    return Secret(value, str(path), created=True)
