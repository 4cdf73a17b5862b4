"""The Redis breaker store against a real redis-server: shared state, processes, outages."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cadence.exceptions import CircuitOpenError
from cadence.resilience import CircuitBreaker, CircuitState, RedisBreakerStore
from cadence.testing import check_breaker_store

from .conftest import free_port

WORKER = Path(__file__).with_name("breaker_worker.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def prefix() -> str:
    """A key prefix private to the test."""
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
def redis_store(redis_url: str, prefix: str) -> Iterator[RedisBreakerStore]:
    """A Redis breaker store on the session's redis-server."""
    store = RedisBreakerStore(redis_url, prefix=prefix)
    yield store
    store.close()


def fail() -> None:
    """A dependency that is down."""
    raise ConnectionError("down")


def test_trips_and_recovers_through_redis(redis_store: RedisBreakerStore) -> None:
    """Two breaker objects on one Redis key share the circuit; it opens and recovers."""
    first = CircuitBreaker("svc", failure_threshold=2, recovery_timeout=0.2, store=redis_store)
    second = CircuitBreaker("svc", failure_threshold=2, recovery_timeout=0.2, store=redis_store)
    with pytest.raises(ConnectionError):
        first.call(fail)
    with pytest.raises(ConnectionError):
        second.call(fail)
    with pytest.raises(CircuitOpenError) as info:
        first.call(lambda: "never")
    assert 0 < info.value.retry_after <= 0.2
    assert second.state is CircuitState.OPEN
    time.sleep(0.25)
    assert second.state is CircuitState.HALF_OPEN
    assert first.call(lambda: "probe") == "probe"
    assert second.state is CircuitState.CLOSED


async def test_async_path_uses_the_asyncio_client(redis_url: str, prefix: str) -> None:
    """Async callers go through redis.asyncio and see the same shared state."""
    store = RedisBreakerStore(redis_url, prefix=prefix)
    breaker = CircuitBreaker("svc", failure_threshold=1, recovery_timeout=30.0, store=store)

    async def down() -> None:
        raise ConnectionError("down")

    try:
        with pytest.raises(ConnectionError):
            await breaker.call_async(down)
        with pytest.raises(CircuitOpenError):
            await breaker.call_async(down)
        snap = await breaker.snapshot_async()
        assert (snap.state, snap.failures) == (CircuitState.OPEN, 1)
        sync_snap = breaker.snapshot()  # the sync client reads the same key
        assert (sync_snap.state, sync_snap.generation) == (snap.state, snap.generation)
        await breaker.reset_async()
        assert (await breaker.snapshot_async()).state is CircuitState.CLOSED
    finally:
        await store.aclose()
        store.close()


def test_redis_store_passes_the_conformance_check(redis_store: RedisBreakerStore) -> None:
    """Random admissions and outcomes get the same answers from Redis as from the reference."""
    for seed in range(3):
        check_breaker_store(redis_store, seed=seed)


def _spawn(redis_url: str, prefix: str, threshold: int, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), redis_url, prefix, str(threshold), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    return proc


def _spawn_ready(
    redis_url: str, prefix: str, threshold: int, mode: str
) -> list[subprocess.Popen[str]]:
    procs = [_spawn(redis_url, prefix, threshold, mode) for _ in range(4)]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    return procs


def test_four_processes_trip_together_at_the_threshold(redis_url: str, prefix: str) -> None:
    """Calls interleaved across 4 processes: the 10th failure overall opens it for all."""
    threshold = 10
    procs = _spawn_ready(redis_url, prefix, threshold, "steps")
    answers: list[str] = []
    try:
        for step in range(24):
            proc = procs[step % 4]
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("call\n")
            proc.stdin.flush()
            answers.append(proc.stdout.readline().strip())
    finally:
        for proc in procs:
            proc.communicate(timeout=10)
    assert answers == ["failed"] * threshold + ["open"] * (24 - threshold)
    client = redis.Redis.from_url(redis_url)
    try:
        state = client.hgetall(f"{prefix}shared")
    finally:
        client.close()
    assert state[b"state"] == b"open"
    assert int(state[b"failures"]) == threshold


