"""Who is subscribed and who unsubscribed: ``roundup subscribers`` list, export and import.

Two sources make the list. The ``smtp.subscribers`` CSV (the user's file) says who signed
up; the store's status rows say who unsubscribed (the suppression list every direct send
skips) and who was subscribed again, and when. A listed address with no row is
subscribed; an address with a row but no longer listed is shown too, so an unsubscribe is
never forgotten when the CSV is regenerated.

Import reads a CSV with an ``email`` (or ``Email Address``) column and, optionally,
``name``, ``status`` and ``since`` columns, so the exports of other tools can be brought
over: each unsubscribed address goes on the suppression list (with its time, when the
file has one); each subscribed address not yet listed is appended to the subscribers CSV.
An address that unsubscribed is subscribed again only with ``resubscribe``: consent given
up is not restored by accident.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.utils import formataddr, parseaddr
from pathlib import Path

from roundup.atomic import write_atomic
from roundup.config import Config
from roundup.errors import ConfigError
from roundup.recipients import Recipient, RecipientList, is_address, load_recipients
from roundup.store import SUBSCRIBED, UNSUBSCRIBED, StatusRecord

STATUSES = (SUBSCRIBED, UNSUBSCRIBED)
# What other tools' exports call the two states (Mailchimp, listmonk, Buttondown, ...).
STATUS_WORDS: Mapping[str, str] = {
    "subscribed": SUBSCRIBED,
    "active": SUBSCRIBED,
    "enabled": SUBSCRIBED,
    "confirmed": SUBSCRIBED,
    "regular": SUBSCRIBED,
    "unsubscribed": UNSUBSCRIBED,
    "blocklisted": UNSUBSCRIBED,
    "blocked": UNSUBSCRIBED,
    "cleaned": UNSUBSCRIBED,
    "bounced": UNSUBSCRIBED,
    "complained": UNSUBSCRIBED,
}
EXPORT_COLUMNS = ("email", "name", "status", "since", "how")
_EMAIL_COLUMNS = ("email", "email address", "email_address")


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One address with its status, as ``roundup subscribers list`` shows it."""

    address: str
    name: str
    status: str  # SUBSCRIBED or UNSUBSCRIBED
    since: datetime | None  # when it got this status; None: listed, never changed
    how: str  # one-click, page, import, command; "" when never changed
    listed: bool  # in the smtp.subscribers CSV


def direct_recipients(config: Config) -> RecipientList:
    """The ``smtp.subscribers`` CSV's recipients; :class:`ConfigError` when there is none."""
    if config.smtp is None or config.smtp.subscribers is None:
        raise ConfigError(
            f"{config.path}: smtp.subscribers is not set: subscribers and unsubscribes are"
            " for direct sends (a list address under newsletter.to is run by its list engine)"
        )
    return load_recipients(config)


def merge_statuses(
    listed: Sequence[Recipient], records: Mapping[str, StatusRecord]
) -> list[Subscriber]:
    """The listed recipients in file order with their status, then recorded addresses that
    are no longer listed, in address order."""
    result = []
    for recipient in listed:
        record = records.get(recipient.address.lower())
        name = display_name(recipient)
        result.append(_subscriber(recipient.address, name, record, listed=True))
    known = {recipient.address.lower() for recipient in listed}
    for address in sorted(set(records) - known):
        result.append(_subscriber(address, "", records[address], listed=False))
    return result


def display_name(recipient: Recipient) -> str:
    """The name part of the recipient's To (``"Ann" <ann@example.org>`` → ``Ann``)."""
    suffix = f"<{recipient.address}>"
    if recipient.to == recipient.address or not recipient.to.endswith(suffix):
        return "" if recipient.to == recipient.address else parseaddr(recipient.to)[0]
    name = recipient.to[: -len(suffix)].strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':  # quoted by formataddr: undo it
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    if "=?" in name:  # a name beyond ASCII, encoded by formataddr (RFC 2047)
        name = str(make_header(decode_header(name)))
    return name


def _subscriber(
    address: str, name: str, record: StatusRecord | None, *, listed: bool
) -> Subscriber:
    if record is None:
        return Subscriber(address, name, SUBSCRIBED, None, "", listed)
    return Subscriber(address, name, record.status, record.at, record.how, listed)


