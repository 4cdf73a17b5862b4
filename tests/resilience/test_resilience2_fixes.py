"""Second audit of the policies: fallback ``on`` after a retry, dict scores, ``retry(Error)``,
and retries inside a thread a timeout abandoned."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence import Cadence, Score, note
from cadence.exceptions import CadenceDefinitionError, RetryExhaustedError, TimeoutError
from cadence.resilience import fallback, retry, timeout
from cadence.testing import FakeClock


@dataclass
class Search(Score):
    """A score with a field for the fallback to fill."""

    query: str = "cadence"
    results: list[str] = field(default_factory=list)


async def test_fallback_on_matches_the_last_error_of_an_inline_retry(clock: FakeClock) -> None:
    """@note(retry=3, fallback={"on": ConnectionError}) falls back once three attempts failed."""
    seen: list[BaseException] = []

    def cached(score: Search, error: BaseException) -> list[str]:
        seen.append(error)
        return ["cached"]

    @note(retry=3, fallback={"handler": cached, "field": "results", "on": ConnectionError})
    async def search(score: Search) -> None:
        raise ConnectionError("search API down")

    result = await Cadence("search", Search()).then("search", search).run()
    assert result.results == ["cached"]
    assert isinstance(seen[0], RetryExhaustedError)  # the handler still sees every attempt
    assert seen[0].attempts == 3


async def test_fallback_on_matches_through_a_stacked_retry(clock: FakeClock) -> None:
    """@fallback(on=ConnectionError) over @retry falls back after the retries ran out."""

    @fallback(default=[], on=(ConnectionError, TimeoutError))
    @retry(2, delay=0.1)
    async def search() -> list[str]:
        raise ConnectionError("down")

    assert await search() == []


async def test_fallback_on_still_lets_other_exhaustions_through(clock: FakeClock) -> None:
    """A retry exhausted by an error ``on`` does not name is not replaced by the fallback."""

    @note(retry=2, fallback={"default": [], "field": "results", "on": ConnectionError})
    async def search(score: Search) -> None:
        raise LookupError("index missing")

    with pytest.raises(RetryExhaustedError) as info:
        await search(Search())
    assert isinstance(info.value.last_error, LookupError)


async def test_fallback_field_is_written_into_a_dict_score() -> None:
    """fallback field= on a dict score sets the key instead of failing with AttributeError."""

    @note(fallback={"default": [], "field": "results"})
    async def search(score: dict[str, Any]) -> None:
        raise ConnectionError("search API down")

    result = await Cadence("search", {"query": "cadence"}).then("search", search).run()
    assert result == {"query": "cadence", "results": []}


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        (ConnectionError, "on=ConnectionError"),
        ((ConnectionError, TimeoutError), "on=(ConnectionError, TimeoutError)"),
    ],
)
def test_retry_given_error_types_says_to_use_on(given: Any, hint: str) -> None:
    """retry(ConnectionError) is refused naming on=, instead of decorating the class."""
    with pytest.raises(CadenceDefinitionError, match=r"on=") as info:

        @retry(given)
        def charge() -> str:
            return "charged"

    assert hint in str(info.value)


def _charging(released: threading.Event) -> tuple[list[int], Callable[[], None]]:
    """A retried payment call whose first attempt hangs until ``released``, then fails."""
    attempts: list[int] = []

    @retry(5, delay=0.0)
    def charge_card() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            released.wait(10)
        raise ConnectionError("gateway reset")

    return attempts, charge_card


@pytest.mark.parametrize("nested", [False, True], ids=["direct", "nested-timeout"])
async def test_a_retry_in_a_thread_a_timeout_abandoned_makes_no_further_attempt(
    released: threading.Event, clock: FakeClock, nested: bool
) -> None:
    """Once the caller got TimeoutError, the abandoned thread's retry charges no more."""
    attempts, charge_card = _charging(released)
    started, ended = threading.Event(), threading.Event()

    def inner() -> None:
        started.set()
        try:
            charge_card()
        finally:
            ended.set()

    # nested: the retry runs two timed calls deep; the outer one's caller gives up.
    checkout = timeout(30.0)(inner) if nested else inner
    task = asyncio.ensure_future(timeout(5.0).call_async(checkout))
    assert await asyncio.to_thread(started.wait, 10)
    clock.advance(5.0)
    with pytest.raises(TimeoutError):
        await task
    released.set()
    assert await asyncio.to_thread(ended.wait, 10)
    assert attempts == [1]


async def test_cancelling_the_awaiting_task_stops_the_threads_retry(
    released: threading.Event,
) -> None:
    """Cancelling a task awaiting a timed sync call stops the retry running in its thread."""
    attempts, charge_card = _charging(released)
    ended = threading.Event()
    started = threading.Event()

    def checkout() -> None:
        started.set()
        try:
            charge_card()
        finally:
            ended.set()

    task = asyncio.ensure_future(timeout(30.0).call_async(checkout))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    released.set()
    assert await asyncio.to_thread(ended.wait, 10)
    assert attempts == [1]
