"""Checkpointed runs through the builder API: resume, clean-up, leases, attempts, errors."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from cadence import Cadence, CadenceDefinitionError, ImmutableScore, Score
from cadence.checkpoint import InMemoryCheckpointStore, SQLiteCheckpointStore, open_session
from cadence.exceptions import CheckpointError


@dataclasses.dataclass
class Trail(Score):
    order_id: str = ""
    trail: list[str] = dataclasses.field(default_factory=list)
    total: Decimal = Decimal(0)


class Crash(Exception):
    """Stands in for a crash inside a step."""


def recorder(name: str, calls: list[str], fail: set[str] | None = None) -> Any:
    async def step(score: Trail) -> None:
        calls.append(name)
        if fail is not None and name in fail:
            raise Crash(f"{name} failed")
        score.trail.append(name)
        score.total += 1

    step.__name__ = name
    return step


def build(store: Any, calls: list[str], fail: set[str] | None = None, **kw: Any) -> Cadence[Trail]:
    cadence = Cadence("orders", Trail()).with_checkpoint(store, **kw)
    for name in ("validate", "charge", "ship"):
        cadence.then(name, recorder(name, calls, fail))
    return cadence


class Clock:
    """A settable clock for lease expiry."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_resume_skips_completed_steps_and_restores_the_score() -> None:
    """After a failure, a re-run with the same run id runs only the remaining steps."""
    store, calls, fail = InMemoryCheckpointStore(), [], {"charge"}
    cadence = build(store, calls, fail)
    with pytest.raises(Exception, match="charge failed"):
        await cadence.run(Trail(order_id="A"), run_id="A")
    fail.clear()
    result = await cadence.run(Trail(order_id="A"), run_id="A")
    assert calls == ["validate", "charge", "charge", "ship"]
    assert result.trail == ["validate", "charge", "ship"] and result.total == 3


async def test_a_fixed_run_id_refuses_a_run_on_another_score() -> None:
    """with_checkpoint(store, run_id=...) names one run: a run on another score would get that
    run's result (and run nothing), so it is refused, naming run(score, run_id=...)."""
    store, calls = InMemoryCheckpointStore(), []
    cadence = (
        Cadence("orders", Trail(order_id="A"))
        .with_checkpoint(store, run_id="order-A")
        .then("validate", recorder("validate", calls))
    )
    assert (await cadence.run()).trail == ["validate"]
    with pytest.raises(
        CadenceDefinitionError, match=r"fixed run id 'order-A'.*run\(score, run_id="
    ):
        await cadence.run(Trail(order_id="B"))
    other = await cadence.run(Trail(order_id="B"), run_id="order-B")
    assert (other.order_id, other.trail) == ("B", ["validate"])
    assert calls == ["validate", "validate"]


async def test_a_fixed_run_id_still_resumes_on_an_equal_score() -> None:
    """The documented resume: a fresh definition re-run (its own score, or an equal one)."""
    store, calls, fail = InMemoryCheckpointStore(), [], {"charge"}

    def define() -> Cadence[Trail]:
        cadence = Cadence("orders", Trail(order_id="A")).with_checkpoint(store, run_id="order-A")
        for name in ("validate", "charge"):
            cadence.then(name, recorder(name, calls, fail))
        return cadence

    with pytest.raises(Exception, match="charge failed"):
        await define().run()
    fail.clear()
    result = await define().run(Trail(order_id="A"))
    assert calls == ["validate", "charge", "charge"]
    assert result.trail == ["validate", "charge"]


async def test_success_clears_and_failure_keeps_checkpoints_with_the_cause() -> None:
    """Checkpoints are kept (with the cause recorded) on failure and cleared on success."""
    store, calls = InMemoryCheckpointStore(), []
    fail = {"ship"}
    cadence = build(store, calls, fail)
    with pytest.raises(Exception, match="ship failed"):
        await cadence.run(Trail(), run_id="B")
    assert await store.get_completed_measures("orders", "B") == {"validate", "charge"}
    assert "ship failed" in (await store.get_failure("orders", "B") or "")
    fail.clear()
    await cadence.run(Trail(), run_id="B")
    assert await store.get_completed_measures("orders", "B") == set()
    assert await store.get_last_score_state("orders", "B") is None


