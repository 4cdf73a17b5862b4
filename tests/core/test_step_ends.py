"""Every start a hook heard gets its end: cancellation inside before_note/before_group, a failing
merge strategy; and a parallel split's tasks end the run (Skip) or fail it as a .sync task does."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence import Cadence, CadenceHooks, NoteError, ParallelNoteError, Score, Skip


@dataclass
class S(Score):
    items: list = field(default_factory=list)
    out: list | None = None


def _err(error: BaseException | None) -> str | None:
    return type(error).__name__ if error is not None else None


class Recorder(CadenceHooks):
    """Records the start and end calls; hangs in ``hang_in`` (``"note"`` or a group kind)."""

    def __init__(self, hang_in: str | None = None) -> None:
        self.hang_in = hang_in
        self.waiting = asyncio.Event()
        self.calls: list[tuple[Any, ...]] = []

    async def _maybe_hang(self, where: str) -> None:
        if where == self.hang_in:
            self.waiting.set()
            await asyncio.Event().wait()

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        self.calls.append(("before_cadence", cadence_name))

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        self.calls.append(("after_cadence", cadence_name, _err(error)))

    async def before_note(self, note_name: str, score: Any) -> None:
        self.calls.append(("before_note", note_name))
        await self._maybe_hang("note")

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        self.calls.append(("after_note", note_name, _err(error)))

    async def before_group(self, group_name: str, kind: str, task_names: Any, score: Any) -> None:
        self.calls.append(("before_group", group_name))
        await self._maybe_hang(kind)

    async def after_group(
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        self.calls.append(("after_group", group_name, _err(error)))


async def _cancel_when_waiting(cadence: Cadence[Any], hook: Recorder) -> None:
    task = asyncio.ensure_future(cadence.run(S()))
    await asyncio.wait_for(hook.waiting.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def add(score: S) -> None:
    score.items.append("a")


@pytest.mark.parametrize("order", ["alone", "hanging-first", "hanging-last"])
async def test_a_run_cancelled_while_a_hook_awaits_in_before_note_reports_after_note(
    order: str,
) -> None:
    """Cancelled inside a step's before_note: every hook hears that step end with the
    CancelledError before the run's end, and the step itself never runs."""
    hanging, other = Recorder("note"), Recorder()
    hooks = {
        "alone": [hanging],
        "hanging-first": [hanging, other],
        "hanging-last": [other, hanging],
    }
    cadence = Cadence("c", S()).with_hooks(hooks[order]).then("a", add)
    await _cancel_when_waiting(cadence, hanging)
    expected = [
        ("before_cadence", "c"),
        ("before_note", "a"),
        ("after_note", "a", "CancelledError"),
        ("after_cadence", "c", "CancelledError"),
    ]
    assert hanging.calls == expected
    if order != "alone":
        assert other.calls == expected


def _group_cadence(kind: str) -> Cadence[Any]:
    cadence: Cadence[Any] = Cadence("c", S())
    if kind == "sync":
        return cadence.sync("g", [add, add])
    if kind == "split":
        return cadence.split("g", lambda s: True, add)
    if kind == "child":
        return cadence.child("g", Cadence("kid", S()).then("a", add), lambda p, c: None)
    return cadence.map("g", lambda s: [S(), S()], add, into="out")


@pytest.mark.parametrize("kind", ["sync", "split", "child", "map"])
async def test_a_run_cancelled_while_a_hook_awaits_in_before_group_reports_after_group(
    kind: str,
) -> None:
    """Cancelled inside before_group: the group's end, then the step's and the run's, all
    carry the CancelledError; no task of the group starts."""
    hook = Recorder(kind)
    await _cancel_when_waiting(_group_cadence(kind).with_hooks(hook), hook)
    assert hook.calls == [
        ("before_cadence", "c"),
        ("before_note", "g"),
        ("before_group", "g"),
        ("after_group", "g", "CancelledError"),
        ("after_note", "g", "CancelledError"),
        ("after_cadence", "c", "CancelledError"),
    ]


@pytest.mark.parametrize("score", [S(), {"items": []}], ids=["dataclass", "dict"])
async def test_a_failing_custom_merge_strategy_ends_its_group_and_names_itself(
    score: Any,
) -> None:
    """A custom merge strategy that raises fails the step with a NoteError naming the group and
    the strategy; after_group still hears the group end, with that error."""

    def broken_merge(original: Any, snapshots: Any, changes: Any) -> None:
        raise ValueError("merge bug")

    def touch(score: Any) -> None:
        pass

    hook = Recorder()
    cadence = Cadence("c", score).with_hooks(hook).sync("g", [touch, touch], broken_merge)
    with pytest.raises(NoteError) as caught:
        await cadence.run()
    assert "group 'g': merge strategy 'broken_merge' failed: ValueError: merge bug" in str(
        caught.value
    )
    assert isinstance(caught.value.original_error, ValueError)
    assert ("after_group", "g", "NoteError") in hook.calls
    assert hook.calls.index(("after_group", "g", "NoteError")) < hook.calls.index(
        ("after_note", "g", "NoteError")
    )


@pytest.mark.parametrize("hooked", [False, True], ids=["bare", "hooked"])
async def test_skip_in_a_parallel_split_branch_ends_the_run(hooked: bool) -> None:
    """Skip raised by a task of a split(parallel=True) branch ends the run cleanly, as it does
    in a sequential branch and in a .sync group: the steps after the split do not run."""

    def skip(score: S) -> None:
        raise Skip("enough")

    def after(score: S) -> None:
        score.items.append("after")

    cadence = (
        Cadence("c", S())
        .split("route", lambda s: True, [add, skip], parallel=True)
        .then("after", after)
    )
    if hooked:
        cadence.with_hooks(Recorder())
    result = await cadence.run(S())
    assert result.items == []  # the group's changes are dropped, and "after" never ran


async def test_a_failing_parallel_split_task_raises_the_groups_parallel_note_error() -> None:
    """A task failing in a split(parallel=True) branch surfaces as the ParallelNoteError naming
    the task and its index, as in a .sync group, not wrapped in a second NoteError."""

    async def boom(score: S) -> None:
        raise ValueError("boom")

    cadence = Cadence("c", S()).split("route", lambda s: True, [add, boom], parallel=True)
    with pytest.raises(ParallelNoteError) as caught:
        await cadence.run(S())
    assert (caught.value.note_name, caught.value.task_index) == ("boom", 1)
    assert isinstance(caught.value.original_error, ValueError)


async def test_a_child_whose_score_cannot_be_copied_fails_naming_the_fix() -> None:
    """A child run without score= deep-copies the child's score; when that fails (a lock in the
    score) the step fails with a NoteError naming the child, the step and score=."""
    import threading

    @dataclass
    class Locked(Score):
        lock: Any = field(default_factory=threading.Lock)

    kid = Cadence("kid", Locked()).then("a", lambda s: None)
    parent = Cadence("p", S()).child("k", kid, lambda p, c: None)
    with pytest.raises(NoteError) as caught:
        await parent.run(S())
    message = str(caught.value)
    assert "child cadence 'kid' (step 'k') runs on a fresh deep copy" in message
    assert "score=lambda parent: ..." in message
    assert caught.value.note_name == "k"
    assert isinstance(caught.value.original_error, TypeError)
