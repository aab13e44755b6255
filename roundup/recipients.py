"""Who an issue goes to: ``newsletter.to`` (list addresses), or the ``smtp.subscribers`` CSV.

Addresses are de-duplicated case-insensitively, keeping the first spelling and display name.
A subscriber row that cannot be sent to (no address, an invalid one, a name with a line
break, a repeated address, a line that is not valid CSV or UTF-8) is left out with a warning
that names the file and line: one bad row never stops a send. Only a file that cannot be
used at all (missing, unreadable, no ``email`` column, nobody in it) raises
:class:`SendError`.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.utils import formataddr, getaddresses, parseaddr
from pathlib import Path

from roundup.config import Config
from roundup.errors import SendError

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A name with one of these would end the To header early and start another one.
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})
# What the decoder puts for bytes that are not UTF-8 (errors="surrogateescape").
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_WARNINGS_IN_ERROR = 3  # rows quoted when a file has nobody left to send to


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str  # the bare address: the envelope recipient and the ledger's key
    to: str  # the To header: the address with its display name, if any


@dataclass(frozen=True, slots=True)
class RecipientList:
    """Who the issue goes to, and one warning per subscriber row left out."""

    recipients: tuple[Recipient, ...]
    skipped: tuple[str, ...] = ()  # e.g. "subscribers.csv:4: skipped: ..."


def recipients_for(config: Config) -> list[str]:
    """The bare addresses to send to: ``newsletter.to``, else the ``smtp.subscribers`` CSV."""
    return [recipient.address for recipient in recipients(config)]


def is_address(text: str) -> bool:
    """True when ``text`` is a bare ASCII address such as ``reader@example.org``."""
    return text.isascii() and _ADDRESS.match(text) is not None


def recipients(config: Config) -> list[Recipient]:
    """Who the issue goes to, each once, with the display name for the To header."""
    return list(load_recipients(config).recipients)


def load_recipients(config: Config) -> RecipientList:
    """Who the issue goes to, and the subscriber rows that were left out.

    Raises :class:`SendError` naming feeds.yaml or the CSV file when there is nobody.
    """
    path = config.smtp.subscribers if config.smtp else None
    if config.newsletter.to and path is not None:
        raise SendError(f"{config.path}: set newsletter.to or smtp.subscribers, not both")
    if config.newsletter.to:
        pairs = ((addr, text) for text in config.newsletter.to for _n, addr in getaddresses([text]))
        return RecipientList(tuple(_unique(Recipient(addr, text) for addr, text in pairs)))
    if path is None:
        raise SendError(
            f"{config.path}: no recipients: set newsletter.to (list addresses) or"
            " smtp.subscribers (a CSV file with an email column)"
        )
    listed = _read_subscribers(path)
    if not listed.recipients:
        raise SendError(f"{path}: no subscribers in it: nothing to send{_quoted(listed.skipped)}")
    return listed


def _quoted(skipped: tuple[str, ...]) -> str:
    if not skipped:
        return ""
    shown = "; ".join(skipped[:_WARNINGS_IN_ERROR])
    extra = len(skipped) - _WARNINGS_IN_ERROR
    more = f"; and {extra} more" if extra > 0 else ""
    return f" ({shown}{more})"


def _read_subscribers(path: Path) -> RecipientList:
    try:
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            return _parse_subscribers(path, _Lines(reader, lambda: reader.line_num))
    except FileNotFoundError:
        raise SendError(f"{path}: no such file (smtp.subscribers in feeds.yaml)") from None
    except OSError as exc:
        raise SendError(f"{path}: cannot read the subscribers file ({exc})") from None


def _parse_subscribers(path: Path, line: _Lines) -> RecipientList:
    """Every usable row as a recipient; a warning for each row left out."""
    columns = _columns(path, line)
    people: list[Recipient] = []
    skipped: list[str] = []
    first_line: dict[str, int] = {}  # casefolded address -> the line that listed it first
    for row in line.rows(lambda problem: skipped.append(f"{path}:{line.number}: {problem}")):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        found = _recipient(row, columns)
        if isinstance(found, str):
            skipped.append(f"{path}:{line.number}: skipped: {found}")
            continue
        key = found.address.casefold()
        if key in first_line:
            skipped.append(
                f"{path}:{line.number}: skipped: {found.address} is already on line"
                f" {first_line[key]}"
            )
            continue
        first_line[key] = line.number
        people.append(found)
    return RecipientList(tuple(people), tuple(skipped))


class _Lines:
    """A csv reader's rows, with the line each one starts on and bad lines reported."""

    def __init__(self, reader: Iterator[list[str]], line_num: Callable[[], int]) -> None:
        self.reader = reader
        self.line_num = line_num
        self.number = 0  # the line the last row read (or refused) starts on
        self.end = 0  # and the line it ends on (a quoted field may hold line breaks)

    def next_row(self) -> list[str] | None:
        """The next row, or None at the end; raises :class:`csv.Error` for a bad one."""
        self.number = self.end + 1
        try:
            row = next(self.reader)
        except StopIteration:
            return None
        finally:
            self.end = self.line_num()
        return row

    def rows(self, warn: Callable[[str], None]) -> Iterator[list[str]]:
        """Every row left; a line that is not valid CSV is reported to ``warn`` and left out."""
        while True:
            try:
                row = self.next_row()
            except csv.Error as exc:
                warn(f"skipped: not valid CSV ({exc})")
                continue
            if row is None:
                return
            yield row


def _columns(path: Path, line: _Lines) -> tuple[int, int | None]:
    """The positions of the ``email`` and ``name`` columns, from the first line."""
    try:
        header = line.next_row() or []
    except csv.Error as exc:
        raise SendError(f"{path}:1: not valid CSV ({exc})") from None
    names = [cell.strip().lower() for cell in header]
    if "email" not in names:
        raise SendError(
            f"{path}:1: no 'email' column (the first line names the columns, e.g. email,name)"
        )
    return names.index("email"), names.index("name") if "name" in names else None


def _recipient(row: list[str], columns: tuple[int, int | None]) -> Recipient | str:
    """The row's recipient, or why it cannot be sent to."""
    email_column, name_column = columns
    raw = _cell(row, email_column)
    if _UNDECODABLE.search("".join(row)):
        return "the line is not valid UTF-8"
    if not raw:
        return "no address in the email column"
    name, address = parseaddr(raw)
    if "," in raw or not is_address(address) or _breaks_lines(raw):
        return f"{raw!r} is not an email address"
    if name_column is not None:
        name = _cell(row, name_column)
    if _breaks_lines(name):
        return f"the name {name!r} holds a line break or control character"
    return Recipient(address, formataddr((name, address)))


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def _breaks_lines(text: str) -> bool:
    return any(unicodedata.category(char) in _LINE_BREAKING for char in text)


def _unique(recipients: Iterable[Recipient]) -> list[Recipient]:
    seen: set[str] = set()
    result = []
    for recipient in recipients:
        key = recipient.address.casefold()
        if key not in seen:
            seen.add(key)
            result.append(recipient)
    return result
