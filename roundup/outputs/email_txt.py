"""``email.txt``: the email's plain-text part, with numbered link references (rules T).

It lists exactly what the fitted ``email.html`` shows (the same sections, "More this week"
links and count of omitted items), so it renders from the fitted email's template values
rather than from the whole issue.
"""

from __future__ import annotations

from roundup.outputs import IssueContext, Renderer
from roundup.plain_text import LinkRefs, tidy


def render(context: IssueContext) -> str:
    """The text part of the email as fitted."""
    return tidy(context.render("email.txt", **context.email.values, refs=LinkRefs()))


RENDERER = Renderer("email.txt", render)
