"""The exact order of hook calls for every kind of step, failure and retry."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import pytest

from cadence import Cadence, CadenceHooks, NoteError, ParallelNoteError, Skip, note, testing

from ._support import Order, Recorder


async def add_a(score: Order) -> None:
    score.items.append("a")


async def add_b(score: Order) -> None:
    score.items.append("b")


def add_c_sync(score: Order) -> None:
    score.items.append("c")


async def boom(score: Order) -> None:
    raise ValueError("boom")


async def test_then_steps_order(recorder: Recorder) -> None:
    """Sequential steps: cadence, then before/after per step, then the cadence's end."""
    cadence = Cadence("seq", Order()).with_hooks(recorder).then("a", add_a).then("c", add_c_sync)
    await cadence.run()
    assert recorder.calls == [
        ("before_cadence", "seq"),
        ("before_note", "a"),
        ("after_note", "a", None),
        ("before_note", "c"),
        ("after_note", "c", None),
        ("after_cadence", "seq", None),
    ]


async def test_sync_group_order(recorder: Recorder) -> None:
    """A .sync step wraps before_group, each task's before/after (with task names), after_group."""
    cadence = Cadence("s", Order()).with_hooks(recorder).sync("fetch", [add_a, add_b])
    result = await cadence.run()
    assert sorted(result.items) == ["a", "b"]
    assert recorder.calls == [
        ("before_cadence", "s"),
        ("before_note", "fetch"),
        ("before_group", "fetch", "sync", ("add_a", "add_b")),
        ("before_note", "add_a"),
        ("after_note", "add_a", None),
        ("before_note", "add_b"),
        ("after_note", "add_b", None),
        ("after_group", "fetch", "sync", None),
        ("after_note", "fetch", None),
        ("after_cadence", "s", None),
    ]


async def test_error_in_sync_task_order(recorder: Recorder) -> None:
    """A failing .sync task: its after_note has the error, the cancelled sibling gets none,
    then after_group, the step's after_note and on_error carry the ParallelNoteError.

    With eager tasks (Python 3.12+) a task failing in its first step stops the group before
    later tasks start; on 3.11 every task is already scheduled, so add_b runs to completion.
    """
    never = asyncio.Event()

    async def hang(score: Order) -> None:
        await never.wait()

    cadence = Cadence("s", Order()).with_hooks(recorder).sync("fan", [add_a, hang, boom, add_b])
    with pytest.raises(ParallelNoteError) as info:
        await cadence.run()
    assert (info.value.group_name, info.value.task_index) == ("fan", 2)
    assert recorder.calls == [
        ("before_cadence", "s"),
        ("before_note", "fan"),
        ("before_group", "fan", "sync", ("add_a", "hang", "boom", "add_b")),
        ("before_note", "add_a"),
        ("after_note", "add_a", None),
        ("before_note", "hang"),
        ("before_note", "boom"),
        ("after_note", "boom", "ValueError"),
        *(
            []
            if sys.version_info >= (3, 12)
            else [("before_note", "add_b"), ("after_note", "add_b", None)]
        ),
        ("after_group", "fan", "sync", "ParallelNoteError"),
        ("after_note", "fan", "ParallelNoteError"),
        ("on_error", "fan", "ParallelNoteError"),
        ("after_cadence", "s", "ParallelNoteError"),
    ]


async def test_failing_step_order(recorder: Recorder) -> None:
    """A failing step: after_note(error), on_error, after_cadence(error); later steps never start."""
    cadence = Cadence("f", Order()).with_hooks(recorder).then("bad", boom).then("a", add_a)
    with pytest.raises(NoteError):
        await cadence.run()
    assert recorder.calls == [
        ("before_cadence", "f"),
        ("before_note", "bad"),
        ("after_note", "bad", "NoteError"),
        ("on_error", "bad", "NoteError"),
        ("after_cadence", "f", "NoteError"),
    ]


async def test_split_order(recorder: Recorder) -> None:
    """A .split reports the chosen branch's tasks as a group of kind 'split'."""
    cadence = (
        Cadence("sp", Order())
        .with_hooks(recorder)
        .split("route", lambda s: True, [add_a, add_b], add_c_sync)
    )
    await cadence.run()
    assert recorder.calls[1:-1] == [
        ("before_note", "route"),
        ("before_group", "route", "split", ("add_a", "add_b")),
        ("before_note", "add_a"),
        ("after_note", "add_a", None),
        ("before_note", "add_b"),
        ("after_note", "add_b", None),
        ("after_group", "route", "split", None),
        ("after_note", "route", None),
    ]


