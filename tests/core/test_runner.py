"""Runner behaviour: per-run state, cancellation, Skip, interrupts, sync notes, errors, hooks, reporters."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence import (
    Cadence,
    CadenceDefinitionError,
    CadenceHooks,
    ImmutableScore,
    NoteError,
    ParallelNoteError,
    Score,
    Skip,
)


@dataclass
class S(Score):
    value: int = 0
    log: list = field(default_factory=list)


async def test_concurrent_runs_of_one_definition_share_nothing() -> None:
    """Many concurrent runs with different scores each get their own results; the template is untouched."""

    async def double(score: S) -> None:
        await asyncio.sleep(0.001 * (score.value % 5))
        score.log.append(score.value)
        score.value *= 2

    async def branch_a(score: S) -> None:
        score.log.append("a")

    async def branch_b(score: S) -> None:
        score.log.append("b")

    template = S(value=-1)
    cadence = (
        Cadence("c", template)
        .then("double", double)
        .sync("fan", [branch_a, branch_b])
        .then("double_again", double)
    )
    scores = [S(value=i) for i in range(200)]
    results = await asyncio.gather(*(cadence.run(s) for s in scores))
    for i, r in enumerate(results):
        assert r is scores[i]
        assert r.value == i * 4
        assert r.log == [i, "a", "b", i * 2]
    assert template == S(value=-1)


async def test_run_without_score_uses_the_template() -> None:
    """run() with no argument runs on (and returns) the score the cadence was built with."""
    score = S()
    result = await Cadence("c", score).then("inc", lambda s: setattr(s, "value", 1)).run()
    assert result is score and score.value == 1


async def test_cancel_mid_sync_cancels_every_task() -> None:
    """Cancelling a run during a .sync group cancels all in-flight tasks and propagates."""
    started = asyncio.Event()
    cancelled: list[str] = []

    def waiter(name: str) -> Any:
        async def task(score: S) -> None:
            started.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.append(name)
                raise

        task.__name__ = name
        return task

    after: list[str] = []
    cadence = (
        Cadence("c", S())
        .sync("g", [waiter("a"), waiter("b"), waiter("c")])
        .then("after", lambda s: after.append("ran"))
    )
    run = asyncio.create_task(cadence.run())
    await started.wait()
    await asyncio.sleep(0)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert sorted(cancelled) == ["a", "b", "c"]
    assert after == []
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


async def test_first_failure_cancels_siblings() -> None:
    """When one .sync task fails, the others are cancelled rather than left running."""
    cancelled = asyncio.Event()

    async def slow(score: S) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def fail(score: S) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("nope")

    with pytest.raises(ParallelNoteError) as info:
        await Cadence("c", S()).sync("g", [slow, fail]).run()
    assert cancelled.is_set()
    assert (info.value.task_index, info.value.note_name, info.value.group_name) == (1, "fail", "g")
    assert isinstance(info.value.original_error, RuntimeError)


async def test_skip_ends_run_cleanly() -> None:
    """Skip stops later steps and the run returns the score without error."""

    def stop(score: S) -> None:
        raise Skip("nothing to do")

    score = S()
    result = await (
        Cadence("c", score)
        .then("a", lambda s: s.log.append("a"))
        .then("stop", stop)
        .then("b", lambda s: s.log.append("b"))
        .run()
    )
    assert result.log == ["a"]


async def test_can_interrupt_stops_on_true() -> None:
    """A can_interrupt step returning True ends the run early."""
    score = S()
    await (
        Cadence("c", score)
        .then("check", lambda s: True, can_interrupt=True)
        .then("never", lambda s: s.log.append("x"))
        .run()
    )
    assert score.log == []


async def test_sync_notes_run_off_the_event_loop() -> None:
    """Sync notes run in a worker thread, not the loop's thread."""
    loop_thread = threading.get_ident()
    seen: list[int] = []
    await Cadence("c", S()).then("t", lambda s: seen.append(threading.get_ident())).run()
    assert seen and seen[0] != loop_thread


async def test_unhandled_error_is_wrapped_with_the_note_name() -> None:
    """An exception from a note is raised as NoteError naming the step, with the cause chained."""

    async def bad(score: S) -> None:
        raise ValueError("bad input")

    with pytest.raises(NoteError) as info:
        await Cadence("c", S()).then("validate", bad).run()
    err = info.value
    assert err.note_name == "validate" and isinstance(err.original_error, ValueError)
    assert err.__cause__ is err.original_error
    assert str(err) == "[NOTE_ERROR] note 'validate' failed: ValueError: bad input"


