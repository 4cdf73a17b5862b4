"""Backoff arithmetic: how long to wait after a failed attempt, always finite and capped.

Pure functions, kept apart from the retry loop so their guarantees (finite, >= 0, <= the cap,
for any attempt number) can be read and tested on their own.
"""

from __future__ import annotations

import math
import random
from typing import Literal

__all__ = ["BACKOFFS", "Backoff", "backoff_delay", "cap_delay"]

Backoff = Literal["fixed", "linear", "exponential"]
BACKOFFS: tuple[Backoff, ...] = ("fixed", "linear", "exponential")
_MAX_DOUBLINGS = 64  # 2**64 times any sane delay is far above every max_delay


def backoff_delay(
    attempt: int, *, delay: float, backoff: Backoff, max_delay: float, jitter: bool
) -> float:
    """The wait after failed attempt number ``attempt`` (1-based): finite, in [0, max_delay].

    ``fixed`` waits ``delay``, ``linear`` ``delay * n``, ``exponential`` ``delay * 2**(n-1)``;
    the exponent is clamped so no attempt number overflows. With ``jitter`` the wait is spread
    between half and all of it ("equal jitter"): clients that failed together do not all come
    back together, and none waits less than half the backoff.
    """
    n = max(1, attempt)
    if backoff == "fixed":
        base = delay
    elif backoff == "linear":
        base = delay * n
    else:
        base = delay * float(1 << min(n - 1, _MAX_DOUBLINGS))
    wait = min(base, max_delay)
    if jitter and wait > 0:
        wait *= 0.5 + random.random() * 0.5
    return wait


def cap_delay(seconds: float, max_delay: float) -> float:
    """A requested wait (Retry-After, a predicate's answer) clamped into [0, max_delay]."""
    if math.isnan(seconds):
        return 0.0
    if not math.isfinite(seconds):
        return max_delay if seconds > 0 else 0.0
    return min(max(seconds, 0.0), max_delay)
