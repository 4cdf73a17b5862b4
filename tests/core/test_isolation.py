"""`.sync` isolation of assignments and in-place mutation, and the outcome of each merge strategy."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import pickle
import threading
import types
from dataclasses import dataclass, field
from typing import Any

import pydantic
import pytest

from cadence import Cadence, ImmutableScore, MergeConflict, MergeStrategy, NoteError, Score


@dataclass
class S(Score):
    items: list = field(default_factory=list)
    tags: set = field(default_factory=set)
    meta: dict = field(default_factory=dict)
    title: str = ""
    count: int = 0
    big: list = field(default_factory=list)


def named(fn: Any, name: str) -> Any:
    fn.__name__ = name
    return fn


async def test_task_never_sees_another_tasks_in_place_append() -> None:
    """In-place appends stay in the task's view until the merge."""
    seen: dict[str, list[Any]] = {}
    first_done = asyncio.Event()

    async def appender(score: S) -> None:
        score.items.append("a")
        first_done.set()

    async def observer(score: S) -> None:
        await first_done.wait()
        seen["items"] = list(score.items)
        score.items.append("b")

    score = S(items=["base"])
    await Cadence("iso", score).sync("grp", [appender, observer]).run()
    assert seen["items"] == ["base"], "observer must not see appender's append"
    assert score.items == ["base", "a", "b"], "both extensions merged in task order"


async def test_nested_mutation_is_isolated() -> None:
    """Mutating a nested dict inside a list does not leak between tasks or to the score."""
    seen: list[Any] = []
    gate = asyncio.Event()

    async def writer(score: S) -> None:
        score.meta["inner"]["x"] = 1
        gate.set()

    async def reader(score: S) -> None:
        await gate.wait()
        seen.append(dict(score.meta["inner"]))

    score = S(meta={"inner": {}})
    await Cadence("nested", score).sync("g", [writer, reader]).run()
    assert seen == [{}]
    assert score.meta == {"inner": {"x": 1}}


async def test_sync_tasks_in_threads_are_isolated_too() -> None:
    """Sync notes run in worker threads on their own views."""
    barrier = threading.Barrier(2, timeout=5)
    seen: list[list[str]] = []

    def one(score: S) -> None:
        score.items.append("one")
        barrier.wait()

    def two(score: S) -> None:
        barrier.wait()
        seen.append(list(score.items))
        score.items.append("two")

    score = S()
    await Cadence("threads", score).sync("g", [one, two]).run()
    assert seen == [[]]
    assert score.items == ["one", "two"]


async def test_smart_merge_outcomes() -> None:
    """Default merge: one writer wins, equal values agree, lists concat, dicts/sets merge by key."""

    async def a(score: S) -> None:
        score.items.append(1)
        score.meta["a"] = 1
        score.tags.add("x")
        score.title = "same"
        score.count = 5

    async def b(score: S) -> None:
        score.items += [2, 3]
        score.meta["b"] = 2
        score.tags.discard("old")
        score.title = "same"

    score = S(tags={"old"})
    await Cadence("m", score).sync("g", [a, b]).run()
    assert score.items == [1, 2, 3]
    assert score.meta == {"a": 1, "b": 2}
    assert score.tags == {"x"}
    assert (score.title, score.count) == ("same", 5)


async def test_smart_merge_conflicting_scalars_raise() -> None:
    """Different scalar values for one field raise MergeConflict wrapped in NoteError."""
    score = S()
    cadence = Cadence("c", score).sync(
        "g",
        [
            named(lambda s: setattr(s, "title", "left"), "left"),
            named(lambda s: setattr(s, "title", "right"), "right"),
        ],
    )
    with pytest.raises(NoteError) as info:
        await cadence.run()
    conflict = info.value.original_error
    assert isinstance(conflict, MergeConflict)
    assert conflict.field == "title" and sorted(conflict.values) == ["left", "right"]
    assert info.value.code == "MERGE_CONFLICT"
    assert score.title == "", "a failed merge leaves the score as it was"


async def test_smart_merge_conflicting_dict_keys_raise() -> None:
    """Two tasks writing one dict key to different values conflict on that key."""

    async def a(score: S) -> None:
        score.meta["k"] = 1

    async def b(score: S) -> None:
        score.meta["k"] = 2

    with pytest.raises(NoteError, match=r"meta\['k'\]"):
        await Cadence("c", S()).sync("g", [a, b]).run()


async def test_replace_versus_extend_conflicts() -> None:
    """A task replacing a non-empty list while another extends it is a conflict, not a guess."""

    async def replace(score: S) -> None:
        score.items = ["new"]

    async def extend(score: S) -> None:
        score.items.append("more")

    with pytest.raises(NoteError, match="MERGE_CONFLICT"):
        await Cadence("c", S(items=["old"])).sync("g", [replace, extend]).run()


async def test_fail_on_conflict_strategy() -> None:
    """fail_on_conflict refuses even list extensions by two tasks."""

    async def a(score: S) -> None:
        score.items.append(1)

    async def b(score: S) -> None:
        score.items.append(2)

    cadence = Cadence("c", S()).sync("g", [a, b], merge_strategy=MergeStrategy.fail_on_conflict)
    with pytest.raises(NoteError, match="items"):
        await cadence.run()


