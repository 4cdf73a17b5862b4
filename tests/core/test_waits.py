"""Wait steps: park a checkpointed run, resume it exactly once, time out on a declared path."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cadence import (
    Approval,
    Cadence,
    CadenceDefinitionError,
    CadenceError,
    Decision,
    NoteError,
    RunSuspended,
    Signal,
    Sleep,
    WaitError,
    WaitTimedOut,
    wait_for,
)
from cadence.checkpoint import InMemoryCheckpointStore, wait_store_for
from cadence.testing import FakeClock


@dataclass
class Refund:
    order: str = ""
    amount: int = 0
    decision: Decision | None = None
    payment: dict[str, Any] | None = None
    status: str = ""
    log: list[str] = field(default_factory=list)


class Ledger:
    """Counts how often each note ran, across runs of the same definition."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def note(self, name: str) -> Any:
        def run(score: Refund) -> None:
            self.calls.append(name)
            score.log.append(name)

        run.__name__ = name
        return run


def refund_flow(store: Any, ledger: Ledger, **wait: Any) -> Cadence[Refund]:
    return (
        Cadence("refund", Refund())
        .then("draft", ledger.note("draft"))
        .wait(
            "manager",
            Approval(payload=lambda s: {"order": s.order, "amount": s.amount}),
            into="decision",
            **wait,
        )
        .then("pay", ledger.note("pay"))
        .with_checkpoint(store)
    )


async def park(flow: Cadence[Refund], score: Refund, run_id: str) -> RunSuspended:
    with pytest.raises(RunSuspended) as info:
        await flow.run(score, run_id=run_id)
    return info.value


async def test_a_run_parks_and_resumes_with_an_edited_payload() -> None:
    """The run parks with the payload; the approver's edit reaches the score; steps run once."""
    ledger = Ledger()
    flow = refund_flow(InMemoryCheckpointStore(), ledger)
    parked = await park(flow, Refund(order="A-1", amount=120), "r1")
    assert parked.run_id == "r1"
    (wait,) = parked.waits
    assert (wait.key, wait.kind, wait.status) == ("manager", "approval", "waiting")
    assert wait.payload == {"order": "A-1", "amount": 120}
    assert ledger.calls == ["draft"]

    final = await flow.resume("r1", Decision.approve({"order": "A-1", "amount": 90}, by="ana"))
    assert final.decision == Decision(True, {"order": "A-1", "amount": 90}, "ana", None)
    assert final.log == ["draft", "pay"]
    assert ledger.calls == ["draft", "pay"]


async def test_a_second_resume_is_refused() -> None:
    """Resuming a wait twice raises WAIT_ALREADY_RESOLVED and runs nothing again."""
    ledger = Ledger()
    store = InMemoryCheckpointStore()
    flow = refund_flow(store, ledger)
    await park(flow, Refund(order="A-2"), "r2")
    # Deliver without continuing, so the record is still there for the second attempt.
    await flow.deliver("r2", True)
    with pytest.raises(WaitError) as info:
        await flow.resume("r2", False)
    assert info.value.code == "WAIT_ALREADY_RESOLVED"
    assert "exactly once" in str(info.value)
    final = await flow.run(Refund(), run_id="r2")
    assert final.decision is not None and final.decision.approved is True
    assert ledger.calls == ["draft", "pay"]


async def test_two_concurrent_resumes_one_wins() -> None:
    """Two resumes racing for one wait: one continues the run, the other is refused."""
    ledger = Ledger()
    flow = refund_flow(InMemoryCheckpointStore(), ledger)
    await park(flow, Refund(order="A-3"), "r3")
    outcomes = await asyncio.gather(
        flow.resume("r3", True), flow.resume("r3", False), return_exceptions=True
    )
    wins = [o for o in outcomes if isinstance(o, Refund)]
    refusals = [o for o in outcomes if isinstance(o, WaitError)]
    assert len(wins) == 1 and len(refusals) == 1
    assert refusals[0].code == "WAIT_ALREADY_RESOLVED"
    assert ledger.calls == ["draft", "pay"]


