"""cadence.testing: the fake clock and testing mode behave as documented."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cadence import _clock
from cadence._clock import SystemClock
from cadence.exceptions import CadenceDefinitionError, CircuitOpenError, TimeoutError
from cadence.resilience import (
    BreakerConfig,
    CircuitBreaker,
    InMemoryBreakerStore,
    Outcome,
    circuit_breaker,
    fallback,
    timeout,
)
from cadence.testing import FakeClock, check_breaker_store, testing_mode


async def test_manual_clock_wakes_sleepers_in_order() -> None:
    """With auto_advance=False, sleepers wake only when advance() passes their time."""
    woke: list[str] = []
    with FakeClock(auto_advance=False) as clock:

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append(name)

        tasks = [asyncio.create_task(sleeper("late", 5)), asyncio.create_task(sleeper("early", 1))]
        await asyncio.sleep(0)
        clock.advance(0.5)
        await asyncio.sleep(0)
        assert woke == []
        clock.advance(1.0)
        await asyncio.gather(tasks[1])
        assert woke == ["early"]
        clock.advance(10.0)
        await asyncio.gather(*tasks)
        assert woke == ["early", "late"]


def test_sync_sleep_from_another_thread_advances_time() -> None:
    """Sync sleeps in worker threads advance the installed fake clock."""
    with FakeClock() as clock:
        thread = threading.Thread(target=_clock.sleep_sync, args=(3.0,))
        thread.start()
        thread.join()
        assert clock.now == 3.0
        assert clock.sleeps == [3.0]


def test_clock_is_restored_after_the_block() -> None:
    """Leaving the with-block puts the previous clock and attempt cap back."""
    before = _clock.current()
    with testing_mode(attempts=2) as fake:
        assert _clock.current() is fake
        assert _clock.attempts_cap() == 2
    assert _clock.current() is before
    assert _clock.attempts_cap() is None
    assert isinstance(before, SystemClock)


async def test_testing_mode_still_times_out_real_hangs() -> None:
    """Inside testing_mode a call hanging on real I/O still hits its (real-time) timeout."""

    @timeout(0.05)
    async def hangs() -> None:
        await asyncio.Event().wait()

    with testing_mode(), pytest.raises(TimeoutError):
        await hangs()


def test_testing_mode_resets_default_breakers() -> None:
    """A circuit tripped before testing_mode is closed inside it, and reset again after."""

    @circuit_breaker(failure_threshold=1, name="testing-mode-reset")
    def fragile() -> None:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        fragile()
    with pytest.raises(CircuitOpenError):
        fragile()
    with testing_mode(), pytest.raises(ConnectionError):
        fragile()  # closed again: the call reaches the function
    breaker: CircuitBreaker = fragile.breaker
    assert breaker.snapshot().failures == 0


@pytest.mark.parametrize("attempts", [0, -1, 1.5, True])
def test_testing_mode_rejects_bad_attempts(attempts: object) -> None:
    """attempts must be an int >= 1 or None."""
    with pytest.raises(ValueError, match="attempts"), testing_mode(attempts=attempts):  # type: ignore[arg-type]
        pass


def test_pytest_does_not_collect_testing_mode() -> None:
    """testing_mode is marked __test__ = False so importing it into a test module is safe."""
    assert testing_mode.__test__ is False  # type: ignore[attr-defined]


def test_async_fallback_handler_on_sync_function_fails_at_decoration() -> None:
    """An async handler cannot run inside a sync function: refused when decorating."""

    async def handler(score: object, error: BaseException) -> int:
        return 0

    with pytest.raises(CadenceDefinitionError, match="is async but"):

        @fallback(handler=handler)
        def sync_fn(score: object) -> int:
            raise ValueError


def test_reference_store_passes_its_own_conformance_check() -> None:
    """check_breaker_store accepts the in-memory reference store."""
    check_breaker_store(InMemoryBreakerStore(), seed=7)


class _LeakyProbeStore(InMemoryBreakerStore):
    """A buggy store: a cancelled probe never gives its slot back."""

    def record(
        self, key: str, config: BreakerConfig, generation: int, probe: bool, outcome: Outcome
    ) -> None:
        if probe and outcome is Outcome.IGNORED:
            return
        super().record(key, config, generation, probe, outcome)


def test_conformance_check_catches_a_buggy_store() -> None:
    """check_breaker_store fails a store that deviates from the reference."""
    with pytest.raises(AssertionError, match="the store answered"):
        check_breaker_store(_LeakyProbeStore(), steps=20)
