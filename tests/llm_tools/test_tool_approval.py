"""Tools that need approval: the agent parks before the call runs and goes on once decided."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cadence import (
    Budget,
    Cadence,
    CadenceDefinitionError,
    Decision,
    RunSuspended,
    Score,
    WaitError,
)
from cadence.checkpoint import InMemoryCheckpointStore, SQLiteCheckpointStore
from cadence.testing import FakeClock
from cadence_llm import ScriptedModel, ToolBox, ToolMessage, ToolRejectedError, agent, tool

from .conftest import calls

effects: list[str] = []


@dataclass
class Order(Score):
    query: str = "Refund order A-7"
    answer: str = ""
    refunds: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@tool(needs_approval=True)
def refund(score: Order, order: str, amount: int) -> str:
    """Refund an order."""
    effects.append(f"refund:{order}:{amount}")
    score.refunds.append(amount)
    return f"refunded {amount}"


@tool
def note(score: Order, text: str) -> str:
    """Write a note on the order."""
    effects.append(f"note:{text}")
    score.notes.append(text)
    return "noted"


@tool(needs_approval=lambda args: args["amount"] > 100)
def small_refund(score: Order, amount: int) -> str:
    """Refund; amounts over 100 need approval."""
    effects.append(f"small_refund:{amount}")
    score.refunds.append(amount)
    return f"refunded {amount}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    effects.clear()


ASK_REFUND = calls(("c1", "refund", {"order": "A-7", "amount": 240}))


def results_seen(model: ScriptedModel) -> list[ToolMessage]:
    """The tool results in the last request the model got."""
    return [m for m in model.requests[-1].messages if isinstance(m, ToolMessage)]


async def test_the_call_waits_for_approval_and_runs_once_with_the_edited_arguments(
    tmp_path: Path,
) -> None:
    """The run parks before the tool runs; resumed (a new agent object, as in another process)
    with edited arguments the tool runs once with them, and the model is not asked again."""
    db = tmp_path / "runs.db"
    first = ScriptedModel([ASK_REFUND])
    shop = agent(first, [refund], checkpoint=SQLiteCheckpointStore(db), run_id="r-1")
    with pytest.raises(RunSuspended) as parked:
        await shop.run(Order())
    assert effects == [] and first.calls == 1
    (wait,) = parked.value.waits
    assert wait.key == "tool:agent:c1"
    assert wait.payload == {
        "tool": "refund",
        "call_id": "c1",
        "arguments": {"order": "A-7", "amount": 240},
    }
    assert [w.key for w in await shop.waits("r-1")] == ["tool:agent:c1"]

    later = ScriptedModel(["Refunded 200."])
    again = agent(later, [refund], checkpoint=SQLiteCheckpointStore(db), run_id="r-1")
    order = Order()
    edited = {"tool": "refund", "call_id": "c1", "arguments": {"order": "A-7", "amount": 200}}
    result = await again.resume("r-1", Decision.approve(edited, by="ana"), order)
    assert effects == ["refund:A-7:200"] and order.refunds == [200]
    assert later.calls == 1 and result.answer == "Refunded 200."
    assert [m.content for m in results_seen(later)] == ["refunded 200"]
    with pytest.raises(WaitError) as info:
        await again.resume("r-1", True, Order())
    assert info.value.code == "WAIT_ALREADY_RESOLVED"
    assert effects == ["refund:A-7:200"]


async def test_a_rejected_call_never_runs_and_the_model_reads_why() -> None:
    """A rejection becomes the call's error result (who and why); the tool never runs."""
    store = InMemoryCheckpointStore()
    model = ScriptedModel([ASK_REFUND, "I could not refund it."])
    shop = agent(model, [refund], checkpoint=store, run_id="r-2")
    with pytest.raises(RunSuspended):
        await shop.run(Order())
    result = await shop.resume("r-2", Decision.reject("over the limit", by="ana"), Order())
    assert effects == [] and result.answer == "I could not refund it."
    (seen,) = results_seen(model)
    assert seen.is_error
    assert "ToolRejectedError" in seen.content and "rejected by ana: over the limit" in seen.content