async def test_on_error_stop_true_returns_the_score() -> None:
    """With a handler and stop=True the run ends after the handler and returns the score."""
    handled: list[str] = []

    async def bad(score: S) -> None:
        raise ValueError("x")

    score = S()
    result = await (
        Cadence("c", score)
        .then("bad", bad)
        .then("never", lambda s: s.log.append("never"))
        .on_error(lambda s, e: handled.append(e.note_name))
        .run()
    )
    assert result is score and handled == ["bad"] and score.log == []


@dataclass(frozen=True)
class Frozen(ImmutableScore):
    n: int = 0


async def test_immutable_scores_advance_by_returned_copies() -> None:
    """A note returning a new instance of the score class replaces the score."""
    result = await (
        Cadence("c", Frozen())
        .then("inc", lambda s: s.with_field("n", s.n + 1))
        .then("inc2", lambda s: s.replace(n=s.n * 10))
        .run()
    )
    assert result == Frozen(n=10)


class Recorder(CadenceHooks):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        self.calls.append(("before_cadence", cadence_name))

    async def after_cadence(self, cadence_name, score, duration, error=None) -> None:
        self.calls.append(("after_cadence", cadence_name, type(error).__name__ if error else None))

    async def before_note(self, note_name: str, score: Any) -> None:
        self.calls.append(("before_note", note_name))

    async def after_note(self, note_name, score, duration, error=None) -> None:
        assert duration >= 0
        self.calls.append(("after_note", note_name, type(error).__name__ if error else None))

    async def on_error(self, note_name, score, error) -> None:
        self.calls.append(("on_error", note_name))

    async def before_group(self, group_name, kind, task_names, score) -> None:
        self.calls.append(("before_group", group_name, kind, tuple(task_names)))

    async def after_group(self, group_name, kind, score, duration, error=None) -> None:
        self.calls.append(("after_group", group_name, kind))


async def test_hook_call_order_with_groups() -> None:
    """Hooks see steps, group tasks (with their group), and the cadence, in order."""

    async def a(score: S) -> None: ...

    async def b(score: S) -> None: ...

    rec = Recorder()
    await (
        Cadence("c", S())
        .with_hooks(rec)
        .then("first", a)
        .sync("g", [a])
        .split("r", lambda s: False, a, b)
        .run()
    )
    assert rec.calls == [
        ("before_cadence", "c"),
        ("before_note", "first"),
        ("after_note", "first", None),
        ("before_note", "g"),
        ("before_group", "g", "sync", ("a",)),
        ("before_note", "a"),
        ("after_note", "a", None),
        ("after_group", "g", "sync"),
        ("after_note", "g", None),
        ("before_note", "r"),
        ("before_group", "r", "split", ("b",)),
        ("before_note", "b"),
        ("after_note", "b", None),
        ("after_group", "r", "split"),
        ("after_note", "r", None),
        ("after_cadence", "c", None),
    ]


async def test_failing_hook_does_not_break_the_run(caplog: pytest.LogCaptureFixture) -> None:
    """A hook that raises is logged and the run completes normally."""

    class Broken(CadenceHooks):
        async def before_note(self, note_name: str, score: Any) -> None:
            raise RuntimeError("hook bug")

    score = S()
    await Cadence("c", score).with_hooks(Broken()).then("a", lambda s: s.log.append(1)).run()
    assert score.log == [1]
    assert "hook Broken.before_note failed" in caplog.text


async def test_on_error_hook_returning_true_suppresses() -> None:
    """on_error returning True suppresses the error and the run continues (0.7 semantics)."""

    class Suppress(CadenceHooks):
        async def on_error(self, note_name, score, error) -> bool:
            return True

    async def bad(score: S) -> None:
        raise ValueError

    score = S()
    await (
        Cadence("c", score)
        .with_hooks(Suppress())
        .then("bad", bad)
        .then("ok", lambda s: s.log.append("ok"))
        .run()
    )
    assert score.log == ["ok"]


async def test_reporter_called_per_step_and_total() -> None:
    """with_reporter gets (note_name, seconds, score) per step and '<name>:TOTAL' at the end."""
    seen: list[str] = []

    async def reporter(name: str, elapsed: float, score: Any) -> None:
        assert elapsed >= 0
        seen.append(name)

    await (
        Cadence("c", S())
        .with_reporter(reporter)
        .then("a", lambda s: None)
        .then("b", lambda s: None)
        .run()
    )
    assert seen == ["a", "b", "c:TOTAL"]