def format_subscribers(subscribers: Sequence[Subscriber], *, status: str | None = None) -> str:
    """One line per address (``status`` keeps one kind), then the totals."""
    shown = [s for s in subscribers if status is None or s.status == status]
    width = max((len(s.address) for s in shown), default=0)
    lines = [_line(s, width) for s in shown]
    counts = {kind: sum(1 for s in subscribers if s.status == kind) for kind in STATUSES}
    lines.append(f"{counts[SUBSCRIBED]} subscribed, {counts[UNSUBSCRIBED]} unsubscribed.")
    return "\n".join(lines) + "\n"


def _line(subscriber: Subscriber, width: int) -> str:
    parts = [subscriber.address.ljust(width), subscriber.status.ljust(len(UNSUBSCRIBED))]
    if subscriber.since is not None:
        parts.append(f"{subscriber.since.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({subscriber.how})")
    if not subscriber.listed:
        parts.append("not in the subscribers file")
    return "  ".join(parts).rstrip()


def export_csv(subscribers: Iterable[Subscriber]) -> str:
    """``email,name,status,since,how``: every address, ``since`` in ISO 8601 UTC."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for s in subscribers:
        since = s.since.astimezone(UTC).isoformat(timespec="seconds") if s.since else ""
        writer.writerow((s.address, s.name, s.status, since, s.how))
    return out.getvalue()


def unsubscribe_records(addresses: Sequence[str], *, now: datetime) -> list[StatusRecord]:
    """One ``command`` unsubscribe per address; :class:`ConfigError` for a non-address."""
    for text in addresses:
        if not is_address(text.strip()):
            raise ConfigError(f"'{text}' is not an email address (give bare addresses)")
    return [StatusRecord(text.strip().lower(), UNSUBSCRIBED, now, "command") for text in addresses]


def format_unsubscribed(records: Sequence[StatusRecord], *, now: datetime) -> str:
    """One line per address: unsubscribed ``now``, or earlier and since when."""
    lines = []
    for record in records:
        when = f"{record.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        if record.at == now:
            lines.append(f"Unsubscribed {record.address} ({when}).")
        else:
            lines.append(f"{record.address} was already unsubscribed ({when}, {record.how}).")
    return "\n".join(lines) + "\n"


# --- import ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportRow:
    address: str
    name: str
    status: str
    since: datetime | None


@dataclass(frozen=True, slots=True)
class ImportFile:
    """The usable rows of an import file, and one warning per row left out."""

    rows: tuple[ImportRow, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import changes: status rows to record and recipients to add to the CSV."""

    statuses: tuple[StatusRecord, ...]
    added: tuple[Recipient, ...]
    unsubscribed: int  # newly on the suppression list
    resubscribed: int
    kept_unsubscribed: tuple[str, ...]  # subscribed in the file, unsubscribed here
    unchanged: int
    warnings: tuple[str, ...] = ()