async def test_the_other_calls_of_the_turn_wait_too_and_run_once() -> None:
    """Nothing of a turn runs before its approvals are decided; afterwards every call runs once."""
    store = InMemoryCheckpointStore()
    model = ScriptedModel(
        [
            calls(
                ("c1", "note", {"text": "asked"}), ("c2", "refund", {"order": "A-7", "amount": 5})
            ),
            "ok",
        ]
    )
    shop = agent(model, [note, refund], checkpoint=store, run_id="r-3")
    with pytest.raises(RunSuspended):
        await shop.run(Order())
    assert effects == []
    order = Order()
    await shop.resume("r-3", True, order)
    assert sorted(effects) == ["note:asked", "refund:A-7:5"]
    assert order.notes == ["asked"] and order.refunds == [5]


async def test_a_predicate_asks_only_for_the_calls_it_names() -> None:
    """needs_approval=<function of the arguments>: a small refund runs at once, a large one waits."""
    store = InMemoryCheckpointStore()
    model = ScriptedModel([calls(("c1", "small_refund", {"amount": 30})), "done"])
    result = await agent(model, [small_refund], checkpoint=store, run_id="r-4").run(Order())
    assert effects == ["small_refund:30"] and result.answer == "done"
    big = ScriptedModel([calls(("c1", "small_refund", {"amount": 300}))])
    with pytest.raises(RunSuspended):
        await agent(big, [small_refund], checkpoint=store, run_id="r-5").run(Order())
    assert effects == ["small_refund:30"]


async def test_an_agent_inside_a_cadence_is_resumed_through_the_cadence() -> None:
    """The enclosing checkpointed run parks; cadence.resume(run_id, value, wait=) finishes it."""
    store = InMemoryCheckpointStore()
    script = [ASK_REFUND, "Refunded."]
    model = ScriptedModel(script)
    support = agent(model, [refund], checkpoint=store, into="answer", name="support")
    flow = Cadence("desk", Order()).then("support", support).with_checkpoint(store)
    with pytest.raises(RunSuspended) as parked:
        await flow.run(Order(), run_id="d-1")
    assert parked.value.cadence_name == "desk"
    assert [w.key for w in parked.value.waits] == ["tool:support:c1"]
    final = await flow.resume("d-1", True, wait="tool:support:c1", score=Order())
    assert final.answer == "Refunded." and final.refunds == [240]
    assert effects == ["refund:A-7:240"] and model.calls == 2


async def test_no_decision_before_the_timeout_is_a_rejection() -> None:
    """approval_timeout=: once it passes, the call is answered as not approved and never runs."""

    @tool(needs_approval=True, approval_timeout=60)
    def wire(amount: int) -> str:
        """Wire money."""
        effects.append("wire")
        return "wired"

    with FakeClock(start=1_000.0) as clock:
        store = InMemoryCheckpointStore()
        model = ScriptedModel([calls(("w1", "wire", {"amount": 9})), "Nobody approved it."])
        bank = agent(model, [wire], checkpoint=store, run_id="t-1")
        with pytest.raises(RunSuspended) as parked:
            await bank.run(prompt="wire 9")
        assert parked.value.waits[0].deadline == 1_060.0
        clock.advance(61)
        result = await bank.run(prompt="wire 9")
    assert effects == [] and result.answer == "Nobody approved it."
    (seen,) = results_seen(model)
    assert seen.is_error and "nobody decided within 60 s" in seen.content


async def test_edited_arguments_are_validated_like_the_models() -> None:
    """An approval whose edited arguments do not fit the schema answers the model with the error."""
    store = InMemoryCheckpointStore()
    model = ScriptedModel([ASK_REFUND, "Could not."])
    shop = agent(model, [refund], checkpoint=store, run_id="r-6")
    with pytest.raises(RunSuspended):
        await shop.run(Order())
    bad = {"arguments": {"order": "A-7", "amount": "lots"}}
    await shop.resume("r-6", Decision.approve(bad), Order())
    (seen,) = results_seen(model)
    assert effects == [] and seen.is_error and "ToolArgumentsError" in seen.content


