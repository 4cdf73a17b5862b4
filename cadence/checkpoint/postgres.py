"""``PostgresCheckpointStore``: checkpoints in PostgreSQL via psycopg 3 (async).

Each operation is one transaction; read-then-write operations lock the run's row
(``SELECT ... FOR UPDATE``), so concurrent workers serialise on the run, not on the table.
Lease expiry uses the server's clock. Needs the ``postgres`` extra, imported on first use.

One store holds one connection, used by one operation at a time; create a store per process
(and per event loop). Tables ``cadence_runs`` and ``cadence_steps`` are created on first use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from cadence.checkpoint._protocol import (
    DEFAULT_RETENTION,
    check_lease_ttl,
    check_retention,
    dump_state,
    lease_held,
    lease_lost,
    load_state,
)
from cadence.checkpoint._wait_backends import detach_waits
from cadence.checkpoint.codec import ScoreCodec

__all__ = ["PostgresCheckpointStore", "connect", "run_on"]

T = TypeVar("T")

logger = logging.getLogger("cadence.checkpoint")

_SCHEMA = [
    "SELECT pg_advisory_xact_lock(7305186702)",  # concurrent CREATE IF NOT EXISTS can collide
    """CREATE TABLE IF NOT EXISTS cadence_runs (
        cadence TEXT NOT NULL, run_id TEXT NOT NULL,
        token BIGINT NOT NULL DEFAULT 0, holder TEXT, expires DOUBLE PRECISION NOT NULL DEFAULT 0,
        state TEXT, attempt_step TEXT, attempts INTEGER NOT NULL DEFAULT 0, failure TEXT,
        PRIMARY KEY (cadence, run_id))""",
    """CREATE TABLE IF NOT EXISTS cadence_steps (
        cadence TEXT NOT NULL, run_id TEXT NOT NULL, step TEXT NOT NULL, step_index INTEGER NOT NULL,
        PRIMARY KEY (cadence, run_id, step))""",
    # Completion records (tables created before they existed gain the columns here).
    "ALTER TABLE cadence_runs ADD COLUMN IF NOT EXISTS result TEXT",
    "ALTER TABLE cadence_runs ADD COLUMN IF NOT EXISTS completed_at DOUBLE PRECISION",
    """CREATE INDEX IF NOT EXISTS cadence_runs_completed ON cadence_runs (cadence, completed_at)
        WHERE completed_at IS NOT NULL""",
]
_PRESENT = """SELECT to_regclass('cadence_steps') IS NOT NULL
    AND to_regclass('cadence_runs_completed') IS NOT NULL
    AND (SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('cadence_runs')
         AND attname IN ('result', 'completed_at') AND NOT attisdropped) = 2"""
"""Whether the schema is complete: then no DDL runs (a role without CREATE may use the store)."""
_PURGE_BATCH = 100
"""Expired completion records deleted per completed run, so the table never needs a cron job."""
_NOW = "extract(epoch from clock_timestamp())::float8"
_KEY = "WHERE cadence = %s AND run_id = %s"


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "PostgresCheckpointStore needs psycopg 3: pip install 'cadence-orchestration[postgres]'"
        ) from exc
    return psycopg


async def connect(psycopg: Any, dsn: str, schema: Sequence[str], present: str) -> Any:
    """An autocommit connection to ``dsn``, with ``schema`` created unless ``present`` is true.

    ``present`` is a query of one boolean. Checking first matters: ``CREATE TABLE IF NOT
    EXISTS`` needs the CREATE privilege even when the table exists, and ``ALTER TABLE`` needs
    ownership, so an application role with only DML grants could not use tables a migration
    (or a first run as their owner) created.
    """
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    try:
        cur = await conn.execute(present)
        row = await cur.fetchone()
        if not (row and row[0]):
            async with conn.transaction():
                for statement in schema:
                    await conn.execute(statement)
    except BaseException:
        await conn.close()
        raise
    return conn


async def run_on(
    psycopg: Any,
    get_conn: Callable[[], Awaitable[Any]],
    fn: Callable[[Any], Awaitable[T]],
    *,
    single: bool = False,
) -> T:
    """Run ``fn`` in a transaction on ``get_conn()`` (``single``: as one autocommit statement).

    A connection found dead (the server restarted, a failover, an idle timeout of the server or
    of something in between) is reopened and ``fn`` run once more, instead of failing the
    operation -- often a step's checkpoint, after the step did its work. Every store operation
    is safe to repeat: writes are fenced by the lease token and state writes are idempotent.
    """
    for last in (False, True):
        conn = await get_conn()
        try:
            if single:  # one statement is atomic by itself: spare the BEGIN/COMMIT round trips
                return await fn(conn)
            async with conn.transaction():
                return await fn(conn)
        except psycopg.OperationalError:
            if last or not conn.closed:
                raise  # not a lost connection (a timeout, a cancelled query), or lost again
            logger.info("the PostgreSQL connection was lost; reconnecting once")
        except psycopg.errors.UndefinedTable:
            # Dropped while connected: the next operation's connection creates it again.
            await conn.close()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


class PostgresCheckpointStore:
    """Checkpoints, leases and attempt counts in PostgreSQL.

    Args:
        dsn: A libpq connection string or URL (``postgresql://user@host:5432/db``).
        lease_ttl: Default lease duration in seconds for sessions on this store.
        lease_wait: Seconds a session waits for a live holder's lease before ``LEASE_HELD``
            (``None``: one ``lease_ttl``; ``0``: never waits).
        retention: Seconds a completed run's record is kept (``None``: until purged). Expired
            records are ignored at once and deleted a few at a time as later runs complete, or
            all together by :meth:`purge_completed`.
        codec: Score codec for sessions on this store.
    """

    def __init__(
        self,
        dsn: str,
        *,
        lease_ttl: float = 30.0,
        lease_wait: float | None = None,
        retention: float | None = DEFAULT_RETENTION,
        codec: ScoreCodec | None = None,
    ) -> None:
        self.dsn = dsn
        self.lease_ttl = check_lease_ttl(lease_ttl)
        self.lease_wait = lease_wait
        self.retention = check_retention(retention)
        self.codec = codec
        self._conn: Any = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return "PostgresCheckpointStore(<dsn>)"  # the DSN may hold a password

    async def _txn(self, fn: Callable[[Any], Awaitable[T]], *, single: bool = False) -> T:
        """Run ``fn`` on the connection in a transaction (``single``: one autocommit statement)."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            # A connection belongs to one event loop: a new loop (asyncio.run, run_sync) gets
            # its own; the old loop's connection is closed at the libpq level (no loop needed).
            if self._conn is not None and not self._conn.closed:
                self._conn.pgconn.finish()
            self._lock, self._conn, self._loop = asyncio.Lock(), None, loop
        psycopg = _import_psycopg()

        async def connection() -> Any:
            if self._conn is None or self._conn.closed:
                self._conn = await connect(psycopg, self.dsn, _SCHEMA, _PRESENT)
            return self._conn

        async with self._lock:
            return await run_on(psycopg, connection, fn, single=single)

    async def aclose(self) -> None:
        """Close the connection (and its wait records')."""
        waits = detach_waits(self)
        if waits is not None:
            await waits.aclose()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @staticmethod
    async def _row(conn: Any, cadence_name: str, run_id: str, *, lock: bool = True) -> Any:
        await conn.execute(
            "INSERT INTO cadence_runs (cadence, run_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (cadence_name, run_id),
        )
        cur = await conn.execute(
            f"SELECT token, holder, expires, {_NOW} FROM cadence_runs {_KEY}"
            + (" FOR UPDATE" if lock else ""),
            (cadence_name, run_id),
        )
        return await cur.fetchone()

    async def _fenced(self, conn: Any, cadence_name: str, run_id: str, token: int | None) -> None:
        row = await self._row(conn, cadence_name, run_id)
        if token is not None and (row[0] != token or row[1] is None):
            raise lease_lost(cadence_name, run_id, token)

    async def _fetch(self, sql: str, cadence_name: str, run_id: str) -> list[Any]:
        async def read(conn: Any) -> list[Any]:
            cur = await conn.execute(sql, (cadence_name, run_id))
            return list(await cur.fetchall())

        return await self._txn(read, single=True)

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
        if token is not None:
            await self._fenced_save(cadence_name, run_id, step_name, step_index, text, token)
            return

        async def write(conn: Any) -> None:
            await self._fenced(conn, cadence_name, run_id, token)
            await conn.execute(
                "UPDATE cadence_runs SET state = %s, attempt_step = '', attempts = 1, "
                f"result = NULL, completed_at = NULL {_KEY}",
                (text, cadence_name, run_id),
            )
            await conn.execute(
                "INSERT INTO cadence_steps VALUES (%s, %s, %s, %s) ON CONFLICT (cadence, run_id, step) "
                "DO UPDATE SET step_index = EXCLUDED.step_index",
                (cadence_name, run_id, step_name, step_index),
            )

        await self._txn(write)

    async def _fenced_save(
        self, cadence_name: str, run_id: str, step_name: str, step_index: int, text: str, token: int
    ) -> None:
        # The hot path of a session: one statement, so one round trip. The step row is written
        # only if the fenced UPDATE matched, and both happen atomically or not at all.
        async def write(conn: Any) -> None:
            cur = await conn.execute(
                "WITH run AS (UPDATE cadence_runs SET state = %s, attempt_step = '', attempts = 1, "
                f"result = NULL, completed_at = NULL {_KEY} AND token = %s AND holder IS NOT NULL RETURNING cadence, run_id) "
                "INSERT INTO cadence_steps (cadence, run_id, step, step_index) "
                "SELECT cadence, run_id, %s, %s FROM run "
                "ON CONFLICT (cadence, run_id, step) DO UPDATE SET step_index = EXCLUDED.step_index "
                "RETURNING 1",
                (text, cadence_name, run_id, token, step_name, step_index),
            )
            if await cur.fetchone() is None:
                raise lease_lost(cadence_name, run_id, token)

        await self._txn(write, single=True)

    async def get_completed_measures(self, cadence_name: str, run_id: str) -> set[str]:
        """Names of the completed steps."""
        rows = await self._fetch(f"SELECT step FROM cadence_steps {_KEY}", cadence_name, run_id)
        return {row[0] for row in rows}

    async def get_last_score_state(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """The latest saved score state, or ``None``."""
        rows = await self._fetch(f"SELECT state FROM cadence_runs {_KEY}", cadence_name, run_id)
        return load_state(rows[0][0]) if rows and rows[0][0] is not None else None

    async def clear_checkpoints(
        self, cadence_name: str, run_id: str, *, token: int | None = None
    ) -> None:
        """Forget steps, state, attempts, failure and completion; the lease row and token stay."""

        async def write(conn: Any) -> None:
            await self._fenced(conn, cadence_name, run_id, token)
            await conn.execute(f"DELETE FROM cadence_steps {_KEY}", (cadence_name, run_id))
            await conn.execute(
                "UPDATE cadence_runs SET state = NULL, attempt_step = NULL, attempts = 0, "
                f"failure = NULL, result = NULL, completed_at = NULL {_KEY}",
                (cadence_name, run_id),
            )

        await self._txn(write)

    async def acquire_lease(
        self, cadence_name: str, run_id: str, *, holder: str, ttl: float, replace: str | None = None
    ) -> int:
        """Take the lease unless a different live holder (other than ``replace``) has it."""

        async def write(conn: Any) -> int:
            token, current, expires, now = await self._row(conn, cadence_name, run_id)
            if current not in (None, holder, replace) and expires > now:
                raise lease_held(cadence_name, run_id, current, float(expires - now))
            await conn.execute(
                f"UPDATE cadence_runs SET token = token + 1, holder = %s, expires = {_NOW} + %s {_KEY}",
                (holder, ttl, cadence_name, run_id),
            )
            return int(token) + 1

        return await self._txn(write)

    async def renew_lease(self, cadence_name: str, run_id: str, *, token: int, ttl: float) -> None:
        """Extend a lease that is still current."""

        async def write(conn: Any) -> None:
            cur = await conn.execute(
                f"UPDATE cadence_runs SET expires = {_NOW} + %s {_KEY} AND token = %s AND holder IS NOT NULL",
                (ttl, cadence_name, run_id, token),
            )
            if cur.rowcount == 0:
                raise lease_lost(cadence_name, run_id, token)

        await self._txn(write, single=True)

    async def release_lease(self, cadence_name: str, run_id: str, *, token: int) -> None:
        """Release the lease if ``token`` is current."""

        async def write(conn: Any) -> None:
            await conn.execute(
                f"UPDATE cadence_runs SET holder = NULL {_KEY} AND token = %s",
                (cadence_name, run_id, token),
            )

        await self._txn(write, single=True)

    async def begin_attempt(
        self, cadence_name: str, run_id: str, step_name: str, *, token: int | None = None
    ) -> int:
        """Count an attempt at ``step_name``."""

        async def write(conn: Any) -> int:
            await self._fenced(conn, cadence_name, run_id, token)
            cur = await conn.execute(
                "UPDATE cadence_runs SET attempts = CASE WHEN attempt_step IS NOT DISTINCT FROM %s OR attempt_step = '' "
                f"THEN attempts + 1 ELSE 1 END, attempt_step = %s {_KEY} RETURNING attempts",
                (step_name, step_name, cadence_name, run_id),
            )
            row = await cur.fetchone()
            return int(row[0])

        return await self._txn(write)

    async def end_attempt(
        self, cadence_name: str, run_id: str, *, token: int | None = None
    ) -> None:
        """Take back the attempt counted last (the run parked at a wait: no failure)."""

        async def write(conn: Any) -> None:
            await self._fenced(conn, cadence_name, run_id, token)
            await conn.execute(
                f"UPDATE cadence_runs SET attempts = GREATEST(attempts - 1, 0) {_KEY}",
                (cadence_name, run_id),
            )

        await self._txn(write)

    async def record_failure(
        self, cadence_name: str, run_id: str, cause: str, *, token: int | None = None
    ) -> None:
        """Remember the cause of the latest failure."""

        async def write(conn: Any) -> None:
            await self._fenced(conn, cadence_name, run_id, token)
            await conn.execute(
                f"UPDATE cadence_runs SET failure = %s {_KEY}", (cause, cadence_name, run_id)
            )

        await self._txn(write)

    async def get_failure(self, cadence_name: str, run_id: str) -> str | None:
        """The latest failure cause."""
        rows = await self._fetch(f"SELECT failure FROM cadence_runs {_KEY}", cadence_name, run_id)
        return rows[0][0] if rows else None

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

        async def write(conn: Any) -> None:
            await self._fenced(conn, cadence_name, run_id, token)
            await conn.execute(f"DELETE FROM cadence_steps {_KEY}", (cadence_name, run_id))
            await conn.execute(
                "UPDATE cadence_runs SET state = NULL, attempt_step = NULL, attempts = 0, "
                f"failure = NULL, result = %s, completed_at = {_NOW}, "
                f"holder = CASE WHEN %s THEN NULL ELSE holder END {_KEY}",
                (text, token is not None, cadence_name, run_id),
            )
            if self.retention is not None:
                await conn.execute(
                    "DELETE FROM cadence_runs WHERE ctid IN (SELECT ctid FROM cadence_runs "
                    f"WHERE cadence = %s AND completed_at <= {_NOW} - %s AND holder IS NULL "
                    "LIMIT %s FOR UPDATE SKIP LOCKED)",
                    (cadence_name, self.retention, _PURGE_BATCH),
                )

        await self._txn(write)

    async def get_completion(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """The completed run's final state, unless it is older than ``retention``."""
        fresh = "" if self.retention is None else f" AND completed_at > {_NOW} - %s"

        async def read(conn: Any) -> Any:
            args: tuple[Any, ...] = (cadence_name, run_id)
            if self.retention is not None:
                args = (*args, self.retention)
            cur = await conn.execute(
                f"SELECT result FROM cadence_runs {_KEY} AND result IS NOT NULL{fresh}", args
            )
            return await cur.fetchone()

        row = await self._txn(read, single=True)
        return None if row is None else load_state(row[0])

    async def purge_completed(
        self, *, older_than: float | None = None, cadence_name: str | None = None
    ) -> int:
        """Delete completion records older than ``older_than`` (default: ``retention``) seconds."""
        age = self.retention if older_than is None else older_than
        if age is None:
            return 0
        sql = f"DELETE FROM cadence_runs WHERE completed_at <= {_NOW} - %s AND holder IS NULL"
        args: tuple[Any, ...] = (float(age),)
        if cadence_name is not None:
            sql, args = sql + " AND cadence = %s", (*args, cadence_name)

        async def write(conn: Any) -> int:
            cur = await conn.execute(sql, args)
            return int(cur.rowcount)

        return await self._txn(write, single=True)
