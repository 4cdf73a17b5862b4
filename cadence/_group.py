"""``run_group``: one ``.sync`` group as a function call, for code that fans out at run time.

A cadence's ``.sync`` step is fixed when the cadence is defined. Some fan-outs are only known
while a note runs — the tool calls of one model turn, say — yet should behave exactly like a
``.sync`` step: isolated views of the score, a three-way merge afterwards, fail-fast with a
``ParallelNoteError`` naming the task, and hooks that see each task as part of the group. This
module hands such callables to the runner's own group code rather than re-implementing it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cadence._callables import tasks_of
from cadence._context import current_note
from cadence._merge import MergeStrategy
from cadence._plan import SyncStep
from cadence._runner import _Run, _run_sync  # the runner's own .sync step
from cadence.exceptions import CadenceDefinitionError

__all__ = ["run_group"]

S = TypeVar("S")


async def run_group(
    name: str,
    tasks: Sequence[Callable[[S], Any]],
    score: S,
    *,
    merge_strategy: Callable[..., Any] | None = None,
) -> S:
    """Run ``tasks`` concurrently as one isolated ``.sync`` group on ``score``; return ``score``.

    Each task gets its own view of the score; after all have finished their changes merge into
    ``score`` as ``.sync(name, tasks, merge_strategy)`` would merge them. Called from inside a
    running note, the group reports to that run's hooks (``before_group``, each task's
    ``before_note``/``after_note``, ``after_group``) under the run's cadence name and run id.

    Args:
        name: The group's name, as hooks and errors show it.
        tasks: A non-empty list of sync or async callables taking the score.
        score: The score the tasks read and write (a dataclass, pydantic model or dict).
        merge_strategy: As for ``.sync``; ``MergeStrategy.smart_merge`` by default.

    Raises:
        CadenceDefinitionError: ``name``, ``tasks`` or ``merge_strategy`` is not valid.
        ParallelNoteError: a task failed (the others were cancelled).
        NoteError: the tasks' changes conflict (``MERGE_CONFLICT``).
    """
    if not isinstance(name, str) or not name.strip():
        raise CadenceDefinitionError(
            f"run_group(): the group name must be a non-empty string, got {name!r}"
        )
    where = f"run_group({name!r})"
    if callable(tasks) and not isinstance(tasks, (list, tuple)):
        raise CadenceDefinitionError(f"{where}: expected a list of functions, got one function")
    merge = MergeStrategy.smart_merge if merge_strategy is None else merge_strategy
    if not callable(merge):
        raise CadenceDefinitionError(
            f"{where}: merge_strategy must be a MergeStrategy member or a callable "
            f"(original, snapshots, changes), got {merge!r}"
        )
    step = SyncStep(name, tasks_of(tasks, where), merge, getattr(merge, "__name__", repr(merge)))
    scope = current_note()
    run = (
        _Run(name, None, None)
        if scope is None
        else _Run(scope.cadence_name, scope.run_id, scope.hooks)
    )
    result: S = await _run_sync(step, score, run)
    return result