async def test_approval_outside_a_checkpointed_run_is_a_clear_error() -> None:
    """ToolBox.run of a tool needing approval, outside a checkpointed run: WAIT_UNSUPPORTED."""
    with pytest.raises(WaitError) as info:
        await ToolBox([refund]).run([ASK_REFUND.tool_calls[0]], Order())
    assert info.value.code == "WAIT_UNSUPPORTED" and "'refund' needs approval" in info.value.message
    assert effects == []


def ping() -> str:
    """Ping."""
    return "pong"


def test_definition_errors_are_raised_early() -> None:
    """An agent without a store, approval_timeout without needs_approval, a bad needs_approval."""
    with pytest.raises(CadenceDefinitionError, match=r"'refund' needs approval.*checkpoint="):
        agent(ScriptedModel(["x"]), [refund])
    with pytest.raises(CadenceDefinitionError, match="approval_timeout= is for tools"):
        tool(approval_timeout=5)(ping)
    with pytest.raises(CadenceDefinitionError, match="needs_approval must be"):
        tool(needs_approval="yes")(ping)  # type: ignore[arg-type]
    with pytest.raises(CadenceDefinitionError, match="approval_timeout must be seconds"):
        tool(needs_approval=True, approval_timeout=0)(ping)
    assert "needs_approval" in repr(refund)
    assert ToolRejectedError("x").code == "TOOL_REJECTED"


async def test_a_streamed_run_parks_and_the_resumed_run_finishes() -> None:
    """Agent.stream(): the events up to the pause, then the iterator raises RunSuspended."""
    store = InMemoryCheckpointStore()
    shop = agent(ScriptedModel([ASK_REFUND, "Done."]), [refund], checkpoint=store, run_id="s-1")
    kinds: list[str] = []
    with pytest.raises(RunSuspended):
        async for event in shop.stream(Order()):
            kinds.append(event.kind)
    assert kinds == ["turn.started"] and effects == []
    result = await shop.resume("s-1", True, Order())
    assert result.answer == "Done." and effects == ["refund:A-7:240"]


async def test_the_parked_turns_model_request_is_counted_once_by_the_budget() -> None:
    """The request answered before the pause counts in the resumed run's spend, once."""
    store = InMemoryCheckpointStore()
    model = ScriptedModel([ASK_REFUND, "Done."])
    shop = agent(model, [refund], checkpoint=store, run_id="b-1", budget=Budget(requests=5))
    with pytest.raises(RunSuspended):
        await shop.run(Order())
    result = await shop.resume("b-1", True, Order())
    assert model.calls == 2
    assert result.spend is not None
    assert result.spend.requests == 2 and result.spend.tool_calls == 1


async def test_a_later_call_reusing_an_approved_call_id_asks_again() -> None:
    """Servers that send no call ids get ``call_0`` on every turn: an approval of turn 1 must
    not authorise turn 2's call (with turn 1's edited arguments)."""
    effects.clear()
    store = InMemoryCheckpointStore()
    turn = lambda amount: calls(("call_0", "refund", {"order": "A-7", "amount": amount}))  # noqa: E731
    script = [turn(240), turn(9000), "done"]
    with pytest.raises(RunSuspended):
        await agent(ScriptedModel(script), [refund], checkpoint=store, run_id="r").run(Order())
    resumed = agent(ScriptedModel(script[1:]), [refund], checkpoint=store, run_id="r")
    with pytest.raises(RunSuspended) as parked:
        await resumed.resume(
            "r", Decision.approve({"arguments": {"order": "A-7", "amount": 200}}), Order()
        )
    assert parked.value.waits[0].key == "tool:agent:call_0-2"
    assert parked.value.waits[0].payload["arguments"]["amount"] == 9000
    assert effects == ["refund:A-7:200"]
