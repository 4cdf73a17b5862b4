"""The plan a builder records: step records and the frozen :class:`Plan` the runner executes.

A cadence *describes* its steps here; running them is the runner's job. ``Cadence.plan()``
freezes the definition (steps, hooks, reporters, error handler, checkpoint settings) into one
:class:`Plan`, and the runner reads only that: it never looks inside the builder. Diagrams and
the validator read the same step records.

The records are plain slotted classes rather than dataclasses so ``import cadence`` stays
cheap, and they are read-only: assigning an attribute raises ``AttributeError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cadence.exceptions import CadenceDefinitionError

if TYPE_CHECKING:
    from cadence._cadence import Cadence
    from cadence._observe._base import HooksManager

__all__ = [
    "ChildStep",
    "MapStep",
    "Plan",
    "SplitStep",
    "Step",
    "SyncStep",
    "Task",
    "ThenStep",
    "WaitStep",
]

S = TypeVar("S")


class _Record:
    __slots__ = ()

    def _init(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; build a new one instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

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
    name: str
    fn: Callable[..., Any]
    is_async: bool

    def __init__(self, name: str, fn: Callable[..., Any], is_async: bool) -> None:
        self._init(name=name, fn=fn, is_async=is_async)


class ThenStep(_Record):
    """Run one note on the score. ``can_interrupt``: a ``True`` return ends the run early."""

    __slots__ = ("can_interrupt", "name", "task")
    kind = "then"
    name: str
    task: Task
    can_interrupt: bool

    def __init__(self, name: str, task: Task, can_interrupt: bool = False) -> None:
        self._init(name=name, task=task, can_interrupt=can_interrupt)


class SyncStep(_Record):
    """Run ``tasks`` concurrently, each on an isolated view, then merge their changes."""

    __slots__ = ("merge", "merge_name", "name", "tasks")
    kind = "sync"
    name: str
    tasks: tuple[Task, ...]
    merge: Callable[..., Any]
    merge_name: str

    def __init__(
        self, name: str, tasks: tuple[Task, ...], merge: Callable[..., Any], merge_name: str
    ) -> None:
        self._init(name=name, tasks=tasks, merge=merge, merge_name=merge_name)


class SplitStep(_Record):
    """Evaluate ``condition``; run ``if_true`` or ``if_false`` (each a sequence of tasks)."""

    __slots__ = ("condition", "if_false", "if_true", "name")
    kind = "split"
    name: str
    condition: Task
    if_true: tuple[Task, ...]
    if_false: tuple[Task, ...]

    def __init__(
        self, name: str, condition: Task, if_true: tuple[Task, ...], if_false: tuple[Task, ...]
    ) -> None:
        self._init(name=name, condition=condition, if_true=if_true, if_false=if_false)


class ChildStep(_Record):
    """Run another cadence on its own score, then ``merge(parent, child_score)``.

    ``score`` (optional) builds the child's score from the parent's; without it the child runs
    on a fresh deep copy of the score it was defined with, so runs never share child state.
    """

    __slots__ = ("cadence", "merge", "name", "score")
    kind = "child"
    name: str
    cadence: Cadence[Any]
    merge: Task
    score: Callable[[Any], Any] | None

    def __init__(
        self,
        name: str,
        cadence: Cadence[Any],
        merge: Task,
        score: Callable[[Any], Any] | None = None,
    ) -> None:
        self._init(name=name, cadence=cadence, merge=merge, score=score)


class MapStep(_Record):
    """Run ``fn`` once per item of ``items_from`` (a field name or a function of the score).

    ``fn`` is a task: a note that takes the item (a private copy of it) as its score.
    """

    __slots__ = (
        "concurrency",
        "errors_into",
        "fn",
        "into",
        "items_from",
        "name",
        "on_error",
    )
    kind = "map"
    name: str
    items_from: str | Task
    fn: Task
    concurrency: int | None
    into: str | None
    on_error: str
    errors_into: str | None

    def __init__(
        self,
        name: str,
        items_from: str | Task,
        fn: Task,
        *,
        concurrency: int | None = None,
        into: str | None = None,
        on_error: str = "fail_fast",
        errors_into: str | None = None,
    ) -> None:
        self._init(
            name=name,
            items_from=items_from,
            fn=fn,
            concurrency=concurrency,
            into=into,
            on_error=on_error,
            errors_into=errors_into,
        )

    @property
    def fn_name(self) -> str:
        """The per-item note's name, as hooks and diagrams show it."""
        return self.fn.name

    @property
    def items_label(self) -> str:
        """Where the items come from, for diagrams: the field name or the function's name."""
        return self.items_from if isinstance(self.items_from, str) else f"{self.items_from.name}()"


