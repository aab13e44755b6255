"""The email message of an issue: built once, then personalised per recipient.

:func:`build_message` turns the rendered ``email_html`` and ``email_text`` (which carry the
:data:`~roundup.models.UNSUBSCRIBE_TOKEN` placeholder) into one RFC 5322 message:
``multipart/alternative`` with ``text/plain`` first and ``text/html`` last, both utf-8 and
quoted-printable, so no line exceeds 998 octets. The headers follow the checklist rules
M1-M5, M8 and M10: one each of From, To, Subject, Date and Message-ID, ``List-Id``,
``List-Unsubscribe`` (+ ``List-Unsubscribe-Post`` when an https URL is configured),
``Precedence: bulk`` and ``Auto-Submitted: auto-generated``.

:func:`personalize` then substitutes each recipient's unsubscribe token into both parts and
the ``List-Unsubscribe`` header, and sets ``To``. Rendering happens once per issue.

The list headers are folded only at spaces and never RFC 2047-encoded, so the URIs survive
intact (the standard folder would encode a long URL). DKIM signing (M6) is the MTA's job.

Usage::

    template = build_message(html=html, text=text, draft=draft, config=config, now=now)
    token = unsubscribe_token(secret, list_id(config), "ann@example.org")
    message = personalize(template, recipient="ann@example.org", token=token)
    smtp.sendmail(envelope_from, ["ann@example.org"], message.as_bytes())
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import datetime
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from pathlib import Path

from roundup.atomic import write_atomic
from roundup.config import Config
from roundup.errors import ConfigError, RenderError
from roundup.models import UNSUBSCRIBE_TOKEN, Draft

MAX_LIST_ID = 255  # octets, RFC 2919
TEST_PREFIX = "[TEST] "  # a test copy's subject starts with it
UNDISCLOSED = "undisclosed-recipients:;"  # the template's To when each recipient gets a copy
_TOKEN_BYTES = 16  # 128 bits of HMAC-SHA256: 22 url-safe characters
_LIST_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post", "list-id"})
_REPLY_PREFIX = re.compile(r"^\s*(re|fwd?)\s*:", re.IGNORECASE)
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


class _Policy(EmailPolicy):
    """``policy.SMTP``, except that list headers are folded at spaces, never encoded."""

    def fold(self, name: str, value: str) -> str:
        text = str(value)
        if name.lower() in _LIST_HEADERS and text.isascii():
            return _fold_at_spaces(name, text, self.linesep, self.max_line_length or 78)
        result: str = super().fold(name, value)
        return result

    def fold_binary(self, name: str, value: str) -> bytes:
        text = str(value)
        if name.lower() in _LIST_HEADERS and text.isascii():
            folded = _fold_at_spaces(name, text, self.linesep, self.max_line_length or 78)
            return folded.encode("ascii")
        return super().fold_binary(name, value)


POLICY = _Policy(linesep="\r\n")


def build_message(
    *, html: str, text: str, draft: Draft, config: Config, now: datetime
) -> EmailMessage:
    """The issue's message, the unsubscribe placeholder still in it (see :func:`personalize`)."""
    nl = config.newsletter
    subject = " ".join(draft.subject.split())
    if _REPLY_PREFIX.match(subject):
        raise RenderError(
            f"{draft.week}: the subject '{subject}' starts like a reply or forward;"
            " change it in draft.yaml"
        )
    message = EmailMessage(policy=POLICY)
    message["From"] = nl.from_addr
    message["To"] = ", ".join(nl.to) if nl.to else UNDISCLOSED
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(nl.tz))
    message["Message-ID"] = message_id(draft, config)
    message["MIME-Version"] = "1.0"
    message["List-Id"] = list_id_header(config)
    unsubscribe = list_unsubscribe(config)
    if unsubscribe:
        message["List-Unsubscribe"] = unsubscribe
    if nl.unsubscribe_url:
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Precedence"] = "bulk"
    message["Auto-Submitted"] = "auto-generated"
    message.make_alternative()
    message.attach(_part(text, "plain"))
    message.attach(_part(html, "html"))
    # A fixed boundary keeps the message byte-for-byte reproducible; "=_" never occurs in
    # quoted-printable text, so it cannot collide with the content.
    message.set_boundary(f"=_roundup.{draft.week}.{_short_hash(message_id(draft, config))}")
    return message


def personalize(message: EmailMessage, *, recipient: str, token: str) -> EmailMessage:
    """A copy of ``message`` for ``recipient`` (its To), ``token`` in place of the placeholder."""
    result = copy.deepcopy(message)
    for part in result.iter_parts():
        content = part.get_content()
        if isinstance(content, str) and UNSUBSCRIBE_TOKEN in content:
            subtype = part.get_content_subtype()
            _set_text(part, content.replace(UNSUBSCRIBE_TOKEN, token), subtype)
    header = result["List-Unsubscribe"]
    if header is not None:
        result.replace_header("List-Unsubscribe", str(header).replace(UNSUBSCRIBE_TOKEN, token))
    result.replace_header("To", recipient)
    return result


