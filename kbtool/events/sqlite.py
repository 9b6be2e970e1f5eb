"""The embedded backend: one SQLite file beside the index, no server to run.

WAL mode lets readers (insights) run while API workers write; each write is a short
`BEGIN IMMEDIATE` transaction, so concurrent writers from several processes queue on
SQLite's lock (up to `busy_timeout_ms`) instead of failing, and nothing is lost. A writer
that waits longer than that gets "database is locked", which the base class turns into
a False return and a buffered event. `synchronous=NORMAL` is WAL's usual setting: a
power cut can lose the last commits but never corrupts the file; a kill -9 of the
process loses nothing already committed.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._sql import SQLStore

_MIGRATION_WAIT_MS = 15_000  # a second process opening at once waits for the first's migrations


class SQLiteStore(SQLStore):
    backend = "sqlite"
    dialect = "sqlite"

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 2000, **options: Any) -> None:
        super().__init__(**options)
        self.path = Path(path)
        self.location = str(self.path)
        self.busy_timeout_ms = int(busy_timeout_ms)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=_MIGRATION_WAIT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            self._wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_open(self) -> None:
        if self._conn is not None:
            return
        super()._ensure_open()  # migrations wait up to _MIGRATION_WAIT_MS; events only busy_timeout_ms
        conn: Any = self._conn
        conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")

    @staticmethod
    def _wal(conn: sqlite3.Connection) -> None:
        """Switching to WAL needs a moment alone with the file; two processes creating it at
        once can see "locked" here even with a busy timeout, so retry briefly."""
        for attempt in range(50):
            try:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise sqlite3.OperationalError(f"journal_mode is {mode!r}, not WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or attempt == 49:
                    raise
                time.sleep(0.05)

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def _lock_for_migration(self, conn: Any) -> None:
        """BEGIN IMMEDIATE already holds SQLite's write lock: nothing more to take."""

    def _enc(self, dt: datetime) -> str:
        # fixed width, always with microseconds: text order is time order
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _dec(self, value: Any) -> datetime:
        return datetime.fromisoformat(value).astimezone(UTC)


__all__ = ["SQLiteStore"]
