"""The Redis breaker store against a real redis-server: shared state, processes, outages."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cadence.exceptions import CircuitOpenError
from cadence.resilience import (
    BreakerConfig,
    CircuitBreaker,
    CircuitState,
    InMemoryBreakerStore,
    Outcome,
    RedisBreakerStore,
)

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


def test_redis_store_matches_the_reference_store(redis_store: RedisBreakerStore) -> None:
    """Random admissions and outcomes give the same answers from Redis and from memory."""
    config = BreakerConfig(failure_threshold=3, recovery_timeout=3600.0, half_open_max_calls=2)
    memory = InMemoryBreakerStore()
    rng = random.Random(1234)
    pending: list[tuple[object, object]] = []
    for _ in range(300):
        if pending and rng.random() < 0.5:
            mem_adm, red_adm = pending.pop(rng.randrange(len(pending)))
            outcome = rng.choice(list(Outcome))
            memory.record("k", config, mem_adm.generation, mem_adm.probe, outcome)  # type: ignore[attr-defined]
            redis_store.record("k", config, red_adm.generation, red_adm.probe, outcome)  # type: ignore[attr-defined]
        else:
            mem_adm, red_adm = memory.acquire("k", config), redis_store.acquire("k", config)
            assert (mem_adm.admitted, mem_adm.generation, mem_adm.probe) == (
                red_adm.admitted,
                red_adm.generation,
                red_adm.probe,
            )
            if mem_adm.admitted:
                pending.append((mem_adm, red_adm))
        mem_snap, red_snap = memory.snapshot("k", config), redis_store.snapshot("k", config)
        assert (mem_snap.state, mem_snap.failures, mem_snap.generation) == (
            red_snap.state,
            red_snap.failures,
            red_snap.generation,
        )
        if rng.random() < 0.05:
            memory.reset("k")
            redis_store.reset("k")
            assert redis_store.snapshot("k", config).state is CircuitState.CLOSED
            pending.clear()
            memory = InMemoryBreakerStore()


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