async def test_a_resume_that_loses_the_race_to_a_whole_run_is_refused_as_resolved() -> None:
    """The loser read the wait while it was open; the winner then resolved it, ran the run to
    its end and removed its waits before the loser's resolve: WAIT_ALREADY_RESOLVED, not
    WAIT_NOT_FOUND (seen with two processes under load)."""
    ledger = Ledger()
    store = InMemoryCheckpointStore()
    flow = refund_flow(store, ledger)
    await park(flow, Refund(order="A-4"), "r4")
    waits = wait_store_for(store)
    read = waits.get_waits
    winner: list[Any] = [lambda: flow.resume("r4", True)]

    async def get_waits_then_lose_the_race(cadence_name: str, run_id: str) -> Any:
        records = await read(cadence_name, run_id)
        if winner:  # the first reader is the loser: the whole winning resume runs now
            await winner.pop()()
        return records

    waits.get_waits = get_waits_then_lose_the_race  # type: ignore[method-assign]
    with pytest.raises(WaitError) as info:
        await flow.resume("r4", False)
    assert info.value.code == "WAIT_ALREADY_RESOLVED"
    assert ledger.calls == ["draft", "pay"]


async def test_a_rejection_keeps_the_original_payload() -> None:
    """Resuming with False gives a rejected Decision carrying the payload the run offered."""
    flow = refund_flow(InMemoryCheckpointStore(), Ledger())
    await park(flow, Refund(order="A-4", amount=5), "r4")
    final = await flow.resume("r4", {"approved": False, "reason": "duplicate", "by": "li"})
    assert final.decision == Decision(False, {"order": "A-4", "amount": 5}, "li", "duplicate")


@pytest.mark.parametrize("value", [None, "yes", 1, {"approved": "yes"}, {"approved": True, "x": 1}])
async def test_an_approval_refuses_values_that_are_not_decisions(value: Any) -> None:
    """An approval takes True/False, a Decision or its dict; anything else is WAIT_BAD_VALUE."""
    flow = refund_flow(InMemoryCheckpointStore(), Ledger())
    await park(flow, Refund(), "r5")
    with pytest.raises(WaitError) as info:
        await flow.resume("r5", value)
    assert info.value.code == "WAIT_BAD_VALUE"
    assert len(await flow.waits("r5")) == 1, "a refused value must leave the wait waiting"


async def test_resuming_a_run_that_is_not_waiting() -> None:
    """An unknown run, or a wrong wait key, gets WAIT_NOT_FOUND naming the run."""
    flow = refund_flow(InMemoryCheckpointStore(), Ledger())
    with pytest.raises(WaitError) as info:
        await flow.resume("nobody", True)
    assert info.value.code == "WAIT_NOT_FOUND"
    assert "'nobody'" in str(info.value)
    await park(flow, Refund(), "r6")
    with pytest.raises(WaitError) as info:
        await flow.resume("r6", True, wait="typo")
    assert info.value.code == "WAIT_NOT_FOUND"


async def test_a_timeout_takes_the_declared_path() -> None:
    """After the timeout, on_timeout runs instead, the run goes on, and a late resume is refused."""
    with FakeClock(start=1_000_000.0) as clock:
        ledger = Ledger()

        def escalate(score: Refund) -> None:
            score.status = "escalated"

        flow = refund_flow(
            InMemoryCheckpointStore(), ledger, timeout=timedelta(hours=24), on_timeout=escalate
        )
        parked = await park(flow, Refund(order="A-7"), "r7")
        assert parked.waits[0].deadline == 1_000_000.0 + 86_400
        clock.advance(86_400)
        with pytest.raises(WaitError) as info:
            await flow.resume("r7", True)
        assert info.value.code == "WAIT_TIMED_OUT"
        assert await flow.wake_due() == ["r7"]
        assert ledger.calls == ["draft", "pay"]
        assert await flow.wake_due() == []


