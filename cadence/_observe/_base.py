"""The hooks protocol: ``CadenceHooks`` (a base class of no-ops) and ``HooksManager`` (fan-out).

Everything that observes a run is a hooks object — the built-in hooks, the event emitter,
reporters, the web integrations' relays — so this module is the one protocol they share. It
imports nothing else of cadence, so any observer can build on it without an import circle.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import Any, Final, TypeGuard

__all__ = [
    "DONE",
    "CadenceHooks",
    "HooksManager",
    "call_hook",
    "hook_failed",
    "is_failure",
    "is_parked",
    "is_stray_cancel",
    "settle_hook",
]

logger = logging.getLogger("cadence.hooks")


class CadenceHooks:
    """No-op base class for hooks; every method is optional to override.

    The runner calls, in order: ``before_cadence``; for each step ``before_note``, then for a
    group ``before_group`` and the per-task calls, ``after_group``; ``on_retry`` before each
    retry sleep; ``after_note`` (with ``error`` on failure) followed by ``on_error``; finally
    ``after_cadence`` (with ``error`` when the run failed).

    An override may be a coroutine function or a plain function; what a plain one returns is
    awaited when it is awaitable. A plain method costs the runner no coroutine, which is how
    the built-in observers stay cheap per step.
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

    async def on_spend(self, note_name: str, charge: Any, total: Any) -> None:
        """Called after a model request or tool calls were charged to the run's ``Budget``.

        ``charge`` is what that call used, ``total`` the budget's spend after it (both a
        ``cadence.Spend``).
        """

    def wants_notes(self) -> bool:
        """Asked once as each run starts: ``False`` says this hook does nothing for the run's
        steps and tasks that succeed, so the runner does not call its ``before_note``, nor its
        ``after_note`` without an ``error``, in that run. A failed step still reaches
        ``after_note``. ``LoggingHooks`` answers ``False`` when its logger is off for its level.

        The default, ``True``, leaves every call in place. Override it only in a hook whose
        note calls keep no state that a failure report would need.
        """
        return True


_METHODS = (
    "before_cadence",
    "after_cadence",
    "before_note",
    "after_note",
    "on_error",
    "on_retry",
    "before_group",
    "after_group",
    "on_spend",
)


class HooksManager:
    """Fans each hook call out to every attached hook object, isolating their failures.

    Only hook objects that override a method are called for it, so a ``TimingHooks`` that only
    implements ``after_note`` costs nothing on the other calls. The index (method name to the
    bound methods that implement it) is built when a hook is attached, not per call.
    """

    __slots__ = ("_asks", "_calls", "_frozen", "_hooks", "_revision")

    def __init__(self, hooks: Sequence[Any] = ()) -> None:
        self._hooks: list[Any] = []
        self._calls: dict[str, tuple[Callable[..., Any], ...]] = dict.fromkeys(_METHODS, ())
        self._asks: tuple[Any, ...] = ()  # the hooks that override wants_notes()
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
            self._calls[method] = tuple(
                getattr(h, method)
                for h in self._hooks
                if getattr(type(h), method, base) is not base
            )
        asks = CadenceHooks.wants_notes
        self._asks = tuple(
            h for h in self._hooks if getattr(type(h), "wants_notes", asks) is not asks
        )

    def caller(self, method: str) -> Callable[..., Any] | None:
        """The one callable the runner calls for ``method``, or ``None`` when no hook has it.

        With one implementing hook this is that hook's method itself: call it through
        :func:`call_hook` (which isolates a failure and skips the ``await`` when there is
        nothing to wait for). With several it is this dispatcher's fan-out coroutine.
        """
        calls = self._calls[method]
        if not calls:
            return None
        if len(calls) == 1:
            return calls[0]
        return getattr(self, method)  # type: ignore[no-any-return]

    def note_callers(
        self,
    ) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None, Callable[..., Any] | None]:
        """``(before_note, after_note on success, after_note on failure)`` for the run that
        starts now, each as :meth:`caller` gives it: a hook whose ``wants_notes()`` says
        ``False`` is left out of the first two (a ``wants_notes`` that raises counts as
        ``True``, and is logged)."""
        before, after = self.caller("before_note"), self.caller("after_note")
        if not self._asks:
            return before, after, after
        quiet = []
        for h in self._asks:
            try:
                if h.wants_notes() is False:
                    quiet.append(h)
            except Exception:
                hook_failed(h.wants_notes, "wants_notes")
        if not quiet:
            return before, after, after
        return self._without("before_note", quiet), self._without("after_note", quiet), after

    def _without(self, method: str, quiet: Sequence[Any]) -> Callable[..., Any] | None:
        base = getattr(CadenceHooks, method)
        calls: tuple[Callable[..., Any], ...] = tuple(
            getattr(h, method)
            for h in self._hooks
            if getattr(type(h), method, base) is not base and not any(h is q for q in quiet)
        )
        if len(calls) == len(self._calls[method]):
            return self.caller(method)
        if not calls:
            return None
        if len(calls) == 1:
            return calls[0]
        return functools.partial(self._fan_calls, calls, method)

    async def _fan_out(self, method: str, *args: Any) -> list[Any]:
        return await self._fan_calls(self._calls[method], method, *args)

    @staticmethod
    async def _fan_calls(
        calls: tuple[Callable[..., Any], ...], method: str, *args: Any
    ) -> list[Any]:
        results: list[Any] = []
        interrupted: BaseException | None = None
        for fn in calls:
            try:
                result = fn(*args)
                if result is not None and result is not DONE and inspect.isawaitable(result):
                    result = await result
            except Exception:
                hook_failed(fn, method)
                result = None
            except GeneratorExit:  # the run's coroutine is being closed: nothing may await now
                raise
            except BaseException as exc:
                # Cancelled (or interrupted) inside this hook: the hooks after it still get the
                # call (a run cancelled while one hook awaits its before_cadence or after_cadence
                # opens and closes every other hook's gauges and spans), then it propagates.
                if is_stray_cancel(exc):  # not the run's cancellation: this hook failed
                    hook_failed(fn, method)
                elif interrupted is None:
                    interrupted = exc
                elif exc is not interrupted:
                    logger.debug(
                        "hook %s.%s raised %r after an earlier hook's %r; the first propagates",
                        _owner(fn),
                        method,
                        exc,
                        interrupted,
                    )
                result = None
            results.append(result)
        if interrupted is not None:
            raise interrupted
        return results

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Dispatch ``before_cadence``."""
        if self._calls["before_cadence"]:
            await self._fan_out("before_cadence", cadence_name, score)

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Dispatch ``after_cadence``."""
        if self._calls["after_cadence"]:
            await self._fan_out("after_cadence", cadence_name, score, duration, error)

    async def before_note(self, note_name: str, score: Any) -> None:
        """Dispatch ``before_note``."""
        if self._calls["before_note"]:
            await self._fan_out("before_note", note_name, score)

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Dispatch ``after_note``."""
        if self._calls["after_note"]:
            await self._fan_out("after_note", note_name, score, duration, error)

    async def on_error(self, note_name: str, score: Any, error: BaseException) -> bool:
        """Dispatch ``on_error``; ``True`` when any hook asked to suppress the error."""
        if not self._calls["on_error"]:
            return False
        results = await self._fan_out("on_error", note_name, score, error)
        return any(r is True for r in results)

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        """Dispatch ``on_retry``."""
        if self._calls["on_retry"]:
            await self._fan_out("on_retry", note_name, score, attempt, max_attempts, error)

    async def on_spend(self, note_name: str, charge: Any, total: Any) -> None:
        """Dispatch ``on_spend``."""
        if self._calls["on_spend"]:
            await self._fan_out("on_spend", note_name, charge, total)

    async def before_group(
        self, group_name: str, kind: str, task_names: Sequence[str], score: Any
    ) -> None:
        """Dispatch ``before_group``."""
        if self._calls["before_group"]:
            await self._fan_out("before_group", group_name, kind, task_names, score)

    async def after_group(
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """Dispatch ``after_group``."""
        if self._calls["after_group"]:
            await self._fan_out("after_group", group_name, kind, score, duration, error)


class _Done:
    """An awaitable that has already finished (awaiting it gives ``None``)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # makes this a generator function: awaiting DONE ends at once

    def __repr__(self) -> str:
        return "DONE"


