"""Rate limits shared across runs and processes: requests and tokens per window, per model.

``RateLimiter`` holds the declared limits and a store: :class:`InMemoryLimitStore` for one
process, :class:`RedisLimitStore` for every worker of a service. A ``FallbackChain`` given
``limiter=`` consults it before each attempt. See ``docs/rate-limits.md``.
"""

from ._limiter import Permit, RateLimiter, RateLimitReachedError, estimate_tokens
from ._redis import RedisLimitStore
from ._store import InMemoryLimitStore, LimitStore, RateLimit

__all__ = [
    "InMemoryLimitStore",
    "LimitStore",
    "Permit",
    "RateLimit",
    "RateLimitReachedError",
    "RateLimiter",
    "RedisLimitStore",
    "estimate_tokens",
]
