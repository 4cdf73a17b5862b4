"""``SQLiteResponseCache``: answers in one SQLite file, shared safely by several processes.

The database runs in WAL mode (readers never wait for the writer) with a busy timeout, and
``synchronous=NORMAL``: a cache may lose its last answers in a power cut, never its integrity.
sqlite3 calls block, so each cache runs them on its own single worker thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from cadence.checkpoint.sqlite import open_database

__all__ = ["SQLiteResponseCache"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cadence_llm_responses (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL);
"""


class SQLiteResponseCache:
    """Cached answers in a SQLite file.

    Args:
        path: The database file (created when missing).
        busy_timeout: Seconds a write waits for another process's write to finish.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None  # started on first use

    def __repr__(self) -> str:
        return f"SQLiteResponseCache({str(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_database(
                self.path,
                busy_timeout=self.busy_timeout,
                synchronous="NORMAL",
                setup=lambda conn: conn.executescript(_SCHEMA),
            )
        return self._conn

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            return fn(self._connect())

        if self._executor is None:  # first use, or used again after close(): (re)open
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="cadence-llm-cache"
            )
        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    async def get(self, key: str) -> str | None:
        """The value under ``key`` unless it expired (expired rows are deleted)."""

        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT value, expires FROM cadence_llm_responses WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            if row[1] is not None and time.time() >= row[1]:
                conn.execute(
                    "DELETE FROM cadence_llm_responses WHERE key = ? AND expires = ?", (key, row[1])
                )
                return None
            return str(row[0])

        return await self._call(read)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any."""
        expires = None if ttl is None else time.time() + ttl

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO cadence_llm_responses (key, value, expires) "
                "VALUES (?, ?, ?)",
                (key, value, expires),
            )

        await self._call(write)

    async def purge_expired(self) -> int:
        """Delete every expired answer now; returns how many went."""

        def purge(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM cadence_llm_responses WHERE expires IS NOT NULL AND expires <= ?",
                (time.time(),),
            )
            return int(cur.rowcount)

        return await self._call(purge)

    def close(self) -> None:
        """Close the connection and stop the worker thread (a later call opens them again).

        Closing twice is a no-op, as for the other stores.
        """

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        executor, self._executor = self._executor, None
        if executor is None:
            return
        executor.submit(shut).result()
        executor.shutdown(wait=True)

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop."""
        await asyncio.to_thread(self.close)