async def test_a_timeout_without_a_path_fails_the_step() -> None:
    """Without on_timeout, a timed-out wait fails its step with WaitTimedOut."""
    with FakeClock(start=50.0) as clock:
        flow = refund_flow(InMemoryCheckpointStore(), Ledger(), timeout=10)
        await park(flow, Refund(), "r8")
        clock.advance(10)
        with pytest.raises(NoteError) as info:
            await flow.run(Refund(), run_id="r8")
        assert isinstance(info.value.original_error, WaitTimedOut)
        assert info.value.note_name == "manager"


async def test_a_resume_before_the_deadline_wins_over_the_timeout() -> None:
    """Resumed in time, the run takes the approval path even if it continues after the deadline."""
    with FakeClock(start=0.0) as clock:
        ledger = Ledger()
        flow = refund_flow(
            InMemoryCheckpointStore(), ledger, timeout=60, on_timeout=ledger.note("timeout")
        )
        await park(flow, Refund(), "r9")
        await flow.deliver("r9", True)
        clock.advance(120)
        final = await flow.run(Refund(), run_id="r9")
        assert final.decision is not None and final.decision.approved
        assert "timeout" not in ledger.calls


async def test_a_signal_continues_the_run_and_an_early_one_is_kept() -> None:
    """signal() continues a waiting run; a signal sent before the wait is returned at once."""
    ledger = Ledger()
    flow = (
        Cadence("shipping", Refund())
        .then("label", ledger.note("label"))
        .wait("paid", Signal("payment_received"), into="payment")
        .then("ship", ledger.note("ship"))
        .with_checkpoint(InMemoryCheckpointStore())
    )
    parked = await park(flow, Refund(), "s1")
    assert parked.waits[0].key == "signal:payment_received"
    final = await flow.signal("s1", "payment_received", {"txn": "T1"})
    assert final is not None and final.payment == {"txn": "T1"}

    assert await flow.signal("s2", "payment_received", {"txn": "T2"}) is None
    final = await flow.run(Refund(), run_id="s2")
    assert final.payment == {"txn": "T2"}
    assert ledger.calls == ["label", "ship", "label", "ship"]


async def test_a_durable_sleep_is_woken_when_due() -> None:
    """A Sleep parks the run until its time; wake_due continues it then, not before."""
    with FakeClock(start=10_000.0) as clock:
        ledger = Ledger()
        flow = (
            Cadence("cool_off", Refund())
            .then("order", ledger.note("order"))
            .wait("cool", Sleep(timedelta(days=14)))
            .then("close", ledger.note("close"))
            .with_checkpoint(InMemoryCheckpointStore())
        )
        parked = await park(flow, Refund(), "z1")
        assert parked.waits[0].deadline == 10_000.0 + 14 * 86_400
        clock.advance(13 * 86_400)
        assert await flow.wake_due() == []
        with pytest.raises(RunSuspended):  # running it early just parks it again
            await flow.run(Refund(), run_id="z1")
        clock.advance(86_400)
        assert await flow.wake_due() == ["z1"]
        assert ledger.calls == ["order", "close"]


async def test_sleep_until_a_time_from_the_score() -> None:
    """Sleep(until=...) reads the time from the score; a time already past does not park."""
    past = datetime(2020, 1, 1, tzinfo=UTC)
    flow = (
        Cadence("until", Refund(order="x"))
        .wait("hold", Sleep(until=lambda s: past))
        .then("done", lambda s: setattr(s, "status", "done"))
        .with_checkpoint(InMemoryCheckpointStore())
    )
    assert (await flow.run(run_id="u1")).status == "done"


