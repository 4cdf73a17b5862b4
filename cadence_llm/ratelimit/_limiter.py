"""``RateLimiter``: requests and tokens per minute per model, consulted before each attempt.

A :class:`~cadence_llm.FallbackChain` given ``limiter=`` asks it before every attempt. A
model at its limit is, by ``policy``, skipped (the chain moves to the next model without
sending anything) or waited for (up to ``max_wait`` and the chain's deadline). When a provider
throttles anyway (a 429), the limiter blocks that model for the provider's Retry-After in the
shared store, so every run and every process backs off at once instead of each finding out
with a 429 of its own: no retry storm.

Under ``policy="wait"`` the waiters for one model queue first come, first served: only the
oldest asks the store, and a caller arriving later waits behind it even when its own smaller
request would fit now, so a steady stream of small requests cannot starve a large one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Literal

from cadence import clock as _clock
from cadence.exceptions import CadenceDefinitionError

from .._gates import time_left
from ..errors import RateLimitedError
from ..messages import ModelRequest, ModelResponse
from ..models.base import Model
from ._store import InMemoryLimitStore, LimitStore, RateLimit

__all__ = ["Permit", "RateLimitReachedError", "RateLimiter", "estimate_tokens"]

logger = logging.getLogger("cadence_llm.ratelimit")

Policy = Literal["skip", "wait"]
StoreErrorPolicy = Literal["allow", "reject"]


class RateLimitReachedError(RateLimitedError):
    """The limiter refused the attempt: the model is at its declared limit; nothing was sent.

    A :class:`RateLimitedError`, so ``except RateLimitedError`` sees both; not retryable (the
    limiter already waited if its policy said to), so a chain moves to the next model.
    """

    default_code = "RATE_LIMIT_REACHED"
    retryable_default = False
    fallback_default = True


def estimate_tokens(request: ModelRequest) -> int:
    """A cheap upper-leaning guess of a request's tokens: prompt characters / 4 plus ``max_tokens``.

    Providers count ``max_tokens`` against a tokens-per-minute limit when the request arrives,
    so the reservation does too; it is corrected to the real usage once the answer is in.
    """
    chars = 0
    for message in request.messages:
        content = getattr(message, "content", "")
        chars += len(content) if isinstance(content, str) else len(str(content))
    for t in request.tools:
        chars += len(t.name) + len(t.description) + len(str(t.parameters))
    return chars // 4 + 1 + (request.max_tokens or 0)


class Permit:
    """One admitted attempt; :meth:`settle` reports what it really used."""

    __slots__ = ("_limiter", "ident", "key", "limit", "tokens")

    def __init__(self, limiter: RateLimiter, key: str, limit: RateLimit, ident: str, tokens: int):
        self._limiter = limiter
        self.key = key
        self.limit = limit
        self.ident = ident
        self.tokens = tokens

    async def settle(
        self, response: ModelResponse | None = None, error: BaseException | None = None
    ) -> None:
        """Correct the token count to the response's usage; on a provider 429, block the model."""
        if isinstance(error, RateLimitedError) and not isinstance(error, RateLimitReachedError):
            await self._limiter.throttled(self.key, error.retry_after)
            return
        if response is not None and self.limit.tokens is not None:
            used = response.usage.total_tokens
            if used and used != self.tokens:
                try:
                    await self._limiter.store.settle(self.key, self.limit, self.ident, used)
                except Exception as exc:  # the answer is in: bookkeeping must not lose it
                    self._limiter._store_failed(exc)


class _Turn:
    """One ``policy="wait"`` caller's place in a key's queue, woken from any thread."""

    __slots__ = ("deadline", "loop", "woken")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.loop = asyncio.get_running_loop()
        self.woken = asyncio.Event()

    def wake(self) -> None:
        self.woken.set()

    def wake_threadsafe(self) -> bool:
        """Wake the waiter on its own loop; False when that loop is closed."""
        try:
            self.loop.call_soon_threadsafe(self.woken.set)
        except RuntimeError:
            return False
        return True


