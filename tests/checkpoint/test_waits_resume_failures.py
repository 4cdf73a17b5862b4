"""A resume that cannot go on is refused before its wait resolves, or says how the run goes on."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cadence import Approval, Cadence, Decision, RunSuspended, Score, Signal, WaitError
from cadence.checkpoint import (
    InMemoryCheckpointStore,
    PostgresCheckpointStore,
    RedisCheckpointStore,
    SQLiteCheckpointStore,
)


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """A checkpoint store of each kind cadence ships, closed after the test."""
    made: Any
    if request.param == "memory":
        made = InMemoryCheckpointStore()
    elif request.param == "sqlite":
        made = SQLiteCheckpointStore(tmp_path / "cp.db")
    elif request.param == "redis":
        made = RedisCheckpointStore(request.getfixturevalue("redis_url"))
    else:
        made = PostgresCheckpointStore(request.getfixturevalue("postgres_dsn"))
    yield made
    closing = getattr(made, "aclose", None) or getattr(made, "close", None)
    if closing is not None:
        result = closing()
        if inspect.isawaitable(result):
            await result


@dataclass
class _Order(Score):
    count: int = 0
    verdict: bool = False
    log: list[str] = field(default_factory=list)


def _counting(store: Any) -> Cadence[_Order]:
    return (
        Cadence(f"count_{uuid.uuid4().hex[:8]}", _Order())
        .wait("counted", Signal("count"), into="count")
        .wait("shipped", Signal("ship"))
        .then("done", lambda o: o.log.append("done"))
        .with_checkpoint(store)
    )


async def test_a_signal_value_the_into_field_cannot_hold_is_refused_before_it_resolves(
    store: Any,
) -> None:
    """A dict for an int field is WAIT_BAD_VALUE; the wait stays open and a fitting value goes on."""
    flow, run_id = _counting(store), uuid.uuid4().hex
    with pytest.raises(RunSuspended):
        await flow.run(run_id=run_id)
    with pytest.raises(WaitError) as refused:
        await flow.signal(run_id, "count", {"not": "an int"})
    assert refused.value.code == "WAIT_BAD_VALUE"
    assert "count" in refused.value.message and "int" in refused.value.message
    assert [w.key for w in await flow.waits(run_id)] == ["signal:count"]  # still waiting
    with pytest.raises(RunSuspended):
        await flow.signal(run_id, "count", 3)
    final = await flow.signal(run_id, "ship", None)  # the run restores its checkpoint here
    assert final is not None and final.count == 3 and final.log == ["done"]


async def test_an_early_signal_the_into_field_cannot_hold_is_refused(store: Any) -> None:
    """A signal kept for a later wait is checked against that step's field before it is kept."""
    flow = (
        Cadence(f"early_{uuid.uuid4().hex[:8]}", _Order())
        .wait("shipped", Signal("ship"))
        .wait("counted", Signal("count"), into="count")
        .with_checkpoint(store)
    )
    run_id = uuid.uuid4().hex
    with pytest.raises(RunSuspended):
        await flow.run(run_id=run_id)
    with pytest.raises(WaitError) as refused:
        await flow.signal(run_id, "count", "many")  # early: the run waits for "ship"
    assert refused.value.code == "WAIT_BAD_VALUE"
    assert await flow.signal(run_id, "count", 4) is None  # kept for the run
    final = await flow.signal(run_id, "ship", None)
    assert final is not None and final.count == 4


async def test_an_approval_into_a_field_that_cannot_hold_a_decision_is_refused(
    store: Any,
) -> None:
    """A Decision written into a bool field could never be restored: refused, still waiting."""
    flow = (
        Cadence(f"verdict_{uuid.uuid4().hex[:8]}", _Order())
        .wait("manager", Approval(payload={"amount": 5}), into="verdict")
        .then("done", lambda o: o.log.append("done"))
        .with_checkpoint(store)
    )
    run_id = uuid.uuid4().hex
    with pytest.raises(RunSuspended):
        await flow.run(run_id=run_id)
    with pytest.raises(WaitError) as refused:
        await flow.resume(run_id, True)
    assert refused.value.code == "WAIT_BAD_VALUE" and "Decision" in refused.value.message
    assert [w.status for w in await flow.waits(run_id)] == ["waiting"]


async def test_a_resume_refused_after_a_delivery_that_did_not_go_on_says_how_to_continue(
    store: Any,
) -> None:
    """Delivered, then the process stopped: the refusal names run(run_id=...), which goes on."""
    flow = (
        Cadence(f"stranded_{uuid.uuid4().hex[:8]}", _Order())
        .wait("manager", Approval(payload={"amount": 5}))
        .then("done", lambda o: o.log.append("done"))
        .with_checkpoint(store)
    )
    run_id = uuid.uuid4().hex
    with pytest.raises(RunSuspended):
        await flow.run(run_id=run_id)
    await flow.deliver(run_id, Decision.approve())  # ... and the process dies here
    assert await flow.waits() == [] and await flow.wake_due() == []
    with pytest.raises(WaitError) as refused:
        await flow.resume(run_id, True)
    assert refused.value.code == "WAIT_ALREADY_RESOLVED"
    assert f"cadence.run(run_id={run_id!r})" in refused.value.message
    assert (await flow.run(run_id=run_id)).log == ["done"]


async def test_a_resume_whose_run_fails_after_delivering_says_the_wait_is_resolved(
    store: Any,
) -> None:
    """The failure carries a note: the value was delivered, continue with run(run_id=...)."""
    attempts: list[int] = []

    def pay(order: _Order) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("payment provider down")
        order.log.append("paid")

    flow = (
        Cadence(f"failing_{uuid.uuid4().hex[:8]}", _Order())
        .wait("manager", Approval(payload={"amount": 5}))
        .then("pay", pay)
        .with_checkpoint(store)
    )
    run_id = uuid.uuid4().hex
    with pytest.raises(RunSuspended):
        await flow.run(run_id=run_id)
    with pytest.raises(Exception) as failed:
        await flow.resume(run_id, True)
    notes = "\n".join(getattr(failed.value, "__notes__", []))
    assert "delivered" in notes and f"cadence.run(run_id={run_id!r})" in notes
    assert (await flow.run(run_id=run_id)).log == ["paid"]
