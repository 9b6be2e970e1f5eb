"""The event store: where the knowledge loop's events are written and read back.

`open_store(target)` picks the backend: a `postgresql://` (or `postgres://`) URL opens
PostgreSQL, for teams running several API replicas; anything else is a SQLite file path
(one file beside the index, WAL mode, no server to run). Reading `KBTOOL_DB` is the
caller's job (API, CLI), so this module has no hidden global configuration:

    store = open_store(os.environ.get("KBTOOL_DB") or index_dir / "events.sqlite3")

Two contracts, deliberately different:

* **Recording never raises.** `record_suggest/feedback/deflection` return True when the
  event is written, False otherwise (locked file, server down, anything): a suggestion is
  never failed by its bookkeeping. A failed event waits in a bounded in-memory buffer and
  is written before the next event that gets through; when the buffer is full the oldest
  is dropped. After a failure the store stops trying for a short, growing back-off, so a
  dead server costs each request microseconds, not a connect timeout. `stats()` counts it
  all for `/healthz`.
* **Reading and pruning raise** `StoreError`: the CLI and insights must say why they
  failed rather than report an empty KB.

Writes are idempotent (event ids are primary keys, inserts ignore duplicates), so the
buffer may replay an event whose commit succeeded but whose acknowledgement was lost.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .model import DeflectionEvent, Event, FeedbackEvent, SuggestEvent, utcnow


class StoreError(RuntimeError):
    """Reading, pruning or opening (not lazily) failed; the message says which store and why."""


@dataclass(frozen=True)
class StoreStats:
    """Counters since this process opened the store (per process, not per database).

    recorded: events written; dropped: events lost for good (buffer full or disabled);
    buffered: events waiting in memory for the store to come back; failures: write
    attempts that failed; location: path or URL, never with a password."""

    backend: str
    location: str
    recorded: int
    dropped: int
    buffered: int
    failures: int
    last_error: str | None
    schema_version: int | None


@dataclass(frozen=True)
class JoinedFeedback:
    """A feedback event with the suggestion it answers (given by id, or the ticket's latest
    suggestion at or before the feedback), and where the article stood in it: `rank` None
    means the agent used an article that was not suggested."""

    feedback: FeedbackEvent
    suggest_event_id: str | None
    suggest_time: datetime | None
    audience: str | None
    rank: int | None
    score: float | None
    confidence: str | None


@dataclass(frozen=True)
class ArticleCounts:
    """Per article in a time range: how often suggested (and first), what feedback said,
    how many help-center readers it deflected."""

    article_id: str
    suggested: int = 0
    suggested_first: int = 0
    last_suggested: datetime | None = None
    linked: int = 0
    resolved: int = 0
    helpful: int = 0
    not_helpful: int = 0
    deflections: int = 0


@dataclass(frozen=True)
class EventCounts:
    suggest: int
    feedback: int
    deflection: int


class EventStore(ABC):
    """The interface the API, the CLI and insights use. Backends implement the `_`-methods;
    the never-raise recording, buffering and back-off live here, once."""

    backend = "abstract"

    def __init__(self, *, buffer_size: int = 256, retry_min: float = 0.5, retry_max: float = 30.0) -> None:
        self._lock = threading.RLock()
        self._buffer: deque[Event] = deque()
        self._buffer_size = buffer_size
        self._retry_min, self._retry_max = retry_min, retry_max
        self._retry = 0.0
        self._down_until = 0.0
        self._recorded = self._dropped = self._failures = 0
        self._last_error: str | None = None
        self._version: int | None = None

    # --- recording: never raises ---------------------------------------------------------

    def record_suggest(self, event: SuggestEvent) -> bool:
        """Write one answer of /v1/suggest. False (never an exception) if it was not written now."""
        return self._record([event])

    def record_feedback(self, event: FeedbackEvent) -> bool:
        return self._record([event])

    def record_deflection(self, event: DeflectionEvent) -> bool:
        return self._record([event])

    def record_many(self, events: list[Event]) -> bool:
        """Write several events of any kind in one transaction, with the same never-raise,
        buffer-on-failure rules as `record_*`: the API's writer thread batches what queued up
        while it wrote, so a busy server pays one commit per batch, not one per answer."""
        return self._record(list(events)) if events else True

    def flush(self) -> bool:
        """Try to write the buffered events now; True when the buffer is empty afterwards."""
        with self._lock:
            if not self._buffer:
                return True
            return self._attempt([])

    def _record(self, events: list[Event]) -> bool:
        try:
            with self._lock:
                if time.monotonic() < self._down_until:
                    for event in events:
                        self._keep(event)  # backing off: do not touch a store that just failed
                    return False
                return self._attempt(events)
        except Exception:  # noqa: BLE001 - the caller is serving a request
            return False

    def _attempt(self, events: list[Event]) -> bool:
        """Write the buffer and `events` in one transaction; on failure keep them all."""
        batch = [*self._buffer, *events]
        try:
            self._ensure_open()
            self._write(batch)
        except Exception as e:  # noqa: BLE001
            self._failures += 1
            self._last_error = f"{type(e).__name__}: {e}"[:300]
            self._retry = min(max(self._retry * 2, self._retry_min), self._retry_max)
            self._down_until = time.monotonic() + self._retry
            self._after_failure()
            for ev in events:
                self._keep(ev)
            return False
        self._recorded += len(batch)
        self._buffer.clear()
        self._retry = 0.0
        self._down_until = 0.0
        return True

    def _keep(self, event: Event) -> None:
        if self._buffer_size <= 0:
            self._dropped += 1
            return
        if len(self._buffer) >= self._buffer_size:
            self._buffer.popleft()
            self._dropped += 1
        self._buffer.append(event)

    def stats(self) -> StoreStats:
        with self._lock:
            return StoreStats(self.backend, self.location, self._recorded, self._dropped, len(self._buffer),
                              self._failures, self._last_error, self._version)

    # --- reading and maintenance: raise StoreError ---------------------------------------

    def open(self) -> EventStore:
        """Connect and migrate now (raising StoreError), instead of at the first event."""
        with self._lock:
            self._guard(self._ensure_open)
        return self

    def schema_version(self) -> int:
        with self._lock:
            self._guard(self._ensure_open)
            assert self._version is not None
            return self._version

    def prune(self, keep_days: int, *, now: datetime | None = None) -> int:
        """Delete events older than `keep_days` days (all three kinds, with the suggested
        items of deleted answers); returns how many events were deleted."""
        if isinstance(keep_days, bool) or not isinstance(keep_days, int) or keep_days < 0:
            raise ValueError(f"keep_days: expected a whole number of days >= 0, got {keep_days!r}")
        cutoff = (now or utcnow()) - timedelta(days=keep_days)
        with self._lock:
            return self._guard(lambda: self._prune(cutoff))

    def import_events(self, events: Iterable[Event], *, batch: int = 1000) -> int:
        """Write `events` in transactions of `batch` (an offline run, a replay, a test's event
        set), raising StoreError instead of buffering: unlike recording, nobody is waiting on
        an answer, and a half-imported set must say so. Duplicates are ignored (idempotent);
        returns how many events were passed."""
        n = 0
        chunk: list[Event] = []
        with self._lock:
            for ev in events:
                chunk.append(ev)
                if len(chunk) >= batch:
                    self._guard(lambda c=chunk: self._write(c))
                    n, chunk = n + len(chunk), []
            if chunk:
                self._guard(lambda: self._write(chunk))
                n += len(chunk)
        return n

    def suggest_events(self, since: datetime | None = None, until: datetime | None = None, *,
                       audience: str | None = None, batch: int = 1000) -> Iterator[SuggestEvent]:
        """Answers in [since, until), oldest first, read in pages (constant memory; no lock
        or cursor is held between pages, so recording goes on while insights read)."""
        yield from self._paged(lambda after: self._suggest_page(since, until, audience, after, batch))

    def feedback_events(self, since: datetime | None = None, until: datetime | None = None, *,
                        batch: int = 1000) -> Iterator[FeedbackEvent]:
        yield from self._paged(lambda after: self._feedback_page(since, until, after, batch))

    def deflection_events(self, since: datetime | None = None, until: datetime | None = None, *,
                          batch: int = 1000) -> Iterator[DeflectionEvent]:
        yield from self._paged(lambda after: self._deflection_page(since, until, after, batch))

    def joined_feedback(self, since: datetime | None = None, until: datetime | None = None, *,
                        audience: str | None = None) -> list[JoinedFeedback]:
        """Feedback in [since, until) with its suggestion (acceptance by rank/confidence)."""
        with self._lock:
            return self._guard(lambda: self._joined_feedback(since, until, audience))

    def article_counts(self, since: datetime | None = None, until: datetime | None = None, *,
                       audience: str | None = None) -> dict[str, ArticleCounts]:
        """Per-article counts in [since, until). `audience` filters suggestions only:
        feedback and deflections have no audience of their own."""
        with self._lock:
            return self._guard(lambda: self._article_counts(since, until, audience))

    def counts(self) -> EventCounts:
        with self._lock:
            return self._guard(self._counts)

    def close(self) -> None:
        """Flush what can be flushed, then close. Safe to call twice."""
        with self._lock:
            if self._buffer:
                self._attempt([])
            self._close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _paged(self, page: Any) -> Iterator[Any]:
        after: tuple[Any, str] | None = None
        while True:
            with self._lock:
                rows: Sequence[Any] = self._guard(lambda at=after: page(at))
            yield from rows
            if not rows:
                return
            after = (rows[-1].time, rows[-1].event_id)

    def _guard(self, fn: Any) -> Any:
        try:
            self._ensure_open()
            return fn()
        except (StoreError, ValueError):
            self._after_failure()
            raise
        except Exception as e:
            self._after_failure()
            raise StoreError(f"{self.backend} event store {self.location}: {type(e).__name__}: {e}") from e

    # --- backends -------------------------------------------------------------------------

    location = ""

    @abstractmethod
    def _ensure_open(self) -> None:
        """Connect and migrate if not connected; sets self._version."""

    @abstractmethod
    def _after_failure(self) -> None:
        """Roll back, and drop a connection that may be dead so the next use reconnects."""

    @abstractmethod
    def _write(self, events: list[Event]) -> None: ...

    @abstractmethod
    def _prune(self, cutoff: datetime) -> int: ...

    @abstractmethod
    def _suggest_page(self, since: datetime | None, until: datetime | None, audience: str | None,
                      after: tuple[datetime, str] | None, batch: int) -> list[SuggestEvent]: ...

    @abstractmethod
    def _feedback_page(self, since: datetime | None, until: datetime | None,
                       after: tuple[datetime, str] | None, batch: int) -> list[FeedbackEvent]: ...

    @abstractmethod
    def _deflection_page(self, since: datetime | None, until: datetime | None,
                         after: tuple[datetime, str] | None, batch: int) -> list[DeflectionEvent]: ...

    @abstractmethod
    def _joined_feedback(self, since: datetime | None, until: datetime | None,
                         audience: str | None) -> list[JoinedFeedback]: ...

    @abstractmethod
    def _article_counts(self, since: datetime | None, until: datetime | None,
                        audience: str | None) -> dict[str, ArticleCounts]: ...

    @abstractmethod
    def _counts(self) -> EventCounts: ...

    @abstractmethod
    def _close(self) -> None: ...


def is_postgres_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def open_store(target: str | Path, *, lazy: bool = False, **options: Any) -> EventStore:
    """The store at `target`: a PostgreSQL URL, else a SQLite file path (created, with its
    parent directory, if missing).

    lazy=False (CLI, insights) connects and migrates now and raises StoreError if it
    cannot; lazy=True (the API) returns at once and connects at the first event, so an API
    starting while the database is down still serves suggestions. `options` go to the
    backend: buffer_size, retry_min, retry_max, and busy_timeout_ms (SQLite) or
    connect_timeout / statement_timeout_ms (PostgreSQL). The other backend's options are
    ignored, so a caller can pass one set whatever KBTOOL_DB names."""
    store: EventStore
    if is_postgres_url(target):
        from .postgres import PostgresStore

        options.pop("busy_timeout_ms", None)
        store = PostgresStore(str(target), **options)
    else:
        from .sqlite import SQLiteStore

        options.pop("connect_timeout", None)
        options.pop("statement_timeout_ms", None)
        store = SQLiteStore(Path(target), **options)
    return store if lazy else store.open()


__all__ = [
    "ArticleCounts", "EventCounts", "EventStore", "JoinedFeedback", "StoreError", "StoreStats", "is_postgres_url",
    "open_store",
]
