"""RateLimiter and its stores: sliding windows, token accounting, policies, Redis across processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cadence.exceptions import CadenceDefinitionError
from cadence.testing import FakeClock
from cadence_llm import ModelRequest, ModelResponse, RateLimitedError, Usage
from cadence_llm.ratelimit import (
    InMemoryLimitStore,
    LimitStore,
    RateLimit,
    RateLimiter,
    RateLimitReachedError,
    RedisLimitStore,
)
from tests.checkpoint._servers import start_redis

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server for this module."""
    url, stop = start_redis()
    yield url
    stop()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[LimitStore]:
    """Each behaviour holds for the in-process store and for Redis."""
    if request.param == "memory":
        yield InMemoryLimitStore()
        return
    redis_store = RedisLimitStore(redis_url, prefix=f"test:{time.time_ns()}:")
    yield redis_store
    await redis_store.aclose()


async def test_requests_per_window_never_exceed_the_limit(store: LimitStore) -> None:
    """With 5 requests per window the sixth is refused with the time until the oldest expires."""
    limiter = RateLimiter({"m": RateLimit(requests=5, per=1.0)}, store=store)
    for _ in range(5):
        assert await limiter.acquire("m") is not None
    with pytest.raises(RateLimitReachedError) as caught:
        await limiter.acquire("m")
    assert 0 < (caught.value.retry_after or 0) <= 1.0
    assert isinstance(caught.value, RateLimitedError) and not caught.value.retryable


async def test_the_window_slides(store: LimitStore) -> None:
    """Room comes back as the oldest requests leave the window, not all at once."""
    limiter = RateLimiter({"m": RateLimit(requests=2, per=0.4)}, store=store)
    await limiter.acquire("m")
    await asyncio.sleep(0.2)
    await limiter.acquire("m")
    await asyncio.sleep(0.25)  # the first left the window, the second not yet
    await limiter.acquire("m")
    with pytest.raises(RateLimitReachedError):
        await limiter.acquire("m")


async def test_tokens_are_reserved_then_settled(store: LimitStore) -> None:
    """A token limit counts the estimate at admission and the real usage after the answer."""
    limiter = RateLimiter({"m": RateLimit(tokens=1000, per=60)}, store=store)
    request = ModelRequest.of("x" * 400, max_tokens=500)  # ~101 prompt + 500 = 601 tokens
    permit = await limiter.admit("m", request)
    assert permit is not None and permit.tokens == 601
    with pytest.raises(RateLimitReachedError):
        await limiter.admit("m", request)  # 601 + 601 > 1000
    await permit.settle(ModelResponse(text="ok", usage=Usage(input_tokens=100, output_tokens=20)))
    assert await limiter.admit("m", request) is not None  # 120 + 601 <= 1000


async def test_a_provider_429_blocks_the_model_for_everyone(store: LimitStore) -> None:
    """After throttled(), every limiter sharing the store refuses the model for Retry-After."""
    a = RateLimiter({"m": RateLimit(requests=100)}, store=store)
    b = RateLimiter({"m": RateLimit(requests=100)}, store=store)
    permit = await a.acquire("m")
    assert permit is not None
    await permit.settle(error=RateLimitedError("slow down", retry_after=30))
    with pytest.raises(RateLimitReachedError) as caught:
        await b.acquire("m")
    assert 29 < (caught.value.retry_after or 0) <= 30


async def test_wait_policy_waits_for_room() -> None:
    """Under policy='wait' a full model is waited for, on cadence's clock, up to max_wait."""
    limiter = RateLimiter({"m": RateLimit(requests=1, per=10)}, policy="wait", max_wait=15)
    with FakeClock() as clock:
        await limiter.acquire("m")
        assert await limiter.acquire("m") is not None
        assert clock.sleeps == [10.0]
        with pytest.raises(RateLimitReachedError):
            await limiter.acquire("m", max_wait=5)  # the chain's remaining deadline wins


async def test_unlimited_models_and_impossible_requests() -> None:
    """Models without a declared limit pass untouched; a request bigger than the limit is refused."""
    limiter = RateLimiter({"m": RateLimit(tokens=100)})
    assert await limiter.acquire("other") is None
    with pytest.raises(RateLimitReachedError, match="can never fit"):
        await limiter.acquire("m", tokens=101)


def test_bad_limits_fail_early() -> None:
    """Bad numbers, policies and limit maps raise CadenceDefinitionError when declared."""
    with pytest.raises(CadenceDefinitionError, match="requests= or tokens="):
        RateLimit()
    with pytest.raises(CadenceDefinitionError, match="int >= 1"):
        RateLimit(requests=0)
    with pytest.raises(CadenceDefinitionError, match="per must be positive"):
        RateLimit(requests=1, per=0)
    with pytest.raises(CadenceDefinitionError, match="'skip' or 'wait'"):
        RateLimiter({}, policy="queue")  # type: ignore[arg-type]
    with pytest.raises(CadenceDefinitionError, match="RateLimit"):
        RateLimiter({"m": 60})  # type: ignore[dict-item]


@pytest.mark.slow
def test_four_processes_share_sixty_requests_per_minute(redis_url: str) -> None:
    """4 worker processes, 40 attempts each, one Redis window of 60/min: exactly 60 admitted."""
    start_at = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.ratelimit._worker", redis_url, "40", str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    admitted: list[float] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        admitted.extend(json.loads(out))
    assert len(admitted) == 60  # never more, and the whole allowance was usable
    assert max(admitted) - min(admitted) < 60  # all inside one window: the refusals were real
