"""Where a running note can find out which run, group and note it belongs to.

:func:`current_note` is the public reading side. The runner sets the scope only while hooks or
a checkpoint store are attached, so a bare cadence pays nothing; policies (retry, a model
chain) read it to report ``on_retry`` to the run's hooks, and tools and agents read it to run
inside the enclosing run. Each task of a ``.sync`` group runs in its own asyncio task, which
copies the context, so tasks never see each other's scope.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cadence._observe._base import HooksManager

__all__ = ["NoteScope", "current_note", "note_var"]


class NoteScope:
    """The note being executed: its cadence, run, enclosing group and the run's hooks.

    Attributes:
        cadence_name: Name of the cadence running the note.
        run_id: The run's id (checkpointed runs and web requests have one; else ``None``).
        note_name: The step or task name as hooks see it.
        group: Name of the enclosing ``.sync``/``.split``/``.child`` step, or ``None`` at top level.
        task_index: Position inside a ``.sync`` group, else ``None``.
        hooks: The run's hook dispatcher, or ``None`` when no hooks are attached.
        score: The score (or the task's isolated view of it) the note receives.
        started: ``time.perf_counter()`` when the note started (just before ``before_note``);
            the ``duration`` hooks receive is measured from it.
    """

    __slots__ = (
        "cadence_name",
        "group",
        "hooks",
        "note_name",
        "run_id",
        "score",
        "started",
        "task_index",
    )

    def __init__(
        self,
        cadence_name: str,
        run_id: str | None,
        note_name: str,
        group: str | None,
        task_index: int | None,
        hooks: HooksManager | None,
        score: Any,
        started: float = 0.0,
    ) -> None:
        self.cadence_name = cadence_name
        self.run_id = run_id
        self.note_name = note_name
        self.group = group
        self.task_index = task_index
        self.hooks = hooks
        self.score = score
        self.started = started

    def __repr__(self) -> str:
        return (
            f"NoteScope(cadence={self.cadence_name!r}, run_id={self.run_id!r}, "
            f"note={self.note_name!r}, group={self.group!r}, task_index={self.task_index!r})"
        )


note_var: ContextVar[NoteScope | None] = ContextVar("cadence_current_note", default=None)
"""The scope of the note running in this context; set and reset by the runner only."""


def current_note() -> NoteScope | None:
    """The note running in this asyncio task or thread — its cadence, run id, group and the
    run's hooks — or ``None`` outside a run (and in runs with no hooks and no checkpoints).

    A hook reads it to know which group a task belongs to; code called from a note reads it to
    report into the run (``scope.hooks.on_retry(...)``) or to run a nested cadence inside it
    (``cadence.run(score, hooks=scope.hooks)``).
    """
    return note_var.get()
