"""``SQLiteCheckpointStore``: the embedded default, one file shared safely by many processes.

Why it is safe from many processes: the database runs in WAL mode (readers never block the
writer), every write is one ``BEGIN IMMEDIATE`` transaction (taking the write lock up front, so
two writers never deadlock upgrading a read lock, which SQLite reports as "database is locked"
without waiting) and a busy timeout makes writers queue instead of failing. ``synchronous=FULL``
by default: a committed checkpoint survives a power cut as well as a killed process.

sqlite3 calls block, so each store runs them on its own single worker thread, off the event loop;
one thread also means one connection and statements in submission order.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from cadence.checkpoint._protocol import (
    DEFAULT_RETENTION,
    check_lease_ttl,
    check_retention,
    corrupt_record,
    dump_state,
    lease_held,
    lease_lost,
    load_state,
)
from cadence.checkpoint._wait_backends import detach_waits
from cadence.checkpoint.codec import ScoreCodec

__all__ = ["SQLiteCheckpointStore", "open_database"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cadence_runs (
    cadence TEXT NOT NULL, run_id TEXT NOT NULL,
    token INTEGER NOT NULL DEFAULT 0, holder TEXT, expires REAL NOT NULL DEFAULT 0,
    state TEXT, attempt_step TEXT, attempts INTEGER NOT NULL DEFAULT 0, failure TEXT,
    result TEXT, completed_at REAL,
    PRIMARY KEY (cadence, run_id));
CREATE TABLE IF NOT EXISTS cadence_steps (
    cadence TEXT NOT NULL, run_id TEXT NOT NULL, step TEXT NOT NULL, step_index INTEGER NOT NULL,
    PRIMARY KEY (cadence, run_id, step));
"""
# Files written before completion records existed lack two columns; added on first open.
_ADDED_COLUMNS = {"result": "TEXT", "completed_at": "REAL"}
_DONE_INDEX = (
    "CREATE INDEX IF NOT EXISTS cadence_runs_completed ON cadence_runs (cadence, completed_at) "
    "WHERE completed_at IS NOT NULL"
)
_PURGE_BATCH = 100
"""Expired completion records deleted per completed run, so the table never needs a cron job."""


