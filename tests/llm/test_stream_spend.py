"""A stream cut short (closed early, cancelled, closed outside a task) is charged and its
charge reaches on_spend, spend.recorded and the timeline, as a completed call's does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from cadence import Budget, Cadence, CadenceHooks, Score, Spend
from cadence.budget import BudgetAccount, enter_accounts, exit_accounts
from cadence.events import EventEmitter
from cadence.timeline import RunRecorder, build_bars, event_to_dict
from cadence_llm import FunctionModel, ModelRequest, ScriptedModel, TextDelta


@dataclass
class Desk(Score):
    text: str = ""


class Spends(CadenceHooks):
    """Keeps every on_spend call as (step, charge)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Spend]] = []

    async def on_spend(self, note_name: str, charge: Any, total: Any) -> None:
        self.calls.append((note_name, charge))


def hanging(started: asyncio.Event) -> FunctionModel:
    """A model whose stream sends one piece and then waits for ever."""

    async def pieces(request: ModelRequest) -> AsyncIterator[str]:
        yield "first"
        started.set()
        await asyncio.Event().wait()

    return FunctionModel(lambda request: "unused", stream_function=pieces, name="slow")


async def run_observed(step: Any) -> tuple[Spends, list[Any], RunRecorder]:
    """Run ``step`` under a budget with a hook, an event listener and a run recorder."""
    hooks, emitter, recorder = Spends(), EventEmitter(), RunRecorder()
    seen: list[Any] = []
    emitter.on("*", seen.append)
    flow = (
        Cadence("desk", Desk())
        .with_budget(Budget(requests=10))
        .with_hooks([hooks, emitter, recorder])
        .then("read", step)
    )
    await flow.run()
    return hooks, seen, recorder


def step_events(seen: list[Any]) -> list[tuple[str, str | None]]:
    return [
        (e.event_type, e.note_name) for e in seen if e.event_type.startswith(("note.", "spend"))
    ]


async def test_a_stream_closed_early_reports_its_charge_to_hooks_events_and_timeline() -> None:
    """Reading one chunk and closing the stream charges the request and reports it inside the
    step, before the step ends, so the step's timeline bar shows it."""
    model = ScriptedModel(["one two three"], name="m")

    async def read(score: Desk) -> None:
        events = model.stream("hi")
        async for event in events:
            assert isinstance(event, TextDelta)
            score.text = event.text
            break
        await events.aclose()  # type: ignore[attr-defined]

    hooks, seen, recorder = await run_observed(read)
    assert [(name, charge.requests) for name, charge in hooks.calls] == [("read", 1)]
    assert step_events(seen) == [
        ("note.started", "read"),
        ("spend.recorded", "read"),
        ("note.completed", "read"),
    ]
    bars, _ = build_bars([event_to_dict(e) for e in recorder.events])
    assert [(bar.name, (bar.spend or {}).get("requests")) for bar in bars] == [("read", 1)]


async def test_a_cancelled_stream_reports_its_charge_and_stays_cancelled() -> None:
    """A consumer cancelled mid-stream ends cancelled, and the charge is reported before the
    step goes on."""
    started = asyncio.Event()
    model = hanging(started)
    ended: list[bool] = []

    async def consume() -> None:
        async for _ in model.stream("hi"):
            pass

    async def read(score: Desk) -> None:
        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        ended.append(task.cancelled())

    hooks, seen, recorder = await run_observed(read)
    assert ended == [True]
    assert [(name, charge.requests) for name, charge in hooks.calls] == [("read", 1)]
    assert step_events(seen) == [
        ("note.started", "read"),
        ("spend.recorded", "read"),
        ("note.completed", "read"),
    ]
    bars, _ = build_bars([event_to_dict(e) for e in recorder.events])
    assert [(bar.name, (bar.spend or {}).get("requests")) for bar in bars] == [("read", 1)]


class Failing:
    """Hooks whose on_spend raises."""

    async def on_spend(self, note_name: str, charge: Any, total: Any) -> None:
        raise RuntimeError("sink down")


async def test_a_failing_spend_hook_does_not_replace_a_streams_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hook failing on a cancelled stream's charge is logged; the consumer still ends
    cancelled, and the request is charged."""
    account = BudgetAccount(Budget(requests=10), owner="desk", hooks=Failing())
    token = enter_accounts(account)
    started = asyncio.Event()
    try:
        model = hanging(started)

        async def consume() -> None:
            async for _ in model.stream("hi"):
                pass

        task = asyncio.create_task(consume())
        await started.wait()
        with caplog.at_level(logging.ERROR, logger="cadence_llm.budget"):
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        exit_accounts(token)
    assert task.cancelled()
    assert account.spent.requests == 1 and account.reserved.requests == 0
    assert any("cut short failed" in r.getMessage() for r in caplog.records)


async def test_a_stream_closed_outside_a_task_reports_its_charge_through_the_loop() -> None:
    """Closed by hand from a loop callback, where nothing may await, the stream still charges
    the request at once and the loop delivers the report."""
    hooks = Spends()
    account = BudgetAccount(Budget(requests=10), owner="desk", hooks=hooks)
    token = enter_accounts(account)
    try:
        events = ScriptedModel(["one two three"], name="m").stream("hi")
        await anext(events)
        closing = events.aclose()  # type: ignore[attr-defined]
        closed = asyncio.Event()

        def close_by_hand() -> None:
            with pytest.raises(StopIteration):
                closing.send(None)
            closed.set()

        asyncio.get_running_loop().call_soon(close_by_hand)
        await closed.wait()
        assert account.spent.requests == 1
        others = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*others)  # the report the loop was handed, if any
    finally:
        exit_accounts(token)
    assert [(name, charge.requests) for name, charge in hooks.calls] == [("desk", 1)]


def test_a_stream_closed_without_an_event_loop_is_charged_and_says_it_went_unreported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Driven and closed with no event loop at all, the stream is charged and closes cleanly;
    the report it could not make is logged."""
    hooks = Spends()
    account = BudgetAccount(Budget(requests=10), owner="desk", hooks=hooks)
    token = enter_accounts(account)
    try:
        events = ScriptedModel(["one two three"], name="m").stream("hi")
        with pytest.raises(StopIteration):
            events.asend(None).send(None)  # type: ignore[attr-defined]
        with (
            caplog.at_level(logging.WARNING, logger="cadence_llm.budget"),
            pytest.raises(StopIteration),
        ):
            events.aclose().send(None)  # type: ignore[attr-defined]
    finally:
        exit_accounts(token)
    assert account.spent.requests == 1 and account.reserved.requests == 0
    assert hooks.calls == []
    assert any("could not be reported" in r.getMessage() for r in caplog.records)
