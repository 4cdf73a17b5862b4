"""The tasks of a ``.split(..., parallel=True)`` branch are observed like a ``.sync`` group's."""

from __future__ import annotations

from typing import Any

from cadence import Cadence
from cadence.events import EventEmitter

from ._support import Order


async def first(score: Order) -> None:
    score.items.append("first")


async def second(score: Order) -> None:
    score.status = "second"


def is_big(score: Order) -> bool:
    return True


async def test_parallel_branch_tasks_reach_hooks_and_events() -> None:
    """Each task of the chosen branch gets its note events, placed in the branch's group."""
    seen: list[Any] = []
    emitter = EventEmitter().on("*", seen.append)
    flow = (
        Cadence("shop", Order())
        .split("route", is_big, [first, second], parallel=True)
        .with_hooks(emitter)
    )
    result = await flow.run(Order(), run_id="r-1")
    assert result.items == ["first"] and result.status == "second"
    notes = [(e.event_type, e.note_name, e.group) for e in seen if e.event_type.startswith("note.")]
    assert ("note.completed", "first", "route_if") in notes
    assert ("note.completed", "second", "route_if") in notes
    groups = [(e.event_type, e.note_name) for e in seen if e.event_type.startswith("group.")]
    assert ("group.started", "route_if") in groups and ("group.completed", "route_if") in groups
    # The branch's records belong to the run: its cadence name and run id.
    task_events = [e for e in seen if e.note_name in ("first", "second")]
    assert {(e.cadence_name, e.run_id) for e in task_events} == {("shop", "r-1")}
