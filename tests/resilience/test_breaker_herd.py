"""Half-open herd: a crowd of threads and tasks arrives together; exactly one probe gets through."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from cadence.exceptions import CircuitOpenError
from cadence.resilience import CircuitBreaker, CircuitState, InMemoryBreakerStore
from cadence.testing import FakeClock

COROUTINES = 1_000
THREADS = 64


async def test_half_open_admits_exactly_one_probe(
    clock: FakeClock, store: InMemoryBreakerStore
) -> None:
    """1,000 coroutines and 64 threads arrive at a half-open breaker: 1 call reaches the dependency."""
    breaker = CircuitBreaker("herd", failure_threshold=1, recovery_timeout=5.0, store=store)
    calls = 0
    calls_lock = threading.Lock()
    release_thread_probe = threading.Event()
    release_task_probe = asyncio.Event()

    def count() -> None:
        nonlocal calls
        with calls_lock:
            calls += 1

    @breaker
    async def dependency_async() -> str:
        count()
        await release_task_probe.wait()
        return "ok"

    @breaker
    def dependency_sync() -> str:
        count()
        release_thread_probe.wait(10)
        return "ok"

    @breaker
    async def trip() -> None:
        raise ConnectionError("down")

    with contextlib.suppress(ConnectionError):
        await trip()
    assert breaker.state is CircuitState.OPEN
    clock.advance(5.0)

    go = threading.Event()
    refused = 0
    refused_lock = threading.Lock()

    def thread_caller() -> None:
        nonlocal refused
        go.wait(10)
        try:
            dependency_sync()
        except CircuitOpenError:
            with refused_lock:
                refused += 1

    async def task_caller() -> None:
        nonlocal refused
        try:
            await dependency_async()
        except CircuitOpenError:
            with refused_lock:
                refused += 1

    threads = [threading.Thread(target=thread_caller) for _ in range(THREADS)]
    for t in threads:
        t.start()
    tasks = [asyncio.create_task(task_caller()) for _ in range(COROUTINES)]
    go.set()  # threads and the event loop's tasks start racing now
    await asyncio.sleep(0)

    loop = asyncio.get_running_loop()
    give_up = time.monotonic() + 10
    while refused < COROUTINES + THREADS - 1 and time.monotonic() < give_up:
        await loop.run_in_executor(None, go.wait, 0.01)
    assert calls == 1
    release_thread_probe.set()
    release_task_probe.set()
    await asyncio.gather(*tasks)
    await loop.run_in_executor(None, lambda: [t.join(10) for t in threads])
    assert calls == 1
    assert refused == COROUTINES + THREADS - 1
    assert breaker.state is CircuitState.CLOSED
