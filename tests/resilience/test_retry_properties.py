"""Properties of retry that must hold for every input: bounded delays, cancellation, deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence._context import NoteScope, note_var
from cadence.exceptions import RetryExhaustedError
from cadence.hooks import CadenceHooks, HooksManager
from cadence.resilience import Retry
from cadence.testing import FakeClock

BACKOFFS = st.sampled_from(["fixed", "linear", "exponential"])
SECONDS = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=100_000),
    delay=SECONDS,
    max_delay=SECONDS,
    backoff=BACKOFFS,
    jitter=st.booleans(),
)
def test_backoff_is_finite_non_negative_and_capped(
    attempt: int, delay: float, max_delay: float, backoff: str, jitter: bool
) -> None:
    """Every backoff delay, for attempt numbers up to 100,000, is finite and in [0, max_delay]."""
    policy = Retry(3, delay=delay, backoff=backoff, max_delay=max_delay, jitter=jitter)  # type: ignore[arg-type]
    wait = policy.backoff_delay(attempt)
    assert math.isfinite(wait)
    assert 0.0 <= wait <= max_delay


@settings(deadline=None)
@given(
    hint=st.one_of(st.floats(), st.integers(min_value=-(10**30), max_value=10**30)),
    max_delay=SECONDS,
    attempt=st.integers(min_value=1, max_value=100_000),
    via_predicate=st.booleans(),
)
def test_hinted_delays_are_finite_non_negative_and_capped(
    hint: float, max_delay: float, attempt: int, via_predicate: bool
) -> None:
    """A Retry-After or a predicate's delay (even inf, nan or negative) stays in [0, max_delay]."""
    error = ConnectionError("busy")
    if via_predicate:
        policy = Retry(3, max_delay=max_delay, on=lambda e: hint)
    else:
        error.retry_after = hint  # type: ignore[attr-defined]
        policy = Retry(3, max_delay=max_delay)
    wait = policy.next_delay(error, attempt)
    assert wait is not None
    assert math.isfinite(wait)
    assert 0.0 <= wait <= max_delay


class _SlowHooks(CadenceHooks):
    """An on_retry hook that takes fake time, so cancellation can land inside it."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self.clock = clock
        self.seconds = seconds

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        await self.clock.sleep(self.seconds)


async def _cancel_scenario(
    attempt_time: float, delay: float, hook_time: float, steps: int, spins: int
) -> None:
    clock = FakeClock(auto_advance=False)
    started: list[float] = []

    async def attempt() -> None:
        started.append(clock.now)
        await clock.sleep(attempt_time)
        raise ConnectionError("down")

    hooks = HooksManager([_SlowHooks(clock, hook_time)])
    note_var.set(NoteScope("c", None, "step", None, None, hooks, None))
    with clock:
        policy = Retry(1000, delay=delay, jitter=False)
        task = asyncio.create_task(policy.call_async(attempt))
        for _ in range(steps):
            for _ in range(spins):
                await asyncio.sleep(0)
            clock.advance(0.05)
        for _ in range(spins):
            await asyncio.sleep(0)
        before = len(started)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:  # pragma: no cover - the policy never gives up on its own within 1000 attempts
            raise AssertionError("the retry finished instead of being cancelled")
        for _ in range(20):
            clock.advance(10.0)
            await asyncio.sleep(0)
        assert len(started) == before, "an attempt started after the cancellation"
        assert task.cancelled()
        assert asyncio.all_tasks() == {asyncio.current_task()}, "tasks leaked"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    attempt_time=st.sampled_from([0.0, 0.03, 0.1, 0.25]),
    delay=st.sampled_from([0.0, 0.05, 0.2]),
    hook_time=st.sampled_from([0.0, 0.05, 0.15]),
    steps=st.integers(min_value=0, max_value=40),
    spins=st.integers(min_value=0, max_value=4),
)
def test_cancellation_anywhere_starts_no_attempt(
    attempt_time: float, delay: float, hook_time: float, steps: int, spins: int
) -> None:
    """Cancelled during an attempt, a backoff sleep or a hook: no new attempt, no leaked task."""
    asyncio.run(_cancel_scenario(attempt_time, delay, hook_time, steps, spins))


async def _deadline_scenario(
    durations: list[float],
    delay: float,
    deadline: float,
    attempt_timeout: float | None,
    hook_time: float,
) -> float:
    with FakeClock(start=50.0) as clock:
        hooks = HooksManager([_SlowHooks(clock, hook_time)])
        note_var.set(NoteScope("c", None, "step", None, None, hooks, None))
        index = 0

        async def attempt() -> str:
            nonlocal index
            took = durations[index % len(durations)]
            index += 1
            await clock.sleep(took)
            raise ConnectionError("still down")

        start = clock.now
        policy = Retry(100, delay=delay, jitter=True, deadline=deadline)
        with contextlib.suppress(RetryExhaustedError):
            await policy.call_async(attempt, attempt_timeout=attempt_timeout)
        return clock.now - start


@settings(max_examples=200, deadline=None)
@given(
    durations=st.lists(st.floats(min_value=0, max_value=20), min_size=1, max_size=5),
    delay=st.floats(min_value=0, max_value=10),
    deadline=st.floats(min_value=0.001, max_value=60),
    attempt_timeout=st.one_of(st.none(), st.floats(min_value=0.001, max_value=30)),
    hook_time=st.sampled_from([0.0, 0.5, 30.0]),
)
def test_deadline_is_never_exceeded(
    durations: list[float],
    delay: float,
    deadline: float,
    attempt_timeout: float | None,
    hook_time: float,
) -> None:
    """However long attempts, waits and hooks take, the whole call ends within deadline + 5 ms."""
    elapsed = asyncio.run(
        _deadline_scenario(durations, delay, deadline, attempt_timeout, hook_time)
    )
    assert elapsed <= deadline + 0.005
