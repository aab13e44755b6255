"""Who an issue goes to: ``newsletter.to`` (list addresses), else the ``smtp.subscribers`` CSV.

Addresses are de-duplicated case-insensitively, keeping the first spelling and display name.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formataddr, getaddresses, parseaddr
from pathlib import Path

from roundup.config import Config
from roundup.errors import SendError

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str  # the bare address: the envelope recipient and the ledger's key
    to: str  # the To header: the address with its display name, if any


def recipients_for(config: Config) -> list[str]:
    """The bare addresses to send to: ``newsletter.to``, else the ``smtp.subscribers`` CSV."""
    return [recipient.address for recipient in recipients(config)]


def is_address(text: str) -> bool:
    """True when ``text`` is a bare ASCII address such as ``reader@example.org``."""
    return text.isascii() and _ADDRESS.match(text) is not None


def recipients(config: Config) -> list[Recipient]:
    """Who the issue goes to, each once, with the display name for the To header.

    Raises :class:`SendError` naming feeds.yaml or the CSV file when there is nobody.
    """
    if config.newsletter.to:
        pairs = ((addr, text) for text in config.newsletter.to for _n, addr in getaddresses([text]))
        return _unique(Recipient(addr, text) for addr, text in pairs)
    path = config.smtp.subscribers if config.smtp else None
    if path is None:
        raise SendError(
            f"{config.path}: no recipients: set newsletter.to (list addresses) or"
            " smtp.subscribers (a CSV file with an email column)"
        )
    recipients = _read_subscribers(path)
    if not recipients:
        raise SendError(f"{path}: no subscribers in it: nothing to send")
    return recipients


def _read_subscribers(path: Path) -> list[Recipient]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _unique(_parse_subscribers(path, csv.DictReader(handle, strict=True)))
    except FileNotFoundError:
        raise SendError(f"{path}: no such file (smtp.subscribers in feeds.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SendError(f"{path}: cannot read the subscribers file ({exc})") from None


def _parse_subscribers(path: Path, reader: csv.DictReader[str]) -> list[Recipient]:
    result: list[Recipient] = []
    try:
        columns = {name.strip().lower(): name for name in reader.fieldnames or () if name}
        if "email" not in columns:
            raise SendError(
                f"{path}:1: no 'email' column (the first line names the columns, e.g. email,name)"
            )
        for row in reader:
            raw = (row.get(columns["email"]) or "").strip()
            if not raw:
                continue
            name, address = parseaddr(raw)
            if not is_address(address) or "," in raw:
                raise SendError(f"{path}:{reader.line_num}: '{raw}' is not an email address")
            display = (row.get(columns["name"]) or "").strip() if "name" in columns else name
            result.append(Recipient(address, formataddr((display, address))))
    except csv.Error as exc:
        raise SendError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    return result


def _unique(recipients: Iterable[Recipient]) -> list[Recipient]:
    seen: set[str] = set()
    result = []
    for recipient in recipients:
        key = recipient.address.casefold()
        if key not in seen:
            seen.add(key)
            result.append(recipient)
    return result
