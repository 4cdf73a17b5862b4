"""Circuit breaker: transitions, retry_after, what counts as failure, stores that fail."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from cadence.exceptions import CadenceDefinitionError, CircuitOpenError
from cadence.resilience import (
    Admission,
    BreakerConfig,
    BreakerSnapshot,
    CircuitBreaker,
    CircuitState,
    InMemoryBreakerStore,
    Outcome,
    circuit_breaker,
    retry,
)
from cadence.testing import FakeClock


def make(store: InMemoryBreakerStore, **options: Any) -> CircuitBreaker:
    """A breaker on the test's private store."""
    options.setdefault("failure_threshold", 3)
    options.setdefault("recovery_timeout", 10.0)
    return CircuitBreaker("dep", store=store, **options)


async def fail() -> None:
    """A dependency that is down."""
    raise ConnectionError("down")


async def ok() -> str:
    """A dependency that answers."""
    return "ok"


async def test_opens_after_exactly_the_threshold(
    store: InMemoryBreakerStore, clock: FakeClock
) -> None:
    """The threshold-th consecutive failure opens the circuit; the next call is refused."""
    breaker = make(store)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call_async(fail)
        assert breaker.state is CircuitState.CLOSED
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as info:
        await breaker.call_async(ok)
    assert info.value.breaker == "dep"
    assert info.value.retry_after == pytest.approx(10.0)


async def test_success_resets_the_failure_count(
    store: InMemoryBreakerStore, clock: FakeClock
) -> None:
    """Failures must be consecutive: a success in between starts the count again."""
    breaker = make(store)
    for _ in range(5):
        for _ in range(2):
            with pytest.raises(ConnectionError):
                await breaker.call_async(fail)
        assert await breaker.call_async(ok) == "ok"
    assert breaker.snapshot().failures == 0
    assert breaker.state is CircuitState.CLOSED


async def test_recovers_through_half_open(store: InMemoryBreakerStore, clock: FakeClock) -> None:
    """After recovery_timeout one probe is admitted; its success closes the circuit."""
    breaker = make(store, failure_threshold=1)
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    clock.advance(4.0)
    with pytest.raises(CircuitOpenError) as info:
        await breaker.call_async(ok)
    assert info.value.retry_after == pytest.approx(6.0)
    clock.advance(6.0)
    assert breaker.state is CircuitState.HALF_OPEN
    assert await breaker.call_async(ok) == "ok"
    assert breaker.state is CircuitState.CLOSED


async def test_failed_probe_reopens(store: InMemoryBreakerStore, clock: FakeClock) -> None:
    """A failing probe re-opens the circuit for another recovery_timeout."""
    breaker = make(store, failure_threshold=1)
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    clock.advance(10.0)
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    snap = breaker.snapshot()
    assert snap.state is CircuitState.OPEN
    assert snap.retry_after == pytest.approx(10.0)


async def test_all_probes_must_succeed(store: InMemoryBreakerStore, clock: FakeClock) -> None:
    """With half_open_max_calls=2 the circuit closes only after both probes succeed."""
    breaker = make(store, failure_threshold=1, half_open_max_calls=2)
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    clock.advance(10.0)
    first, second = breaker.acquire(), breaker.acquire()
    assert first.probe and second.probe
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    breaker.release(first)
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.release(second)
    assert breaker.state is CircuitState.CLOSED


async def test_excluded_errors_and_cancellation_are_not_failures(
    store: InMemoryBreakerStore, clock: FakeClock
) -> None:
    """Excluded errors count as answers and cancellations count as nothing."""
    breaker = make(store, failure_threshold=1, excluded_exceptions=(KeyError,))

    async def not_found() -> None:
        raise KeyError("no such order")

    async def cancelled() -> None:
        raise asyncio.CancelledError

    for _ in range(3):
        with pytest.raises(KeyError):
            await breaker.call_async(not_found)
        with pytest.raises(asyncio.CancelledError):
            await breaker.call_async(cancelled)
    assert breaker.state is CircuitState.CLOSED


