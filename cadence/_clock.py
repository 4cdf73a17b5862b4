"""The clock every policy reads: monotonic time, sleeping and timers, swappable for tests.

Retry, timeout and the circuit breaker never call ``time.monotonic``, ``time.sleep`` or
``asyncio.sleep`` directly; they go through the functions here. ``cadence.testing`` installs a
fake clock (and caps retry attempts) through :func:`use_clock` and :func:`cap_attempts`, so a
test of a 30-second backoff runs in microseconds and can assert exactly how long it waited.

The installed clock is process-wide rather than a context variable on purpose: sync notes run
in worker threads, and a breaker shared by threads and tasks must read one clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = [
    "Clock",
    "SystemClock",
    "TimerHandle",
    "attempts_cap",
    "call_later",
    "cap_attempts",
    "current",
    "monotonic",
    "sleep",
    "sleep_sync",
    "use_clock",
]


class TimerHandle(Protocol):
    """What :meth:`Clock.call_later` returns: something that can be cancelled.

    Handles must support weak references (asyncio's do): timeouts hold them weakly, so a
    pending timer never keeps a closed event loop alive.
    """

    def cancel(self) -> None:
        """Stop the timer from firing."""


class Clock(Protocol):
    """A source of monotonic time that can sleep and schedule callbacks."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary, never-decreasing origin."""

    async def sleep(self, seconds: float) -> None:
        """Suspend the current task for ``seconds``."""

    def sleep_sync(self, seconds: float) -> None:
        """Block the current thread for ``seconds``."""

    def call_later(
        self, loop: asyncio.AbstractEventLoop, seconds: float, callback: Callable[[], Any]
    ) -> TimerHandle:
        """Run ``callback`` on ``loop`` after ``seconds``; used by timeouts and deadlines."""


class SystemClock:
    """The real clock: ``time.monotonic``, ``asyncio.sleep``, ``time.sleep``, loop timers."""

    __slots__ = ()

    def monotonic(self) -> float:
        """Seconds from ``time.monotonic``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Suspend with ``asyncio.sleep``."""
        await asyncio.sleep(seconds)

    def sleep_sync(self, seconds: float) -> None:
        """Block with ``time.sleep``."""
        time.sleep(seconds)

    def call_later(
        self, loop: asyncio.AbstractEventLoop, seconds: float, callback: Callable[[], Any]
    ) -> TimerHandle:
        """Schedule on the event loop, whose clock is ``time.monotonic`` too."""
        return loop.call_later(seconds, callback)


class _State:
    __slots__ = ("attempts_cap", "clock")

    def __init__(self) -> None:
        self.clock: Clock = SystemClock()
        self.attempts_cap: int | None = None


_state = _State()


def current() -> Clock:
    """The clock policies use right now."""
    return _state.clock


def monotonic() -> float:
    """Monotonic seconds from the installed clock."""
    return _state.clock.monotonic()


async def sleep(seconds: float) -> None:
    """Sleep ``seconds`` on the installed clock (cancellable, like ``asyncio.sleep``)."""
    await _state.clock.sleep(seconds)


def sleep_sync(seconds: float) -> None:
    """Block the calling thread for ``seconds`` on the installed clock."""
    _state.clock.sleep_sync(seconds)


def call_later(
    loop: asyncio.AbstractEventLoop, seconds: float, callback: Callable[[], Any]
) -> TimerHandle:
    """Schedule ``callback`` after ``seconds`` of the installed clock's time."""
    return _state.clock.call_later(loop, seconds, callback)


def attempts_cap() -> int | None:
    """The testing-mode cap on retry attempts, or ``None`` outside testing mode."""
    return _state.attempts_cap


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Install ``clock`` for the duration of the ``with`` block, then restore the previous one."""
    previous = _state.clock
    _state.clock = clock
    try:
        yield clock
    finally:
        _state.clock = previous


@contextmanager
def cap_attempts(attempts: int | None) -> Iterator[None]:
    """Cap every retry policy at ``attempts`` attempts inside the ``with`` block."""
    previous = _state.attempts_cap
    _state.attempts_cap = attempts
    try:
        yield
    finally:
        _state.attempts_cap = previous
