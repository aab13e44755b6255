"""Every template example in the README renders where the README says it does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import html as lxml_html

from roundup.render import render_issue
from tests.test_render import sample_config, sample_draft

ROOT = Path(__file__).resolve().parent.parent
_TABLE_PARTS = ("td", "th", "tr", "tbody", "thead", "tfoot", "table")
EXAMPLES = re.findall(r"```jinja\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)


def test_the_readme_has_template_examples() -> None:
    assert EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_readme_block_override_renders_in_its_block(tmp_path: Path, example: str) -> None:
    """Each example's text lands where its block is: a footer after the last item, in the
    same table as the default footer (a stray <p> between rows would float to the top)."""
    match = re.search(r'extends "default/([\w.]+)"', example)
    block = re.search(r"{% block (\w+) %}(.*?){% endblock %}", example, re.DOTALL)
    assert match and block, example
    (tmp_path / match[1]).write_text(example)
    issue = render_issue(sample_draft(), sample_config(tmp_path))
    page = issue.outputs[match[1]]
    text = re.sub(r"<[^>]+>|{{.*?}}", "", block[2]).strip()
    assert text and text in page
    tree = lxml_html.fromstring(page)
    (holder,) = [e for e in tree.iter() if e.text and text in e.text]
    # A browser moves content that sits directly in a table, outside any cell, to before
    # the table: the nearest table element above the text must be a cell.
    container = next(e for e in holder.iterancestors() if e.tag in _TABLE_PARTS)
    assert container.tag in ("td", "th"), f"{text!r} sits in a <{container.tag}>, not a cell"
    body = tree.text_content()
    last_item = sample_draft().items[-1].title
    if block[1] == "footer":
        assert body.index(last_item) < body.index(text) < body.index("Unsubscribe")
