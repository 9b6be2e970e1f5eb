"""The events of the knowledge loop, as plain frozen dataclasses.

They are the only thing that crosses the boundary between the code that records (the
API, the help center's feedback endpoint) and the code that reads (insights): stores take
and return these, never rows or dicts, so both backends answer with exactly the same
objects and a caller never learns which one it talks to.

Validation happens here, once, with messages that name the field, so the HTTP layer can
turn a `ValueError` into a 422 without re-checking anything. Text fields that may hold
customer data (`ticket_text`, `comment`, `query`) must already be redacted: the model
cannot tell, so the `Recorder` (recorder.py) is the front door that redacts.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

OUTCOMES = frozenset({"linked", "resolved", "helpful", "not_helpful"})
CONFIDENCES = frozenset({"high", "medium", "low"})
AUDIENCES = frozenset({"public", "internal"})
MAX_ID = 200  # ticket, channel, article, session ids: generous, but not a place for a ticket body
MAX_TEXT = 20_000  # stored (redacted) text; the API accepts 200k of body, the store keeps the start
# regexes rather than per-character loops: every event read back is validated again, and at
# 100,000 events the loops were a third of `kbtool insights` (bench/bench_insights.py)
_CONTROL = re.compile(r"[\n\r\t\x00]")
_HEX32 = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    """A fresh event id: uuid4 hex, so replicas never collide and retries stay idempotent."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(name: str, value: object) -> datetime:
    """Aware datetimes only: a naive one is ambiguous across replicas in different zones."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: must be timezone-aware (UTC), got a naive datetime {value.isoformat()}")
    return value.astimezone(UTC)


def _ident(name: str, value: object, *, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise ValueError(f"{name}: required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a string, got {type(value).__name__}")
    if required and not value.strip():
        raise ValueError(f"{name}: must not be empty")
    if len(value) > MAX_ID:
        raise ValueError(f"{name}: at most {MAX_ID} characters, got {len(value)}")
    if _CONTROL.search(value):
        raise ValueError(f"{name}: must be a single line without control characters")
    return value


def _event_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValueError(f"{name}: expected 32 lowercase hex digits (uuid4 hex), got {value!r}")
    return value


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a string or None, got {type(value).__name__}")
    return value[:MAX_TEXT].replace("\x00", "")


@dataclass(frozen=True)
class SuggestedItem:
    """One suggested article in an answer, as the caller saw it (rank 1 = first)."""

    article_id: str
    rank: int
    score: float
    confidence: str

    def __post_init__(self) -> None:
        _ident("article_id", self.article_id)
        if isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank < 1:
            raise ValueError(f"rank: expected an integer >= 1, got {self.rank!r}")
        if isinstance(self.score, bool) or not isinstance(self.score, int | float) or not math.isfinite(self.score):
            raise ValueError(f"score: expected a finite number, got {self.score!r}")
        object.__setattr__(self, "score", float(self.score))
        if self.confidence not in CONFIDENCES:
            raise ValueError(f"confidence: expected one of {sorted(CONFIDENCES)}, got {self.confidence!r}")


@dataclass(frozen=True)
class SuggestEvent:
    """One answer of `/v1/suggest`. `abstained` with an empty list means "no answer": the
    raw material of content gaps. `ticket_text` is None unless the deployment stores
    ticket text, and then it is already redacted."""

    audience: str
    suggestions: tuple[SuggestedItem, ...] = ()
    abstained: bool = False
    abstain_reason: str | None = None
    semantic: bool = False
    index_build: str = ""
    ticket_id: str | None = None
    channel: str | None = None
    product: str | None = None
    ticket_text: str | None = None
    time: datetime = field(default_factory=utcnow)
    event_id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", _utc("time", self.time))
        _event_id("event_id", self.event_id)
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience: expected one of {sorted(AUDIENCES)}, got {self.audience!r}")
        items = tuple(self.suggestions)
        if any(not isinstance(s, SuggestedItem) for s in items):
            raise ValueError("suggestions: expected SuggestedItem objects")
        ranks = [s.rank for s in items]
        if len(set(ranks)) != len(ranks):
            raise ValueError(f"suggestions: duplicate ranks {ranks}")
        ids = [s.article_id for s in items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"suggestions: an article appears twice in one answer: {ids}")
        object.__setattr__(self, "suggestions", tuple(sorted(items, key=lambda s: s.rank)))
        if not isinstance(self.abstained, bool) or not isinstance(self.semantic, bool):
            raise ValueError("abstained, semantic: expected booleans")
        if self.abstained and items:
            raise ValueError("abstained: an answer with suggestions did not abstain")
        for name in ("ticket_id", "channel", "product"):
            _ident(name, getattr(self, name), required=False)
        if not isinstance(self.index_build, str) or len(self.index_build) > MAX_ID:
            raise ValueError(f"index_build: expected a string of at most {MAX_ID} characters")
        object.__setattr__(self, "abstain_reason", _text("abstain_reason", self.abstain_reason))
        object.__setattr__(self, "ticket_text", _text("ticket_text", self.ticket_text))


@dataclass(frozen=True)
class FeedbackEvent:
    """What happened to an article for a ticket: an agent linked it, it resolved the ticket,
    a reader found it helpful or not. Tied to a suggestion event when the caller knows it,
    else to the ticket id (the store then joins it to that ticket's latest suggestion)."""

    article_id: str
    outcome: str
    source: str
    suggestion_event_id: str | None = None
    ticket_id: str | None = None
    comment: str | None = None
    time: datetime = field(default_factory=utcnow)
    event_id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", _utc("time", self.time))
        _event_id("event_id", self.event_id)
        _ident("article_id", self.article_id)
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome: expected one of {sorted(OUTCOMES)}, got {self.outcome!r}")
        _ident("source", self.source)
        if self.suggestion_event_id is None and self.ticket_id is None and self.outcome in ("linked", "resolved"):
            raise ValueError("suggestion_event_id or ticket_id: one is required for a 'linked' or 'resolved' outcome")
        if self.suggestion_event_id is not None:
            _event_id("suggestion_event_id", self.suggestion_event_id)
        _ident("ticket_id", self.ticket_id, required=False)
        object.__setattr__(self, "comment", _text("comment", self.comment))


@dataclass(frozen=True)
class DeflectionEvent:
    """A help-center reader who found an article (search or "Was this helpful?" yes) and so,
    presumably, filed no ticket. `query` is the search text, already redacted."""

    session_id: str
    article_id: str
    query: str | None = None
    time: datetime = field(default_factory=utcnow)
    event_id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", _utc("time", self.time))
        _event_id("event_id", self.event_id)
        _ident("session_id", self.session_id)
        _ident("article_id", self.article_id)
        object.__setattr__(self, "query", _text("query", self.query))


Event = SuggestEvent | FeedbackEvent | DeflectionEvent

__all__ = [
    "AUDIENCES", "CONFIDENCES", "OUTCOMES", "DeflectionEvent", "Event", "FeedbackEvent", "SuggestEvent",
    "SuggestedItem", "new_id", "utcnow",
]
