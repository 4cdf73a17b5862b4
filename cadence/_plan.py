"""The plan a builder records: step records that the runner, diagrams and the validator read.

A cadence *describes* its steps here; running them is the runner's job. The records are plain
slotted classes rather than dataclasses so ``import cadence`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cadence._cadence import Cadence

__all__ = [
    "ChildStep",
    "MapStep",
    "SplitStep",
    "Step",
    "SyncStep",
    "Task",
    "ThenStep",
    "WaitStep",
]


class _Record:
    __slots__ = ()

    def __repr__(self) -> str:
        names: tuple[str, ...] = self.__slots__
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        names: tuple[str, ...] = self.__slots__
        return all(getattr(self, n) == getattr(other, n) for n in names)

    __hash__ = None  # type: ignore[assignment]


class Task(_Record):
    """One callable of a step: its display name and whether calling it returns an awaitable."""

    __slots__ = ("fn", "is_async", "name")

    def __init__(self, name: str, fn: Callable[..., Any], is_async: bool) -> None:
        self.name = name
        self.fn = fn
        self.is_async = is_async


class ThenStep(_Record):
    """Run one note on the score. ``can_interrupt``: a ``True`` return ends the run early."""

    __slots__ = ("can_interrupt", "name", "task")
    kind = "then"

    def __init__(self, name: str, task: Task, can_interrupt: bool = False) -> None:
        self.name = name
        self.task = task
        self.can_interrupt = can_interrupt


class SyncStep(_Record):
    """Run ``tasks`` concurrently, each on an isolated view, then merge their changes."""

    __slots__ = ("merge", "merge_name", "name", "tasks")
    kind = "sync"

    def __init__(
        self, name: str, tasks: tuple[Task, ...], merge: Callable[..., Any], merge_name: str
    ) -> None:
        self.name = name
        self.tasks = tasks
        self.merge = merge
        self.merge_name = merge_name


class SplitStep(_Record):
    """Evaluate ``condition``; run ``if_true`` or ``if_false`` (each a sequence of tasks)."""

    __slots__ = ("condition", "if_false", "if_true", "name")
    kind = "split"

    def __init__(
        self, name: str, condition: Task, if_true: tuple[Task, ...], if_false: tuple[Task, ...]
    ) -> None:
        self.name = name
        self.condition = condition
        self.if_true = if_true
        self.if_false = if_false


class ChildStep(_Record):
    """Run another cadence on its own score, then ``merge(parent, child_score)``.

    ``score`` (optional) builds the child's score from the parent's; without it the child runs
    on a fresh deep copy of the score it was defined with, so runs never share child state.
    """

    __slots__ = ("cadence", "merge", "name", "score")
    kind = "child"

    def __init__(
        self,
        name: str,
        cadence: Cadence[Any],
        merge: Task,
        score: Callable[[Any], Any] | None = None,
    ) -> None:
        self.name = name
        self.cadence = cadence
        self.merge = merge
        self.score = score


class MapStep(_Record):
    """Run ``fn`` once per item of ``items_from`` (a field name or a function of the score).

    ``fn`` is a task (a note taking the item's score) or a ``Cadence`` run per item. ``score``
    (optional) builds an item's score from ``(parent, item)``; without it the score is a
    private copy of the item.
    """

    __slots__ = (
        "concurrency",
        "errors_into",
        "fn",
        "into",
        "items_from",
        "name",
        "on_error",
        "score",
    )
    kind = "map"
    name: str
    items_from: str | Task
    fn: Task | Cadence[Any]
    concurrency: int | None
    into: str | None
    on_error: str
    errors_into: str | None
    score: Callable[[Any, Any], Any] | None

    def __init__(
        self,
        name: str,
        items_from: str | Task,
        fn: Task | Cadence[Any],
        *,
        concurrency: int | None = None,
        into: str | None = None,
        on_error: str = "fail_fast",
        errors_into: str | None = None,
        score: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        # _Record subclasses may be frozen (read-only) or plain; set slots either way.
        for field, value in (
            ("name", name),
            ("items_from", items_from),
            ("fn", fn),
            ("concurrency", concurrency),
            ("into", into),
            ("on_error", on_error),
            ("errors_into", errors_into),
            ("score", score),
        ):
            object.__setattr__(self, field, value)

    @property
    def fn_name(self) -> str:
        """The per-item note's (or cadence's) name, as hooks and diagrams show it."""
        return self.fn.name

    @property
    def items_label(self) -> str:
        """Where the items come from, for diagrams: the field name or the function's name."""
        return self.items_from if isinstance(self.items_from, str) else f"{self.items_from.name}()"


class WaitStep(_Record):
    """Park the run until ``condition`` (an ``Approval``, ``Signal`` or ``Sleep``) is met.

    The resume value goes into the ``into`` field; after ``timeout`` seconds the
    ``on_timeout`` task runs instead (without one, the step fails with ``WaitTimedOut``).
    """

    __slots__ = ("condition", "into", "name", "on_timeout", "timeout")
    kind = "wait"
    name: str
    condition: Any
    into: str | None
    timeout: float | None
    on_timeout: Task | None

    def __init__(
        self,
        name: str,
        condition: Any,
        into: str | None = None,
        timeout: float | None = None,
        on_timeout: Task | None = None,
    ) -> None:
        for field, value in (
            ("name", name),
            ("condition", condition),
            ("into", into),
            ("timeout", timeout),
            ("on_timeout", on_timeout),
        ):
            object.__setattr__(self, field, value)


Step = ThenStep | SyncStep | SplitStep | ChildStep | MapStep | WaitStep
