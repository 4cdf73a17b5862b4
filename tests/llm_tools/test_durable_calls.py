"""Per-tool-call durability: a turn interrupted after some calls completed resumes without them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cadence import CheckpointError, ParallelNoteError, Score
from cadence.checkpoint import InMemoryCheckpointStore, SQLiteCheckpointStore
from cadence_llm import ScriptedModel, ToolMessage, agent, tool

from .conftest import calls

effects: list[str] = []
fail_boom = [True]


@dataclass
class Order(Score):
    query: str = "Buy and ship"
    answer: str = ""
    charges: list[int] = field(default_factory=list)
    total: int = 0
    shipped: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@tool
def charge(score: Order, amount: int) -> str:
    """Charge the card."""
    effects.append(f"charge:{amount}")
    score.charges.append(amount)
    score.total += amount
    return f"charged {amount}"


@tool
async def ship(score: Order) -> str:
    """Ship the order."""
    effects.append("ship")
    score.shipped = True
    score.tags["carrier"] = "post"
    return "shipped"


@tool
def lookup(sku: str) -> str:
    """Look a product up (fails: the catalogue is down)."""
    effects.append(f"lookup:{sku}")
    raise ConnectionError("catalogue down")


@tool(fatal=True)
async def boom(score: Order) -> str:
    """Fails the first time: stands in for the process dying mid-turn."""
    effects.append("boom")
    await asyncio.sleep(0.02)  # the other calls complete (and are recorded) first
    if fail_boom:
        fail_boom.pop()
        raise RuntimeError("process died")
    score.tags["boom"] = "ok"
    return "boomed"


TOOLS = [charge, ship, lookup, boom]
TURN_1 = calls(
    ("c1", "charge", {"amount": 10}),
    ("c2", "ship", {}),
    ("c3", "lookup", {"sku": "x"}),
    ("c4", "boom", {}),
)


@pytest.fixture(autouse=True)
def _reset() -> None:
    effects.clear()
    fail_boom[:] = [True]


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield InMemoryCheckpointStore()
        return
    sqlite = SQLiteCheckpointStore(tmp_path / "runs.db")
    yield sqlite
    close = getattr(sqlite, "close", None)
    if close is not None:
        result = close()
        if asyncio.iscoroutine(result):
            await result


async def test_completed_calls_of_an_interrupted_turn_never_run_again(store: Any) -> None:
    """Resumed mid-turn: no model call is replayed, completed calls are reused, not re-run."""
    first = ScriptedModel([TURN_1])
    with pytest.raises(ParallelNoteError, match="process died"):
        await agent(first, TOOLS, checkpoint=store, run_id="o-1").run(Order())
    assert sorted(effects) == ["boom", "charge:10", "lookup:x", "ship"]

    effects.clear()
    second = ScriptedModel(["Charged and shipped."])  # holds no answer for turn 1
    order = Order()
    events: list[Any] = []
    result = await agent(second, TOOLS, checkpoint=store, run_id="o-1", on_event=events.append).run(
        order
    )
    assert effects == ["boom"]  # only the call that never completed runs again
    assert second.calls == 1 and result.answer == "Charged and shipped."
    assert order.charges == [10] and order.total == 10 and order.shipped
    assert order.tags == {"carrier": "post", "boom": "ok"}
    sent = [m for m in second.requests[0].messages if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.is_error) for m in sent] == [
        ("c1", False),
        ("c2", False),
        ("c3", True),
        ("c4", False),
    ]
    assert sent[0].content == "charged 10" and "catalogue down" in sent[2].content
    replayed = {e.outcome.call.id: e.outcome.replayed for e in events if e.kind == "tool.completed"}
    assert replayed == {"c1": True, "c2": True, "c3": True, "c4": False}
    assert await store.get_last_score_state("agent:calls", "o-1") is None  # cleaned up


async def test_replayed_in_place_appends_merge_as_appends(store: Any) -> None:
    """Two recorded calls that appended the same item keep both items after the resume."""

    @tool
    def jot(score: Order, text: str) -> str:
        """Jot a note."""
        effects.append(f"jot:{text}")
        score.notes.append(text)
        return "noted"

    turn = calls(("j1", "jot", {"text": "x"}), ("j2", "jot", {"text": "x"}), ("b", "boom", {}))
    with pytest.raises(ParallelNoteError):
        await agent(ScriptedModel([turn]), [jot, boom], checkpoint=store, run_id="o-5").run(Order())
    order = Order()
    await agent(ScriptedModel(["ok"]), [jot, boom], checkpoint=store, run_id="o-5").run(order)
    assert order.notes == ["x", "x"] and effects.count("jot:x") == 2  # 2 calls, each run once


async def test_a_run_that_never_crashes_records_and_cleans_up(store: Any) -> None:
    """An uninterrupted checkpointed run executes every call once and leaves no records."""
    fail_boom.clear()
    model = ScriptedModel([TURN_1, "ok"])
    order = Order()
    await agent(model, TOOLS, checkpoint=store, run_id="o-2").run(order)
    assert sorted(effects) == ["boom", "charge:10", "lookup:x", "ship"]
    assert await store.get_last_score_state("agent:calls", "o-2") is None
    assert await store.get_completed_measures("agent", "o-2") == set()


async def test_a_crash_before_any_tool_completed_replays_no_model_call() -> None:
    """The model's answer is recorded before tools run: a resumed turn does not ask again."""
    store = InMemoryCheckpointStore()

    @tool(fatal=True)
    async def explode() -> str:
        """Fails first."""
        effects.append("explode")
        if fail_boom:
            fail_boom.pop()
            raise RuntimeError("died")
        return "ok"

    model = ScriptedModel([calls(("e1", "explode", {})), "finished"])
    ag = agent(model, [explode], checkpoint=store, run_id="o-3")
    with pytest.raises(ParallelNoteError):
        await ag.run(Order())
    result = await ag.run(Order())
    assert model.calls == 2 and result.answer == "finished" and effects == ["explode"] * 2