def test_four_racing_processes_stop_at_the_threshold(redis_url: str, prefix: str) -> None:
    """4 processes hammering one shared breaker open it at exactly the threshold."""
    threshold = 25
    procs = _spawn_ready(redis_url, prefix, threshold, "race")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    calls = []
    for proc in procs:
        out, _ = proc.communicate(timeout=30)
        calls.append(int(out.strip().splitlines()[-1]))
    client = redis.Redis.from_url(redis_url)
    try:
        state = client.hgetall(f"{prefix}shared")
    finally:
        client.close()
    assert state[b"state"] == b"open"
    assert int(state[b"failures"]) == threshold
    # Each process may have had one call in flight when another recorded the last failure.
    assert threshold <= sum(calls) <= threshold + 3


@pytest.mark.parametrize("policy", ["allow", "reject"])
async def test_unreachable_redis_follows_the_policy(policy: str) -> None:
    """With Redis down, calls are allowed or refused per on_store_error; no redis error leaks."""
    store = RedisBreakerStore(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.2)
    breaker = CircuitBreaker("down", store=store, on_store_error=policy)  # type: ignore[arg-type]
    called: list[int] = []

    async def dependency() -> str:
        called.append(1)
        return "ok"

    try:
        for _ in range(3):
            if policy == "allow":
                assert await breaker.call_async(dependency) == "ok"
                assert breaker.call(lambda: "sync ok") == "sync ok"
            else:
                with pytest.raises(CircuitOpenError):
                    await breaker.call_async(dependency)
                with pytest.raises(CircuitOpenError):
                    breaker.call(lambda: "never")
        assert called == ([1, 1, 1] if policy == "allow" else [])
    finally:
        await store.aclose()
        store.close()


async def test_half_open_herd_through_redis(redis_url: str, prefix: str) -> None:
    """500 tasks and 32 threads reach a half-open Redis breaker together: exactly 1 probe runs."""
    tasks_n, threads_n = 500, 32
    store = RedisBreakerStore(redis_url, prefix=prefix)
    breaker = CircuitBreaker(
        "herd", failure_threshold=1, recovery_timeout=0.2, probe_timeout=30.0, store=store
    )
    loop = asyncio.get_running_loop()
    everyone_refused = asyncio.Event()
    calls = refused = 0
    lock = threading.Lock()
    release = threading.Event()

    def count_call() -> None:
        nonlocal calls
        with lock:
            calls += 1

    def count_refusal() -> None:
        nonlocal refused
        with lock:
            refused += 1
            if refused == tasks_n + threads_n - 1:
                loop.call_soon_threadsafe(everyone_refused.set)

    @breaker
    def probe_sync() -> None:
        count_call()
        release.wait(10)

    @breaker
    async def probe_async() -> None:
        count_call()
        await loop.run_in_executor(None, release.wait, 10)

    def thread_caller() -> None:
        try:
            probe_sync()
        except CircuitOpenError:
            count_refusal()

    async def task_caller() -> None:
        try:
            await probe_async()
        except CircuitOpenError:
            count_refusal()

    threads = [threading.Thread(target=thread_caller) for _ in range(threads_n)]
    try:
        with pytest.raises(ConnectionError):
            breaker.call(fail)
        await asyncio.sleep(0.25)
        for t in threads:
            t.start()
        tasks = [asyncio.create_task(task_caller()) for _ in range(tasks_n)]
        await asyncio.wait_for(everyone_refused.wait(), 30)
        assert calls == 1
        release.set()
        await asyncio.gather(*tasks)
        for t in threads:  # the probe may have been a thread's call
            await loop.run_in_executor(None, t.join, 10)
        assert (await breaker.snapshot_async()).state is CircuitState.CLOSED
    finally:
        release.set()
        for t in threads:
            if t.is_alive():
                t.join(10)
        await store.aclose()
        store.close()