async def test_cancelled_probe_frees_its_slot(
    store: InMemoryBreakerStore, clock: FakeClock
) -> None:
    """A probe cancelled mid-call gives its slot back; the next caller may probe."""
    breaker = make(store, failure_threshold=1)
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    clock.advance(10.0)
    entered = asyncio.Event()

    async def hang() -> None:
        entered.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(breaker.call_async(hang))
    await entered.wait()
    with pytest.raises(CircuitOpenError):
        await breaker.call_async(ok)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await breaker.call_async(ok) == "ok"
    assert breaker.state is CircuitState.CLOSED


async def test_probe_that_never_answers_counts_as_failed(
    store: InMemoryBreakerStore, clock: FakeClock
) -> None:
    """A probe silent for probe_timeout re-opens the circuit instead of wedging it."""
    breaker = make(store, failure_threshold=1, probe_timeout=25.0)
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    clock.advance(10.0)
    breaker.acquire()  # a probe whose caller crashed and never reports
    clock.advance(24.0)
    assert breaker.state is CircuitState.HALF_OPEN
    clock.advance(1.0)
    assert breaker.state is CircuitState.OPEN
    clock.advance(10.0)
    assert await breaker.call_async(ok) == "ok"


async def test_slow_probe_that_succeeds_closes(
    store: InMemoryBreakerStore, clock: FakeClock
) -> None:
    """A probe slower than recovery_timeout (within probe_timeout) still closes the circuit."""
    breaker = make(store, failure_threshold=1, recovery_timeout=5.0)
    assert breaker.config.probe_timeout == 60.0  # default: max(recovery_timeout, 60 s)
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    clock.advance(5.0)

    async def slow_llm_call() -> str:
        await clock.sleep(40.0)
        return "answer"

    assert await breaker.call_async(slow_llm_call) == "answer"
    assert breaker.state is CircuitState.CLOSED


async def test_late_results_from_an_old_generation_are_ignored(
    store: InMemoryBreakerStore, clock: FakeClock
) -> None:
    """A slow call admitted while closed cannot re-open a circuit that has since recovered."""
    breaker = make(store, failure_threshold=1)
    slow = breaker.acquire()
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    clock.advance(10.0)
    assert await breaker.call_async(ok) == "ok"
    breaker.release(slow, ConnectionError("finally failed"))
    assert breaker.state is CircuitState.CLOSED


def test_same_name_shares_one_circuit(store: InMemoryBreakerStore, clock: FakeClock) -> None:
    """Functions decorated with the same breaker name share its state."""

    @circuit_breaker(failure_threshold=2, name="payments", store=store)
    def charge() -> None:
        raise ConnectionError("down")

    @circuit_breaker(failure_threshold=2, name="payments", store=store)
    def refund() -> str:
        return "refunded"

    for _ in range(2):
        with pytest.raises(ConnectionError):
            charge()
    with pytest.raises(CircuitOpenError):
        refund()
    assert refund.breaker.state is CircuitState.OPEN


def test_sync_function_stays_sync(store: InMemoryBreakerStore) -> None:
    """A sync function behind a breaker stays sync."""

    @circuit_breaker(store=store)
    def read() -> int:
        return 7

    assert not asyncio.iscoroutinefunction(read)
    assert read() == 7
    assert read.breaker.name == "read"


async def test_retry_waits_for_the_breaker(store: InMemoryBreakerStore, clock: FakeClock) -> None:
    """Retry honours CircuitOpenError.retry_after, so it sleeps until the probe window."""
    breaker = make(store, failure_threshold=1, recovery_timeout=20.0)
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    guarded = retry(2, delay=1.0, max_delay=60.0)(breaker(ok))
    assert await guarded() == "ok"
    assert clock.sleeps == [pytest.approx(20.0)]


class BrokenStore:
    """A store whose backend is unreachable."""

    nonblocking = True

    def __init__(self) -> None:
        self.calls = 0

    def acquire(self, key: str, config: BreakerConfig) -> Admission:
        self.calls += 1
        raise ConnectionRefusedError("store down")

    def record(
        self, key: str, config: BreakerConfig, generation: int, probe: bool, outcome: Outcome
    ) -> None:
        raise ConnectionRefusedError("store down")

    def snapshot(self, key: str, config: BreakerConfig) -> BreakerSnapshot:
        raise ConnectionRefusedError("store down")

    def reset(self, key: str) -> None:
        raise ConnectionRefusedError("store down")

    async def acquire_async(self, key: str, config: BreakerConfig) -> Admission:
        return self.acquire(key, config)

    async def record_async(
        self, key: str, config: BreakerConfig, generation: int, probe: bool, outcome: Outcome
    ) -> None:
        self.record(key, config, generation, probe, outcome)

    async def snapshot_async(self, key: str, config: BreakerConfig) -> BreakerSnapshot:
        return self.snapshot(key, config)

    async def reset_async(self, key: str) -> None:
        self.reset(key)


