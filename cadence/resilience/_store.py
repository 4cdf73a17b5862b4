"""Circuit breaker state: the state machine, the store protocol and the in-memory store.

A breaker's state lives in a *store*, so several breakers (in one process, or in many
processes through :class:`RedisBreakerStore`) can share one circuit. The store performs each
transition atomically; the breaker only asks "may I call?" (:meth:`BreakerStore.acquire`) and
reports "how did it go?" (:meth:`BreakerStore.record`). No lock is held while the protected
call runs.

The state machine, shared by every store:

- ``closed``: calls pass. Consecutive failures are counted; a success resets the count; the
  ``failure_threshold``-th failure opens the circuit.
- ``open``: calls are refused with ``retry_after`` until ``recovery_timeout`` has passed,
  then the circuit is ``half_open``.
- ``half_open``: exactly ``half_open_max_calls`` probe calls are admitted, however many
  callers arrive. Any probe failure re-opens; when every probe succeeded the circuit closes. A
  probe that is cancelled gives its slot back; a probe that has not answered within
  ``probe_timeout`` counts as failed, so a crashed process cannot wedge a shared breaker.

Every transition starts a new *generation*. An admission carries its generation, and results
of calls admitted in an earlier generation are ignored: a slow call started while closed cannot
re-open a circuit that has since recovered, nor close one that has since opened.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from cadence import _clock

__all__ = [
    "Admission",
    "BreakerConfig",
    "BreakerSnapshot",
    "BreakerStore",
    "CircuitState",
    "InMemoryBreakerStore",
    "Outcome",
]


class CircuitState(enum.Enum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Outcome(enum.Enum):
    """How a protected call ended, as far as the breaker is concerned."""

    SUCCESS = "s"
    FAILURE = "f"
    IGNORED = "i"  # cancelled or interrupted: says nothing about the dependency's health


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """The thresholds of one breaker, passed to its store on every operation."""

    failure_threshold: int
    recovery_timeout: float
    half_open_max_calls: int
    probe_timeout: float = 60.0


class Admission(NamedTuple):
    """The store's answer to "may I call?"; ``generation`` and ``probe`` go back to ``record``."""

    admitted: bool
    generation: int
    probe: bool
    retry_after: float


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """A breaker's state at one instant, for metrics and dashboards.

    Attributes:
        state: The circuit's state.
        failures: Consecutive failures counted while closed (the count that opened it, when open).
        probes_in_flight: Half-open probe calls admitted and not yet finished.
        retry_after: Seconds until an open circuit admits a probe (``0.0`` unless open).
        generation: Incremented on every transition.
    """

    state: CircuitState
    failures: int
    probes_in_flight: int
    retry_after: float
    generation: int


@runtime_checkable
class BreakerStore(Protocol):
    """Where breaker state lives. Each method is one atomic step of the state machine.

    ``nonblocking`` tells the breaker whether the sync methods may be called from the event
    loop (true for in-memory stores); otherwise async callers use the ``*_async`` methods.
    """

    nonblocking: bool

    def acquire(self, key: str, config: BreakerConfig) -> Admission:
        """Decide whether a call may proceed, taking a half-open probe slot if it may."""

    def record(
        self, key: str, config: BreakerConfig, generation: int, probe: bool, outcome: Outcome
    ) -> None:
        """Report how an admitted call ended."""

    def snapshot(self, key: str, config: BreakerConfig) -> BreakerSnapshot:
        """Read the state without changing it."""

    def reset(self, key: str) -> None:
        """Forget everything: the circuit is closed with no failures."""

    async def acquire_async(self, key: str, config: BreakerConfig) -> Admission:
        """Async :meth:`acquire`."""

    async def record_async(
        self, key: str, config: BreakerConfig, generation: int, probe: bool, outcome: Outcome
    ) -> None:
        """Async :meth:`record`."""

    async def snapshot_async(self, key: str, config: BreakerConfig) -> BreakerSnapshot:
        """Async :meth:`snapshot`."""

    async def reset_async(self, key: str) -> None:
        """Async :meth:`reset`."""


class _Circuit:
    """One circuit's mutable state; guarded by its own lock, never held across a call."""

    __slots__ = (
        "closed_admission",
        "failures",
        "generation",
        "lease_until",
        "lock",
        "opened_at",
        "probes",
        "state",
        "successes",
    )

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = CircuitState.CLOSED
        self.generation = 0
        self.failures = 0
        self.opened_at = 0.0
        self.probes = 0
        self.successes = 0
        self.lease_until = 0.0
        # Read without the lock on the hot path: a single attribute read is atomic.
        self.closed_admission: Admission | None = Admission(True, 0, False, 0.0)

    def _transition(self, state: CircuitState) -> None:
        self.state = state
        self.generation += 1
        self.probes = 0
        self.successes = 0
        self.closed_admission = (
            Admission(True, self.generation, False, 0.0) if state is CircuitState.CLOSED else None
        )

    def open(self, now: float) -> None:
        self.opened_at = now
        self._transition(CircuitState.OPEN)

    def refresh(self, config: BreakerConfig, now: float) -> None:
        """Apply the transitions that happen by the passing of time alone."""
        if self.state is CircuitState.OPEN:
            if now - self.opened_at >= config.recovery_timeout:
                self._transition(CircuitState.HALF_OPEN)
        elif (
            self.state is CircuitState.HALF_OPEN
            and self.probes > self.successes
            and now >= self.lease_until
        ):
            self.open(now)

    def retry_after(self, config: BreakerConfig, now: float) -> float:
        if self.state is CircuitState.OPEN:
            return max(0.0, self.opened_at + config.recovery_timeout - now)
        if self.state is CircuitState.HALF_OPEN:
            # Refused while probes run: by the time the probe answers or the circuit
            # re-opens for another recovery_timeout, whichever is sooner, a retry may pass.
            return max(0.0, min(self.lease_until - now, config.recovery_timeout))
        return 0.0