async def test_sync_groups_and_children_count_as_one_step() -> None:
    """A .sync group and a .child cadence are each checkpointed once, by their step name."""
    store = InMemoryCheckpointStore()
    seen: list[str] = []

    async def fetch_a(score: Trail) -> None:
        score.trail.append("a")

    async def fetch_b(score: Trail) -> None:
        score.order_id = "b"

    async def child_step(score: Trail) -> None:
        score.trail.append("child")

    async def boom(score: Trail) -> None:
        seen.append("boom")
        if len(seen) == 1:
            raise Crash("first time")

    child = Cadence("sub", Trail()).then("inner", child_step)
    cadence = (
        Cadence("grouped", Trail())
        .with_checkpoint(store)
        .sync("fetch", [fetch_a, fetch_b])
        .child("sub", child, lambda parent, c: parent.trail.extend(c.trail))
        .then("boom", boom)
    )
    with pytest.raises(Exception, match="first time"):
        await cadence.run(Trail(), run_id="G")
    assert await store.get_completed_measures("grouped", "G") == {"fetch", "sub"}
    result = await cadence.run(Trail(), run_id="G")
    assert result.trail == ["a", "child"] and result.order_id == "b"


async def test_run_that_keeps_failing_stops_after_max_attempts() -> None:
    """The same step failing max_attempts times stops the run with the recorded cause."""
    store, calls = InMemoryCheckpointStore(), []
    cadence = build(store, calls, {"charge"}, max_attempts=2)
    for _ in range(2):
        with pytest.raises(Exception, match="charge failed"):
            await cadence.run(Trail(), run_id="C")
    with pytest.raises(CheckpointError) as info:
        await cadence.run(Trail(), run_id="C")
    assert info.value.code == "CHECKPOINT_ATTEMPTS_EXHAUSTED"
    assert info.value.details["step"] == "charge" and "charge failed" in str(info.value)
    assert calls.count("charge") == 2


async def test_crashes_without_finish_count_as_attempts() -> None:
    """A worker that dies mid-step (no finish) still uses up an attempt once its lease expires."""
    clock = Clock()
    store = InMemoryCheckpointStore(clock=clock, lease_ttl=10)
    for attempt in range(2):
        session = await open_session(
            store,
            cadence_name="c",
            run_id="r",
            score=Trail(),
            step_names=["a", "b"],
            max_attempts=2,
        )
        if attempt == 0:  # completes "a", then dies inside "b"; the second one dies inside "b"
            await session.step_done("a", 0, Trail(trail=["a"]))
        else:
            assert session.completed == {"a"} and session.score.trail == ["a"]
        assert session._renewer is not None
        session._renewer.cancel()  # the process "dies": no finish, no renewals
        clock.now += 11
    with pytest.raises(CheckpointError, match="none \\(the process died"):
        await open_session(
            store,
            cadence_name="c",
            run_id="r",
            score=Trail(),
            step_names=["a", "b"],
            max_attempts=2,
        )


async def test_second_worker_is_refused_while_the_lease_is_live() -> None:
    """Two workers never resume the same run at once."""
    clock = Clock()
    store = InMemoryCheckpointStore(clock=clock)
    first = await open_session(store, cadence_name="c", run_id="r", score=Trail(), step_names=["a"])
    with pytest.raises(CheckpointError) as info:  # lease_wait=0: refused at once, not waited
        await open_session(
            store, cadence_name="c", run_id="r", score=Trail(), step_names=["a"], lease_wait=0
        )
    assert info.value.code == "LEASE_HELD" and info.value.details["retry_after"] > 0
    await first.finish(None)


async def test_stale_worker_cannot_write_after_takeover() -> None:
    """A worker whose lease expired and was taken over gets LEASE_LOST on its next checkpoint."""
    clock = Clock()
    store = InMemoryCheckpointStore(clock=clock, lease_ttl=5)
    stale = await open_session(
        store, cadence_name="c", run_id="r", score=Trail(), step_names=["a", "b"]
    )
    assert stale._renewer is not None
    stale._renewer.cancel()  # stalled: no renewals
    clock.now += 6
    fresh = await open_session(
        store, cadence_name="c", run_id="r", score=Trail(), step_names=["a", "b"]
    )
    await fresh.step_done("a", 0, Trail(trail=["fresh"]))
    with pytest.raises(CheckpointError) as info:
        await stale.step_done("a", 0, Trail(trail=["stale"]))
    assert info.value.code == "LEASE_LOST"
    await stale.finish(Crash("late"))
    assert (await store.get_last_score_state("c", "r"))["fields"]["trail"] == ["fresh"]  # type: ignore[index]
    await fresh.finish(None)


