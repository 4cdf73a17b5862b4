"""Gates: what a fallback chain consults before each attempt at a model, and tells afterwards.

A gate admits an attempt (possibly after waiting), or refuses it by raising: a
:class:`~cadence.exceptions.CircuitOpenError` skips the model, a
:class:`~cadence_llm.errors.ModelError` is treated like the model's own failure (retried or
fallen back by its flags; ``RateLimitedError(..., retryable=False)`` moves straight on). After
the attempt the gate hears how it went, with the response (and its usage) when there is one.
The chain's circuit breakers are gates; rate limiters and quota checks plug in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Protocol, TypeAlias, runtime_checkable

from cadence.resilience import CircuitBreaker

from .errors import ModelError
from .messages import ModelRequest, ModelResponse
from .models.base import Model

__all__ = ["BreakerGate", "Gate", "GateFactory", "gates_for", "time_left"]

_TIME_LEFT: ContextVar[float | None] = ContextVar("cadence_llm_gate_time_left", default=None)


def time_left() -> float | None:
    """Inside a gate's ``enter``: seconds left before the attempt's timeout or the chain's
    deadline, whichever is first (``None``: no limit). A gate that waits should refuse at once
    instead of waiting longer than this: the chain can spend the time on its next model."""
    return _TIME_LEFT.get()


@runtime_checkable
class Gate(Protocol):
    """Consulted before every attempt at a model; told how the attempt ended."""

    async def enter(self, model: Model, request: ModelRequest) -> object:
        """Admit an attempt at ``model`` (waiting first if the policy waits); return a ticket.

        Raise ``CircuitOpenError`` to skip the model, or a ``ModelError`` to fail the attempt.
        The wait counts against the chain's per-attempt timeout and deadline (see
        :func:`time_left`).
        """
        ...

    async def exit(
        self, ticket: object, response: ModelResponse | None, error: BaseException | None
    ) -> None:
        """The admitted attempt ended: with ``response``, or with ``error`` (also cancellation)."""
        ...


GateFactory: TypeAlias = Callable[[Model], "Gate | None"]


def _health_error(exc: BaseException | None) -> BaseException | None:
    """What a breaker should count: retryable model errors say the provider is unwell; a bad
    request, an auth error or a rejected answer show it answered, so they count as successes."""
    if isinstance(exc, ModelError) and not exc.retryable:
        return None
    return exc


class BreakerGate:
    """A circuit breaker as a gate: an open circuit skips the model; only retryable errors count."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker

    async def enter(self, model: Model, request: ModelRequest) -> object:
        """Ask the breaker for admission (raises ``CircuitOpenError`` when open)."""
        return await self.breaker.acquire_async()

    async def exit(
        self, ticket: object, response: ModelResponse | None, error: BaseException | None
    ) -> None:
        """Record the attempt's health with the breaker."""
        await self.breaker.release_async(ticket, _health_error(error))  # type: ignore[arg-type]


def gates_for(model: Model, specs: Sequence[Gate | GateFactory]) -> list[Gate]:
    """The gates of one model: shared gate objects as they are, factories called for it."""
    out: list[Gate] = []
    for spec in specs:
        gate = spec if isinstance(spec, Gate) else spec(model)
        if gate is not None:
            if not isinstance(gate, Gate):
                raise TypeError(f"{gate!r} is not a gate: it needs async enter() and exit()")
            out.append(gate)
    return out