DONE: Final[_Done] = _Done()
"""What a plain hook method returns when it has done all its work: callers that ``await`` the
result keep working, and the runner sees at once that there is nothing to wait for."""


def is_parked(error: BaseException | None) -> bool:
    """Whether ``error`` is a run parking at a ``.wait`` (code ``RUN_SUSPENDED``).

    Hooks receive it as the error of the run's end and of its wait step; it is no failure: the
    run resumes later. The built-in hooks and reporters report it as parked, not failed.
    """
    return error is not None and bool(getattr(error, "suspends_run", False))


def is_failure(error: BaseException | None) -> TypeGuard[BaseException]:
    """Whether a hook's ``error`` is a failure: set, and not a run parking at a wait."""
    return error is not None and not is_parked(error)


def call_hook(fn: Callable[..., Any], method: str, *args: Any) -> Awaitable[Any] | None:
    """Call one hook method; return what is left to await, or ``None`` when nothing is.

    A failure is logged (:func:`hook_failed`) and the run goes on. Hook methods may be plain
    functions or coroutine functions; an ``async def`` method always leaves its coroutine.
    """
    try:
        result = fn(*args)
    except Exception:
        hook_failed(fn, method)
        return None
    except asyncio.CancelledError as exc:
        if not is_stray_cancel(exc):
            raise
        hook_failed(fn, method)
        return None
    if result is None or result is DONE or not inspect.isawaitable(result):
        return None
    return result


async def settle_hook(pending: Awaitable[Any], fn: Callable[..., Any], method: str) -> None:
    """Await what :func:`call_hook` left, logging a failure the same way."""
    try:
        await pending
    except Exception:
        hook_failed(fn, method)
    except asyncio.CancelledError as exc:
        if not is_stray_cancel(exc):
            raise
        hook_failed(fn, method)


def is_stray_cancel(error: BaseException) -> bool:
    """Whether ``error`` is a ``CancelledError`` that nobody asked this task for.

    A hook or listener that awaits something cancelled elsewhere (a future of a client that was
    closed, a task another component cancelled) raises ``CancelledError`` although the run is
    not being cancelled; that is the observer's failure, logged and skipped like any other. A
    real cancellation (``task.cancel()``, a timeout, shutdown) leaves the task's
    ``cancelling()`` count above zero and propagates.
    """
    if not isinstance(error, asyncio.CancelledError):
        return False
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: a hook called from plain code
        return False
    return task is not None and task.cancelling() == 0


def hook_failed(fn: Any, method: str) -> None:
    """Log (with the traceback) that a hook raised; the run goes on as if it had not."""
    logger.exception("hook %s.%s failed; the run continues", _owner(fn), method)


def _owner(fn: Any) -> str:
    owner = getattr(fn, "__self__", None)
    return type(owner).__name__ if owner is not None else getattr(fn, "__qualname__", repr(fn))
