"""Policy edge cases: errors retry rejects, generator functions, swallowed timeouts, names."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from cadence import circuit_breaker, fallback, note, retry, timeout
from cadence.exceptions import CadenceDefinitionError, RetryExhaustedError
from cadence.resilience import CircuitBreaker, InMemoryBreakerStore
from cadence.testing import FakeClock, testing_mode


async def test_error_retry_rejects_on_the_last_attempt_propagates_unchanged(
    clock: FakeClock,
) -> None:
    """A KeyError after a retried ConnectionError is raised as it is, not as exhaustion."""
    calls: list[int] = []

    @retry(2, delay=0.0, on=ConnectionError)
    async def fetch() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("reset")
        raise KeyError("no such order")

    with pytest.raises(KeyError):
        await fetch()
    assert len(calls) == 2


def test_error_retry_rejects_with_one_attempt_propagates_unchanged_sync() -> None:
    """``retry(1, on=...)`` on a sync function lets a rejected error through unchanged."""

    @retry(1, on=ConnectionError)
    def parse() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        parse()


async def test_testing_mode_keeps_rejected_errors_unchanged() -> None:
    """Under testing_mode's one attempt an error ``on`` rejects is not turned into exhaustion."""

    @note(retry={"max_attempts": 5, "on": ConnectionError})
    async def lookup(score: Any) -> None:
        raise KeyError("not found")

    with testing_mode(), pytest.raises(KeyError):
        await lookup(None)


async def test_retried_error_on_the_last_attempt_still_exhausts(clock: FakeClock) -> None:
    """Errors ``on`` accepts still end in RetryExhaustedError when attempts run out."""

    @retry(2, delay=0.0, on=ConnectionError)
    async def fetch() -> None:
        raise ConnectionError("reset")

    with pytest.raises(RetryExhaustedError) as info:
        await fetch()
    assert info.value.attempts == 2


async def _agen(score: Any = None) -> AsyncIterator[int]:
    yield 1


def _gen(score: Any = None) -> Iterator[int]:
    yield 1


_POLICIES: list[tuple[str, Callable[[Any], Any]]] = [
    ("retry", retry(3)),
    ("timeout", timeout(1.0)),
    ("fallback", fallback(default=[])),
    ("circuit breaker", CircuitBreaker("gen", store=InMemoryBreakerStore())),
    ("circuit breaker", circuit_breaker(store=InMemoryBreakerStore())),
]


@pytest.mark.parametrize("fn", [_agen, _gen], ids=["async-generator", "generator"])
@pytest.mark.parametrize(("policy", "decorate"), _POLICIES, ids=[p for p, _ in _POLICIES])
def test_policies_refuse_generator_functions(
    policy: str, decorate: Callable[[Any], Any], fn: Any
) -> None:
    """A generator's body runs after the call returns, so a policy there guarded nothing."""
    with pytest.raises(CadenceDefinitionError, match=f"{policy} cannot protect"):
        decorate(fn)


def test_note_policies_refuse_generator_functions() -> None:
    """``@note(retry=...)`` on an async generator fails when the note is defined."""
    with pytest.raises(CadenceDefinitionError, match="note '_agen': retry cannot protect"):
        note(retry=3)(_agen)


async def test_timeout_takes_back_its_cancel_when_the_call_swallows_it() -> None:
    """A call that catches the timeout's cancellation leaves the task not cancelling."""

    @timeout(0.01)
    async def graceful() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "partial"
        return "full"

    assert await graceful() == "partial"
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


def test_empty_breaker_name_is_refused() -> None:
    """``name=""`` is a mistake, not a request for the function's name."""
    with pytest.raises(CadenceDefinitionError, match="non-empty string"):
        circuit_breaker(name="")