async def test_unreachable_store_fails_open(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """on_store_error='allow': calls go through, the store error is logged, never raised."""
    broken = BrokenStore()
    breaker = CircuitBreaker("dep", store=broken, on_store_error="allow")
    with caplog.at_level(logging.WARNING, logger="cadence.resilience"):
        assert await breaker.call_async(ok) == "ok"
        with pytest.raises(ConnectionError):
            await breaker.call_async(fail)
        assert breaker.call(lambda: 5) == 5
    assert any("state store" in r.getMessage() for r in caplog.records)
    assert broken.calls == 1  # further calls skip the store until store_retry_interval passes
    clock.advance(1.0)
    assert await breaker.call_async(ok) == "ok"
    assert broken.calls == 2


async def test_unreachable_store_fails_closed(clock: FakeClock) -> None:
    """on_store_error='reject': calls are refused with CircuitOpenError, not the store's error."""
    breaker = CircuitBreaker("dep", store=BrokenStore(), on_store_error="reject")
    calls: list[int] = []

    async def dependency() -> None:
        calls.append(1)

    for _ in range(3):
        with pytest.raises(CircuitOpenError) as info:
            await breaker.call_async(dependency)
        assert "store" in str(info.value)
    assert calls == []


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"failure_threshold": 0}, "failure_threshold must be an int >= 1"),
        ({"recovery_timeout": -5}, "recovery_timeout must be a positive number"),
        ({"probe_timeout": 0}, "probe_timeout must be a positive number"),
        ({"half_open_max_calls": 1.5}, "half_open_max_calls must be an int >= 1"),
        ({"excluded_exceptions": ("KeyError",)}, "excluded_exceptions must be exception types"),
        ({"on_store_error": "open"}, "on_store_error must be 'allow'"),
        ({"store": object()}, "store must implement BreakerStore"),
    ],
)
def test_invalid_options_fail_early(options: dict[str, Any], fragment: str) -> None:
    """Bad breaker options raise CadenceDefinitionError at decoration time."""
    with pytest.raises(CadenceDefinitionError, match=fragment):
        circuit_breaker(**options)


def test_lambdas_without_a_name_get_a_circuit_each() -> None:
    """A lambda's circuit is named after where it is defined: a failing lambda does not open
    another lambda's circuit (they all shared '<lambda>' before)."""

    def boom() -> None:
        raise RuntimeError("down")

    failing = circuit_breaker(failure_threshold=1)(lambda: boom())
    healthy = circuit_breaker(failure_threshold=1)(lambda: "ok")
    with pytest.raises(RuntimeError):
        failing()
    with pytest.raises(CircuitOpenError):
        failing()
    assert healthy() == "ok"
    assert failing.breaker.name != healthy.breaker.name
    assert failing.breaker.name.startswith(f"{__name__}.")
    assert "<lambda>:" in failing.breaker.name


def test_two_functions_sharing_an_implicit_circuit_name_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Different functions with one name share a circuit (0.7.2's rule); a warning names both."""

    def payments() -> Any:
        def fetch_quote() -> str:
            return "payments"

        return fetch_quote

    def inventory() -> Any:
        def fetch_quote() -> str:
            return "inventory"

        return fetch_quote

    with caplog.at_level(logging.WARNING, logger="cadence.resilience"):
        first = circuit_breaker()(payments())
        circuit_breaker()(inventory())
        circuit_breaker()(payments())  # the same function again: no second warning
    shared = [r for r in caplog.records if "is shared by" in r.getMessage()]
    assert len(shared) == 1
    assert "payments.<locals>.fetch_quote" in shared[0].getMessage()
    assert "inventory.<locals>.fetch_quote" in shared[0].getMessage()
    assert first.breaker.name == "fetch_quote"
