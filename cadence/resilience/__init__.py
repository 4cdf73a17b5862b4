"""Resilience policies: retry, timeout, fallback and circuit breaker.

Each policy is a small object that is also a decorator, for sync and async functions and for
notes; ``@note(retry=..., timeout=..., fallback=...)`` composes them inline (timeout per
attempt, then retry, then fallback). Breaker state lives in a pluggable store, in memory by
default or in Redis to share one circuit between processes. See ``docs/resilience.md``.
"""

from cadence.exceptions import CircuitOpenError, RetryExhaustedError, TimeoutError
from cadence.resilience._breaker import (
    CircuitBreaker,
    circuit_breaker,
    default_store,
    get_circuit,
)
from cadence.resilience._compose import compose
from cadence.resilience._fallback import Fallback, fallback
from cadence.resilience._redis import RedisBreakerStore
from cadence.resilience._retry import PendingRetry, Retry, RetryEvent, retry
from cadence.resilience._store import (
    Admission,
    BreakerConfig,
    BreakerSnapshot,
    BreakerStore,
    CircuitState,
    InMemoryBreakerStore,
    Outcome,
)
from cadence.resilience._threads import (
    AbandonedThread,
    abandoned_threads,
    set_abandoned_thread_limit,
    set_timeout_workers,
    timeout_workers,
)
from cadence.resilience._timeout import Timeout, timeout

__all__ = [
    "AbandonedThread",
    "Admission",
    "BreakerConfig",
    "BreakerSnapshot",
    "BreakerStore",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "Fallback",
    "InMemoryBreakerStore",
    "Outcome",
    "PendingRetry",
    "RedisBreakerStore",
    "Retry",
    "RetryEvent",
    "RetryExhaustedError",
    "Timeout",
    "TimeoutError",
    "abandoned_threads",
    "circuit_breaker",
    "compose",
    "default_store",
    "fallback",
    "get_circuit",
    "retry",
    "set_abandoned_thread_limit",
    "set_timeout_workers",
    "timeout",
    "timeout_workers",
]
