"""Fallback: when a call fails, use a default (or a computed value) instead of the error.

For notes, the value usually belongs in a field of the score (``field="context"``), so the
rest of the cadence can carry on with, say, an empty list of search results.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

from cadence.exceptions import CadenceDefinitionError, RetryExhaustedError
from cadence.resilience._util import (
    F,
    check_not_generator,
    copy_metadata,
    is_async_callable,
    is_never_handled,
    make_matcher,
)

__all__ = ["Fallback", "fallback"]

_FRESH_COPY = (list, dict, set, bytearray)


def _positional_arity(handler: Callable[..., Any]) -> int | None:
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return None
    return sum(1 for p in params if p.kind in kinds)


class Fallback:
    """A fallback policy: which errors to absorb and what to use instead.

    See :func:`fallback` for the options. ``@note(fallback={...})`` builds one from a dict.
    """

    __slots__ = ("_handler_takes_score", "_matcher", "default", "field", "handler", "on")

    def __init__(
        self,
        default: Any = None,
        *,
        field: str | None = None,
        handler: Callable[..., Any] | None = None,
        on: Any = None,
    ) -> None:
        if field is not None and (not isinstance(field, str) or not field.isidentifier()):
            raise CadenceDefinitionError(
                f"fallback field must be the name of a score attribute, got {field!r}; "
                'write fallback={"default": [], "field": "results"}'
            )
        if handler is not None and not callable(handler):
            raise CadenceDefinitionError(
                f"fallback handler must be a callable handler(score, error), got {handler!r}"
            )
        self.default = default
        self.field = field
        self.handler = handler
        self.on = on
        self._matcher = make_matcher("fallback on", on)
        # 0.7 handlers took only the error; keep accepting them.
        self._handler_takes_score = handler is None or _positional_arity(handler) != 1

    def __repr__(self) -> str:
        return f"Fallback(default={self.default!r}, field={self.field!r}, handler={self.handler!r})"

    def matches(self, error: BaseException) -> bool:
        """Whether ``error`` should be replaced by the fallback value.

        A retry inside the fallback turns the failure into ``RetryExhaustedError``; ``on``
        also matches one whose last error it matches, so ``on=ConnectionError`` falls back
        after three ``ConnectionError`` attempts, as it does without the retry.
        """
        if is_never_handled(error):
            return False
        if self._matcher is None or self._matcher(error):
            return True
        last = error.last_error if isinstance(error, RetryExhaustedError) else None
        return last is not None and not is_never_handled(last) and bool(self._matcher(last))

    def _default_value(self) -> Any:
        # A mutable default such as [] must not be shared by every score it is written to.
        value = self.default
        return copy.deepcopy(value) if isinstance(value, _FRESH_COPY) else value

    def _call_handler(self, error: BaseException, args: tuple[Any, ...]) -> Any:
        assert self.handler is not None
        if self._handler_takes_score:
            return self.handler(args[0] if args else None, error)
        return self.handler(error)

    def _apply(self, value: Any, args: tuple[Any, ...]) -> Any:
        if self.field is None:
            return value
        if not args:
            raise CadenceDefinitionError(
                f"fallback field={self.field!r} needs the score as the first argument"
            )
        score = args[0]
        if isinstance(score, dict):  # a dict score's fields are its keys
            score[self.field] = value
        else:
            setattr(score, self.field, value)
        return None

    async def recover_async(self, error: BaseException, args: tuple[Any, ...]) -> Any:
        """The fallback result for ``error`` (awaiting an async handler); sets ``field`` if any."""
        if self.handler is None:
            value = self._default_value()
        else:
            value = self._call_handler(error, args)
            if inspect.isawaitable(value):
                value = await value
        return self._apply(value, args)

    def recover_sync(self, error: BaseException, args: tuple[Any, ...]) -> Any:
        """The fallback result for ``error`` from sync code (the handler must be sync)."""
        if self.handler is None:
            value = self._default_value()
        else:
            value = self._call_handler(error, args)
            if inspect.iscoroutine(value):
                value.close()
                raise CadenceDefinitionError(
                    "fallback handler is async but decorates a sync function; "
                    "use a plain function, or make the decorated function async"
                ) from error
        return self._apply(value, args)

    def __call__(self, fn: F) -> F:
        """Decorate ``fn``: an async function stays async, a sync one stays sync."""
        if not callable(fn):
            raise TypeError(f"@fallback decorates a function, got {type(fn).__name__}")
        check_not_generator("fallback", fn)
        if is_async_callable(fn):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await fn(*args, **kwargs)
                except Exception as error:
                    if not self.matches(error):
                        raise
                    return await self.recover_async(error, args)

            return copy_metadata(async_wrapper, fn, is_async=True)
        if inspect.iscoroutinefunction(self.handler):
            raise CadenceDefinitionError(
                f"fallback handler {self.handler.__name__!r} is async but "
                f"{getattr(fn, '__name__', fn)!r} is sync; use a plain handler function, "
                "or make the decorated function async"
            )

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as error:
                if not self.matches(error):
                    raise
                return self.recover_sync(error, args)

        return copy_metadata(sync_wrapper, fn, is_async=False)


def fallback(
    default: Any = None,
    *,
    field: str | None = None,
    handler: Callable[..., Any] | None = None,
    on: Any = None,
) -> Fallback:
    """Replace a failure by a value, so the cadence continues in a degraded mode.

    Args:
        default: The value to use on failure. Lists, dicts and sets are copied each time so
            scores never share one.
        field: Set ``score.<field>`` (``score[field]`` for a dict score) to the value (the
            score is the first argument) and return ``None``, instead of returning the value.
        handler: ``handler(score, error)`` computes the value instead of ``default``; sync or
            async (async only on async functions). ``handler(error)`` also works.
        on: Which errors fall back: an exception type, a tuple of them, or a predicate.
            Default: every ``Exception``. Others propagate unchanged. A
            ``RetryExhaustedError`` (a retry inside the fallback) matches when its
            ``last_error`` does; the handler still receives the ``RetryExhaustedError``.

    Returns:
        A :class:`Fallback` policy, which is also a decorator.
    """
    return Fallback(default, field=field, handler=handler, on=on)
