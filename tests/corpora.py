"""Where the shared real-feed corpora are, for the tests that read them.

They sit beside the project (``../shared/corpora``) on developers' machines and in CI, and
are absent from a user's clone: those tests then skip with this reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
ABSENT = pytest.param(
    None,
    marks=pytest.mark.skip(reason=f"{CORPORA} is absent (the corpora are not part of the repo)"),
    id="corpora-absent",
)


def corpus_files() -> list[Path]:
    """Every corpus file but the READMEs, sorted; empty when the corpora are absent."""
    if not CORPORA.is_dir():
        return []
    return sorted(p for p in CORPORA.rglob("*") if p.is_file() and p.name != "README.md")