async def test_last_write_wins_strategy() -> None:
    """last_write_wins keeps the value of the last task in list order."""

    async def slow_first(score: S) -> None:
        await asyncio.sleep(0.02)
        score.title = "first"

    async def fast_second(score: S) -> None:
        score.title = "second"

    score = S()
    await (
        Cadence("c", score)
        .sync("g", [slow_first, fast_second], merge_strategy=MergeStrategy.last_write_wins)
        .run()
    )
    assert score.title == "second"


async def test_custom_merge_callable_gets_original_snapshots_and_changes() -> None:
    """A custom merge receives (original, snapshots, changes) like 0.7's strategies."""
    calls: list[Any] = []

    def summing(original: S, snapshots: list[Any], changes: list[dict[str, Any]]) -> None:
        calls.append((len(snapshots), changes))
        original.count = sum(c.get("count", 0) for c in changes)

    async def two(score: S) -> None:
        score.count = 2

    async def three(score: S) -> None:
        score.count = 3

    score = S()
    await Cadence("c", score).sync("g", [two, three], merge_strategy=summing).run()
    assert score.count == 5
    assert calls == [(2, [{"count": 2}, {"count": 3}])]


async def test_untouched_fields_are_not_copied() -> None:
    """A big field no task reads keeps its identity (no copy, so cost is independent of size)."""
    big = list(range(100_000))
    score = S(big=big)

    async def touch_title(s: S) -> None:
        s.title = "t"

    await Cadence("c", score).sync("g", [touch_title, touch_title]).run()
    assert score.big is big and score.title == "t"


async def test_read_only_access_is_not_a_change() -> None:
    """Reading a list in every task does not count as writing it."""

    async def reader(s: S) -> None:
        s.count = len(s.items) if s.count == 0 else s.count

    score = S(items=[1, 2])
    await Cadence("c", score).sync("g", [reader, reader]).run()
    assert score.items == [1, 2] and score.count == 2


class PydScore(pydantic.BaseModel):
    items: list[str] = []
    title: str = ""


async def test_pydantic_scores_are_isolated_and_merged() -> None:
    """Pydantic models work as scores, with the same isolation and merge."""
    seen: list[list[str]] = []
    gate = asyncio.Event()

    async def a(score: PydScore) -> None:
        score.items.append("a")
        gate.set()

    async def b(score: PydScore) -> None:
        await gate.wait()
        seen.append(list(score.items))
        score.title = "b"

    score = PydScore()
    result = await Cadence("p", score).sync("g", [a, b]).run()
    assert isinstance(result, PydScore)
    assert seen == [[]]
    assert (score.items, score.title) == (["a"], "b")


@dataclass(slots=True)
class Slotted:
    items: list = field(default_factory=list)
    n: int = 0


async def test_slotted_dataclass_scores_work() -> None:
    """Dataclasses with slots=True are isolated and merged like any other score."""

    async def a(score: Slotted) -> None:
        score.items.append(1)

    async def b(score: Slotted) -> None:
        score.n = 7

    score = Slotted()
    await Cadence("s", score).sync("g", [a, b]).run()
    assert (score.items, score.n) == ([1], 7)


async def test_views_are_instances_of_the_score_class() -> None:
    """Tasks can rely on isinstance and methods of their score."""
    kinds: list[bool] = []

    async def check(score: S) -> None:
        kinds.append(isinstance(score, S))

    await Cadence("c", S()).sync("g", [check]).run()
    assert kinds == [True]


async def test_identical_in_place_appends_are_all_kept() -> None:
    """Three tasks appending the same item keep three copies (appends, not one agreed write)."""

    async def add(score: S) -> None:
        score.items.append("same")

    score = S(items=["base"])
    await Cadence("c", score).sync("g", [add, add, add]).run()
    assert score.items == ["base", "same", "same", "same"]


async def test_identical_assignments_agree() -> None:
    """Two tasks assigning equal lists write that list once."""

    async def assign(score: S) -> None:
        score.items = [1, 2]

    score = S()
    await Cadence("c", score).sync("g", [assign, assign]).run()
    assert score.items == [1, 2]


async def test_dict_scores_are_isolated_and_merged() -> None:
    """A plain dict works as a score: tasks see their own copies; keys merge three-way."""
    seen: list[list[str]] = []
    gate = asyncio.Event()

    async def a(score: dict[str, Any]) -> None:
        score["items"].append("a")
        score["title"] = "t"
        gate.set()

    async def b(score: dict[str, Any]) -> None:
        await gate.wait()
        seen.append(list(score["items"]))
        score["items"].append("b")
        del score["old"]

    score: dict[str, Any] = {"items": ["base"], "old": 1}
    result = await Cadence("d", score).sync("g", [a, b]).run()
    assert result is score and seen == [["base"]]
    assert score == {"items": ["base", "a", "b"], "title": "t"}