def unsubscribe_token(secret: str, list_id: str, recipient: str) -> str:
    """A url-safe token naming ``recipient`` on ``list_id``; forging it needs ``secret``.

    It is the HMAC-SHA256 of the list id and the lower-cased bare address, truncated to
    128 bits. The unsubscribe endpoint recomputes it for each subscriber to find the one
    it names. For a list address (``newsletter.to``) the token identifies the list itself.
    """
    address = (parseaddr(recipient)[1] or recipient).strip().lower()
    mac = hmac.new(secret.encode("utf-8"), f"{list_id}\n{address}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:_TOKEN_BYTES]).decode("ascii").rstrip("=")


def message_id(draft: Draft, config: Config) -> str:
    """``<roundup.{week}.{number}.{hash of the site URL}@{From domain}>``, stable across retries."""
    return (
        f"<roundup.{draft.week}.{draft.number}.{_short_hash(config.newsletter.url)}"
        f"@{from_domain(config)}>"
    )


def test_copy(message: EmailMessage, *, draft: Draft, config: Config) -> EmailMessage:
    """A test copy of ``message``: its subject marked ``[TEST]`` and a Message-ID of its own.

    Mail clients thread by Message-ID and subject, and some hide a second message with a
    Message-ID they have seen: a test copy that shared the issue's would make the real
    issue vanish from the reviewer's inbox, or sit in one thread with it. Each test copy
    gets a new random id, so two test copies are not taken for one either.
    """
    result = copy.deepcopy(message)
    result.replace_header("Subject", TEST_PREFIX + str(result["Subject"]))
    nonce = secrets.token_hex(8)
    result.replace_header(
        "Message-ID", f"<roundup.{draft.week}.test.{nonce}@{from_domain(config)}>"
    )
    return result


def from_domain(config: Config) -> str:
    return parseaddr(config.newsletter.from_addr)[1].rpartition("@")[2].lower()


def list_id(config: Config) -> str:
    """The list's identifier: ``newsletter.list_id``, else ``{slug of title}.{From domain}``."""
    configured = config.newsletter.list_id
    if configured:
        match = re.search(r"<([^<>]*)>", configured)
        ident = (match[1] if match else configured).strip()
        if not _DOT_ATOM.match(ident) or len(ident.encode()) > MAX_LIST_ID:
            raise ConfigError(
                f"{config.path}: newsletter.list_id: '{ident}' is not a list id; expected a"
                f" dotted name of at most {MAX_LIST_ID} characters like weekly.example.org"
            )
        return ident
    domain = from_domain(config)
    room = MAX_LIST_ID - len(domain) - 1
    slug = _slug(config.newsletter.title)[:room].strip("-") or "newsletter"
    return f"{slug}.{domain}"


def list_id_header(config: Config) -> str:
    """``List-Id``: ``"{title}" <{list id}>``, unless ``newsletter.list_id`` has its own phrase."""
    configured = config.newsletter.list_id
    if configured and "<" in configured:
        list_id(config)  # validates the id part
        return configured
    phrase = re.sub(r'["\\<>]', "", " ".join(config.newsletter.title.split()))
    if phrase.isascii():
        phrase = f'"{phrase}"'
    return f"{phrase} <{list_id(config)}>"


def list_unsubscribe(config: Config) -> str:
    """``<https://…{placeholder}>`` and/or ``<mailto:…>``, or "" when neither is configured."""
    nl = config.newsletter
    uris = [
        f"<{uri.replace('{token}', UNSUBSCRIBE_TOKEN)}>"
        for uri in (nl.unsubscribe_url, nl.unsubscribe_mailto)
        if uri
    ]
    return ", ".join(uris)


def eml_path(config: Config, week: str) -> Path:
    """Where the issue's message is kept: ``<output_dir>/<week>/message.eml``."""
    return config.output_dir / week / "message.eml"


def write_eml(path: Path, message: EmailMessage) -> None:
    """Write ``message`` (CRLF line ends, as sent) to ``path`` atomically."""
    try:
        write_atomic(path, message.as_bytes(policy=POLICY))
    except OSError as exc:
        raise RenderError(f"{path}: cannot write the message ({exc})") from None


def _part(content: str, subtype: str) -> EmailMessage:
    part = EmailMessage(policy=POLICY)
    _set_text(part, content, subtype)
    return part


def _set_text(part: MIMEPart, content: str, subtype: str) -> None:
    if not content.endswith("\n"):
        content += "\n"
    part.set_content(content, subtype=subtype, charset="utf-8", cte="quoted-printable")
    del part["MIME-Version"]  # EmailMessage adds it; it belongs on the top level only


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")


def _fold_at_spaces(name: str, value: str, linesep: str, limit: int) -> str:
    """``name: value`` folded before spaces so lines stay under ``limit`` where they can."""
    head = f"{name}:"
    lines: list[str] = []
    current = head
    for word in value.split():
        if current != head and len(current) + 1 + len(word) > limit:
            lines.append(current)
            current = ""
        current += f" {word}"
    lines.append(current)
    return linesep.join(lines) + linesep
