"""Decorating with a circuit breaker: the per-call wrappers and ``@circuit_breaker(...)``.

The wrappers repeat the closed-circuit fast path of ``CircuitBreaker.call``/``call_async``
inline: while the circuit is closed and healthy a protected call costs two attribute reads,
and one frame less per call is a measurable share of a cheap call's cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from cadence._callables import note_name_of
from cadence.resilience._breaker import CircuitBreaker, StoreErrorPolicy
from cadence.resilience._store import BreakerStore
from cadence.resilience._util import F, copy_metadata, is_async_callable

__all__ = ["circuit_breaker", "get_circuit", "guard"]


def guard(breaker: CircuitBreaker, fn: F) -> F:
    """``fn`` protected by ``breaker``; async stays async, sync stays sync; ``.breaker`` set."""
    if not callable(fn):
        raise TypeError(f"a circuit breaker decorates a function, got {type(fn).__name__}")
    circuit = breaker._fast
    release = breaker.release
    if is_async_callable(fn):
        call_async = breaker.call_async

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if circuit is not None:
                closed = circuit.closed_admission
                if closed is not None:
                    try:
                        result = await fn(*args, **kwargs)
                    except BaseException as error:
                        release(closed, error)
                        raise
                    if circuit.failures:
                        release(closed)
                    return result
            return await call_async(fn, *args, **kwargs)

        wrapper: Any = copy_metadata(async_wrapper, fn, is_async=True)
    else:
        call = breaker.call

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            if circuit is not None:
                closed = circuit.closed_admission
                if closed is not None:
                    try:
                        result = fn(*args, **kwargs)
                    except BaseException as error:
                        release(closed, error)
                        raise
                    if circuit.failures:
                        release(closed)
                    return result
            return call(fn, *args, **kwargs)

        wrapper = copy_metadata(sync_wrapper, fn, is_async=False)
    wrapper.breaker = breaker
    return cast(F, wrapper)


def circuit_breaker(
    *,
    failure_threshold: int = 5,
    recovery_timeout: float = 30.0,
    half_open_max_calls: int = 1,
    probe_timeout: float | None = None,
    name: str | None = None,
    excluded_exceptions: Any = None,
    store: BreakerStore | None = None,
    on_store_error: StoreErrorPolicy = "allow",
) -> Callable[[F], F]:
    """Protect a function (or a ``Note``) with a circuit breaker.

    The options are those of :class:`CircuitBreaker`; ``name`` defaults to the note's or the
    function's name, and functions decorated with the same name share one circuit. The
    breaker is available as ``decorated.breaker`` (``decorated.breaker.state``).

    Example::

        @circuit_breaker(failure_threshold=5, recovery_timeout=30.0)
        @note
        async def call_fragile_service(score): ...
    """
    # Validate now, at decoration time, even though the name is known only per function.
    CircuitBreaker(
        name or "check",
        failure_threshold=failure_threshold,
        recovery_timeout=recovery_timeout,
        half_open_max_calls=half_open_max_calls,
        probe_timeout=probe_timeout,
        excluded_exceptions=excluded_exceptions,
        store=store,
        on_store_error=on_store_error,
    )

    def decorate(fn: F) -> F:
        breaker = CircuitBreaker(
            name or note_name_of(fn),
            failure_threshold=failure_threshold,
            recovery_timeout=recovery_timeout,
            half_open_max_calls=half_open_max_calls,
            probe_timeout=probe_timeout,
            excluded_exceptions=excluded_exceptions,
            store=store,
            on_store_error=on_store_error,
        )
        return breaker(fn)

    return decorate


def get_circuit(name: str, **options: Any) -> CircuitBreaker:
    """A breaker for the circuit ``name`` in the default store (compatible with 0.7)."""
    return CircuitBreaker(name, **options)
