"""Versioned schema migrations, one ordered list for both backends.

Each migration has a version (1, 2, ...), a name, and its SQL for SQLite and for
PostgreSQL (types differ: timestamps are fixed-width ISO-8601 text in SQLite, so they
sort as text, and `timestamptz` in PostgreSQL, so teams can query them with SQL). The
store applies, at open, every migration above the database's `schema_version`, inside
one write transaction that also serialises concurrent openers (`BEGIN IMMEDIATE` on
SQLite, a transaction-scoped advisory lock on PostgreSQL): two replicas starting at once
never both apply a migration. Never edit a released migration: append a new one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


def _both(*statements: str) -> tuple[str, ...]:
    return statements


_V1_TABLES = """
CREATE TABLE suggest_events (
    event_id TEXT PRIMARY KEY,
    ts {ts} NOT NULL,
    audience TEXT NOT NULL,
    ticket_id TEXT,
    channel TEXT,
    abstained {bool} NOT NULL,
    abstain_reason TEXT,
    semantic {bool} NOT NULL,
    index_build TEXT NOT NULL,
    ticket_text TEXT
);
CREATE INDEX suggest_events_ts ON suggest_events (ts, event_id);
CREATE INDEX suggest_events_ticket ON suggest_events (ticket_id, ts);
CREATE TABLE suggestion_items (
    event_id TEXT NOT NULL REFERENCES suggest_events (event_id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    score {real} NOT NULL,
    confidence TEXT NOT NULL,
    PRIMARY KEY (event_id, rank)
);
CREATE INDEX suggestion_items_article ON suggestion_items (article_id);
CREATE TABLE feedback_events (
    event_id TEXT PRIMARY KEY,
    ts {ts} NOT NULL,
    suggestion_event_id TEXT,
    ticket_id TEXT,
    article_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    source TEXT NOT NULL,
    comment TEXT
);
CREATE INDEX feedback_events_ts ON feedback_events (ts, event_id);
CREATE INDEX feedback_events_suggestion ON feedback_events (suggestion_event_id);
CREATE TABLE deflection_events (
    event_id TEXT PRIMARY KEY,
    ts {ts} NOT NULL,
    session_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    query_text TEXT
);
CREATE INDEX deflection_events_ts ON deflection_events (ts, event_id)
"""


def _split(sql: str, **types: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in sql.format(**types).split(";") if s.strip())


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "events, suggestion items, feedback, deflections",
              _split(_V1_TABLES, ts="TEXT", bool="INTEGER", real="REAL"),
              _split(_V1_TABLES, ts="TIMESTAMPTZ", bool="BOOLEAN", real="DOUBLE PRECISION")),
    Migration(2, "ticket product; feedback by article",
              _both("ALTER TABLE suggest_events ADD COLUMN product TEXT",
                    "CREATE INDEX feedback_events_article ON feedback_events (article_id, ts)"),
              _both("ALTER TABLE suggest_events ADD COLUMN product TEXT",
                    "CREATE INDEX feedback_events_article ON feedback_events (article_id, ts)")),
    # Joining feedback to where its article stood in the answer: without this index SQLite
    # looked items up by article (a few hundred each) instead of by answer, and insights over
    # 100,000 events took minutes (bench/bench_insights.py).
    Migration(3, "suggestion items by answer and article",
              _both("CREATE INDEX suggestion_items_event_article ON suggestion_items (event_id, article_id)"),
              _both("CREATE INDEX suggestion_items_event_article ON suggestion_items (event_id, article_id)")),
)

LATEST = MIGRATIONS[-1].version

VERSION_TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
              "applied_at TEXT NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied_at TIMESTAMPTZ NOT NULL)",
}

__all__ = ["LATEST", "MIGRATIONS", "VERSION_TABLE", "Migration"]
