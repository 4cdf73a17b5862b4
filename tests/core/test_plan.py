"""The frozen Plan: built by Cadence.plan(), kept until the definition changes, all a run reads."""

from __future__ import annotations

import ast
import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cadence import Cadence, CadenceHooks, HooksManager, Plan, Score

RUNNER = Path(__file__).resolve().parents[2] / "cadence" / "_runner.py"


@dataclass
class S(Score):
    log: list[str] = field(default_factory=list)


def _step(label: str) -> Any:
    async def fn(score: S) -> None:
        score.log.append(label)

    fn.__name__ = label
    return fn


class Recorder(CadenceHooks):
    def __init__(self) -> None:
        self.notes: list[str] = []

    async def before_note(self, note_name: str, score: Any) -> None:
        self.notes.append(note_name)


def test_plan_holds_the_definition() -> None:
    """plan() carries the name, default score, steps, handler and checkpoint settings."""
    from cadence.checkpoint import InMemoryCheckpointStore

    store = InMemoryCheckpointStore()

    def handler(score: S, error: BaseException) -> None:
        return None

    score = S()
    cadence = (
        Cadence("c", score)
        .then("a", _step("a"))
        .sync("b", [_step("b1"), _step("b2")])
        .on_error(handler, stop=False)
        .with_checkpoint(store, "run-1", max_attempts=3)
    )
    plan = cadence.plan()
    assert isinstance(plan, Plan)
    assert (plan.name, plan.score, plan.step_names) == ("c", score, ("a", "b"))
    assert plan.error_handler is handler and plan.stop_on_error is False
    assert (plan.checkpoint, plan.checkpoint_run_id, plan.checkpoint_max_attempts) == (
        store,
        "run-1",
        3,
    )
    assert plan.observed is True
    assert Cadence("bare", S()).then("a", _step("a")).plan().observed is False


def test_plan_and_its_steps_are_read_only() -> None:
    """Assigning to a plan, one of its steps or its hooks raises instead of changing runs."""
    plan = Cadence("c", S()).then("a", _step("a")).with_hooks(Recorder()).plan()
    with pytest.raises(AttributeError, match="read-only"):
        plan.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        plan.steps[0].name = "b"  # type: ignore[misc]
    assert plan.hooks is not None
    with pytest.raises(TypeError, match="read-only copy"):
        plan.hooks.add(Recorder())


def test_plan_is_kept_until_the_definition_changes() -> None:
    """plan() returns the same object until a step or hook is added; then a new one."""
    cadence = Cadence("c", S()).then("a", _step("a"))
    first = cadence.plan()
    assert cadence.plan() is first
    cadence.then("b", _step("b"))
    second = cadence.plan()
    assert second is not first and second.step_names == ("a", "b")
    assert first.step_names == ("a",)
    cadence.hooks.add(Recorder())
    third = cadence.plan()
    assert third is not second and third.hooks is not None and len(third.hooks) == 1


async def test_a_run_in_flight_keeps_its_plan() -> None:
    """A step added while a run is in flight is not run by that run, only by the next one."""
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(score: S) -> None:
        started.set()
        await release.wait()
        score.log.append("slow")

    cadence = Cadence("c", S()).then("slow", slow)
    first = asyncio.create_task(cadence.run(S()))
    await started.wait()
    cadence.then("late", _step("late"))
    release.set()
    assert (await first).log == ["slow"]
    assert (await cadence.run(S())).log == ["slow", "late"]


async def test_hooks_added_through_the_manager_reach_the_next_run() -> None:
    """cadence.hooks.add/remove between runs is seen by the next run (the cached plan is rebuilt)."""
    cadence = Cadence("c", S()).then("a", _step("a"))
    await cadence.run(S())
    recorder = Recorder()
    cadence.hooks.add(recorder)
    await cadence.run(S())
    cadence.hooks.remove(recorder)
    await cadence.run(S())
    assert recorder.notes == ["a"]


async def test_run_accepts_the_enclosing_runs_hooks_manager() -> None:
    """run(hooks=a HooksManager) attaches its members; one attached to both is called once."""
    shared, extra = Recorder(), Recorder()
    child = Cadence("child", S()).then("inner", _step("inner")).with_hooks(shared)
    await child.run(S(), hooks=HooksManager([shared, extra]))
    assert shared.notes == ["inner"]
    assert extra.notes == ["inner"]
    assert (await child.run(S(), hooks=HooksManager())).log == ["inner"]


def _private_builder_fields() -> set[str]:
    """The private attributes a Cadence instance has."""
    return {name for name in vars(Cadence("c", S())) if name.startswith("_")}


def test_the_runner_reads_no_private_builder_field() -> None:
    """_runner.py never reads an attribute that is private to the Cadence builder."""
    fields = _private_builder_fields()
    assert {"_steps", "_hooks", "_checkpoint"} <= fields  # the check would catch these
    tree = ast.parse(RUNNER.read_text(encoding="utf-8"))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert sorted(used & fields) == []
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "cadence._cadence" not in imported
