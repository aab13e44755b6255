"""The outputs' shared context, and each output module's renderer."""

from __future__ import annotations

import importlib
import re
from dataclasses import replace

import jinja2
import pytest

from roundup.outputs import (
    IssueContext,
    Renderer,
    email_html,
    email_txt,
    issue_context,
    post_html,
    post_md,
)
from roundup.render import RENDERERS, render_issue
from roundup.theme import make_environment
from tests.test_render import big_draft, sample_config, sample_draft


@pytest.fixture(scope="module")
def sample() -> IssueContext:
    config = sample_config()
    return issue_context(sample_draft(), config, make_environment(config))


@pytest.fixture(scope="module")
def overflow() -> IssueContext:
    config = sample_config()
    return issue_context(big_draft(300), config, make_environment(config))


@pytest.mark.parametrize("renderer", RENDERERS, ids=lambda renderer: renderer.name)
def test_each_renderer_lives_in_the_module_named_for_its_file(renderer: Renderer) -> None:
    """``post.md`` is roundup/outputs/post_md.py, whose RENDERER it is."""
    module = importlib.import_module(renderer.render.__module__)
    assert module.__name__ == "roundup.outputs." + renderer.name.replace(".", "_")
    assert module.RENDERER is renderer


def test_issue_context_fits_the_email_once(sample: IssueContext) -> None:
    """The context carries the email as sent: the same HTML render_issue returns."""
    rendered = render_issue(sample_draft(), sample_config())
    assert email_html.render(sample) == sample.email.html == rendered.email_html
    assert sample.email.notices == ()
    assert sample.email.values["sections"] == sample.issue.sections
    assert sample.email.values["more"] == [] and sample.email.values["omitted"] == 0


def test_context_render_passes_the_issue_and_labels(sample: IssueContext) -> None:
    """Every template gets ``issue`` and ``labels``; a renderer adds what it needs."""
    probe = jinja2.DictLoader({"p.txt": "{{ issue.subject }} · {{ labels.view_online }} · {{ x }}"})
    context = replace(sample, env=sample.env.overlay(loader=probe))
    assert context.render("p.txt", x=3) == "8/14 Weekly Roundup · View online · 3"


def _stories(rendered: str) -> list[int]:
    """The stories ``rendered`` names, in order (an image's alt text repeats its title)."""
    return list(dict.fromkeys(int(n) for n in re.findall(r"Story (\d+):", rendered)))


def test_text_part_lists_what_the_fitted_email_shows(overflow: IssueContext) -> None:
    """300 items do not fit: the text part shows the email's items, in the same places."""
    text = email_txt.render(overflow)
    assert overflow.email.layout.more  # some items moved to "More this week"
    assert _stories(text) == _stories(overflow.email.html)
    more = text.split("More this week\n--------------\n", 1)[1]
    assert _stories(more) == [item.index for item in overflow.email.values["more"]]


def test_text_part_reads_the_fitted_email_not_the_issue(sample: IssueContext) -> None:
    """What the text part shows comes from ``context.email``: hide the items there, and
    the text part has none, while the blog post (which shows every item) is unchanged."""
    values = {**sample.email.values, "sections": (), "more": [], "omitted": 10}
    emptied = replace(sample, email=replace(sample.email, values=values))
    text = email_txt.render(emptied)
    assert "Iran Deal" in email_txt.render(sample) and "Iran Deal" not in text
    assert "View online (+10)" in text
    assert post_md.render(emptied) == post_md.render(sample)
    assert post_html.render(emptied) == post_html.render(sample)