async def test_dict_score_conflicts_raise() -> None:
    """Two tasks writing different values to one key of a dict score conflict."""

    async def a(score: dict[str, Any]) -> None:
        score["k"] = 1

    async def b(score: dict[str, Any]) -> None:
        score["k"] = 2

    with pytest.raises(NoteError, match="MERGE_CONFLICT"):
        await Cadence("d", {}).sync("g", [a, b]).run()
    score: dict[str, Any] = {}
    await Cadence("d", score).sync("g", [a, b], merge_strategy=MergeStrategy.last_write_wins).run()
    assert score == {"k": 2}


# --- a task's view behaves like the score --------------------------------------------------


@dataclass
class _Order(Score):
    x: int = 0
    log: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Counts(ImmutableScore):
    a: int = 0
    b: int = 0
    tags: tuple[str, ...] = ()


class _Model(pydantic.BaseModel):
    x: int = 0
    log: list[str] = []


def _in_a_group(score: Any, task: Any) -> Any:
    """Run ``task`` as one of two tasks of a .sync group; what it returned, and the result."""
    seen: list[Any] = []

    def probe(s: Any) -> Any:
        out = task(s)
        seen.append(out)
        return out

    result = Cadence("c", score).sync("g", [probe, lambda s: None]).run_sync()
    return seen[0], result


@pytest.mark.parametrize(
    ("label", "task", "expected"),
    [
        ("dataclasses.replace", lambda s: dataclasses.replace(s, x=1).x, 1),
        ("type(score)(...)", lambda s: type(s)(x=3).x, 3),
        ("copy.copy", lambda s: type(copy.copy(s)).__qualname__, "_Order"),
        ("copy.deepcopy", lambda s: copy.deepcopy(s) == _Order(), True),
        ("pickle", lambda s: pickle.loads(pickle.dumps(s)) == _Order(), True),
        ("==", lambda s: s == _Order(), True),
    ],
)
def test_ordinary_operations_on_a_task_view_work(label: str, task: Any, expected: Any) -> None:
    """replace, copies, pickling and equality inside a .sync task act on the score's own class.

    They used to fail with an internal AttributeError ('_cadence_view_'), or (==) say False.
    """
    seen, _ = _in_a_group(_Order(), task)
    assert seen == expected, label


def test_a_shallow_copy_in_a_task_behaves_as_it_does_in_a_then() -> None:
    """copy.copy in a task shares the task's list, as a shallow copy does; the other task
    never sees it, and the result is the one a .then step gives."""
    seen_by_other: list[list[str]] = []

    def task(s: _Order) -> None:
        clone = copy.copy(s)
        clone.log.append("from the copy")

    def other(s: _Order) -> None:
        seen_by_other.append(list(s.log))

    in_group = Cadence("c", _Order(log=["a"])).sync("g", [task, other]).run_sync()
    in_then = Cadence("c", _Order(log=["a"])).then("t", task).run_sync()
    assert in_group.log == in_then.log == ["a", "from the copy"]
    assert seen_by_other == [["a"]]


def test_a_pydantic_score_can_be_copied_in_a_task() -> None:
    """model_copy inside a task returns a model of the score's class (it recursed before)."""
    seen, _ = _in_a_group(_Model(x=1), lambda s: s.model_copy(update={"x": 2}).x)
    assert seen == 2


def test_an_immutable_score_advances_in_a_group_by_returning_new_scores() -> None:
    """Tasks of an ImmutableScore return their version of it; the versions are merged into a
    new score, and the score the run started from is left as it was."""
    start = _Counts()
    result = (
        Cadence("c", start)
        .sync("g", [lambda s: s.with_field("a", 1), lambda s: s.replace(b=2)])
        .run_sync()
    )
    assert result == _Counts(a=1, b=2)
    assert start == _Counts() and result is not start


def test_a_returned_score_wins_over_its_tasks_view_and_merges_with_the_others() -> None:
    """A mutable score's task may return a new instance too: it is that task's version."""

    def returns(s: _Order) -> _Order:
        return _Order(x=5, log=[*s.log, "returned"])

    def mutates(s: _Order) -> None:
        s.log.append("mutated")

    result = Cadence("c", _Order()).sync("g", [returns, mutates]).run_sync()
    assert result.x == 5 and result.log == ["returned", "mutated"]


def test_two_returned_versions_that_disagree_are_a_merge_conflict() -> None:
    """Returned versions go through the group's merge strategy like assignments do."""
    with pytest.raises(NoteError, match="'a'"):
        Cadence("c", _Counts()).sync(
            "g",
            [lambda s: s.with_field("a", 1), lambda s: s.with_field("a", 2)],
            merge_strategy=MergeStrategy.fail_on_conflict,
        ).run_sync()


def test_a_simple_namespace_score_works_in_a_group() -> None:
    """A SimpleNamespace score (its class has its own __new__) is viewed like any object."""
    result = (
        Cadence("c", types.SimpleNamespace(x=0))
        .sync("g", [lambda s: setattr(s, "x", 1), lambda s: None])
        .run_sync()
    )
    assert result.x == 1
