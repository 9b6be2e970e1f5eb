"""The SQL both backends share: the same statements, written once with `?` placeholders
(PostgreSQL's driver gets them as `%s`), so the two backends cannot disagree about what an
event is. A backend supplies the connection, how a transaction starts, how a timestamp
is encoded, and how migrations are serialised."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from . import schema
from .model import DeflectionEvent, Event, FeedbackEvent, SuggestedItem, SuggestEvent, utcnow
from .store import ArticleCounts, EventCounts, EventStore, JoinedFeedback

_SUGGEST_COLS = ("event_id, ts, audience, ticket_id, channel, abstained, abstain_reason, semantic, index_build, "
                 "ticket_text, product")
_FEEDBACK_COLS = "event_id, ts, suggestion_event_id, ticket_id, article_id, outcome, source, comment"
_DEFLECTION_COLS = "event_id, ts, session_id, article_id, query_text"


class SQLStore(EventStore):
    dialect = "sqlite"
    _conn: Any = None

    # --- what a backend supplies ------------------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _begin(self, conn: Any) -> None:
        """Start a write transaction (and, for migrations, take the migration lock)."""

    @abstractmethod
    def _lock_for_migration(self, conn: Any) -> None: ...

    @abstractmethod
    def _enc(self, dt: datetime) -> Any: ...

    @abstractmethod
    def _dec(self, value: Any) -> datetime: ...

    def _q(self, sql: str) -> str:
        return sql

    # --- connection and migrations ----------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._conn is not None:
            return
        conn = self._connect()
        try:
            self._version = self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _migrate(self, conn: Any, upto: int | None = None) -> int:
        """Apply the missing migrations in one transaction under the migration lock; a second
        opener waits for the lock, then finds nothing left to do."""
        cur = conn.cursor()
        self._begin(conn)
        try:
            self._lock_for_migration(conn)
            cur.execute(schema.VERSION_TABLE[self.dialect])
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            current = int(cur.fetchone()[0])
            for m in schema.MIGRATIONS:
                if m.version <= current or (upto is not None and m.version > upto):
                    continue
                for stmt in (m.sqlite if self.dialect == "sqlite" else m.postgres):
                    cur.execute(stmt)
                cur.execute(self._q("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)"),
                            (m.version, m.name, self._enc(utcnow())))
                current = m.version
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return current

    def _after_failure(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.rollback()
        except Exception:  # noqa: BLE001 - a dead connection: reconnect next time
            self._drop_connection()

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                conn.close()
        except Exception:  # noqa: BLE001
            pass

    def _close(self) -> None:
        self._drop_connection()

    # --- writing ------------------------------------------------------------------------------

    def _write(self, events: list[Event]) -> None:
        """One transaction, one `executemany` per table: a batch of answers costs a few
        statements, not two per answer (the writer's share of a busy server's CPU)."""
        rows = self._rows(events)
        conn = self._conn
        cur = conn.cursor()
        self._begin(conn)
        try:
            for sql, values in rows.items():
                if values:
                    cur.executemany(self._q(sql), values)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def _rows(self, events: list[Event]) -> dict[str, list[tuple[Any, ...]]]:
        """Each table's rows for `events`, in insertion order (an answer before its items)."""
        t = self._enc
        suggest: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        feedback: list[tuple[Any, ...]] = []
        deflection: list[tuple[Any, ...]] = []
        for ev in events:
            if isinstance(ev, SuggestEvent):
                suggest.append((ev.event_id, t(ev.time), ev.audience, ev.ticket_id, ev.channel, ev.abstained,
                                ev.abstain_reason, ev.semantic, ev.index_build, ev.ticket_text, ev.product))
                items += [(ev.event_id, s.rank, s.article_id, s.score, s.confidence) for s in ev.suggestions]
            elif isinstance(ev, FeedbackEvent):
                feedback.append((ev.event_id, t(ev.time), ev.suggestion_event_id, ev.ticket_id, ev.article_id,
                                 ev.outcome, ev.source, ev.comment))
            elif isinstance(ev, DeflectionEvent):
                deflection.append((ev.event_id, t(ev.time), ev.session_id, ev.article_id, ev.query))
            else:
                raise TypeError(f"not an event: {type(ev).__name__}")
        return {
            f"INSERT INTO suggest_events ({_SUGGEST_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (event_id) DO NOTHING": suggest,
            "INSERT INTO suggestion_items (event_id, rank, article_id, score, confidence) "
            "VALUES (?,?,?,?,?) ON CONFLICT (event_id, rank) DO NOTHING": items,
            f"INSERT INTO feedback_events ({_FEEDBACK_COLS}) VALUES (?,?,?,?,?,?,?,?) "
            "ON CONFLICT (event_id) DO NOTHING": feedback,
            f"INSERT INTO deflection_events ({_DEFLECTION_COLS}) VALUES (?,?,?,?,?) "
            "ON CONFLICT (event_id) DO NOTHING": deflection,
        }

    def _prune(self, cutoff: datetime) -> int:
        conn = self._conn
        cur = conn.cursor()
        c = self._enc(cutoff)
        self._begin(conn)
        try:
            cur.execute(self._q("DELETE FROM suggestion_items WHERE event_id IN "
                                "(SELECT event_id FROM suggest_events WHERE ts < ?)"), (c,))
            deleted = 0
            for table in ("suggest_events", "feedback_events", "deflection_events"):
                cur.execute(self._q(f"DELETE FROM {table} WHERE ts < ?"), (c,))
                deleted += max(cur.rowcount, 0)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return deleted

    # --- reading ------------------------------------------------------------------------------

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """One query, then end the read transaction (PostgreSQL would otherwise sit 'idle in
        transaction' between pages, holding back vacuum)."""
        cur = self._conn.cursor()
        try:
            cur.execute(self._q(sql), tuple(params))
            return list(cur.fetchall())
        finally:
            self._conn.rollback()

    def _range(self, col: str, since: datetime | None, until: datetime | None,
               after: tuple[datetime, str] | None = None, key: str = "") -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append(f"{col} >= ?")
            params.append(self._enc(since))
        if until is not None:
            where.append(f"{col} < ?")
            params.append(self._enc(until))
        if after is not None:
            # the plain bound lets the (ts, event_id) index start at the cursor: SQLite does not
            # use a row-value comparison as a range, and each page would rescan from `since`
            where.append(f"{col} >= ? AND ({col}, {key}) > (?, ?)")
            params += [self._enc(after[0]), self._enc(after[0]), after[1]]
        return where, params

    @staticmethod
    def _where(clauses: list[str]) -> str:
        return (" WHERE " + " AND ".join(clauses)) if clauses else ""

    def _suggest_page(self, since: datetime | None, until: datetime | None, audience: str | None,
                      after: tuple[datetime, str] | None, batch: int) -> list[SuggestEvent]:
        where, params = self._range("ts", since, until, after, "event_id")
        if audience is not None:
            where.append("audience = ?")
            params.append(audience)
        rows = self._read(f"SELECT {_SUGGEST_COLS} FROM suggest_events{self._where(where)} "
                          f"ORDER BY ts, event_id LIMIT {int(batch)}", params)
        items: dict[str, list[SuggestedItem]] = {r[0]: [] for r in rows}
        if rows:
            marks = ",".join("?" * len(rows))
            for eid, rank, art, score, conf in self._read(
                    "SELECT event_id, rank, article_id, score, confidence FROM suggestion_items "
                    f"WHERE event_id IN ({marks})", [r[0] for r in rows]):
                items[eid].append(SuggestedItem(art, int(rank), float(score), conf))
        return [SuggestEvent(event_id=r[0], time=self._dec(r[1]), audience=r[2], ticket_id=r[3], channel=r[4],
                             abstained=bool(r[5]), abstain_reason=r[6], semantic=bool(r[7]), index_build=r[8],
                             ticket_text=r[9], product=r[10], suggestions=tuple(items[r[0]])) for r in rows]

    def _feedback_row(self, r: Sequence[Any]) -> FeedbackEvent:
        return FeedbackEvent(event_id=r[0], time=self._dec(r[1]), suggestion_event_id=r[2], ticket_id=r[3],
                             article_id=r[4], outcome=r[5], source=r[6], comment=r[7])

    def _feedback_page(self, since: datetime | None, until: datetime | None,
                       after: tuple[datetime, str] | None, batch: int) -> list[FeedbackEvent]:
        where, params = self._range("ts", since, until, after, "event_id")
        rows = self._read(f"SELECT {_FEEDBACK_COLS} FROM feedback_events{self._where(where)} "
                          f"ORDER BY ts, event_id LIMIT {int(batch)}", params)
        return [self._feedback_row(r) for r in rows]

    def _deflection_page(self, since: datetime | None, until: datetime | None,
                         after: tuple[datetime, str] | None, batch: int) -> list[DeflectionEvent]:
        where, params = self._range("ts", since, until, after, "event_id")
        rows = self._read(f"SELECT {_DEFLECTION_COLS} FROM deflection_events{self._where(where)} "
                          f"ORDER BY ts, event_id LIMIT {int(batch)}", params)
        return [DeflectionEvent(event_id=r[0], time=self._dec(r[1]), session_id=r[2], article_id=r[3], query=r[4])
                for r in rows]

    def _joined_feedback(self, since: datetime | None, until: datetime | None,
                         audience: str | None) -> list[JoinedFeedback]:
        where, params = self._range("f.ts", since, until)
        if audience is not None:
            where.append("s.audience = ?")
            params.append(audience)
        cols = ", ".join(f"f.{c.strip()}" for c in _FEEDBACK_COLS.split(","))
        rows = self._read(
            f"SELECT {cols}, s.event_id, s.ts, s.audience, i.rank, i.score, i.confidence "
            "FROM feedback_events f "
            "LEFT JOIN suggest_events s ON s.event_id = COALESCE(f.suggestion_event_id, "
            "  (SELECT s2.event_id FROM suggest_events s2 WHERE s2.ticket_id = f.ticket_id AND s2.ts <= f.ts "
            "   ORDER BY s2.ts DESC, s2.event_id DESC LIMIT 1)) "
            "LEFT JOIN suggestion_items i ON i.event_id = s.event_id AND i.article_id = f.article_id"
            f"{self._where(where)} ORDER BY f.ts, f.event_id", params)
        return [JoinedFeedback(self._feedback_row(r), r[8], self._dec(r[9]) if r[9] is not None else None, r[10],
                               int(r[11]) if r[11] is not None else None,
                               float(r[12]) if r[12] is not None else None, r[13]) for r in rows]

    def _article_counts(self, since: datetime | None, until: datetime | None,
                        audience: str | None) -> dict[str, ArticleCounts]:
        acc: dict[str, dict[str, Any]] = {}
        where, params = self._range("s.ts", since, until)
        if audience is not None:
            where.append("s.audience = ?")
            params.append(audience)
        for art, n, first, last in self._read(
                "SELECT i.article_id, COUNT(*), SUM(CASE WHEN i.rank = 1 THEN 1 ELSE 0 END), MAX(s.ts) "
                "FROM suggestion_items i JOIN suggest_events s ON s.event_id = i.event_id"
                f"{self._where(where)} GROUP BY i.article_id", params):
            acc[art] = {"suggested": int(n), "suggested_first": int(first or 0), "last_suggested": self._dec(last)}
        where, params = self._range("ts", since, until)
        for art, outcome, n in self._read("SELECT article_id, outcome, COUNT(*) FROM feedback_events"
                                          f"{self._where(where)} GROUP BY article_id, outcome", params):
            acc.setdefault(art, {})[outcome] = int(n)
        for art, n in self._read(f"SELECT article_id, COUNT(*) FROM deflection_events{self._where(where)} "
                                 "GROUP BY article_id", params):
            acc.setdefault(art, {})["deflections"] = int(n)
        return {art: ArticleCounts(art, **fields) for art, fields in sorted(acc.items())}

    def _counts(self) -> EventCounts:
        n = [int(self._read(f"SELECT COUNT(*) FROM {t}", [])[0][0])
             for t in ("suggest_events", "feedback_events", "deflection_events")]
        return EventCounts(*n)
