"""Lifecycle hooks: override the methods you need, attach with ``Cadence.with_hooks``.

``CadenceHooks`` is a base class of async no-ops, so a subclass only writes the calls it cares
about. Hooks are observers: an exception raised by a hook is logged on the ``cadence.hooks``
logger and swallowed, and the run goes on exactly as it would have without that hook. The one
exception is ``on_error``, whose return value is honoured (``True`` suppresses the error and the
run continues with the next step), as in cadence-orchestration 0.7.

Tasks inside ``.sync``, ``.split`` and ``.child`` steps are reported too: ``before_note`` /
``after_note`` fire for each task with the task's name, and ``note_scope()`` tells a hook which
group (and which position in it) the task belongs to. A cadence with no hooks attached skips
all of this: hooks cost nothing until you use them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cadence._context import current_note

__all__ = [
    "CadenceHooks",
    "DebugHooks",
    "HooksManager",
    "LoggingHooks",
    "MetricsHooks",
    "TimingHooks",
    "TracingHooks",
    "note_scope",
]

logger = logging.getLogger("cadence.hooks")


note_scope = current_note
"""The note currently executing (``cadence.current_note``, under its older name)."""


class CadenceHooks:
    """No-op base class for hooks; every method is optional to override.

    The runner calls, in order: ``before_cadence``; for each step ``before_note``, then for a
    group ``before_group`` and the per-task calls, ``after_group``; ``on_retry`` before each
    retry sleep; ``after_note`` (with ``error`` on failure) followed by ``on_error``; finally
    ``after_cadence`` (with ``error`` when the run failed).
    """

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Called once when a run starts."""

    async def after_cadence(
        self,
        cadence_name: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """Called once when a run ends, successfully or not."""

    async def before_note(self, note_name: str, score: Any) -> None:
        """Called before a step, or a task inside a group, starts."""

    async def after_note(
        self,
        note_name: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """Called after a step or task ends; ``error`` is set when it failed."""

    async def on_error(self, note_name: str, score: Any, error: BaseException) -> bool | None:
        """Called when a step fails; return ``True`` to suppress the error and continue."""
        return None

    async def on_retry(
        self,
        note_name: str,
        score: Any,
        attempt: int,
        max_attempts: int,
        error: BaseException,
    ) -> None:
        """Called after attempt number ``attempt`` failed and before the next one starts."""

    async def before_group(
        self, group_name: str, kind: str, task_names: Sequence[str], score: Any
    ) -> None:
        """Called when a ``.sync``/``.split``/``.child`` step starts its tasks (``kind`` says which)."""

    async def after_group(
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """Called when a group's tasks have ended and their changes were merged."""


_METHODS = (
    "before_cadence",
    "after_cadence",
    "before_note",
    "after_note",
    "on_error",
    "on_retry",
    "before_group",
    "after_group",
)


class HooksManager:
    """Fans each hook call out to every attached hook object, isolating their failures.

    Only hook objects that override a method are called for it, so a ``TimingHooks`` that only
    implements ``after_note`` costs nothing on the other calls.
    """

    __slots__ = ("_by_method", "_frozen", "_hooks", "_revision")

    def __init__(self, hooks: Sequence[Any] = ()) -> None:
        self._hooks: list[Any] = []
        self._by_method: dict[str, list[Any]] = {m: [] for m in _METHODS}
        self._frozen = False
        self._revision = 0
        for h in hooks:
            self.add(h)

    def add(self, hooks: Any) -> HooksManager:
        """Attach a hook object (a ``CadenceHooks`` or any object with some of its methods)."""
        self._check_mutable("add")
        self._hooks.append(hooks)
        self._reindex()
        return self

    def remove(self, hooks: Any) -> HooksManager:
        """Detach a hook object."""
        self._check_mutable("remove")
        self._hooks = [h for h in self._hooks if h is not hooks]
        self._reindex()
        return self

    def clear(self) -> None:
        """Detach every hook object."""
        self._check_mutable("clear")
        self._hooks.clear()
        self._reindex()

    def frozen(self) -> HooksManager:
        """A read-only copy with the same hooks, as a ``Plan`` holds it."""
        copy = HooksManager(self._hooks)
        copy._frozen = True
        return copy

    @property
    def revision(self) -> int:
        """A number that changes whenever a hook is attached or detached."""
        return self._revision

    def _check_mutable(self, method: str) -> None:
        if self._frozen:
            raise TypeError(
                f"HooksManager.{method}(): this is a run plan's read-only copy; attach hooks to "
                f"the cadence (cadence.with_hooks(h) or cadence.hooks.{method}(h)) instead"
            )

    @property
    def hooks(self) -> tuple[Any, ...]:
        """The attached hook objects, in the order they are called."""
        return tuple(self._hooks)

    def __bool__(self) -> bool:
        return bool(self._hooks)

    def __len__(self) -> int:
        return len(self._hooks)

    def _reindex(self) -> None:
        self._revision += 1
        for method in _METHODS:
            base = getattr(CadenceHooks, method)
            bound = []
            for h in self._hooks:
                impl = getattr(type(h), method, None)
                if impl is None or impl is base:
                    continue
                bound.append(getattr(h, method))
            self._by_method[method] = bound

    async def _call(self, method: str, *args: Any) -> list[Any]:
        results: list[Any] = []
        for fn in self._by_method[method]:
            try:
                result = fn(*args)
                if inspect.isawaitable(result):
                    result = await result
                results.append(result)
            except Exception:
                logger.exception("hook %s.%s failed; the run continues", _owner(fn), method)
        return results

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Dispatch ``before_cadence``."""
        if self._by_method["before_cadence"]:
            await self._call("before_cadence", cadence_name, score)

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Dispatch ``after_cadence``."""
        if self._by_method["after_cadence"]:
            await self._call("after_cadence", cadence_name, score, duration, error)

    async def before_note(self, note_name: str, score: Any) -> None:
        """Dispatch ``before_note``."""
        if self._by_method["before_note"]:
            await self._call("before_note", note_name, score)

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Dispatch ``after_note``."""
        if self._by_method["after_note"]:
            await self._call("after_note", note_name, score, duration, error)

    async def on_error(self, note_name: str, score: Any, error: BaseException) -> bool:
        """Dispatch ``on_error``; ``True`` when any hook asked to suppress the error."""
        if not self._by_method["on_error"]:
            return False
        results = await self._call("on_error", note_name, score, error)
        return any(r is True for r in results)

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        """Dispatch ``on_retry``."""
        if self._by_method["on_retry"]:
            await self._call("on_retry", note_name, score, attempt, max_attempts, error)

    async def before_group(
        self, group_name: str, kind: str, task_names: Sequence[str], score: Any
    ) -> None:
        """Dispatch ``before_group``."""
        if self._by_method["before_group"]:
            await self._call("before_group", group_name, kind, task_names, score)

    async def after_group(
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """Dispatch ``after_group``."""
        if self._by_method["after_group"]:
            await self._call("after_group", group_name, kind, score, duration, error)


def _owner(fn: Any) -> str:
    owner = getattr(fn, "__self__", None)
    return type(owner).__name__ if owner is not None else getattr(fn, "__qualname__", repr(fn))


_BUILTINS = ("DebugHooks", "LoggingHooks", "MetricsHooks", "TimingHooks", "TracingHooks")

if TYPE_CHECKING:
    from cadence._builtin_hooks import (
        DebugHooks,
        LoggingHooks,
        MetricsHooks,
        TimingHooks,
        TracingHooks,
    )


def __getattr__(name: str) -> Any:
    # The built-in hooks load on first use so that ``import cadence`` stays cheap.
    if name in _BUILTINS:
        from cadence import _builtin_hooks

        return getattr(_builtin_hooks, name)
    raise AttributeError(f"module 'cadence.hooks' has no attribute {name!r}")
