"""Notes: the callables a cadence runs, and the ``@note`` decorator that adds metadata and policy."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from cadence._callables import is_async_callable, note_name_of
from cadence.exceptions import CadenceDefinitionError

__all__ = ["Note", "note"]

S = TypeVar("S")
F = TypeVar("F", bound=Callable[..., Any])


class Note(Generic[S]):
    """A step function with a name, a description and resilience policies.

    Policies compose as timeout (innermost, per attempt), then retry, then fallback
    (outermost), so ``@note(retry=3, timeout=5)`` gives each of three attempts five seconds.

    Args:
        fn: A sync or async callable taking the score.
        name: Name shown in hooks, events and diagrams; defaults to the function's name.
        description: Free text; defaults to the first line of the docstring.
        retry: ``int`` attempts, a dict of ``retry()`` options, a ``Retry`` policy, or a
            tenacity ``AsyncRetrying``/``Retrying`` object.
        timeout: Seconds per attempt (a positive number).
        fallback: A dict ``{"default": ..., "field": ..., "handler": ..., "on": ...}`` or a
            ``Fallback`` policy.
    """

    def __init__(
        self,
        fn: Callable[[S], Any],
        *,
        name: str | None = None,
        description: str | None = None,
        retry: Any = None,
        timeout: Any = None,
        fallback: Any = None,
    ) -> None:
        if not callable(fn):
            raise CadenceDefinitionError(
                f"@note needs a function taking the score, got {type(fn).__name__}: {fn!r}"
            )
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise CadenceDefinitionError(
                f"@note(name=...) must be a non-empty string, got {name!r}"
            )
        self.fn = fn
        self.note_name: str = name or note_name_of(fn)
        doc = inspect.getdoc(fn) or ""
        self.description: str = description or (doc.splitlines()[0] if doc else "")
        self.retry = retry
        self.timeout = timeout
        self.fallback = fallback
        self.has_policies = retry is not None or timeout is not None or fallback is not None
        if self.has_policies:
            from cadence.resilience import compose

            self._call: Callable[[Any], Any] = compose(
                fn, retry=retry, timeout=timeout, fallback=fallback, name=self.note_name
            )
            self._cadence_is_async = True
        else:
            self._call = fn
            self._cadence_is_async = is_async_callable(fn)
        functools.update_wrapper(self, fn)
        self.__name__ = self.note_name
        self.__doc__ = inspect.getdoc(fn)

    @property
    def name(self) -> str:
        """The note's name (same as ``note_name``)."""
        return self.note_name

    @property
    def resilience(self) -> dict[str, dict[str, Any]]:
        """The inline policies as plain dicts, for introspection (``{}`` when there are none).

        ``@note(retry=3, timeout=5)`` gives ``{"retry": {"max_attempts": 3}, "timeout":
        {"seconds": 5.0}}``; dict options are copied as given; a policy object is shown as
        ``{"policy": obj}``.
        """
        out: dict[str, dict[str, Any]] = {}
        for key, value in (("retry", self.retry), ("timeout", self.timeout)):
            if value is None:
                continue
            if isinstance(value, dict):
                out[key] = dict(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = {"max_attempts": value} if key == "retry" else {"seconds": float(value)}
            else:
                out[key] = {"policy": value}
        if self.fallback is not None:
            fb = self.fallback
            out["fallback"] = dict(fb) if isinstance(fb, dict) else {"policy": fb}
        return out

    @property
    def is_async(self) -> bool:
        """Whether calling the note returns an awaitable."""
        return bool(self._cadence_is_async)

    def __call__(self, score: S) -> Any:
        return self._call(score)

    def __repr__(self) -> str:
        # 0.7.2's shape: the name and which options are set (``note.resilience`` has values).
        opts = [
            k
            for k, v in (
                ("retry", self.retry),
                ("timeout", self.timeout),
                ("fallback", self.fallback),
            )
            if v is not None
        ]
        return f"<Note: {self.note_name}{' [' + ', '.join(opts) + ']' if opts else ''}>"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        # Decorating a method: bind like a function would, keeping the note's metadata.
        if obj is None:
            return self
        return Note(
            functools.partial(self.fn, obj),
            name=self.note_name,
            description=self.description,
            retry=self.retry,
            timeout=self.timeout,
            fallback=self.fallback,
        )


@overload
def note(
    fn: Callable[[S], Any],
    *,
    name: str | None = None,
    description: str | None = None,
    retry: Any = None,
    timeout: Any = None,
    fallback: Any = None,
) -> Note[S]: ...


@overload
def note(
    fn: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    retry: Any = None,
    timeout: Any = None,
    fallback: Any = None,
) -> Callable[[Callable[[S], Any]], Note[S]]: ...


def note(
    fn: Callable[[S], Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    retry: Any = None,
    timeout: Any = None,
    fallback: Any = None,
) -> Note[S] | Callable[[Callable[[S], Any]], Note[S]]:
    """Mark a function as a note, bare (``@note``) or with options (``@note(retry=3)``).

    Invalid options raise ``CadenceDefinitionError`` at decoration time, naming the option.
    ``note(f, name=...)`` and ``note(fn=f, ...)`` (0.7.2's keyword) apply the options to ``f``.
    """

    def decorate(f: Callable[[S], Any]) -> Note[S]:
        return Note(
            f, name=name, description=description, retry=retry, timeout=timeout, fallback=fallback
        )

    return decorate if fn is None else decorate(fn)