async def test_child_runs_get_fresh_child_scores() -> None:
    """Concurrent parent runs never share the child's score."""

    @dataclass
    class Child(Score):
        items: list = field(default_factory=list)

    async def add(score: Child) -> None:
        await asyncio.sleep(0.001)
        score.items.append(1)

    child = Cadence("child", Child()).then("add", add)
    parent = Cadence("p", S()).child("k", child, lambda p, c: setattr(p, "value", len(c.items)))
    results = await asyncio.gather(*(parent.run(S()) for _ in range(20)))
    assert [r.value for r in results] == [1] * 20
    assert child.score.items == []


async def test_child_score_factory_reads_the_parent() -> None:
    """child(score=...) builds the child's score from the parent's."""

    @dataclass
    class Child(Score):
        n: int = 0

    child = Cadence("child", Child()).then("sq", lambda s: setattr(s, "n", s.n * s.n))
    parent = Cadence("p", S(value=7)).child(
        "k", child, lambda p, c: setattr(p, "value", c.n), score=lambda p: Child(n=p.value)
    )
    assert (await parent.run()).value == 49


async def test_child_failure_names_the_step() -> None:
    """A failing child surfaces as a NoteError of the child step, with the inner note recorded."""

    async def boom(score: Any) -> None:
        raise RuntimeError("inner")

    child = Cadence("child", S()).then("inner_note", boom)
    with pytest.raises(NoteError) as info:
        await Cadence("p", S()).child("k", child, lambda p, c: None).run()
    assert info.value.note_name == "k" and info.value.details["child_note"] == "inner_note"


def test_run_sync_from_plain_code_and_inside_a_loop() -> None:
    """run_sync works from a script, and from code already inside a running loop."""
    c = Cadence("c", S()).then("a", lambda s: setattr(s, "value", 3))
    assert c.run_sync(S()).value == 3

    async def inside() -> int:
        return c.run_sync(S()).value

    assert asyncio.run(inside()) == 3


async def test_group_tasks_are_their_own_current_task() -> None:
    """Inside a .sync task, asyncio.current_task() is the task, never the run's own task."""
    outer = asyncio.current_task()
    seen: list[Any] = []

    async def probe(score: S) -> None:
        seen.append(asyncio.current_task())

    async def probe_after_wait(score: S) -> None:
        await asyncio.sleep(0)
        seen.append(asyncio.current_task())

    await Cadence("c", S()).sync("g", [probe, probe_after_wait]).run()
    assert len(seen) == 2 and outer not in seen and seen[0] is not seen[1]


async def test_asyncio_timeout_inside_a_group_task_cancels_only_that_task() -> None:
    """A task's own asyncio.timeout expires in the task; the run is not cancelled."""

    async def bounded(score: S) -> None:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.Event().wait()
        except TimeoutError:
            score.log.append("timed out")

    async def other(score: S) -> None:
        score.value = 1

    score = await Cadence("c", S()).sync("g", [bounded, other]).run()
    assert (score.log, score.value) == (["timed out"], 1)


async def test_note_timeout_with_fallback_inside_a_group() -> None:
    """@note(timeout=..., fallback=...) on a hanging .sync task falls back; siblings still merge."""
    from cadence import note

    @note(timeout=0.01, fallback={"default": 5, "field": "value"})
    async def hangs(score: S) -> None:
        await asyncio.Event().wait()

    async def ok(score: S) -> None:
        score.log.append("ok")

    score = await Cadence("c", S()).sync("g", [hangs, ok]).run()
    assert (score.value, score.log) == (5, ["ok"])


async def test_checkpointed_runs_expose_their_run_id_without_hooks() -> None:
    """With a checkpoint store and no hooks, note_scope() still names the run."""
    from cadence.checkpoint import InMemoryCheckpointStore
    from cadence.hooks import note_scope

    seen: list[Any] = []

    async def probe(score: S) -> None:
        scope = note_scope()
        seen.append(scope.run_id if scope else None)

    cadence = (
        Cadence("c", S())
        .with_checkpoint(InMemoryCheckpointStore(), run_id="run-7")
        .then("p", probe)
    )
    await cadence.run()
    assert seen == ["run-7"]


async def test_run_hooks_apply_to_that_run_only() -> None:
    """run(hooks=...) attaches hooks to one run; the definition and other runs don't see them."""
    rec = Recorder()
    cadence = Cadence("c", S()).then("a", lambda s: None)
    await cadence.run(S(), hooks=rec)
    await cadence.run(S())
    assert rec.calls.count(("before_cadence", "c")) == 1
    assert not cadence.hooks
    with pytest.raises(
        CadenceDefinitionError, match=r"run\(hooks=\.\.\.\): expected a CadenceHooks"
    ):
        await cadence.run(S(), hooks=Recorder)
