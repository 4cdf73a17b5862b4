"""Wait records in the PostgreSQL database of a ``PostgresCheckpointStore`` (``cadence_waits``).

A resolution locks the record's row (``SELECT ... FOR UPDATE``) inside one transaction; a
record created concurrently by two workers is inserted ``ON CONFLICT DO NOTHING`` and the loser
decides again on the winner's row. One connection per store and event loop, like the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from cadence.checkpoint._waits._record import (
    Decide,
    WaitRecord,
    record_from_json,
    record_to_json,
)
from cadence.checkpoint._waits._sql import SQLWaitStore

__all__ = ["PostgresWaitStore"]

T = TypeVar("T")

_SCHEMA = [
    "SELECT pg_advisory_xact_lock(7305186703)",  # concurrent CREATE IF NOT EXISTS can collide
    """CREATE TABLE IF NOT EXISTS cadence_waits (
        cadence TEXT NOT NULL, run_id TEXT NOT NULL, key TEXT NOT NULL,
        status TEXT NOT NULL, deadline DOUBLE PRECISION, created DOUBLE PRECISION NOT NULL,
        record TEXT NOT NULL, PRIMARY KEY (cadence, run_id, key))""",
    "CREATE INDEX IF NOT EXISTS cadence_waits_pending ON cadence_waits (cadence, status, deadline)",
]
_PRESENT = "SELECT to_regclass('cadence_waits_pending') IS NOT NULL"
"""Whether the table and its index exist: then no DDL runs (see ``postgres.connect``)."""


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "waits on PostgreSQL need psycopg 3: pip install 'cadence-orchestration[postgres]'"
        ) from exc
    return psycopg


class PostgresWaitStore(SQLWaitStore):
    """Wait records in PostgreSQL.

    Args:
        dsn: The checkpoint store's connection string.
    """

    _placeholder = "%s"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return "PostgresWaitStore(<dsn>)"  # the DSN may hold a password

    async def _txn(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            if self._conn is not None and not self._conn.closed:
                self._conn.pgconn.finish()  # the old loop's connection, closed without a loop
            self._lock, self._conn, self._loop = asyncio.Lock(), None, loop
        from cadence.checkpoint.postgres import connect, run_on

        psycopg = _import_psycopg()

        async def connection() -> Any:
            if self._conn is None or self._conn.closed:
                self._conn = await connect(psycopg, self.dsn, _SCHEMA, _PRESENT)
            return self._conn

        async with self._lock:
            return await run_on(psycopg, connection, fn)

    async def aclose(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _transact(
        self, cadence_name: str, run_id: str, key: str, decide: Decide
    ) -> WaitRecord | None:
        async def txn(conn: Any) -> tuple[bool, WaitRecord | None]:
            cur = await conn.execute(
                "SELECT record FROM cadence_waits WHERE cadence = %s AND run_id = %s AND key = %s "
                "FOR UPDATE",
                (cadence_name, run_id, key),
            )
            row = await cur.fetchone()
            current = None if row is None else record_from_json(row[0], cadence_name, run_id)
            new = decide(current)
            if new is None or new is current:
                return True, new
            values = (new.status, new.deadline, new.created_at, record_to_json(new))
            if current is None:
                cur = await conn.execute(
                    "INSERT INTO cadence_waits VALUES (%s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (cadence_name, run_id, key, *values),
                )
                return cur.rowcount == 1, new  # 0: created concurrently, decide again
            await conn.execute(
                "UPDATE cadence_waits SET status = %s, deadline = %s, created = %s, record = %s "
                "WHERE cadence = %s AND run_id = %s AND key = %s",
                (*values, cadence_name, run_id, key),
            )
            return True, new

        while True:
            done, record = await self._txn(txn)
            if done:
                return record

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async def read(conn: Any) -> list[tuple[Any, ...]]:
            cur = await conn.execute(sql, args)
            return list(await cur.fetchall())

        return await self._txn(read)

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        async def write(conn: Any) -> None:
            await conn.execute(sql, args)

        await self._txn(write)
