"""The Redis breaker store at its edges: callers cancelled mid-operation, and its options."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import redis
import redis.asyncio

from cadence.exceptions import CadenceDefinitionError
from cadence.resilience import CircuitBreaker, CircuitState, RedisBreakerStore


class HeldReplies:
    """A redis.asyncio client whose scripts can be held before they are sent or after they ran.

    Holding *after* is a reply still on the wire when the caller is cancelled (Redis already ran
    the script); holding *before* is a caller still waiting for a pooled connection.
    """

    def __init__(self, real: Any) -> None:
        self.real = real
        self.hold: str | None = None  # "before" or "after"
        self.held = asyncio.Event()
        self.gate = asyncio.Event()

    async def _run(self, method: str, args: tuple[Any, ...]) -> Any:
        hold, self.hold = self.hold, None
        if hold == "before":
            self.held.set()
            await self.gate.wait()
        reply = await getattr(self.real, method)(*args)
        if hold == "after":
            self.held.set()
            await self.gate.wait()
        return reply

    async def evalsha(self, *args: Any) -> Any:
        return await self._run("evalsha", args)

    async def eval(self, *args: Any) -> Any:
        return await self._run("eval", args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def _settle() -> None:
    """Wait for the store operations that outlived their cancelled callers."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    await asyncio.gather(*others)


async def _half_open(redis_url: str) -> tuple[CircuitBreaker, HeldReplies, Any]:
    real = redis.asyncio.Redis.from_url(redis_url)
    client = HeldReplies(real)
    store = RedisBreakerStore(async_client=client, prefix=f"test:{uuid.uuid4().hex}:")
    breaker = CircuitBreaker(
        "svc", failure_threshold=1, recovery_timeout=0.05, probe_timeout=600.0, store=store
    )

    async def down() -> None:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        await breaker.call_async(down)
    await asyncio.sleep(0.1)  # past recovery_timeout on the Redis server's clock
    assert (await breaker.snapshot_async()).state is CircuitState.HALF_OPEN
    return breaker, client, real


async def test_probe_cancelled_while_its_admission_is_on_the_wire_frees_its_slot(
    redis_url: str,
) -> None:
    """Redis took a probe slot but the caller was cancelled before the reply: the slot returns."""
    breaker, client, real = await _half_open(redis_url)

    async def answer() -> str:
        return "ok"

    try:
        client.hold = "after"
        probe = asyncio.create_task(breaker.call_async(answer))
        await client.held.wait()
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        client.gate.set()
        await _settle()
        snap = await breaker.snapshot_async()
        assert (snap.state, snap.probes_in_flight) == (CircuitState.HALF_OPEN, 0)
        assert await breaker.call_async(answer) == "ok"  # the next caller gets the probe slot
        assert (await breaker.snapshot_async()).state is CircuitState.CLOSED
    finally:
        await real.aclose()


async def test_probe_cancelled_while_reporting_its_success_still_closes_the_circuit(
    redis_url: str,
) -> None:
    """A probe that succeeded is counted even when its caller is cancelled while reporting it."""
    breaker, client, real = await _half_open(redis_url)
    reported = asyncio.Event()

    async def answer() -> str:
        client.hold = "before"  # the report that follows waits, e.g. for a pooled connection
        reported.set()
        return "ok"

    try:
        probe = asyncio.create_task(breaker.call_async(answer))
        await client.held.wait()
        assert reported.is_set()
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        client.gate.set()
        await _settle()
        snap = await breaker.snapshot_async()
        assert (snap.state, snap.probes_in_flight) == (CircuitState.CLOSED, 0)
    finally:
        await real.aclose()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("ttl", 0),
        ("ttl", -5.0),
        ("socket_timeout", 0),
        ("pool_timeout", -1.0),
        ("max_connections", 0),
        ("prefix", None),
    ],
)
def test_bad_options_are_refused_when_the_store_is_created(option: str, value: Any) -> None:
    """A TTL of 0 (which deleted every key: a breaker that never opened) and other bad options
    raise at once, naming the option."""
    with pytest.raises(CadenceDefinitionError, match=option):
        RedisBreakerStore("redis://127.0.0.1:1/0", **{option: value})


def test_url_must_be_a_string() -> None:
    """A URL that is not a string is refused with an example of one."""
    with pytest.raises(CadenceDefinitionError, match="redis://"):
        RedisBreakerStore(6379)  # type: ignore[arg-type]


def test_an_open_circuit_outlives_a_short_ttl(redis_url: str) -> None:
    """The key of an open circuit is kept until it can recover, whatever ``ttl`` says."""
    prefix = f"test:{uuid.uuid4().hex}:"
    store = RedisBreakerStore(redis_url, prefix=prefix, ttl=0.05)
    breaker = CircuitBreaker("svc", failure_threshold=1, recovery_timeout=30.0, store=store)

    def down() -> None:
        raise ConnectionError("down")

    client = redis.Redis.from_url(redis_url)
    try:
        with pytest.raises(ConnectionError):
            breaker.call(down)
        assert breaker.state is CircuitState.OPEN
        assert client.pttl(prefix + "svc") > 30_000  # recovery_timeout + probe_timeout
    finally:
        client.close()
        store.close()
