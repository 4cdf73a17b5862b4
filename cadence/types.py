"""Type aliases for annotating notes, conditions, merges and reporters.

::

    from cadence.types import Task, Condition

    def build(steps: list[Task[OrderScore]], premium: Condition[OrderScore]) -> Cadence[OrderScore]:
        ...

Each ``X`` is ``SyncX | AsyncX``: the runner accepts a plain function or a coroutine function
everywhere. The names are those of cadence-orchestration 0.7.2.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

__all__ = [
    "AsyncCondition",
    "AsyncInterruptible",
    "AsyncMerge",
    "AsyncTask",
    "ChildScoreT",
    "Condition",
    "ErrorHandler",
    "Interruptible",
    "Merge",
    "ScoreT",
    "SyncCondition",
    "SyncInterruptible",
    "SyncMerge",
    "SyncTask",
    "Task",
    "TimeReporter",
]

ScoreT = TypeVar("ScoreT")
"""The score type of a cadence."""
ChildScoreT = TypeVar("ChildScoreT")
"""The score type of a ``.child`` cadence."""

SyncTask: TypeAlias = Callable[[ScoreT], Any]
AsyncTask: TypeAlias = Callable[[ScoreT], Awaitable[Any]]
Task: TypeAlias = SyncTask[ScoreT] | AsyncTask[ScoreT]
"""A note: called with the score, sync or async."""

SyncCondition: TypeAlias = Callable[[ScoreT], bool]
AsyncCondition: TypeAlias = Callable[[ScoreT], Awaitable[bool]]
Condition: TypeAlias = SyncCondition[ScoreT] | AsyncCondition[ScoreT]
"""A ``.split`` condition: called with the score, returns a truth value."""

SyncInterruptible: TypeAlias = Callable[[ScoreT], bool | None]
AsyncInterruptible: TypeAlias = Callable[[ScoreT], Awaitable[bool | None]]
Interruptible: TypeAlias = SyncInterruptible[ScoreT] | AsyncInterruptible[ScoreT]
"""A ``.then(..., can_interrupt=True)`` task: returning ``True`` ends the run."""

SyncMerge: TypeAlias = Callable[[ScoreT, ChildScoreT], None]
AsyncMerge: TypeAlias = Callable[[ScoreT, ChildScoreT], Awaitable[None]]
Merge: TypeAlias = SyncMerge[ScoreT, ChildScoreT] | AsyncMerge[ScoreT, ChildScoreT]
"""A ``.child`` merge: ``merge(parent_score, child_score)``."""

TimeReporter: TypeAlias = Callable[[str, float, ScoreT], Any]
"""A ``with_reporter`` callable: ``reporter(note_name, seconds, score)``."""
ErrorHandler: TypeAlias = Callable[[ScoreT, Exception], Any]
"""An ``on_error`` handler: ``handler(score, error)``."""