async def test_wait_for_inside_a_note_pauses_and_returns_the_decision() -> None:
    """A note can wait itself (as an agent does before a tool); it reruns, gets the decision."""
    runs: list[str] = []

    async def refund_tool(score: Refund) -> None:
        runs.append("before")
        decision = await wait_for(
            Approval(payload={"tool": "refund", "amount": score.amount}), key="tool:call_1"
        )
        runs.append(f"after:{decision.approved}:{decision.payload['amount']}")
        score.status = "refunded" if decision.approved else "denied"

    flow = (
        Cadence("agent", Refund(amount=40))
        .then("agent", refund_tool)
        .with_checkpoint(InMemoryCheckpointStore())
    )
    parked = await park(flow, Refund(amount=40), "a1")
    assert parked.waits[0].key == "tool:call_1"
    final = await flow.resume("a1", Decision.approve({"tool": "refund", "amount": 30}))
    assert final.status == "refunded"
    assert runs == ["before", "before", "after:True:30"]


async def test_a_wait_inside_a_sync_group_parks_the_whole_run() -> None:
    """wait_for in one .sync task parks the run instead of failing the group."""

    async def ask(score: Refund) -> None:
        score.payment = await wait_for(Signal("go"))

    def other(score: Refund) -> None:
        score.status = "other"

    flow = (
        Cadence("grouped", Refund())
        .sync("both", [ask, other])
        .with_checkpoint(InMemoryCheckpointStore())
    )
    parked = await park(flow, Refund(), "g1")
    assert parked.waits[0].key == "signal:go"
    final = await flow.signal("g1", "go", {"ok": 1})
    assert final is not None and (final.payment, final.status) == ({"ok": 1}, "other")


async def test_a_retry_policy_does_not_swallow_the_pause() -> None:
    """A note with retry= that waits parks the run once; the pause is not an error to retry."""
    from cadence import note

    attempts: list[int] = []

    @note(retry=3)
    async def guarded(score: Refund) -> None:
        attempts.append(1)
        score.payment = await wait_for(Signal("ok"))

    flow = Cadence("retry", Refund()).then("g", guarded).with_checkpoint(InMemoryCheckpointStore())
    await park(flow, Refund(), "p1")
    assert attempts == [1]


async def test_wait_records_are_forgotten_when_the_run_completes() -> None:
    """A completed run leaves no wait records; waits() lists only parked runs."""
    flow = refund_flow(InMemoryCheckpointStore(), Ledger())
    await park(flow, Refund(order="a"), "c1")
    await park(flow, Refund(order="b"), "c2")
    assert [w.run_id for w in await flow.waits()] == ["c1", "c2"]
    await flow.resume("c1", True)
    assert [w.run_id for w in await flow.waits()] == ["c2"]
    with pytest.raises(WaitError) as info:
        await flow.resume("never-started", True)
    assert info.value.code == "WAIT_NOT_FOUND"


async def test_resuming_a_completed_run_is_refused_as_already_resolved() -> None:
    """Its completion record tells the second resume the run is done: WAIT_ALREADY_RESOLVED."""
    ledger = Ledger()
    flow = refund_flow(InMemoryCheckpointStore(), ledger)
    await park(flow, Refund(order="d"), "d1")
    await flow.resume("d1", True)
    for again in (flow.resume("d1", False), flow.resume("d1", True, wait="manager")):
        with pytest.raises(WaitError) as info:
            await again
        assert info.value.code == "WAIT_ALREADY_RESOLVED"
        assert "has completed" in str(info.value) and info.value.details["completed"] is True
    assert ledger.calls.count("pay") == 1


