"""Timeouts: async cancellation, sync worker threads from any thread, abandoned threads bounded."""

from __future__ import annotations

import asyncio
import builtins
import threading
import time

import pytest

from cadence.exceptions import CadenceDefinitionError, CadenceError, TimeoutError
from cadence.resilience import abandoned_threads, set_abandoned_thread_limit, timeout
from cadence.testing import FakeClock


async def test_async_timeout_cancels_and_raises(clock: FakeClock) -> None:
    """An async call past its limit is cancelled; the caller gets cadence.TimeoutError."""
    cancelled = False

    @timeout(2.0)
    async def slow() -> None:
        nonlocal cancelled
        try:
            await clock.sleep(60)
        except asyncio.CancelledError:
            cancelled = True
            raise

    start = clock.now
    with pytest.raises(TimeoutError) as info:
        await slow()
    assert cancelled
    assert clock.now == pytest.approx(start + 2.0)
    assert isinstance(info.value, builtins.TimeoutError)
    assert info.value.timeout == 2.0
    assert info.value.note_name == "slow"


async def test_async_result_within_limit(clock: FakeClock) -> None:
    """A call finishing in time returns its value and leaves no timer behind."""

    @timeout(5.0)
    async def quick(x: int) -> int:
        await clock.sleep(1.0)
        return x + 1

    assert await quick(1) == 2
    clock.advance(100)  # the cancelled timer must not fire into a later await
    await asyncio.sleep(0)


async def test_outside_cancellation_is_not_turned_into_timeout() -> None:
    """Cancelling the caller propagates CancelledError, not TimeoutError."""
    started = asyncio.Event()

    @timeout(30.0)
    async def wait_forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(wait_forever())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_sync_function_stays_sync_and_returns(released: threading.Event) -> None:
    """A sync function decorated with @timeout is still sync and returns its value."""

    @timeout(5.0)
    def add(a: int, b: int) -> int:
        return a + b

    assert not asyncio.iscoroutinefunction(add)
    assert add(2, 3) == 5


def test_sync_errors_propagate_unchanged() -> None:
    """An exception raised by the sync function reaches the caller as is."""

    @timeout(5.0)
    def broken() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        broken()


def test_sync_timeout_from_sixteen_threads(released: threading.Event) -> None:
    """16 worker threads each get TimeoutError at the limit, long before the hung call returns."""
    limit = 0.2

    @timeout(limit)
    def hang() -> None:
        released.wait(10)

    barrier = threading.Barrier(16)
    results: list[tuple[type[BaseException] | None, float]] = []
    lock = threading.Lock()

    def caller() -> None:
        barrier.wait()
        start = time.monotonic()
        outcome: type[BaseException] | None = None
        try:
            hang()
        except BaseException as exc:
            outcome = type(exc)
        with lock:
            results.append((outcome, time.monotonic() - start))

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 16
    assert all(outcome is TimeoutError for outcome, _ in results)
    took = [t for _, t in results]
    # The calls would take 10 s; each caller gets its error at the limit. The upper bound is
    # loose on purpose (a loaded 2-core machine delays threads by hundreds of ms), so this
    # asserts that the timeout fired, not how fast.
    assert min(took) >= limit - 0.01 and max(took) < limit + 3
    assert len(abandoned_threads()) == 16


def test_abandoned_threads_are_reported_then_forgotten(released: threading.Event) -> None:
    """An overrunning thread is listed while it runs and disappears once it returns."""

    @timeout(0.05)
    def stuck() -> None:
        released.wait(10)

    with pytest.raises(TimeoutError):
        stuck()
    running = abandoned_threads()
    assert [a.name for a in running] == ["stuck"]
    assert running[0].running_for >= 0.05
    released.set()
    deadline = time.monotonic() + 5
    while abandoned_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert abandoned_threads() == []


def test_abandoned_threads_are_bounded(released: threading.Event) -> None:
    """Past the limit, new timed sync calls fail fast instead of piling up threads."""

    @timeout(0.02)
    def stuck() -> None:
        released.wait(10)

    previous = set_abandoned_thread_limit(2)
    try:
        for _ in range(2):
            with pytest.raises(TimeoutError):
                stuck()
        with pytest.raises(CadenceError) as info:
            stuck()
        assert info.value.code == "TOO_MANY_ABANDONED_THREADS"
        assert "set_abandoned_thread_limit" in str(info.value)
        assert len(abandoned_threads()) == 2
    finally:
        set_abandoned_thread_limit(previous)


async def test_sync_function_awaited_with_timeout(released: threading.Event) -> None:
    """Through the async path, a sync function runs in a thread and times out by the clock."""
    from cadence.resilience import Timeout

    def stuck() -> None:
        released.wait(10)

    with pytest.raises(TimeoutError):
        await Timeout(0.05).call_async(stuck)
    assert len(abandoned_threads()) == 1


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "5", True, None])
def test_invalid_timeout_fails_early(bad: object) -> None:
    """A non-positive or non-numeric timeout raises CadenceDefinitionError."""
    with pytest.raises(CadenceDefinitionError, match="timeout must be a positive number"):
        timeout(bad)  # type: ignore[arg-type]
