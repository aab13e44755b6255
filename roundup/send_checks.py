"""The checks a send must pass before roundup says "Sending …": all of them, every time.

``roundup send`` and its dry run ask the same questions in the same order, and a dry run
lists every answer that would stop the real send, not only the first:

1. the delivery settings (the mailer can be made from feeds.yaml and the environment) and
   the message itself (its subject, its list headers);
2. the secret that signs unsubscribe links (``$ROUNDUP_SECRET``);
3. the approval, when ``newsletter.require_approval`` is on (a test copy needs none);
4. the issue has items (an empty issue is never sent);
5. the recipients (``newsletter.to`` or ``smtp.subscribers``, or a list engine's one
   destination; for a test copy, its address, and a test copy needs ``delivery.via: smtp``);
6. broken links, when ``newsletter.block_on_broken_links`` is on.

Each problem is one line that names what is wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.utils import parseaddr

from roundup.config import Config
from roundup.errors import RoundupError
from roundup.mailer import destination
from roundup.models import Draft
from roundup.recipients import is_address
from roundup.send import SECRET_ENV, recipients_of, test_copy_problem

LINKS_SHOWN = 3  # broken links named in the problem line; the rest are counted


def send_problems(
    config: Config,
    draft: Draft,
    *,
    approved: bool,
    secret: str,
    test_to: str | None = None,
    broken_links: Sequence[str] = (),
    attempts: Sequence[Callable[[], object]] = (),
) -> list[str]:
    """Every reason the send of ``draft`` would fail, in the order above; [] when it can go.

    ``attempts`` are the steps that raise a :class:`RoundupError` when they cannot be done
    (making the mailer, building the message); their messages become problems.
    ``broken_links`` are lines like ``"https://… : 404 Not Found"`` from the link check.
    """
    problems = [message for attempt in attempts if (message := _fails(attempt))]
    if not secret:
        problems.append(
            f"${SECRET_ENV} is not set: set it to a long random string; it signs the"
            " unsubscribe links (keep it the same from one issue to the next)"
        )
    if config.newsletter.require_approval and not approved and test_to is None:
        problems.append(
            f"{draft.week} is not approved: review it and run `roundup approve --week {draft.week}`"
        )
    if not draft.items:
        problems.append(
            f"{draft.week} has no items: nothing to send (an empty issue is never sent)"
        )
    problems += _recipient_problems(config, test_to)
    if config.newsletter.block_on_broken_links and broken_links:
        problems.append(_links_problem(draft.week, broken_links))
    return problems


def summary(week: str, problems: Sequence[str]) -> str:
    """One line for an error: the problem, or every problem numbered.

    Example: ``"2015-W33 cannot be sent, 2 problems: (1) …; (2) …"``.
    """
    if len(problems) == 1:
        return problems[0]
    listed = "; ".join(f"({n}) {problem}" for n, problem in enumerate(problems, 1))
    return f"{week} cannot be sent, {len(problems)} problems: {listed}"


def _fails(attempt: Callable[[], object]) -> str:
    try:
        attempt()
    except RoundupError as exc:
        return str(exc)
    return ""


def _recipient_problems(config: Config, test_to: str | None) -> list[str]:
    if test_to is not None:
        if destination(config) is not None:
            return [test_copy_problem(config)]
        if is_address(parseaddr(test_to)[1]):
            return []
        return [f"--test-to: '{test_to}' is not an email address"]
    try:
        recipients_of(config)
    except RoundupError as exc:
        return [str(exc)]
    return []


def _links_problem(week: str, broken: Sequence[str]) -> str:
    shown = "; ".join(broken[:LINKS_SHOWN])
    more = f"; and {len(broken) - LINKS_SHOWN} more" if len(broken) > LINKS_SHOWN else ""
    return (
        f"{week} has {len(broken)} broken link{'s' if len(broken) != 1 else ''} and"
        f" newsletter.block_on_broken_links is on: {shown}{more}"
        f" (fix or remove them in the draft, then run `roundup check-links --week {week}`)"
    )
