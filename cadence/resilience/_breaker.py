"""The circuit breaker: stop calling a dependency that keeps failing, probe it, recover.

The breaker asks its store for admission before a call and reports the outcome after it; no
lock is held while the call runs, so a slow dependency never serialises callers. The state
machine itself (closed → open → half-open → closed) is described in ``_store.py``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from cadence import _clock
from cadence._callables import note_name_of
from cadence.exceptions import CadenceDefinitionError, CircuitOpenError
from cadence.resilience._guard import guard
from cadence.resilience._store import (
    Admission,
    BreakerConfig,
    BreakerSnapshot,
    BreakerStore,
    CircuitState,
    InMemoryBreakerStore,
    Outcome,
    _Circuit,
)
from cadence.resilience._util import (
    F,
    check_positive,
    is_never_handled,
)

__all__ = [
    "CircuitBreaker",
    "StoreErrorPolicy",
    "circuit_breaker",
    "default_store",
    "get_circuit",
]

logger = logging.getLogger("cadence.resilience")

StoreErrorPolicy = Literal["allow", "reject"]
_UNTRACKED = Admission(True, -1, False, 0.0)  # admitted while the store is unreachable
_DEFAULT_STORE = InMemoryBreakerStore()
_T = TypeVar("_T")
_background: set[asyncio.Task[Any]] = set()
"""Store operations whose caller was cancelled, kept alive (tasks are weakly held) to the end."""


async def _to_the_end(
    operation: Coroutine[Any, Any, _T], after_cancel: Callable[[asyncio.Task[_T]], object]
) -> _T:
    """Await a store operation that must not be cut off half-way by the caller's cancellation.

    A cancelled caller stops waiting at once, but the operation runs on, and ``after_cancel``
    gets it when it ends. Cancelling the await itself would lose work the store already did:
    Redis ran the acquire script (a probe slot taken) or the record script and only its reply
    was dropped, which left a circuit half-open with a probe that never reports back.
    """
    task = asyncio.ensure_future(operation)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        _background.add(task)
        task.add_done_callback(_background.discard)
        task.add_done_callback(after_cancel)
        raise


def default_store() -> InMemoryBreakerStore:
    """The process-wide store breakers use unless given one: same name, same circuit."""
    return _DEFAULT_STORE


def _positive_int(option: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CadenceDefinitionError(f"circuit_breaker {option} must be an int >= 1, got {value!r}")
    return value


def _exception_types(value: Any) -> tuple[type[BaseException], ...]:
    if value is None:
        return ()
    items = value if isinstance(value, tuple | list | set | frozenset) else (value,)
    types = tuple(items)
    if not all(isinstance(t, type) and issubclass(t, BaseException) for t in types):
        raise CadenceDefinitionError(
            f"circuit_breaker excluded_exceptions must be exception types, got {value!r}; "
            "write excluded_exceptions=(ValueError,)"
        )
    return types


class CircuitBreaker:
    """Refuse calls to a failing dependency for a while, then let a few probes test it.

    One breaker can protect any number of sync and async functions (decorate them with the
    breaker itself) and can be used from threads and tasks at once. Breakers with the same
    ``name`` and store share one circuit; use :class:`RedisBreakerStore` to share it across
    processes.

    Args:
        name: Identifies the circuit in the store, in errors and in metrics.
        failure_threshold: Consecutive failures that open the circuit.
        recovery_timeout: Seconds the circuit stays open before admitting probes.
        half_open_max_calls: Probes admitted in half-open; all must succeed to close.
        probe_timeout: Seconds a probe may run before it counts as failed, so a caller that
            crashed mid-probe cannot wedge a shared breaker in half-open. Default: the larger
            of ``recovery_timeout`` and 60 s; set it above your slowest legitimate call.
        excluded_exceptions: Errors that show the dependency answered (bad input, not found):
            they count as successes, never as failures.
        store: Where the state lives; the process-wide in-memory store by default.
        on_store_error: When the store cannot be reached: ``"allow"`` lets calls through
            untracked (fail open), ``"reject"`` refuses them with ``CircuitOpenError`` (fail
            closed). Either way the store's exception never reaches the caller.
        store_retry_interval: After a store failure, seconds to apply ``on_store_error``
            without trying the store, so an outage does not add a timeout to every call.
    """

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        half_open_max_calls: int = 1,
        excluded_exceptions: Any = None,
        *,
        probe_timeout: float | None = None,
        store: BreakerStore | None = None,
        on_store_error: StoreErrorPolicy = "allow",
        store_retry_interval: float = 1.0,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise CadenceDefinitionError(
                f"circuit breaker name must be a non-empty string, got {name!r}"
            )
        if on_store_error not in ("allow", "reject"):
            raise CadenceDefinitionError(
                f"circuit_breaker on_store_error must be 'allow' (fail open) or 'reject' "
                f"(fail closed), got {on_store_error!r}"
            )
        if store is not None and not isinstance(store, BreakerStore):
            raise CadenceDefinitionError(
                f"circuit_breaker store must implement BreakerStore, got {type(store).__name__}"
            )
        self.name = name
        recovery = check_positive(
            "circuit_breaker recovery_timeout", recovery_timeout, "write e.g. 30.0 (seconds)"
        )
        self.config = BreakerConfig(
            _positive_int("failure_threshold", failure_threshold),
            recovery,
            _positive_int("half_open_max_calls", half_open_max_calls),
            max(recovery, 60.0)
            if probe_timeout is None
            else check_positive(
                "circuit_breaker probe_timeout", probe_timeout, "write e.g. 120.0 (seconds)"
            ),
        )
        self.excluded_exceptions = _exception_types(excluded_exceptions)
        self.store: BreakerStore = store if store is not None else _DEFAULT_STORE
        self.on_store_error: StoreErrorPolicy = on_store_error
        self.store_retry_interval = check_positive(
            "circuit_breaker store_retry_interval", store_retry_interval, "write e.g. 1.0"
        )
        self._nonblocking = bool(getattr(self.store, "nonblocking", False))
        self._store_down_until = 0.0
        # The reference in-memory store exposes its circuit object, which lets calls skip the
        # store entirely while the circuit is closed and healthy (the overwhelmingly common
        # case): one attribute read before the call and one after.
        self._fast: _Circuit | None = (
            self.store.circuit(name) if type(self.store) is InMemoryBreakerStore else None
        )

    def __repr__(self) -> str:
        c = self.config
        return (
            f"CircuitBreaker({self.name!r}, failure_threshold={c.failure_threshold}, "
            f"recovery_timeout={c.recovery_timeout!r}, half_open_max_calls={c.half_open_max_calls})"
        )

    @property
    def failure_threshold(self) -> int:
        """Consecutive failures that open the circuit."""
        return self.config.failure_threshold

    @property
    def recovery_timeout(self) -> float:
        """Seconds the circuit stays open before probing."""
        return self.config.recovery_timeout

    @property
    def half_open_max_calls(self) -> int:
        """Probes admitted in half-open."""
        return self.config.half_open_max_calls

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> CircuitState:
        """The circuit's current state (reads the store)."""
        return self.snapshot().state

    def snapshot(self) -> BreakerSnapshot:
        """State, failure count, probes in flight and ``retry_after``, for metrics."""
        return self.store.snapshot(self.name, self.config)

    async def snapshot_async(self) -> BreakerSnapshot:
        """Async :meth:`snapshot`, for stores with network I/O."""
        return await self.store.snapshot_async(self.name, self.config)

    def reset(self) -> None:
        """Close the circuit and forget its failures (for every sharer of the store)."""
        self.store.reset(self.name)

    async def reset_async(self) -> None:
        """Async :meth:`reset`."""
        await self.store.reset_async(self.name)

    def classify(self, error: BaseException | None) -> Outcome:
        """How a call's ending counts: cancellation is ignored, excluded errors are successes."""
        if error is None:
            return Outcome.SUCCESS
        if is_never_handled(error):
            return Outcome.IGNORED
        if self.excluded_exceptions and isinstance(error, self.excluded_exceptions):
            return Outcome.SUCCESS
        return Outcome.FAILURE

    # -- admission -----------------------------------------------------------------------------

    def _open_error(self, retry_after: float) -> CircuitOpenError:
        return CircuitOpenError(
            f"circuit {self.name!r} is open; retry after {retry_after:.3g}s",
            breaker=self.name,
            retry_after=retry_after,
        )

    def _store_failed(self, error: Exception) -> None:
        now = _clock.monotonic()
        first = now >= self._store_down_until
        self._store_down_until = now + self.store_retry_interval
        if first:
            logger.warning(
                "circuit breaker %r: state store %r failed (%s: %s); %s calls for %gs",
                self.name,
                self.store,
                type(error).__name__,
                error,
                "allowing" if self.on_store_error == "allow" else "rejecting",
                self.store_retry_interval,
            )

    def _degraded(self) -> Admission:
        if self.on_store_error == "allow":
            return _UNTRACKED
        wait = max(0.0, self._store_down_until - _clock.monotonic())
        raise CircuitOpenError(
            f"circuit {self.name!r} refuses calls: its state store is unreachable "
            f"(on_store_error='reject'); retry after {wait:.3g}s",
            breaker=self.name,
            retry_after=wait,
        )

    def acquire(self) -> Admission:
        """Ask to make one call; raises ``CircuitOpenError`` when refused.

        Pair every admission with :meth:`release`. Prefer decorating, or :meth:`call`.
        """
        if self._store_down_until and _clock.monotonic() < self._store_down_until:
            return self._degraded()
        try:
            admission = self.store.acquire(self.name, self.config)
        except Exception as error:
            self._store_failed(error)
            return self._degraded()
        if not admission.admitted:
            raise self._open_error(admission.retry_after)
        return admission

    async def acquire_async(self) -> Admission:
        """Async :meth:`acquire`."""
        if self._nonblocking:
            return self.acquire()
        if self._store_down_until and _clock.monotonic() < self._store_down_until:
            return self._degraded()
        try:
            admission = await _to_the_end(
                self.store.acquire_async(self.name, self.config), self._give_back
            )
        except Exception as error:
            self._store_failed(error)
            return self._degraded()
        if not admission.admitted:
            raise self._open_error(admission.retry_after)
        return admission

    def release(self, admission: Admission, error: BaseException | None = None) -> None:
        """Report how the admitted call ended (``error=None`` for success)."""
        if admission.generation < 0:
            return
        try:
            self.store.record(
                self.name, self.config, admission.generation, admission.probe, self.classify(error)
            )
        except Exception as store_error:
            self._store_failed(store_error)

    async def release_async(self, admission: Admission, error: BaseException | None = None) -> None:
        """Async :meth:`release`."""
        if self._nonblocking:
            self.release(admission, error)
            return
        if admission.generation < 0:
            return
        try:
            await _to_the_end(
                self.store.record_async(
                    self.name,
                    self.config,
                    admission.generation,
                    admission.probe,
                    self.classify(error),
                ),
                self._background_done,
            )
        except Exception as store_error:
            self._store_failed(store_error)

    def _background_done(self, operation: asyncio.Task[Any]) -> bool:
        """A store operation whose caller was cancelled ended: ``True`` if it succeeded."""
        if operation.cancelled():
            return False
        error = operation.exception()
        if isinstance(error, Exception):
            self._store_failed(error)
        return error is None

    def _give_back(self, operation: asyncio.Task[Admission]) -> None:
        """The caller was cancelled while asking: return the probe slot it may have got."""
        if not self._background_done(operation):
            return
        admission = operation.result()
        if admission.admitted and admission.probe:
            # Recorded like a cancelled probe, so the slot is free for the next caller.
            record = self.store.record_async(
                self.name, self.config, admission.generation, True, Outcome.IGNORED
            )
            task = operation.get_loop().create_task(record)
            _background.add(task)
            task.add_done_callback(_background.discard)
            task.add_done_callback(self._background_done)

    # -- calling ---------------------------------------------------------------------------------

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call sync ``fn`` through the breaker."""
        circuit = self._fast
        if circuit is not None:
            closed = circuit.closed_admission
            if closed is not None:
                try:
                    result = fn(*args, **kwargs)
                except BaseException as error:
                    self.release(closed, error)
                    raise
                if circuit.failures:  # a success only changes state when failures are counted
                    self.release(closed)
                return result
        admission = self.acquire()
        try:
            result = fn(*args, **kwargs)
        except BaseException as error:
            self.release(admission, error)
            raise
        self.release(admission)
        return result

    async def call_async(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Await async ``fn`` through the breaker; cancellation is not counted as a failure."""
        circuit = self._fast
        if circuit is not None:
            closed = circuit.closed_admission
            if closed is not None:
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as error:
                    self.release(closed, error)
                    raise
                if circuit.failures:
                    self.release(closed)
                return result
        admission = await self.acquire_async()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as error:
            await self.release_async(admission, error)
            raise
        await self.release_async(admission)
        return result

    def __call__(self, fn: F) -> F:
        """Decorate ``fn`` (a function or a ``Note``): async stays async, sync stays sync."""
        return guard(self, fn)