class InMemoryBreakerStore:
    """Breaker state in this process's memory; the default store and the reference behaviour.

    Breakers with the same name using the same store share one circuit. Safe for any mix of
    threads and asyncio tasks: every operation is a few attribute updates under a lock.
    """

    nonblocking = True

    def __init__(self) -> None:
        self._circuits: dict[str, _Circuit] = {}
        self._lock = threading.Lock()

    def circuit(self, key: str) -> _Circuit:
        """The state object of circuit ``key`` (stable for the store's lifetime)."""
        circuit = self._circuits.get(key)
        if circuit is None:
            with self._lock:
                circuit = self._circuits.setdefault(key, _Circuit())
        return circuit

    def acquire(self, key: str, config: BreakerConfig) -> Admission:
        """Decide whether a call may proceed, taking a half-open probe slot if it may."""
        circuit = self.circuit(key)
        fast = circuit.closed_admission
        if fast is not None:
            return fast
        with circuit.lock:
            now = _clock.monotonic()
            circuit.refresh(config, now)
            if circuit.state is CircuitState.CLOSED:
                return Admission(True, circuit.generation, False, 0.0)
            if (
                circuit.state is CircuitState.HALF_OPEN
                and circuit.probes < config.half_open_max_calls
            ):
                circuit.probes += 1
                circuit.lease_until = now + config.probe_timeout
                return Admission(True, circuit.generation, True, 0.0)
            return Admission(False, circuit.generation, False, circuit.retry_after(config, now))

    def record(
        self, key: str, config: BreakerConfig, generation: int, probe: bool, outcome: Outcome
    ) -> None:
        """Report how an admitted call ended."""
        circuit = self.circuit(key)
        if outcome is Outcome.SUCCESS and not probe and circuit.failures == 0:
            return  # the common case, a no-op in every state: skip the lock
        with circuit.lock:
            now = _clock.monotonic()
            circuit.refresh(config, now)
            if generation != circuit.generation:
                return
            if circuit.state is CircuitState.CLOSED and not probe:
                if outcome is Outcome.SUCCESS:
                    circuit.failures = 0
                elif outcome is Outcome.FAILURE:
                    circuit.failures += 1
                    if circuit.failures >= config.failure_threshold:
                        circuit.open(now)
            elif circuit.state is CircuitState.HALF_OPEN and probe:
                if outcome is Outcome.SUCCESS:
                    circuit.successes += 1
                    if circuit.successes >= config.half_open_max_calls:
                        circuit.failures = 0
                        circuit._transition(CircuitState.CLOSED)
                elif outcome is Outcome.FAILURE:
                    circuit.open(now)
                else:
                    circuit.probes -= 1

    def snapshot(self, key: str, config: BreakerConfig) -> BreakerSnapshot:
        """Read the state (applying time-based transitions first)."""
        circuit = self.circuit(key)
        with circuit.lock:
            now = _clock.monotonic()
            circuit.refresh(config, now)
            in_flight = circuit.probes - circuit.successes
            return BreakerSnapshot(
                circuit.state,
                circuit.failures,
                in_flight if circuit.state is CircuitState.HALF_OPEN else 0,
                circuit.retry_after(config, now) if circuit.state is CircuitState.OPEN else 0.0,
                circuit.generation,
            )

    def reset(self, key: str) -> None:
        """Close the circuit and forget its failures."""
        circuit = self.circuit(key)
        with circuit.lock:
            circuit.failures = 0
            circuit._transition(CircuitState.CLOSED)

    def clear(self) -> None:
        """Close every circuit in this store (tests use it to start from a clean slate)."""
        with self._lock:
            keys = list(self._circuits)
        for key in keys:
            self.reset(key)

    async def acquire_async(self, key: str, config: BreakerConfig) -> Admission:
        """Same as :meth:`acquire` (it never blocks)."""
        return self.acquire(key, config)

    async def record_async(
        self, key: str, config: BreakerConfig, generation: int, probe: bool, outcome: Outcome
    ) -> None:
        """Same as :meth:`record` (it never blocks)."""
        self.record(key, config, generation, probe, outcome)

    async def snapshot_async(self, key: str, config: BreakerConfig) -> BreakerSnapshot:
        """Same as :meth:`snapshot`."""
        return self.snapshot(key, config)

    async def reset_async(self, key: str) -> None:
        """Same as :meth:`reset`."""
        self.reset(key)