async def test_child_order(recorder: Recorder) -> None:
    """A .child step nests the child cadence's whole lifecycle inside its group calls."""
    kid = Cadence("kid", Order()).then("k", add_a)
    cadence = (
        Cadence("parent", Order()).with_hooks(recorder).child("ch", kid, lambda parent, child: None)
    )
    await cadence.run()
    assert recorder.calls == [
        ("before_cadence", "parent"),
        ("before_note", "ch"),
        ("before_group", "ch", "child", ("k",)),
        ("before_cadence", "kid"),
        ("before_note", "k"),
        ("after_note", "k", None),
        ("after_cadence", "kid", None),
        ("after_group", "ch", "child", None),
        ("after_note", "ch", None),
        ("after_cadence", "parent", None),
    ]


async def test_retry_order(recorder: Recorder) -> None:
    """@note(retry=...) reports on_retry between attempts, inside the note's before/after."""
    attempts: list[int] = []

    @note(retry={"max_attempts": 3, "delay": 0.5})
    async def flaky(score: Order) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("reset")

    cadence = Cadence("r", Order()).with_hooks(recorder).then("call", flaky)
    with testing.testing_mode(attempts=None):
        await cadence.run()
    assert recorder.calls == [
        ("before_cadence", "r"),
        ("before_note", "call"),
        ("on_retry", "call", 1, 3),
        ("on_retry", "call", 2, 3),
        ("after_note", "call", None),
        ("after_cadence", "r", None),
    ]


async def test_retry_exhausted_in_sync_task_order(recorder: Recorder) -> None:
    """A .sync task that exhausts its retries reports each retry under the task's own name."""

    @note(retry=2)
    async def always(score: Order) -> None:
        raise ConnectionError("down")

    cadence = Cadence("r", Order()).with_hooks(recorder).sync("g", [always])
    with testing.testing_mode(attempts=None), pytest.raises(ParallelNoteError):
        await cadence.run()
    assert recorder.calls[3:6] == [
        ("before_note", "always"),
        ("on_retry", "always", 1, 2),
        ("after_note", "always", "RetryExhaustedError"),
    ]


async def test_on_error_hook_can_suppress(recorder: Recorder) -> None:
    """A hook returning True from on_error lets the run continue with the next step."""

    class Suppress(CadenceHooks):
        async def on_error(self, note_name: str, score: Any, error: BaseException) -> bool:
            return True

    cadence = (
        Cadence("sup", Order())
        .with_hooks([recorder, Suppress()])
        .then("bad", boom)
        .then("a", add_a)
    )
    result = await cadence.run()
    assert result.items == ["a"]
    assert recorder.calls[-1] == ("after_cadence", "sup", None)


async def test_skip_ends_run_cleanly(recorder: Recorder) -> None:
    """Skip ends the run: the step completes without error and later steps never start."""

    async def stop(score: Order) -> None:
        raise Skip("nothing to do")

    cadence = Cadence("sk", Order()).with_hooks(recorder).then("stop", stop).then("a", add_a)
    await cadence.run()
    assert recorder.calls == [
        ("before_cadence", "sk"),
        ("before_note", "stop"),
        ("after_note", "stop", None),
        ("after_cadence", "sk", None),
    ]


class Broken(CadenceHooks):
    """Raises from every hook."""

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        raise RuntimeError("hook bug")

    async def before_note(self, note_name: str, score: Any) -> None:
        raise RuntimeError("hook bug")

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        raise RuntimeError("hook bug")

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        raise RuntimeError("hook bug")