def circuit_breaker(
    failure_threshold: int = 5,
    recovery_timeout: float = 30.0,
    half_open_max_calls: int = 1,
    name: str | None = None,
    excluded_exceptions: Any = None,
    *,
    probe_timeout: float | None = None,
    store: BreakerStore | None = None,
    on_store_error: StoreErrorPolicy = "allow",
) -> Callable[[F], F]:
    """Protect a function (or a ``Note``) with a circuit breaker.

    The options are those of :class:`CircuitBreaker`; ``name`` defaults to the note's or the
    function's name, and functions decorated with the same name share one circuit (a warning
    says so when two different functions do; a lambda's circuit is ``module.<lambda>:line``,
    so lambdas never share one by accident). The
    breaker is available as ``decorated.breaker`` (``decorated.breaker.state``).

    Example::

        @circuit_breaker(failure_threshold=5, recovery_timeout=30.0)
        @note
        async def call_fragile_service(score): ...
    """
    # Validate now, at decoration time, even though the name is known only per function.
    CircuitBreaker(
        "check" if name is None else name,  # name="" is refused, not replaced by the default
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
            _implicit_name(fn) if name is None else name,
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


_implicit_owners: dict[str, str] = {}
"""For each circuit named after its function (no ``name=``), the first function's full name."""


def _implicit_name(fn: Any) -> str:
    """The circuit name of a breaker without ``name=``: the note's or the function's name.

    Functions sharing a name share a circuit (as in 0.7.2). A lambda's circuit is named after
    where it is defined (``module.<lambda>:line``), not ``<lambda>``, which every other lambda
    would share; two different named functions sharing one is logged, since a failure of one
    service would then open the other's circuit.
    """
    circuit = note_name_of(fn)
    target = getattr(fn, "fn", fn)  # a Note's function
    module = getattr(target, "__module__", None) or "?"
    owner = f"{module}.{getattr(target, '__qualname__', circuit)}"
    code = getattr(target, "__code__", None)
    if circuit.startswith("<") and code is not None:
        return f"{owner}:{code.co_firstlineno}"
    with _circuits_lock:
        first = _implicit_owners.setdefault(circuit, owner)
    if first != owner:
        logger.warning(
            "circuit %r is shared by %s and %s (breakers without name= are named after their "
            "function): a failure of one opens the other's circuit; give each its own name=",
            circuit,
            first,
            owner,
        )
    return circuit


_circuits: weakref.WeakValueDictionary[str, CircuitBreaker] = weakref.WeakValueDictionary()
_circuits_lock = threading.Lock()


def get_circuit(
    name: str,
    failure_threshold: int = 5,
    recovery_timeout: float = 30.0,
    half_open_max_calls: int = 1,
    excluded_exceptions: Any = None,
    **options: Any,
) -> CircuitBreaker:
    """The breaker for the circuit ``name`` in the default store (compatible with 0.7).

    While a breaker for ``name`` is alive, the same object is returned and the options are
    ignored, as in 0.7.2; the circuit's state lives in the store either way. ``options`` are
    the other keyword options of :class:`CircuitBreaker`.
    """
    with _circuits_lock:
        breaker = _circuits.get(name)
        if breaker is None:
            breaker = _circuits[name] = CircuitBreaker(
                name,
                failure_threshold,
                recovery_timeout,
                half_open_max_calls,
                excluded_exceptions,
                **options,
            )
        return breaker
