"""What the SQLite and PostgreSQL wait backends share: the reads and the delete on ``cadence_waits``.

Both keep the same table; they differ in the driver (its placeholder, how a statement runs)
and in how ``_transact`` locks a row, which stays in each backend.
"""

from __future__ import annotations

from typing import Any

from cadence.checkpoint._waits._record import (
    WAITING,
    WaitRecord,
    WaitStoreBase,
    record_from_json,
)

__all__ = ["SQLWaitStore"]


class SQLWaitStore(WaitStoreBase):
    """Queries on the ``cadence_waits`` table; a backend supplies ``_fetch`` and ``_execute``."""

    _placeholder = "?"
    """The driver's parameter marker (``?`` for sqlite3, ``%s`` for psycopg)."""

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Run one query in its own transaction; return every row."""
        raise NotImplementedError

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        """Run one statement in its own transaction."""
        raise NotImplementedError

    async def _select(
        self, conditions: list[str], args: list[Any], cadence_name: str
    ) -> list[WaitRecord]:
        p = self._placeholder
        where = " AND ".join(c.replace("?", p) for c in conditions)
        rows = await self._fetch(
            f"SELECT run_id, record FROM cadence_waits WHERE {where} ORDER BY created", tuple(args)
        )
        return [record_from_json(text, cadence_name, rid) for rid, text in rows]

    async def get_waits(self, cadence_name: str, run_id: str) -> list[WaitRecord]:
        """Every record of the run, oldest first."""
        return await self._select(
            ["cadence = ?", "run_id = ?"], [cadence_name, run_id], cadence_name
        )

    async def list_waits(
        self, cadence_name: str, *, run_id: str | None = None, due_before: float | None = None
    ) -> list[WaitRecord]:
        """Waiting records of the cadence (of one run, or due by ``due_before``), oldest first."""
        conditions = ["cadence = ?", "status = ?"]
        args: list[Any] = [cadence_name, WAITING]
        if run_id is not None:
            conditions.append("run_id = ?")
            args.append(run_id)
        if due_before is not None:
            conditions += ["deadline IS NOT NULL", "deadline <= ?"]
            args.append(due_before)
        return await self._select(conditions, args, cadence_name)

    async def delete_waits(self, cadence_name: str, run_id: str) -> None:
        """Forget the run's records."""
        p = self._placeholder
        await self._execute(
            f"DELETE FROM cadence_waits WHERE cadence = {p} AND run_id = {p}",
            (cadence_name, run_id),
        )
