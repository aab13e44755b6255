"""``email.html``: the HTML email, CSS inlined, fitted under Gmail's clipping size.

The email is fitted once per issue, when :func:`roundup.outputs.issue_context` builds the
context, since the text part needs the same layout; this output is its HTML. How the fit
degrades a large issue is in :mod:`roundup.email_budget` (checklist rules S, C, H and A).
"""

from __future__ import annotations

from roundup.outputs import IssueContext, Renderer


def render(context: IssueContext) -> str:
    """The fitted email's HTML."""
    return context.email.html


RENDERER = Renderer("email.html", render)