class _Queue:
    """A key's waiters, oldest first, and when the first of them expects room (0: unknown)."""

    __slots__ = ("ready_at", "turns")

    def __init__(self) -> None:
        self.turns: deque[_Turn] = deque()
        self.ready_at = 0.0


class RateLimiter:
    """Declared limits per model, in a store shared by runs (and, in Redis, by processes).

    Args:
        limits: ``{model name: RateLimit(requests=..., tokens=...)}``; models not named are not
            limited.
        store: :class:`InMemoryLimitStore` (default, this process) or :class:`RedisLimitStore`.
        policy: ``"skip"`` refuses a model at its limit at once (a chain moves on);
            ``"wait"`` waits until it has room, up to ``max_wait``.
        max_wait: Longest wait under ``"wait"``; a longer one is refused instead.
        throttle_wait: Seconds to block a model after a 429 that gave no Retry-After.
        estimate: ``estimate(request) -> tokens`` for token limits (:func:`estimate_tokens`).
        on_store_error: When the store cannot be reached (Redis is down): ``"allow"`` (default,
            fail open, as a circuit breaker does) admits the attempt unlimited and logs the
            outage; ``"reject"`` refuses it with :class:`RateLimitReachedError`, so a chain
            moves to its next model. The store's own exception never reaches the caller.
    """

    def __init__(
        self,
        limits: Mapping[str, RateLimit],
        *,
        store: LimitStore | None = None,
        policy: Policy = "skip",
        max_wait: float = 30.0,
        throttle_wait: float = 10.0,
        estimate: Callable[[ModelRequest], int] = estimate_tokens,
        on_store_error: StoreErrorPolicy = "allow",
    ) -> None:
        if not isinstance(limits, Mapping) or not all(
            isinstance(v, RateLimit) for v in limits.values()
        ):
            raise CadenceDefinitionError(
                "RateLimiter limits must map model names to RateLimit(...), "
                f"e.g. {{'gpt-4o-mini': RateLimit(requests=500)}}; got {limits!r}"
            )
        if policy not in ("skip", "wait"):
            raise CadenceDefinitionError(
                f"RateLimiter policy must be 'skip' or 'wait', got {policy!r}"
            )
        if store is not None and not isinstance(store, LimitStore):
            raise CadenceDefinitionError(f"RateLimiter store must be a LimitStore, got {store!r}")
        _check_seconds("max_wait", max_wait, zero_ok=True)
        _check_seconds("throttle_wait", throttle_wait, zero_ok=False)
        if not callable(estimate):
            raise CadenceDefinitionError(
                f"RateLimiter estimate must be a function of the request, got {estimate!r}"
            )
        if on_store_error not in ("allow", "reject"):
            raise CadenceDefinitionError(
                "RateLimiter on_store_error must be 'allow' (fail open) or 'reject' "
                f"(fail closed), got {on_store_error!r}"
            )
        self.limits = dict(limits)
        self.store: LimitStore = store if store is not None else InMemoryLimitStore()
        self.policy: Policy = policy
        self.max_wait = max_wait
        self.throttle_wait = throttle_wait
        self.estimate = estimate
        self.on_store_error: StoreErrorPolicy = on_store_error
        self._store_down = False  # logged once per outage, not once per attempt
        self._ids = itertools.count()
        self._prefix = f"{os.getpid()}-{uuid.uuid4().hex[:8]}-"
        # Waiters may come from several threads, each with its own event loop (run_sync).
        self._lock = threading.Lock()
        self._queues: dict[str, _Queue] = {}

    def __repr__(self) -> str:
        return f"RateLimiter({list(self.limits)!r}, policy={self.policy!r}, store={self.store!r})"

    async def acquire(
        self, key: str, *, tokens: int = 0, max_wait: float | None = None, provider: str = ""
    ) -> Permit | None:
        """Admit one request under ``key`` (``None`` when ``key`` has no limit).

        Under ``policy="wait"`` callers for one key are admitted in the order they asked.

        Raises:
            RateLimitReachedError: the key is at its limit (and waiting, if allowed, would take
                longer than ``max_wait``, counting the earlier waiters ahead of this one);
                ``retry_after`` says when it has room, when known.
        """
        limit = self.limits.get(key)
        if limit is None:
            return None
        if limit.tokens is not None and tokens > limit.tokens:
            raise RateLimitReachedError(
                f"a request of ~{tokens} tokens can never fit {key!r}'s limit of "
                f"{limit.tokens} tokens per {limit.per:g}s",
                provider=provider,
                model=key,
            )
        budget = self.max_wait if max_wait is None else min(max_wait, self.max_wait)
        ident = f"{self._prefix}{next(self._ids)}"
        if self.policy == "skip":
            return await self._ask(key, limit, tokens, ident, provider, None)
        started = _clock.monotonic()
        turn = _Turn(started + budget)
        queue = self._join(key, turn, provider)
        try:
            await self._my_turn(key, queue, turn, provider)
            while True:
                permit = await self._ask(key, limit, tokens, ident, provider, turn)
                if permit is not None:
                    return permit
        finally:
            self._leave(key, queue, turn)

    async def _ask(
        self,
        key: str,
        limit: RateLimit,
        tokens: int,
        ident: str,
        provider: str,
        turn: _Turn | None,
    ) -> Permit | None:
        """One store round: a permit, or (first in a ``"wait"`` queue) ``None`` after sleeping
        until the store said there is room; refused when the wait would pass the deadline."""
        try:
            wait = await self.store.acquire(key, limit, tokens, ident)
        except Exception as exc:
            self._store_failed(exc)
            if self.on_store_error == "allow":
                return Permit(self, key, limit, ident, tokens)
            raise RateLimitReachedError(
                f"{key!r} is refused: its rate-limit store is unreachable "
                f"({type(exc).__name__}: {exc}) and on_store_error='reject'",
                provider=provider,
                model=key,
            ) from exc
        self._store_up()
        if wait <= 0:
            return Permit(self, key, limit, ident, tokens)
        now = _clock.monotonic()
        if turn is None or now + wait > turn.deadline:
            raise RateLimitReachedError(
                f"{key!r} is at its rate limit ({_describe(limit)}); room again in {wait:.3g}s",
                provider=provider,
                model=key,
                retry_after=wait,
            )
        self._expect(key, now + wait)
        await _clock.sleep(wait)
        return None

    # -- the first-come, first-served queue of policy="wait", one per key ------------------------

    def _join(self, key: str, turn: _Turn, provider: str) -> _Queue:
        """Queue ``turn`` behind the earlier waiters for ``key``; refused at once when the first
        of them already expects room later than ``turn``'s deadline."""
        with self._lock:
            queue = self._queues.setdefault(key, _Queue())
            if queue.turns and queue.ready_at > turn.deadline:
                later = queue.ready_at - _clock.monotonic()
                self._refuse(key, later, len(queue.turns), provider=provider)
            queue.turns.append(turn)
            return queue

    async def _my_turn(self, key: str, queue: _Queue, turn: _Turn, provider: str) -> None:
        """Wait until ``turn`` is first in its queue, or refuse it when its deadline comes first
        (or is sure to: the first waiter expects room only after it)."""
        while True:
            turn.woken.clear()
            with self._lock:
                if queue.turns[0] is turn:
                    return
                ahead = queue.turns.index(turn)
                now = _clock.monotonic()
                if queue.ready_at > turn.deadline or now >= turn.deadline:
                    self._refuse(key, queue.ready_at - now, ahead, provider=provider)
            timer = _clock.call_later(turn.loop, turn.deadline - now, turn.wake)
            try:
                await turn.woken.wait()
            finally:
                timer.cancel()

    def _expect(self, key: str, ready_at: float) -> None:
        """The first waiter sleeps until ``ready_at``: wake the waiters whose deadline is
        sooner, so they are refused now (and a chain moves on) rather than at their deadline."""
        with self._lock:
            queue = self._queues.get(key)
            if queue is None:
                return
            queue.ready_at = ready_at
            doomed = [t for t in list(queue.turns)[1:] if t.deadline < ready_at]
        for t in doomed:
            t.wake_threadsafe()

    def _leave(self, key: str, queue: _Queue, turn: _Turn) -> None:
        """Take ``turn`` out of its queue (admitted, refused or cancelled); if it was first,
        the next waiter's turn begins."""
        with self._lock:
            first = bool(queue.turns) and queue.turns[0] is turn
            if turn in queue.turns:
                queue.turns.remove(turn)
            if first:
                queue.ready_at = 0.0
            following = queue.turns[0] if first and queue.turns else None
            if not queue.turns and self._queues.get(key) is queue:
                del self._queues[key]
        if following is not None and not following.wake_threadsafe():
            self._leave(key, queue, following)  # its event loop is gone: so is the waiter

    @staticmethod
    def _refuse(key: str, later: float, ahead: int, *, provider: str) -> None:
        raise RateLimitReachedError(
            f"{key!r} is at its rate limit and {ahead} earlier caller(s) are waiting for it; "
            f"room for this one comes later than its deadline",
            provider=provider,
            model=key,
            retry_after=later if later > 0 else None,
        )

    async def admit(
        self,
        model_name: str,
        request: ModelRequest,
        *,
        provider: str = "",
        max_wait: float | None = None,
    ) -> Permit | None:
        """:meth:`acquire` for one model request, estimating its tokens when they are limited."""
        limit = self.limits.get(model_name)
        if limit is None:
            return None
        tokens = self.estimate(request) if limit.tokens is not None else 0
        return await self.acquire(model_name, tokens=tokens, max_wait=max_wait, provider=provider)

    # -- the Gate protocol (cadence_llm.Gate): how a FallbackChain consults the limiter ----------

    async def enter(self, model: Model, request: ModelRequest) -> Permit | None:
        """Admit an attempt at ``model`` (raises :class:`RateLimitReachedError` to skip it).

        Under ``policy="wait"`` it never waits past the attempt's time limit or the chain's
        deadline: a longer wait is refused at once, so the chain moves to its next model.
        """
        return await self.admit(model.name, request, provider=model.system, max_wait=time_left())

    async def exit(
        self, ticket: object, response: ModelResponse | None, error: BaseException | None
    ) -> None:
        """Settle the attempt's permit: real token usage, or a provider 429 blocking the model."""
        if isinstance(ticket, Permit):
            await ticket.settle(response, error)

    async def throttled(self, key: str, retry_after: float | None = None) -> None:
        """The provider said 429: refuse ``key`` for everyone for its Retry-After."""
        try:
            await self.store.block(key, retry_after if retry_after else self.throttle_wait)
        except Exception as exc:  # the 429 is the caller's news; a store outage is logged
            self._store_failed(exc)

    def _store_failed(self, error: Exception) -> None:
        if not self._store_down:
            self._store_down = True
            policy = "admitting unlimited" if self.on_store_error == "allow" else "refusing"
            logger.warning(
                "rate-limit store %r unreachable (%s: %s); %s until it answers",
                self.store,
                type(error).__name__,
                error,
                policy,
            )

    def _store_up(self) -> None:
        if self._store_down:
            self._store_down = False
            logger.warning("rate-limit store %r answers again", self.store)


def _check_seconds(option: str, value: object, *, zero_ok: bool) -> None:
    """NaN or negative seconds would silently wait without bound or never block: refuse them."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero_ok)
    ):
        bound = ">= 0" if zero_ok else "> 0"
        raise CadenceDefinitionError(
            f"RateLimiter {option} must be a finite number of seconds {bound}, got {value!r}"
        )


def _describe(limit: RateLimit) -> str:
    parts = []
    if limit.requests is not None:
        parts.append(f"{limit.requests} requests")
    if limit.tokens is not None:
        parts.append(f"{limit.tokens} tokens")
    return " and ".join(parts) + f" per {limit.per:g}s"