async def test_unencodable_score_fails_the_run_naming_the_path() -> None:
    """A value the codec cannot store fails at the step's checkpoint, with its path."""

    async def put_socket(score: Trail) -> None:
        score.trail.append(object())  # type: ignore[arg-type]

    cadence = (
        Cadence("bad", Trail()).with_checkpoint(InMemoryCheckpointStore()).then("put", put_socket)
    )
    with pytest.raises(CheckpointError, match=r"\$\.trail\[0\]"):
        await cadence.run(Trail(), run_id="x")


async def test_corrupt_checkpoint_raises_the_typed_error_and_runs_nothing(tmp_path: Path) -> None:
    """A damaged stored state stops the run before any step executes."""
    store, calls = SQLiteCheckpointStore(tmp_path / "cp.db"), []
    await store.save_checkpoint(
        "orders", "D", "validate", 0, {"format": "cadence.score/1", "class": "x"}
    )
    with pytest.raises(CheckpointError):
        await build(store, calls).run(Trail(), run_id="D")
    assert calls == []
    await store.aclose()


@dataclasses.dataclass(frozen=True)
class Ledger(ImmutableScore):
    entries: tuple[str, ...] = ()


async def test_immutable_scores_resume() -> None:
    """Functional steps that return new frozen scores resume from the last saved one."""
    store, fail = InMemoryCheckpointStore(), {"second"}

    def add(name: str) -> Any:
        def step(score: Ledger) -> Ledger:
            if name in fail:
                raise Crash(name)
            return score.replace(entries=(*score.entries, name))

        return step

    cadence = Cadence("fp", Ledger()).with_checkpoint(store)
    cadence.then("first", add("first")).then("second", add("second"))
    with pytest.raises(Exception, match="second"):
        await cadence.run(Ledger(), run_id="L")
    fail.clear()
    assert (await cadence.run(Ledger(), run_id="L")).entries == ("first", "second")


class Query(BaseModel):
    text: str = ""
    answers: list[str] = []


async def test_pydantic_scores_resume() -> None:
    """Pydantic model scores are restored in place."""
    store, fail = InMemoryCheckpointStore(), {"b"}

    def add(name: str) -> Any:
        def step(score: Query) -> None:
            if name in fail:
                raise Crash(name)
            score.answers.append(name)

        return step

    cadence = Cadence("pyd", Query()).with_checkpoint(store).then("a", add("a")).then("b", add("b"))
    with pytest.raises(Exception, match="b"):
        await cadence.run(Query(text="q"), run_id="P")
    fail.clear()
    assert (await cadence.run(Query(text="q"), run_id="P")).answers == ["a", "b"]


class SeedStore:
    """A store written for cadence 0.7: only the four original methods."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, Any]] = {}

    async def save_checkpoint(
        self, cadence_name: str, run_id: str, step: str, index: int, state: dict[str, Any]
    ) -> None:
        entry = self.data.setdefault((cadence_name, run_id), {"steps": set(), "state": None})
        entry["steps"].add(step)
        entry["state"] = state

    async def get_completed_measures(self, cadence_name: str, run_id: str) -> set[str]:
        return set(self.data.get((cadence_name, run_id), {}).get("steps", set()))

    async def get_last_score_state(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        return self.data.get((cadence_name, run_id), {}).get("state")

    async def clear_checkpoints(self, cadence_name: str, run_id: str) -> None:
        self.data.pop((cadence_name, run_id), None)


async def test_stores_with_only_the_seed_protocol_still_resume() -> None:
    """A 0.7-style store gets checkpoints and resume (no leases); max_attempts needs more."""
    store, calls, fail = SeedStore(), [], {"ship"}
    cadence = build(store, calls, fail)
    with pytest.raises(Exception, match="ship"):
        await cadence.run(Trail(), run_id="S")
    fail.clear()
    assert (await cadence.run(Trail(), run_id="S")).trail == ["validate", "charge", "ship"]
    assert store.data == {}
    with pytest.raises(CheckpointError, match="max_attempts needs a store"):
        await build(SeedStore(), [], max_attempts=3).run(Trail(), run_id="S")


async def test_concurrent_runs_of_one_cadence_are_independent() -> None:
    """One definition serves many run ids at once; each resumes only its own progress."""
    store, calls = InMemoryCheckpointStore(), []
    cadence = build(store, calls)
    results = await asyncio.gather(
        *(cadence.run(Trail(order_id=str(i)), run_id=str(i)) for i in range(20))
    )
    assert [r.order_id for r in results] == [str(i) for i in range(20)]
    assert all(r.trail == ["validate", "charge", "ship"] for r in results)
    assert len(calls) == 60