async def test_a_signal_to_a_completed_run_is_refused_not_kept() -> None:
    """A signal arriving after the run completed is refused, and no record is left behind."""
    store = InMemoryCheckpointStore()
    flow = (
        Cadence("late", Refund())
        .wait("paid", Signal("payment"), into="payment")
        .with_checkpoint(store)
    )
    await park(flow, Refund(), "l1")
    assert (await flow.signal("l1", "payment", {"txn": 1})) is not None
    with pytest.raises(WaitError) as info:
        await flow.signal("l1", "payment", {"txn": 2})
    assert info.value.code == "WAIT_ALREADY_RESOLVED"
    assert await wait_store_for(store).get_waits("late", "l1") == []


async def test_a_wait_needs_a_checkpointed_run() -> None:
    """A cadence with a wait step and no checkpoint store fails before running anything."""
    ran: list[str] = []
    flow = (
        Cadence("bare", Refund())
        .then("first", lambda s: ran.append("first"))
        .wait("w", Signal("x"))
    )
    with pytest.raises(CadenceDefinitionError, match="with_checkpoint"):
        await flow.run()
    assert ran == []

    async def waits(score: Refund) -> None:
        await wait_for(Signal("x"))

    with pytest.raises(NoteError) as info:
        await Cadence("bare2", Refund()).then("w", waits).run()
    assert isinstance(info.value.original_error, WaitError)
    assert info.value.original_error.code == "WAIT_UNSUPPORTED"


def test_definition_mistakes_fail_when_the_step_is_added() -> None:
    """Bad .wait arguments raise CadenceDefinitionError naming the problem."""
    base = Cadence("d", Refund())
    with pytest.raises(CadenceDefinitionError, match="expected Approval"):
        base.wait("a", "approval")
    with pytest.raises(CadenceDefinitionError, match="is not a field of Refund"):
        base.wait("b", Signal("s"), into="nope")
    with pytest.raises(CadenceDefinitionError, match="give timeout= too"):
        base.wait("c", Signal("s"), on_timeout=lambda s: None)
    with pytest.raises(CadenceDefinitionError, match="takes no into="):
        base.wait("d", Sleep(5), into="status")
    with pytest.raises(CadenceDefinitionError, match="exactly one of"):
        Sleep()
    with pytest.raises(CadenceDefinitionError, match="must not be negative"):
        base.wait("e", Signal("s"), timeout=-1)
    with pytest.raises(CadenceDefinitionError, match="non-empty event name"):
        Signal("")
    base.wait("f", Signal("s"))
    with pytest.raises(CadenceDefinitionError, match="already waits for signal 's'"):
        base.wait("g", Signal("s"))


def test_a_child_with_a_wait_is_refused() -> None:
    """A wait inside a .child is refused: the child's earlier steps would rerun on resume."""
    inner = Cadence("inner", Refund()).then("a", lambda s: None).wait("w", Signal("x"))
    with pytest.raises(CadenceDefinitionError, match="would run again"):
        Cadence("outer", Refund()).child("c", inner, lambda p, c: None)


async def test_payloads_must_be_json() -> None:
    """A payload that is not JSON data fails the step, naming the wait and the fix."""
    from decimal import Decimal

    flow = (
        Cadence("money", Refund())
        .wait("ok", Approval(payload=lambda s: {"amount": Decimal("1.5")}))
        .with_checkpoint(InMemoryCheckpointStore())
    )
    with pytest.raises(CadenceError) as info:
        await flow.run(run_id="m1")
    assert "payload of wait 'ok' must be JSON" in str(info.value)


async def test_when_makes_the_wait_conditional() -> None:
    """when= false: the step completes at once; true: the run parks as usual."""
    ledger = Ledger()
    flow = (
        Cadence("maybe", Refund())
        .wait("manager", Approval(payload={}), into="decision", when=lambda s: s.amount > 50)
        .then("pay", ledger.note("pay"))
        .with_checkpoint(InMemoryCheckpointStore())
    )
    small = await flow.run(Refund(amount=10), run_id="w1")
    assert (small.decision, small.log) == (None, ["pay"])
    await park(flow, Refund(amount=90), "w2")
    assert (await flow.resume("w2", True)).log == ["pay"]
