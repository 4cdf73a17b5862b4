"""What cadence needs to know about a callable, and the checked ``Task`` record a step holds.

The builder, ``@note``, the resilience policies and ``run_group`` all ask the same two
questions of a user's callable — which name hooks and diagrams show, and whether calling it
returns an awaitable — so the answers live here, in a module that imports no other part of
cadence but the plan records and the exceptions.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterable
from typing import Any

from cadence._plan import Task
from cadence.exceptions import CadenceDefinitionError

__all__ = ["call_problem", "is_async_callable", "note_name_of", "task_of", "tasks_of"]


def is_async_callable(fn: Any) -> bool:
    """Whether calling ``fn`` returns an awaitable: async functions, async notes and tools,
    ``functools.partial`` over them, and instances whose ``__call__`` is ``async def``.

    An object may say so itself with a ``_cadence_is_async`` attribute (``Note`` does, since
    its policies may make a sync function awaitable).
    """
    marked = getattr(fn, "_cadence_is_async", None)
    if marked is not None:
        return bool(marked)
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - instances with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


def note_name_of(fn: Any) -> str:
    """The name hooks and diagrams use for a callable: a note's name, else its ``__name__``."""
    name = getattr(fn, "note_name", None) or getattr(fn, "__name__", None)
    if isinstance(name, str) and name:
        return name
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", None) or type(fn).__name__


def call_problem(fn: Any, arity: int) -> str | None:
    """Why calling ``fn`` with ``arity`` positional arguments would raise ``TypeError``, or
    None when it would not (or its signature cannot be read, e.g. some builtins).

    The callable's own signature is read, not the one ``functools.wraps`` copied from what it
    wraps: that is the call the runner makes. A ``Note`` (a descriptor, which ``inspect``
    cannot read directly) is read through its class's ``__call__``.
    """
    try:
        sig = inspect.signature(fn, follow_wrapped=False)
    except (TypeError, ValueError):
        call = getattr(type(fn), "__call__", None)  # noqa: B004 - the instance's own call
        if not inspect.isfunction(call):
            return None
        try:
            sig = inspect.signature(functools.partial(call, fn), follow_wrapped=False)
        except (TypeError, ValueError):
            return None
    try:
        sig.bind(*range(arity))
    except TypeError as exc:
        return str(exc)
    return None


def task_of(fn: Any, where: str) -> Task:
    """Check that ``fn`` can be a step's callable and describe it; ``where`` starts the error."""
    if not callable(fn):
        if callable(getattr(fn, "plan", None)) and callable(getattr(fn, "child", None)):
            raise CadenceDefinitionError(
                f"{where}: got Cadence {getattr(fn, 'name', '?')!r}; compose cadences with "
                ".child(name, cadence, merge) instead"
            )
        raise CadenceDefinitionError(
            f"{where}: expected a function taking the score, got {type(fn).__name__} {fn!r}"
        )
    if inspect.isclass(fn):
        raise CadenceDefinitionError(
            f"{where}: got the class {fn.__name__}; pass a function (or an instance with __call__)"
        )
    return Task(note_name_of(fn), fn, is_async_callable(fn))


def tasks_of(value: Any, where: str, *, allow_empty: bool = False) -> tuple[Task, ...]:
    """One callable or an iterable of them as checked tasks (empty only with ``allow_empty``)."""
    if callable(value) and not isinstance(value, (list, tuple)):
        return (task_of(value, where),)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise CadenceDefinitionError(
            f"{where}: expected a function or a list of functions, got {type(value).__name__}"
        )
    items = list(value)
    if not items and not allow_empty:
        raise CadenceDefinitionError(
            f"{where}: the list of tasks is empty; give at least one function"
        )
    return tuple(task_of(fn, f"{where}[{i}]") for i, fn in enumerate(items))
