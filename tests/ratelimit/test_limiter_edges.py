"""RateLimiter edges: bad numbers refused early, an unreachable store, a stale Redis total."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
import redis.asyncio

from cadence.exceptions import CadenceDefinitionError
from cadence_llm import FallbackChain, ModelResponse, ScriptedModel, Usage
from cadence_llm.ratelimit import (
    InMemoryLimitStore,
    RateLimit,
    RateLimiter,
    RateLimitReachedError,
    RedisLimitStore,
)
from tests.checkpoint._servers import free_port, start_redis


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server for this module."""
    url, stop = start_redis()
    yield url
    stop()


@pytest.mark.parametrize("per", [float("nan"), float("inf"), -1.0])
def test_a_window_that_is_not_finite_positive_seconds_is_refused(per: float) -> None:
    """per=NaN used to admit every request (no limit at all), per=inf to never free room."""
    with pytest.raises(
        CadenceDefinitionError, match=r"per must be positive seconds \(a finite number\)"
    ):
        RateLimit(requests=1, per=per)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_wait", float("nan")),
        ("max_wait", -1.0),
        ("throttle_wait", 0),
        ("throttle_wait", -5.0),
        ("throttle_wait", float("inf")),
    ],
)
def test_waits_that_are_not_finite_seconds_are_refused(option: str, value: float) -> None:
    """max_wait=NaN used to wait without bound; throttle_wait<=0 to never block after a 429."""
    with pytest.raises(CadenceDefinitionError, match=f"RateLimiter {option} must be a finite"):
        RateLimiter({"m": RateLimit(requests=1)}, **{option: value})  # type: ignore[arg-type]


def test_a_bad_store_error_policy_is_refused() -> None:
    """on_store_error takes 'allow' or 'reject' only."""
    with pytest.raises(CadenceDefinitionError, match="on_store_error"):
        RateLimiter({"m": RateLimit(requests=1)}, on_store_error="ignore")  # type: ignore[arg-type]


def chain_over(limiter: RateLimiter) -> FallbackChain:
    primary = ScriptedModel(["from primary"] * 3, name="gpt-4o")
    backup = ScriptedModel(["from backup"] * 3, name="claude-haiku")
    return FallbackChain([primary, backup], limiter=limiter)


async def test_redis_down_fails_open_by_default(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens at the store's URL: the chain's calls go through (logged once), where
    the redis client's ConnectionError used to fail the whole chain, backup never tried."""
    store = RedisLimitStore(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5)
    chain = chain_over(RateLimiter({"gpt-4o": RateLimit(requests=5)}, store=store))
    with caplog.at_level(logging.WARNING, logger="cadence_llm.ratelimit"):
        first, second = await chain.run("hi"), await chain.run("hi")
    await store.aclose()
    assert (first.model, second.model) == ("gpt-4o", "gpt-4o")
    outages = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outages) == 1


async def test_redis_down_with_reject_moves_the_chain_on() -> None:
    """on_store_error='reject' refuses the limited model, so the next model answers."""
    store = RedisLimitStore(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5)
    limiter = RateLimiter({"gpt-4o": RateLimit(requests=5)}, store=store, on_store_error="reject")
    result = await chain_over(limiter).run("hi")
    await store.aclose()
    assert result.model == "claude-haiku"
    refused = result.attempts[0].error
    assert isinstance(refused, RateLimitReachedError)
    assert "store is unreachable" in refused.message


class BookkeepingFails(InMemoryLimitStore):
    """Admits, then cannot record anything: the store went away during the call."""

    async def settle(self, key: str, limit: RateLimit, ident: str, tokens: int) -> None:
        raise ConnectionError("store went away")

    async def block(self, key: str, seconds: float) -> None:
        raise ConnectionError("store went away")


async def test_a_store_failing_after_the_answer_does_not_lose_it() -> None:
    """Correcting the tokens or blocking after a 429 failing in the store is logged, not raised
    (it used to fail a call whose answer was already in)."""
    limiter = RateLimiter({"m": RateLimit(tokens=1000)}, store=BookkeepingFails())
    permit = await limiter.acquire("m", tokens=10)
    assert permit is not None
    await permit.settle(ModelResponse(text="ok", usage=Usage(input_tokens=100, output_tokens=20)))
    await limiter.throttled("m", 1.0)


async def test_redis_token_total_restarts_when_the_log_expired_first(redis_url: str) -> None:
    """A 429's block keeps the window's hash alive longer than its log; once the log expired
    the stale total used to stay, and every later request was admitted (no token limit)."""
    prefix = f"stale:{time.time_ns()}:"
    store = RedisLimitStore(redis_url, prefix=prefix)
    limiter = RateLimiter({"m": RateLimit(tokens=100, per=10)}, store=store)
    await limiter.acquire("m", tokens=60)
    await store.block("m", 0.0)  # a 429 without a wait: extends the hash's TTL only
    raw = redis.asyncio.Redis.from_url(redis_url)
    assert await raw.pttl(prefix + "m:meta") > await raw.pttl(prefix + "m:log")
    await raw.delete(prefix + "m:log", prefix + "m:tok")  # the log expires before the hash
    await raw.aclose()
    assert await limiter.acquire("m", tokens=60) is not None
    with pytest.raises(RateLimitReachedError):
        await limiter.acquire("m", tokens=60)  # 60 + 60 > 100: the limit holds again
    await store.aclose()
