"""The server backend, for several API replicas writing to one database (psycopg 3).

Every write is one short transaction. Migrations run under a transaction-scoped advisory
lock, so replicas starting together apply them once. A dead connection (server restarted
or down) is dropped after the failure and reopened on the next attempt; `connect_timeout`
and `statement_timeout_ms` bound how long a request can wait on it, and the base class's
back-off keeps requests from waiting at all while the server stays down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._sql import SQLStore

_MIGRATION_LOCK = 0x6B62746F6F6C  # "kbtool": any fixed 64-bit key shared by every replica


def redact_url(url: str) -> str:
    """The URL without its password: it goes to logs, /healthz and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class PostgresStore(SQLStore):
    backend = "postgres"
    dialect = "postgres"

    def __init__(self, url: str, *, connect_timeout: int = 3, statement_timeout_ms: int = 5000,
                 **options: Any) -> None:
        super().__init__(**options)
        self.url = url
        self.location = redact_url(url)
        self.connect_timeout = int(connect_timeout)
        self.statement_timeout_ms = int(statement_timeout_ms)

    def _connect(self) -> Any:
        import psycopg  # the optional dependency: only PostgreSQL users need it

        conn = psycopg.connect(self.url, connect_timeout=self.connect_timeout, autocommit=False,
                               application_name="kbtool-events")
        try:
            conn.execute("SET TIME ZONE 'UTC'")
            conn.execute(f"SET statement_timeout = {self.statement_timeout_ms}")
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def _begin(self, conn: Any) -> None:
        """psycopg opens the transaction at the first statement."""

    def _lock_for_migration(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _enc(self, dt: datetime) -> datetime:
        return dt.astimezone(UTC)

    def _dec(self, value: Any) -> datetime:
        if not isinstance(value, datetime):
            raise TypeError(f"expected a timestamp from PostgreSQL, got {type(value).__name__}")
        return value.astimezone(UTC)


__all__ = ["PostgresStore", "redact_url"]
