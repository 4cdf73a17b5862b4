"""The breaker against a reference model, driven by Hypothesis through random call sequences."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from cadence.exceptions import CircuitOpenError
from cadence.resilience import Admission, CircuitBreaker, CircuitState, InMemoryBreakerStore
from cadence.testing import FakeClock

THRESHOLD = 3
RECOVERY = 10.0
PROBE_TIMEOUT = 15.0
PROBES = 2
OUTCOMES = st.sampled_from(["success", "failure", "excluded", "cancelled"])


class Excluded(Exception):
    """An error the breaker is told to ignore (the dependency answered)."""


@dataclass
class Ticket:
    """The model's view of one admitted call."""

    generation: int
    probe: bool


class Model:
    """The specification, written as plainly as possible."""

    def __init__(self) -> None:
        self.state = "closed"
        self.generation = 0
        self.failures = 0
        self.opened_at = 0.0
        self.probes_taken = 0
        self.probe_successes = 0
        self.lease_until = 0.0

    def _enter(self, state: str, now: float) -> None:
        self.state = state
        self.generation += 1
        self.probes_taken = 0
        self.probe_successes = 0
        if state == "open":
            self.opened_at = now
        if state == "closed":
            self.failures = 0

    def tick(self, now: float) -> None:
        if self.state == "open" and now - self.opened_at >= RECOVERY:
            self._enter("half_open", now)
        elif (
            self.state == "half_open"
            and self.probes_taken > self.probe_successes
            and now >= self.lease_until
        ):
            self._enter("open", now)

    def admit(self, now: float) -> Ticket | None:
        self.tick(now)
        if self.state == "closed":
            return Ticket(self.generation, False)
        if self.state == "half_open" and self.probes_taken < PROBES:
            self.probes_taken += 1
            self.lease_until = now + PROBE_TIMEOUT
            return Ticket(self.generation, True)
        return None

    def finish(self, ticket: Ticket, outcome: str, now: float) -> None:
        self.tick(now)
        if ticket.generation != self.generation:
            return
        healthy = outcome in ("success", "excluded")
        if self.state == "closed" and not ticket.probe:
            if healthy:
                self.failures = 0
            elif outcome == "failure":
                self.failures += 1
                if self.failures >= THRESHOLD:
                    self._enter("open", now)
        elif self.state == "half_open" and ticket.probe:
            if healthy:
                self.probe_successes += 1
                if self.probe_successes >= PROBES:
                    self._enter("closed", now)
            elif outcome == "failure":
                self._enter("open", now)
            else:
                self.probes_taken -= 1

    def probes_in_flight(self) -> int:
        return self.probes_taken - self.probe_successes if self.state == "half_open" else 0


def _error(outcome: str) -> BaseException | None:
    return {
        "success": None,
        "failure": ConnectionError("down"),
        "excluded": Excluded("not found"),
        "cancelled": asyncio.CancelledError(),
    }[outcome]


class BreakerMachine(RuleBasedStateMachine):
    """Random interleavings of calls starting, finishing and time passing."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(start=100.0)
        self.clock.__enter__()
        self.breaker = CircuitBreaker(
            "model",
            failure_threshold=THRESHOLD,
            recovery_timeout=RECOVERY,
            probe_timeout=PROBE_TIMEOUT,
            half_open_max_calls=PROBES,
            excluded_exceptions=(Excluded,),
            store=InMemoryBreakerStore(),
        )
        self.model = Model()
        self.in_flight: list[tuple[Admission, Ticket]] = []

    def teardown(self) -> None:
        self.clock.__exit__(None, None, None)

    @rule(outcome=OUTCOMES)
    def call_through(self, outcome: str) -> None:
        """A whole call: the function runs if and only if the model admits it."""
        invoked: list[int] = []
        error = _error(outcome)

        def dependency() -> str:
            invoked.append(1)
            if error is not None:
                raise error
            return "ok"

        ticket = self.model.admit(self.clock.now)
        try:
            self.breaker.call(dependency)
        except CircuitOpenError:
            assert ticket is None, "refused a call the model admits"
        except BaseException as exc:
            assert exc is error
        assert invoked == ([1] if ticket is not None else []), "called while open"
        if ticket is not None:
            self.model.finish(ticket, outcome, self.clock.now)

    @rule()
    def start_call(self) -> None:
        """A call begins and stays in flight."""
        ticket = self.model.admit(self.clock.now)
        try:
            admission = self.breaker.acquire()
        except CircuitOpenError as exc:
            assert ticket is None, "refused a call the model admits"
            assert exc.retry_after >= 0
            return
        assert ticket is not None, "admitted a call the model refuses"
        assert admission.probe == ticket.probe
        self.in_flight.append((admission, ticket))

    @precondition(lambda self: self.in_flight)
    @rule(index=st.integers(min_value=0), outcome=OUTCOMES)
    def finish_call(self, index: int, outcome: str) -> None:
        """A call in flight ends one way or another."""
        admission, ticket = self.in_flight.pop(index % len(self.in_flight))
        self.breaker.release(admission, _error(outcome))
        self.model.finish(ticket, outcome, self.clock.now)

    @rule(seconds=st.sampled_from([0.5, 3.0, 9.99, 10.0, 25.0]))
    def time_passes(self, seconds: float) -> None:
        """The clock moves on."""
        self.clock.advance(seconds)

    @invariant()
    def agrees_with_model(self) -> None:
        """State, failure count and probes in flight match the model."""
        snap = self.breaker.snapshot()
        self.model.tick(self.clock.now)
        assert snap.state is CircuitState(self.model.state)
        assert snap.probes_in_flight == self.model.probes_in_flight()
        assert snap.probes_in_flight <= PROBES
        if snap.state is CircuitState.CLOSED:
            assert snap.failures == self.model.failures


BreakerMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
TestBreakerAgainstModel = BreakerMachine.TestCase
