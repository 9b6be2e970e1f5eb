"""`report(...)`: one pass over the events of a window, then every section from that pass.

The source is an event store (what the API recorded), a set of events in memory (a test, a
replay), or a ticket export (offline: the engine answers each ticket first). Events in
memory are written to a private temporary SQLite store and read back through the same
store API, so feedback is joined to its answer by the one rule the store implements
(`EventStore.joined_feedback`) and both paths report identically.

Filters: `product` keeps the tickets of that product (and their feedback) and the articles
of that product; `owner` keeps that owner's articles in the per-article sections and in
known-issue spikes (tickets and gaps are not anyone's yet); `audience` keeps the answers
given to that audience.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from ..config import Config
from ..content import KB, Article
from ..events import EventStore, Recorder, open_store
from ..events.model import Event
from ..suggest import Engine
from .gaps import cluster_gaps, gap_tickets
from .model import Filters, InsightsReport
from .spikes import known_issue_series
from .tickets import TicketFile, suggest_events
from .usage import acceptance, article_usage, build_ledger, headline, timeline
from .window import make_window

DEFAULT_REVIEW_EVERY = 365  # Config.review_every's default, for callers without a config


def report(source: EventStore | Iterable[Event] | TicketFile, kb: KB, *, since: datetime | None = None,
           until: datetime | None = None, owner: str | None = None, product: str | None = None,
           audience: str | None = None, engine: Engine | None = None, config: Config | None = None,
           method: str = "auto", bucket: str = "auto", today: date | None = None) -> InsightsReport:
    """The insights report for `kb` over [since, until) (open ends: the data's own range).

    `engine` is needed for a TicketFile (it answers each ticket); `config` gives the review
    interval (else 365 days); `method` picks gap clustering ("auto", "semantic", "lexical").
    Raises `events.StoreError` if the store cannot be read, ValueError for bad arguments."""
    if isinstance(source, EventStore):
        return _from_store(source, kb, since, until, Filters(owner, product, audience), config, method, bucket,
                           today, source=f"events: {source.location}")
    problems: list[str] = []
    label, answer_as = "events", audience or "public"
    if isinstance(source, TicketFile):
        if engine is None:
            raise ValueError("engine: required to answer the tickets of an export")
        problems = [str(p) for p in source.problems]
        label = f"tickets: {len(source.tickets)} from a {source.format} export"
        audience = answer_as
    with tempfile.TemporaryDirectory(prefix="kbtool-insights-") as tmp:
        store = open_store(Path(tmp) / "events.sqlite3")
        try:
            if isinstance(source, TicketFile):
                assert engine is not None
                recorder = Recorder(store, index_build="offline")
                store.import_events(suggest_events(source.tickets, engine, recorder, audience=answer_as))
            else:
                store.import_events(source)
            out = _from_store(store, kb, since, until, Filters(owner, product, audience), config, method, bucket,
                              today, source=label)
        finally:
            store.close()
    return replace(out, problems=problems)


def _live(kb: KB, filters: Filters) -> list[Article]:
    return [a for a in kb.valid_articles if a.status == "published"
            and (filters.audience != "public" or a.is_public)
            and (filters.owner is None or a.owner == filters.owner)
            and (filters.product is None or a.product == filters.product)]


def _from_store(store: EventStore, kb: KB, since: datetime | None, until: datetime | None, filters: Filters,
                config: Config | None, method: str, bucket: str, today: date | None, source: str) -> InsightsReport:
    events = [ev for ev in store.suggest_events(since, until, audience=filters.audience)
              if filters.product is None or ev.product == filters.product]
    window = make_window(since, until, events[0].time if events else None, events[-1].time if events else None,
                         bucket)
    feedback = store.joined_feedback(window.since, window.until, audience=filters.audience)
    led = build_ledger(events, feedback, store.deflection_events(window.since, window.until))
    articles = _live(kb, filters)
    usage = article_usage(articles, led, config.review_every if config else DEFAULT_REVIEW_EVERY,
                          today or datetime.now(UTC).date())
    by_rank, by_conf = acceptance(led)
    gaps, without = gap_tickets(led)
    every_live = _live(kb, Filters(product=filters.product))
    return InsightsReport(
        generated=datetime.now(UTC), source=source, window=window, filters=filters, headline=headline(led),
        timeline=timeline(window, led), by_rank=by_rank, by_confidence=by_conf, articles=usage,
        never_suggested=sorted(u.id for u in usage if not u.suggested),
        stale_but_used=[u for u in usage if u.stale and u.heavily_used],
        gaps=cluster_gaps(gaps, every_live, window, method=method, without_text=without),
        known_issues=known_issue_series(articles, led, window))


__all__ = ["report"]
