"""``check_response_cache``: the behaviour every response-cache backend must share.

The in-memory cache is the reference; third-party backends run the same suite::

    from cadence_llm.cache import check_response_cache

    async def test_my_cache_conforms():
        await check_response_cache(lambda: MyCache(url))

Every check uses fresh random keys, so the factory may return caches sharing one backend.
Caches with an ``aclose()`` are closed after each check. One check waits 0.3 s for a TTL.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["check_response_cache"]

CacheFactory = Callable[[], Any | Awaitable[Any]]


def _key() -> str:
    return uuid.uuid4().hex * 2  # 64 hex digits, like a SHA-256


async def _check_missing(cache: Any) -> None:
    """An unknown key is None."""
    assert await cache.get(_key()) is None, "get() of an unknown key must return None"


async def _check_round_trip(cache: Any) -> None:
    """A value comes back exactly, including non-ASCII text and JSON punctuation."""
    key, value = _key(), '{"text": "héllo ☃ \\"q\\" \\n", "n": 1}'
    await cache.set(key, value, None)
    assert await cache.get(key) == value, "get() must return what set() stored, unchanged"


async def _check_replace(cache: Any) -> None:
    """A second set() under a key replaces the first value."""
    key = _key()
    await cache.set(key, "first", None)
    await cache.set(key, "second", None)
    assert await cache.get(key) == "second", "set() must replace an existing value"


async def _check_keys_are_independent(cache: Any) -> None:
    """Values under different keys do not affect each other."""
    a, b = _key(), _key()
    await cache.set(a, "a", None)
    await cache.set(b, "b", None)
    assert (await cache.get(a), await cache.get(b)) == ("a", "b")


async def _check_large_value(cache: Any) -> None:
    """A 1 MB value is stored whole."""
    key, value = _key(), "x" * 1_000_000
    await cache.set(key, value, None)
    assert await cache.get(key) == value, "a large value must come back whole"


async def _check_ttl(cache: Any) -> None:
    """A value with a TTL is there before it and gone after it."""
    key = _key()
    await cache.set(key, "soon gone", 0.2)
    assert await cache.get(key) == "soon gone", "a value must be readable before its TTL"
    await asyncio.sleep(0.3)
    assert await cache.get(key) is None, "a value must be gone after its TTL"


CHECKS = (
    _check_missing,
    _check_round_trip,
    _check_replace,
    _check_keys_are_independent,
    _check_large_value,
    _check_ttl,
)


async def check_response_cache(factory: CacheFactory) -> None:
    """Run every check against fresh caches from ``factory``; raise AssertionError on a failure."""
    for check in CHECKS:
        cache = factory()
        if inspect.isawaitable(cache):
            cache = await cache
        try:
            await check(cache)
        finally:
            aclose = getattr(cache, "aclose", None)
            if aclose is not None:
                await aclose()
