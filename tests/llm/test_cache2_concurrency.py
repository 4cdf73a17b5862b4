"""Response caching under concurrency: identical calls at once, several event loops, closing."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cadence_llm import FunctionModel, ModelRequest
from cadence_llm.cache import CachedModel, RedisResponseCache, SQLiteResponseCache
from cadence_llm.errors import RateLimitedError

sys.path.insert(0, str(Path(__file__).parents[1] / "checkpoint"))
from _servers import start_redis


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """URL of a redis-server started for this module."""
    url, stop = start_redis()
    yield url
    stop()


async def test_identical_calls_at_once_make_one_model_call(tmp_path: Path) -> None:
    """Five identical complete() calls made together cost one model call; the other four wait
    for it and get its answer as hits (each used to miss and call the model)."""
    calls: list[str] = []

    async def answer(request: ModelRequest) -> str:
        calls.append(request.messages[-1].content)
        await asyncio.sleep(0)
        return f"answer {len(calls)}"

    cache = SQLiteResponseCache(tmp_path / "cache.db")  # its reads suspend, as a real store's do
    model = CachedModel(FunctionModel(answer, name="m"), cache)
    try:
        answers = await asyncio.gather(*(model.complete("Capital of France?") for _ in range(5)))
    finally:
        await cache.aclose()
    assert calls == ["Capital of France?"]
    assert {a.text for a in answers} == {"answer 1"}
    assert (model.hits, model.misses) == (4, 1)
    assert sorted(a.usage.total_tokens for a in answers)[:4] == [0, 0, 0, 0]


async def test_a_failed_call_is_not_shared_with_the_calls_waiting_for_it(tmp_path: Path) -> None:
    """When the call the others wait for fails, each of them calls the model itself: an error
    is never handed to another caller."""
    calls = 0

    async def answer(request: ModelRequest) -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise RateLimitedError("slow down", model="m")
        return "fine"

    cache = SQLiteResponseCache(tmp_path / "cache.db")
    model = CachedModel(FunctionModel(answer, name="m"), cache)
    try:
        first, *others = await asyncio.gather(
            *(model.complete("hi") for _ in range(3)), return_exceptions=True
        )
    finally:
        await cache.aclose()
    assert isinstance(first, RateLimitedError)
    assert [getattr(o, "text", o) for o in others] == ["fine", "fine"]
    assert calls == 3


def _connections(url: str, name: str) -> int:
    with redis.Redis.from_url(url) as admin:
        return sum(1 for c in admin.client_list() if c.get("name") == name)


def _settle(url: str, name: str, expected: int) -> int:
    """The server-side connection count, once the server has seen a just-closed socket go."""
    for _ in range(200):
        found = _connections(url, name)
        if found == expected:
            break
        time.sleep(0.01)
    return found


def test_a_redis_cache_closes_each_event_loops_client_with_its_loop(redis_url: str) -> None:
    """Used by successive asyncio.run() calls, each loop's connection closes as the loop ends
    (it stayed open, and redis-py warned 'unclosed Connection' when it was dropped later)."""
    cache = RedisResponseCache(f"{redis_url}?client_name=loops")

    async def use(n: int) -> str | None:
        await cache.set(f"k{n}", "v", 60)
        return await cache.get(f"k{n}")

    assert asyncio.run(use(1)) == "v"
    assert _settle(redis_url, "loops", 0) == 0
    assert asyncio.run(use(2)) == "v"
    assert _settle(redis_url, "loops", 0) == 0


async def test_a_closed_sqlite_cache_closes_again_quietly_and_reopens(tmp_path: Path) -> None:
    """aclose() twice is a no-op and a later call reopens the file, as the other stores do
    (the second close raised RuntimeError 'cannot schedule new futures after shutdown')."""
    cache = SQLiteResponseCache(tmp_path / "cache.db")
    await cache.set("k", "v", None)
    await cache.aclose()
    await cache.aclose()
    assert await cache.get("k") == "v"
    await cache.aclose()
