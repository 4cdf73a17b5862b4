"""Many concurrent timeouts share one watchdog timer per loop and each fires at its own time."""

from __future__ import annotations

import asyncio

from cadence.exceptions import TimeoutError
from cadence.resilience import timeout
from cadence.testing import FakeClock


async def test_each_of_many_timeouts_fires_at_its_own_time() -> None:
    """50 tasks with timeouts of 1..50 s: after t seconds exactly the first t have timed out."""
    with FakeClock(auto_advance=False) as clock:

        async def waiter(seconds: int) -> None:
            await timeout(float(seconds))(clock.sleep)(1_000)

        # Started in reverse so later tasks keep arming the watchdog for earlier deadlines.
        tasks = {s: asyncio.create_task(waiter(s)) for s in range(50, 0, -1)}
        await asyncio.sleep(0)
        for t in range(1, 51):
            clock.advance(1.0)
            for _ in range(3):
                await asyncio.sleep(0)
            done = {s for s, task in tasks.items() if task.done()}
            assert done == set(range(1, t + 1)), f"at t={t}"
        for task in tasks.values():
            assert isinstance(task.exception(), TimeoutError)


async def test_finished_calls_leave_no_deadline_behind() -> None:
    """A stream of quick timed calls never cancels a later, unrelated await."""
    with FakeClock(auto_advance=False) as clock:

        @timeout(5.0)
        async def quick() -> str:
            await asyncio.sleep(0)
            return "ok"

        for _ in range(100):
            assert await quick() == "ok"
        clock.advance(60.0)
        for _ in range(3):
            await asyncio.sleep(0)  # would raise CancelledError if a stale deadline fired


async def test_swapping_the_clock_keeps_running_deadlines() -> None:
    """A deadline started on one clock still fires after another clock is installed."""
    first = FakeClock(auto_advance=False)
    with first:
        task = asyncio.create_task(timeout(2.0)(first.sleep)(100))
        await asyncio.sleep(0)
    with FakeClock() as second:
        assert await timeout(1.0)(second.sleep)(0.5) is None
        first.advance(2.0)
        for _ in range(3):
            await asyncio.sleep(0)
        assert isinstance(task.exception(), TimeoutError)


def test_closed_event_loops_are_not_kept_alive() -> None:
    """Timeouts used in many asyncio.run() calls leave no closed loop behind."""
    import gc
    import weakref

    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    @timeout(5.0)
    async def quick() -> int:
        return 1

    async def main() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        assert await quick() == 1

    for _ in range(3):
        asyncio.run(main())
    gc.collect()
    assert [ref() for ref in loops] == [None, None, None]
