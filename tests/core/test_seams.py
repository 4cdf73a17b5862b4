"""The public seams other packages build on: run_group, current_note and the clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence import (
    Cadence,
    CadenceDefinitionError,
    CadenceHooks,
    MergeStrategy,
    NoteError,
    NoteScope,
    ParallelNoteError,
    Score,
    clock,
    current_note,
    run_group,
)
from cadence.testing import FakeClock


@dataclass
class S(Score):
    items: list[str] = field(default_factory=list)
    total: int = 0
    label: str = ""


class GroupRecorder(CadenceHooks):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def before_group(self, group_name: str, kind: str, task_names: Any, score: Any) -> None:
        self.calls.append(("before_group", group_name, kind, tuple(task_names)))

    async def before_note(self, note_name: str, score: Any) -> None:
        scope = current_note()
        assert scope is not None
        self.calls.append(("before_note", note_name, scope.cadence_name, scope.group))

    async def after_group(
        self, group_name: str, kind: str, score: Any, duration: float, error: Any = None
    ) -> None:
        self.calls.append(("after_group", group_name, error is None))


async def add_a(score: S) -> None:
    score.items.append("a")
    score.total += 1


def add_b(score: S) -> None:
    score.items.append("b")
    score.label = "b"


async def test_run_group_isolates_and_merges_like_sync() -> None:
    """Each task sees its own view; both list extensions and both fields land after the group."""
    score = S(items=["start"])
    result = await run_group("fan", [add_a, add_b], score)
    assert result is score
    assert score.items == ["start", "a", "b"]
    assert (score.total, score.label) == (1, "b")


async def test_run_group_conflicts_follow_the_merge_strategy() -> None:
    """Different scalar writes conflict by default; last_write_wins takes the later task's value."""

    def one(score: S) -> None:
        score.label = "one"

    def two(score: S) -> None:
        score.label = "two"

    with pytest.raises(NoteError) as info:
        await run_group("both", [one, two], S())
    assert info.value.code == "MERGE_CONFLICT"
    score = await run_group("both", [one, two], S(), merge_strategy=MergeStrategy.last_write_wins)
    assert score.label == "two"


async def test_run_group_failure_names_the_task_and_cancels_the_rest() -> None:
    """A failing task raises ParallelNoteError with its index; a slow sibling is cancelled."""
    cancelled = asyncio.Event()

    async def slow(score: S) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def broken(score: S) -> None:
        await asyncio.sleep(0)
        raise ValueError("no stock")

    with pytest.raises(ParallelNoteError) as info:
        await run_group("check", [slow, broken], S())
    assert (info.value.group_name, info.value.task_index, info.value.note_name) == (
        "check",
        1,
        "broken",
    )
    assert cancelled.is_set()


async def test_run_group_inside_a_note_reports_to_the_runs_hooks() -> None:
    """Called from a hooked run, the group and its tasks are reported under that run."""
    hooks = GroupRecorder()

    async def fan_out(score: S) -> None:
        await run_group("dynamic", [add_a, add_b], score)

    cadence = Cadence("orders", S()).then("fan_out", fan_out).with_hooks(hooks)
    result = await cadence.run(S())
    assert result.items == ["a", "b"]
    assert hooks.calls == [
        ("before_note", "fan_out", "orders", None),
        ("before_group", "dynamic", "sync", ("add_a", "add_b")),
        ("before_note", "add_a", "orders", "dynamic"),
        ("before_note", "add_b", "orders", "dynamic"),
        ("after_group", "dynamic", True),
    ]


@pytest.mark.parametrize(
    ("name", "tasks", "options", "message"),
    [
        ("", [add_a], {}, "non-empty string"),
        ("g", add_a, {}, "list of functions"),
        ("g", [], {}, "empty"),
        ("g", [add_a, 3], {}, r"run_group\('g'\)\[1\]: expected a function"),
        ("g", [add_a], {"merge_strategy": "smart"}, "merge_strategy"),
    ],
)
async def test_run_group_rejects_bad_arguments(
    name: str, tasks: Any, options: dict[str, Any], message: str
) -> None:
    """Bad names, tasks or merge strategies raise CadenceDefinitionError naming the problem."""
    with pytest.raises(CadenceDefinitionError, match=message):
        await run_group(name, tasks, S(), **options)


async def test_current_note_names_the_running_note() -> None:
    """current_note() is None outside a run and describes the note inside a hooked run."""
    assert current_note() is None
    seen: list[NoteScope | None] = []

    def look(score: S) -> None:
        seen.append(current_note())

    await Cadence("c", S()).then("look", look).with_hooks(CadenceHooks()).run(S(), run_id="r1")
    (scope,) = seen
    assert scope is not None
    assert (scope.cadence_name, scope.run_id, scope.note_name, scope.group) == (
        "c",
        "r1",
        "look",
        None,
    )


async def test_code_on_the_public_clock_runs_on_the_fake_clock() -> None:
    """clock.sleep and clock.monotonic follow FakeClock: no real wait, the sleep is recorded."""
    with FakeClock() as fake:
        before = clock.monotonic()
        await clock.sleep(30.0)
        assert clock.monotonic() - before == pytest.approx(30.0)
        assert clock.current() is fake
    assert fake.sleeps == [30.0]
    assert isinstance(clock.current(), clock.SystemClock)
