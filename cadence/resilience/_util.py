"""Shared helpers of the resilience policies: option checks, error matching, wrapping.

Every policy validates its options when it is created, so a typo fails at import time of the
user's module with a message naming the option, not at 3 a.m. on the first failure.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

from cadence._callables import is_async_callable, note_name_of
from cadence.exceptions import BudgetExceededError, CadenceDefinitionError, Skip

__all__ = [
    "ErrorMatcher",
    "F",
    "check_non_negative",
    "check_not_generator",
    "check_positive",
    "copy_metadata",
    "is_async_callable",
    "is_never_handled",
    "label_of",
    "make_matcher",
]

F = TypeVar("F", bound=Callable[..., Any])
"""A decorated callable: decorators return something with the same signature."""

ErrorMatcher = Callable[[BaseException], Any]
"""Returns falsy to leave an error alone; truthy (or a delay in seconds) to handle it."""


def is_never_handled(error: BaseException) -> bool:
    """Errors no policy may retry, swallow or fall back from: control flow, not failures.

    ``asyncio.CancelledError``, ``KeyboardInterrupt`` and ``SystemExit`` are not ``Exception``
    subclasses and are never caught at all; ``Skip`` is an ``Exception`` but means "end the run
    cleanly", so retrying or replacing it would change the program's meaning; a
    ``BudgetExceededError`` stops the run, and retrying or falling back would spend past it.
    """
    return not isinstance(error, Exception) or isinstance(error, Skip | BudgetExceededError)


def label_of(fn: Any, name: str | None = None) -> str:
    """The name a policy uses for ``fn`` in errors and logs: ``name``, the note's, or ``__name__``."""
    return name or note_name_of(fn)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_positive(option: str, value: Any, hint: str) -> float:
    """``value`` as a float if it is a finite number > 0, else a definition error."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise CadenceDefinitionError(
            f"{option} must be a positive number of seconds, got {value!r}; {hint}"
        )
    return float(value)


def check_non_negative(option: str, value: Any, hint: str) -> float:
    """``value`` as a float if it is a finite number >= 0, else a definition error."""
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise CadenceDefinitionError(f"{option} must be a number >= 0, got {value!r}; {hint}")
    return float(value)


def check_not_generator(policy: str, fn: Any) -> None:
    """Refuse a generator function: a policy around it would guard nothing, silently.

    Calling a generator function only creates the generator; its body (the failures, the slow
    parts) runs while the caller iterates, after the policy has already returned.
    """
    target = fn
    while isinstance(target, functools.partial):
        target = target.func
    if getattr(target, "note_name", None) is not None:  # a Note: look at its function
        target = getattr(target, "fn", target)
    if inspect.isasyncgenfunction(target):
        kind = "an async generator"
    elif inspect.isgeneratorfunction(target):
        kind = "a generator"
    else:
        return
    raise CadenceDefinitionError(
        f"{policy} cannot protect {note_name_of(fn)!r}: it is {kind} function, whose body runs "
        f"while the caller iterates, after the {policy} has returned; apply the {policy} to "
        "the call that produces the items, or collect them in a regular function"
    )


def _is_exception_type(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseException)


def make_matcher(option: str, on: Any) -> ErrorMatcher | None:
    """Turn an ``on=`` option (type, tuple of types, or predicate) into one matcher function.

    Returns ``None`` for ``on=None`` (match every ``Exception``), which lets callers skip the
    call on the hot path.
    """
    if on is None:
        return None
    if _is_exception_type(on):
        exc_type: type[BaseException] = on
        return lambda error: isinstance(error, exc_type)
    if isinstance(on, tuple | list | set | frozenset):
        types = tuple(on)
        bad = [t for t in types if not _is_exception_type(t)]
        if bad or not types:
            raise CadenceDefinitionError(
                f"{option} must be exception types, got {bad or list(types)!r}; "
                f"write {option}=(ConnectionError, TimeoutError) or pass a predicate"
            )
        return lambda error: isinstance(error, types)
    if callable(on):
        predicate: ErrorMatcher = on
        return predicate
    raise CadenceDefinitionError(
        f"{option} must be an exception type, a tuple of them, or a predicate "
        f"taking the error, got {type(on).__name__}: {on!r}"
    )


def copy_metadata(wrapper: Any, wrapped: F, *, is_async: bool) -> F:
    """Make ``wrapper`` look like ``wrapped`` to users, the runner and other decorators.

    A ``Note`` is an object, not a function: ``functools.wraps`` would copy its internals
    (``_call``, policies) onto the wrapper, so only the public identity is carried over.
    """
    if inspect.isfunction(wrapped) or inspect.ismethod(wrapped):
        functools.update_wrapper(wrapper, wrapped)
    else:
        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            value = getattr(wrapped, attr, None)
            if value is not None:
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(wrapper, attr, value)
        wrapper.__wrapped__ = wrapped
    name = getattr(wrapped, "note_name", None)
    if name is not None:
        wrapper.note_name = name
        description = getattr(wrapped, "description", None)
        if description is not None:
            wrapper.description = description
    wrapper._cadence_is_async = is_async
    return cast(F, wrapper)
