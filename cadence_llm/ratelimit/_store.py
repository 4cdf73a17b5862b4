"""Where rate-limit windows live: the store protocol and the in-process reference store.

A window is a sliding log: every admitted request is an entry (time, id, tokens) kept for
``per`` seconds. A request is admitted when, counting it, the entries of the last ``per``
seconds hold at most ``requests`` requests and ``tokens`` tokens, so no window of that length
ever holds more (a token bucket would let twice the limit through around a refill). Refused, the
store says how long until enough entries expire. ``block`` refuses every request for a while,
for everyone sharing the store: a provider's 429 pauses all workers, not just the one that saw it.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from cadence import clock as _clock

__all__ = ["InMemoryLimitStore", "LimitStore", "RateLimit"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``requests`` requests and ``tokens`` tokens in any ``per`` seconds.

    Args:
        requests: Requests per window (``None``: not limited).
        tokens: Tokens per window, counted as the estimate at admission and corrected to the
            reported usage afterwards (``None``: not limited).
        per: The window, in seconds (default a minute).
    """

    requests: int | None = None
    tokens: int | None = None
    per: float = 60.0

    def __post_init__(self) -> None:
        from cadence.exceptions import CadenceDefinitionError

        for option in ("requests", "tokens"):
            value = getattr(self, option)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise CadenceDefinitionError(
                    f"RateLimit {option} must be an int >= 1 or None, got {value!r}"
                )
        if self.requests is None and self.tokens is None:
            raise CadenceDefinitionError("RateLimit needs requests= or tokens= (or both)")
        if (
            isinstance(self.per, bool)
            or not isinstance(self.per, int | float)
            or not math.isfinite(self.per)  # NaN admitted everything; inf never freed room
            or self.per <= 0
        ):
            raise CadenceDefinitionError(
                f"RateLimit per must be positive seconds (a finite number), got {self.per!r}"
            )


@runtime_checkable
class LimitStore(Protocol):
    """Shared windows; every operation is atomic for all callers sharing the store."""

    async def acquire(self, key: str, limit: RateLimit, tokens: int, ident: str) -> float:
        """Admit one request of ``tokens`` (0.0) or return the seconds until it would fit."""

    async def settle(self, key: str, limit: RateLimit, ident: str, tokens: int) -> None:
        """Replace an admitted request's token estimate with what it really used."""

    async def block(self, key: str, seconds: float) -> None:
        """Refuse every request under ``key`` for ``seconds`` (e.g. after a provider's 429)."""


@dataclass
class _Window:
    entries: deque[list[float | str | int]] = field(default_factory=deque)  # [time, id, tokens]
    by_id: dict[str, list[float | str | int]] = field(default_factory=dict)
    total: int = 0
    blocked_until: float = 0.0


class InMemoryLimitStore:
    """Windows in this process, shared by its threads and tasks (the reference store)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def _window(self, key: str, per: float, now: float) -> _Window:
        w = self._windows.setdefault(key, _Window())
        while w.entries and float(w.entries[0][0]) <= now - per:
            gone = w.entries.popleft()
            w.total -= int(gone[2])
            del w.by_id[str(gone[1])]
        return w

    async def acquire(self, key: str, limit: RateLimit, tokens: int, ident: str) -> float:
        """Admit or say how long to wait (see :class:`LimitStore`)."""
        with self._lock:
            now = _clock.monotonic()
            w = self._window(key, limit.per, now)
            wait = max(0.0, w.blocked_until - now)
            n = len(w.entries)
            if not wait and limit.requests is not None and n + 1 > limit.requests:
                wait = float(w.entries[n - limit.requests][0]) + limit.per - now
            if not wait and limit.tokens is not None and w.total + tokens > limit.tokens:
                freed = 0
                for when, _, used in w.entries:
                    freed += int(used)
                    if w.total - freed + tokens <= limit.tokens:
                        wait = float(when) + limit.per - now
                        break
            if wait > 0:
                return wait
            entry: list[float | str | int] = [now, ident, tokens]
            w.entries.append(entry)
            w.by_id[ident] = entry
            w.total += tokens
            return 0.0

    async def settle(self, key: str, limit: RateLimit, ident: str, tokens: int) -> None:
        """Correct an admitted request's tokens (a no-op once it left the window)."""
        with self._lock:
            w = self._window(key, limit.per, _clock.monotonic())
            entry = w.by_id.get(ident)
            if entry is not None:
                w.total += tokens - int(entry[2])
                entry[2] = tokens

    async def block(self, key: str, seconds: float) -> None:
        """Refuse requests under ``key`` for ``seconds`` from now."""
        with self._lock:
            w = self._windows.setdefault(key, _Window())
            w.blocked_until = max(w.blocked_until, _clock.monotonic() + seconds)