def read_import(path: Path, *, default_status: str | None = None) -> ImportFile:
    """The rows of the CSV at ``path``; ``default_status`` for a file without a status
    column. Raises :class:`ConfigError` for a file that cannot be used at all."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip().lower() for cell in next(reader, [])]
    email = next((header.index(name) for name in _EMAIL_COLUMNS if name in header), None)
    if email is None:
        raise ConfigError(f"{path}:1: no 'email' column (the first line names the columns)")
    columns: dict[str, int] = {
        name: header.index(name) for name in ("name", "status", "since") if name in header
    }
    if "status" not in columns and default_status is None:
        raise ConfigError(
            f"{path}:1: no 'status' column: say what the addresses are with --status"
            " subscribed or --status unsubscribed"
        )
    rows: list[ImportRow] = []
    warnings: list[str] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        found = _import_row(row, email, columns, default_status)
        if isinstance(found, str):
            warnings.append(f"{path}:{reader.line_num}: skipped: {found}")
        else:
            rows.append(found)
    return ImportFile(tuple(rows), tuple(warnings))


def _import_row(
    row: list[str], email: int, columns: Mapping[str, int], default_status: str | None
) -> ImportRow | str:
    def cell(index: int | None) -> str:
        return row[index].strip() if index is not None and index < len(row) else ""

    address = cell(email)
    if not is_address(address):
        return f"{address!r} is not an email address"
    word = cell(columns.get("status")).lower() or (default_status or "")
    status = STATUS_WORDS.get(word)
    if status is None:
        return f"unknown status {word!r} (expected subscribed or unsubscribed)"
    since_text = cell(columns.get("since"))
    try:
        since = datetime.fromisoformat(since_text.replace("Z", "+00:00")) if since_text else None
    except ValueError:
        return f"'since' is not an ISO 8601 time: {since_text!r}"
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return ImportRow(address, cell(columns.get("name")), status, since)


def plan_import(
    imported: ImportFile,
    current: Sequence[Subscriber],
    *,
    now: datetime,
    resubscribe: bool = False,
) -> ImportPlan:
    """What importing ``imported`` over ``current`` changes (see the module's docstring)."""
    known = {s.address.lower(): s for s in current}
    statuses: list[StatusRecord] = []
    added: list[Recipient] = []
    kept: list[str] = []
    unsubscribed = resubscribed = unchanged = 0
    for row in imported.rows:
        key = row.address.lower()
        was = known.get(key)
        if row.status == UNSUBSCRIBED:
            if was is not None and was.status == UNSUBSCRIBED:
                unchanged += 1
                continue
            statuses.append(StatusRecord(key, UNSUBSCRIBED, row.since or now, "import"))
            unsubscribed += 1
        elif was is not None and was.status == UNSUBSCRIBED and not resubscribe:
            kept.append(row.address)
            continue
        elif was is not None and was.status == UNSUBSCRIBED:
            statuses.append(StatusRecord(key, SUBSCRIBED, now, "import"))
            resubscribed += 1
        elif was is not None and was.listed:
            unchanged += 1
            continue
        if row.status == SUBSCRIBED and (was is None or not was.listed):
            added.append(Recipient(row.address, formataddr((row.name, row.address))))
        known[key] = Subscriber(row.address, row.name, row.status, row.since, "import", True)
    return ImportPlan(
        tuple(statuses),
        tuple(added),
        unsubscribed,
        resubscribed,
        tuple(kept),
        unchanged,
        imported.warnings,
    )


def append_recipients(path: Path, recipients: Sequence[Recipient]) -> None:
    """Add ``recipients`` at the end of the subscribers CSV at ``path`` (written atomically;
    created with an ``email,name`` header if missing), keeping every existing byte."""
    if not recipients:
        return
    try:
        text = _read_exactly(path) if path.exists() else "email,name\n"
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the subscribers file ({exc})") from None
    newline = "\r\n" if "\r\n" in text else "\n"
    first = next(csv.reader(io.StringIO(text.removeprefix("\ufeff"))), [])  # a BOM stays
    header = [cell.strip().lower() for cell in first]
    if "email" not in header:
        raise ConfigError(f"{path}:1: no 'email' column; cannot add subscribers to it")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    for recipient in recipients:
        row = [""] * len(header)
        row[header.index("email")] = recipient.address
        if "name" in header:
            row[header.index("name")] = parseaddr(recipient.to)[0]
        writer.writerow(row)
    if text and not text.endswith(("\n", "\r")):
        text += newline
    try:
        write_atomic(path, text + out.getvalue())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the subscribers file ({exc})") from None


def _read_exactly(path: Path) -> str:
    """The file's text with its line ends as they are (CRLF stays CRLF)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def format_import(source: Path, target: Path, plan: ImportPlan) -> str:
    """What an import did, one line per kind of change, then each row left out."""
    lines = [
        f"Imported {source}: {len(plan.added)} added to {target}, {plan.unsubscribed}"
        f" unsubscribed, {plan.resubscribed} subscribed again, {plan.unchanged} unchanged."
    ]
    if plan.kept_unsubscribed:
        lines.append(
            f"Left unsubscribed: {', '.join(plan.kept_unsubscribed)} (subscribed in the file,"
            " but they unsubscribed here; --resubscribe subscribes them again)."
        )
    lines.extend(plan.warnings)
    return "\n".join(lines) + "\n"
