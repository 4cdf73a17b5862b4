"""A Redis breaker store given one ready client serves sync and async callers alike."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
import redis.asyncio

from cadence.exceptions import CircuitOpenError
from cadence.resilience import CircuitBreaker, CircuitState, RedisBreakerStore


def down() -> None:
    """A dependency that is down."""
    raise ConnectionError("down")


async def down_async() -> None:
    """The same, async."""
    raise ConnectionError("down")


def _breaker(store: RedisBreakerStore) -> CircuitBreaker:
    return CircuitBreaker("svc", failure_threshold=1, recovery_timeout=60.0, store=store)


async def test_sync_callers_of_a_store_given_only_async_client_are_protected(
    redis_url: str,
) -> None:
    """Sync calls failed open (the store "had only an async client"): the circuit never
    opened. Now it opens for sync callers, on the state async callers share."""
    async_client = redis.asyncio.Redis.from_url(redis_url)
    store = RedisBreakerStore(async_client=async_client, prefix=f"test:{uuid.uuid4().hex}:")
    breaker = _breaker(store)
    try:
        with pytest.raises(ConnectionError):
            breaker.call(down)
        with pytest.raises(CircuitOpenError):
            breaker.call(down)
        assert breaker.state is CircuitState.OPEN
        assert (await breaker.snapshot_async()).state is CircuitState.OPEN  # one shared key
        breaker.reset()
        assert (await breaker.snapshot_async()).state is CircuitState.CLOSED
    finally:
        store.close()
        await async_client.aclose()


async def test_async_callers_of_a_store_given_only_client_are_protected(redis_url: str) -> None:
    """Async calls failed open (the store "had only a sync client"); now they use it."""
    client = redis.Redis.from_url(redis_url)
    store = RedisBreakerStore(client=client, prefix=f"test:{uuid.uuid4().hex}:")
    breaker = _breaker(store)
    try:
        with pytest.raises(ConnectionError):
            await breaker.call_async(down_async)
        with pytest.raises(CircuitOpenError):
            await breaker.call_async(down_async)
        assert breaker.state is CircuitState.OPEN
        await breaker.reset_async()
        assert (await breaker.snapshot_async()).state is CircuitState.CLOSED
    finally:
        store.close()  # not the caller's client: it stays usable
        assert client.ping()
        client.close()


def test_the_sync_twin_connects_with_the_async_clients_settings(redis_url: str) -> None:
    """Same server, database and credentials; the asyncio client's own helpers are left out."""
    url = redis_url.rsplit("/", 1)[0] + "/3"
    async_client = redis.asyncio.Redis.from_url(url, client_name="svc-a")
    store = RedisBreakerStore(async_client=async_client)
    try:
        twin: Any = store._sync()
        settings = twin.connection_pool.connection_kwargs
        assert (settings["db"], settings["client_name"]) == (3, "svc-a")
        assert twin.connection_pool.connection_class is redis.Connection
        assert "retry" not in settings  # the asyncio Retry object is not a sync one
        assert twin.ping()
    finally:
        store.close()


def test_an_async_client_with_no_readable_address_is_refused_naming_the_fix() -> None:
    """A client the store cannot copy fails with a sentence saying to pass client= too."""

    class Opaque:
        pass

    store = RedisBreakerStore(async_client=Opaque())
    with pytest.raises(RuntimeError, match=r"pass client=redis\.Redis\(\.\.\.\) as well"):
        store.snapshot("svc", _breaker(store).config)
