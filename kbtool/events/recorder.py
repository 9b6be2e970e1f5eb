"""The front door for recording: raw request data in, redacted events into the store.

Why a separate layer: the store stores exactly what it is given (so a migration, a
replay or a test can write any event), while what may be *kept* is policy — the
`store_ticket_text` setting and redaction. Putting that policy here means the API, the
feedback endpoint and an offline importer all apply it the same way, and the store never
sees raw ticket text. The `*_event` builders raise `ValueError` naming the field (the
feedback endpoint turns it into a 422); the `record_*` methods never raise (the suggest
endpoint must answer whatever happens to its bookkeeping).

Redaction fails closed: if it raises, the event is stored without text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import DeflectionEvent, FeedbackEvent, SuggestedItem, SuggestEvent, utcnow
from .redact import redact
from .store import EventStore


def _getter(obj: Any) -> Callable[[str], Any]:
    """Read a field from a dict or an object alike: the API has both shapes at hand."""
    if isinstance(obj, Mapping):
        return obj.get
    return lambda key: getattr(obj, key, None)


def suggested_items(suggestions: Iterable[Any]) -> tuple[SuggestedItem, ...]:
    """SuggestedItems from what the engine returns: `Suggestion` objects, their dicts
    (`SuggestResult.to_dict()["suggestions"]`) or SuggestedItems; rank = list position."""
    items = []
    for rank, s in enumerate(suggestions, 1):
        if isinstance(s, SuggestedItem):
            items.append(s)
            continue
        get = _getter(s)
        items.append(SuggestedItem(str(get("id")), rank, get("score"), get("confidence")))
    return tuple(items)


@dataclass
class RecorderStats:
    invalid: int = 0  # record_* calls whose input could not make a valid event
    redaction_failures: int = 0  # texts dropped because redaction raised


class Recorder:
    """Builds events from request data and records them; see the module docstring."""

    def __init__(self, store: EventStore, *, store_ticket_text: bool = True,
                 redactor: Callable[[str], str] = redact, index_build: str = "") -> None:
        self.store = store
        self.store_ticket_text = store_ticket_text
        self.redactor = redactor
        self.index_build = index_build
        self.stats = RecorderStats()

    def _redacted(self, text: str | None, keep: bool = True) -> str | None:
        if not keep or text is None or not text.strip():
            return None
        try:
            return self.redactor(text)
        except Exception:  # noqa: BLE001 - fail closed: no text rather than raw text
            self.stats.redaction_failures += 1
            return None

    def suggest_event(self, result: Any, *, audience: str, ticket_text: str | None = None,
                      ticket_id: str | None = None, channel: str | None = None, product: str | None = None,
                      index_build: str | None = None, time: datetime | None = None) -> SuggestEvent:
        """The event for one answer. `result` is a `SuggestResult`, its `to_dict()`, or any
        object with `suggestions`, `reason` and `semantic`; `ticket_text` is the RAW text
        (subject and body), redacted here or dropped when `store_ticket_text` is off."""
        get = _getter(result)
        items = suggested_items(get("suggestions") or ())
        return SuggestEvent(
            audience=audience, suggestions=items, abstained=not items,
            abstain_reason=get("reason") if not items else None, semantic=bool(get("semantic")),
            index_build=self.index_build if index_build is None else index_build, ticket_id=ticket_id,
            channel=channel, product=product, ticket_text=self._redacted(ticket_text, self.store_ticket_text),
            time=time or utcnow())

    def record_suggest(self, result: Any, **fields: Any) -> SuggestEvent | None:
        """`suggest_event(...)` then store it. Never raises: returns the event (its
        `event_id` goes back to the caller for feedback) whether or not the store took it
        (`store.stats()` says), or None if the input made no valid event."""
        try:
            event = self.suggest_event(result, **fields)
        except Exception:  # noqa: BLE001
            self.stats.invalid += 1
            return None
        self.store.record_suggest(event)
        return event

    def feedback_event(self, *, article_id: str, outcome: str, source: str, suggestion_event_id: str | None = None,
                       ticket_id: str | None = None, comment: str | None = None,
                       time: datetime | None = None) -> FeedbackEvent:
        """Raises ValueError naming the field: the endpoint's 422."""
        return FeedbackEvent(article_id=article_id, outcome=outcome, source=source,
                             suggestion_event_id=suggestion_event_id, ticket_id=ticket_id,
                             comment=self._redacted(comment), time=time or utcnow())

    def record_feedback(self, event: FeedbackEvent) -> bool:
        return self.store.record_feedback(event)

    def deflection_event(self, *, session_id: str, article_id: str, query: str | None = None,
                         time: datetime | None = None) -> DeflectionEvent:
        return DeflectionEvent(session_id=session_id, article_id=article_id, query=self._redacted(query),
                               time=time or utcnow())

    def record_deflection(self, event: DeflectionEvent) -> bool:
        return self.store.record_deflection(event)


__all__ = ["Recorder", "RecorderStats", "suggested_items"]
