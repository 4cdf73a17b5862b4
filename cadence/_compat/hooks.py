"""0.7.2's one-callback hook factories: ``before_note(fn)``, ``after_note(fn)``, ``on_error(fn)``.

Each wraps a plain function (sync or async) in a hooks object overriding just that method, for
the common "tell me when a note starts" case without writing a class::

    cadence.with_hooks(after_note(lambda name, score, seconds, error: print(name, seconds)))

They are reached as ``cadence.hooks.before_note`` and so on.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from cadence._observe._base import CadenceHooks

__all__ = ["after_note", "before_note", "on_error"]


async def _call(callback: Callable[..., Any], *args: Any) -> Any:
    result = callback(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


def _check(callback: Any, factory: str) -> None:
    if not callable(callback):
        raise TypeError(f"{factory}() takes a function, got {callback!r}")


def before_note(callback: Callable[..., Any]) -> CadenceHooks:
    """Hooks calling ``callback(note_name, score)`` before each note."""
    _check(callback, "before_note")

    class BeforeNote(CadenceHooks):
        async def before_note(self, note_name: str, score: Any) -> None:
            await _call(callback, note_name, score)

    return BeforeNote()


def after_note(callback: Callable[..., Any]) -> CadenceHooks:
    """Hooks calling ``callback(note_name, score, duration, error)`` after each note."""
    _check(callback, "after_note")

    class AfterNote(CadenceHooks):
        async def after_note(
            self, note_name: str, score: Any, duration: float, error: BaseException | None = None
        ) -> None:
            await _call(callback, note_name, score, duration, error)

    return AfterNote()


def on_error(callback: Callable[..., Any]) -> CadenceHooks:
    """Hooks calling ``callback(note_name, score, error)`` when a step fails.

    A truthy return value suppresses the error and the run goes on, like ``CadenceHooks.on_error``
    returning ``True``.
    """
    _check(callback, "on_error")

    class OnError(CadenceHooks):
        async def on_error(self, note_name: str, score: Any, error: BaseException) -> bool | None:
            result = await _call(callback, note_name, score, error)
            return None if result is None else bool(result)

    return OnError()