async def test_a_corrupt_record_is_a_checkpoint_error() -> None:
    """A record whose calls are not objects fails the resume with CheckpointError."""
    store = InMemoryCheckpointStore()
    with pytest.raises(ParallelNoteError):
        await agent(ScriptedModel([TURN_1]), TOOLS, checkpoint=store, run_id="o-4").run(Order())
    state = await store.get_last_score_state("agent:calls", "o-4")
    assert state is not None
    state["calls"]["c1"] = "garbage"
    await store.save_checkpoint("agent:calls", "o-4", "tamper", 1, state)
    with pytest.raises(CheckpointError) as info:
        await agent(ScriptedModel(["x"]), TOOLS, checkpoint=store, run_id="o-4").run(Order())
    assert info.value.code == "CHECKPOINT_CORRUPT"


async def test_without_a_checkpoint_nothing_is_recorded_or_replayed() -> None:
    """An agent without checkpoint= runs every call, and outcomes are never marked replayed."""
    fail_boom.clear()
    events: list[Any] = []
    await agent(ScriptedModel([TURN_1, "ok"]), TOOLS, on_event=events.append).run(Order())
    outcomes = [e.outcome for e in events if e.kind == "tool.completed"]
    assert len(outcomes) == 4 and not any(o.replayed for o in outcomes)


@pytest.mark.parametrize("max_turns", [2, 8])
async def test_a_crash_after_the_last_turn_still_restores_the_score(max_turns: int) -> None:
    """Resumed after the final turn completed (before the run ended): no turn runs again and
    the score gets the tools' work, whether turns were left (8) or not (2)."""

    class DiesAtTheEnd(InMemoryCheckpointStore):
        dead = True

        async def complete_run(self, cadence_name: str, run_id: str, *a: Any, **kw: Any) -> None:
            if self.dead and cadence_name == "agent":
                self.dead = False
                raise ConnectionError("process died before recording completion")
            await super().complete_run(cadence_name, run_id, *a, **kw)

    now = [0.0]
    store = DiesAtTheEnd(clock=lambda: now[0])
    model = ScriptedModel([calls(("c1", "charge", {"amount": 7})), "done"])
    with pytest.raises(ConnectionError):
        await agent(model, [charge], checkpoint=store, run_id="o-6", max_turns=max_turns).run(
            Order()
        )
    now[0] += store.lease_ttl + 1  # the dead process's lease has expired
    order = Order()
    again = ScriptedModel(["unused"])
    result = await agent(again, [charge], checkpoint=store, run_id="o-6", max_turns=max_turns).run(
        order
    )
    assert again.calls == 0
    assert result.answer == "done" and order.charges == [7] and effects == ["charge:7"]


async def test_a_finished_run_id_replays_its_answer_and_score() -> None:
    """Run again under a finished run's id: no model call, no tool re-runs, the score restored."""
    store = InMemoryCheckpointStore()
    model = ScriptedModel([calls(("c1", "charge", {"amount": 5})), "paid"])
    await agent(model, [charge], checkpoint=store, run_id="o-7").run(Order())
    effects.clear()
    order = Order()
    again = ScriptedModel(["unused"])
    result = await agent(again, [charge], checkpoint=store, run_id="o-7").run(order)
    assert again.calls == 0 and effects == []
    assert result.answer == "paid" and order.charges == [5]
