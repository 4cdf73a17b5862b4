"""Timeouts that really stop waiting: cancellation for async code, worker threads for sync code.

An async call is cancelled when its time is up and the caller gets ``cadence.TimeoutError``
(also a builtin ``TimeoutError``). A sync call runs in a worker thread that the caller stops
waiting for; this needs no ``SIGALRM``, so it works from any thread and on Windows. The timer
runs on the installed clock, so ``cadence.testing.FakeClock`` drives it in tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from cadence.exceptions import TimeoutError
from cadence.resilience._deadline import start_deadline
from cadence.resilience._threads import call_in_thread, call_in_thread_async
from cadence.resilience._util import (
    F,
    check_not_generator,
    check_positive,
    copy_metadata,
    is_async_callable,
    label_of,
)

__all__ = ["Timeout", "call_async_with_limit", "run_attempt", "timeout"]


async def call_async_with_limit(
    fn: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    limit: float,
    name: str,
    what: str = "timeout",
) -> Any:
    """Await ``fn(*args, **kwargs)``, cancelling it after ``limit`` seconds of clock time.

    Works like ``asyncio.timeout``: the deadline cancels the task, and only a cancellation it
    caused (tracked with ``Task.uncancel``) becomes ``TimeoutError``; a cancellation from
    outside propagates unchanged. The deadline's cancel request is always taken back, also
    when ``fn`` catches the cancellation and returns. The deadline shares one timer per loop (see ``_deadline``).
    """
    deadline = start_deadline(limit)
    task = deadline.task
    cancelling = task.cancelling()
    uncancelled = False
    try:
        return await fn(*args, **kwargs)
    except asyncio.CancelledError as exc:
        if deadline.expired:
            uncancelled = True
            if task.uncancel() <= cancelling:
                raise TimeoutError(
                    f"{name!r} exceeded its {what} of {limit:g}s", timeout=limit, note_name=name
                ) from exc
        raise
    finally:
        deadline.finish()
        if deadline.expired and not uncancelled:
            # The call swallowed our cancellation (returned or raised something else): take
            # the request back as asyncio.timeout does, or the task would look cancelled to
            # everything that asks it later (task.cancelling() stays above zero).
            task.uncancel()


async def run_attempt(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    is_async: bool,
    limit: float | None,
    name: str,
    what: str = "timeout",
) -> Any:
    """Run one attempt: async functions inline, sync ones in a worker thread, within ``limit``."""
    if limit is None:
        if is_async:
            return await fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)
    if is_async:
        return await call_async_with_limit(fn, args, kwargs, limit=limit, name=name, what=what)
    fence = getattr(fn, "fence_attempt", None)  # a note's: see _compose.FencedNote
    if fence is None:
        return await call_in_thread_async(fn, args, kwargs, limit=limit, name=name, what=what)
    call, args, finish = fence(args)
    return finish(await call_in_thread_async(call, args, kwargs, limit=limit, name=name, what=what))


class Timeout:
    """Give each call at most ``seconds``; usable as a decorator and by ``@note(timeout=...)``.

    Args:
        seconds: The time limit, a positive number.
        message: The ``TimeoutError`` message when a decorated function runs out of time
            (as in cadence-orchestration 0.7.2's ``timeout(seconds, message=...)``).
    """

    __slots__ = ("message", "seconds")

    def __init__(self, seconds: float, *, message: str | None = None) -> None:
        self.seconds = check_positive(
            "timeout", seconds, "write e.g. timeout=5.0 for five seconds per attempt"
        )
        if message is not None and not isinstance(message, str):
            raise TypeError(f"timeout(message=...) must be a string, got {message!r}")
        self.message = message

    def __repr__(self) -> str:
        return f"Timeout({self.seconds!r})"

    async def call_async(
        self, fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any
    ) -> Any:
        """Call ``fn`` (sync functions in a worker thread) within the time limit."""
        label = label_of(fn, name)
        if is_async_callable(fn):
            return await call_async_with_limit(fn, args, kwargs, limit=self.seconds, name=label)
        return await call_in_thread_async(fn, args, kwargs, limit=self.seconds, name=label)

    def call_sync(
        self, fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any
    ) -> Any:
        """Call sync ``fn`` in a worker thread, giving up after the time limit (real time)."""
        label = label_of(fn, name)
        return call_in_thread(fn, args, kwargs, limit=self.seconds, name=label)

    def __call__(self, fn: F) -> F:
        """Decorate ``fn``: an async function stays async, a sync one stays sync."""
        if not callable(fn):
            raise TypeError(f"@timeout decorates a function, got {type(fn).__name__}")
        check_not_generator("timeout", fn)
        label = label_of(fn)
        limit = self.seconds
        if is_async_callable(fn):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await call_async_with_limit(fn, args, kwargs, limit=limit, name=label)

            if self.message is not None:
                async_wrapper = _with_message_async(async_wrapper, self.message)
            return copy_metadata(async_wrapper, fn, is_async=True)

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            return call_in_thread(fn, args, kwargs, limit=limit, name=label)

        if self.message is not None:
            sync_wrapper = _with_message_sync(sync_wrapper, self.message)
        return copy_metadata(sync_wrapper, fn, is_async=False)


def _relabel(error: TimeoutError, message: str) -> TimeoutError:
    return TimeoutError(message, timeout=error.timeout, note_name=error.note_name)


def _with_message_async(call: Callable[..., Any], message: str) -> Callable[..., Any]:
    async def relabelled(*args: Any, **kwargs: Any) -> Any:
        try:
            return await call(*args, **kwargs)
        except TimeoutError as error:
            raise _relabel(error, message) from error

    return relabelled


def _with_message_sync(call: Callable[..., Any], message: str) -> Callable[..., Any]:
    def relabelled(*args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except TimeoutError as error:
            raise _relabel(error, message) from error

    return relabelled


def timeout(seconds: float, *, message: str | None = None) -> Timeout:
    """Limit how long a call may take, for async and sync functions alike.

    Async functions are cancelled when the time is up. Sync functions run in a worker thread
    that the caller stops waiting for (Python cannot kill a thread): it is reported as abandoned
    and bounded in number (see ``abandoned_threads``). No signals are used, so this works in
    any thread and on Windows.

    Args:
        seconds: The time limit, a positive number.
        message: The error message when a decorated function runs out of time.

    Returns:
        A ``Timeout`` policy, which is also a decorator::

            @timeout(5.0)
            async def fetch(score): ...
    """
    return Timeout(seconds, message=message)
