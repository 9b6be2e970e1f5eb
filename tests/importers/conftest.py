"""Fixtures shared by the importer tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kbtool.content import load_kb


@pytest.fixture()
def loads_clean() -> Callable[[Path], None]:
    """A check that an imported KB loads with no error diagnostics and every article valid."""
    def check(kb_root: Path) -> None:
        kb = load_kb(kb_root)
        assert kb.articles, f"no articles in {kb_root}"
        assert [d for d in kb.diagnostics if d.severity == "error"] == []
        assert all(a.valid for a in kb.articles)

    return check
