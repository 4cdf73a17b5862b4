"""Retry: attempts, which errors qualify, delays, Retry-After, deadlines, hooks, sync and async."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

from cadence import Cadence, CadenceHooks, Score, note
from cadence.exceptions import CadenceDefinitionError, RetryExhaustedError, Skip
from cadence.resilience import PendingRetry, Retry, RetryEvent, abandoned_threads, retry
from cadence.testing import FakeClock


class RateLimited(Exception):
    """A 429-like error carrying the provider's Retry-After."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


def failing(times: int, error: Exception | None = None) -> tuple[list[int], Any]:
    """An async function failing ``times`` times, then returning "ok"; and its call log."""
    calls: list[int] = []

    async def fn() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error if error is not None else ConnectionError(f"failure {len(calls)}")
        return "ok"

    return calls, fn


async def test_succeeds_after_transient_failures(clock: FakeClock) -> None:
    """Two failures then a success: three attempts, the result is returned."""
    calls, fn = failing(2)
    assert await retry(3, delay=1.0, jitter=False)(fn)() == "ok"
    assert len(calls) == 3
    assert clock.sleeps == [1.0, 1.0]


async def test_exhaustion_raises_with_attempts_and_cause(clock: FakeClock) -> None:
    """After the last attempt RetryExhaustedError carries attempts, every error, and the cause."""
    calls, fn = failing(10)
    with pytest.raises(RetryExhaustedError) as info:
        await retry(4, delay=0.1)(fn)()
    err = info.value
    assert len(calls) == 4
    assert err.attempts == 4
    assert isinstance(err.last_error, ConnectionError)
    assert err.__cause__ is err.last_error
    assert [str(e) for e in err.errors] == [f"failure {i}" for i in range(1, 5)]


async def test_backoff_shapes_without_jitter(clock: FakeClock) -> None:
    """Fixed, linear and exponential waits follow their formulas and stop at max_delay."""
    for backoff, expected in (
        ("fixed", [2.0, 2.0, 2.0, 2.0]),
        ("linear", [2.0, 4.0, 6.0, 7.0]),
        ("exponential", [2.0, 4.0, 7.0, 7.0]),
    ):
        clock.sleeps.clear()
        _, fn = failing(10)
        with pytest.raises(RetryExhaustedError):
            await retry(5, delay=2.0, backoff=backoff, max_delay=7.0, jitter=False)(fn)()
        assert clock.sleeps == expected, backoff


def test_jitter_keeps_between_half_and_full_delay() -> None:
    """Jittered waits stay within [delay/2, delay]."""
    policy = Retry(3, delay=4.0, jitter=True)
    waits = [policy.backoff_delay(1) for _ in range(500)]
    assert all(2.0 <= w <= 4.0 for w in waits)
    assert len(set(waits)) > 1


async def test_retry_after_is_honoured(clock: FakeClock) -> None:
    """A 429-like error with retry_after=2.5 waits exactly 2.5 s, not the backoff."""
    _, fn = failing(1, RateLimited(2.5))
    assert await retry(3, delay=30.0, backoff="exponential")(fn)() == "ok"
    assert clock.sleeps == [2.5]


async def test_retry_after_is_capped_by_max_delay(clock: FakeClock) -> None:
    """A server asking for an hour waits at most max_delay."""
    _, fn = failing(1, RateLimited(3600.0))
    assert await retry(3, max_delay=10.0)(fn)() == "ok"
    assert clock.sleeps == [10.0]


async def test_predicate_can_choose_the_delay(clock: FakeClock) -> None:
    """A predicate returning a number retries after that many seconds."""
    _, fn = failing(2)
    assert await retry(3, on=lambda e: 0.25)(fn)() == "ok"
    assert clock.sleeps == [0.25, 0.25]


async def test_on_types_limit_what_is_retried(clock: FakeClock) -> None:
    """An error outside ``on`` propagates unchanged after one attempt."""
    calls, fn = failing(5, KeyError("nope"))
    with pytest.raises(KeyError):
        await retry(5, on=(ConnectionError, TimeoutError))(fn)()
    assert len(calls) == 1


async def test_predicate_false_stops_retrying(clock: FakeClock) -> None:
    """A predicate returning False propagates the error at once."""
    calls, fn = failing(5)
    with pytest.raises(ConnectionError):
        await retry(5, on=lambda e: False)(fn)()
    assert len(calls) == 1


async def test_cancelled_error_is_never_retried(clock: FakeClock) -> None:
    """CancelledError raised by an attempt propagates after that single attempt."""
    calls: list[int] = []

    async def fn() -> None:
        calls.append(1)
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await retry(5, on=BaseException)(fn)()
    assert calls == [1]


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(1), Skip("done")])
def test_interrupts_and_skip_are_never_retried(error: BaseException) -> None:
    """KeyboardInterrupt, SystemExit and Skip pass through a sync retry untouched."""
    calls: list[int] = []

    def fn() -> None:
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        retry(5, delay=0)(fn)()
    assert calls == [1]


