"""Fixtures for the event store tests: stores opened on `target` (tests/conftest.py runs each
test on SQLite and on a real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kbtool.events import EventStore, open_store


@pytest.fixture
def open_test_store(target: str) -> Iterator[Any]:
    """`open_test_store(**options)`: a store on `target` with no back-off, closed after."""
    opened: list[EventStore] = []

    def make(**options: Any) -> EventStore:
        options.setdefault("retry_min", 0.0)
        s = open_store(target, **options)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(open_test_store: Any) -> EventStore:
    return open_test_store()  # type: ignore[no-any-return]
