"""policy="wait": the waiters for one model are admitted first come, first served."""

from __future__ import annotations

import asyncio

import pytest

from cadence.testing import FakeClock
from cadence_llm.ratelimit import RateLimit, RateLimiter, RateLimitReachedError


async def _settle() -> None:
    """Let every task that can run, run."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_stream_of_small_requests_does_not_starve_a_large_waiting_one() -> None:
    """A waiter for 80 of 100 tokens was overtaken by every later 30-token request that fit,
    and never got in; now later callers queue behind it and everyone gets in, in order."""
    limiter = RateLimiter({"m": RateLimit(tokens=100, per=10)}, policy="wait", max_wait=1000)
    admitted: list[str] = []

    async def ask(name: str, tokens: int) -> None:
        await limiter.acquire("m", tokens=tokens)
        admitted.append(name)

    with FakeClock(auto_advance=False) as clock:
        await limiter.acquire("m", tokens=60)
        tasks = [asyncio.create_task(ask("big", 80))]
        await _settle()
        for i in range(6):
            clock.advance(4)
            tasks.append(asyncio.create_task(ask(f"small{i}", 30)))
            await _settle()
        for _ in range(10):
            clock.advance(4)
            await _settle()
        assert admitted == ["big", *(f"small{i}" for i in range(6))]
        await asyncio.gather(*tasks)


async def test_waiters_for_a_request_limit_get_in_in_arrival_order() -> None:
    """Five callers waiting for one request per second each get in one second apart, in the
    order they asked."""
    limiter = RateLimiter({"m": RateLimit(requests=1, per=1)}, policy="wait", max_wait=100)
    admitted: list[tuple[int, float]] = []

    async def ask(i: int) -> None:
        await limiter.acquire("m")
        admitted.append((i, clock.now))

    with FakeClock() as clock:
        await limiter.acquire("m")
        await asyncio.gather(*(ask(i) for i in range(5)))
    assert admitted == [(i, float(i + 1)) for i in range(5)]


async def test_a_queued_caller_whose_deadline_comes_before_room_is_refused_at_once() -> None:
    """Behind a waiter that expects room in 10s, a caller that may wait only 3s is refused
    straight away (a chain moves to its next model), not after waiting its 3s."""
    limiter = RateLimiter({"m": RateLimit(requests=1, per=10)}, policy="wait", max_wait=100)
    with FakeClock(auto_advance=False) as clock:
        await limiter.acquire("m")
        first = asyncio.create_task(limiter.acquire("m"))
        await _settle()
        with pytest.raises(RateLimitReachedError, match="1 earlier caller") as caught:
            await limiter.acquire("m", max_wait=3)
        assert clock.now == 0.0 and caught.value.retry_after == 10.0
        clock.advance(10)
        assert await first is not None


async def test_a_waiter_refused_while_queued_is_woken_when_the_first_one_expects_room_later() -> (
    None
):
    """Queued behind the first waiter before it knew how long it waits, a caller with a short
    deadline is refused as soon as the first waiter finds its wait, not at its own deadline."""
    limiter = RateLimiter({"m": RateLimit(requests=1, per=10)}, policy="wait", max_wait=100)
    with FakeClock(auto_advance=False) as clock:
        await limiter.acquire("m")
        first = asyncio.create_task(limiter.acquire("m"))
        second = asyncio.create_task(limiter.acquire("m", max_wait=3))  # queued before any wait
        await _settle()
        with pytest.raises(RateLimitReachedError, match="earlier caller"):
            await second
        assert clock.now == 0.0
        clock.advance(10)
        assert await first is not None


async def test_a_cancelled_first_waiter_hands_the_turn_to_the_next() -> None:
    """Cancelling the waiter at the head of the queue lets the one behind it ask the store."""
    limiter = RateLimiter({"m": RateLimit(requests=1, per=10)}, policy="wait", max_wait=100)
    with FakeClock(auto_advance=False) as clock:
        await limiter.acquire("m")
        first = asyncio.create_task(limiter.acquire("m"))
        await _settle()
        second = asyncio.create_task(limiter.acquire("m"))
        await _settle()
        first.cancel()
        await _settle()
        clock.advance(10)
        await _settle()
        assert second.done() and await second is not None
        assert first.cancelled()
        clock.advance(10)  # nobody is left queued: a caller that may not wait gets in
        assert await limiter.acquire("m", max_wait=0) is not None