async def test_cancelling_the_caller_stops_retrying(clock: FakeClock) -> None:
    """Cancelling a task waiting in backoff starts no further attempt."""
    calls, fn = failing(100)
    slow_clock = FakeClock(auto_advance=False)
    with slow_clock:
        task = asyncio.create_task(retry(100, delay=5.0)(fn)())
        await asyncio.sleep(0.01)
        assert len(calls) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        slow_clock.advance(60)
        await asyncio.sleep(0.01)
    assert len(calls) == 1


async def test_deadline_stops_a_running_attempt(clock: FakeClock) -> None:
    """A deadline cancels the attempt in flight and reports exhaustion at the deadline."""
    start = clock.now

    async def slow() -> None:
        await clock.sleep(100)

    with pytest.raises(RetryExhaustedError) as info:
        await retry(5, delay=1.0, deadline=3.0)(slow)()
    assert clock.now == pytest.approx(start + 3.0)
    assert info.value.attempts == 1
    assert "deadline" in str(info.value)


async def test_deadline_skips_a_pointless_last_sleep(clock: FakeClock) -> None:
    """When the next wait would pass the deadline, give up now rather than sleep first."""
    start = clock.now
    calls, fn = failing(100)
    with pytest.raises(RetryExhaustedError):
        await retry(10, delay=4.0, jitter=False, deadline=10.0)(fn)()
    assert len(calls) == 3  # attempts at t=0, 4, 8; a wait until 12 would pass the deadline
    assert clock.now == pytest.approx(start + 8.0)


async def test_on_retry_callback_gets_events(clock: FakeClock) -> None:
    """on_retry receives a PendingRetry before each wait, sync or async."""
    events: list[PendingRetry] = []

    async def record(event: PendingRetry) -> None:
        events.append(event)

    _, fn = failing(2)
    await retry(3, delay=0.5, jitter=False, on_retry=record)(fn)()
    assert [(e.attempt, e.max_attempts, e.delay) for e in events] == [(1, 3, 0.5), (2, 3, 0.5)]
    assert all(e.name == "fn" for e in events)


async def test_run_hooks_see_retries(clock: FakeClock) -> None:
    """Inside a cadence run, each retry calls the run's on_retry hook with the step name."""

    @dataclass
    class Counter(Score):
        attempts: int = 0

    seen: list[tuple[str, int, int, str]] = []

    class Hooks(CadenceHooks):
        async def on_retry(
            self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
        ) -> None:
            seen.append((note_name, attempt, max_attempts, str(error)))

    @note(retry={"max_attempts": 3, "delay": 1.0})
    async def flaky(score: Counter) -> None:
        score.attempts += 1
        if score.attempts < 3:
            raise ConnectionError(f"try {score.attempts}")

    result = await Cadence("hooked", Counter()).with_hooks(Hooks()).then("call", flaky).run()
    assert result.attempts == 3
    assert seen == [("call", 1, 3, "try 1"), ("call", 2, 3, "try 2")]


def test_sync_function_stays_sync(clock: FakeClock) -> None:
    """A decorated sync function is still sync and retries in the calling thread."""
    calls: list[int] = []

    @retry(3, delay=2.0, jitter=False)
    def fn(x: int) -> int:
        calls.append(x)
        if len(calls) < 2:
            raise OSError("flaky disk")
        return x * 2

    assert not asyncio.iscoroutinefunction(fn)
    assert fn(21) == 42
    assert clock.sleeps == [2.0]


def test_bare_decorator_uses_defaults(clock: FakeClock) -> None:
    """``@retry`` without parentheses retries three times."""
    calls: list[int] = []

    @retry
    def fn() -> None:
        calls.append(1)
        raise ValueError("always")

    with pytest.raises(RetryExhaustedError):
        fn()
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_attempts": 0}, "max_attempts must be an int >= 1"),
        ({"max_attempts": True}, "max_attempts must be an int >= 1"),
        ({"delay": -1}, "delay must be a number >= 0"),
        ({"backoff": "fibonacci"}, "backoff must be one of"),
        ({"max_delay": float("inf")}, "max_delay must be a number >= 0"),
        ({"deadline": 0}, "deadline must be a positive number"),
        ({"on": "ConnectionError"}, "on must be an exception type"),
        ({"on": (ValueError, "x")}, "on must be exception types"),
    ],
)
def test_invalid_options_fail_early(options: dict[str, Any], fragment: str) -> None:
    """Bad retry options raise CadenceDefinitionError naming the option."""
    with pytest.raises(CadenceDefinitionError, match=fragment):
        retry(**options)


def test_sync_deadline_stops_a_blocking_attempt() -> None:
    """A sync attempt blocking past the deadline is given up on (its thread abandoned)."""
    release = threading.Event()
    calls: list[int] = []

    @retry(5, delay=0.0, deadline=0.05)
    def blocking() -> None:
        calls.append(1)
        release.wait(10)

    try:
        with pytest.raises(RetryExhaustedError) as info:
            blocking()
        assert calls == [1]
        assert "deadline" in str(info.value)
        assert [t.name for t in abandoned_threads()] == ["blocking"]
    finally:
        release.set()
        give_up = time.monotonic() + 5
        while abandoned_threads() and time.monotonic() < give_up:
            time.sleep(0.01)


def test_the_former_name_of_pending_retry_is_an_alias() -> None:
    """cadence.resilience.RetryEvent, the former name, is PendingRetry itself."""
    assert RetryEvent is PendingRetry
