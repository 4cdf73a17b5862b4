"""The one attempt loop of a fallback chain: every try at every model goes through it.

:func:`tries` yields one :class:`Try` per attempt at a model; the chain makes the call inside
``async with`` it (``complete`` and ``stream`` alike). Leaving the block records the
:class:`~cadence_llm.errors.Attempt`, leaves the model's gates and judges the outcome — done,
retry after a wait, next model, or stop — by the chain's :class:`cadence.resilience.Retry`
policy (attempts, backoff, Retry-After, ``on_retry``), its deadline and its ``fallback_on``.
Before the first try, a model whose declared context window is too small is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncGenerator, Awaitable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Literal, TypeAlias, TypeVar

from cadence import clock as _clock
from cadence import current_note
from cadence.exceptions import CircuitOpenError
from cadence.resilience import PendingRetry

from ._gates import _TIME_LEFT, Gate
from .errors import Attempt, ContextWindowExceededError, ModelError, ModelTimeoutError
from .messages import ModelRequest, ModelResponse, Usage
from .models.base import Model

if TYPE_CHECKING:
    from .chain import FallbackChain

__all__ = ["Call", "Stop", "Try", "note_rejected", "rejected_usage", "tries"]

logger = logging.getLogger("cadence_llm")
T = TypeVar("T")
Verdict: TypeAlias = Literal["ok", "retry", "next", "stop"]
# The usage of the answers a chain's check refused, for whoever asked (see rejected_usage).
_REJECTED: ContextVar[list[Usage] | None] = ContextVar("cadence_llm_rejected", default=None)


@contextlib.contextmanager
def rejected_usage() -> Iterator[list[Usage]]:
    """Collect the usage of every answer a chain's ``check`` refuses inside the block.

    A refused answer was paid for but is not the answer the caller gets back, so its tokens are
    in no response: an agent adds them to its usage. Blocks do not nest: an inner block (a
    nested agent's model call) keeps its refusals to itself.
    """
    spent: list[Usage] = []
    token = _REJECTED.set(spent)
    try:
        yield spent
    finally:
        _REJECTED.reset(token)


def note_rejected(response: ModelResponse) -> None:
    """Count a refused answer's usage in the active :func:`rejected_usage` block, if any."""
    spent = _REJECTED.get()
    if spent is not None:
        spent.append(response.usage)


class Stop(Exception):
    """Internal: a model's error that must end the whole chain."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(slots=True)
class Call:
    """One call of the chain: its request, its attempts so far, and what it learnt."""

    request: ModelRequest
    started: float
    log: list[Attempt] = field(default_factory=list)
    tokens: int | None = None  # the estimate, made on first need
    refused_window: int = 0  # the largest declared window that refused the request


class Try:
    """One attempt at one model. The caller runs the call inside ``async with`` it.

    Leaving the block records the attempt, leaves the gates that were entered and sets
    :attr:`verdict`; model errors are kept in :attr:`error` (not raised) for the loop to act on.
    """

    __slots__ = (
        "call",
        "chain",
        "end",
        "entered",
        "error",
        "hedged",
        "index",
        "model",
        "number",
        "response",
        "t0",
        "verdict",
        "wait",
    )

    def __init__(self, chain: FallbackChain, index: int, number: int, call: Call, hedged: bool):
        self.chain = chain
        self.index = index
        self.model = chain.models[index]
        self.number = number
        self.call = call
        self.hedged = hedged
        self.t0 = 0.0
        self.end: float | None = None
        self.entered: list[tuple[Gate, object]] = []
        self.response: ModelResponse | None = None
        self.error: BaseException | None = None
        self.verdict: Verdict | None = None
        self.wait = 0.0

    async def __aenter__(self) -> Try:
        self.t0 = _clock.monotonic()
        return self

    async def open(self) -> None:
        """Check the deadline, fix this attempt's time limit and enter the model's gates."""
        chain = self.chain
        if chain.deadline is not None:
            self.end = self.call.started + chain.deadline
            if self.end - self.t0 <= 0:
                raise ModelTimeoutError(
                    f"the chain's deadline of {chain.deadline:g}s ran out before this try",
                    provider=self.model.system,
                    model=self.model.name,
                )
        for gate in chain.gates[self.index]:
            token = _TIME_LEFT.set(self.time_left())
            try:
                ticket = await self.limited(gate.enter(self.model, self.call.request))
            finally:
                _TIME_LEFT.reset(token)
            self.entered.append((gate, ticket))

    def time_left(self) -> float | None:
        """Seconds until this attempt's timeout or the chain's deadline (``None``: no limit)."""
        now = _clock.monotonic()
        left = []
        if self.chain.attempt_timeout is not None:
            left.append(self.t0 + self.chain.attempt_timeout - now)
        if self.end is not None:
            left.append(self.end - now)
        return max(min(left), 0.0) if left else None

    async def limited(self, awaitable: Awaitable[T], *, chunk: bool = False) -> T:
        """Await within this attempt's limit: the per-attempt timeout (for a stream, per chunk)
        and the chain's deadline, whichever ends first."""
        chain = self.chain
        now = _clock.monotonic()
        limit, what = None, ""
        if chain.attempt_timeout is not None:
            start = now if chunk else self.t0
            limit = start + chain.attempt_timeout - now
            what = f"the attempt timeout of {chain.attempt_timeout:g}s"
        if self.end is not None and (limit is None or self.end - now < limit):
            limit, what = self.end - now, f"the chain's deadline of {chain.deadline:g}s"
        if limit is None:
            return await awaitable
        return await limited(awaitable, limit, what, self.model)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        chain, model = self.chain, self.model
        for gate, ticket in reversed(self.entered):
            try:
                await gate.exit(ticket, self.response if exc is None else None, exc)
            except Exception:
                logger.exception("gate %r of chain %r failed on exit", gate, chain.name)
        duration = _clock.monotonic() - self.t0
        cancelled = isinstance(exc, asyncio.CancelledError)
        if exc is None or not isinstance(exc, Exception):
            if exc is None or cancelled:
                chain._record(
                    self.call.log,
                    Attempt(
                        model.name, self.number, None, self.t0, duration, self.hedged, cancelled
                    ),
                )
            self.verdict = "ok" if exc is None else None
            return False  # success, or cancellation / generator exit passing through
        self.error = exc
        chain._record(
            self.call.log, Attempt(model.name, self.number, exc, self.t0, duration, self.hedged)
        )
        self.verdict = judge(chain, self, exc)
        return True


async def limited(awaitable: Awaitable[T], limit: float, what: str, model: Model) -> T:
    """Await with a limit measured on cadence's clock (so fake clocks drive it in tests)."""
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def fire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    cancelling = task.cancelling()
    handle = _clock.call_later(asyncio.get_running_loop(), max(limit, 0.0), fire)
    try:
        return await awaitable
    except asyncio.CancelledError:
        if expired and task.uncancel() <= cancelling:
            raise ModelTimeoutError(
                f"{what} ran out during the call", provider=model.system, model=model.name
            ) from None
        raise
    finally:
        handle.cancel()


def too_small(chain: FallbackChain, index: int, call: Call) -> ContextWindowExceededError | None:
    """Why the request must skip model ``index`` without a call, if it must."""
    window = chain.windows[index]
    if window is None:
        return None
    model = chain.models[index]
    if window <= call.refused_window:
        why = f"a model with a {call.refused_window}-token window already refused it"
    else:
        if call.tokens is None:
            call.tokens = chain.count_tokens(call.request)
        if call.tokens <= window:
            return None
        why = f"it needs about {call.tokens} tokens"
    return ContextWindowExceededError(
        f"skipped: {why}, and {model.name}'s context window is {window} tokens",
        provider=model.system,
        model=model.name,
    )


def judge(chain: FallbackChain, attempt: Try, exc: Exception) -> Verdict:
    """What follows a failed attempt: retry this model, the next model, or stop."""
    if isinstance(exc, CircuitOpenError):
        return "next"
    if not isinstance(exc, ModelError):
        return "stop"  # a bug in a model, a gate or a check: never hide it behind fallback
    if isinstance(exc, ContextWindowExceededError):
        window = chain.windows[attempt.index]
        if window is not None:
            attempt.call.refused_window = max(attempt.call.refused_window, window)
    wait = retry_wait(chain, exc, attempt.number, attempt.call.started)
    if wait is not None:
        attempt.wait = wait
        return "retry"
    return "next" if chain.fallback_on(exc) else "stop"


def retry_wait(chain: FallbackChain, exc: ModelError, number: int, started: float) -> float | None:
    """Seconds to wait before trying the same model again, or None to move on."""
    if not exc.retryable or number >= chain.retry.effective_attempts():
        return None
    delay = chain.retry.next_delay(exc, number)
    if delay is None:
        return None
    if exc.retry_after is not None:
        if exc.retry_after > chain.retry.max_delay:
            return None  # the provider wants a long pause: another model answers sooner
        delay = exc.retry_after
    if chain.deadline is not None and delay >= chain.deadline - (_clock.monotonic() - started):
        return None  # waiting would pass the deadline: spend the time on another model
    return delay


async def report_retry(chain: FallbackChain, attempt: Try) -> None:
    """Tell the Retry policy's ``on_retry`` and, inside a cadence run, the run's hooks."""
    name = f"{chain.name}/{attempt.model.name}"
    attempts, error = chain.retry.effective_attempts(), attempt.error
    assert error is not None
    if chain.retry.on_retry is not None:
        try:
            event = PendingRetry(name, attempt.number, attempts, error, attempt.wait)
            result = chain.retry.on_retry(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("on_retry callback for %r failed; retrying anyway", name)
    scope = current_note()
    if scope is not None and scope.hooks:
        await scope.hooks.on_retry(scope.note_name, scope.score, attempt.number, attempts, error)


async def tries(
    chain: FallbackChain, index: int, call: Call, hedged: bool
) -> AsyncGenerator[Try, None]:
    """Yield the attempts at model ``index``, acting on each one's verdict.

    Returns after a successful attempt; raises the model's error to move to the next model,
    and ``Stop`` when the error must end the whole chain.
    """
    skip = too_small(chain, index, call)
    if skip is not None:
        now = _clock.monotonic()
        chain._record(call.log, Attempt(chain.models[index].name, 1, skip, now, 0.0, hedged))
        raise skip
    for number in range(1, chain.retry.effective_attempts() + 1):
        attempt = Try(chain, index, number, call, hedged)
        yield attempt
        if attempt.verdict == "ok":
            return
        if attempt.verdict == "retry":
            await report_retry(chain, attempt)
            await _clock.sleep(attempt.wait)
            continue
        assert attempt.error is not None, "an attempt left without its block being run"
        if attempt.verdict == "next":
            raise attempt.error
        raise Stop(attempt.error)