class WaitStep(_Record):
    """Park the run until ``condition`` (an ``Approval``, ``Signal`` or ``Sleep``) is met.

    The resume value goes into the ``into`` field; after ``timeout`` seconds the
    ``on_timeout`` task runs instead (without one, the step fails with ``WaitTimedOut``).
    With ``when``, the run waits only if ``when(score)`` is true.
    """

    __slots__ = ("condition", "into", "name", "on_timeout", "timeout", "when")
    kind = "wait"
    name: str
    condition: Any
    into: str | None
    timeout: float | None
    on_timeout: Task | None
    when: Task | None

    def __init__(
        self,
        name: str,
        condition: Any,
        into: str | None = None,
        timeout: float | None = None,
        on_timeout: Task | None = None,
        when: Task | None = None,
    ) -> None:
        self._init(
            name=name,
            condition=condition,
            into=into,
            timeout=timeout,
            on_timeout=on_timeout,
            when=when,
        )


Step = ThenStep | SyncStep | SplitStep | ChildStep | MapStep | WaitStep


class Plan(_Record, Generic[S]):
    """A cadence's definition, frozen: everything a run reads, and nothing a run changes.

    Reporters given to ``with_reporter`` are hooks, so they are among ``hooks``.

    ``Cadence.plan()`` builds it (and keeps it until the definition changes); the runner
    executes it. A plan never refers back to the builder, so one plan serves any number of
    concurrent runs, and a step added to the cadence later never shows up in a run in flight.

    Attributes:
        name: The cadence's name.
        score: The score a run uses when it is not given one (the cadence's own).
        steps: The steps, in order.
        hooks: A read-only dispatcher over the attached hooks, or ``None`` without hooks.
        error_handler: The ``on_error`` handler, or ``None``.
        stop_on_error: Whether the run ends after ``error_handler`` handled a failure.
        checkpoint: The checkpoint store, or ``None``.
        checkpoint_run_id: The run id given to ``with_checkpoint``, or ``None``.
        checkpoint_max_attempts: ``with_checkpoint(max_attempts=...)``, or ``None``.
        budget: The ``with_budget`` limits (a ``cadence.Budget``), or ``None``.
        budget_into: ``with_budget(into=...)``, or ``None``.
        observed: Whether anything watches the run (hooks, a checkpoint store or a budget);
            when not, the runner takes its fast path.
        waits: Whether a step is a ``wait`` step (such a plan's runs must be checkpointed).
    """

    __slots__ = (
        "budget",
        "budget_into",
        "checkpoint",
        "checkpoint_max_attempts",
        "checkpoint_run_id",
        "error_handler",
        "hooks",
        "name",
        "observed",
        "score",
        "steps",
        "stop_on_error",
        "waits",
    )
    name: str
    score: S
    steps: tuple[Step, ...]
    hooks: HooksManager | None
    error_handler: Callable[..., Any] | None
    stop_on_error: bool
    checkpoint: Any
    checkpoint_run_id: str | None
    checkpoint_max_attempts: int | None
    budget: Any
    budget_into: str | None
    observed: bool
    waits: bool

    def __init__(
        self,
        name: str,
        score: S,
        steps: tuple[Step, ...],
        *,
        hooks: HooksManager | None = None,
        error_handler: Callable[..., Any] | None = None,
        stop_on_error: bool = True,
        checkpoint: Any = None,
        checkpoint_run_id: str | None = None,
        checkpoint_max_attempts: int | None = None,
        budget: Any = None,
        budget_into: str | None = None,
    ) -> None:
        self._init(
            name=name,
            score=score,
            steps=steps,
            hooks=hooks or None,
            error_handler=error_handler,
            stop_on_error=stop_on_error,
            checkpoint=checkpoint,
            checkpoint_run_id=checkpoint_run_id,
            checkpoint_max_attempts=checkpoint_max_attempts,
            budget=budget,
            budget_into=budget_into,
            observed=bool(hooks) or checkpoint is not None or budget is not None,
            waits=any(type(step) is WaitStep for step in steps),
        )

    @property
    def step_names(self) -> tuple[str, ...]:
        """The names of the steps, in order."""
        return tuple(step.name for step in self.steps)


def refuse_waits_inside(steps: Sequence[Step], cadence_name: str, where: str) -> None:
    """Raise when a cadence run as one step (``.child``) has a wait step: on resume its steps
    before the wait would run again. Checked when the child is added and when it runs (a wait
    added to the child afterwards)."""
    wait = next((s for s in steps if type(s) is WaitStep), None)
    if wait is not None:
        raise CadenceDefinitionError(
            f"{where}: cadence {cadence_name!r} has the wait step {wait.name!r}; a child runs as "
            "one step, so on resume its steps before the wait would run again. Put the wait "
            "in the parent cadence, between two children"
        )
