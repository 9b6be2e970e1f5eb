"""Fixtures shared by the content tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def _line_no(path: Path, needle: str) -> int:
    """1-based line of the first line of `path` containing `needle` (the test's own oracle)."""
    lines = path.read_bytes().decode("utf-8-sig").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


@pytest.fixture
def line_no() -> Callable[[Path, str], int]:
    """`line_no(path, needle)`: the 1-based line of `path` that first contains `needle`."""
    return _line_no
