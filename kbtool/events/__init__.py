"""The knowledge loop's event store: what was suggested, what helped, what found no answer.

    from kbtool.events import Recorder, open_store
    store = open_store(os.environ.get("KBTOOL_DB") or "index/events.sqlite3", lazy=True)
    recorder = Recorder(store, store_ticket_text=True, index_build=build_name)
    event = recorder.record_suggest(result, audience="public", ticket_text=subject + "\\n\\n" + body)

`KBTOOL_DB` (read by the API and CLI, not here): a `postgresql://` URL, or a SQLite path.
See store.py for the contracts (recording never raises; reading raises StoreError).
"""

from .model import AUDIENCES, CONFIDENCES, OUTCOMES, DeflectionEvent, FeedbackEvent, SuggestedItem, SuggestEvent
from .recorder import Recorder, RecorderStats, suggested_items
from .redact import RedactionUnavailable, redact
from .store import (
    ArticleCounts,
    EventCounts,
    EventStore,
    JoinedFeedback,
    StoreError,
    StoreStats,
    is_postgres_url,
    open_store,
)

__all__ = [
    "AUDIENCES", "CONFIDENCES", "OUTCOMES", "ArticleCounts", "DeflectionEvent", "EventCounts", "EventStore",
    "FeedbackEvent", "JoinedFeedback", "RedactionUnavailable", "Recorder", "RecorderStats", "StoreError",
    "StoreStats", "SuggestEvent", "SuggestedItem", "is_postgres_url", "open_store", "redact", "suggested_items",
]
