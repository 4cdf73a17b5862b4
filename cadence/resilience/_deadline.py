"""Deadlines for awaiting tasks: one shared timer per event loop instead of one per call.

``asyncio.timeout`` schedules and cancels a loop timer for every call, which is most of the
cost of a timeout on a call that succeeds quickly. Here every running deadline of a loop is
kept in one dict, and a single *watchdog* timer is armed for the earliest of them. Starting
and finishing a deadline are a dict insert and delete; the watchdog re-arms only when a new
deadline is earlier than the armed one, or when it fires. It is left armed when deadlines
finish, so a stream of calls with the same timeout arms it about once per timeout period.

The watchdog runs on the installed clock (``cadence._clock``), so ``cadence.testing.FakeClock``
fires deadlines at exactly the fake time they fall due.
"""

from __future__ import annotations

import asyncio
import math
import weakref

from cadence import _clock

__all__ = ["Deadline", "start_deadline"]


class Deadline:
    """A point in clock time after which ``task`` is cancelled; ``expired`` says if it was."""

    __slots__ = ("expired", "task", "watchdog", "when")

    def __init__(self, when: float, task: asyncio.Task[object], watchdog: _Watchdog) -> None:
        self.when = when
        self.task = task
        self.watchdog = watchdog
        self.expired = False

    def expire(self) -> None:
        """Mark the deadline passed and cancel its task (on the loop's thread)."""
        self.expired = True
        self.task.cancel()

    def finish(self) -> None:
        """The awaited call ended (in whatever way): stop watching it."""
        self.watchdog.entries.pop(self, None)


class _Watchdog:
    """All deadlines of one event loop on one clock, and the one timer for the earliest."""

    __slots__ = ("__weakref__", "armed_for", "clock", "entries", "handle", "loop_ref")

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: _clock.Clock) -> None:
        # A weak reference: the watchdog is the value of a WeakKeyDictionary keyed by the
        # loop, and a strong one would keep every closed loop alive forever.
        self.loop_ref = weakref.ref(loop)
        self.clock = clock
        self.entries: dict[Deadline, None] = {}
        # Weak too: a loop timer references its loop. The loop (or fake clock) keeps it alive.
        self.handle: weakref.ReferenceType[_clock.TimerHandle] | None = None
        self.armed_for = math.inf

    def add(self, deadline: Deadline) -> None:
        self.entries[deadline] = None
        if deadline.when < self.armed_for:
            self._arm(deadline.when)

    def _arm(self, when: float) -> None:
        previous = self.handle() if self.handle is not None else None
        if previous is not None:
            previous.cancel()
        loop = self.loop_ref()
        if loop is None or loop.is_closed():
            return
        self.armed_for = when
        delay = max(0.0, when - self.clock.monotonic())
        self.handle = weakref.ref(self.clock.call_later(loop, delay, self._fire))

    def _fire(self) -> None:
        self.handle = None
        self.armed_for = math.inf
        now = self.clock.monotonic()
        due = [d for d in self.entries if d.when <= now]
        for deadline in due:
            del self.entries[deadline]
            deadline.expire()
        if self.entries:
            self._arm(min(d.when for d in self.entries))


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = (
    weakref.WeakKeyDictionary()
)
_last: _Watchdog | None = None  # the watchdog used most recently: skips the dict lookup


def _watchdog_for(loop: asyncio.AbstractEventLoop, clock: _clock.Clock) -> _Watchdog:
    global _last
    watchdog = _watchdogs.get(loop)
    if watchdog is None or watchdog.clock is not clock:
        # A different clock (a test installed a FakeClock): deadlines on the old one keep
        # their old watchdog, which stays alive through its armed timer.
        watchdog = _watchdogs[loop] = _Watchdog(loop, clock)
    _last = watchdog
    return watchdog


def start_deadline(seconds: float) -> Deadline:
    """Cancel the current task after ``seconds`` unless :meth:`Deadline.finish` comes first."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task(loop)
    if task is None:  # pragma: no cover - awaited outside a task (exotic loops)
        raise RuntimeError("timeouts need to run inside an asyncio task")
    clock = _clock.current()
    watchdog = _last
    if watchdog is None or watchdog.clock is not clock or watchdog.loop_ref() is not loop:
        watchdog = _watchdog_for(loop, clock)
    deadline = Deadline(clock.monotonic() + seconds, task, watchdog)
    watchdog.add(deadline)
    return deadline
