"""`EventStore.import_events`: bulk writes for offline runs and replays, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kbtool.events import EventStore, FeedbackEvent, StoreError, SuggestedItem, SuggestEvent, open_store


def test_import_in_batches_is_idempotent(store: EventStore) -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    events = [SuggestEvent("public", (SuggestedItem("a", 1, 1.0, "high"),), ticket_id=str(i),
                           time=t0 + timedelta(minutes=i)) for i in range(25)]
    events.append(FeedbackEvent("a", "linked", "agent", ticket_id="3", time=t0 + timedelta(hours=1)))
    assert store.import_events(events, batch=10) == 26
    assert store.import_events(events[:5], batch=10) == 5  # replayed: ignored, not doubled
    counts = store.counts()
    assert (counts.suggest, counts.feedback) == (25, 1)
    assert [e.ticket_id for e in store.suggest_events(batch=7)] == [str(i) for i in range(25)]
    (jf,) = store.joined_feedback()
    assert jf.rank == 1 and jf.suggest_event_id == events[3].event_id


def test_import_raises_instead_of_buffering(tmp_path: Path) -> None:
    (tmp_path / "a-directory").mkdir()
    store = open_store(tmp_path / "a-directory", lazy=True)  # not a database file: cannot be opened
    with pytest.raises(StoreError, match="a-directory"):
        store.import_events([SuggestEvent("public", abstained=True)])
    assert store.stats().buffered == 0