async def test_failing_hook_never_corrupts_a_run(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook that raises is logged; the run's result and the other hooks are unaffected."""
    cadence = (
        Cadence("h", Order())
        .with_hooks([Broken(), recorder])
        .then("a", add_a)
        .sync("g", [add_b, add_c_sync])
    )
    with caplog.at_level(logging.ERROR, logger="cadence.hooks"):
        result = await cadence.run()
    assert sorted(result.items) == ["a", "b", "c"]
    assert len(recorder.calls) == 12
    assert sum("hook bug" in r.exc_text for r in caplog.records if r.exc_text) >= 10


async def test_hooks_on_parent_and_child_are_called_once(recorder: Recorder) -> None:
    """The same hooks object attached to a parent and its child cadence sees each call once."""
    kid = Cadence("kid", Order()).with_hooks(recorder).then("k", add_a)
    cadence = (
        Cadence("parent", Order()).with_hooks(recorder).child("ch", kid, lambda parent, child: None)
    )
    await cadence.run()
    assert recorder.calls.count(("before_note", "k")) == 1
    assert recorder.calls.count(("before_cadence", "kid")) == 1


class PlainHooks(CadenceHooks):
    """Hook methods written as plain functions; one of them returns an awaitable."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def before_note(self, note_name: str, score: Any) -> None:  # type: ignore[override]
        self.calls.append(f"before {note_name}")

    def after_note(  # type: ignore[override]
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> Any:
        async def later() -> None:
            await asyncio.sleep(0)
            self.calls.append(f"after {note_name}")

        return later()


async def test_plain_hook_methods_are_called_and_their_awaitables_awaited() -> None:
    """A hook method may be a plain function; an awaitable it returns is awaited in order."""
    hooks = PlainHooks()
    await Cadence("p", Order()).with_hooks(hooks).then("a", add_a).sync("g", [add_b]).run()
    assert hooks.calls == [
        "before a",
        "after a",
        "before g",
        "before add_b",
        "after add_b",
        "after g",
    ]


async def test_a_lone_failing_hook_is_logged_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With one hooks object (called without the fan-out), its failures are isolated too."""
    score = Order()
    with caplog.at_level(logging.ERROR, logger="cadence.hooks"):
        await Cadence("h", score).with_hooks(Broken()).then("a", add_a).then("b", add_b).run()
    assert score.items == ["a", "b"]
    failed = [r.getMessage() for r in caplog.records]
    assert failed.count("hook Broken.before_note failed; the run continues") == 2
    assert failed.count("hook Broken.after_cadence failed; the run continues") == 1


async def test_a_step_cancelled_mid_run_gets_its_after_note(recorder: Recorder) -> None:
    """Cancelling a run inside a step reports after_note with the CancelledError, then the end."""
    started = asyncio.Event()

    async def hang(score: Order) -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.ensure_future(
        Cadence("x", Order()).with_hooks(recorder).then("hang", hang).run()
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recorder.calls == [
        ("before_cadence", "x"),
        ("before_note", "hang"),
        ("after_note", "hang", "CancelledError"),
        ("after_cadence", "x", "CancelledError"),
    ]


async def test_each_step_sees_its_own_note_in_current_note(recorder: Recorder) -> None:
    """Inside each sequential step, current_note() names that step and holds its score."""
    from cadence import current_note

    seen: list[tuple[str, bool]] = []

    def look(score: Order) -> None:
        scope = current_note()
        assert scope is not None
        seen.append((scope.note_name, scope.score is score))

    await Cadence("s", Order()).with_hooks(recorder).then("one", look).then("two", look).run()
    assert seen == [("one", True), ("two", True)]


class _Quiet(Recorder):
    """A recorder that says, per run, whether it wants the calls of steps that succeed."""

    def __init__(self, wants: list[bool]) -> None:
        super().__init__()
        self.wants = wants

    def wants_notes(self) -> bool:
        return self.wants.pop(0)


async def test_a_hook_that_wants_no_notes_gets_only_failures_and_the_rest() -> None:
    """wants_notes() False: no before_note, no after_note for what succeeds (steps and group
    tasks, a child's steps too); failed steps and tasks, groups and the run still arrive. It is
    asked once per run (a child cadence is a run), and the next run asks again."""
    child = Cadence("kid", Order()).then("ka", add_a)
    quiet = _Quiet([False, False, True, True])
    cadence = (
        Cadence("q", Order())
        .with_hooks(quiet)
        .then("a", add_a)
        .child("sub", child, lambda parent, kid: None)
        .sync("g", [add_b, boom])
    )
    with pytest.raises(ParallelNoteError):
        await cadence.run()
    assert quiet.calls == [
        ("before_cadence", "q"),
        ("before_group", "sub", "child", ("ka",)),
        ("before_cadence", "kid"),
        ("after_cadence", "kid", None),
        ("after_group", "sub", "child", None),
        ("before_group", "g", "sync", ("add_b", "boom")),
        ("after_note", "boom", "ValueError"),
        ("after_group", "g", "sync", "ParallelNoteError"),
        ("after_note", "g", "ParallelNoteError"),
        ("on_error", "g", "ParallelNoteError"),
        ("after_cadence", "q", "ParallelNoteError"),
    ]
    quiet.calls.clear()
    await Cadence("again", Order()).with_hooks(quiet).then("a", add_a).run()
    assert ("before_note", "a") in quiet.calls and ("after_note", "a", None) in quiet.calls


async def test_a_quiet_hook_does_not_silence_the_others(caplog: pytest.LogCaptureFixture) -> None:
    """Of two hooks, only the one whose wants_notes() is False loses its note calls; one whose
    wants_notes() raises is logged and keeps them."""

    class Broken(Recorder):
        def wants_notes(self) -> bool:
            raise RuntimeError("no idea")

    loud, quiet, broken = Recorder(), _Quiet([False]), Broken()
    cadence = (
        Cadence("two", Order())
        .with_hooks(loud)
        .with_hooks(quiet)
        .with_hooks(broken)
        .then("a", add_a)
        .sync("g", [add_b])
    )
    with caplog.at_level(logging.ERROR, logger="cadence.hooks"):
        await cadence.run()
    assert ("before_note", "a") in loud.calls and ("after_note", "add_b", None) in loud.calls
    assert loud.calls == broken.calls
    assert [c[0] for c in quiet.calls] == [
        "before_cadence",
        "before_group",
        "after_group",
        "after_cadence",
    ]
    assert any("wants_notes failed" in r.getMessage() for r in caplog.records)
