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
    WAITING,
    Decide,
    WaitRecord,
    WaitStoreBase,
    record_from_json,
    record_to_json,
)

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


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "waits on PostgreSQL need psycopg 3: pip install 'cadence-orchestration[postgres]'"
        ) from exc
    return psycopg


class PostgresWaitStore(WaitStoreBase):
    """Wait records in PostgreSQL.

    Args:
        dsn: The checkpoint store's connection string.
    """

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
        async with self._lock:
            if self._conn is None or self._conn.closed:
                conn = await _import_psycopg().AsyncConnection.connect(self.dsn, autocommit=True)
                async with conn.transaction():
                    for statement in _SCHEMA:
                        await conn.execute(statement)
                self._conn = conn
            async with self._conn.transaction():
                return await fn(self._conn)

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

    async def _select(self, where: str, args: tuple[Any, ...], cadence_name: str) -> list[Any]:
        async def read(conn: Any) -> list[Any]:
            cur = await conn.execute(
                f"SELECT run_id, record FROM cadence_waits WHERE {where} ORDER BY created", args
            )
            return list(await cur.fetchall())

        rows = await self._txn(read)
        return [record_from_json(text, cadence_name, rid) for rid, text in rows]

    async def get_waits(self, cadence_name: str, run_id: str) -> list[WaitRecord]:
        """Every record of the run, oldest first."""
        return await self._select(
            "cadence = %s AND run_id = %s", (cadence_name, run_id), cadence_name
        )

    async def list_waits(
        self, cadence_name: str, *, run_id: str | None = None, due_before: float | None = None
    ) -> list[WaitRecord]:
        """Waiting records of the cadence (of one run, or due by ``due_before``), oldest first."""
        args: list[Any]
        where, args = "cadence = %s AND status = %s", [cadence_name, WAITING]
        if run_id is not None:
            where += " AND run_id = %s"
            args.append(run_id)
        if due_before is not None:
            where += " AND deadline IS NOT NULL AND deadline <= %s"
            args.append(due_before)
        return await self._select(where, tuple(args), cadence_name)

    async def delete_waits(self, cadence_name: str, run_id: str) -> None:
        """Forget the run's records."""

        async def delete(conn: Any) -> None:
            await conn.execute(
                "DELETE FROM cadence_waits WHERE cadence = %s AND run_id = %s",
                (cadence_name, run_id),
            )

        await self._txn(delete)
