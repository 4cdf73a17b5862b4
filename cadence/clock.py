"""The clock cadence's policies read, for code of your own that waits or measures time.

Retry backoff, timeouts, circuit-breaker recovery and model fallback chains never call
``time.monotonic`` or ``asyncio.sleep`` directly: they read the installed clock through these
functions. Code that uses them too is covered by ``cadence.testing.FakeClock``, so a test of a
30-second backoff runs in microseconds::

    from cadence import clock

    async def wait_for_quota(seconds: float) -> None:
        started = clock.monotonic()
        await clock.sleep(seconds)  # instant under FakeClock, which records the sleep

``use_clock`` installs another :class:`Clock` (anything with ``monotonic``, ``sleep``,
``sleep_sync`` and ``call_later``) for the duration of a ``with`` block.
"""

from __future__ import annotations

from cadence._clock import (
    Clock,
    SystemClock,
    TimerHandle,
    call_later,
    current,
    monotonic,
    sleep,
    sleep_sync,
    use_clock,
)

__all__ = [
    "Clock",
    "SystemClock",
    "TimerHandle",
    "call_later",
    "current",
    "monotonic",
    "sleep",
    "sleep_sync",
    "use_clock",
]
