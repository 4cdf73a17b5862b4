"""Helpers for testing code that uses cadence: a fake clock and a testing mode.

Resilience policies read time through ``cadence.clock``; the helpers here swap that clock so
tests of retries, deadlines and circuit breakers run instantly and deterministically::

    from cadence.testing import FakeClock, testing_mode

    with testing_mode():            # no real sleeping, one attempt per retry policy
        ...

    with FakeClock() as clock:      # sleeps advance the fake time instead of waiting
        ...
        assert clock.sleeps == [1.0, 2.0]

    check_breaker_store(MyStore())  # a circuit-breaker store answers like the reference one

This module imports nothing outside the standard library, so a user's test suite can use it
without any of cadence's extras installed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from cadence import _clock
from cadence.checkpoint._waits.conformance import check_wait_store
from cadence.checkpoint.conformance import check_checkpoint_store
from cadence.resilience._conformance import check_breaker_store

__all__ = [
    "FakeClock",
    "check_breaker_store",
    "check_checkpoint_store",
    "check_wait_store",
    "testing_mode",
]


class _Timer:
    """A callback due at a point of fake time; cancelled timers are skipped when due."""

    __slots__ = ("__weakref__", "callback", "cancelled", "loop", "ran", "when")

    def __init__(
        self,
        when: float,
        loop: asyncio.AbstractEventLoop | None,
        callback: Callable[[], Any],
    ) -> None:
        self.when = when
        self.loop = loop
        self.callback = callback
        self.cancelled = False
        self.ran = False

    def cancel(self) -> None:
        """Stop the timer from firing."""
        self.cancelled = True

    def fire(self) -> None:
        """Run the callback, on its event loop when it has one (loops are not thread-safe)."""
        if self.cancelled:
            return
        if self.loop is None:
            self.run_once()
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.run_once)

    def run_once(self) -> None:
        """Run the callback unless cancelled or already run (fake and real timers race)."""
        if not self.cancelled and not self.ran:
            self.ran = True
            self.callback()


class FakeClock:
    """A clock whose time moves only when told to, for deterministic tests of time-based code.

    With ``auto_advance=True`` (the default) every sleep moves the clock forward by the slept
    amount at once, stopping early at any timer that falls due (a timeout or a deadline) so the
    code under test sees time exactly as it would in real life, only instantly. With
    ``auto_advance=False`` sleepers wait until a test calls :meth:`advance`.

    Only cadence's own waits are faked: an ``await asyncio.sleep`` or real I/O inside the code
    under test takes real time. With ``real_time=True`` the clock also moves with real time
    and timeouts fire after real seconds too, so a hung dependency still times out (this is
    what :func:`testing_mode` uses); with the default ``False`` time stands still between
    sleeps, for exact assertions.

    Use it as a context manager to install it for policies (``with FakeClock() as clock:``),
    or install it through :func:`testing_mode`.

    Args:
        start: The initial reading of :meth:`monotonic`.
        auto_advance: Whether sleeping advances the clock by itself.
        real_time: Whether real time passes on this clock as well as skipped sleeps.

    Attributes:
        sleeps: Every sleep requested, in seconds, in order (async and sync alike).
    """

    def __init__(
        self, start: float = 0.0, *, auto_advance: bool = True, real_time: bool = False
    ) -> None:
        self._now = float(start)  # the reading, minus real time elapsed when real_time is on
        self.auto_advance = auto_advance
        self.real_time = real_time
        self._real_origin = time.monotonic()
        self.sleeps: list[float] = []
        self._timers: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self._installed: list[ExitStack] = []  # one per active ``with``: nesting is allowed

    # -- reading and moving time -------------------------------------------------------------

    def _real_elapsed(self) -> float:
        return time.monotonic() - self._real_origin if self.real_time else 0.0

    def monotonic(self) -> float:
        """The current fake time in seconds."""
        return self._now + self._real_elapsed()

    @property
    def now(self) -> float:
        """The current fake time in seconds (same as :meth:`monotonic`)."""
        return self.monotonic()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing every timer and waking every sleeper due."""
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or math.isnan(seconds)
            or seconds < 0
        ):
            raise ValueError(f"FakeClock.advance needs a number of seconds >= 0, got {seconds!r}")
        self._advance_to(self.monotonic() + seconds)

    def _set_reading(self, reading: float) -> None:
        self._now = max(self._now, reading - self._real_elapsed())

    def _advance_to(self, target: float) -> None:
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > target:
                    self._set_reading(target)
                    return
                when, _, timer = heapq.heappop(self._timers)
                self._set_reading(when)
            timer.fire()

    def _next_due(self) -> float | None:
        with self._lock:
            while self._timers and self._timers[0][2].cancelled:
                heapq.heappop(self._timers)
            return self._timers[0][0] if self._timers else None

    def _schedule(
        self, seconds: float, loop: asyncio.AbstractEventLoop | None, callback: Callable[[], Any]
    ) -> _Timer:
        with self._lock:
            timer = _Timer(self.monotonic() + max(0.0, seconds), loop, callback)
            heapq.heappush(self._timers, (timer.when, next(self._seq), timer))
        if timer.when <= self.monotonic():
            self._advance_to(self.monotonic())  # already due: fire now, do not wait for advance()
        if self.real_time and loop is not None:
            # Real time passes on this clock too: fire after real seconds if no sleep did first.
            loop.call_later(max(0.0, seconds), timer.run_once)
        return timer

    # -- the Clock protocol -------------------------------------------------------------------

    def call_later(
        self, loop: asyncio.AbstractEventLoop, seconds: float, callback: Callable[[], Any]
    ) -> _Timer:
        """Run ``callback`` on ``loop`` once fake time has moved ``seconds`` forward."""
        return self._schedule(seconds, loop, callback)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of fake time; always yields to the event loop at least once."""
        seconds = max(0.0, float(seconds))
        self.sleeps.append(seconds)
        if seconds == 0:
            await asyncio.sleep(0)
            return
        if not self.auto_advance:
            loop = asyncio.get_running_loop()
            woken: asyncio.Future[None] = loop.create_future()

            def wake() -> None:
                if not woken.done():
                    woken.set_result(None)

            timer = self._schedule(seconds, loop, wake)
            try:
                await woken
            finally:
                timer.cancel()
            return
        target = self.monotonic() + seconds
        while True:
            due = self._next_due()
            if due is None or due > target:
                break
            # Stop at the timer (a timeout or deadline of this very task, perhaps) and let its
            # callback run before going on, so a cancellation lands at the exact due time.
            self._advance_to(due)
            await asyncio.sleep(0)
        self._advance_to(target)
        await asyncio.sleep(0)

    def sleep_sync(self, seconds: float) -> None:
        """Block for ``seconds`` of fake time (instantly, with ``auto_advance``)."""
        seconds = max(0.0, float(seconds))
        self.sleeps.append(seconds)
        if self.auto_advance:
            self.advance(seconds)
            return
        woken = threading.Event()
        self._schedule(seconds, None, woken.set)
        woken.wait()

    # -- installing -----------------------------------------------------------------------------

    def __enter__(self) -> FakeClock:
        stack = ExitStack()
        stack.enter_context(_clock.use_clock(self))
        self._installed.append(stack)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            self._installed.pop().close()

    def __repr__(self) -> str:
        return f"FakeClock(now={self.monotonic()!r}, auto_advance={self.auto_advance!r})"


@contextmanager
def testing_mode(
    *, attempts: int | None = 1, clock: FakeClock | None = None, reset_breakers: bool = True
) -> Iterator[FakeClock]:
    """Run resilience policies without real waiting, for fast and deterministic tests.

    Inside the block every sleep (retry backoff, Retry-After) returns at once on a
    :class:`FakeClock` (one that also follows real time, so a call that really hangs still
    times out), and every retry policy makes at most ``attempts`` attempts, so a
    failing dependency fails the test immediately instead of after minutes of backoff. This
    mirrors ``stamina.set_testing`` but is scoped to a ``with`` block, so nothing needs
    resetting by hand.

    Args:
        attempts: The cap on attempts per retry policy; ``None`` keeps each policy's own
            number (useful to test the retries themselves, still without waiting).
        clock: The fake clock to install; a fresh auto-advancing one by default.
        reset_breakers: Close every circuit of the default in-memory breaker store on entry
            and on exit, so a breaker tripped by one test cannot refuse calls in the next.

    Yields:
        The installed fake clock, whose ``sleeps`` list records every wait.
    """
    if attempts is not None and (
        isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1
    ):
        raise ValueError(
            f"testing_mode(attempts=...) must be an int >= 1 or None, got {attempts!r}"
        )
    if clock is not None and not isinstance(clock, FakeClock):
        hint = " (the class, not an instance: pass FakeClock())" if clock is FakeClock else ""
        raise TypeError(f"testing_mode(clock=...) needs a FakeClock instance, got {clock!r}{hint}")
    fake = clock if clock is not None else FakeClock(real_time=True)
    store = None
    if reset_breakers:
        from cadence.resilience import default_store

        store = default_store()
        store.clear()
    try:
        with _clock.use_clock(fake), _clock.cap_attempts(attempts):
            yield fake
    finally:
        if store is not None:
            store.clear()


# ``testing_mode`` starts with "test": tell pytest it is not a test when users import it.
testing_mode.__test__ = False  # type: ignore[attr-defined]
