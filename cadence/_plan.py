"""The plan a builder records: immutable step records that the runner, diagrams and the
validator read. A cadence *describes* its steps here; running them is the runner's job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cadence._cadence import Cadence

__all__ = ["ChildStep", "SplitStep", "Step", "SyncStep", "Task", "ThenStep"]


@dataclass(frozen=True, slots=True)
class Task:
    """One callable of a step: its display name and whether calling it returns an awaitable."""

    name: str
    fn: Callable[[Any], Any]
    is_async: bool


@dataclass(frozen=True, slots=True)
class ThenStep:
    """Run one note on the score. ``can_interrupt``: a ``True`` return ends the run early."""

    name: str
    task: Task
    can_interrupt: bool = False
    kind: str = "then"


@dataclass(frozen=True, slots=True)
class SyncStep:
    """Run ``tasks`` concurrently, each on an isolated view, then merge their changes."""

    name: str
    tasks: tuple[Task, ...]
    merge: Callable[..., Any]
    merge_name: str
    kind: str = "sync"


@dataclass(frozen=True, slots=True)
class SplitStep:
    """Evaluate ``condition``; run ``if_true`` or ``if_false`` (each a sequence of tasks)."""

    name: str
    condition: Task
    if_true: tuple[Task, ...]
    if_false: tuple[Task, ...]
    kind: str = "split"


@dataclass(frozen=True, slots=True)
class ChildStep:
    """Run another cadence on its own score, then ``merge(parent, child_score)``.

    ``score`` (optional) builds the child's score from the parent's; without it the child runs
    on a fresh deep copy of the score it was defined with, so runs never share child state.
    """

    name: str
    cadence: Cadence[Any]
    merge: Task
    score: Callable[[Any], Any] | None = None
    kind: str = "child"


Step = ThenStep | SyncStep | SplitStep | ChildStep
