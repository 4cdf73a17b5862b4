"""A hook or listener that raises CancelledError nobody asked for fails alone; the run goes on.

An observer that awaits something cancelled elsewhere (a future of a closed client, a task
another component cancelled) sees ``CancelledError`` although its own task is not being
cancelled. That is the observer's failure, logged and skipped like any exception, and must not
cancel a checkout run. A real cancellation of the run still propagates.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from cadence import Cadence, CadenceHooks
from cadence.events import NOTE_STARTED, CadenceEvent, EventEmitter

from ._support import Order


async def step(score: Order) -> None:
    score.items.append("x")


async def _cancelled_elsewhere() -> None:
    """Await a future another component cancelled: raises CancelledError in this task."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.cancel()
    await future


def _two_steps(hooks: Any, *more: Any) -> Cadence[Order]:
    cadence = Cadence("c", Order()).with_hooks(hooks)
    for extra in more:
        cadence.with_hooks(extra)
    return cadence.then("a", step).then("b", step)


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_listener_raising_a_stray_cancel_is_skipped_and_the_run_completes(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, str | None]] = []

    async def awaits_a_cancelled_future(event: CadenceEvent) -> None:
        if event.event_type == NOTE_STARTED and event.note_name == "a":
            await _cancelled_elsewhere()

    def raises_cancelled(event: CadenceEvent) -> None:
        if event.event_type == NOTE_STARTED and event.note_name == "a":
            raise asyncio.CancelledError

    bad = awaits_a_cancelled_future if kind == "async" else raises_cancelled
    emitter = (
        EventEmitter().on("*", bad).on("*", lambda e: seen.append((e.event_type, e.note_name)))
    )
    with caplog.at_level(logging.ERROR, logger="cadence.events"):
        score = await _two_steps(emitter).run()
    assert score.items == ["x", "x"]
    assert seen == [
        ("cadence.started", None),
        ("note.started", "a"),  # the listener after the failing one still hears it
        ("note.completed", "a"),
        ("note.started", "b"),
        ("note.completed", "b"),
        ("cadence.completed", None),
    ]
    assert any("failed on note.started" in r.getMessage() for r in caplog.records)


class StrayHooks(CadenceHooks):
    """Fails ``before_note`` of step "a" with a stray CancelledError; records the rest."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def before_note(self, note_name: str, score: Any) -> None:
        if note_name == "a":
            await _cancelled_elsewhere()
        self.calls.append(("before_note", note_name))

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: Any = None
    ) -> None:
        self.calls.append(("after_cadence", type(error).__name__))


class Recording(CadenceHooks):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def before_note(self, note_name: str, score: Any) -> None:
        self.calls.append(note_name)


async def test_a_hook_raising_a_stray_cancel_is_logged_and_the_run_completes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks = StrayHooks()
    with caplog.at_level(logging.ERROR, logger="cadence.hooks"):
        score = await _two_steps(hooks).run()
    assert score.items == ["x", "x"]
    assert hooks.calls == [("before_note", "b"), ("after_cadence", "NoneType")]
    assert any("before_note failed" in r.getMessage() for r in caplog.records)


async def test_with_several_hooks_a_stray_cancel_in_one_leaves_the_others_and_the_run() -> None:
    stray, other = StrayHooks(), Recording()
    score = await _two_steps(stray, other).run()
    assert score.items == ["x", "x"]
    assert other.calls == ["a", "b"]
    assert stray.calls[-1] == ("after_cadence", "NoneType")


async def test_a_real_cancel_while_a_listener_awaits_still_cancels_the_run() -> None:
    waiting = asyncio.Event()
    ends: list[str] = []

    async def slow(event: CadenceEvent) -> None:
        if event.event_type == NOTE_STARTED:
            waiting.set()
            await asyncio.sleep(30)

    emitter = (
        EventEmitter()
        .on(NOTE_STARTED, slow)
        .on("cadence.failed", lambda e: ends.append(e.event_type))
    )
    task = asyncio.ensure_future(_two_steps(emitter).run())
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ends == ["cadence.failed"]


async def test_a_real_cancel_while_a_hook_awaits_still_cancels_the_run() -> None:
    waiting = asyncio.Event()

    class Slow(CadenceHooks):
        async def before_note(self, note_name: str, score: Any) -> None:
            waiting.set()
            await asyncio.sleep(30)

    for hooks in ((Slow(),), (Slow(), Recording())):
        waiting.clear()
        task = asyncio.ensure_future(_two_steps(*hooks).run())
        await waiting.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
