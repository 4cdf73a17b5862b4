"""Wait records in the SQLite file of a ``SQLiteCheckpointStore`` (table ``cadence_waits``).

Same rules as the checkpoint store: WAL, one ``BEGIN IMMEDIATE`` transaction per write, a busy
timeout so writers from other processes queue, and one worker thread holding the connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from cadence.checkpoint._waits._record import (
    Decide,
    WaitRecord,
    record_from_json,
    record_to_json,
)
from cadence.checkpoint._waits._sql import SQLWaitStore
from cadence.checkpoint.sqlite import open_database

__all__ = ["SQLiteWaitStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cadence_waits (
    cadence TEXT NOT NULL, run_id TEXT NOT NULL, key TEXT NOT NULL,
    status TEXT NOT NULL, deadline REAL, created REAL NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (cadence, run_id, key));
CREATE INDEX IF NOT EXISTS cadence_waits_pending ON cadence_waits (cadence, status, deadline);
"""


class SQLiteWaitStore(SQLWaitStore):
    """Wait records in an SQLite database file, shared safely by many processes.

    Args:
        path: The database file (the checkpoint store's).
        busy_timeout: Seconds a writer waits for the lock.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cadence-waits")
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_database(
                self.path,
                busy_timeout=self.busy_timeout,
                setup=lambda conn: conn.executescript(_SCHEMA),
            )
        return self._conn

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            return fn(self._connect())

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    def close(self) -> None:
        """Close the connection and stop the worker thread (again: nothing happens)."""
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        self._executor.submit(shut).result()
        self._executor.shutdown(wait=True)

    async def _transact(
        self, cadence_name: str, run_id: str, key: str, decide: Decide
    ) -> WaitRecord | None:
        def txn(conn: sqlite3.Connection) -> WaitRecord | None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT record FROM cadence_waits WHERE cadence = ? AND run_id = ? AND key = ?",
                    (cadence_name, run_id, key),
                ).fetchone()
                current = None if row is None else record_from_json(row[0], cadence_name, run_id)
                new = decide(current)
                if new is not None and new is not current:
                    conn.execute(
                        "INSERT OR REPLACE INTO cadence_waits VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            cadence_name,
                            run_id,
                            key,
                            new.status,
                            new.deadline,
                            new.created_at,
                            record_to_json(new),
                        ),
                    )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return new

        return await self._call(txn)

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return await self._call(lambda c: c.execute(sql, args).fetchall())

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        await self._call(lambda c: c.execute(sql, args))