def open_database(
    path: str | Path,
    *,
    busy_timeout: float,
    synchronous: str | None = None,
    setup: Callable[[sqlite3.Connection], Any] | None = None,
) -> sqlite3.Connection:
    """A connection as cadence's SQLite stores open one: autocommit, WAL, a busy timeout.

    ``synchronous`` sets that pragma when given; ``setup(conn)`` then creates the caller's
    tables. Switching to WAL (and creating tables while another process does) can meet a lock
    that the busy handler does not wait for, so both are retried until ``busy_timeout``.
    """
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    deadline = time.monotonic() + busy_timeout

    def retried(fn: Callable[[], Any]) -> None:
        while True:
            try:
                fn()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    retried(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    if synchronous is not None:
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    if setup is not None:
        retried(lambda: setup(conn))
    return conn


class SQLiteCheckpointStore:
    """Checkpoints in an SQLite file; any number of processes may share the file.

    Args:
        path: The database file (created if missing).
        busy_timeout: Seconds a writer waits for the lock before failing.
        synchronous: ``"FULL"`` (survives power loss) or ``"NORMAL"`` (survives process crashes,
            faster).
        lease_ttl: Default lease duration in seconds for sessions on this store.
        lease_wait: Seconds a session waits for a live holder's lease before ``LEASE_HELD``
            (``None``: one ``lease_ttl``; ``0``: never waits).
        retention: Seconds a completed run's record is kept (``None``: until purged). Expired
            records are ignored at once and deleted a few at a time as later runs complete, or
            all together by :meth:`purge_completed`.
        codec: Score codec for sessions on this store (e.g. ``ScoreCodec(types=[...])``).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 60.0,
        synchronous: str = "FULL",
        lease_ttl: float = 30.0,
        lease_wait: float | None = None,
        retention: float | None = DEFAULT_RETENTION,
        codec: ScoreCodec | None = None,
    ) -> None:
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(
                f"synchronous must be 'FULL', 'NORMAL' or 'EXTRA', got {synchronous!r}"
            )
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous.upper()
        self.lease_ttl = check_lease_ttl(lease_ttl)
        self.lease_wait = lease_wait
        self.retention = check_retention(retention)
        self.codec = codec
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="cadence-sqlite"
        )

    def __repr__(self) -> str:
        return f"SQLiteCheckpointStore({str(self.path)!r})"

    # -- plumbing -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_database(
                self.path,
                busy_timeout=self.busy_timeout,
                synchronous=self.synchronous,
                setup=self._setup,
            )
        return self._conn

    @staticmethod
    def _setup(conn: sqlite3.Connection) -> None:
        conn.executescript(_SCHEMA)
        have = {row[1] for row in conn.execute("PRAGMA table_info(cadence_runs)")}
        for column, kind in _ADDED_COLUMNS.items():
            if column not in have:
                try:
                    conn.execute(f"ALTER TABLE cadence_runs ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise
        conn.execute(_DONE_INDEX)

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            return fn(self._connect())

        if self._executor is None:  # used again after close(): reopen, like the other stores
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cadence-sqlite")
        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def txn(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._call(txn)

    @staticmethod
    def _ensure(conn: sqlite3.Connection, cadence_name: str, run_id: str) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO cadence_runs (cadence, run_id) VALUES (?, ?)",
            (cadence_name, run_id),
        )

    @staticmethod
    def _fence(conn: sqlite3.Connection, cadence_name: str, run_id: str, token: int | None) -> None:
        if token is None:
            return
        row = conn.execute(
            "SELECT token, holder FROM cadence_runs WHERE cadence = ? AND run_id = ?",
            (cadence_name, run_id),
        ).fetchone()
        if row is None or row[0] != token or row[1] is None:
            raise lease_lost(cadence_name, run_id, token)

    def close(self) -> None:
        """Close the connection (and its wait records') and stop the worker thread."""
        waits = detach_waits(self)
        if waits is not None:
            waits.close()

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        executor, self._executor = self._executor, None
        if executor is None:  # already closed: closing twice is a no-op
            return
        executor.submit(shut).result()
        executor.shutdown(wait=True)

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop."""
        await asyncio.to_thread(self.close)

    # -- the protocol ---------------------------------------------------------------------------

    async def save_checkpoint(
        self,
        cadence_name: str,
        run_id: str,
        step_name: str,
        step_index: int,
        score_state: dict[str, Any],
        *,
        token: int | None = None,
    ) -> None:
        """Record a completed step and the score after it, atomically (fenced by ``token``)."""
        text = dump_state(score_state)

        def write(conn: sqlite3.Connection) -> None:
            self._fence(conn, cadence_name, run_id, token)
            self._ensure(conn, cadence_name, run_id)
            # Progress means the run is unfinished: an (expired) earlier completion goes.
            conn.execute(
                "UPDATE cadence_runs SET state = ?, attempt_step = '', attempts = 1, "
                "result = NULL, completed_at = NULL WHERE cadence = ? AND run_id = ?",
                (text, cadence_name, run_id),
            )
            conn.execute(
                "INSERT OR REPLACE INTO cadence_steps VALUES (?, ?, ?, ?)",
                (cadence_name, run_id, step_name, step_index),
            )

        await self._write(write)

    async def get_completed_measures(self, cadence_name: str, run_id: str) -> set[str]:
        """Names of the completed steps."""
        rows = await self._call(
            lambda c: c.execute(
                "SELECT step FROM cadence_steps WHERE cadence = ? AND run_id = ?",
                (cadence_name, run_id),
            ).fetchall()
        )
        return {row[0] for row in rows}

    async def get_last_score_state(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """The latest saved score state, or ``None``; ``CheckpointError`` if it is corrupt."""
        row = await self._call(
            lambda c: c.execute(
                "SELECT state FROM cadence_runs WHERE cadence = ? AND run_id = ?",
                (cadence_name, run_id),
            ).fetchone()
        )
        return load_state(row[0]) if row is not None and row[0] is not None else None

    async def clear_checkpoints(
        self, cadence_name: str, run_id: str, *, token: int | None = None
    ) -> None:
        """Forget steps, state, attempts, failure and completion; the lease row and token stay."""

        def write(conn: sqlite3.Connection) -> None:
            self._fence(conn, cadence_name, run_id, token)
            self._forget_progress(conn, cadence_name, run_id)
            conn.execute(
                "UPDATE cadence_runs SET result = NULL, completed_at = NULL "
                "WHERE cadence = ? AND run_id = ?",
                (cadence_name, run_id),
            )

        await self._write(write)

    @staticmethod
    def _forget_progress(conn: sqlite3.Connection, cadence_name: str, run_id: str) -> None:
        conn.execute(
            "DELETE FROM cadence_steps WHERE cadence = ? AND run_id = ?", (cadence_name, run_id)
        )
        conn.execute(
            "UPDATE cadence_runs SET state = NULL, attempt_step = NULL, attempts = 0, failure = NULL "
            "WHERE cadence = ? AND run_id = ?",
            (cadence_name, run_id),
        )

    async def acquire_lease(
        self, cadence_name: str, run_id: str, *, holder: str, ttl: float, replace: str | None = None
    ) -> int:
        """Take the lease unless a different live holder (other than ``replace``) has it."""

        def write(conn: sqlite3.Connection) -> int:
            self._ensure(conn, cadence_name, run_id)
            token, current, expires = conn.execute(
                "SELECT token, holder, expires FROM cadence_runs WHERE cadence = ? AND run_id = ?",
                (cadence_name, run_id),
            ).fetchone()
            # SQLite keeps whatever type was written: a hand-edited row must not crash us.
            if type(token) is not int:
                raise corrupt_record(cadence_name, run_id, "the lease token", token)
            if type(expires) not in (int, float):
                raise corrupt_record(cadence_name, run_id, "the lease expiry", expires)
            if current is not None and type(current) is not str:
                raise corrupt_record(cadence_name, run_id, "the lease holder", current)
            now = time.time()
            if current not in (None, holder, replace) and expires > now:
                raise lease_held(cadence_name, run_id, current, expires - now)
            conn.execute(
                "UPDATE cadence_runs SET token = ?, holder = ?, expires = ? WHERE cadence = ? AND run_id = ?",
                (token + 1, holder, now + ttl, cadence_name, run_id),
            )
            return int(token) + 1

        return await self._write(write)

    async def renew_lease(self, cadence_name: str, run_id: str, *, token: int, ttl: float) -> None:
        """Extend a lease that is still current."""

        def write(conn: sqlite3.Connection) -> None:
            self._fence(conn, cadence_name, run_id, token)
            conn.execute(
                "UPDATE cadence_runs SET expires = ? WHERE cadence = ? AND run_id = ?",
                (time.time() + ttl, cadence_name, run_id),
            )

        await self._write(write)

    async def release_lease(self, cadence_name: str, run_id: str, *, token: int) -> None:
        """Release the lease if ``token`` is current."""
        await self._write(
            lambda c: c.execute(
                "UPDATE cadence_runs SET holder = NULL WHERE cadence = ? AND run_id = ? AND token = ?",
                (cadence_name, run_id, token),
            )
        )

    async def begin_attempt(
        self, cadence_name: str, run_id: str, step_name: str, *, token: int | None = None
    ) -> int:
        """Count an attempt at ``step_name``."""

        def write(conn: sqlite3.Connection) -> int:
            self._fence(conn, cadence_name, run_id, token)
            self._ensure(conn, cadence_name, run_id)
            conn.execute(
                "UPDATE cadence_runs SET attempts = CASE WHEN attempt_step IS ? OR attempt_step = '' "
                "THEN attempts + 1 ELSE 1 END, "
                "attempt_step = ? WHERE cadence = ? AND run_id = ?",
                (step_name, step_name, cadence_name, run_id),
            )
            row = conn.execute(
                "SELECT attempts FROM cadence_runs WHERE cadence = ? AND run_id = ?",
                (cadence_name, run_id),
            ).fetchone()
            return int(row[0])

        return await self._write(write)

    async def end_attempt(
        self, cadence_name: str, run_id: str, *, token: int | None = None
    ) -> None:
        """Take back the attempt counted last (the run parked at a wait: no failure)."""

        def write(conn: sqlite3.Connection) -> None:
            self._fence(conn, cadence_name, run_id, token)
            conn.execute(
                "UPDATE cadence_runs SET attempts = MAX(attempts - 1, 0) "
                "WHERE cadence = ? AND run_id = ?",
                (cadence_name, run_id),
            )

        await self._write(write)

    async def record_failure(
        self, cadence_name: str, run_id: str, cause: str, *, token: int | None = None
    ) -> None:
        """Remember the cause of the latest failure."""

        def write(conn: sqlite3.Connection) -> None:
            self._fence(conn, cadence_name, run_id, token)
            self._ensure(conn, cadence_name, run_id)
            conn.execute(
                "UPDATE cadence_runs SET failure = ? WHERE cadence = ? AND run_id = ?",
                (cause, cadence_name, run_id),
            )

        await self._write(write)

    async def get_failure(self, cadence_name: str, run_id: str) -> str | None:
        """The latest failure cause."""
        row = await self._call(
            lambda c: c.execute(
                "SELECT failure FROM cadence_runs WHERE cadence = ? AND run_id = ?",
                (cadence_name, run_id),
            ).fetchone()
        )
        return None if row is None or row[0] is None else str(row[0])

    async def complete_run(
        self,
        cadence_name: str,
        run_id: str,
        score_state: dict[str, Any],
        *,
        token: int | None = None,
    ) -> None:
        """Replace the run's checkpoints by its completion record and release ``token``."""
        text = dump_state(score_state)

        def write(conn: sqlite3.Connection) -> None:
            self._fence(conn, cadence_name, run_id, token)
            self._ensure(conn, cadence_name, run_id)
            now = time.time()
            self._forget_progress(conn, cadence_name, run_id)
            conn.execute(
                "UPDATE cadence_runs SET result = ?, completed_at = ?, "
                "holder = CASE WHEN ? THEN NULL ELSE holder END WHERE cadence = ? AND run_id = ?",
                (text, now, token is not None, cadence_name, run_id),
            )
            if self.retention is not None:
                conn.execute(
                    "DELETE FROM cadence_runs WHERE rowid IN (SELECT rowid FROM cadence_runs "
                    "WHERE cadence = ? AND completed_at <= ? AND holder IS NULL LIMIT ?)",
                    (cadence_name, now - self.retention, _PURGE_BATCH),
                )

        await self._write(write)

    async def get_completion(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """The completed run's final state, unless it is older than ``retention``."""
        row = await self._call(
            lambda c: c.execute(
                "SELECT result, completed_at FROM cadence_runs WHERE cadence = ? AND run_id = ?",
                (cadence_name, run_id),
            ).fetchone()
        )
        if row is None or row[0] is None:
            return None
        result, completed_at = row
        if type(completed_at) not in (int, float):
            raise corrupt_record(cadence_name, run_id, "the completion time", completed_at)
        if self.retention is not None and completed_at + self.retention <= time.time():
            return None
        return load_state(result)

    async def purge_completed(
        self, *, older_than: float | None = None, cadence_name: str | None = None
    ) -> int:
        """Delete completion records older than ``older_than`` (default: ``retention``) seconds."""
        age = self.retention if older_than is None else older_than
        if age is None:
            return 0
        sql = "DELETE FROM cadence_runs WHERE completed_at <= ? AND holder IS NULL"
        args: tuple[Any, ...] = (time.time() - age,)
        if cadence_name is not None:
            sql, args = sql + " AND cadence = ?", (*args, cadence_name)
        return await self._write(lambda c: c.execute(sql, args).rowcount)
