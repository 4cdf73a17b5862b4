"""Every store's wait records pass the wait conformance suite; a run parked at once keeps its input."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cadence import Approval, Cadence, Decision, RunSuspended, Score, wait_for
from cadence.checkpoint import (
    InMemoryCheckpointStore,
    PostgresCheckpointStore,
    RedisCheckpointStore,
    SQLiteCheckpointStore,
)
from cadence.testing import check_wait_store


async def test_in_memory_waits_conform() -> None:
    """The reference backend passes its own suite (one store: memory is not shared)."""
    shared = InMemoryCheckpointStore()
    await check_wait_store(lambda: shared)


async def test_sqlite_waits_conform(tmp_path: Path) -> None:
    """Wait records in the SQLite file pass the suite."""
    await check_wait_store(lambda: SQLiteCheckpointStore(tmp_path / "cp.db"))


async def test_redis_waits_conform(redis_url: str) -> None:
    """Wait records in a real redis-server pass the suite."""
    await check_wait_store(lambda: RedisCheckpointStore(redis_url))


async def test_postgres_waits_conform(postgres_dsn: str) -> None:
    """Wait records in a real PostgreSQL pass the suite."""
    await check_wait_store(lambda: PostgresCheckpointStore(postgres_dsn))


@dataclass
class _Order(Score):
    order_id: str = ""
    notes: list[str] = field(default_factory=list)
    decision: Decision | None = None


async def _note_then_wait(order: _Order) -> None:
    order.notes.append("drafted")  # before the wait: the resume runs the note again from its start
    decision = await wait_for(Approval(payload={"order": order.order_id}), key="first")
    order.decision = decision


def _flows(store: Any) -> list[Cadence[_Order]]:
    return [
        Cadence("park_first", _Order())
        .wait("first", Approval(payload=lambda o: {"order": o.order_id}), into="decision")
        .then("done", lambda o: o.notes.append("done"))
        .with_checkpoint(store),
        Cadence("park_in_first_note", _Order())
        .then("draft", _note_then_wait)
        .then("done", lambda o: o.notes.append("done"))
        .with_checkpoint(store),
    ]


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Any]:
    """A factory of stores sharing one backend (memory: one object)."""
    if request.param == "memory":
        shared = InMemoryCheckpointStore()
        return lambda: shared
    if request.param == "sqlite":
        return lambda: SQLiteCheckpointStore(tmp_path / "cp.db")
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        return lambda: RedisCheckpointStore(url)
    dsn = request.getfixturevalue("postgres_dsn")
    return lambda: PostgresCheckpointStore(dsn)


async def test_a_run_parked_before_any_checkpoint_keeps_its_input(
    store_factory: Callable[[], Any],
) -> None:
    """Parking at the first step (a .wait or a note's wait_for) keeps the input score for resume."""
    first, second = store_factory(), store_factory()
    try:
        for parked, resumed in zip(_flows(first), _flows(second), strict=True):
            run_id = uuid.uuid4().hex
            with pytest.raises(RunSuspended):
                await parked.run(_Order(order_id="A-7"), run_id=run_id)
            final = await resumed.resume(run_id, True)  # another store object, the default score
            assert final.order_id == "A-7", parked.name
            assert final.decision is not None and final.decision.approved, parked.name
            expected = ["drafted", "done"] if parked.name == "park_in_first_note" else ["done"]
            assert final.notes == expected, parked.name
    finally:
        for store in {id(first): first, id(second): second}.values():
            closing = getattr(store, "aclose", None) or getattr(store, "close", None)
            if closing is not None:
                result = closing()
                if inspect.isawaitable(result):
                    await result


async def _three_approvals(order: _Order) -> None:
    for call in ("c1", "c2", "c3"):
        if call not in order.notes:
            await wait_for(Approval(payload={"call": call}), key=f"tool:{call}")
            order.notes.append(call)


async def test_parking_is_not_a_failed_attempt(store_factory: Callable[[], Any]) -> None:
    """max_attempts counts crashed or failed starts, not parks: approvals never exhaust it."""
    store = store_factory()
    try:
        flows = [
            Cadence("one_wait", _Order())
            .then("check", lambda o: o.notes.append("check"))
            .wait("manager", Approval(payload={"amount": 5}), into="decision")
            .then("pay", lambda o: o.notes.append("pay"))
            .with_checkpoint(store, max_attempts=1),
            Cadence("three_waits", _Order())
            .then("prepare", lambda o: None)
            .then("turn", _three_approvals)
            .with_checkpoint(store, max_attempts=2),
        ]
        for flow in flows:
            run_id = uuid.uuid4().hex
            with pytest.raises(RunSuspended):
                await flow.run(_Order(order_id="A-8"), run_id=run_id)
            for _ in range(5):
                try:
                    final = await flow.resume(run_id, True)
                    break
                except RunSuspended:
                    continue
            else:
                raise AssertionError(f"{flow.name} never completed")
            assert final.notes[-1] in ("pay", "c3"), flow.name
    finally:
        closing = getattr(store, "aclose", None) or getattr(store, "close", None)
        if closing is not None:
            result = closing()
            if inspect.isawaitable(result):
                await result
